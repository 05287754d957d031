//! Phoenix Channels v2 as a [`Protocol`] of the engine: the socket URL with its params and
//! token, joins (with payloads) and leaves as the engine's rooms, pushes as its messages
//! (replies settle their acknowledgements), heartbeats on topic `phoenix`, and the token passed
//! on to joined channels (Supabase's `access_token`). What the server sends is in `inbound`.

use super::channels::{Awaiting, Channels};
use super::config::PhoenixConfig;
use super::frame::{encode_binary_push, encode_text, Payload};
use super::supabase::BROADCAST;
use crate::model::{AckId, Frame, IncomingMessage, OutgoingMessage, SendError, Token};
use crate::protocol::{Protocol, ProtocolEvent, ProtocolOutput, TransportRequest};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use url::Url;

pub(super) const NAME: &str = "phoenix";
/// The topic of socket-level messages (heartbeats).
pub(super) const SOCKET_TOPIC: &str = "phoenix";
/// The protocol version asked for in the URL.
const VSN: &str = "2.0.0";

/// The Phoenix Channels protocol.
pub struct Phoenix {
    pub(super) config: PhoenixConfig,
    pub(super) channels: Channels,
    /// The token of this connection, for join payloads (`access_token_in_joins`).
    pub(super) token: Option<Token>,
    /// The largest frame accepted from the server.
    pub(super) max_frame: usize,
}

impl std::fmt::Debug for Phoenix {
    // Join payloads may carry a token: show the topics only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Phoenix").field("config", &self.config).finish_non_exhaustive()
    }
}

impl Phoenix {
    /// A Phoenix protocol with these options; frames over `max_message_bytes` (plus room for
    /// the envelope) are refused.
    pub fn new(config: PhoenixConfig, max_message_bytes: usize) -> Self {
        Self {
            config,
            channels: Channels::default(),
            token: None,
            max_frame: max_message_bytes.saturating_add(4096),
        }
    }

    /// The join payload for a channel: the app's, with the token as `access_token` when the
    /// config asks for it.
    fn with_token(&self, payload: &Value) -> Value {
        let mut payload = payload.clone();
        if let (true, Some(token), Value::Object(fields)) =
            (self.config.access_token_in_joins, &self.token, &mut payload)
        {
            fields.insert("access_token".to_owned(), Value::String(token.expose().to_owned()));
        }
        payload
    }

    fn join_frame(&mut self, topic: &str, ack: Option<AckId>, out: &mut ProtocolOutput) {
        let (number, join_ref) = self.channels.make_ref();
        let payload = match self.channels.get(topic) {
            Some(channel) => self.with_token(&channel.payload),
            None => return,
        };
        if let Some(channel) = self.channels.get_mut(topic) {
            channel.join_ref = Some(join_ref.clone());
            channel.joined = false;
            channel.presence.rejoined();
        }
        self.channels.expect(number, Awaiting::Join { topic: topic.to_owned(), ack });
        let text = encode_text(Some(&join_ref), Some(&join_ref), topic, "phx_join", &payload);
        out.frames.push_back(Frame::Text(text));
    }

    /// A push's payload: its JSON argument (`{}` when it has none), or its one binary
    /// attachment.
    fn push_payload(message: &OutgoingMessage) -> Payload {
        match message.binary.first() {
            Some(bytes) => Payload::Binary(bytes.clone()),
            None => Payload::Json(message.data.first().cloned().unwrap_or_else(|| json!({}))),
        }
    }
}

