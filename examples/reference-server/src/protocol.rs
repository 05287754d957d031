//! The wire payloads of `examples/PROTOCOL.md`: what clients send, what the server acks and
//! broadcasts. Serde types only; no behaviour beyond shape checks.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::presence::{Member, PresenceState};

/// Client-to-server event names.
pub mod events {
    /// Join a room; acked with the room snapshot.
    pub const JOIN_ROOM: &str = "join-room";
    /// Leave a room.
    pub const LEAVE_ROOM: &str = "leave-room";
    /// Ask for the room snapshot again.
    pub const ROOM_STATE: &str = "room-state";
    /// Cursor position.
    pub const CURSOR_MOVE: &str = "cursor-move";
    /// A field got focus.
    pub const FIELD_FOCUS: &str = "field-focus";
    /// A field lost focus.
    pub const FIELD_BLUR: &str = "field-blur";
    /// Typing started in a field.
    pub const TYPING_START: &str = "typing-start";
    /// Typing stopped in a field.
    pub const TYPING_STOP: &str = "typing-stop";
    /// Activity state changed.
    pub const PRESENCE_UPDATE: &str = "presence-update";
    /// A versioned field write.
    pub const PRICING_UPDATE: &str = "pricing-update";
}

/// Server-to-client broadcast names.
pub mod broadcasts {
    /// A user joined the room.
    pub const USER_JOINED: &str = "user-joined";
    /// A user left the room.
    pub const USER_LEFT: &str = "user-left";
    /// A user's last connection closed without leaving.
    pub const USER_DISCONNECTED: &str = "user-disconnected";
    /// Relay of `cursor-move`.
    pub const CURSOR_MOVED: &str = "cursor-moved";
    /// Relay of `field-focus`.
    pub const FIELD_FOCUSED: &str = "field-focused";
    /// Relay of `field-blur`.
    pub const FIELD_BLURRED: &str = "field-blurred";
    /// Relay of `typing-start`.
    pub const TYPING_STARTED: &str = "typing-started";
    /// Relay of `typing-stop`.
    pub const TYPING_STOPPED: &str = "typing-stopped";
    /// Relay of `presence-update`.
    pub const PRESENCE_UPDATED: &str = "presence-updated";
    /// An accepted `pricing-update`.
    pub const PRICING_UPDATED: &str = "pricing-updated";
}

/// Longest room or field id, in bytes.
pub const MAX_ID_LEN: usize = 128;
/// Longest `tool` string, in bytes.
pub const MAX_TOOL_LEN: usize = 64;

/// Checks a room or field id: 1..=[`MAX_ID_LEN`] bytes, no control characters.
pub fn check_id(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("id must not be empty".into());
    }
    if id.len() > MAX_ID_LEN {
        return Err(format!("id is {} bytes; at most {MAX_ID_LEN} are allowed", id.len()));
    }
    if id.chars().any(char::is_control) {
        return Err("id must not contain control characters".into());
    }
    Ok(())
}

/// `join-room`, `leave-room` and `room-state`: `{room}`.
#[derive(Debug, Clone, Deserialize)]
pub struct RoomRequest {
    /// Room id.
    pub room: String,
}

/// `cursor-move`: `{room, x, y}`.
#[derive(Debug, Clone, Deserialize)]
pub struct CursorMove {
    /// Room id.
    pub room: String,
    /// Horizontal position, any finite number.
    pub x: f64,
    /// Vertical position, any finite number.
    pub y: f64,
}

/// `field-focus`, `field-blur`, `typing-start`, `typing-stop`: `{room, field}`.
#[derive(Debug, Clone, Deserialize)]
pub struct FieldEvent {
    /// Room id.
    pub room: String,
    /// Field id.
    pub field: String,
}

/// `presence-update`: `{room, state, tool?}`.
#[derive(Debug, Clone, Deserialize)]
pub struct PresenceUpdate {
    /// Room id.
    pub room: String,
    /// New activity state.
    pub state: PresenceState,
    /// Tool in use, if the app has tools (seed 002).
    #[serde(default)]
    pub tool: Option<String>,
}

/// `pricing-update`: `{room, field, value, baseVersion, optimisticId}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PricingUpdate {
    /// Room id.
    pub room: String,
    /// Field id.
    pub field: String,
    /// New value: any JSON.
    pub value: Value,
    /// The field version the client's edit is based on (0 for a never-written field).
    pub base_version: u64,
    /// Client-chosen id echoed in `pricing-updated`, so clients can match their optimistic edits.
    #[serde(default)]
    pub optimistic_id: Option<String>,
}

/// The error codes of PROTOCOL.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Wrong types, missing fields, bad ids.
    BadRequest,
    /// The user's role or token does not allow this.
    Forbidden,
    /// The server does not know this room.
    UnknownRoom,
    /// The socket has not joined this room.
    NotJoined,
    /// Over the per-user rate limit.
    RateLimited,
    /// Payload over `max_payload_bytes`.
    TooLarge,
    /// `baseVersion` is stale (sent with [`ConflictAck`], not [`ErrorAck`]).
    Conflict,
    /// The shared state store (Redis, with `--redis`) failed; the event had no effect.
    Unavailable,
}

