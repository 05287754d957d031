//! What travels: frames on the wire (WebSocket frames, or long-polling packets), and the messages
//! the app sends and receives.

use serde_json::Value;
use std::fmt;

/// One frame, as the session hands it to the driver or gets it back: a WebSocket frame, or
/// one packet of a long-polling payload (text, or binary carried as base64 on that wire; pings,
/// pongs and close frames exist on WebSockets only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A UTF-8 text frame.
    Text(String),
    /// A binary frame.
    Binary(Vec<u8>),
    /// A WebSocket ping (the engine's heartbeat).
    Ping(Vec<u8>),
    /// A WebSocket pong.
    Pong(Vec<u8>),
    /// A close frame.
    Close,
}

impl Frame {
    /// Payload length in bytes (what the byte counters and limits count).
    pub fn len(&self) -> usize {
        match self {
            Self::Text(t) => t.len(),
            Self::Binary(b) | Self::Ping(b) | Self::Pong(b) => b.len(),
            Self::Close => 0,
        }
    }

    /// True for an empty payload.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Identifies one acknowledgement request. Monotonic per client, never reused, so a late answer
/// can never be mistaken for another message's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AckId(pub u64);

impl fmt::Display for AckId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ack#{}", self.0)
    }
}

/// The namespace a message goes to when the app names none (Socket.IO's main namespace).
pub const DEFAULT_NAMESPACE: &str = "/";

/// A message the app sends. For Socket.IO: an event name and its arguments; for the raw
/// WebSocket protocol: the first argument (a string as a text frame, anything else as JSON) or
/// the first binary attachment.
///
/// Binary attachments are carried beside the JSON arguments; where an argument should be binary,
/// put [`OutgoingMessage::attachment_placeholder`] there (Socket.IO's own representation).
#[derive(Debug, Clone, PartialEq)]
pub struct OutgoingMessage {
    /// Socket.IO namespace, `"/"` by default; for Phoenix, the channel's topic (the message
    /// waits until that channel is joined). Ignored by the raw WebSocket protocol.
    pub namespace: String,
    /// The event name.
    pub event: String,
    /// The event arguments.
    pub data: Vec<Value>,
    /// Binary attachments, referenced from `data` by placeholders.
    pub binary: Vec<Vec<u8>>,
}

impl OutgoingMessage {
    /// A message with one JSON argument (the common case: `emit("cursor-move", {x, y})`).
    ///
    /// ```
    /// let m = tether_core::OutgoingMessage::new("cursor-move", serde_json::json!({"x": 1, "y": 2}));
    /// assert_eq!(m.event, "cursor-move");
    /// ```
    pub fn new(event: impl Into<String>, arg: Value) -> Self {
        Self::with_args(event, vec![arg])
    }

    /// A message with any number of JSON arguments (none included).
    pub fn with_args(event: impl Into<String>, data: Vec<Value>) -> Self {
        Self {
            namespace: DEFAULT_NAMESPACE.to_owned(),
            event: event.into(),
            data,
            binary: Vec::new(),
        }
    }

    /// A raw text frame for the raw WebSocket protocol (event name `"message"`).
    pub fn text(text: impl Into<String>) -> Self {
        Self::new("message", Value::String(text.into()))
    }

    /// A raw binary frame / a binary-only event: the bytes become attachment 0.
    pub fn bytes(event: impl Into<String>, bytes: Vec<u8>) -> Self {
        Self {
            namespace: DEFAULT_NAMESPACE.to_owned(),
            event: event.into(),
            data: vec![Self::attachment_placeholder(0)],
            binary: vec![bytes],
        }
    }

    /// Sends to another namespace (Socket.IO), or to a channel's topic (Phoenix).
    pub fn in_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// Appends a binary argument (a placeholder in `data` plus the bytes in `binary`).
    pub fn with_attachment(mut self, bytes: Vec<u8>) -> Self {
        self.data.push(Self::attachment_placeholder(self.binary.len()));
        self.binary.push(bytes);
        self
    }

    /// The JSON that stands for attachment `num` inside `data` (Socket.IO's placeholder).
    pub fn attachment_placeholder(num: usize) -> Value {
        serde_json::json!({ "_placeholder": true, "num": num })
    }

    /// Approximate size in bytes, used for the outbox byte bound and the byte counters.
    pub fn size_hint(&self) -> usize {
        let json: usize = self.data.iter().map(json_size_hint).sum();
        self.event.len()
            + self.namespace.len()
            + json
            + self.binary.iter().map(Vec::len).sum::<usize>()
    }
}

