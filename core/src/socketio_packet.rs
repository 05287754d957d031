//! Socket.IO protocol v5 packet codec (the default parser's text format) and the reassembly of
//! binary attachments.
//!
//! A packet's text part is `<type>[<attachments>-][<namespace>,][<ack id>][<json>]`, carried
//! inside an Engine.IO `message`. Binary packets put `{"_placeholder":true,"num":i}` where each
//! buffer was and send the buffers as the next binary frames, in order.

use std::collections::BTreeSet;
use std::fmt;

use serde_json::{Map, Value};

use SocketDecodeError as E;
use SocketPacketKind as K;

/// What a Socket.IO packet is for; the wire digit is the variant's position, 0 to 6.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SocketPacketKind {
    /// `0`: join a namespace (client) or accept the join (server, with `{"sid":..}`).
    Connect,
    /// `1`: leave a namespace.
    Disconnect,
    /// `2`: an event: `["name", args...]`.
    Event,
    /// `3`: the answer to an event that asked for one, with the same ack id.
    Ack,
    /// `4`: the server refused to join a namespace.
    ConnectError,
    /// `5`: an event whose arguments include binary attachments.
    BinaryEvent,
    /// `6`: an ack whose arguments include binary attachments.
    BinaryAck,
}

const KINDS: [K; 7] =
    [K::Connect, K::Disconnect, K::Event, K::Ack, K::ConnectError, K::BinaryEvent, K::BinaryAck];

impl SocketPacketKind {
    /// The kind for a wire digit, if it is one.
    pub fn from_digit(c: char) -> Option<Self> {
        KINDS.get(usize::try_from(c.to_digit(10)?).ok()?).copied()
    }

    /// The wire digit for this kind.
    pub fn digit(self) -> char {
        // Discriminants are 0..=6, so the addition stays within ASCII digits.
        char::from(b'0' + self as u8)
    }

    /// Whether binary attachments follow this kind of packet.
    pub fn is_binary(self) -> bool {
        matches!(self, Self::BinaryEvent | Self::BinaryAck)
    }
}

impl fmt::Display for SocketPacketKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Connect => "CONNECT",
            Self::Disconnect => "DISCONNECT",
            Self::Event => "EVENT",
            Self::Ack => "ACK",
            Self::ConnectError => "CONNECT_ERROR",
            Self::BinaryEvent => "BINARY_EVENT",
            Self::BinaryAck => "BINARY_ACK",
        })
    }
}

/// The text part of one Socket.IO packet.
///
/// To encode so that it decodes back, the namespace must start with `/` and hold no `,` (the
/// format has no escape for it), `id` must be set only on events and acks (always on acks), and
/// `data` must have the shape its kind requires (see [`decode_socket_packet`]).
#[derive(Debug, Clone, PartialEq)]
pub struct SocketPacket {
    /// Packet type.
    pub kind: SocketPacketKind,
    /// Namespace such as `/admin`; `/` is the main namespace and is left off the wire.
    pub namespace: String,
    /// Ack id: on an event, asks the receiver for an ack carrying the same id.
    pub id: Option<u64>,
    /// JSON payload; binary packets hold placeholders where the buffers were.
    pub data: Option<Value>,
    /// Number of binary frames that follow; always 0 for non-binary kinds.
    pub attachments: usize,
}

/// Bounds checked before any JSON is parsed, so hostile input costs little.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Most binary attachments one packet may announce.
    pub max_attachments: usize,
    /// Longest accepted text, in bytes.
    pub max_len: usize,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        Self { max_attachments: 64, max_len: 16 * 1024 * 1024 }
    }
}

/// Why a text is not a valid Socket.IO v5 packet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SocketDecodeError {
    /// Nothing to decode.
    #[error("empty Socket.IO packet: expected a packet type digit 0-6")]
    Empty,
    /// Input longer than [`DecodeLimits::max_len`].
    #[error("Socket.IO packet is {len} bytes, over the {max}-byte limit")]
    TooLong {
        /// Input length in bytes.
        len: usize,
        /// The limit in force.
        max: usize,
    },
    /// The first character is not a packet type.
    #[error("unknown Socket.IO packet type {0:?}: expected a digit 0-6")]
    UnknownType(char),
    /// A binary packet without its `<count>-` header.
    #[error("{0} packet lacks its attachment count: expected `<count>-` after the type digit")]
    MissingAttachmentCount(SocketPacketKind),
    /// An attachment count not followed by `-`.
    #[error("attachment count of a binary packet must be followed by '-'")]
    MissingAttachmentSeparator,
    /// A `<count>-` header on a kind that has no attachments.
    #[error("{0} packet has an attachment count, which only BINARY_EVENT and BINARY_ACK may have")]
    UnexpectedAttachmentCount(SocketPacketKind),
    /// More attachments than [`DecodeLimits::max_attachments`].
    #[error("packet announces more than {max} binary attachments")]
    TooManyAttachments {
        /// The limit in force.
        max: usize,
    },
    /// A namespace that does not start with `/`.
    #[error("namespace {0:?} must start with '/'")]
    InvalidNamespace(String),
    /// A namespace running into the payload with no `,` between them.
    #[error("namespace is not terminated by ',' before the payload")]
    UnterminatedNamespace,
    /// An ack id with a minus sign.
    #[error("ack id must not be negative")]
    NegativeAckId,
    /// An ack id beyond `u64`.
    #[error("ack id of {digits} digits does not fit in an unsigned 64-bit integer")]
    AckIdOverflow {
        /// How many digits the id had.
        digits: usize,
    },
    /// An ACK or BINARY_ACK without the id of the event it answers.
    #[error("{0} packet lacks the ack id of the event it answers")]
    MissingAckId(SocketPacketKind),
    /// An ack id on a kind that cannot carry one.
    #[error("{0} packet must not carry an ack id")]
    UnexpectedAckId(SocketPacketKind),
    /// A kind that requires a payload arrived without one.
    #[error("{0} packet lacks its JSON payload")]
    MissingPayload(SocketPacketKind),
    /// A payload on a kind that has none.
    #[error("{0} packet must not carry a payload")]
    UnexpectedPayload(SocketPacketKind),
    /// A character that cannot start a namespace, an ack id or a JSON payload.
    #[error("unexpected {found:?} at byte {offset}: expected '/', an ack id or a JSON array, object or string")]
    UnexpectedCharacter {
        /// The offending character.
        found: char,
        /// Its byte offset in the packet text.
        offset: usize,
    },
    /// The payload is not valid JSON; the text is the parser's message.
    #[error("payload is not valid JSON: {0}")]
    InvalidJson(String),
    /// Something, even whitespace, after the JSON payload.
    #[error("unexpected data after the JSON payload at byte {offset}")]
    TrailingData {
        /// Byte offset where the extra data starts.
        offset: usize,
    },
    /// A payload of the wrong JSON type for its kind.
    #[error("{kind} payload must be {expected}")]
    WrongPayloadType {
        /// The packet kind.
        kind: SocketPacketKind,
        /// What that kind requires.
        expected: &'static str,
    },
    /// An event whose array is empty, so it has no name.
    #[error("event payload is an empty array: its first element must be the event name")]
    MissingEventName,
    /// An event whose first element is not a string.
    #[error("event name (first element of the payload) must be a string")]
    EventNameNotString,
}

