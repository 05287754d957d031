//! Socket.IO v5 over Engine.IO v4 (WebSocket transport only), as a [`Protocol`] of the engine.
//!
//! The engine keeps doing backoff, heartbeat, outbox, acks and rooms; this file only speaks the
//! wire format: the Engine.IO open/ping/pong/close packets, one CONNECT per namespace with the
//! token in its auth payload, events and acks (binary ones too), and connection state recovery
//! (`pid` and `offset` sent back on reconnect).
//!
//! Where socket.io-client leaves the recovery offset in the event's arguments, we take it out
//! and put it in [`IncomingMessage::offset`], so the app's handlers see the arguments the server
//! emitted.

use crate::config::SocketIoConfig;
use crate::connection_state::FailureReason;
use crate::engineio_packet::{decode_engine_packet, encode_engine_packet, EnginePacket, OpenInfo};
use crate::error::SendError;
use crate::message::{AckId, AckReply, Frame, IncomingMessage, OutgoingMessage};
use crate::protocol::{Protocol, ProtocolEvent, ProtocolOutput, TransportRequest};
use crate::socketio_packet::{
    decode_socket_packet_with_limits, encode_binary, encode_socket_packet, is_placeholder,
    BinaryAssembler, BinaryPacket, DecodeLimits, SocketPacket, SocketPacketKind,
};
use crate::token::Token;
use serde_json::{json, Map, Value};
use std::time::{Duration, Instant};
use url::Url;

const NAME: &str = "socket.io";

/// Attachments one packet may announce; more is a hostile or broken server.
const MAX_ATTACHMENTS: usize = 64;

/// Events held before the handshake completes; a server replaying more is misbehaving.
const MAX_EARLY_EVENTS: usize = 10_000;

/// Bytes of events held before the handshake completes (at least one `max_message_bytes`):
/// ten thousand events of the largest size would otherwise be 10 GB.
const MAX_EARLY_BYTES: usize = 8 * 1024 * 1024;

/// One namespace's state. Survives reconnects for recovery (`pid`, `offset`).
#[derive(Debug, Clone)]
struct Namespace {
    name: String,
    connected: bool,
    recovered: bool,
    /// The server's private session id, sent back to ask for recovery.
    pid: Option<String>,
    /// Offset of the last event received, sent back with `pid`.
    offset: Option<String>,
}

/// The Socket.IO protocol.
pub struct SocketIo {
    config: SocketIoConfig,
    limits: DecodeLimits,
    namespaces: Vec<Namespace>,
    /// The CONNECT auth payload for this connection (token included), sent once the Engine.IO
    /// open packet arrives.
    auth: Option<Map<String, Value>>,
    engine: Option<OpenInfo>,
    assembler: BinaryAssembler,
    ready: bool,
    /// Events that arrived before the handshake finished. A recovering server replays missed
    /// events before its CONNECT answer; like socket.io-client we hand them over after it.
    early: Vec<IncomingMessage>,
    early_bytes: usize,
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

    fn namespace_mut(&mut self, name: &str) -> Option<&mut Namespace> {
        self.namespaces.iter_mut().find(|n| n.name == name)
    }

    fn rooms_namespace(&self) -> &str {
        self.namespaces.first().map_or("/", |n| n.name.as_str())
    }

    fn on_engine_packet(&mut self, packet: EnginePacket, out: &mut ProtocolOutput) {
        match packet {
            EnginePacket::Open(info) => {
                self.engine = Some(info);
                self.send_connects(out);
            }
            // The server's heartbeat: answer at once or it closes the connection.
            EnginePacket::Ping(payload) => {
                out.frames
                    .push_back(Frame::Text(encode_engine_packet(&EnginePacket::Pong(payload))));
            }
            EnginePacket::Close => out.events.push_back(ProtocolEvent::ConnectionLost(
                "server sent an Engine.IO close packet".into(),
            )),
            EnginePacket::Message(text) => {
                match decode_socket_packet_with_limits(&text, &self.limits) {
                    Ok(packet) if packet.kind.is_binary() => match self.assembler.start(packet) {
                        Ok(Some(complete)) => self.on_socket_packet(complete, out),
                        Ok(None) => {}
                        Err(e) => out
                            .events
                            .push_back(ProtocolEvent::Malformed(format!("binary packet: {e}"))),
                    },
                    Ok(packet) => {
                        self.on_socket_packet(BinaryPacket { packet, attachments: Vec::new() }, out)
                    }
                    Err(e) => out
                        .events
                        .push_back(ProtocolEvent::Malformed(format!("Socket.IO packet: {e}"))),
                }
            }
            EnginePacket::Pong(_) | EnginePacket::Upgrade | EnginePacket::Noop => {}
        }
    }

