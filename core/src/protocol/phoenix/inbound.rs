//! What a Phoenix server sends: replies (to joins, pushes and heartbeats), channel errors and
//! closes, presence, and application pushes and broadcasts. Messages of an older join of a
//! topic are stale and dropped, as phoenix.js drops them.

use super::channels::Awaiting;
use super::connection::{Phoenix, SOCKET_TOPIC};
use super::frame::{decode_binary, decode_text, Payload, PhoenixMessage, REPLY_EVENT};
use super::supabase::{change_ids, match_bindings, POSTGRES_CHANGES};
use crate::model::{AckReply, Frame, IncomingMessage};
use crate::protocol::{ProtocolEvent, ProtocolOutput};
use serde_json::{json, Value};
use std::time::Instant;

impl Phoenix {
    pub(super) fn on_server_frame(&mut self, frame: Frame, now: Instant, out: &mut ProtocolOutput) {
        let decoded = match frame {
            Frame::Text(text) => decode_text(&text, self.max_frame),
            Frame::Binary(bytes) => decode_binary(&bytes, self.max_frame),
            Frame::Ping(_) | Frame::Pong(_) | Frame::Close => return,
        };
        match decoded {
            Ok(message) => self.on_message(message, now, out),
            Err(e) => out.events.push_back(ProtocolEvent::Malformed(format!("Phoenix frame: {e}"))),
        }
    }

    fn on_message(&mut self, message: PhoenixMessage, now: Instant, out: &mut ProtocolOutput) {
        if message.event == REPLY_EVENT {
            self.on_reply(message, out);
            return;
        }
        if message.topic == SOCKET_TOPIC {
            return;
        }
        let Some(channel) = self.channels.get_mut(&message.topic) else {
            // A topic this client is not in (left, or never joined): nothing to deliver to.
            return;
        };
        if !channel.is_current(message.join_ref.as_deref()) {
            return;
        }
        let topic = message.topic.clone();
        match (message.event.as_str(), &message.payload) {
            ("phx_error", _) => {
                channel.joined = false;
                channel.join_ref = None;
                self.channels.forget_pushes_to(&topic);
                let reason = "the channel crashed on the server".to_owned();
                out.events.push_back(ProtocolEvent::RoomFailed { room: topic, reason });
            }
            ("phx_close", _) => {
                self.channels.remove(&topic);
                self.channels.forget_pushes_to(&topic);
                let reason = "closed by the server".to_owned();
                out.events.push_back(ProtocolEvent::RoomClosed { room: topic, reason });
            }
            ("presence_state", Payload::Json(state)) => {
                let changes = channel.presence.apply_state(&topic, state, now);
                out.events.extend(changes.into_iter().map(ProtocolEvent::Presence));
            }
            ("presence_diff", Payload::Json(diff)) => {
                let changes = channel.presence.apply_diff(&topic, diff, now);
                out.events.extend(changes.into_iter().map(ProtocolEvent::Presence));
            }
            (POSTGRES_CHANGES, Payload::Json(payload))
                if !channel.postgres_asked.is_empty()
                    && !change_ids(payload).iter().any(|id| channel.postgres_ids.contains(id)) =>
            {
                // A change for bindings of an older join (or of another client): not ours.
            }
            _ => out.events.push_back(ProtocolEvent::Message(incoming(message))),
        }
    }

    fn on_reply(&mut self, message: PhoenixMessage, out: &mut ProtocolOutput) {
        let Some(msg_ref) = message.msg_ref.clone() else { return };
        let Some(awaiting) = self.channels.answered(&msg_ref) else {
            // A reply to a push nobody waits for (sent without an acknowledgement).
            return;
        };
        let (status, response, binary) = reply_parts(message);
        let ok = status == "ok";
        match awaiting {
            Awaiting::Heartbeat(sequence) => {
                out.events.push_back(ProtocolEvent::HeartbeatAck { sequence });
            }
            Awaiting::Push { id, .. } if ok => {
                let reply = AckReply { data: vec![response], binary };
                out.events.push_back(ProtocolEvent::Ack { id, reply });
            }
            Awaiting::Push { id, .. } => out.events.push_back(ProtocolEvent::Nack { id, response }),
            Awaiting::Join { topic, ack } => {
                self.on_join_reply(&topic, &msg_ref, ok, response, ack, out)
            }
        }
    }

    fn on_join_reply(
        &mut self,
        topic: &str,
        msg_ref: &str,
        ok: bool,
        response: Value,
        ack: Option<crate::model::AckId>,
        out: &mut ProtocolOutput,
    ) {
        let Some(channel) = self.channels.get_mut(topic) else { return };
        if channel.join_ref.as_deref() != Some(msg_ref) {
            return; // The answer to a join that was replaced since.
        }
        let answer = if ok {
            match match_bindings(&channel.postgres_asked, response.get("postgres_changes")) {
                Ok(ids) => {
                    channel.postgres_ids = ids;
                    channel.joined = true;
                    Ok(response)
                }
                // realtime-js leaves the channel and reports an error: the app asked for changes
                // it would never get.
                Err(why) => {
                    let join_ref = channel.join_ref.take();
                    if let Some(join_ref) = join_ref {
                        let (_, leave_ref) = self.channels.make_ref();
                        let text = super::frame::encode_text(
                            Some(&join_ref),
                            Some(&leave_ref),
                            topic,
                            "phx_leave",
                            &json!({}),
                        );
                        out.frames.push_back(Frame::Text(text));
                    }
                    Err(json!({"reason": why, "response": response}))
                }
            }
        } else {
            Err(response)
        };
        let Some(id) = ack else { return };
        out.events.push_back(match answer {
            Ok(response) => ProtocolEvent::Ack {
                id,
                reply: AckReply { data: vec![response], binary: Vec::new() },
            },
            Err(response) => ProtocolEvent::Nack { id, response },
        });
    }
}

/// A reply's status, response and binary response: text replies carry `{status, response}`,
/// binary ones their status in the header and the bytes as the response.
fn reply_parts(message: PhoenixMessage) -> (String, Value, Vec<Vec<u8>>) {
    match message.payload {
        Payload::Json(payload) => {
            let status = payload.get("status").and_then(Value::as_str).unwrap_or("").to_owned();
            let response = payload.get("response").cloned().unwrap_or_else(|| json!({}));
            (status, response, Vec::new())
        }
        Payload::Binary(bytes) | Payload::JsonWithBinary(_, bytes) => {
            let placeholder = crate::model::OutgoingMessage::attachment_placeholder(0);
            (message.status.unwrap_or_default(), placeholder, vec![bytes])
        }
    }
}

/// An application message for the app: the topic as its namespace, the payload as its one
/// argument (or its one binary attachment).
fn incoming(message: PhoenixMessage) -> IncomingMessage {
    let (data, binary) = match message.payload {
        Payload::Json(payload) => (vec![payload], Vec::new()),
        Payload::Binary(bytes) => {
            (vec![crate::model::OutgoingMessage::attachment_placeholder(0)], vec![bytes])
        }
        Payload::JsonWithBinary(envelope, bytes) => (vec![envelope], vec![bytes]),
    };
    IncomingMessage {
        namespace: message.topic,
        event: message.event,
        data,
        binary,
        ack_id: None,
        offset: None,
    }
}
