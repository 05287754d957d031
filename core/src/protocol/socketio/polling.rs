//! Engine.IO v4 over HTTP long-polling, as pure functions: the payload codec (packets joined by
//! the record separator `\x1e`, binary packets as `b` + base64), the polling and WebSocket URLs
//! of an Engine.IO session, and the packets of the upgrade probe (`2probe`, `3probe`, `5`).
//!
//! The transport (`transport/polling/`) does the HTTP; everything it must know about Engine.IO
//! is here, so the codec is tested and fuzzed like the others and never panics on any input.

use super::engineio::{decode_engine_packet, encode_engine_packet, EnginePacket, OpenInfo};
use crate::model::Frame;
use base64::Engine as _;
use url::Url;

/// Separates packets in a polling payload (ASCII record separator).
pub const SEPARATOR: char = '\x1e';

/// Why a polling payload cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// A `b` packet whose data is not base64.
    #[error("a binary packet of the polling payload is not valid base64")]
    BadBase64,
}

/// One frame as a packet of a polling payload (`None` for WebSocket-only frames: pings,
/// pongs, close frames, which have no meaning over HTTP).
pub fn encode_packet(frame: &Frame) -> Option<String> {
    match frame {
        Frame::Text(text) => Some(text.clone()),
        Frame::Binary(bytes) => {
            let mut out = String::with_capacity(1 + bytes.len().div_ceil(3) * 4);
            out.push('b');
            base64::engine::general_purpose::STANDARD.encode_string(bytes, &mut out);
            Some(out)
        }
        Frame::Ping(_) | Frame::Pong(_) | Frame::Close => None,
    }
}

/// Joins encoded packets into one payload.
pub fn join_packets(packets: &[String]) -> String {
    let len = packets.iter().map(|p| p.len() + 1).sum::<usize>().saturating_sub(1);
    let mut body = String::with_capacity(len);
    for (i, packet) in packets.iter().enumerate() {
        if i > 0 {
            body.push(SEPARATOR);
        }
        body.push_str(packet);
    }
    body
}

/// Splits a payload into frames: text packets as they are (each one Engine.IO packet), `b`
/// packets decoded to binary frames. An empty payload holds no packet.
pub fn decode_payload(body: &str) -> Result<Vec<Frame>, PayloadError> {
    if body.is_empty() {
        return Ok(Vec::new());
    }
    body.split(SEPARATOR)
        .map(|packet| match packet.strip_prefix('b') {
            Some(data) => base64::engine::general_purpose::STANDARD
                .decode(data)
                .map(Frame::Binary)
                .map_err(|_| PayloadError::BadBase64),
            None => Ok(Frame::Text(packet.to_owned())),
        })
        .collect()
}

/// The handshake in a frame, if it is Engine.IO's open packet.
pub fn open_info(frame: &Frame) -> Option<OpenInfo> {
    match frame {
        Frame::Text(text) => match decode_engine_packet(text) {
            Ok(EnginePacket::Open(info)) => Some(info),
            _ => None,
        },
        _ => None,
    }
}

/// Whether a frame is Engine.IO's close packet (the server ended the session).
pub fn is_close(frame: &Frame) -> bool {
    matches!(frame, Frame::Text(text) if text == "1")
}

/// Whether a frame is the `noop` the server sends to end a pending GET during an upgrade.
pub fn is_noop(frame: &Frame) -> bool {
    matches!(frame, Frame::Text(text) if text == "6")
}

/// The polling URL of an Engine.IO endpoint, from the WebSocket URL the protocol asks for
/// (`ws(s)://host/path?...&transport=websocket`): `http(s)`, `transport=polling`, the session
/// id once there is one, and `t`, a per-request value that keeps caches out of the way.
pub fn polling_url(websocket_url: &Url, sid: Option<&str>, request: u64) -> Url {
    let mut url = with_query(websocket_url, "polling", sid);
    let scheme = if websocket_url.scheme() == "wss" { "https" } else { "http" };
    // `ws` -> `http` keeps a special scheme special, which `set_scheme` allows.
    let _ = url.set_scheme(scheme);
    url.query_pairs_mut().append_pair("t", &request.to_string());
    url
}

/// The WebSocket URL that upgrades an existing Engine.IO session (`sid`).
pub fn upgrade_url(websocket_url: &Url, sid: &str) -> Url {
    with_query(websocket_url, "websocket", Some(sid))
}

fn with_query(url: &Url, transport: &str, sid: Option<&str>) -> Url {
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != "transport" && k != "sid" && k != "t")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut out = url.clone();
    {
        let mut query = out.query_pairs_mut();
        query.clear();
        for (k, v) in &kept {
            query.append_pair(k, v);
        }
        query.append_pair("transport", transport);
        if let Some(sid) = sid {
            query.append_pair("sid", sid);
        }
    }
    out
}