    fn send_connects(&mut self, out: &mut ProtocolOutput) {
        let auth = self.auth.clone().unwrap_or_default();
        let recovery = self.config.recovery;
        for ns in &self.namespaces {
            let mut payload = auth.clone();
            if let (true, Some(pid)) = (recovery, &ns.pid) {
                payload.insert("pid".into(), Value::String(pid.clone()));
                if let Some(offset) = &ns.offset {
                    payload.insert("offset".into(), Value::String(offset.clone()));
                }
            }
            let packet = SocketPacket {
                kind: SocketPacketKind::Connect,
                namespace: ns.name.clone(),
                id: None,
                data: Some(Value::Object(payload)),
                attachments: 0,
            };
            out.frames.push_back(engine_message(&packet));
        }
    }

    fn on_socket_packet(&mut self, complete: BinaryPacket, out: &mut ProtocolOutput) {
        let BinaryPacket { packet, attachments } = complete;
        let namespace = packet.namespace.clone();
        match packet.kind {
            SocketPacketKind::Connect => self.on_connect(&namespace, packet.data, out),
            SocketPacketKind::ConnectError => {
                let message = match &packet.data {
                    Some(Value::String(s)) => s.clone(),
                    Some(v) => v
                        .get("message")
                        .and_then(Value::as_str)
                        .unwrap_or("connection refused")
                        .to_owned(),
                    None => "connection refused".to_owned(),
                };
                let reason = if message.to_ascii_lowercase().contains("invalid namespace") {
                    FailureReason::ProtocolMismatch(format!("namespace {namespace}: {message}"))
                } else {
                    FailureReason::AuthRejected(message)
                };
                out.events.push_back(ProtocolEvent::Rejected(reason));
            }
            SocketPacketKind::Event | SocketPacketKind::BinaryEvent => {
                self.on_event(namespace, packet.id, packet.data, attachments, out);
            }
            SocketPacketKind::Ack | SocketPacketKind::BinaryAck => {
                let Some(id) = packet.id else {
                    out.events.push_back(ProtocolEvent::Malformed("ACK without an id".into()));
                    return;
                };
                let data = match packet.data {
                    Some(Value::Array(items)) => items,
                    Some(other) => vec![other],
                    None => Vec::new(),
                };
                out.events.push_back(ProtocolEvent::Ack {
                    id: AckId(id),
                    reply: AckReply { data, binary: attachments },
                });
            }
            SocketPacketKind::Disconnect => {
                let Some(ns) = self.namespace_mut(&namespace) else { return };
                ns.connected = false;
                // A server-side disconnect ends the session: there is nothing to recover.
                ns.pid = None;
                ns.offset = None;
                if self.namespaces.iter().any(|n| n.connected) {
                    out.events.push_back(ProtocolEvent::NamespaceDisconnected { namespace });
                } else {
                    out.events.push_back(ProtocolEvent::ServerClosed(format!(
                        "the server disconnected namespace {namespace}"
                    )));
                }
            }
        }
    }

    fn on_connect(&mut self, namespace: &str, data: Option<Value>, out: &mut ProtocolOutput) {
        let pid =
            data.as_ref().and_then(|d| d.get("pid")).and_then(Value::as_str).map(str::to_owned);
        let Some(ns) = self.namespace_mut(namespace) else {
            out.events.push_back(ProtocolEvent::Malformed(format!(
                "CONNECT for unknown namespace {namespace}"
            )));
            return;
        };
        // socket.io-client's rule: recovered when the server handed back the pid we sent.
        let recovered = pid.is_some() && pid == ns.pid;
        if !recovered {
            ns.offset = None;
        }
        ns.pid = pid;
        ns.connected = true;
        ns.recovered = recovered;
        out.events.push_back(ProtocolEvent::NamespaceConnected {
            namespace: namespace.to_owned(),
            recovered,
        });
        if !self.ready && self.namespaces.iter().all(|n| n.connected) {
            self.ready = true;
            let recovered = self.namespaces.iter().all(|n| n.recovered);
            out.events.push_back(ProtocolEvent::Ready { recovered });
            out.events.extend(self.early.drain(..).map(ProtocolEvent::Message));
            self.early_bytes = 0;
        }
    }