/// Why binary attachments and placeholders do not fit together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BinaryError {
    /// Attachments were offered for a kind that cannot have them.
    #[error("{0} packets cannot carry binary attachments; use EVENT/ACK (sent as BINARY_EVENT/BINARY_ACK)")]
    NotBinary(SocketPacketKind),
    /// A binary frame arrived while no binary packet was waiting for one.
    #[error("binary frame arrived but no binary packet is waiting for attachments")]
    UnexpectedAttachment,
    /// The attachments of one packet add up to more than the assembler accepts.
    #[error("binary attachments of one packet exceed {max} bytes")]
    AttachmentsTooLarge {
        /// The limit in force.
        max: usize,
    },
    /// A new binary packet arrived before the previous one had all its attachments.
    #[error("new binary packet arrived while the previous one still waits for {remaining} attachment(s)")]
    AlreadyAssembling {
        /// Attachments the earlier packet still lacked.
        remaining: usize,
    },
    /// A `_placeholder` object whose `num` is not a non-negative integer.
    #[error("placeholder `num` must be a non-negative integer")]
    InvalidPlaceholder,
    /// A placeholder pointing past the last attachment.
    #[error("placeholder num {num} is out of range for {count} attachment(s)")]
    PlaceholderOutOfRange {
        /// The placeholder's index.
        num: usize,
        /// Number of attachments.
        count: usize,
    },
    /// Two placeholders for the same attachment.
    #[error("placeholder num {0} appears more than once")]
    DuplicatePlaceholder(usize),
    /// Header count and placeholders disagree.
    #[error(
        "packet announces {declared} attachment(s) but its payload has {found} placeholder(s)"
    )]
    PlaceholderCountMismatch {
        /// Count in the header (or number of buffers given).
        declared: usize,
        /// Placeholders found in the payload.
        found: usize,
    },
}

/// Decodes a Socket.IO packet's text part with [`DecodeLimits::default`].
pub fn decode_socket_packet(text: &str) -> Result<SocketPacket, SocketDecodeError> {
    decode_socket_packet_with_limits(text, &DecodeLimits::default())
}

