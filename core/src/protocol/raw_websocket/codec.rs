//! The raw WebSocket protocol: application messages are text or binary frames, nothing more.
//! Rooms only if the server understands `{"type":"join","room":..}` frames; no acknowledgements.

use super::config::RawWebSocketConfig;
use crate::model::{
    AckId, Frame, IncomingMessage, OutgoingMessage, SendError, Token, DEFAULT_NAMESPACE,
};
use crate::protocol::contract::{Protocol, ProtocolEvent, ProtocolOutput, TransportRequest};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use url::Url;

const NAME: &str = "raw WebSocket";

/// Plain frames. The token, if any, goes in an `Authorization: Bearer` upgrade header.
#[derive(Debug, Clone, Default)]
pub struct RawWebSocket {
    config: RawWebSocketConfig,
}

impl RawWebSocket {
    /// A raw protocol with these options.
    pub fn new(config: RawWebSocketConfig) -> Self {
        Self { config }
    }

    fn room_frame(&self, kind: &str, room: &str) -> Result<Frame, SendError> {
        if !self.config.room_messages {
            return Err(SendError::Unsupported {
                protocol: NAME,
                what: "rooms (enable room_messages)",
            });
        }
        Ok(Frame::Text(json!({ "type": kind, "room": room }).to_string()))
    }
}

impl Protocol for RawWebSocket {
    fn name(&self) -> &'static str {
        NAME
    }

    fn transport_request(&self, base: &Url, token: Option<&Token>) -> TransportRequest {
        let headers = token
            .map(|t| vec![("Authorization".to_owned(), format!("Bearer {}", t.expose()))])
            .unwrap_or_default();
        TransportRequest { url: base.clone(), headers }
    }

    fn on_open(&mut self, _token: Option<&Token>, _now: Instant, out: &mut ProtocolOutput) {
        out.events.push_back(ProtocolEvent::Ready { recovered: false });
    }

    fn on_frame(&mut self, frame: Frame, _now: Instant, out: &mut ProtocolOutput) {
        let (data, binary) = match frame {
            Frame::Text(text) => (vec![Value::String(text)], Vec::new()),
            Frame::Binary(bytes) => (vec![OutgoingMessage::attachment_placeholder(0)], vec![bytes]),
            Frame::Close => {
                out.events
                    .push_back(ProtocolEvent::ConnectionLost("server sent a close frame".into()));
                return;
            }
            Frame::Ping(_) | Frame::Pong(_) => return,
        };
        out.events.push_back(ProtocolEvent::Message(IncomingMessage {
            namespace: DEFAULT_NAMESPACE.to_owned(),
            event: "message".to_owned(),
            data,
            binary,
            ack_id: None,
            offset: None,
        }));
    }

    fn on_close(&mut self) {}

    fn supports_acks(&self) -> bool {
        false
    }

    fn supports_rooms(&self) -> bool {
        self.config.room_messages
    }

    fn check(&self, message: &OutgoingMessage) -> Result<(), SendError> {
        if message.binary.len() > 1 {
            return Err(SendError::Invalid(
                "a raw WebSocket frame carries at most one binary payload".into(),
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
        if ack.is_some() {
            return Err(SendError::Unsupported { protocol: NAME, what: "acknowledgements" });
        }
        self.check(message)?;
        let frame = match (message.binary.first(), message.data.as_slice()) {
            (Some(bytes), _) => Frame::Binary(bytes.clone()),
            (None, [Value::String(text)]) => Frame::Text(text.clone()),
            (None, [single]) => Frame::Text(single.to_string()),
            (None, many) => Frame::Text(Value::Array(many.to_vec()).to_string()),
        };
        out.frames.push_back(frame);
        Ok(())
    }

    fn encode_join(
        &mut self,
        room: &str,
        _ack: Option<AckId>,
        out: &mut ProtocolOutput,
    ) -> Result<(), SendError> {
        out.frames.push_back(self.room_frame("join", room)?);
        Ok(())
    }

    fn encode_leave(
        &mut self,
        room: &str,
        _ack: Option<AckId>,
        out: &mut ProtocolOutput,
    ) -> Result<(), SendError> {
        out.frames.push_back(self.room_frame("leave", room)?);
        Ok(())
    }

    fn encode_goodbye(&mut self, _out: &mut ProtocolOutput) {}

    fn liveness_timeout(&self) -> Option<Duration> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(message: OutgoingMessage) -> Frame {
        let mut out = ProtocolOutput::default();
        let result = RawWebSocket::default().encode_message(&message, None, &mut out);
        assert_eq!(result, Ok(()));
        out.frames.pop_front().unwrap_or(Frame::Close)
    }

    #[test]
    fn strings_go_as_text_json_as_json_bytes_as_binary() {
        assert_eq!(encode(OutgoingMessage::text("hi")), Frame::Text("hi".into()));
        assert_eq!(
            encode(OutgoingMessage::new("m", json!({"a": 1}))),
            Frame::Text(r#"{"a":1}"#.into())
        );
        assert_eq!(encode(OutgoingMessage::bytes("m", vec![1, 2])), Frame::Binary(vec![1, 2]));
    }

    #[test]
    fn the_token_goes_in_a_bearer_header() {
        let url = Url::parse("ws://h/x").unwrap_or_else(|e| panic!("{e}"));
        let req = RawWebSocket::default().transport_request(&url, Some(&Token::new("abc")));
        assert_eq!(req.headers, vec![("Authorization".to_owned(), "Bearer abc".to_owned())]);
        assert!(!format!("{req:?}").contains("abc"), "Debug hides header values");
    }

    #[test]
    fn rooms_and_acks_are_refused_unless_supported() {
        let mut out = ProtocolOutput::default();
        let mut p = RawWebSocket::default();
        assert!(matches!(p.encode_join("r", None, &mut out), Err(SendError::Unsupported { .. })));
        assert!(matches!(
            p.encode_message(&OutgoingMessage::text("x"), Some(AckId(1)), &mut out),
            Err(SendError::Unsupported { .. })
        ));
        // Answering a server's ack request: the trait's default, named for this protocol.
        let reply = crate::model::AckReply { data: vec![json!("ok")], binary: Vec::new() };
        assert!(matches!(
            p.encode_ack_reply("/", 7, &reply, &mut out),
            Err(SendError::Unsupported { protocol: NAME, .. })
        ));
        assert!(out.frames.is_empty(), "nothing written for a refused answer");
        let mut p = RawWebSocket::new(RawWebSocketConfig { room_messages: true });
        assert_eq!(p.encode_join("r", None, &mut out), Ok(()));
        assert_eq!(
            out.frames.pop_front(),
            Some(Frame::Text(r#"{"room":"r","type":"join"}"#.into()))
        );
    }

    #[test]
    fn frames_become_messages() {
        let mut out = ProtocolOutput::default();
        let mut p = RawWebSocket::default();
        p.on_frame(Frame::Binary(vec![9]), Instant::now(), &mut out);
        match out.events.pop_front() {
            Some(ProtocolEvent::Message(m)) => assert_eq!(m.binary, vec![vec![9]]),
            other => panic!("{other:?}"),
        }
    }
}
