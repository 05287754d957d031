//! Socket.IO v5 over Engine.IO v4, as a [`Protocol`] of the engine. The protocol sees the same
//! frames whichever transport carries them (the polling transport turns its payloads into
//! frames, see `polling`).
//!
//! The engine keeps doing backoff, heartbeat, outbox, acks and rooms; this file only speaks the
//! wire format: the Engine.IO open/ping/pong/close packets, one CONNECT per namespace with the
//! token in its auth payload, events and acks (binary ones too), and connection state recovery
//! (`pid` and `offset` sent back on reconnect).
//!
//! Where socket.io-client leaves the recovery offset in the event's arguments, we take it out
//! and put it in [`IncomingMessage::offset`], so the app's handlers see the arguments the server
//! emitted.

use super::binary::{encode_binary, is_placeholder, BinaryAssembler};
use super::config::SocketIoConfig;
use super::engineio::{decode_engine_packet, encode_engine_packet, EnginePacket, OpenInfo};
use super::packet::{
    encode_event_message, encode_socket_packet, DecodeLimits, SocketPacket, SocketPacketKind,
};
use crate::model::{AckId, AckReply, Frame, IncomingMessage, OutgoingMessage, SendError, Token};
use crate::protocol::contract::{Protocol, ProtocolEvent, ProtocolOutput, TransportRequest};
use serde_json::{json, Map, Value};
use std::time::{Duration, Instant};
use url::Url;

const NAME: &str = "socket.io";

/// Attachments one packet may announce; more is a hostile or broken server.
const MAX_ATTACHMENTS: usize = 64;

/// A packet's text beyond its JSON: `4`, the type, an ack id of up to 20 digits, the brackets.
const PACKET_OVERHEAD_BYTES: usize = 24;

/// A guess at an acknowledgement's JSON (its first buffer; it grows if it needs to).
const ACK_REPLY_BYTES: usize = 64;

/// A join or leave's text beyond the event and room names.
const ROOM_EVENT_BYTES: usize = PACKET_OVERHEAD_BYTES + 32;

/// Events held before the handshake completes; a server replaying more is misbehaving.
pub(super) const MAX_EARLY_EVENTS: usize = 10_000;

/// Bytes of events held before the handshake completes (at least one `max_message_bytes`):
/// ten thousand events of the largest size would otherwise be 10 GB.
pub(super) const MAX_EARLY_BYTES: usize = 8 * 1024 * 1024;

/// One namespace's state. Survives reconnects for recovery (`pid`, `offset`).
#[derive(Debug, Clone)]
pub(super) struct Namespace {
    pub(super) name: String,
    pub(super) connected: bool,
    pub(super) recovered: bool,
    /// The server's private session id, sent back to ask for recovery.
    pub(super) pid: Option<String>,
    /// Offset of the last event received, sent back with `pid`.
    pub(super) offset: Option<String>,
}

/// The Socket.IO protocol.
pub struct SocketIo {
    pub(super) config: SocketIoConfig,
    pub(super) limits: DecodeLimits,
    pub(super) namespaces: Vec<Namespace>,
    /// The CONNECT auth payload for this connection (token included), sent once the Engine.IO
    /// open packet arrives.
    pub(super) auth: Option<Map<String, Value>>,
    pub(super) engine: Option<OpenInfo>,
    pub(super) assembler: BinaryAssembler,
    pub(super) ready: bool,
    /// Events that arrived before the handshake finished. A recovering server replays missed
    /// events before its CONNECT answer; like socket.io-client we hand them over after it.
    pub(super) early: Vec<IncomingMessage>,
    pub(super) early_bytes: usize,
}

impl std::fmt::Debug for SocketIo {
    // The auth payload holds the token: show which fields it has, never their values.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let auth: Option<Vec<&str>> =
            self.auth.as_ref().map(|auth| auth.keys().map(String::as_str).collect());
        f.debug_struct("SocketIo")
            .field("config", &self.config)
            .field("limits", &self.limits)
            .field("namespaces", &self.namespaces)
            .field("auth_fields", &auth)
            .field("engine", &self.engine)
            .field("assembler", &self.assembler)
            .field("ready", &self.ready)
            .field("early", &self.early.len())
            .finish()
    }
}

impl SocketIo {
    /// A Socket.IO protocol with these options; frames over `max_message_bytes` are refused.
    pub fn new(config: SocketIoConfig, max_message_bytes: usize) -> Self {
        let namespaces = config
            .namespaces
            .iter()
            .map(|name| Namespace {
                name: name.clone(),
                connected: false,
                recovered: false,
                pid: None,
                offset: None,
            })
            .collect();
        Self {
            limits: DecodeLimits { max_attachments: MAX_ATTACHMENTS, max_len: max_message_bytes },
            namespaces,
            auth: None,
            engine: None,
            assembler: BinaryAssembler::with_max_bytes(max_message_bytes),
            ready: false,
            early: Vec::new(),
            early_bytes: 0,
            config,
        }
    }

