//! Engine.IO protocol v4 packet codec for text frames.
//!
//! Over WebSocket every Engine.IO packet travels in its own frame as `<type digit>[<data>]`, so
//! this module handles exactly one packet per call. Binary WebSocket frames carry raw message
//! bytes (v4 dropped the leading type byte that v3 used), so they never pass through here; when
//! they are Socket.IO attachments, `super::BinaryAssembler` stitches them back
//! onto their packet.

use serde_json::{Map, Value};

/// Used when a handshake leaves out `maxPayload`: the limit engine.io servers ship with.
pub const DEFAULT_MAX_PAYLOAD: u64 = 1_000_000;

/// The handshake data a server sends in its `open` packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenInfo {
    /// Engine.IO session id; it goes into the `sid` query parameter of later requests.
    pub sid: String,
    /// Transports the session may upgrade to (for example `websocket`); empty when already on
    /// WebSocket.
    pub upgrades: Vec<String>,
    /// How often the server pings, in milliseconds.
    pub ping_interval_ms: u64,
    /// How long the server waits for a pong, in milliseconds. A client that hears nothing for
    /// `ping_interval_ms + ping_timeout_ms` should treat the connection as dead.
    pub ping_timeout_ms: u64,
    /// The most bytes the server accepts in one HTTP long-polling payload.
    pub max_payload: u64,
}

/// One Engine.IO packet as carried in a WebSocket text frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnginePacket {
    /// `0`: handshake from the server.
    Open(OpenInfo),
    /// `1`: the transport may be closed.
    Close,
    /// `2`: heartbeat or upgrade probe; the payload (such as `probe`) must be echoed in the pong.
    Ping(Option<String>),
    /// `3`: answer to a ping, echoing its payload.
    Pong(Option<String>),
    /// `4`: application data, in practice an encoded Socket.IO packet.
    Message(String),
    /// `5`: completes a transport upgrade.
    Upgrade,
    /// `6`: flushes a pending long-polling request during an upgrade.
    Noop,
}

/// Why a text frame is not a valid Engine.IO v4 packet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineDecodeError {
    /// The frame was empty, so there is no packet type.
    #[error("empty Engine.IO packet: a text frame must start with a packet type digit 0-6")]
    Empty,
    /// The first character is not one of the seven packet types.
    #[error(
        "unknown Engine.IO packet type {0:?}: expected a digit 0-6 \
         (check that the server speaks Engine.IO v4, EIO=4)"
    )]
    UnknownType(char),
    /// The `open` packet's handshake JSON is unusable; the text says which part.
    #[error("invalid Engine.IO open packet: {0}")]
    BadOpen(String),
    /// A packet type that never carries data arrived with some.
    #[error("Engine.IO {packet} packet must not carry data, but {len} byte(s) followed the type")]
    UnexpectedPayload {
        /// Name of the packet type (`close`, `upgrade` or `noop`).
        packet: &'static str,
        /// Number of unexpected bytes.
        len: usize,
    },
}

/// Decodes one Engine.IO packet from a WebSocket text frame.
pub fn decode_engine_packet(text: &str) -> Result<EnginePacket, EngineDecodeError> {
    let mut chars = text.chars();
    let kind = chars.next().ok_or(EngineDecodeError::Empty)?;
    let payload = chars.as_str();
    match kind {
        '0' => parse_open(payload).map(EnginePacket::Open),
        '1' => without_payload("close", payload, EnginePacket::Close),
        '2' => Ok(EnginePacket::Ping(optional(payload))),
        '3' => Ok(EnginePacket::Pong(optional(payload))),
        '4' => Ok(EnginePacket::Message(payload.to_owned())),
        '5' => without_payload("upgrade", payload, EnginePacket::Upgrade),
        '6' => without_payload("noop", payload, EnginePacket::Noop),
        other => Err(EngineDecodeError::UnknownType(other)),
    }
}

