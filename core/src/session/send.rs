//! Sending: messages (sent now, or queued in the outbox), acknowledgements both ways, and room
//! joins and leaves.

use super::acks::{AckPurpose, PendingAck};
use super::machine::{Phase, Session};
use super::outbox::{PushOutcome, QueuedMessage};
use crate::config::{OverflowPolicy, MAX_DURATION};
use crate::model::{
    AckError, AckId, AckReply, ConnectionState, DropReason, Error, Event, OutgoingMessage,
    SendError,
};
use crate::protocol::ProtocolOutput;
use std::time::{Duration, Instant};

/// How a send should be acknowledged and delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SendOptions {
    /// Ask for an acknowledgement. `Some(None)` uses the configured `ack_timeout`.
    pub ack: Option<Option<Duration>>,
    /// Re-send after a reconnect if the acknowledgement had not come (`None`: the configured
    /// `at_least_once`). Only meaningful with `ack`.
    pub at_least_once: Option<bool>,
    /// Never queue: refused with [`SendError::NotConnected`] unless connected now (Socket.IO's
    /// "volatile"; for cursor positions and other state that is stale by the time it could go).
    pub volatile: bool,
}

impl SendOptions {
    /// No acknowledgement (fire and forget; still queued while offline).
    pub fn fire_and_forget() -> Self {
        Self::default()
    }

    /// An acknowledgement with the configured or the given timeout.
    pub fn with_ack(timeout: Option<Duration>) -> Self {
        Self { ack: Some(timeout), ..Self::default() }
    }

    /// Sent only if connected right now, never queued.
    pub fn volatile() -> Self {
        Self { volatile: true, ..Self::default() }
    }

    /// An acknowledgement, re-sent after reconnects until it comes or times out.
    pub fn at_least_once(timeout: Option<Duration>) -> Self {
        Self { ack: Some(timeout), at_least_once: Some(true), ..Self::default() }
    }
}

impl Session {
    /// Sends a message now if connected, else queues it in the outbox. Returns the ack id when
    /// an acknowledgement was requested; its answer comes as [`Event::AckSettled`].
    pub fn send(
        &mut self,
        mut message: OutgoingMessage,
        options: SendOptions,
        now: Instant,
    ) -> Result<Option<AckId>, SendError> {
        if self.state == ConnectionState::Closed {
            return Err(SendError::Closed);
        }
        // Durable: a `seq`, and a `messageId` if the app gave none (in memory: nothing).
        let stored = self.stamp(&mut message);
        let size = message.size_hint();
        if size > self.config.max_message_bytes {
            return Err(SendError::TooLarge { size, limit: self.config.max_message_bytes });
        }
        self.protocol.check(&message)?;
        if options.volatile && !matches!(self.phase, Phase::Ready { .. }) {
            return Err(SendError::NotConnected);
        }
        let ack = match options.ack {
            None => None,
            Some(timeout) => {
                if !self.protocol.supports_acks() {
                    return Err(SendError::Unsupported {
                        protocol: self.protocol.name(),
                        what: "acknowledgements",
                    });
                }
                if self.acks.len() >= self.config.max_pending_acks {
                    return Err(SendError::TooManyPendingAcks {
                        limit: self.config.max_pending_acks,
                    });
                }
                // "Never" (`Duration::MAX`) means a year: `now + MAX` would not be an instant.
                let timeout = timeout.unwrap_or(self.config.ack_timeout).min(MAX_DURATION);
                let reliable = options.at_least_once.unwrap_or(self.config.at_least_once);
                Some((now + timeout, reliable))
            }
        };
        if matches!(self.phase, Phase::Ready { .. }) {
            let id = ack.map(|(deadline, reliable)| {
                self.register_message_ack(&message, deadline, reliable, true)
            });
            if let (Some(seq), Some(id), Some((deadline, true))) = (stored, id, ack) {
                // At-least-once: kept until its acknowledgement settles.
                self.keep(seq, &message, Some((deadline, true)), None, now);
                if let Some(durable) = self.durable.as_mut() {
                    durable.sent(id, seq);
                }
            }
            self.counters.messages_sent += 1;
            self.write_message(&message, id, now);
            return Ok(id);
        }
        if self.config.outbox_overflow == OverflowPolicy::Reject
            && self.outbox.len() >= self.config.outbox_max_messages
        {
            return Err(SendError::QueueFull { queued: self.outbox.len() });
        }
        let id = ack.map(|(deadline, reliable)| {
            self.register_message_ack(&message, deadline, reliable, false)
        });
        let expires_at = self.config.outbox_ttl.map(|ttl| now + ttl);
        let record = stored.map(|seq| (seq, message.clone()));
        let queued = QueuedMessage { message, ack: id, expires_at, size, stored };
        match self.outbox.push(queued) {
            PushOutcome::Queued(dropped) => {
                if let Some((seq, message)) = record {
                    self.keep(seq, &message, ack, expires_at, now);
                }
                self.counters.messages_sent += 1;
                for old in dropped {
                    self.report_drop(old, DropReason::Overflow);
                }
                Ok(id)
            }
            PushOutcome::NotQueued(mut item, reason) => {
                // Never kept, so nothing to forget.
                item.stored = None;
                if reason == DropReason::TooLarge
                    || self.config.outbox_overflow == OverflowPolicy::Reject
                {
                    // Refused, not accepted: the caller gets the error and nothing is reported.
                    if let Some(id) = item.ack {
                        self.acks.settle(id);
                    }
                    return Err(match reason {
                        DropReason::TooLarge => {
                            SendError::TooLarge { size, limit: self.config.outbox_max_bytes }
                        }
                        _ => SendError::QueueFull { queued: self.outbox.len() },
                    });
                }
                // DropNewest: accepted, then dropped, and reported like every other drop.
                self.counters.messages_sent += 1;
                let ack = item.ack;
                self.report_drop(item, reason);
                Ok(ack)
            }
        }
    }