    pub(super) fn namespace_mut(&mut self, name: &str) -> Option<&mut Namespace> {
        self.namespaces.iter_mut().find(|n| n.name == name)
    }

    fn rooms_namespace(&self) -> &str {
        self.namespaces.first().map_or("/", |n| n.name.as_str())
    }

    fn known_namespace(&self, namespace: &str) -> Result<(), SendError> {
        if self.namespaces.iter().any(|n| n.name == namespace) {
            Ok(())
        } else {
            Err(SendError::Invalid(format!("namespace {namespace} is not in the client's config")))
        }
    }

    /// An event (`head` is its name) or an ack, with its binary attachments as the frames
    /// after it. Without attachments the text is written in one go from borrowed parts (see
    /// [`encode_event_message`]); `capacity` is a guess of its length.
    #[allow(clippy::too_many_arguments)]
    fn push_packet(
        kind: SocketPacketKind,
        namespace: &str,
        id: Option<u64>,
        head: Option<&str>,
        args: &[Value],
        binary: &[Vec<u8>],
        capacity: usize,
        out: &mut ProtocolOutput,
    ) -> Result<(), SendError> {
        if binary.is_empty() {
            let text = encode_event_message(kind, namespace, id, head, args, capacity)
                .map_err(|e| SendError::Invalid(e.to_string()))?;
            out.frames.push_back(Frame::Text(text));
            return Ok(());
        }
        let mut data = Vec::with_capacity(args.len() + 1);
        data.extend(head.map(|event| Value::String(event.to_owned())));
        data.extend(args.iter().cloned());
        let (text, attachments) =
            encode_binary(kind, namespace, id, Value::Array(data), binary.to_vec())
                .map_err(|e| SendError::Invalid(e.to_string()))?;
        out.frames.push_back(Frame::Text(encode_engine_packet(&EnginePacket::Message(text))));
        out.frames.extend(attachments.into_iter().map(Frame::Binary));
        Ok(())
    }

    /// A join or leave: `event` with `{room_field: room}` in the rooms' namespace.
    fn push_room_event(
        &self,
        event: String,
        room: &str,
        ack: Option<AckId>,
        out: &mut ProtocolOutput,
    ) -> Result<(), SendError> {
        let args = [json!({ self.config.room_field.clone(): room })];
        let namespace = self.rooms_namespace();
        let id = ack.map(|a| a.0);
        let capacity = ROOM_EVENT_BYTES + event.len() + room.len();
        Self::push_packet(
            SocketPacketKind::Event,
            namespace,
            id,
            Some(&event),
            &args,
            &[],
            capacity,
            out,
        )
    }
}

pub(super) fn engine_message(packet: &SocketPacket) -> Frame {
    Frame::Text(encode_engine_packet(&EnginePacket::Message(encode_socket_packet(packet))))
}

/// Placeholders in `data` must each point at an attachment, and every attachment be used once.
fn check_placeholders(data: &[Value], attachments: usize) -> Result<(), SendError> {
    fn walk(value: &Value, seen: &mut Vec<usize>) {
        if let Some(num) = is_placeholder(value) {
            seen.push(num);
            return;
        }
        match value {
            Value::Array(items) => items.iter().for_each(|v| walk(v, seen)),
            Value::Object(map) => map.values().for_each(|v| walk(v, seen)),
            _ => {}
        }
    }
    let mut seen = Vec::new();
    data.iter().for_each(|v| walk(v, &mut seen));
    seen.sort_unstable();
    if seen != (0..attachments).collect::<Vec<_>>() {
        return Err(SendError::Invalid(format!(
            "{attachments} binary attachments but placeholders {seen:?}: each attachment needs exactly one placeholder"
        )));
    }
    Ok(())
}