/// Decodes a Socket.IO packet's text part, checking sizes against `limits` before parsing JSON.
///
/// Payload rules: CONNECT takes an optional object; DISCONNECT none; EVENT and BINARY_EVENT a
/// non-empty array starting with the event name; ACK and BINARY_ACK an array; CONNECT_ERROR an
/// object, or a string as pre-v5 servers sent.
pub fn decode_socket_packet_with_limits(
    text: &str,
    limits: &DecodeLimits,
) -> Result<SocketPacket, SocketDecodeError> {
    if text.len() > limits.max_len {
        return Err(E::TooLong { len: text.len(), max: limits.max_len });
    }
    let mut chars = text.chars();
    let first = chars.next().ok_or(E::Empty)?;
    let kind = SocketPacketKind::from_digit(first).ok_or(E::UnknownType(first))?;
    let mut rest = chars.as_str();

    let (count_digits, after_count) = split_digits(rest);
    let attachments = if kind.is_binary() {
        if count_digits.is_empty() {
            return Err(E::MissingAttachmentCount(kind));
        }
        rest = after_count.strip_prefix('-').ok_or(E::MissingAttachmentSeparator)?;
        parse_bounded(count_digits, limits.max_attachments)
            .ok_or(E::TooManyAttachments { max: limits.max_attachments })?
    } else if !count_digits.is_empty() && after_count.starts_with('-') {
        return Err(E::UnexpectedAttachmentCount(kind));
    } else {
        0
    };

    let mut namespace = "/";
    if rest.starts_with('/') {
        if let Some((name, after)) = rest.split_once(',') {
            namespace = name;
            rest = after;
        } else if rest.contains(['[', '{', '"']) {
            return Err(E::UnterminatedNamespace);
        } else {
            // The reference parser accepts a namespace that runs to the end without a comma.
            namespace = rest;
            rest = "";
        }
    }

    if rest.strip_prefix('-').is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit())) {
        return Err(E::NegativeAckId);
    }
    let (id_digits, after_id) = split_digits(rest);
    let id = if id_digits.is_empty() {
        None
    } else {
        // u64::MAX has 20 digits; the length check keeps `parse` from scanning megabytes.
        let overflow = E::AckIdOverflow { digits: id_digits.len() };
        if id_digits.len() > 20 {
            return Err(overflow);
        }
        Some(id_digits.parse::<u64>().map_err(|_| overflow)?)
    };
    rest = after_id;
    match (kind, id) {
        (K::Ack | K::BinaryAck, None) => return Err(E::MissingAckId(kind)),
        (K::Connect | K::Disconnect | K::ConnectError, Some(_)) => {
            return Err(E::UnexpectedAckId(kind))
        }
        _ => {}
    }

    let data = match rest.chars().next() {
        None => None,
        Some('[' | '{' | '"') => Some(parse_json(rest, text.len() - rest.len())?),
        Some(found) => {
            let bare_namespace = rest.split_once(',').map(|(name, _)| name);
            if let Some(name) = bare_namespace
                .filter(|n| namespace == "/" && id.is_none() && !n.contains(['[', '{', '"']))
            {
                return Err(E::InvalidNamespace(name.chars().take(64).collect()));
            }
            return Err(E::UnexpectedCharacter { found, offset: text.len() - rest.len() });
        }
    };
    check_payload(kind, data.as_ref())?;
    Ok(SocketPacket { kind, namespace: namespace.to_owned(), id, data, attachments })
}

/// Encodes a packet's text part; the inverse of [`decode_socket_packet`] for valid packets.
///
/// Binary attachments are not included: send them as separate binary frames after this text.
/// An empty namespace is treated as the main namespace `/`.
pub fn encode_socket_packet(p: &SocketPacket) -> String {
    let mut out = String::new();
    out.push(p.kind.digit());
    if p.kind.is_binary() {
        out.push_str(&p.attachments.to_string());
        out.push('-');
    }
    if !p.namespace.is_empty() && p.namespace != "/" {
        out.push_str(&p.namespace);
        out.push(',');
    }
    if let Some(id) = p.id {
        out.push_str(&id.to_string());
    }
    if let Some(data) = &p.data {
        // serde_json's own writer rather than `Display`, whose fmt adapter grows the string
        // a piece at a time: it was the hot spot of sending (W2 in BENCHMARKS.md).
        out.push_str(&serde_json::to_string(data).unwrap_or_default());
    }
    out
}

/// The JSON object that stands in a payload for attachment number `num`.
pub fn placeholder(num: usize) -> Value {
    let mut fields = Map::new();
    fields.insert("_placeholder".to_owned(), Value::Bool(true));
    fields.insert("num".to_owned(), Value::from(num));
    Value::Object(fields)
}

/// The attachment number if `v` is a well-formed placeholder object.
pub fn is_placeholder(v: &Value) -> Option<usize> {
    match v {
        Value::Object(fields) if fields.get("_placeholder") == Some(&Value::Bool(true)) => {
            placeholder_num(fields)
        }
        _ => None,
    }
}

/// A binary packet with its attachments, in placeholder order.
#[derive(Debug, Clone, PartialEq)]
pub struct BinaryPacket {
    /// The packet; its `data` still holds the placeholders.
    pub packet: SocketPacket,
    /// The buffers; `attachments[i]` belongs to placeholder `num: i`.
    pub attachments: Vec<Vec<u8>>,
}

/// Collects the binary frames that follow a BINARY_EVENT or BINARY_ACK on one connection.
///
/// Keep one per connection: `start` it with each decoded binary packet and `push` every binary
/// frame; both return the finished packet once the last attachment is in.
#[derive(Debug)]
pub struct BinaryAssembler {
    pending: Option<(SocketPacket, Vec<Vec<u8>>)>,
    /// Bytes of attachments held for the pending packet, and the most it may hold.
    held: usize,
    max_bytes: usize,
}

impl Default for BinaryAssembler {
    fn default() -> Self {
        Self::with_max_bytes(usize::MAX)
    }
}

impl BinaryAssembler {
    /// An assembler waiting for no packet, with no bound on attachment bytes.
    pub fn new() -> Self {
        Self::default()
    }

    /// An assembler that refuses a packet as soon as its attachments add up to more than
    /// `max_bytes`, so a hostile server cannot make it hold `max_attachments` huge frames.
    pub fn with_max_bytes(max_bytes: usize) -> Self {
        Self { pending: None, held: 0, max_bytes }
    }

    /// Begins collecting attachments for `packet`, after checking that its placeholders match
    /// its attachment count. Returns the packet at once if it announces no attachments.
    pub fn start(&mut self, packet: SocketPacket) -> Result<Option<BinaryPacket>, BinaryError> {
        if let Some((waiting, buffers)) = &self.pending {
            let remaining = waiting.attachments.saturating_sub(buffers.len());
            return Err(BinaryError::AlreadyAssembling { remaining });
        }
        if !packet.kind.is_binary() {
            return Err(BinaryError::NotBinary(packet.kind));
        }
        check_placeholders(packet.data.as_ref(), packet.attachments)?;
        if packet.attachments == 0 {
            return Ok(Some(BinaryPacket { packet, attachments: Vec::new() }));
        }
        // The capacity is bounded: each attachment has a placeholder in already-parsed data.
        let buffers = Vec::with_capacity(packet.attachments);
        self.pending = Some((packet, buffers));
        Ok(None)
    }

