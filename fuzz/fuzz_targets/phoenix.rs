//! The Phoenix Channels protocol on arbitrary server frames and client actions: the frame codec
//! (text and binary, Supabase's user broadcasts included) and the protocol behind it (join refs,
//! stale messages, replies, presence state and diffs) never panic, and a text frame that
//! decodes encodes back to the same JSON.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use std::time::Instant;
use tether_core::protocol::phoenix::frame::{decode_binary, decode_text, encode_text, Payload};
use tether_core::protocol::{Phoenix, PhoenixConfig, Protocol, ProtocolOutput};
use tether_core::{AckId, Frame, OutgoingMessage, Token};

#[derive(Debug, Arbitrary)]
enum Step {
    /// A text frame from the server.
    Text(String),
    /// A binary frame from the server.
    Binary(Vec<u8>),
    /// A server frame built to look right, so that the protocol's paths (replies to our refs,
    /// presence, errors) are reached often: `[join_ref, ref, topic, event, payload]`.
    Shaped {
        join_ref: Option<u8>,
        msg_ref: Option<u8>,
        topic: u8,
        event: u8,
        payload: String,
    },
    Join {
        topic: u8,
        ack: bool,
    },
    Push {
        topic: u8,
        ack: bool,
    },
    Leave {
        topic: u8,
    },
    Heartbeat(u64),
    Refresh,
    Close,
}

const TOPICS: [&str; 3] = ["room:a", "room:b", "realtime:c"];
const EVENTS: [&str; 8] = [
    "phx_reply",
    "phx_error",
    "phx_close",
    "presence_state",
    "presence_diff",
    "postgres_changes",
    "broadcast",
    "news",
];

fuzz_target!(|steps: Vec<Step>| {
    let now = Instant::now();
    let config = PhoenixConfig { access_token_in_joins: true, ..PhoenixConfig::default() };
    let mut protocol = Phoenix::new(config, 1 << 16);
    let mut out = ProtocolOutput::default();
    protocol.on_open(Some(&Token::new("t")), now, &mut out);
    let mut next_ack = 0u64;
    let mut ack = |wanted: bool| {
        next_ack += 1;
        wanted.then_some(AckId(next_ack))
    };
    for step in steps {
        let mut out = ProtocolOutput::default();
        match step {
            Step::Text(text) => {
                if let Ok(message) = decode_text(&text, 1 << 16) {
                    let Payload::Json(payload) = &message.payload else {
                        panic!("a text frame decoded to a binary payload")
                    };
                    let again = encode_text(
                        message.join_ref.as_deref(),
                        message.msg_ref.as_deref(),
                        &message.topic,
                        &message.event,
                        payload,
                    );
                    let (a, b): (Value, Value) = (
                        serde_json::from_str(&again).unwrap_or(Value::Null),
                        serde_json::from_str(&text).unwrap_or(Value::Null),
                    );
                    // Numeric refs come back as strings; everything else is the same JSON.
                    assert!((2..5).all(|i| a[i] == b[i]), "{text:?} -> {again:?}");
                }
                protocol.on_frame(Frame::Text(text), now, &mut out);
            }
            Step::Binary(bytes) => {
                let _ = decode_binary(&bytes, 1 << 16);
                protocol.on_frame(Frame::Binary(bytes), now, &mut out);
            }
            Step::Shaped { join_ref, msg_ref, topic, event, payload } => {
                let payload: Value =
                    serde_json::from_str(&payload).unwrap_or(Value::String(payload));
                let frame = serde_json::json!([
                    join_ref.map(|r| r.to_string()),
                    msg_ref.map(|r| r.to_string()),
                    TOPICS[usize::from(topic) % TOPICS.len()],
                    EVENTS[usize::from(event) % EVENTS.len()],
                    payload,
                ]);
                protocol.on_frame(Frame::Text(frame.to_string()), now, &mut out);
            }
            Step::Join { topic, ack: wanted } => {
                let topic = TOPICS[usize::from(topic) % TOPICS.len()];
                let _ = protocol.encode_join(topic, ack(wanted), &mut out);
            }
            Step::Push { topic, ack: wanted } => {
                let topic = TOPICS[usize::from(topic) % TOPICS.len()];
                let message = OutgoingMessage::new("e", serde_json::json!({})).in_namespace(topic);
                if protocol.check(&message).is_ok() {
                    let _ = protocol.encode_message(&message, ack(wanted), &mut out);
                }
            }
            Step::Leave { topic } => {
                let _ = protocol.encode_leave(
                    TOPICS[usize::from(topic) % TOPICS.len()],
                    None,
                    &mut out,
                );
            }
            Step::Heartbeat(sequence) => {
                assert!(protocol.encode_heartbeat(sequence, &mut out));
            }
            Step::Refresh => protocol.on_token_refresh(&Token::new("u"), &mut out),
            Step::Close => protocol.on_close(),
        }
    }
});
