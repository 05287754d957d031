//! What the Socket.IO server sends: Engine.IO packets, CONNECT answers, events (held until the
//! handshake completes when a recovering server replays them early), acks and disconnects.

use super::binary::BinaryPacket;
use super::connection::{engine_message, SocketIo, MAX_EARLY_BYTES, MAX_EARLY_EVENTS};
use super::engineio::{encode_engine_packet, EnginePacket};
use super::packet::{decode_socket_packet_with_limits, SocketPacket, SocketPacketKind};
use crate::model::{AckId, AckReply, FailureReason, Frame, IncomingMessage};
use crate::protocol::contract::{ProtocolEvent, ProtocolOutput};
use serde_json::Value;

impl SocketIo {
    pub(super) fn on_engine_packet(&mut self, packet: EnginePacket, out: &mut ProtocolOutput) {
        match packet {
            EnginePacket::Open(info) => {
                self.engine = Some(info);
                self.send_connects(out);
            }
            // The server's heartbeat: answer at once or it closes the connection.
            EnginePacket::Ping(payload) => {
                // An upgrade probe (`2probe`) is not the heartbeat: only a plain ping is.
                let heartbeat = payload.is_none();
                out.frames
                    .push_back(Frame::Text(encode_engine_packet(&EnginePacket::Pong(payload))));
                if heartbeat {
                    out.events.push_back(ProtocolEvent::ServerHeartbeat);
                }
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

    pub(super) fn on_socket_packet(&mut self, complete: BinaryPacket, out: &mut ProtocolOutput) {
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
}
