//! Acknowledgements the client is waiting for: ids, deadlines, and what to do with each when the
//! connection drops.

use crate::model::AckId;

use crate::model::OutgoingMessage;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

/// What an acknowledgement was requested for.
#[derive(Debug, Clone, PartialEq)]
pub enum AckPurpose {
    /// An app message. With `resend` (at-least-once), the message is kept so it can be sent
    /// again with the same id after a reconnect instead of failing.
    Message {
        /// A copy for re-sending, kept only for at-least-once messages.
        resend: Option<OutgoingMessage>,
    },
    /// A room join the engine sent.
    Join(String),
    /// A room leave the engine sent.
    Leave(String),
}

/// One outstanding acknowledgement.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingAck {
    /// When it times out (`None`: waits until the connection closes).
    pub deadline: Option<Instant>,
    /// What it is for.
    pub purpose: AckPurpose,
    /// True once the message went to the socket (false while it waits in the outbox).
    pub in_flight: bool,
    /// The room the message or join belongs to, for protocols that bind messages to rooms
    /// (Phoenix topics): if the server loses the room, its answer will never come.
    pub room: Option<String>,
}

/// The table of outstanding acknowledgements.
#[derive(Debug, Clone, Default)]
pub struct PendingAcks {
    last_id: u64,
    pending: BTreeMap<AckId, PendingAck>,
    /// The deadlines in time order, so that the timer's question is answered without a walk
    /// over every outstanding acknowledgement (the driver asks on every turn; with 10,000
    /// outstanding that walk made flushing an outbox quadratic: W7 in BENCHMARKS.md).
    deadlines: BTreeSet<(Instant, AckId)>,
}

impl PendingAcks {
    /// An empty table; ids start at 1.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers an acknowledgement and returns its fresh id (monotonic, never reused).
    pub fn register(&mut self, ack: PendingAck) -> AckId {
        self.last_id = self.last_id.saturating_add(1);
        let id = AckId(self.last_id);
        if let Some(deadline) = ack.deadline {
            self.deadlines.insert((deadline, id));
        }
        self.pending.insert(id, ack);
        id
    }

    fn remove(&mut self, id: AckId) -> Option<PendingAck> {
        let ack = self.pending.remove(&id)?;
        if let Some(deadline) = ack.deadline {
            self.deadlines.remove(&(deadline, id));
        }
        Some(ack)
    }

    /// Outstanding acknowledgements.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// App messages written to the socket and waiting for their answer (joins, leaves and
    /// messages still in the outbox left out): the `in_flight` figure of the stats.
    pub fn messages_in_flight(&self) -> usize {
        self.pending
            .values()
            .filter(|a| a.in_flight && matches!(a.purpose, AckPurpose::Message { .. }))
            .count()
    }

    /// True when nothing is outstanding.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// True when `id` is an at-least-once message's (kept for re-sending until answered).
    pub fn is_at_least_once(&self, id: AckId) -> bool {
        self.pending
            .get(&id)
            .is_some_and(|a| matches!(a.purpose, AckPurpose::Message { resend: Some(_) }))
    }

    /// Marks an acknowledgement's message as written to the socket.
    pub fn mark_in_flight(&mut self, id: AckId) {
        if let Some(ack) = self.pending.get_mut(&id) {
            ack.in_flight = true;
        }
    }

    /// Removes and returns the acknowledgement `id` (the answer came, or it was dropped). `None`
    /// for unknown or already settled ids: an answer is never delivered twice.
    pub fn settle(&mut self, id: AckId) -> Option<PendingAck> {
        self.remove(id)
    }

    /// Removes and returns every acknowledgement whose deadline has passed, oldest id first.
    pub fn expire(&mut self, now: Instant) -> Vec<(AckId, PendingAck)> {
        let mut due = Vec::new();
        while let Some(&(deadline, id)) = self.deadlines.first() {
            if deadline > now {
                break;
            }
            self.deadlines.pop_first();
            if let Some(ack) = self.pending.remove(&id) {
                due.push((id, ack));
            }
        }
        due.sort_unstable_by_key(|(id, _)| *id);
        due
    }