    fn on_event(
        &mut self,
        namespace: String,
        ack_id: Option<u64>,
        data: Option<Value>,
        binary: Vec<Vec<u8>>,
        out: &mut ProtocolOutput,
    ) {
        let Some(Value::Array(mut items)) = data else {
            out.events
                .push_back(ProtocolEvent::Malformed("EVENT without an argument array".into()));
            return;
        };
        if items.is_empty() {
            out.events.push_back(ProtocolEvent::Malformed("EVENT without a name".into()));
            return;
        }
        let Value::String(event) = items.remove(0) else {
            out.events.push_back(ProtocolEvent::Malformed("EVENT name is not a string".into()));
            return;
        };
        let mut offset = None;
        if let Some(ns) = self.namespace_mut(&namespace) {
            // With recovery on, the server appends the event's offset as a last string argument
            // to events sent without an ack.
            if ns.pid.is_some()
                && ack_id.is_none()
                && matches!(items.last(), Some(Value::String(_)))
            {
                if let Some(Value::String(o)) = items.pop() {
                    ns.offset = Some(o.clone());
                    offset = Some(o);
                }
            }
        }
        let message = IncomingMessage { namespace, event, data: items, binary, ack_id, offset };
        if self.ready {
            out.events.push_back(ProtocolEvent::Message(message));
        } else if self.early.len() < MAX_EARLY_EVENTS
            && self.early_bytes.saturating_add(message.size_hint())
                <= MAX_EARLY_BYTES.max(self.limits.max_len)
        {
            self.early_bytes += message.size_hint();
            self.early.push(message);
        } else {
            out.events.push_back(ProtocolEvent::Malformed(
                "too many events (or bytes) before the CONNECT answer: dropped".into(),
            ));
        }
    }

    fn known_namespace(&self, namespace: &str) -> Result<(), SendError> {
        if self.namespaces.iter().any(|n| n.name == namespace) {
            Ok(())
        } else {
            Err(SendError::Invalid(format!("namespace {namespace} is not in the client's config")))
        }
    }

    fn push_packet(
        kind: SocketPacketKind,
        namespace: &str,
        id: Option<u64>,
        data: Vec<Value>,
        binary: &[Vec<u8>],
        out: &mut ProtocolOutput,
    ) -> Result<(), SendError> {
        if binary.is_empty() {
            let packet = SocketPacket {
                kind,
                namespace: namespace.to_owned(),
                id,
                data: Some(Value::Array(data)),
                attachments: 0,
            };
            out.frames.push_back(engine_message(&packet));
            return Ok(());
        }
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
        let data = vec![Value::String(event), json!({ self.config.room_field.clone(): room })];
        let namespace = self.rooms_namespace().to_owned();
        Self::push_packet(SocketPacketKind::Event, &namespace, ack.map(|a| a.0), data, &[], out)
    }
}