/// A message the server sent.
#[derive(Debug, Clone, PartialEq)]
pub struct IncomingMessage {
    /// Socket.IO namespace (`"/"` for the raw WebSocket protocol); for Phoenix, the channel's
    /// topic.
    pub namespace: String,
    /// The event name (`"message"` for raw WebSocket frames).
    pub event: String,
    /// The event arguments, with placeholders where binary attachments were.
    pub data: Vec<Value>,
    /// Binary attachments in placeholder order (a raw binary frame is attachment 0).
    pub binary: Vec<Vec<u8>>,
    /// Set when the server asked for an acknowledgement: answer with the client's `ack`.
    pub ack_id: Option<u64>,
    /// Socket.IO connection-state-recovery offset of this event, already removed from `data`.
    pub offset: Option<String>,
}

impl IncomingMessage {
    /// The first argument, where most servers put the payload object.
    pub fn payload(&self) -> Option<&Value> {
        self.data.first()
    }

    /// The room the message belongs to, if any: the key by which subscriptions filter by room.
    /// For Phoenix messages, the channel's topic (Socket.IO namespaces start with `/`, topics
    /// do not); otherwise the `room` or `roomId` field of the first argument.
    pub fn room(&self) -> Option<&str> {
        if !self.namespace.is_empty() && !self.namespace.starts_with('/') {
            return Some(&self.namespace);
        }
        let payload = self.payload()?;
        payload.get("room").or_else(|| payload.get("roomId")).and_then(Value::as_str)
    }

    /// The first argument's string field `field`, used as the de-duplication key.
    pub fn string_field(&self, field: &str) -> Option<&str> {
        self.payload()?.get(field)?.as_str()
    }

    /// Approximate size in bytes, for the byte counters.
    pub fn size_hint(&self) -> usize {
        let json: usize = self.data.iter().map(json_size_hint).sum();
        self.event.len() + json + self.binary.iter().map(Vec::len).sum::<usize>()
    }
}

/// What the other side answered to a message sent with an acknowledgement.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AckReply {
    /// The acknowledgement's arguments.
    pub data: Vec<Value>,
    /// Binary attachments of the acknowledgement.
    pub binary: Vec<Vec<u8>>,
}

impl AckReply {
    /// Approximate size in bytes (the arguments as JSON, plus the attachments).
    pub fn size_hint(&self) -> usize {
        self.data.iter().map(json_size_hint).sum::<usize>()
            + self.binary.iter().map(Vec::len).sum::<usize>()
    }
}

/// Approximate size of `value` as JSON text, in bytes: what the size hints of messages count
/// (numbers count 8 whatever their digits).
///
/// ```
/// let value = serde_json::json!({"n": 1, "room": "a"});
/// assert_eq!(tether_core::model::json_size_hint(&value), 2 + (1 + 3 + 8) + (4 + 3 + 3));
/// ```
pub fn json_size_hint(value: &Value) -> usize {
    match value {
        Value::Null | Value::Bool(_) => 5,
        Value::Number(_) => 8,
        Value::String(s) => s.len() + 2,
        Value::Array(items) => 2 + items.iter().map(json_size_hint).sum::<usize>(),
        Value::Object(map) => {
            2 + map.iter().map(|(k, v)| k.len() + 3 + json_size_hint(v)).sum::<usize>()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn room_is_read_from_room_or_room_id() {
        let mut m = IncomingMessage {
            namespace: "/".into(),
            event: "x".into(),
            data: vec![json!({"room": "a"})],
            binary: vec![],
            ack_id: None,
            offset: None,
        };
        assert_eq!(m.room(), Some("a"));
        m.data = vec![json!({"roomId": "b"})];
        assert_eq!(m.room(), Some("b"));
        m.data = vec![json!(3)];
        assert_eq!(m.room(), None);
        // A Phoenix message belongs to its channel's topic, whatever its payload says.
        m.namespace = "room:lobby".into();
        m.data = vec![json!({"room": "elsewhere"})];
        assert_eq!(m.room(), Some("room:lobby"));
    }

    #[test]
    fn attachments_get_numbered_placeholders() {
        let m = OutgoingMessage::new("upload", json!({"name": "a"}))
            .with_attachment(vec![1, 2])
            .with_attachment(vec![3]);
        assert_eq!(m.data[1], json!({"_placeholder": true, "num": 0}));
        assert_eq!(m.data[2], json!({"_placeholder": true, "num": 1}));
        assert_eq!(m.binary, vec![vec![1, 2], vec![3]]);
        assert!(m.size_hint() >= 3);
    }
}