/// Encodes one Engine.IO packet for a WebSocket text frame.
///
/// `Ping(Some(""))` and `Pong(Some(""))` encode like `None`, because the wire format cannot
/// tell an empty payload from a missing one.
pub fn encode_engine_packet(p: &EnginePacket) -> String {
    match p {
        EnginePacket::Open(info) => format!("0{}", open_json(info)),
        EnginePacket::Close => "1".to_owned(),
        EnginePacket::Ping(payload) => with_optional('2', payload.as_deref()),
        EnginePacket::Pong(payload) => with_optional('3', payload.as_deref()),
        EnginePacket::Message(data) => format!("4{data}"),
        EnginePacket::Upgrade => "5".to_owned(),
        EnginePacket::Noop => "6".to_owned(),
    }
}

fn optional(payload: &str) -> Option<String> {
    (!payload.is_empty()).then(|| payload.to_owned())
}

fn with_optional(kind: char, payload: Option<&str>) -> String {
    let mut out = String::with_capacity(1 + payload.map_or(0, str::len));
    out.push(kind);
    out.push_str(payload.unwrap_or_default());
    out
}

fn without_payload(
    packet: &'static str,
    payload: &str,
    decoded: EnginePacket,
) -> Result<EnginePacket, EngineDecodeError> {
    if payload.is_empty() {
        Ok(decoded)
    } else {
        Err(EngineDecodeError::UnexpectedPayload { packet, len: payload.len() })
    }
}

fn bad_open(reason: impl Into<String>) -> EngineDecodeError {
    EngineDecodeError::BadOpen(reason.into())
}

fn parse_open(payload: &str) -> Result<OpenInfo, EngineDecodeError> {
    let value: Value = serde_json::from_str(payload)
        .map_err(|e| bad_open(format!("handshake is not valid JSON ({e})")))?;
    let Value::Object(fields) = value else {
        return Err(bad_open("handshake must be a JSON object"));
    };
    let sid = match fields.get("sid") {
        Some(Value::String(sid)) if !sid.is_empty() => sid.clone(),
        Some(_) => return Err(bad_open("`sid` must be a non-empty string")),
        None => return Err(bad_open("missing `sid`")),
    };
    // Servers reached directly over WebSocket may leave `upgrades` out: nothing to upgrade to.
    let upgrades = match fields.get("upgrades") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| bad_open("`upgrades` must contain only strings"))?,
        Some(_) => return Err(bad_open("`upgrades` must be an array of strings")),
    };
    Ok(OpenInfo {
        sid,
        upgrades,
        ping_interval_ms: required_u64(&fields, "pingInterval")?,
        ping_timeout_ms: required_u64(&fields, "pingTimeout")?,
        max_payload: match fields.get("maxPayload") {
            None => DEFAULT_MAX_PAYLOAD,
            Some(_) => required_u64(&fields, "maxPayload")?,
        },
    })
}

fn required_u64(fields: &Map<String, Value>, key: &str) -> Result<u64, EngineDecodeError> {
    match fields.get(key) {
        Some(value) => value.as_u64().ok_or_else(|| {
            bad_open(format!("`{key}` must be a non-negative integer, got {value}"))
        }),
        None => Err(bad_open(format!("missing `{key}`"))),
    }
}