    /// The earliest deadline, for the session's timer.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.first().map(|(deadline, _)| *deadline)
    }

    /// The connection dropped: returns the in-flight acknowledgements that cannot be answered on
    /// a new connection (all of them but at-least-once messages, which stay registered and are
    /// returned in `resend` to be queued again, oldest first). Joins and leaves are settled here
    /// too: the engine re-joins rooms itself after reconnecting.
    pub fn connection_lost(&mut self) -> ConnectionLoss {
        self.lost_where(|_| true)
    }

    /// The server lost `room` (Phoenix's `phx_error`) while the connection stays: what was in
    /// flight for it will never be answered. Returned like [`PendingAcks::connection_lost`]:
    /// at-least-once messages to queue again (they go out once the room is joined again), the
    /// rest failed (the room's join included: the engine joins it again itself).
    pub fn room_lost(&mut self, room: &str) -> ConnectionLoss {
        self.lost_where(|ack| ack.room.as_deref() == Some(room))
    }

    fn lost_where(&mut self, lost: impl Fn(&PendingAck) -> bool) -> ConnectionLoss {
        let mut loss = ConnectionLoss::default();
        let in_flight: Vec<AckId> = self
            .pending
            .iter()
            .filter(|(_, a)| a.in_flight && lost(a))
            .map(|(id, _)| *id)
            .collect();
        for id in in_flight {
            let Some(ack) = self.pending.get_mut(&id) else { continue };
            match &ack.purpose {
                AckPurpose::Message { resend: Some(message) } => {
                    ack.in_flight = false;
                    loss.resend.push((id, message.clone(), ack.deadline));
                }
                _ => {
                    if let Some(ack) = self.remove(id) {
                        loss.failed.push((id, ack));
                    }
                }
            }
        }
        loss
    }

    /// Removes everything (the client closed), oldest id first.
    pub fn drain(&mut self) -> Vec<(AckId, PendingAck)> {
        self.deadlines.clear();
        std::mem::take(&mut self.pending).into_iter().collect()
    }
}

/// What [`PendingAcks::connection_lost`] found.
#[derive(Debug, Default)]
pub struct ConnectionLoss {
    /// Acknowledgements that failed with the connection.
    pub failed: Vec<(AckId, PendingAck)>,
    /// At-least-once messages to send again with the same id, oldest first.
    pub resend: Vec<(AckId, OutgoingMessage, Option<Instant>)>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::Duration;

    fn message_ack(deadline: Option<Instant>, resend: bool) -> PendingAck {
        PendingAck {
            room: None,
            deadline,
            purpose: AckPurpose::Message {
                resend: resend.then(|| OutgoingMessage::new("m", json!(1))),
            },
            in_flight: false,
        }
    }

    #[test]
    fn ids_are_monotonic_and_never_reused() {
        let mut acks = PendingAcks::new();
        let a = acks.register(message_ack(None, false));
        assert!(acks.settle(a).is_some());
        let b = acks.register(message_ack(None, false));
        assert!(b > a);
        assert!(acks.settle(a).is_none(), "a settled id settles once");
    }

    #[test]
    fn expire_returns_only_due_acks() {
        let now = Instant::now();
        let mut acks = PendingAcks::new();
        let due = acks.register(message_ack(Some(now + Duration::from_secs(1)), false));
        acks.register(message_ack(Some(now + Duration::from_secs(9)), false));
        acks.register(message_ack(None, false));
        assert_eq!(acks.next_deadline(), Some(now + Duration::from_secs(1)));
        let expired = acks.expire(now + Duration::from_secs(2));
        assert_eq!(expired.len(), 1);
        assert_eq!(expired[0].0, due);
        assert_eq!(acks.len(), 2);
    }

    #[test]
    fn connection_loss_fails_in_flight_and_keeps_at_least_once_for_resend() {
        let mut acks = PendingAcks::new();
        let plain = acks.register(message_ack(None, false));
        let reliable = acks.register(message_ack(None, true));
        let queued = acks.register(message_ack(None, false));
        acks.mark_in_flight(plain);
        acks.mark_in_flight(reliable);
        let loss = acks.connection_lost();
        assert_eq!(loss.failed.iter().map(|(id, _)| *id).collect::<Vec<_>>(), vec![plain]);
        assert_eq!(loss.resend.iter().map(|(id, _, _)| *id).collect::<Vec<_>>(), vec![reliable]);
        assert_eq!(acks.len(), 2, "the re-sent and the still-queued acks remain");
        assert!(acks.settle(queued).is_some());
    }
}
