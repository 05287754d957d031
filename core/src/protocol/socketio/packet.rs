//! Socket.IO protocol v5 packet codec: the default parser's text format. Binary attachments
//! (placeholders and their reassembly) are in `binary`.
//!
//! A packet's text part is `<type>[<attachments>-][<namespace>,][<ack id>][<json>]`, carried
//! inside an Engine.IO `message`. Binary packets put `{"_placeholder":true,"num":i}` where each
//! buffer was and send the buffers as the next binary frames, in order.

use std::fmt;

use serde_json::Value;

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

/// Writes an event or an ack without binary attachments straight into the text of the Engine.IO
/// message that carries it: `4` followed by what [`encode_socket_packet`] writes for the packet
/// whose data is `[head, args...]` (`head` is the event name; acks have none). It borrows the
/// event and the arguments where building a [`SocketPacket`] would copy them, and writes into
/// one buffer of `capacity` bytes: sending is mostly this (W2 in BENCHMARKS.md). Fails only
/// where serde_json would (an argument it cannot serialize).
pub fn encode_event_message(
    kind: SocketPacketKind,
    namespace: &str,
    id: Option<u64>,
    head: Option<&str>,
    args: &[Value],
    capacity: usize,
) -> Result<String, serde_json::Error> {
    let mut out = Vec::with_capacity(capacity);
    out.push(b'4');
    out.push(b'0' + kind as u8);
    if !namespace.is_empty() && namespace != "/" {
        out.extend_from_slice(namespace.as_bytes());
        out.push(b',');
    }
    if let Some(id) = id {
        out.extend_from_slice(id.to_string().as_bytes());
    }
    out.push(b'[');
    if let Some(event) = head {
        write_json_str(&mut out, event)?;
    }
    for (i, arg) in args.iter().enumerate() {
        if i > 0 || head.is_some() {
            out.push(b',');
        }
        match arg {
            Value::String(text) => write_json_str(&mut out, text)?,
            other => serde_json::to_writer(&mut out, other)?,
        }
    }
    out.push(b']');
    // serde_json writes UTF-8, and the rest is ASCII or the namespace's own UTF-8.
    String::from_utf8(out).map_err(|e| serde::ser::Error::custom(e.to_string()))
}

/// A JSON string as serde_json writes it: copied as it is between quotes when nothing in it
/// needs escaping (serde_json escapes `"`, `\` and control characters only), which is most
/// strings and several times faster than serde_json's byte-by-byte escaping loop.
fn write_json_str(out: &mut Vec<u8>, text: &str) -> Result<(), serde_json::Error> {
    if text.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        return serde_json::to_writer(out, text);
    }
    out.push(b'"');
    out.extend_from_slice(text.as_bytes());
    out.push(b'"');
    Ok(())
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

#[cfg(test)]
mod tests;