fn open_json(info: &OpenInfo) -> Value {
    let mut fields = Map::new();
    fields.insert("sid".to_owned(), Value::from(info.sid.as_str()));
    fields.insert("upgrades".to_owned(), Value::from(info.upgrades.clone()));
    fields.insert("pingInterval".to_owned(), Value::from(info.ping_interval_ms));
    fields.insert("pingTimeout".to_owned(), Value::from(info.ping_timeout_ms));
    fields.insert("maxPayload".to_owned(), Value::from(info.max_payload));
    Value::Object(fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode(text: &str) -> EnginePacket {
        match decode_engine_packet(text) {
            Ok(packet) => packet,
            Err(e) => panic!("{text:?} should decode: {e}"),
        }
    }

    fn open_info(ping_timeout_ms: u64) -> OpenInfo {
        OpenInfo {
            sid: "lv_VI97HAXpY6yYWAAAC".to_owned(),
            upgrades: vec!["websocket".to_owned()],
            ping_interval_ms: 25_000,
            ping_timeout_ms,
            max_payload: 1_000_000,
        }
    }

    #[test]
    fn decodes_the_handshake_example_from_the_spec() {
        let text = r#"0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;
        assert_eq!(decode(text), EnginePacket::Open(open_info(20_000)));
    }

    #[test]
    fn decodes_the_open_packet_from_the_socketio_sample_session() {
        let text = r#"0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":5000,"maxPayload":1000000}"#;
        assert_eq!(decode(text), EnginePacket::Open(open_info(5_000)));
    }

    #[test]
    fn open_round_trips_through_encode() {
        let packet = EnginePacket::Open(open_info(20_000));
        assert_eq!(decode(&encode_engine_packet(&packet)), packet);
    }

    #[test]
    fn open_tolerates_extra_fields_and_defaults_max_payload() {
        let text =
            r#"0{"sid":"abc","upgrades":[],"pingInterval":300,"pingTimeout":200,"extra":{"x":1}}"#;
        let EnginePacket::Open(info) = decode(text) else { panic!("not an open packet") };
        assert_eq!(info.max_payload, DEFAULT_MAX_PAYLOAD);
        assert!(info.upgrades.is_empty());
        assert_eq!((info.ping_interval_ms, info.ping_timeout_ms), (300, 200));
    }

    #[test]
    fn open_without_upgrades_means_no_upgrades() {
        let EnginePacket::Open(info) = decode(r#"0{"sid":"a","pingInterval":1,"pingTimeout":2}"#)
        else {
            panic!("not an open packet")
        };
        assert!(info.upgrades.is_empty());
    }

    #[test]
    fn open_rejects_missing_or_mistyped_fields() {
        let cases = [
            (r#"0{"pingInterval":1,"pingTimeout":2}"#, "missing `sid`"),
            (r#"0{"sid":"","pingInterval":1,"pingTimeout":2}"#, "`sid` must be"),
            (r#"0{"sid":7,"pingInterval":1,"pingTimeout":2}"#, "`sid` must be"),
            (r#"0{"sid":"a","pingTimeout":2}"#, "missing `pingInterval`"),
            (r#"0{"sid":"a","pingInterval":1}"#, "missing `pingTimeout`"),
            (r#"0{"sid":"a","pingInterval":-1,"pingTimeout":2}"#, "`pingInterval` must be"),
            (r#"0{"sid":"a","pingInterval":1.5,"pingTimeout":2}"#, "`pingInterval` must be"),
            (r#"0{"sid":"a","pingInterval":1,"pingTimeout":"2"}"#, "`pingTimeout` must be"),
            (r#"0{"sid":"a","pingInterval":1,"pingTimeout":2,"maxPayload":null}"#, "`maxPayload`"),
            (r#"0{"sid":"a","upgrades":"websocket","pingInterval":1,"pingTimeout":2}"#, "array"),
            (r#"0{"sid":"a","upgrades":[1],"pingInterval":1,"pingTimeout":2}"#, "only strings"),
            (r#"0["sid"]"#, "JSON object"),
            (r#"0{"sid":"a""#, "not valid JSON"),
            ("0", "not valid JSON"),
        ];
        for (text, expected) in cases {
            match decode_engine_packet(text) {
                Err(EngineDecodeError::BadOpen(reason)) => {
                    assert!(reason.contains(expected), "{text:?}: {reason:?} lacks {expected:?}")
                }
                other => panic!("{text:?} should be a bad open packet, got {other:?}"),
            }
        }
    }

    #[test]
    fn decodes_and_encodes_every_simple_packet_from_the_spec() {
        let cases = [
            ("1", EnginePacket::Close),
            ("2", EnginePacket::Ping(None)),
            ("3", EnginePacket::Pong(None)),
            ("2probe", EnginePacket::Ping(Some("probe".to_owned()))),
            ("3probe", EnginePacket::Pong(Some("probe".to_owned()))),
            ("4hello", EnginePacket::Message("hello".to_owned())),
            ("4HelloWorld", EnginePacket::Message("HelloWorld".to_owned())),
            ("4", EnginePacket::Message(String::new())),
            ("5", EnginePacket::Upgrade),
            ("6", EnginePacket::Noop),
        ];
        for (text, packet) in cases {
            assert_eq!(decode(text), packet, "decoding {text:?}");
            assert_eq!(encode_engine_packet(&packet), text, "encoding {packet:?}");
        }
    }

    #[test]
    fn message_carries_a_socketio_packet_untouched() {
        assert_eq!(
            decode("42[\"hey\",\"Jude\"]"),
            EnginePacket::Message("2[\"hey\",\"Jude\"]".to_owned())
        );
    }

    #[test]
    fn message_keeps_multibyte_unicode_intact() {
        assert_eq!(decode("4€ 🎉 日本"), EnginePacket::Message("€ 🎉 日本".to_owned()));
    }

    #[test]
    fn rejects_an_empty_frame() {
        assert_eq!(decode_engine_packet(""), Err(EngineDecodeError::Empty));
    }

    #[test]
    fn rejects_unknown_packet_types() {
        for (text, c) in [("7", '7'), ("9x", '9'), ("bAQIDBA==", 'b'), ("é", 'é'), (" 4", ' ')] {
            assert_eq!(decode_engine_packet(text), Err(EngineDecodeError::UnknownType(c)));
        }
    }

    #[test]
    fn rejects_data_on_packets_that_carry_none() {
        for (text, packet) in [("1x", "close"), ("5probe", "upgrade"), ("6 ", "noop")] {
            match decode_engine_packet(text) {
                Err(EngineDecodeError::UnexpectedPayload { packet: p, .. }) => {
                    assert_eq!(p, packet)
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn error_messages_name_the_problem() {
        let message = EngineDecodeError::UnknownType('8').to_string();
        assert!(message.contains("'8'") && message.contains("0-6"), "{message}");
        let message = decode_engine_packet("0{}").err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("open packet") && message.contains("sid"), "{message}");
    }

    fn any_packet() -> impl Strategy<Value = EnginePacket> {
        let text = "\\PC{1,12}";
        let info = (
            "[A-Za-z0-9_-]{1,20}",
            prop::collection::vec("[a-z]{1,9}", 0..3),
            any::<u64>(),
            any::<u64>(),
            any::<u64>(),
        )
            .prop_map(|(sid, upgrades, ping_interval_ms, ping_timeout_ms, max_payload)| OpenInfo {
                sid,
                upgrades,
                ping_interval_ms,
                ping_timeout_ms,
                max_payload,
            });
        prop_oneof![
            info.prop_map(EnginePacket::Open),
            Just(EnginePacket::Close),
            prop::option::of(text).prop_map(EnginePacket::Ping),
            prop::option::of(text).prop_map(EnginePacket::Pong),
            ".*".prop_map(EnginePacket::Message),
            Just(EnginePacket::Upgrade),
            Just(EnginePacket::Noop),
        ]
    }

    proptest! {
        #[test]
        fn decoding_arbitrary_text_never_panics(text in ".*") {
            let _ = decode_engine_packet(&text);
        }

        #[test]
        fn decoding_open_like_text_never_panics(text in "0[{}\\[\\]\":,a-zA-Z0-9 -]{0,60}") {
            let _ = decode_engine_packet(&text);
        }

        #[test]
        fn every_packet_round_trips(packet in any_packet()) {
            prop_assert_eq!(decode_engine_packet(&encode_engine_packet(&packet)), Ok(packet));
        }
    }
}
