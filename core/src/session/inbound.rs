//! What arrives: frames from the transport, and the events the protocol makes of them
//! (handshake done, messages, acks, refusals, closes).

use super::machine::{Phase, Session};
use super::rooms::RoomStatus;
use crate::model::{
    ConnectionState, DisconnectReason, Error, ErrorKind, Event, Frame, IncomingMessage,
};
use crate::protocol::{ProtocolEvent, ProtocolOutput};
use std::collections::VecDeque;
use std::time::Instant;

impl Session {
    /// A frame arrived.
    pub fn handle_frame(&mut self, frame: Frame, now: Instant) {
        if !matches!(self.phase, Phase::Handshaking { .. } | Phase::Ready { .. }) {
            return;
        }
        self.last_rx = now;
        self.counters.bytes_in += frame.len() as u64;
        // Anything from the server proves the path is alive, pong or not.
        self.heartbeat.first_unanswered_at = None;
        self.heartbeat.unanswered = 0;
        self.heartbeat.probe_deadline = None;
        match frame {
            Frame::Pong(payload) => self.on_pong(&payload, now),
            // The WebSocket library answers pings itself.
            Frame::Ping(_) => {}
            other => {
                let mut out = ProtocolOutput::default();
                self.protocol.on_frame(other, now, &mut out);
                self.absorb(out, now);
            }
        }
        self.refresh_health(now);
    }

    pub(super) fn absorb(&mut self, out: ProtocolOutput, now: Instant) {
        let ProtocolOutput { frames, events } = out;
        self.take_frames(ProtocolOutput { frames, events: VecDeque::new() });
        for event in events {
            self.on_protocol_event(event, now);
        }
    }

    pub(super) fn take_frames(&mut self, out: ProtocolOutput) {
        for frame in out.frames {
            self.counters.bytes_out += frame.len() as u64;
            self.transmit.push_back(frame);
        }
    }

    pub(super) fn on_protocol_event(&mut self, event: ProtocolEvent, now: Instant) {
        match event {
            ProtocolEvent::Ready { recovered } => self.on_ready(recovered, now),
            ProtocolEvent::Message(message) => self.on_message(message, now),
            ProtocolEvent::Ack { id, reply } => self.on_ack(id, reply, now),
            ProtocolEvent::Nack { id, response } => self.on_nack(id, response, now),
            ProtocolEvent::HeartbeatAck { sequence } => self.on_pong(&sequence.to_be_bytes(), now),
            ProtocolEvent::ServerHeartbeat => self.ride_server_heartbeat(now),
            ProtocolEvent::RoomFailed { room, reason } => {
                if self.rooms.contains(&room) {
                    self.fail_room_acks(&room);
                    self.schedule_rejoin(&room, now);
                    self.events.push_back(Event::RoomError { room, reason });
                }
            }
            ProtocolEvent::RoomClosed { room, reason } => self.room_closed(room, reason),
            ProtocolEvent::Presence(change) => self.events.push_back(Event::Presence(change)),
            ProtocolEvent::NamespaceConnected { namespace, recovered } => {
                self.events.push_back(Event::NamespaceConnected { namespace, recovered });
            }
            ProtocolEvent::NamespaceDisconnected { namespace } => {
                self.events.push_back(Event::NamespaceDisconnected { namespace });
            }
            ProtocolEvent::Rejected(reason) => self.refused(reason, now),
            ProtocolEvent::ServerClosed(why) => {
                self.shut_down(
                    ConnectionState::Closed,
                    DisconnectReason::ServerRequested(why),
                    now,
                );
            }
            ProtocolEvent::ConnectionLost(why) => {
                self.last_error = why.clone();
                self.lose_connection(DisconnectReason::TransportClosed(why), now);
            }
            ProtocolEvent::Malformed(why) => {
                self.record_error(Error::new(ErrorKind::Protocol, why), now);
            }
        }
    }

    pub(super) fn on_ready(&mut self, recovered: bool, now: Instant) {
        if !matches!(self.phase, Phase::Handshaking { .. }) {
            return;
        }
        self.phase = Phase::Ready { since: now };
        self.ever_connected = true;
        self.failures_on_url = 0;
        self.counters.connect_count += 1;
        self.auth_retried = false;
        self.frame_limit = self.protocol.max_frame_bytes();
        if self.pings() {
            self.heartbeat.next_ping_at = Some(now + self.config.heartbeat_interval);
        }
        self.set_state(ConnectionState::Connected);
        self.events.push_back(Event::Connected { recovered });
        if recovered {
            // The server kept our rooms; it only needs to hear about rooms left while away.
            let kept: Vec<String> = self.rooms.iter().map(str::to_owned).collect();
            for room in kept {
                self.rooms.set_status(&room, RoomStatus::Joined);
            }
            for room in std::mem::take(&mut self.pending_leaves) {
                let mut out = ProtocolOutput::default();
                if self.protocol.encode_leave(&room, None, &mut out).is_ok() {
                    self.take_frames(out);
                }
            }
        } else {
            self.pending_leaves.clear();
            let rooms: Vec<String> = self.rooms.iter().map(str::to_owned).collect();
            for room in rooms {
                self.send_join(room, now);
            }
        }
        // Everything queued goes out in order, but for messages whose room is not joined yet:
        // they wait for its join (see `joins`).
        let (protocol, rooms) = (&self.protocol, &self.rooms);
        let ready = self
            .outbox
            .take_where(|item| protocol.room_of(&item.message).is_none_or(|r| rooms.is_joined(r)));
        for item in ready {
            self.write_queued(item, now);
        }
    }

    pub(super) fn on_message(&mut self, message: IncomingMessage, now: Instant) {
        let size = message.size_hint();
        if size > self.config.max_message_bytes {
            self.record_error(
                Error::new(
                    ErrorKind::TooLarge,
                    format!(
                        "dropped a {size}-byte message from the server: over max_message_bytes"
                    ),
                ),
                now,
            );
            return;
        }
        if let Some(field) = self.config.dedup_field.as_deref() {
            if let Some(id) = self.protocol.dedup_id(&message, field) {
                let key = format!("{}\u{0}{}\u{0}{}", message.namespace, message.event, id);
                match self.dedup.as_mut().map(|window| window.record(&key)) {
                    Some(Some(hash)) => {
                        if let Some(durable) = self.durable.as_mut() {
                            durable.seen(hash);
                        }
                    }
                    Some(None) => {
                        self.counters.duplicates += 1;
                        return;
                    }
                    None => {}
                }
            }
        }
        self.counters.messages_in += 1;
        self.events.push_back(Event::Message(message));
    }
}
