//! Sending: messages (sent now, or queued in the outbox), acknowledgements both ways, and room
//! joins and leaves.

use super::acks::{AckPurpose, ConnectionLoss, PendingAck};
use super::machine::{Phase, Session};
use super::outbox::{PushOutcome, QueuedMessage};
use crate::config::{OverflowPolicy, MAX_DURATION};
use crate::model::{
    AckError, AckId, AckReply, ConnectionState, DropReason, Error, Event, OutgoingMessage,
    SendError, TransportKind,
};
use crate::protocol::ProtocolOutput;
use serde_json::Value;
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
    /// Sends a message now if connected, else queues it in the outbox (as it does a message for
    /// a room whose join is not confirmed yet, when the protocol binds messages to rooms).
    /// Returns the ack id when an acknowledgement was requested; its answer comes as
    /// [`Event::AckSettled`].
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
        // Protocols that bind messages to rooms (Phoenix topics) only take messages for rooms
        // the app joined, and hold them until the room's join is confirmed.
        let room_ready = match self.protocol.room_of(&message) {
            None => true,
            Some(room) if self.rooms.contains(room) => self.rooms.is_joined(room),
            Some(room) => {
                return Err(SendError::Invalid(format!("join {room} before sending to it")))
            }
        };
        let writable = room_ready && matches!(self.phase, Phase::Ready { .. });
        if options.volatile && !writable {
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
        if writable {
            let id = ack.map(|(deadline, reliable)| {
                self.register_message_ack(&message, deadline, reliable, true)
            });
            let out = match self.encode_within_limits(&message, id) {
                Ok(out) => out,
                Err(refused) => {
                    if let Some(id) = id {
                        self.acks.settle(id);
                    }
                    return Err(refused);
                }
            };
            if let (Some(seq), Some(id), Some((deadline, true))) = (stored, id, ack) {
                // At-least-once: kept until its acknowledgement settles.
                self.keep(seq, &message, Some((deadline, true)), None, now);
                if let Some(durable) = self.durable.as_mut() {
                    durable.sent(id, seq);
                }
            }
            self.counters.messages_sent += 1;
            self.counters.messages_out += 1;
            self.take_frames(out);
            return Ok(id);
        }
        if let Some(limit) = self.frame_limit.filter(|limit| size > *limit) {
            // The server said on the last connection it would drop a frame this large.
            return Err(SendError::TooLarge { size, limit });
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

    /// Writes a message that waited in the outbox (its acknowledgement, if any, is now in
    /// flight).
    pub(super) fn write_queued(&mut self, item: QueuedMessage, now: Instant) {
        if let Some(id) = item.ack {
            self.acks.mark_in_flight(id);
        }
        self.hand_over(&item);
        self.write_message(&item.message, item.ack, now);
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
            room: self.protocol.room_of(message).map(str::to_owned),
        })
    }

    pub(super) fn write_message(
        &mut self,
        message: &OutgoingMessage,
        ack: Option<AckId>,
        now: Instant,
    ) {
        match self.encode_within_limits(message, ack) {
            Ok(out) => {
                self.counters.messages_out += 1;
                self.take_frames(out);
            }
            Err(e) => {
                // `check` passed when the message was accepted, so this is a namespace that
                // went away, or a server whose frame limit it is over; report it rather than
                // lose the message silently.
                let reason = match e {
                    SendError::TooLarge { .. } => DropReason::TooLarge,
                    _ => DropReason::Closed,
                };
                self.record_error(Error::from(e), now);
                if let Some(id) = ack {
                    if let Some(pending) = self.acks.settle(id) {
                        self.settle_failed(id, pending, AckError::Dropped(reason));
                    }
                }
                self.counters.dropped += 1;
                self.events.push_back(Event::Dropped { message: message.clone(), reason });
            }
        }
    }

    /// Encodes a message and checks every frame against the server's frame limit on the wire of
    /// the current transport (binary attachments cost their base64 form over long-polling).
    fn encode_within_limits(
        &mut self,
        message: &OutgoingMessage,
        ack: Option<AckId>,
    ) -> Result<ProtocolOutput, SendError> {
        let mut out = ProtocolOutput::default();
        self.protocol.encode_message(message, ack, &mut out)?;
        if let Some(limit) = self.protocol.max_frame_bytes() {
            let kind = self.transport.unwrap_or(TransportKind::WebSocket);
            if let Some(size) = out.frames.iter().map(|f| kind.wire_len(f)).find(|n| *n > limit) {
                return Err(SendError::TooLarge { size, limit });
            }
        }
        Ok(out)
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
        self.settle_loss(loss, error);
    }

    /// What was in flight for `room` is lost with it (the server's `phx_error`): at-least-once
    /// messages wait in the outbox for the room's rejoin, the others fail.
    pub(super) fn fail_room_acks(&mut self, room: &str) {
        let loss = self.acks.room_lost(room);
        self.settle_loss(loss, AckError::ConnectionLost);
    }

    fn settle_loss(&mut self, loss: ConnectionLoss, error: AckError) {
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

    pub(super) fn on_ack(&mut self, id: AckId, reply: AckReply, now: Instant) {
        let Some(ack) = self.acks.settle(id) else { return };
        match ack.purpose {
            AckPurpose::Message { .. } => {
                if let Some(durable) = self.durable.as_mut() {
                    durable.settled(id);
                }
                self.counters.acked += 1;
                self.events.push_back(Event::AckSettled { id, result: Ok(reply) });
            }
            AckPurpose::Join(room) => self.on_join_answer(room, Ok(reply), now),
            AckPurpose::Leave(_) => {}
        }
    }

    /// The server answered a message or a join with an error status.
    pub(super) fn on_nack(&mut self, id: AckId, response: Value, now: Instant) {
        let Some(ack) = self.acks.settle(id) else { return };
        match ack.purpose {
            AckPurpose::Message { .. } => {
                self.counters.ack_failed += 1;
                let result = Err(AckError::Refused(response));
                self.events.push_back(Event::AckSettled { id, result });
            }
            AckPurpose::Join(room) => self.on_join_answer(room, Err(response), now),
            AckPurpose::Leave(_) => {}
        }
    }
}
