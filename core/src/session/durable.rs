//! The session's side of the durable outbox. The session never touches the store: it gives new
//! messages ids that survive a restart, says what the store must keep and forget (one
//! [`StoreBatch`] per turn, which the driver writes in one transaction before it answers the
//! sends, transmits or delivers anything of that turn), and takes back the stored queue when the
//! client starts.
//!
//! What is kept is what the engine would still send after a reconnect: every message in the
//! outbox, and at-least-once messages written and not yet acknowledged. A fire-and-forget (or
//! at-most-once acked) message is forgotten once it is handed to the socket, as a reconnect
//! would forget it; at-least-once ones are forgotten when their answer comes or they fail.
//! Custody of a kept message's `seq` is in one place at a time: its [`QueuedMessage`] while
//! queued, the in-flight table of [`Persistence`] while written and awaiting its acknowledgement.

use super::dedup::DedupWindow;
use super::machine::Session;
use super::outbox::{PushOutcome, QueuedMessage};
use super::persistence::Persistence;
use crate::model::{
    DropReason, OutgoingMessage, StoreBatch, StoredAck, StoredMessage, StoredState,
};
use serde_json::Value;
use std::time::Instant;

impl Session {
    /// Puts back what a durable outbox kept and turns persistence on: from now on the session
    /// says what to keep and forget through [`Session::poll_store`]. Call it once, before
    /// `connect`. Kept messages go back into the outbox in their old order, under the current
    /// bounds and overflow policy; those whose TTL or acknowledgement deadline passed while the
    /// app was not running are dropped (`Expired`) or time out, and reported.
    pub fn restore(&mut self, state: StoredState, now: Instant) {
        if self.config.dedup_field.is_some() {
            self.dedup =
                Some(DedupWindow::restore(self.config.dedup_window, state.dedup_key, state.seen));
        }
        self.durable = Some(Persistence::new(state.instance, state.next_seq));
        for record in state.messages {
            let ack = record.ack.map(|ack| {
                let deadline = now + ack.expires_in;
                self.register_message_ack(&record.message, deadline, ack.at_least_once, false)
            });
            let item = QueuedMessage {
                size: record.message.size_hint(),
                message: record.message,
                ack,
                expires_at: record.expires_in.map(|left| now + left),
                stored: Some(record.seq),
            };
            // Accepted in an earlier life: counted again, so that the stats still add up.
            self.counters.messages_sent += 1;
            match self.outbox.push(item) {
                PushOutcome::Queued(dropped) => {
                    for old in dropped {
                        self.report_drop(old, DropReason::Overflow);
                    }
                }
                PushOutcome::NotQueued(item, reason) => self.report_drop(item, reason),
            }
        }
        self.expire_due(now);
        self.refresh_health(now);
    }

    /// The changes the store must write, in one transaction, before the driver answers the
    /// sends it handed the session since the last call, writes their frames or delivers the
    /// events (so a message is on disk before `send` returns, and a message id is remembered
    /// before the app sees the message). `None` when nothing changed, or in memory.
    pub fn poll_store(&mut self) -> Option<StoreBatch> {
        let mut batch = self.durable.as_mut()?.take_batch()?;
        batch.seen_window = self.config.dedup_window;
        Some(batch)
    }

    /// The store failed: the session stops asking for writes and goes on in memory (what it
    /// holds stays, and closing still keeps the queue).
    pub fn stop_persisting(&mut self) {
        self.durable = None;
    }

    /// True while a durable store takes the session's changes.
    pub fn is_persisting(&self) -> bool {
        self.durable.is_some()
    }

    /// With persistence on, takes the message's `seq` and, if its first argument is an object
    /// without the de-duplication field (`messageId`), sets that field to an id no other
    /// message of this store or any other will have: `"<store id>-<seq>"`.
    pub(super) fn stamp(&mut self, message: &mut OutgoingMessage) -> Option<u64> {
        let durable = self.durable.as_mut()?;
        let seq = durable.take_seq();
        let instance = durable.instance();
        if let (Some(field), Some(Value::Object(payload))) =
            (self.config.dedup_field.as_deref(), message.data.first_mut())
        {
            if !payload.contains_key(field) {
                let id = format!("{instance}-{seq}");
                payload.insert(field.to_owned(), Value::String(id));
            }
        }
        Some(seq)
    }

    /// Keeps a message under `seq` (a copy goes to the store).
    pub(super) fn keep(
        &mut self,
        seq: u64,
        message: &OutgoingMessage,
        ack: Option<(Instant, bool)>,
        expires_at: Option<Instant>,
        now: Instant,
    ) {
        let Some(durable) = self.durable.as_mut() else { return };
        durable.persist(StoredMessage {
            seq,
            message: message.clone(),
            ack: ack.map(|(deadline, at_least_once)| StoredAck {
                at_least_once,
                expires_in: deadline.saturating_duration_since(now),
            }),
            expires_in: expires_at.map(|at| at.saturating_duration_since(now)),
        });
    }

    /// A queued message is being written: at-least-once ones stay kept until answered, the
    /// rest are forgotten (a reconnect would not send them again either).
    pub(super) fn hand_over(&mut self, item: &QueuedMessage) {
        let (Some(durable), Some(seq)) = (self.durable.as_mut(), item.stored) else { return };
        match item.ack {
            Some(id) if self.acks.is_at_least_once(id) => durable.sent(id, seq),
            _ => durable.forget(Some(seq)),
        }
    }

    pub(super) fn forget_stored(&mut self, seq: Option<u64>) {
        if let Some(durable) = self.durable.as_mut() {
            durable.forget(seq);
        }
    }
}
