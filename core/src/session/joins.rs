//! Rooms on the wire: joins (with a payload where the protocol has them), leaves, the server's
//! answers, rejoins with their own backoff while the connection stays up, and the messages that
//! wait in the outbox for their room (protocols that bind messages to rooms: Phoenix topics).

use super::acks::{AckPurpose, PendingAck};
use super::machine::{Phase, Session};
use super::rooms::RoomStatus;
use crate::model::{AckReply, DropReason, Event, SendError};
use crate::protocol::ProtocolOutput;
use serde_json::Value;
use std::time::Instant;

impl Session {
    /// Joins a room: remembered across reconnects and re-joined after each, in join order,
    /// before the outbox flushes. Returns true when a join went out now (so a
    /// [`Event::RoomJoined`] or [`Event::RoomJoinFailed`] will follow); false when the room was
    /// already joined or the client is offline (it is joined on connect).
    pub fn join(&mut self, room: &str, now: Instant) -> Result<bool, SendError> {
        self.join_with(room, None, now)
    }

    /// Joins a room with a payload the server reads on every join of it (Phoenix's join
    /// payload: credentials, Supabase's channel config). Joining a room already joined keeps
    /// the current membership and uses the new payload from the next rejoin on. Protocols
    /// without join payloads refuse a payload with [`SendError::Unsupported`].
    pub fn join_with(
        &mut self,
        room: &str,
        payload: Option<Value>,
        now: Instant,
    ) -> Result<bool, SendError> {
        if !self.protocol.supports_rooms() {
            return Err(SendError::Unsupported { protocol: self.protocol.name(), what: "rooms" });
        }
        if payload.is_some() && !self.protocol.supports_join_payloads() {
            return Err(SendError::Unsupported {
                protocol: self.protocol.name(),
                what: "join payloads",
            });
        }
        self.pending_leaves.retain(|r| r != room);
        if self.rooms.insert_with(room, payload) && matches!(self.phase, Phase::Ready { .. }) {
            self.send_join(room.to_owned(), now);
            return Ok(true);
        }
        Ok(false)
    }

    /// Leaves a room (no longer re-joined). Messages still waiting for it are dropped.
    pub fn leave(&mut self, room: &str, _now: Instant) -> Result<(), SendError> {
        if !self.protocol.supports_rooms() {
            return Err(SendError::Unsupported { protocol: self.protocol.name(), what: "rooms" });
        }
        if !self.rooms.remove(room) {
            return Ok(());
        }
        self.drop_room_messages(room);
        if matches!(self.phase, Phase::Ready { .. }) {
            let mut out = ProtocolOutput::default();
            self.protocol.encode_leave(room, None, &mut out)?;
            self.take_frames(out);
        } else {
            self.pending_leaves.push(room.to_owned());
        }
        Ok(())
    }

    /// Sends the join of `room` (with its payload, if it has one).
    pub(super) fn send_join(&mut self, room: String, now: Instant) {
        let ack = self.protocol.supports_acks().then(|| {
            self.acks.register(PendingAck {
                deadline: Some(now + self.config.ack_timeout),
                purpose: AckPurpose::Join(room.clone()),
                in_flight: true,
                room: Some(room.clone()),
            })
        });
        self.rooms.set_status(&room, RoomStatus::Joining);
        let mut out = ProtocolOutput::default();
        let encoded = match self.rooms.payload(&room).cloned() {
            Some(payload) => self.protocol.encode_join_with(&room, &payload, ack, &mut out),
            None => self.protocol.encode_join(&room, ack, &mut out),
        };
        match encoded {
            Ok(()) => {
                self.take_frames(out);
                if ack.is_none() {
                    self.room_joined(room, now);
                }
            }
            Err(e) => {
                if let Some(id) = ack {
                    self.acks.settle(id);
                }
                self.rooms.set_status(&room, RoomStatus::Refused);
                self.events.push_back(Event::RoomJoinFailed { room, reason: e.to_string() });
            }
        }
    }