impl Protocol for Phoenix {
    fn name(&self) -> &'static str {
        NAME
    }

    fn transport_request(&self, base: &Url, token: Option<&Token>) -> TransportRequest {
        let mut url = base.clone();
        if !self.config.path.is_empty() {
            url.set_path(&format!("{}/websocket", self.config.path.trim_end_matches('/')));
        }
        {
            let mut query = url.query_pairs_mut();
            for (name, value) in &self.config.params {
                let text = match value {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                query.append_pair(name, &text);
            }
            if let (Some(name), Some(token)) = (&self.config.token_param, token) {
                query.append_pair(name, token.expose());
            }
            query.append_pair("vsn", VSN);
        }
        TransportRequest { url, headers: Vec::new() }
    }

    fn on_open(&mut self, token: Option<&Token>, _now: Instant, out: &mut ProtocolOutput) {
        self.token = token.cloned();
        // Phoenix has no handshake beyond the upgrade: the socket is ready at once.
        out.events.push_back(ProtocolEvent::Ready { recovered: false });
    }

    fn on_frame(&mut self, frame: Frame, now: Instant, out: &mut ProtocolOutput) {
        self.on_server_frame(frame, now, out);
    }

    fn on_close(&mut self) {
        self.channels.socket_closed();
    }

    fn supports_acks(&self) -> bool {
        true
    }

    fn supports_rooms(&self) -> bool {
        true
    }

    fn supports_join_payloads(&self) -> bool {
        true
    }

    fn check(&self, message: &OutgoingMessage) -> Result<(), SendError> {
        if message.namespace.is_empty() || message.namespace == "/" {
            return Err(SendError::Invalid(
                "a Phoenix push needs its channel's topic as the message namespace".into(),
            ));
        }
        if message.event.is_empty() {
            return Err(SendError::Invalid("a Phoenix push needs an event name".into()));
        }
        let binary = match message.binary.len() {
            0 => false,
            1 => true,
            n => {
                return Err(SendError::Invalid(format!(
                    "a Phoenix push carries one binary payload, not {n}"
                )))
            }
        };
        // One payload per push: a JSON value, or bytes (with at most their placeholder).
        let json_args = message.data.len() - usize::from(binary && !message.data.is_empty());
        if json_args > 1 || (binary && json_args > 0) {
            return Err(SendError::Invalid(
                "a Phoenix push carries one payload: a JSON value or one binary attachment".into(),
            ));
        }
        if binary && (message.namespace.len() > 255 || message.event.len() > 255) {
            return Err(SendError::Invalid(
                "a binary Phoenix push needs a topic and an event of 255 bytes at most".into(),
            ));
        }
        Ok(())
    }

    fn encode_message(
        &mut self,
        message: &OutgoingMessage,
        ack: Option<AckId>,
        out: &mut ProtocolOutput,
    ) -> Result<(), SendError> {
        let topic = message.namespace.as_str();
        let join_ref = self
            .channels
            .get(topic)
            .and_then(|c| c.join_ref.clone())
            .ok_or_else(|| SendError::Invalid(format!("{topic} is not joined")))?;
        let (number, msg_ref) = self.channels.make_ref();
        let frame = match Self::push_payload(message) {
            Payload::Json(payload) => Frame::Text(encode_text(
                Some(&join_ref),
                Some(&msg_ref),
                topic,
                &message.event,
                &payload,
            )),
            Payload::Binary(bytes) | Payload::JsonWithBinary(_, bytes) => Frame::Binary(
                encode_binary_push(Some(&join_ref), Some(&msg_ref), topic, &message.event, &bytes)
                    .map_err(|e| SendError::Invalid(e.to_string()))?,
            ),
        };
        if let Some(id) = ack {
            self.channels.expect(number, Awaiting::Push { topic: topic.to_owned(), id });
        }
        out.frames.push_back(frame);
        Ok(())
    }

    fn encode_join(
        &mut self,
        room: &str,
        ack: Option<AckId>,
        out: &mut ProtocolOutput,
    ) -> Result<(), SendError> {
        self.channels.upsert(room, None);
        self.join_frame(room, ack, out);
        Ok(())
    }

    fn encode_join_with(
        &mut self,
        room: &str,
        payload: &Value,
        ack: Option<AckId>,
        out: &mut ProtocolOutput,
    ) -> Result<(), SendError> {
        if !payload.is_object() {
            return Err(SendError::Invalid("a Phoenix join payload must be a JSON object".into()));
        }
        self.channels.upsert(room, Some(payload.clone()));
        self.join_frame(room, ack, out);
        Ok(())
    }

    fn encode_leave(
        &mut self,
        room: &str,
        _ack: Option<AckId>,
        out: &mut ProtocolOutput,
    ) -> Result<(), SendError> {
        // Forgotten at once: the server's ok and its phx_close for this join are then stale.
        let Some(channel) = self.channels.remove(room) else { return Ok(()) };
        if let Some(join_ref) = channel.join_ref {
            let (_, msg_ref) = self.channels.make_ref();
            let text = encode_text(Some(&join_ref), Some(&msg_ref), room, "phx_leave", &json!({}));
            out.frames.push_back(Frame::Text(text));
        }
        Ok(())
    }

    fn encode_goodbye(&mut self, _out: &mut ProtocolOutput) {}

    fn liveness_timeout(&self) -> Option<Duration> {
        None
    }

    fn encode_heartbeat(&mut self, sequence: u64, out: &mut ProtocolOutput) -> bool {
        let (number, msg_ref) = self.channels.make_ref();
        self.channels.expect(number, Awaiting::Heartbeat(sequence));
        let text = encode_text(None, Some(&msg_ref), SOCKET_TOPIC, "heartbeat", &json!({}));
        out.frames.push_back(Frame::Text(text));
        true
    }

    fn room_of<'m>(&self, message: &'m OutgoingMessage) -> Option<&'m str> {
        Some(message.namespace.as_str())
    }

    fn dedup_id<'m>(&self, message: &'m IncomingMessage, field: &str) -> Option<&'m str> {
        let payload = message.payload()?;
        if message.event == BROADCAST
            && payload.get("type").and_then(Value::as_str) == Some(BROADCAST)
        {
            // A Supabase broadcast: the app's own payload is inside the envelope.
            return payload.get("payload")?.get(field)?.as_str();
        }
        message.string_field(field)
    }

    fn on_token_refresh(&mut self, token: &Token, out: &mut ProtocolOutput) {
        self.token = Some(token.clone());
        if !self.config.access_token_in_joins {
            return;
        }
        let mut pushes = Vec::new();
        for channel in self.channels.iter_mut() {
            if let (true, Some(join_ref)) = (channel.joined, channel.join_ref.clone()) {
                pushes.push((channel.topic.clone(), join_ref));
            }
        }
        for (topic, join_ref) in pushes {
            let (_, msg_ref) = self.channels.make_ref();
            let payload = json!({"access_token": token.expose()});
            let text =
                encode_text(Some(&join_ref), Some(&msg_ref), &topic, "access_token", &payload);
            out.frames.push_back(Frame::Text(text));
        }
    }
}