impl Protocol for SocketIo {
    fn name(&self) -> &'static str {
        NAME
    }

    fn transport_request(&self, base: &Url, _token: Option<&Token>) -> TransportRequest {
        let mut url = base.clone();
        url.set_path(&self.config.path);
        let kept: Vec<(String, String)> = base
            .query_pairs()
            .filter(|(k, _)| k != "EIO" && k != "transport")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        {
            let mut query = url.query_pairs_mut();
            query.clear();
            for (k, v) in &kept {
                query.append_pair(k, v);
            }
            query.append_pair("EIO", "4").append_pair("transport", "websocket");
        }
        // The token travels in the CONNECT auth payload, not in the URL (URLs end up in logs).
        TransportRequest { url, headers: Vec::new() }
    }

    fn on_open(&mut self, token: Option<&Token>, _now: Instant, _out: &mut ProtocolOutput) {
        let mut auth = self.config.auth.clone();
        if let Some(token) = token {
            auth.insert("token".into(), Value::String(token.expose().to_owned()));
        }
        self.auth = Some(auth);
    }

    fn on_frame(&mut self, frame: Frame, _now: Instant, out: &mut ProtocolOutput) {
        match frame {
            Frame::Text(text) => match decode_engine_packet(&text) {
                Ok(packet) => self.on_engine_packet(packet, out),
                Err(e) => {
                    out.events.push_back(ProtocolEvent::Malformed(format!("Engine.IO packet: {e}")))
                }
            },
            Frame::Binary(bytes) => match self.assembler.push(bytes) {
                Ok(Some(complete)) => self.on_socket_packet(complete, out),
                Ok(None) => {}
                Err(e) => out
                    .events
                    .push_back(ProtocolEvent::Malformed(format!("binary attachment: {e}"))),
            },
            Frame::Close => out
                .events
                .push_back(ProtocolEvent::ConnectionLost("server sent a close frame".into())),
            Frame::Ping(_) | Frame::Pong(_) => {}
        }
    }

    fn on_close(&mut self) {
        self.engine = None;
        self.auth = None;
        self.ready = false;
        self.early.clear();
        self.early_bytes = 0;
        self.assembler.reset();
        for ns in &mut self.namespaces {
            ns.connected = false;
            ns.recovered = false;
        }
    }

    fn supports_acks(&self) -> bool {
        true
    }

    fn supports_rooms(&self) -> bool {
        true
    }

    fn check(&self, message: &OutgoingMessage) -> Result<(), SendError> {
        self.known_namespace(&message.namespace)?;
        if message.event.is_empty() {
            return Err(SendError::Invalid("the event name is empty".into()));
        }
        check_placeholders(&message.data, message.binary.len())
    }

    fn encode_message(
        &mut self,
        message: &OutgoingMessage,
        ack: Option<AckId>,
        out: &mut ProtocolOutput,
    ) -> Result<(), SendError> {
        self.check(message)?;
        Self::push_packet(
            SocketPacketKind::Event,
            &message.namespace,
            ack.map(|a| a.0),
            Some(&message.event),
            &message.data,
            &message.binary,
            // What the payload's JSON takes, plus the packet's head, brackets and commas.
            message.size_hint() + PACKET_OVERHEAD_BYTES + 2 * message.data.len(),
            out,
        )
    }

    fn encode_ack_reply(
        &mut self,
        namespace: &str,
        ack_id: u64,
        reply: &AckReply,
        out: &mut ProtocolOutput,
    ) -> Result<(), SendError> {
        self.known_namespace(namespace)?;
        check_placeholders(&reply.data, reply.binary.len())?;
        Self::push_packet(
            SocketPacketKind::Ack,
            namespace,
            Some(ack_id),
            None,
            &reply.data,
            &reply.binary,
            PACKET_OVERHEAD_BYTES + namespace.len() + ACK_REPLY_BYTES,
            out,
        )
    }

    fn encode_join(
        &mut self,
        room: &str,
        ack: Option<AckId>,
        out: &mut ProtocolOutput,
    ) -> Result<(), SendError> {
        let event = self.config.join_event.clone();
        self.push_room_event(event, room, ack, out)
    }

    fn encode_leave(
        &mut self,
        room: &str,
        ack: Option<AckId>,
        out: &mut ProtocolOutput,
    ) -> Result<(), SendError> {
        let event = self.config.leave_event.clone();
        self.push_room_event(event, room, ack, out)
    }

    fn encode_goodbye(&mut self, out: &mut ProtocolOutput) {
        for ns in self.namespaces.iter_mut().filter(|n| n.connected) {
            let packet = SocketPacket {
                kind: SocketPacketKind::Disconnect,
                namespace: ns.name.clone(),
                id: None,
                data: None,
                attachments: 0,
            };
            out.frames.push_back(engine_message(&packet));
            // We leave on purpose: nothing to recover next time.
            ns.pid = None;
            ns.offset = None;
        }
        out.frames.push_back(Frame::Text(encode_engine_packet(&EnginePacket::Close)));
    }

    fn liveness_timeout(&self) -> Option<Duration> {
        self.engine
            .as_ref()
            .map(|e| Duration::from_millis(e.ping_interval_ms.saturating_add(e.ping_timeout_ms)))
    }

    fn max_frame_bytes(&self) -> Option<usize> {
        self.engine.as_ref().map(|e| usize::try_from(e.max_payload).unwrap_or(usize::MAX))
    }
}

#[cfg(test)]
mod tests;