    /// Answers a server message that asked for an acknowledgement (its `ack_id`).
    pub fn ack(
        &mut self,
        namespace: &str,
        ack_id: u64,
        reply: AckReply,
        _now: Instant,
    ) -> Result<(), SendError> {
        if !matches!(self.phase, Phase::Ready { .. }) {
            return Err(SendError::NotConnected);
        }
        let mut out = ProtocolOutput::default();
        self.protocol.encode_ack_reply(namespace, ack_id, &reply, &mut out)?;
        self.take_frames(out);
        Ok(())
    }

    /// Joins a room: remembered across reconnects and re-joined after each, in join order,
    /// before the outbox flushes. Returns true when a join went out now (so a
    /// [`Event::RoomJoined`] or [`Event::RoomJoinFailed`] will follow); false when the room was
    /// already joined or the client is offline (it is joined on connect).
    pub fn join(&mut self, room: &str, now: Instant) -> Result<bool, SendError> {
        if !self.protocol.supports_rooms() {
            return Err(SendError::Unsupported { protocol: self.protocol.name(), what: "rooms" });
        }
        self.pending_leaves.retain(|r| r != room);
        if self.rooms.insert(room) && matches!(self.phase, Phase::Ready { .. }) {
            self.send_join(room.to_owned(), now);
            return Ok(true);
        }
        Ok(false)
    }

    /// Leaves a room (no longer re-joined).
    pub fn leave(&mut self, room: &str, _now: Instant) -> Result<(), SendError> {
        if !self.protocol.supports_rooms() {
            return Err(SendError::Unsupported { protocol: self.protocol.name(), what: "rooms" });
        }
        if !self.rooms.remove(room) {
            return Ok(());
        }
        if matches!(self.phase, Phase::Ready { .. }) {
            let mut out = ProtocolOutput::default();
            self.protocol.encode_leave(room, None, &mut out)?;
            self.take_frames(out);
        } else {
            self.pending_leaves.push(room.to_owned());
        }
        Ok(())
    }

    /// Empties the outbox; every message is reported dropped (`Cleared`).
    pub fn clear_outbox(&mut self) -> usize {
        let cleared = self.outbox.clear();
        let count = cleared.len();
        for item in cleared {
            self.report_drop(item, DropReason::Cleared);
        }
        count
    }

    /// Messages waiting in the outbox.
    pub fn outbox_len(&self) -> usize {
        self.outbox.len()
    }

    pub(super) fn send_join(&mut self, room: String, now: Instant) {
        let ack = self.protocol.supports_acks().then(|| {
            self.acks.register(PendingAck {
                deadline: Some(now + self.config.ack_timeout),
                purpose: AckPurpose::Join(room.clone()),
                in_flight: true,
            })
        });
        let mut out = ProtocolOutput::default();
        match self.protocol.encode_join(&room, ack, &mut out) {
            Ok(()) => {
                self.take_frames(out);
                if ack.is_none() {
                    self.events.push_back(Event::RoomJoined { room });
                }
            }
            Err(e) => {
                if let Some(id) = ack {
                    self.acks.settle(id);
                }
                self.events.push_back(Event::RoomJoinFailed { room, reason: e.to_string() });
            }
        }
    }

