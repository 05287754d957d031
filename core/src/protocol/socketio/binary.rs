//! Binary attachments of Socket.IO packets: a BINARY_EVENT or BINARY_ACK puts
//! `{"_placeholder":true,"num":i}` where each buffer was and sends the buffers as the next binary
//! frames, in order. This file makes and checks placeholders and reassembles the frames.

use super::packet::{encode_socket_packet, SocketPacket, SocketPacketKind};
use serde_json::{Map, Value};
use std::collections::BTreeSet;

use SocketPacketKind as K;

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
mod tests;