    /// The server answered a join: `Ok` with its acknowledgement, `Err` with an error reply.
    pub(super) fn on_join_answer(
        &mut self,
        room: String,
        answer: Result<AckReply, Value>,
        now: Instant,
    ) {
        let response = match &answer {
            Ok(reply) => {
                reply.data.first().cloned().unwrap_or_else(|| Value::Object(Default::default()))
            }
            Err(response) => response.clone(),
        };
        self.events
            .push_back(Event::RoomJoinReply { room: room.clone(), response: response.clone() });
        let refusal = match &answer {
            Ok(reply) => join_refusal(reply),
            Err(response) => Some(refusal_text(response)),
        };
        match refusal {
            None => self.room_joined(room, now),
            Some(reason) => {
                // A refusal is the server's decision: asking again at once would only repeat
                // it (phoenix.js does, every 10 s); the room is tried again on the next connect.
                self.rooms.set_status(&room, RoomStatus::Refused);
                self.events.push_back(Event::RoomJoinFailed { room, reason });
            }
        }
    }

    /// A join went unanswered (`reason`) or the server lost a joined room: join it again after
    /// the rejoin backoff, while connected.
    pub(super) fn schedule_rejoin(&mut self, room: &str, now: Instant) {
        if !self.rooms.contains(room) || !matches!(self.phase, Phase::Ready { .. }) {
            return;
        }
        let failures = self.rooms.record_failure(room);
        let policy = &self.config.rejoin_backoff;
        if policy.max_attempts.is_some_and(|max| failures > max) {
            self.rooms.set_status(room, RoomStatus::Refused);
            return;
        }
        let at = now + policy.delay(failures, &mut self.rng);
        self.rooms.set_status(room, RoomStatus::Retrying { at });
    }

    /// Joins again every room whose rejoin is due.
    pub(super) fn rejoin_due(&mut self, now: Instant) {
        for room in self.rooms.due(now) {
            self.send_join(room, now);
        }
    }

    /// The server closed `room` for good.
    pub(super) fn room_closed(&mut self, room: String, reason: String) {
        if self.rooms.remove(&room) {
            self.drop_room_messages(&room);
            self.events.push_back(Event::RoomClosed { room, reason });
        }
    }

    fn room_joined(&mut self, room: String, now: Instant) {
        self.rooms.set_status(&room, RoomStatus::Joined);
        self.events.push_back(Event::RoomJoined { room: room.clone() });
        self.flush_room(&room, now);
    }

    /// Sends what waited in the outbox for `room`, in order.
    fn flush_room(&mut self, room: &str, now: Instant) {
        if !matches!(self.phase, Phase::Ready { .. }) {
            return;
        }
        let protocol = &self.protocol;
        let waiting = self.outbox.take_where(|item| protocol.room_of(&item.message) == Some(room));
        for item in waiting {
            self.write_queued(item, now);
        }
    }

    fn drop_room_messages(&mut self, room: &str) {
        let protocol = &self.protocol;
        let waiting = self.outbox.take_where(|item| protocol.room_of(&item.message) == Some(room));
        for item in waiting {
            self.report_drop(item, DropReason::RoomClosed);
        }
    }
}

/// Reads a join acknowledgement: `{ok: false, error/message}` (the reference server's and seed
/// 000's convention) is a refusal; anything else is success.
fn join_refusal(reply: &AckReply) -> Option<String> {
    let first = reply.data.first()?;
    if first.get("ok").and_then(Value::as_bool) == Some(false) {
        return Some(refusal_text(first));
    }
    None
}

/// A refusal's reason for humans: the response's `reason`, `message` or `error` text, else the
/// response itself.
fn refusal_text(response: &Value) -> String {
    ["reason", "message", "error"]
        .iter()
        .find_map(|key| response.get(key).and_then(Value::as_str))
        .map(str::to_owned)
        .unwrap_or_else(|| match response {
            Value::Null => "refused by the server".to_owned(),
            Value::Object(map) if map.is_empty() => "refused by the server".to_owned(),
            other => other.to_string(),
        })
}