    /// Adds the next binary frame; returns the packet when it was the last one expected.
    pub fn push(&mut self, frame: Vec<u8>) -> Result<Option<BinaryPacket>, BinaryError> {
        let Some((packet, mut buffers)) = self.pending.take() else {
            return Err(BinaryError::UnexpectedAttachment);
        };
        let held = std::mem::take(&mut self.held).saturating_add(frame.len());
        if held > self.max_bytes {
            // The packet is dropped; its remaining frames will be unexpected attachments.
            return Err(BinaryError::AttachmentsTooLarge { max: self.max_bytes });
        }
        self.held = held;
        buffers.push(frame);
        if buffers.len() < packet.attachments {
            self.pending = Some((packet, buffers));
            return Ok(None);
        }
        self.held = 0;
        Ok(Some(BinaryPacket { packet, attachments: buffers }))
    }

    /// Whether a binary packet still waits for attachments.
    pub fn is_waiting(&self) -> bool {
        self.pending.is_some()
    }

    /// Drops any half-assembled packet, as after a reconnect.
    pub fn reset(&mut self) {
        self.pending = None;
        self.held = 0;
    }
}

/// Encodes an event or ack carrying binary buffers: returns the text frame and the binary
/// frames to send after it, in order.
///
/// `data` must hold one [`placeholder`] per buffer. `Event` and `Ack` are promoted to their
/// binary kinds, since the receiver only looks for attachments on those.
pub fn encode_binary(
    kind: SocketPacketKind,
    namespace: &str,
    id: Option<u64>,
    data: Value,
    attachments: Vec<Vec<u8>>,
) -> Result<(String, Vec<Vec<u8>>), BinaryError> {
    let kind = match kind {
        K::Event | K::BinaryEvent => K::BinaryEvent,
        K::Ack | K::BinaryAck => K::BinaryAck,
        other => return Err(BinaryError::NotBinary(other)),
    };
    check_placeholders(Some(&data), attachments.len())?;
    let namespace = namespace.to_owned();
    let count = attachments.len();
    let packet = SocketPacket { kind, namespace, id, data: Some(data), attachments: count };
    Ok((encode_socket_packet(&packet), attachments))
}

fn split_digits(s: &str) -> (&str, &str) {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    s.split_at(end)
}

fn parse_bounded(digits: &str, max: usize) -> Option<usize> {
    digits.bytes().try_fold(0usize, |acc, b| {
        let value = acc.checked_mul(10)?.checked_add(usize::from(b.wrapping_sub(b'0')))?;
        (value <= max).then_some(value)
    })
}

fn parse_json(src: &str, offset: usize) -> Result<Value, SocketDecodeError> {
    // A stream deserializer stops after one value, where `from_str` would skip trailing blanks.
    let mut stream = serde_json::Deserializer::from_str(src).into_iter::<Value>();
    match stream.next() {
        Some(Ok(value)) if stream.byte_offset() == src.len() => Ok(value),
        Some(Ok(_)) => Err(E::TrailingData { offset: offset + stream.byte_offset() }),
        Some(Err(e)) => Err(E::InvalidJson(e.to_string())),
        None => Err(E::InvalidJson("no JSON value".to_owned())),
    }
}

fn check_payload(kind: SocketPacketKind, data: Option<&Value>) -> Result<(), SocketDecodeError> {
    let wrong = |expected| Err(E::WrongPayloadType { kind, expected });
    match (kind, data) {
        (K::Connect, None | Some(Value::Object(_))) => Ok(()),
        (K::Connect, Some(_)) => wrong("a JSON object"),
        (K::Disconnect, None) => Ok(()),
        (K::Disconnect, Some(_)) => Err(E::UnexpectedPayload(kind)),
        (K::Event | K::BinaryEvent, Some(Value::Array(items))) => match items.first() {
            Some(Value::String(_)) => Ok(()),
            Some(_) => Err(E::EventNameNotString),
            None => Err(E::MissingEventName),
        },
        (K::Event | K::BinaryEvent, Some(_)) => {
            wrong("a non-empty JSON array starting with the event name")
        }
        (K::Ack | K::BinaryAck, Some(Value::Array(_))) => Ok(()),
        (K::Ack | K::BinaryAck, Some(_)) => wrong("a JSON array"),
        (K::ConnectError, Some(Value::Object(_) | Value::String(_))) => Ok(()),
        (K::ConnectError, Some(_)) => wrong("a JSON object (or a string from pre-v5 servers)"),
        (_, None) => Err(E::MissingPayload(kind)),
    }
}

fn placeholder_num(fields: &Map<String, Value>) -> Option<usize> {
    fields.get("num")?.as_u64().and_then(|n| usize::try_from(n).ok())
}