/// `{ok: false, error, message}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorAck {
    /// Always `false`.
    pub ok: bool,
    /// Machine-readable code.
    pub error: ErrorCode,
    /// Human-readable reason.
    pub message: String,
}

impl ErrorAck {
    /// An error ack with this code and message.
    pub fn new(error: ErrorCode, message: impl Into<String>) -> Self {
        Self { ok: false, error, message: message.into() }
    }
}

/// `{ok: true}`: the ack of `leave-room` (with `room`) and of relay events sent with an ack.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OkAck {
    /// Always `true`.
    pub ok: bool,
    /// The room, for `leave-room`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
}

/// Ack of `join-room` and `room-state`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoomSnapshot {
    /// Always `true`.
    pub ok: bool,
    /// Room id.
    pub room: String,
    /// Everyone in the room, the caller included.
    pub members: Vec<Member>,
    /// Room version: the number of accepted `pricing-update`s in this room.
    pub version: u64,
    /// Every written field: `{"<field>": FieldState}`.
    pub state: serde_json::Map<String, Value>,
}

/// One field in [`RoomSnapshot::state`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldState {
    /// Current value.
    pub value: Value,
    /// Field version (1 after the first write).
    pub version: u64,
    /// User id of the last writer.
    pub updated_by: String,
    /// Time of the last write, ms since the Unix epoch.
    pub timestamp: u64,
}

/// Ack of an accepted `pricing-update`: `{ok: true, version, value}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PricingAck {
    /// Always `true`.
    pub ok: bool,
    /// The field's new version.
    pub version: u64,
    /// The stored value.
    pub value: Value,
}

/// Ack of a stale `pricing-update`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConflictAck {
    /// Always `false`.
    pub ok: bool,
    /// Always [`ErrorCode::Conflict`].
    pub error: ErrorCode,
    /// Human-readable reason.
    pub message: String,
    /// The value the server kept (`null` if the field was never written).
    pub server_value: Value,
    /// The server's current version of the field.
    pub server_version: u64,
}

/// `user-joined`: `{room, user}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserJoined {
    /// Room id.
    pub room: String,
    /// The new member.
    pub user: Member,
}

/// `user-left` and `user-disconnected`: `{room, userId}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserGone {
    /// Room id.
    pub room: String,
    /// Who went.
    pub user_id: String,
}

/// `cursor-moved`: `{room, userId, x, y}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CursorMoved {
    /// Room id.
    pub room: String,
    /// Who moved.
    pub user_id: String,
    /// Horizontal position.
    pub x: f64,
    /// Vertical position.
    pub y: f64,
}

/// `field-focused`, `field-blurred`, `typing-started`, `typing-stopped`: `{room, userId, field}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldActivity {
    /// Room id.
    pub room: String,
    /// Who acted.
    pub user_id: String,
    /// Field id.
    pub field: String,
}

/// `presence-updated`: `{room, userId, state, tool?}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PresenceUpdated {
    /// Room id.
    pub room: String,
    /// Whose state changed.
    pub user_id: String,
    /// New state.
    pub state: PresenceState,
    /// Tool in use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
}

/// `pricing-updated`: `{room, field, value, version, updatedBy, timestamp, optimisticId}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PricingUpdated {
    /// Room id.
    pub room: String,
    /// Field id.
    pub field: String,
    /// New value.
    pub value: Value,
    /// New field version.
    pub version: u64,
    /// User id of the writer.
    pub updated_by: String,
    /// Time of the write, ms since the Unix epoch.
    pub timestamp: u64,
    /// The writer's `optimisticId` (`null` if it sent none).
    pub optimistic_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_are_checked_for_length_and_control_characters() {
        assert!(check_id("estimate-42").is_ok());
        assert!(check_id("").is_err());
        assert!(check_id(&"x".repeat(MAX_ID_LEN + 1)).is_err());
        assert!(check_id("a\nb").is_err());
    }

    #[test]
    fn pricing_update_reads_camel_case_and_optional_optimistic_id() {
        let update: PricingUpdate = serde_json::from_value(
            json!({"room": "r", "field": "total", "value": 12.5, "baseVersion": 3}),
        )
        .expect("valid payload");
        assert_eq!(update.base_version, 3);
        assert_eq!(update.optimistic_id, None);
    }

    #[test]
    fn wrong_types_are_rejected() {
        let err = serde_json::from_value::<CursorMove>(json!({"room": "r", "x": "1", "y": 2}));
        assert!(err.is_err());
        let err = serde_json::from_value::<PricingUpdate>(
            json!({"room": "r", "field": "f", "value": 1, "baseVersion": -1}),
        );
        assert!(err.is_err());
    }

    #[test]
    fn error_acks_have_the_documented_shape() {
        let ack = serde_json::to_value(ErrorAck::new(ErrorCode::NotJoined, "join first"))
            .expect("serializable");
        assert_eq!(ack, json!({"ok": false, "error": "not_joined", "message": "join first"}));
        let ack = serde_json::to_value(ConflictAck {
            ok: false,
            error: ErrorCode::Conflict,
            message: "stale".into(),
            server_value: json!(5),
            server_version: 2,
        })
        .expect("serializable");
        assert_eq!(ack["serverValue"], json!(5));
        assert_eq!(ack["serverVersion"], json!(2));
        assert_eq!(ack["error"], json!("conflict"));
    }
}
