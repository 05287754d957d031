//! Phoenix Channels v2 frames (`vsn=2.0.0`), both serializations:
//!
//! - text: a JSON array `[join_ref, ref, topic, event, payload]`, the refs strings or `null`;
//! - binary, for payloads that are bytes: a kind byte, then the lengths of the string fields
//!   (one byte each), the fields, and the payload. Kind 0 is a push (client to server:
//!   join_ref, ref, topic, event), 1 a reply (server: join_ref, ref, topic, status), 2 a
//!   broadcast (server: topic, event). Supabase Realtime adds kind 4, a user broadcast (server:
//!   topic, user event, metadata, payload encoding), which realtime-js's own sends produce.
//!
//! Pure functions; a bad frame is a [`FrameError`], never a panic.

use serde_json::Value;
use std::fmt;

/// A binary frame's kind byte.
const PUSH: u8 = 0;
const REPLY: u8 = 1;
const BROADCAST: u8 = 2;
const USER_BROADCAST: u8 = 4;

/// A user broadcast's payload encoding byte.
const ENCODED_AS_JSON: u8 = 1;

/// The event of a reply; binary replies carry their status where the event would be.
pub const REPLY_EVENT: &str = "phx_reply";

/// A message's payload: JSON in text frames, bytes in binary ones.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// A JSON payload (text frame).
    Json(Value),
    /// A binary payload (binary frame).
    Binary(Vec<u8>),
    /// A JSON envelope whose one placeholder stands for these bytes (a Supabase user broadcast
    /// of binary data: `{type, event, payload: <placeholder>}`).
    JsonWithBinary(Value, Vec<u8>),
}

/// One Phoenix message, either direction.
#[derive(Debug, Clone, PartialEq)]
pub struct PhoenixMessage {
    /// The ref of the join this message belongs to (`None` for broadcasts and heartbeats).
    pub join_ref: Option<String>,
    /// The message's own ref, echoed in its reply (`None` for server pushes).
    pub msg_ref: Option<String>,
    /// The channel topic (`"room:lobby"`, `"phoenix"` for heartbeats).
    pub topic: String,
    /// The event (`"phx_join"`, `"phx_reply"`, an application event...).
    pub event: String,
    /// The payload. A binary reply's payload is `{"status": ..., "response": <bytes>}` in
    /// phoenix.js; here it stays [`Payload::Binary`] and the status is in [`Self::status`].
    pub payload: Payload,
    /// A binary reply's status (`"ok"`, `"error"`); text replies carry it in the payload.
    pub status: Option<String>,
}

/// Why a frame could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// The frame is longer than the limit.
    TooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Not JSON, or not a five-element array of the right types.
    BadText(String),
    /// A binary frame shorter than its header says, of an unknown kind, or not UTF-8.
    BadBinary(String),
    /// A field too long for the binary header (255 bytes at most).
    FieldTooLong(&'static str),
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLong { len, max } => write!(f, "frame of {len} bytes is over {max}"),
            Self::BadText(why) => write!(f, "bad text frame: {why}"),
            Self::BadBinary(why) => write!(f, "bad binary frame: {why}"),
            Self::FieldTooLong(field) => write!(f, "{field} is over 255 bytes"),
        }
    }
}

impl std::error::Error for FrameError {}

/// Reads a text frame, refusing more than `max_len` bytes before parsing.
pub fn decode_text(text: &str, max_len: usize) -> Result<PhoenixMessage, FrameError> {
    if text.len() > max_len {
        return Err(FrameError::TooLong { len: text.len(), max: max_len });
    }
    let value: Value =
        serde_json::from_str(text).map_err(|e| FrameError::BadText(e.to_string()))?;
    let Value::Array(mut fields) = value else {
        return Err(FrameError::BadText("not a JSON array".into()));
    };
    if fields.len() != 5 {
        return Err(FrameError::BadText(format!("{} elements, not 5", fields.len())));
    }
    let payload = fields.pop().unwrap_or(Value::Null);
    let event = string_field(fields.pop(), "event")?;
    let topic = string_field(fields.pop(), "topic")?;
    let msg_ref = optional_ref(fields.pop(), "ref")?;
    let join_ref = optional_ref(fields.pop(), "join_ref")?;
    Ok(PhoenixMessage {
        join_ref,
        msg_ref,
        topic,
        event,
        payload: Payload::Json(payload),
        status: None,
    })
}

/// Writes a JSON message as a text frame.
pub fn encode_text(
    join_ref: Option<&str>,
    msg_ref: Option<&str>,
    topic: &str,
    event: &str,
    payload: &Value,
) -> String {
    let fields = [
        join_ref.map_or(Value::Null, |r| Value::String(r.to_owned())),
        msg_ref.map_or(Value::Null, |r| Value::String(r.to_owned())),
        Value::String(topic.to_owned()),
        Value::String(event.to_owned()),
        payload.clone(),
    ];
    // Serializing a Value array cannot fail (no non-string keys, no custom Serialize).
    serde_json::to_string(&fields).unwrap_or_default()
}