fn check_placeholders(data: Option<&Value>, declared: usize) -> Result<(), BinaryError> {
    // A set sized by what the payload holds, not by `declared`, which callers may set to anything.
    let mut seen = BTreeSet::new();
    // An explicit stack: packets built in code are not bounded by serde_json's nesting limit.
    let mut stack: Vec<&Value> = data.into_iter().collect();
    while let Some(value) = stack.pop() {
        match value {
            Value::Object(fields) if fields.get("_placeholder") == Some(&Value::Bool(true)) => {
                let num = placeholder_num(fields).ok_or(BinaryError::InvalidPlaceholder)?;
                if num >= declared {
                    return Err(BinaryError::PlaceholderOutOfRange { num, count: declared });
                }
                if !seen.insert(num) {
                    return Err(BinaryError::DuplicatePlaceholder(num));
                }
            }
            Value::Object(fields) => stack.extend(fields.values()),
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    if seen.len() == declared {
        Ok(())
    } else {
        Err(BinaryError::PlaceholderCountMismatch { declared, found: seen.len() })
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    const PH0: &str = r#"{"_placeholder":true,"num":0}"#;

    /// Builds an expected packet; `data` is JSON text, empty for none.
    fn pk(
        kind: K,
        namespace: &str,
        id: Option<u64>,
        data: &str,
        attachments: usize,
    ) -> SocketPacket {
        let data = (!data.is_empty()).then(|| {
            serde_json::from_str(data).unwrap_or_else(|e| panic!("bad test JSON {data}: {e}"))
        });
        SocketPacket { kind, namespace: namespace.to_owned(), id, data, attachments }
    }

    fn decode(text: &str) -> SocketPacket {
        decode_socket_packet(text).unwrap_or_else(|e| panic!("{text:?} should decode: {e}"))
    }

    fn assert_both_ways(cases: &[(String, SocketPacket)]) {
        for (text, expected) in cases {
            assert_eq!(&decode(text), expected, "decoding {text:?}");
            assert_eq!(&encode_socket_packet(expected), text, "encoding {expected:?}");
        }
    }

    fn assert_rejects(cases: &[(&str, SocketDecodeError)]) {
        for (text, expected) in cases {
            assert_eq!(decode_socket_packet(text).as_ref(), Err(expected), "decoding {text:?}");
        }
    }

    #[test]
    fn spec_examples_for_namespace_connection_decode_and_encode() {
        let sid = r#"{"sid":"oSO0OpakMV_3jnilAAAA"}"#;
        let refused = r#"{"message":"Not authorized"}"#;
        assert_both_ways(&[
            ("0".into(), pk(K::Connect, "/", None, "", 0)),
            (
                r#"0{"sid":"wZX3oN0bSVIhsaknAAAI"}"#.into(),
                pk(K::Connect, "/", None, r#"{"sid":"wZX3oN0bSVIhsaknAAAI"}"#, 0),
            ),
            ("0/admin,".into(), pk(K::Connect, "/admin", None, "", 0)),
            (format!("0/admin,{sid}"), pk(K::Connect, "/admin", None, sid, 0)),
            (
                r#"0/admin,{"token":"123"}"#.into(),
                pk(K::Connect, "/admin", None, r#"{"token":"123"}"#, 0),
            ),
            (format!("4{refused}"), pk(K::ConnectError, "/", None, refused, 0)),
        ]);
    }

    #[test]
    fn spec_examples_for_sending_data_decode_and_encode() {
        let two = format!(r#"["baz",{PH0},{{"_placeholder":true,"num":1}}]"#);
        assert_both_ways(&[
            (r#"2["foo"]"#.into(), pk(K::Event, "/", None, r#"["foo"]"#, 0)),
            (r#"2/admin,["bar"]"#.into(), pk(K::Event, "/admin", None, r#"["bar"]"#, 0)),
            (r#"2["hey","Jude"]"#.into(), pk(K::Event, "/", None, r#"["hey","Jude"]"#, 0)),
            (
                format!(r#"51-["baz",{PH0}]"#),
                pk(K::BinaryEvent, "/", None, &format!(r#"["baz",{PH0}]"#), 1),
            ),
            (format!("52-/admin,{two}"), pk(K::BinaryEvent, "/admin", None, &two, 2)),
        ]);
    }

    #[test]
    fn spec_examples_for_acknowledgements_decode_and_encode() {
        let (foo, bar) = (format!(r#"["foo",{PH0}]"#), format!(r#"["bar",{PH0}]"#));
        assert_both_ways(&[
            (r#"212["foo"]"#.into(), pk(K::Event, "/", Some(12), r#"["foo"]"#, 0)),
            ("312[]".into(), pk(K::Ack, "/", Some(12), "[]", 0)),
            (r#"2/admin,13["foo"]"#.into(), pk(K::Event, "/admin", Some(13), r#"["foo"]"#, 0)),
            (r#"3/admin,13["bar"]"#.into(), pk(K::Ack, "/admin", Some(13), r#"["bar"]"#, 0)),
            (format!("51-14{foo}"), pk(K::BinaryEvent, "/", Some(14), &foo, 1)),
            (r#"314["bar"]"#.into(), pk(K::Ack, "/", Some(14), r#"["bar"]"#, 0)),
            (r#"215["foo"]"#.into(), pk(K::Event, "/", Some(15), r#"["foo"]"#, 0)),
            (format!("61-15{bar}"), pk(K::BinaryAck, "/", Some(15), &bar, 1)),
        ]);
    }

    #[test]
    fn spec_examples_for_disconnection_decode_and_encode() {
        assert_both_ways(&[
            ("1".into(), pk(K::Disconnect, "/", None, "", 0)),
            ("1/admin,".into(), pk(K::Disconnect, "/admin", None, "", 0)),
        ]);
    }

    #[test]
    fn decodes_the_sample_session_websocket_frames() {
        use crate::engineio_packet::{decode_engine_packet, EnginePacket};
        let frames = [
            ("40/admin,", pk(K::Connect, "/admin", None, "", 0)),
            (
                r#"40/admin,{"sid":"-G5j-67EZFp-q59rADQM"}"#,
                pk(K::Connect, "/admin", None, r#"{"sid":"-G5j-67EZFp-q59rADQM"}"#, 0),
            ),
            (r#"42/admin,1["tellme"]"#, pk(K::Event, "/admin", Some(1), r#"["tellme"]"#, 0)),
            (
                &format!("461-/admin,1[{PH0}]"),
                pk(K::BinaryAck, "/admin", Some(1), &format!("[{PH0}]"), 1),
            ),
        ];
        for (frame, expected) in frames {
            let Ok(EnginePacket::Message(text)) = decode_engine_packet(frame) else {
                panic!("{frame:?} is not an Engine.IO message")
            };
            assert_eq!(decode(&text), expected);
        }
    }

    #[test]
    fn decodes_event_with_namespace_and_ack_id() {
        let expected = pk(K::Event, "/chat", Some(42), r#"["msg",{"a":1}]"#, 0);
        assert_eq!(decode(r#"2/chat,42["msg",{"a":1}]"#), expected);
    }

    #[test]
    fn accepts_lenient_forms_the_reference_parser_accepts() {
        assert_eq!(decode("1/admin"), pk(K::Disconnect, "/admin", None, "", 0));
        assert_eq!(decode(r#"2/,["x"]"#), pk(K::Event, "/", None, r#"["x"]"#, 0));
        assert_eq!(decode(r#"2007["x"]"#).id, Some(7));
        assert_eq!(decode(r#"4"Not authorized""#).data, Some(json!("Not authorized")));
        assert_eq!(decode(r#"50-["x"]"#).attachments, 0);
        assert_eq!(decode(r#"218446744073709551615["x"]"#).id, Some(u64::MAX));
    }

    #[test]
    fn keeps_unicode_in_event_names_and_namespaces() {
        let data = r#"["héllo wörld 🎉","日本"]"#;
        assert_both_ways(&[(
            format!("2/ünï-côdé,7{data}"),
            pk(K::Event, "/ünï-côdé", Some(7), data, 0),
        )]);
    }

    #[test]
    fn rejects_empty_input_and_bad_type_digits() {
        assert_rejects(&[
            ("", E::Empty),
            ("7", E::UnknownType('7')),
            ("x[\"a\"]", E::UnknownType('x')),
        ]);
        assert_rejects(&[("é", E::UnknownType('é')), (" 2[\"a\"]", E::UnknownType(' '))]);
    }

    #[test]
    fn rejects_malformed_attachment_headers() {
        assert_rejects(&[
            (r#"5["x"]"#, E::MissingAttachmentCount(K::BinaryEvent)),
            (r#"6-1["x"]"#, E::MissingAttachmentCount(K::BinaryAck)),
            (r#"51["x",{}]"#, E::MissingAttachmentSeparator),
            (r#"21-["x"]"#, E::UnexpectedAttachmentCount(K::Event)),
            (r#"599999999999999999999999-["x"]"#, E::TooManyAttachments { max: 64 }),
            (r#"565-["x"]"#, E::TooManyAttachments { max: 64 }),
        ]);
    }

    #[test]
    fn rejects_negative_and_oversized_ack_ids() {
        assert_rejects(&[
            (r#"2-1["foo"]"#, E::NegativeAckId),
            (r#"2/admin,-5["foo"]"#, E::NegativeAckId),
            (r#"218446744073709551616["x"]"#, E::AckIdOverflow { digits: 20 }),
            (r#"2123456789012345678901["x"]"#, E::AckIdOverflow { digits: 21 }),
            ("3[]", E::MissingAckId(K::Ack)),
            (r#"61-["x",{}]"#, E::MissingAckId(K::BinaryAck)),
            ("01{}", E::UnexpectedAckId(K::Connect)),
            ("1/admin,3", E::UnexpectedAckId(K::Disconnect)),
        ]);
        let huge = format!("2{}[\"x\"]", "9".repeat(100_000));
        assert_eq!(decode_socket_packet(&huge), Err(E::AckIdOverflow { digits: 100_000 }));
    }

    #[test]
    fn rejects_namespaces_without_leading_slash_or_comma() {
        assert_rejects(&[
            (r#"2admin,["x"]"#, E::InvalidNamespace("admin".to_owned())),
            ("0chat,", E::InvalidNamespace("chat".to_owned())),
            (r#"2/admin["x"]"#, E::UnterminatedNamespace),
            ("2admin", E::UnexpectedCharacter { found: 'a', offset: 1 }),
        ]);
    }

    #[test]
    fn rejects_payloads_of_the_wrong_shape() {
        assert_rejects(&[
            ("2[]", E::MissingEventName),
            ("2[1,\"x\"]", E::EventNameNotString),
            ("2[[\"nested\"]]", E::EventNameNotString),
            (&format!("51-[{PH0}]"), E::EventNameNotString),
            ("2", E::MissingPayload(K::Event)),
            ("2/admin,", E::MissingPayload(K::Event)),
            ("312", E::MissingPayload(K::Ack)),
            ("4", E::MissingPayload(K::ConnectError)),
            ("1{}", E::UnexpectedPayload(K::Disconnect)),
        ]);
        let wrong =
            [("2{}", K::Event), (r#"2"x""#, K::Event), ("31{}", K::Ack), ("0[]", K::Connect)];
        for (text, kind) in wrong.into_iter().chain([("4[]", K::ConnectError)]) {
            let result = decode_socket_packet(text);
            assert!(
                matches!(result, Err(E::WrongPayloadType { kind: k, .. }) if k == kind),
                "{text}"
            );
        }
    }

    #[test]
    fn rejects_bad_json_and_anything_around_it() {
        let deep = format!("2{}", "[".repeat(100_000));
        for text in [r#"2["foo""#, "2[foo]", "2[\"a\",]", "0{'a':1}", &deep] {
            assert!(matches!(decode_socket_packet(text), Err(E::InvalidJson(_))), "{text}");
        }
        assert_rejects(&[
            (r#"2["foo"]x"#, E::TrailingData { offset: 8 }),
            (r#"2["foo"] "#, E::TrailingData { offset: 8 }),
            ("2[\"foo\"]\n", E::TrailingData { offset: 8 }),
            (r#"2["foo"]["bar"]"#, E::TrailingData { offset: 8 }),
            (r#"2/a,["foo"]{}"#, E::TrailingData { offset: 11 }),
            (r#"2 ["foo"]"#, E::UnexpectedCharacter { found: ' ', offset: 1 }),
            ("0true", E::UnexpectedCharacter { found: 't', offset: 1 }),
        ]);
    }

    #[test]
    fn enforces_limits_before_parsing_json() {
        let limits = DecodeLimits { max_attachments: 2, max_len: 12 };
        let decode = |t: &str| decode_socket_packet_with_limits(t, &limits);
        assert_eq!(decode(r#"2["0123456789"#), Err(E::TooLong { len: 13, max: 12 }));
        assert_eq!(decode(r#"53-["bad"#), Err(E::TooManyAttachments { max: 2 }));
        assert!(decode(r#"52-["x"]"#).is_ok());
        let default = DecodeLimits { max_attachments: 64, max_len: 16 << 20 };
        assert_eq!(DecodeLimits::default(), default);
    }

    #[test]
    fn error_messages_name_the_problem() {
        let message = |t: &str| decode_socket_packet(t).err().map(|e| e.to_string());
        assert!(message("2[]").is_some_and(|m| m.contains("event name")));
        assert!(message("2-1[\"x\"]").is_some_and(|m| m.contains("negative")));
        assert!(message("2admin,[\"x\"]").is_some_and(|m| m.contains("'/'")));
        assert!(message("31{}").is_some_and(|m| m.contains("ACK payload must be a JSON array")));
        assert!(BinaryError::DuplicatePlaceholder(3).to_string().contains("num 3"));
    }

    #[test]
    fn assembles_attachments_in_order() {
        let ph1 = r#"{"_placeholder":true,"num":1}"#;
        let p = decode(&format!(r#"52-/admin,["baz",{ph1},{PH0}]"#));
        let mut assembler = BinaryAssembler::new();
        assert_eq!(assembler.start(p.clone()), Ok(None));
        assert_eq!(assembler.push(vec![1, 2]), Ok(None));
        assert!(assembler.is_waiting());
        let attachments = vec![vec![1, 2], vec![3, 4]];
        assert_eq!(assembler.push(vec![3, 4]), Ok(Some(BinaryPacket { packet: p, attachments })));
        assert!(!assembler.is_waiting());
        assert_eq!(assembler.push(vec![5]), Err(BinaryError::UnexpectedAttachment));
    }

    #[test]
    fn refuses_attachments_past_its_byte_bound_as_they_arrive() {
        let ph1 = r#"{"_placeholder":true,"num":1}"#;
        let p = decode(&format!(r#"53-["x",{PH0},{ph1},{{"_placeholder":true,"num":2}}]"#));
        let mut assembler = BinaryAssembler::with_max_bytes(10);
        assert_eq!(assembler.start(p.clone()), Ok(None));
        assert_eq!(assembler.push(vec![0; 6]), Ok(None));
        let over = BinaryError::AttachmentsTooLarge { max: 10 };
        assert_eq!(assembler.push(vec![0; 5]), Err(over));
        assert!(!assembler.is_waiting(), "the packet is dropped at once");
        assert_eq!(assembler.push(vec![0]), Err(BinaryError::UnexpectedAttachment));
        assert_eq!(assembler.start(p), Ok(None), "the next packet starts from zero");
        assert_eq!(assembler.push(vec![0; 4]), Ok(None));
    }

    #[test]
    fn completes_at_once_without_attachments_and_refuses_other_kinds() {
        let mut assembler = BinaryAssembler::new();
        let empty = decode(r#"50-["x"]"#);
        let expected = BinaryPacket { packet: empty.clone(), attachments: Vec::new() };
        assert_eq!(assembler.start(empty), Ok(Some(expected)));
        assert_eq!(assembler.start(decode(r#"2["x"]"#)), Err(BinaryError::NotBinary(K::Event)));
        assert_eq!(assembler.push(vec![0]), Err(BinaryError::UnexpectedAttachment));
    }

    #[test]
    fn refuses_a_new_binary_packet_while_one_is_incomplete() {
        let mut assembler = BinaryAssembler::new();
        let p = decode(&format!(r#"52-["x",{PH0},{{"_placeholder":true,"num":1}}]"#));
        assert_eq!(assembler.start(p.clone()), Ok(None));
        assert_eq!(assembler.push(vec![1]), Ok(None));
        let busy = BinaryError::AlreadyAssembling { remaining: 1 };
        assert_eq!(assembler.start(p.clone()), Err(busy));
        assembler.reset();
        assert_eq!(assembler.start(p), Ok(None));
    }

    #[test]
    fn rejects_placeholders_that_do_not_match_the_header() {
        let ph = |num: &str| format!(r#"{{"_placeholder":true,"num":{num}}}"#);
        let cases = [
            (
                format!(r#"52-["x",{PH0}]"#),
                BinaryError::PlaceholderCountMismatch { declared: 2, found: 1 },
            ),
            (r#"51-["x"]"#.into(), BinaryError::PlaceholderCountMismatch { declared: 1, found: 0 }),
            (
                format!(r#"51-["x",{}]"#, ph("1")),
                BinaryError::PlaceholderOutOfRange { num: 1, count: 1 },
            ),
            (
                format!(r#"50-["x",{{"a":[{PH0}]}}]"#),
                BinaryError::PlaceholderOutOfRange { num: 0, count: 0 },
            ),
            (format!(r#"52-["x",{PH0},{PH0}]"#), BinaryError::DuplicatePlaceholder(0)),
            (format!(r#"51-["x",{}]"#, ph("-1")), BinaryError::InvalidPlaceholder),
            (format!(r#"51-["x",{}]"#, ph(r#""0""#)), BinaryError::InvalidPlaceholder),
        ];
        for (text, expected) in cases {
            assert_eq!(BinaryAssembler::new().start(decode(&text)), Err(expected), "{text}");
        }
    }

    #[test]
    fn encode_binary_matches_the_spec_and_checks_placeholders() {
        let frames = vec![vec![1, 2, 3, 4]];
        let event =
            encode_binary(K::Event, "/", None, json!(["baz", placeholder(0)]), frames.clone());
        assert_eq!(event, Ok((format!(r#"51-["baz",{PH0}]"#), frames)));
        let ack = encode_binary(K::Ack, "/admin", Some(1), json!([placeholder(0)]), vec![vec![9]]);
        assert_eq!(ack.map(|(text, _)| text), Ok(format!("61-/admin,1[{PH0}]")));
        let missing = encode_binary(K::Event, "/", None, json!(["x", placeholder(0)]), vec![]);
        assert_eq!(missing, Err(BinaryError::PlaceholderOutOfRange { num: 0, count: 0 }));
        let connect = encode_binary(K::Connect, "/", None, json!({}), vec![]);
        assert_eq!(connect, Err(BinaryError::NotBinary(K::Connect)));
    }

    #[test]
    fn recognises_only_well_formed_placeholders() {
        assert_eq!(is_placeholder(&placeholder(3)), Some(3));
        assert_eq!(is_placeholder(&json!({"_placeholder": true, "num": 0, "extra": 1})), Some(0));
        assert_eq!(is_placeholder(&json!({"_placeholder": false, "num": 0})), None);
        assert_eq!(is_placeholder(&json!({"_placeholder": true, "num": 1.5})), None);
        assert_eq!(is_placeholder(&json!({"num": 0})), None);
    }

    fn json_value() -> BoxedStrategy<Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<String>().prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                object(inner)
            ]
        })
        .boxed()
    }

    fn object(values: BoxedStrategy<Value>) -> BoxedStrategy<Value> {
        let fields = prop::collection::btree_map("\\PC{0,6}", values, 0..4);
        fields.prop_map(|m| Value::Object(m.into_iter().collect())).boxed()
    }

    fn valid_packet() -> impl Strategy<Value = SocketPacket> {
        let event = (any::<String>(), prop::collection::vec(json_value(), 0..4)).prop_map(
            |(name, args)| Value::Array(std::iter::once(Value::from(name)).chain(args).collect()),
        );
        let array = || prop::collection::vec(json_value(), 0..4).prop_map(Value::Array);
        let error = prop_oneof![object(json_value()), any::<String>().prop_map(Value::String)];
        let id = || prop::option::of(any::<u64>());
        let fields = prop_oneof![
            prop::option::of(object(json_value())).prop_map(|d| (K::Connect, None, d, 0)),
            Just((K::Disconnect, None, None, 0)),
            (id(), event.clone()).prop_map(|(i, d)| (K::Event, i, Some(d), 0)),
            (any::<u64>(), array()).prop_map(|(i, d)| (K::Ack, Some(i), Some(d), 0)),
            error.prop_map(|d| (K::ConnectError, None, Some(d), 0)),
            (id(), event, 0..=64usize).prop_map(|(i, d, n)| (K::BinaryEvent, i, Some(d), n)),
            (any::<u64>(), array(), 0..=64usize).prop_map(|(i, d, n)| (
                K::BinaryAck,
                Some(i),
                Some(d),
                n
            )),
        ];
        let namespace = prop_oneof![Just("/".to_owned()), "/[^,]{0,10}"];
        (fields, namespace).prop_map(|((kind, id, data, attachments), namespace)| SocketPacket {
            kind,
            namespace,
            id,
            data,
            attachments,
        })
    }

    proptest! {
        #[test]
        fn decoding_arbitrary_text_never_panics(text in ".*") {
            let _ = decode_socket_packet(&text);
        }

        #[test]
        fn decoding_protocol_like_text_never_panics(text in "[0-7][0-9\\-/,a-z\\[\\]{}\":_ ]{0,40}") {
            if let Ok(p) = decode_socket_packet(&text) {
                let _ = BinaryAssembler::new().start(p);
            }
        }

        #[test]
        fn every_valid_packet_round_trips(p in valid_packet()) {
            prop_assert_eq!(decode_socket_packet(&encode_socket_packet(&p)), Ok(p));
        }
    }
}