    pub(super) fn register_message_ack(
        &mut self,
        message: &OutgoingMessage,
        deadline: Instant,
        reliable: bool,
        in_flight: bool,
    ) -> AckId {
        self.acks.register(PendingAck {
            deadline: Some(deadline),
            purpose: AckPurpose::Message { resend: reliable.then(|| message.clone()) },
            in_flight,
        })
    }

    pub(super) fn write_message(
        &mut self,
        message: &OutgoingMessage,
        ack: Option<AckId>,
        now: Instant,
    ) {
        let mut out = ProtocolOutput::default();
        match self.protocol.encode_message(message, ack, &mut out) {
            Ok(()) => {
                self.counters.messages_out += 1;
                self.take_frames(out);
            }
            Err(e) => {
                // `check` passed when the message was accepted, so this is a protocol bug or a
                // namespace that went away; report it rather than lose the message silently.
                self.record_error(Error::from(e), now);
                if let Some(id) = ack {
                    if let Some(pending) = self.acks.settle(id) {
                        self.settle_failed(id, pending, AckError::Dropped(DropReason::Closed));
                    }
                }
                self.counters.dropped += 1;
                self.events.push_back(Event::Dropped {
                    message: message.clone(),
                    reason: DropReason::Closed,
                });
            }
        }
    }

    pub(super) fn settle_failed(&mut self, id: AckId, ack: PendingAck, error: AckError) {
        match ack.purpose {
            AckPurpose::Message { .. } => {
                if let Some(durable) = self.durable.as_mut() {
                    durable.settled(id);
                }
                // A dropped message is counted once, in `dropped` (see the stats docs).
                if !matches!(error, AckError::Dropped(_)) {
                    self.counters.ack_failed += 1;
                }
                self.events.push_back(Event::AckSettled { id, result: Err(error) });
            }
            AckPurpose::Join(room) if error == AckError::Timeout => {
                self.events.push_back(Event::RoomJoinFailed { room, reason: error.to_string() });
            }
            AckPurpose::Join(_) | AckPurpose::Leave(_) => {}
        }
    }

    pub(super) fn report_drop(&mut self, item: QueuedMessage, reason: DropReason) {
        self.counters.dropped += 1;
        self.forget_stored(item.stored);
        if let Some(id) = item.ack {
            if let Some(ack) = self.acks.settle(id) {
                self.settle_failed(id, ack, AckError::Dropped(reason));
            }
        }
        self.events.push_back(Event::Dropped { message: item.message, reason });
    }

    /// The connection is gone: acknowledgements in flight fail with `error`, except
    /// at-least-once messages, which go back to the front of the outbox.
    pub(super) fn fail_in_flight_acks(&mut self, error: AckError) {
        let loss = self.acks.connection_lost();
        for (id, ack) in loss.failed {
            self.settle_failed(id, ack, error.clone());
        }
        let resend: Vec<QueuedMessage> = loss
            .resend
            .into_iter()
            .map(|(id, message, deadline)| {
                let size = message.size_hint();
                let stored = self.durable.as_mut().and_then(|d| d.requeued(id));
                QueuedMessage { message, ack: Some(id), expires_at: deadline, size, stored }
            })
            .collect();
        self.outbox.push_front_all(resend);
    }

    pub(super) fn on_ack(&mut self, id: AckId, reply: AckReply) {
        let Some(ack) = self.acks.settle(id) else { return };
        match ack.purpose {
            AckPurpose::Message { .. } => {
                if let Some(durable) = self.durable.as_mut() {
                    durable.settled(id);
                }
                self.counters.acked += 1;
                self.events.push_back(Event::AckSettled { id, result: Ok(reply) });
            }
            AckPurpose::Join(room) => match join_refusal(&reply) {
                None => self.events.push_back(Event::RoomJoined { room }),
                Some(reason) => self.events.push_back(Event::RoomJoinFailed { room, reason }),
            },
            AckPurpose::Leave(_) => {}
        }
    }
}

/// Reads a join acknowledgement: `{ok: false, error/message}` (the reference server's and seed
/// 000's convention) is a refusal; anything else is success.
fn join_refusal(reply: &AckReply) -> Option<String> {
    let first = reply.data.first()?;
    if first.get("ok").and_then(serde_json::Value::as_bool) == Some(false) {
        let why =
            first.get("message").or_else(|| first.get("error")).and_then(serde_json::Value::as_str);
        return Some(why.unwrap_or("refused by the server").to_owned());
    }
    None
}