/// Writes a push with a binary payload (kind 0: join_ref, ref, topic, event, then the bytes).
pub fn encode_binary_push(
    join_ref: Option<&str>,
    msg_ref: Option<&str>,
    topic: &str,
    event: &str,
    payload: &[u8],
) -> Result<Vec<u8>, FrameError> {
    let fields = [
        (join_ref.unwrap_or(""), "join_ref"),
        (msg_ref.unwrap_or(""), "ref"),
        (topic, "topic"),
        (event, "event"),
    ];
    let mut out =
        Vec::with_capacity(5 + fields.iter().map(|(f, _)| f.len()).sum::<usize>() + payload.len());
    out.push(PUSH);
    for (field, name) in fields {
        out.push(u8::try_from(field.len()).map_err(|_| FrameError::FieldTooLong(name))?);
    }
    for (field, _) in fields {
        out.extend_from_slice(field.as_bytes());
    }
    out.extend_from_slice(payload);
    Ok(out)
}

/// Reads a binary frame from the server (a reply or a broadcast; pushes are read too, for
/// symmetry and for tests), refusing more than `max_len` bytes.
pub fn decode_binary(bytes: &[u8], max_len: usize) -> Result<PhoenixMessage, FrameError> {
    if bytes.len() > max_len {
        return Err(FrameError::TooLong { len: bytes.len(), max: max_len });
    }
    let mut reader = Reader { bytes, at: 0 };
    match reader.byte()? {
        PUSH => {
            // A server push: join_ref, topic, event (no ref).
            let sizes = [reader.byte()?, reader.byte()?, reader.byte()?];
            let join_ref = reader.text(sizes[0])?;
            let topic = reader.text(sizes[1])?;
            let event = reader.text(sizes[2])?;
            Ok(PhoenixMessage {
                join_ref: non_empty(join_ref),
                msg_ref: None,
                topic,
                event,
                payload: Payload::Binary(reader.rest()),
                status: None,
            })
        }
        REPLY => {
            let sizes = [reader.byte()?, reader.byte()?, reader.byte()?, reader.byte()?];
            let join_ref = reader.text(sizes[0])?;
            let msg_ref = reader.text(sizes[1])?;
            let topic = reader.text(sizes[2])?;
            let status = reader.text(sizes[3])?;
            Ok(PhoenixMessage {
                join_ref: non_empty(join_ref),
                msg_ref: non_empty(msg_ref),
                topic,
                event: REPLY_EVENT.to_owned(),
                payload: Payload::Binary(reader.rest()),
                status: Some(status),
            })
        }
        BROADCAST => {
            let sizes = [reader.byte()?, reader.byte()?];
            let topic = reader.text(sizes[0])?;
            let event = reader.text(sizes[1])?;
            Ok(PhoenixMessage {
                join_ref: None,
                msg_ref: None,
                topic,
                event,
                payload: Payload::Binary(reader.rest()),
                status: None,
            })
        }
        USER_BROADCAST => {
            let sizes = [reader.byte()?, reader.byte()?, reader.byte()?];
            let encoding = reader.byte()?;
            let topic = reader.text(sizes[0])?;
            let user_event = reader.text(sizes[1])?;
            let metadata = reader.text(sizes[2])?;
            let bytes = reader.rest();
            let mut envelope = serde_json::json!({"type": "broadcast", "event": user_event});
            if !metadata.is_empty() {
                let meta: Value = serde_json::from_str(&metadata)
                    .map_err(|e| FrameError::BadBinary(format!("broadcast metadata: {e}")))?;
                envelope["meta"] = meta;
            }
            let payload = if encoding == ENCODED_AS_JSON {
                envelope["payload"] = serde_json::from_slice(&bytes)
                    .map_err(|e| FrameError::BadBinary(format!("broadcast payload: {e}")))?;
                Payload::Json(envelope)
            } else {
                envelope["payload"] = serde_json::json!({"_placeholder": true, "num": 0});
                Payload::JsonWithBinary(envelope, bytes)
            };
            Ok(PhoenixMessage {
                join_ref: None,
                msg_ref: None,
                topic,
                event: "broadcast".to_owned(),
                payload,
                status: None,
            })
        }
        kind => Err(FrameError::BadBinary(format!("unknown kind {kind}"))),
    }
}

/// Walks a binary frame; every read is bounds-checked.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, FrameError> {
        let byte = *self
            .bytes
            .get(self.at)
            .ok_or_else(|| FrameError::BadBinary("shorter than its header".into()))?;
        self.at += 1;
        Ok(byte)
    }

    fn text(&mut self, len: u8) -> Result<String, FrameError> {
        let end = self.at + usize::from(len);
        let field = self
            .bytes
            .get(self.at..end)
            .ok_or_else(|| FrameError::BadBinary("a field runs past the end".into()))?;
        self.at = end;
        String::from_utf8(field.to_vec())
            .map_err(|_| FrameError::BadBinary("a field is not UTF-8".into()))
    }

    fn rest(&self) -> Vec<u8> {
        self.bytes.get(self.at..).unwrap_or_default().to_vec()
    }
}

fn non_empty(field: String) -> Option<String> {
    (!field.is_empty()).then_some(field)
}

fn string_field(value: Option<Value>, name: &str) -> Result<String, FrameError> {
    match value {
        Some(Value::String(s)) => Ok(s),
        other => Err(FrameError::BadText(format!("{name} is not a string: {other:?}"))),
    }
}

fn optional_ref(value: Option<Value>, name: &str) -> Result<Option<String>, FrameError> {
    match value {
        Some(Value::Null) | None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        // Some servers and clients send numbers; they compare as their decimal text.
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(FrameError::BadText(format!("{name} is not a string: {other}"))),
    }
}

#[cfg(test)]
mod tests;
