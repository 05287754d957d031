//! The byte layout of a burst of messages handed to the Kotlin side in one JNI call (read by
//! `kotlin/src/main/kotlin/dev/tether/MessageWire.kt`; change both together). Big-endian, as
//! `java.nio.ByteBuffer` reads by default. Per item, a u8 tag, then:
//!
//! ```text
//! tag 0, a message: text namespace, text event, text args_json,
//!   u32 attachment count, then per attachment: u32 length, bytes
//!   u8 flags (1: an ack id follows, 2: a room follows), [u64 ack id], [text room]
//! tag 1, a gap: u64 how many messages were dropped there (the listener fell behind)
//! text = u32 length in bytes, UTF-8 bytes
//! ```

use crate::event::IncomingMessage;
use tether_core as core_api;

/// Tag: a message follows.
const MESSAGE: u8 = 0;
/// Tag: a gap follows.
const LAGGED: u8 = 1;

/// What a burst carries: messages, and the gaps between them.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Item {
    /// A message for the listener.
    Message(IncomingMessage),
    /// This many messages were dropped here.
    Lagged(u64),
}

impl From<IncomingMessage> for Item {
    fn from(message: IncomingMessage) -> Self {
        Self::Message(message)
    }
}

impl From<core_api::SubscriptionItem> for Item {
    fn from(item: core_api::SubscriptionItem) -> Self {
        match item {
            core_api::SubscriptionItem::Message(message) => Self::Message(message.into()),
            core_api::SubscriptionItem::Lagged { skipped } => Self::Lagged(skipped),
        }
    }
}

/// Appends `item` to `out`.
pub(super) fn encode(item: &Item, out: &mut Vec<u8>) {
    match item {
        Item::Message(message) => {
            out.push(MESSAGE);
            encode_message(message, out);
        }
        Item::Lagged(skipped) => {
            out.push(LAGGED);
            out.extend_from_slice(&skipped.to_be_bytes());
        }
    }
}

/// Flag: an acknowledgement id follows.
const HAS_ACK_ID: u8 = 1;
/// Flag: a room follows.
const HAS_ROOM: u8 = 2;

/// Appends `message`'s fields to `out`.
fn encode_message(message: &IncomingMessage, out: &mut Vec<u8>) {
    bytes(message.namespace.as_bytes(), out);
    bytes(message.event.as_bytes(), out);
    bytes(message.args_json.as_bytes(), out);
    length(message.binary.len(), out);
    for attachment in &message.binary {
        bytes(attachment, out);
    }
    let flags = if message.ack_id.is_some() { HAS_ACK_ID } else { 0 }
        | if message.room.is_some() { HAS_ROOM } else { 0 };
    out.push(flags);
    if let Some(ack_id) = message.ack_id {
        out.extend_from_slice(&ack_id.to_be_bytes());
    }
    if let Some(room) = &message.room {
        bytes(room.as_bytes(), out);
    }
}

fn bytes(data: &[u8], out: &mut Vec<u8>) {
    length(data.len(), out);
    out.extend_from_slice(data);
}

/// A length as u32. Nothing that arrives in one WebSocket frame reaches 4 GiB (the transport's
/// frame limit is far below), so saturating is only a guard: the reader would then fail loudly.
fn length(len: usize, out: &mut Vec<u8>) {
    out.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The layout, byte for byte (the Kotlin reader's test decodes the same bytes).
    #[test]
    fn a_message_with_every_field_is_laid_out_as_documented() {
        let message = IncomingMessage {
            namespace: "/".into(),
            event: "é".into(),
            args_json: "[1]".into(),
            binary: vec![vec![7, 8]],
            ack_id: Some(258),
            room: Some("r".into()),
        };
        let mut out = Vec::new();
        encode(&Item::Message(message), &mut out);
        let expected: Vec<u8> = [
            &[MESSAGE][..],
            &[0, 0, 0, 1, b'/'],
            &[0, 0, 0, 2, 0xC3, 0xA9],
            &[0, 0, 0, 3, b'[', b'1', b']'],
            &[0, 0, 0, 1, 0, 0, 0, 2, 7, 8],
            &[HAS_ACK_ID | HAS_ROOM, 0, 0, 0, 0, 0, 0, 1, 2],
            &[0, 0, 0, 1, b'r'],
        ]
        .concat();
        assert_eq!(out, expected);
    }

    #[test]
    fn optional_fields_that_are_absent_take_only_the_flags_byte() {
        let message = IncomingMessage {
            namespace: String::new(),
            event: "e".into(),
            args_json: "[]".into(),
            binary: Vec::new(),
            ack_id: None,
            room: None,
        };
        let mut out = Vec::new();
        encode(&Item::Message(message), &mut out);
        assert_eq!(out.len(), 1 + 4 + 5 + 6 + 4 + 1);
        assert_eq!(out.last(), Some(&0));
    }

    #[test]
    fn a_gap_is_its_tag_and_the_count() {
        let mut out = Vec::new();
        encode(&Item::Lagged(258), &mut out);
        assert_eq!(out, [LAGGED, 0, 0, 0, 0, 0, 0, 1, 2]);
    }

    #[test]
    fn the_cores_items_keep_their_meaning() {
        let gap = Item::from(core_api::SubscriptionItem::Lagged { skipped: 3 });
        assert_eq!(gap, Item::Lagged(3));
    }
}