/// The probe the client sends on the new WebSocket before upgrading (`2probe`).
pub fn probe() -> Frame {
    Frame::Text(encode_engine_packet(&EnginePacket::Ping(Some("probe".to_owned()))))
}

/// Whether a frame is the server's answer to the probe (`3probe`).
pub fn is_probe_answer(frame: &Frame) -> bool {
    matches!(frame, Frame::Text(text) if text == "3probe")
}

/// The packet that completes the upgrade (`5`), sent on the WebSocket once polling is paused.
pub fn upgrade() -> Frame {
    Frame::Text(encode_engine_packet(&EnginePacket::Upgrade))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn text(s: &str) -> Frame {
        Frame::Text(s.to_owned())
    }

    #[test]
    fn decodes_the_payload_example_of_the_spec() {
        // engine.io-protocol v4: "4hello\x1e4€\x1ebAQIDBA==" is three packets.
        let frames = decode_payload("4hello\x1e4€\x1ebAQIDBA==").unwrap_or_default();
        assert_eq!(frames, vec![text("4hello"), text("4€"), Frame::Binary(vec![1, 2, 3, 4])]);
    }

    #[test]
    fn encodes_and_joins_what_it_decodes() {
        let frames = vec![text("42[\"a\"]"), Frame::Binary(vec![0, 255, 7]), text("3")];
        let packets: Vec<String> = frames.iter().filter_map(encode_packet).collect();
        let body = join_packets(&packets);
        assert_eq!(body, "42[\"a\"]\x1ebAP8H\x1e3");
        assert_eq!(decode_payload(&body), Ok(frames));
        assert_eq!(join_packets(&[]), "");
        assert_eq!(decode_payload(""), Ok(Vec::new()));
    }

    #[test]
    fn websocket_only_frames_are_not_packets() {
        for frame in [Frame::Ping(vec![1]), Frame::Pong(vec![]), Frame::Close] {
            assert_eq!(encode_packet(&frame), None);
        }
    }

    #[test]
    fn bad_base64_is_an_error_not_a_panic() {
        assert_eq!(decode_payload("4ok\x1eb!!"), Err(PayloadError::BadBase64));
    }

    #[test]
    fn urls_follow_the_session() {
        let base = Url::parse("wss://h.example/socket.io/?EIO=4&k=v&transport=websocket")
            .unwrap_or_else(|e| panic!("{e}"));
        let first = polling_url(&base, None, 1);
        assert_eq!(first.as_str(), "https://h.example/socket.io/?EIO=4&k=v&transport=polling&t=1");
        let later = polling_url(&base, Some("abc"), 2);
        assert_eq!(
            later.as_str(),
            "https://h.example/socket.io/?EIO=4&k=v&transport=polling&sid=abc&t=2"
        );
        let plain = Url::parse("ws://h:3000/socket.io/?EIO=4&transport=websocket")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(polling_url(&plain, None, 0).scheme(), "http");
        assert_eq!(
            upgrade_url(&plain, "abc").as_str(),
            "ws://h:3000/socket.io/?EIO=4&transport=websocket&sid=abc"
        );
    }

    #[test]
    fn recognises_the_packets_of_the_handshake_and_the_upgrade() {
        let open = text(
            r#"0{"sid":"s","upgrades":["websocket"],"pingInterval":1,"pingTimeout":2,"maxPayload":5}"#,
        );
        let info = open_info(&open).unwrap_or_else(|| panic!("an open packet"));
        assert_eq!((info.sid.as_str(), info.max_payload), ("s", 5));
        assert_eq!(open_info(&text("40")), None);
        assert_eq!(probe(), text("2probe"));
        assert!(is_probe_answer(&text("3probe")) && !is_probe_answer(&text("3")));
        assert_eq!(upgrade(), text("5"));
        assert!(is_noop(&text("6")) && is_close(&text("1")) && !is_close(&text("10")));
    }

    proptest! {
        #[test]
        fn decoding_any_payload_never_panics(body in ".*") {
            let _ = decode_payload(&body);
        }

        #[test]
        fn payloads_round_trip(frames in prop::collection::vec(prop_oneof![
            "[0-6][^\x1e]{0,20}".prop_map(Frame::Text),
            prop::collection::vec(any::<u8>(), 0..40).prop_map(Frame::Binary),
        ], 1..8)) {
            let packets: Vec<String> = frames.iter().filter_map(encode_packet).collect();
            prop_assert_eq!(decode_payload(&join_packets(&packets)), Ok(frames));
        }
    }
}