fn engine_message(packet: &SocketPacket) -> Frame {
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
        let mut data = Vec::with_capacity(message.data.len() + 1);
        data.push(Value::String(message.event.clone()));
        data.extend(message.data.iter().cloned());
        Self::push_packet(
            SocketPacketKind::Event,
            &message.namespace,
            ack.map(|a| a.0),
            data,
            &message.binary,
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
            reply.data.clone(),
            &reply.binary,
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn protocol(namespaces: &[&str]) -> SocketIo {
        let config = SocketIoConfig {
            namespaces: namespaces.iter().map(|s| (*s).to_owned()).collect(),
            ..SocketIoConfig::default()
        };
        SocketIo::new(config, 1 << 20)
    }

    fn feed(p: &mut SocketIo, text: &str) -> ProtocolOutput {
        let mut out = ProtocolOutput::default();
        p.on_frame(Frame::Text(text.to_owned()), Instant::now(), &mut out);
        out
    }

    fn texts(out: &ProtocolOutput) -> Vec<String> {
        out.frames
            .iter()
            .filter_map(|f| if let Frame::Text(t) = f { Some(t.clone()) } else { None })
            .collect()
    }

    const OPEN: &str = r#"0{"sid":"abc","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;

    fn connected(namespaces: &[&str]) -> SocketIo {
        let mut p = protocol(namespaces);
        let mut out = ProtocolOutput::default();
        p.on_open(Some(&Token::new("tok")), Instant::now(), &mut out);
        feed(&mut p, OPEN);
        for ns in namespaces {
            let prefix = if *ns == "/" { String::new() } else { format!("{ns},") };
            feed(&mut p, &format!(r#"40{prefix}{{"sid":"s1","pid":"p1"}}"#));
        }
        p
    }

    #[test]
    fn url_gets_the_engine_io_path_and_query_without_the_token() {
        let base = Url::parse("ws://localhost:3000/?room=a").unwrap_or_else(|e| panic!("{e}"));
        let req = protocol(&["/"]).transport_request(&base, Some(&Token::new("secret")));
        assert_eq!(
            req.url.as_str(),
            "ws://localhost:3000/socket.io/?room=a&EIO=4&transport=websocket"
        );
        assert!(req.headers.is_empty());
    }

    #[test]
    fn open_packet_sends_one_connect_per_namespace_with_the_token() {
        let mut p = protocol(&["/", "/admin"]);
        let mut out = ProtocolOutput::default();
        p.on_open(Some(&Token::new("tok")), Instant::now(), &mut out);
        let out = feed(&mut p, OPEN);
        assert_eq!(
            texts(&out),
            vec![r#"40{"token":"tok"}"#.to_owned(), r#"40/admin,{"token":"tok"}"#.to_owned()]
        );
        assert_eq!(p.liveness_timeout(), Some(Duration::from_secs(45)));
    }

    #[test]
    fn ready_only_when_every_namespace_connected() {
        let mut p = protocol(&["/", "/admin"]);
        feed(&mut p, OPEN);
        let out = feed(&mut p, r#"40{"sid":"a"}"#);
        assert!(!out.events.iter().any(|e| matches!(e, ProtocolEvent::Ready { .. })));
        let out = feed(&mut p, r#"40/admin,{"sid":"b"}"#);
        assert!(out.events.contains(&ProtocolEvent::Ready { recovered: false }));
    }

    #[test]
    fn server_ping_is_answered_with_pong() {
        let mut p = connected(&["/"]);
        assert_eq!(texts(&feed(&mut p, "2")), vec!["3".to_owned()]);
    }

    #[test]
    fn recovery_sends_pid_and_offset_and_strips_the_offset_from_events() {
        let mut p = connected(&["/"]);
        let out = feed(&mut p, r#"42["news",{"a":1},"off-7"]"#);
        match out.events.front() {
            Some(ProtocolEvent::Message(m)) => {
                assert_eq!(m.data, vec![json!({"a": 1})]);
                assert_eq!(m.offset.as_deref(), Some("off-7"));
            }
            other => panic!("{other:?}"),
        }
        p.on_close();
        let mut out = ProtocolOutput::default();
        p.on_open(Some(&Token::new("tok")), Instant::now(), &mut out);
        let out = feed(&mut p, OPEN);
        assert_eq!(
            texts(&out),
            vec![r#"40{"offset":"off-7","pid":"p1","token":"tok"}"#.to_owned()]
        );
        let out = feed(&mut p, r#"40{"sid":"s2","pid":"p1"}"#);
        assert!(out.events.contains(&ProtocolEvent::Ready { recovered: true }));
    }

    #[test]
    fn events_replayed_before_the_connect_answer_come_after_ready() {
        let mut p = connected(&["/"]);
        p.on_close();
        feed(&mut p, OPEN);
        assert!(feed(&mut p, r#"42["missed",1,"o1"]"#).events.is_empty());
        let out = feed(&mut p, r#"40{"sid":"s2","pid":"p1"}"#);
        let kinds: Vec<&str> = out
            .events
            .iter()
            .map(|e| match e {
                ProtocolEvent::Ready { .. } => "ready",
                ProtocolEvent::Message(_) => "message",
                _ => "other",
            })
            .collect();
        assert_eq!(kinds, vec!["other", "ready", "message"]);
    }

    #[test]
    fn a_new_pid_means_not_recovered() {
        let mut p = connected(&["/"]);
        p.on_close();
        feed(&mut p, OPEN);
        let out = feed(&mut p, r#"40{"sid":"s2","pid":"p2"}"#);
        assert!(out.events.contains(&ProtocolEvent::Ready { recovered: false }));
    }

    #[test]
    fn connect_error_is_an_auth_rejection() {
        let mut p = protocol(&["/"]);
        feed(&mut p, OPEN);
        let out = feed(&mut p, r#"44{"message":"unauthorized"}"#);
        assert_eq!(
            out.events.front(),
            Some(&ProtocolEvent::Rejected(FailureReason::AuthRejected("unauthorized".into())))
        );
    }

    #[test]
    fn events_with_ack_ids_and_binary_attachments_are_assembled() {
        let mut p = connected(&["/"]);
        let out = feed(
            &mut p,
            r#"451-/,9["file",{"_placeholder":true,"num":0}]"#.replace("/,", "").as_str(),
        );
        assert!(out.events.is_empty(), "waits for the attachment");
        let mut out = ProtocolOutput::default();
        p.on_frame(Frame::Binary(vec![1, 2, 3]), Instant::now(), &mut out);
        match out.events.front() {
            Some(ProtocolEvent::Message(m)) => {
                assert_eq!(
                    (m.event.as_str(), m.ack_id, m.binary.clone()),
                    ("file", Some(9), vec![vec![1, 2, 3]])
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn acks_and_binary_sends_encode_per_spec() {
        let mut p = connected(&["/", "/admin"]);
        let mut out = ProtocolOutput::default();
        let m =
            OutgoingMessage::new("up", json!(1)).in_namespace("/admin").with_attachment(vec![7]);
        assert_eq!(p.encode_message(&m, Some(AckId(3)), &mut out), Ok(()));
        assert_eq!(
            out.frames.pop_front(),
            Some(Frame::Text(r#"451-/admin,3["up",1,{"_placeholder":true,"num":0}]"#.into()))
        );
        assert_eq!(out.frames.pop_front(), Some(Frame::Binary(vec![7])));
        let out = feed(&mut p, r#"43/admin,3["ok"]"#);
        assert_eq!(
            out.events.front(),
            Some(&ProtocolEvent::Ack {
                id: AckId(3),
                reply: AckReply { data: vec![json!("ok")], binary: vec![] }
            })
        );
    }

    #[test]
    fn server_disconnect_of_the_last_namespace_closes_the_session() {
        let mut p = connected(&["/", "/admin"]);
        let out = feed(&mut p, "41/admin,");
        assert_eq!(
            out.events.front(),
            Some(&ProtocolEvent::NamespaceDisconnected { namespace: "/admin".into() })
        );
        let out = feed(&mut p, "41");
        assert!(matches!(out.events.front(), Some(ProtocolEvent::ServerClosed(_))));
    }

    #[test]
    fn bad_input_is_malformed_never_a_panic() {
        let mut p = connected(&["/"]);
        for bad in ["", "9", "4", "42", "42[", "42[1]", "43", "45-[]", "0{}", "42/x,[\"a\"]"] {
            let out = feed(&mut p, bad);
            assert!(
                out.events
                    .iter()
                    .all(|e| matches!(e, ProtocolEvent::Malformed(_) | ProtocolEvent::Message(_))),
                "{bad}: {:?}",
                out.events
            );
        }
        let mut out = ProtocolOutput::default();
        p.on_frame(Frame::Binary(vec![1]), Instant::now(), &mut out);
        assert!(matches!(out.events.front(), Some(ProtocolEvent::Malformed(_))));
    }

    #[test]
    fn placeholders_must_match_attachments() {
        let p = connected(&["/"]);
        let mut m = OutgoingMessage::new("x", json!(1));
        m.binary.push(vec![1]);
        assert!(matches!(p.check(&m), Err(SendError::Invalid(_))));
        assert!(matches!(
            p.check(&OutgoingMessage::new("x", json!(1)).in_namespace("/nope")),
            Err(SendError::Invalid(_))
        ));
    }
}
