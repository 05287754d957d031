//! Presence changes as the client's events carry them (Phoenix presence): the core's
//! [`tether_core::PresenceChange`] mirrored with the collaboration roster's [`Member`].

use crate::collab::{members, Member};
use tether_core as core_api;

/// A change to a room's presence roster.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum PresenceChange {
    /// A member arrived.
    Joined {
        /// The room.
        room: String,
        /// The member.
        member: Member,
    },
    /// A member went.
    Left {
        /// The room.
        room: String,
        /// Who.
        user_id: String,
        /// Why.
        reason: LeaveReason,
    },
    /// A member changed (a new connection of the same key, or new metas).
    Updated {
        /// The room.
        room: String,
        /// The member after the change.
        member: Member,
    },
    /// The whole roster, after the server's presence state.
    Synced {
        /// The room.
        room: String,
        /// Everyone, in arrival order.
        members: Vec<Member>,
    },
}

/// Why a member left a roster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum LeaveReason {
    /// They left.
    Left,
    /// Their last connection closed without leaving.
    Disconnected,
    /// Missing from the server's snapshot.
    NotInSnapshot,
}

impl From<core_api::LeaveReason> for LeaveReason {
    fn from(r: core_api::LeaveReason) -> Self {
        match r {
            core_api::LeaveReason::Left => Self::Left,
            core_api::LeaveReason::Disconnected => Self::Disconnected,
            core_api::LeaveReason::NotInSnapshot => Self::NotInSnapshot,
        }
    }
}

impl From<core_api::PresenceChange> for PresenceChange {
    fn from(c: core_api::PresenceChange) -> Self {
        use core_api::PresenceChange as P;
        match c {
            P::Joined { room, member } => Self::Joined { room, member: member.into() },
            P::Left { room, user_id, reason } => {
                Self::Left { room, user_id, reason: reason.into() }
            }
            P::Updated { room, member, .. } => Self::Updated { room, member: member.into() },
            P::Synced { room, members: list } => Self::Synced { room, members: members(list) },
        }
    }
}
