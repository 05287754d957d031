//! Who is in a room and what they are doing: the presence vocabulary shared by the
//! collaboration helpers' rosters (`collab::presence`) and Phoenix presence
//! (`protocol::phoenix::presence`).

use serde_json::Value;
use std::time::Instant;

/// A member's activity state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PresenceState {
    /// Working in the document.
    #[default]
    Active,
    /// No activity for the inactivity period, or said so.
    Idle,
    /// Said they are away; only a presence update brings them back.
    Away,
}

impl PresenceState {
    /// The wire name: `"active"`, `"idle"`, `"away"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Idle => "idle",
            Self::Away => "away",
        }
    }

    /// Reads a wire name (case-insensitive); `None` for anything else.
    pub fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "active" | "online" => Some(Self::Active),
            "idle" | "inactive" => Some(Self::Idle),
            "away" | "offline" => Some(Self::Away),
            _ => None,
        }
    }
}

/// A cursor position in the app's coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Cursor {
    /// Horizontal position.
    pub x: f64,
    /// Vertical position.
    pub y: f64,
}

/// A member as the server describes it (`user-joined`'s `user`, the snapshot's `members`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MemberInfo {
    /// User id.
    pub user_id: String,
    /// Display name (the user id when the server sends none).
    pub name: String,
    /// Role, if the server says (`viewer`, `editor`, `owner`).
    pub role: Option<String>,
    /// Activity state the server holds.
    pub state: PresenceState,
    /// Focused field.
    pub field: Option<String>,
    /// Last cursor position.
    pub cursor: Option<Cursor>,
    /// Tool in use (seed 002).
    pub tool: Option<String>,
    /// Last activity, milliseconds since the Unix epoch, if the server says.
    pub last_seen_ms: Option<u64>,
}

/// One member of a room's roster.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// User id.
    pub user_id: String,
    /// Display name.
    pub name: String,
    /// Role, if known.
    pub role: Option<String>,
    /// Effective state: what the member reported, or `Idle` after the inactivity period.
    pub state: PresenceState,
    /// Focused field.
    pub field: Option<String>,
    /// Field the member is typing in.
    pub typing_in: Option<String>,
    /// Last cursor position.
    pub cursor: Option<Cursor>,
    /// Tool in use.
    pub tool: Option<String>,
    /// Last activity seen from this member, on this client's monotonic clock.
    pub last_seen: Instant,
    /// Everything the server holds about this member, as it sent it: Phoenix presence metas
    /// (one per connection of this key, each with its `phx_ref`, oldest first). Empty for the
    /// collaboration helpers' rosters, whose fields above say it all.
    pub metas: Vec<Value>,
}

/// Why a member left the roster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaveReason {
    /// They left the room.
    Left,
    /// Their last connection closed without leaving.
    Disconnected,
    /// They were missing from the server's snapshot (left while this client was away).
    NotInSnapshot,
}

/// What changed about a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberChange {
    /// Cursor moved.
    Cursor,
    /// Focused a field.
    Focus,
    /// Left a field.
    Blur,
    /// Started typing.
    TypingStarted,
    /// Stopped typing.
    TypingStopped,
    /// State (active / idle / away) or tool changed.
    State,
    /// Name, role or anything else from a new description of the member.
    Profile,
}

/// A change to a roster, for UIs that animate rather than redraw.
#[derive(Debug, Clone, PartialEq)]
pub enum PresenceChange {
    /// A member arrived.
    Joined {
        /// Room.
        room: String,
        /// The member.
        member: Member,
    },
    /// A member went.
    Left {
        /// Room.
        room: String,
        /// Who.
        user_id: String,
        /// Why.
        reason: LeaveReason,
    },
    /// A member did something.
    Updated {
        /// Room.
        room: String,
        /// The member after the change.
        member: Member,
        /// What changed.
        change: MemberChange,
    },
    /// The roster was rebuilt from the server's snapshot (after the diff's joins and leaves).
    Synced {
        /// Room.
        room: String,
        /// Everyone, in roster order.
        members: Vec<Member>,
    },
}

impl PresenceChange {
    /// The room whose roster changed (a Phoenix channel's topic), whatever the change: for
    /// streams of one room's changes.
    ///
    /// ```
    /// use tether_core::{LeaveReason, PresenceChange};
    /// let change = PresenceChange::Left {
    ///     room: "room:lobby".into(),
    ///     user_id: "ann".into(),
    ///     reason: LeaveReason::Left,
    /// };
    /// assert_eq!(change.room(), "room:lobby");
    /// ```
    pub fn room(&self) -> &str {
        match self {
            Self::Joined { room, .. }
            | Self::Left { room, .. }
            | Self::Updated { room, .. }
            | Self::Synced { room, .. } => room,
        }
    }

    /// Approximate bytes this change holds (for the byte bounds of streams).
    pub fn size_hint(&self) -> usize {
        match self {
            Self::Joined { room, member } | Self::Updated { room, member, .. } => {
                room.len() + member.size_hint()
            }
            Self::Left { room, user_id, .. } => room.len() + user_id.len(),
            Self::Synced { room, members } => {
                room.len() + members.iter().map(Member::size_hint).sum::<usize>()
            }
        }
    }
}

impl Member {
    /// Approximate bytes this member holds (for the byte bounds of streams).
    pub fn size_hint(&self) -> usize {
        let texts = [&self.role, &self.field, &self.typing_in, &self.tool]
            .iter()
            .map(|t| t.as_ref().map_or(0, String::len))
            .sum::<usize>();
        let metas: usize = self.metas.iter().map(super::message::json_size_hint).sum();
        std::mem::size_of::<Self>() + self.user_id.len() + self.name.len() + texts + metas
    }
}
