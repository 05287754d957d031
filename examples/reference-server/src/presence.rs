//! Who is in which room: the presence roster, one [`Member`] per user per room.
//!
//! A user may be in a room through several connections (two tabs, a phone and a laptop). The
//! roster holds one member per user and remembers which connections hold it, so `user-joined`
//! is announced for the first connection only and `user-left` / `user-disconnected` for the last.
//! Pure data: the caller passes the time and does the broadcasting.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde::{Deserialize, Serialize};
use socketioxide::socket::Sid;

use crate::auth::Role;

/// A user's activity state (`presence-update`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum PresenceState {
    /// Working in the document (the state after joining).
    #[default]
    Active,
    /// No input for a while.
    Idle,
    /// Away from the app.
    Away,
}

/// A cursor position.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    /// Horizontal position.
    pub x: f64,
    /// Vertical position.
    pub y: f64,
}

/// A roster entry as sent on the wire:
/// `{userId, name, role, state, field, cursor: {x, y} | null, tool, lastSeen}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    /// The JWT `sub`.
    pub user_id: String,
    /// The JWT `name`.
    pub name: String,
    /// The JWT `role`.
    pub role: Role,
    /// Activity state.
    pub state: PresenceState,
    /// Focused field, if any.
    pub field: Option<String>,
    /// Last cursor position, if any.
    pub cursor: Option<Cursor>,
    /// Tool in use, if any.
    pub tool: Option<String>,
    /// Last activity, ms since the Unix epoch.
    pub last_seen: u64,
}

/// Who is joining: the identity from the connection's token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// User id (`sub`).
    pub user_id: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
}

/// Result of [`Presence::join`].
#[derive(Debug, Clone, PartialEq)]
pub enum Joined {
    /// The user was not in the room before: announce `user-joined` with this member.
    NewMember(Member),
    /// Another connection of the same user is already in the room: nothing to announce.
    AlreadyPresent,
    /// This connection had already joined the room: nothing changes.
    Again,
}

/// Result of [`Presence::leave`] and an item of [`Presence::disconnect`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Departure {
    /// Room left.
    pub room: String,
    /// User who left.
    pub user_id: String,
    /// True when this was the user's last connection in the room: announce it.
    pub user_gone: bool,
}

#[derive(Debug)]
struct Entry {
    member: Member,
    connections: HashSet<Sid>,
}

#[derive(Debug)]
struct Connection {
    user_id: String,
    rooms: BTreeSet<String>,
}

/// The rosters of every room on this server.
#[derive(Debug, Default)]
pub struct Presence {
    rooms: HashMap<String, BTreeMap<String, Entry>>,
    connections: HashMap<Sid, Connection>,
}

impl Presence {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds connection `sid` of `who` to `room`.
    ///
    /// A connection carries one identity for its whole life; if `sid` is already known under
    /// another user id, the join is refused with `None` (it cannot happen through the server,
    /// whose identities come from the handshake).
    pub fn join(&mut self, sid: Sid, room: &str, who: &Identity, now_ms: u64) -> Option<Joined> {
        let connection = self
            .connections
            .entry(sid)
            .or_insert_with(|| Connection { user_id: who.user_id.clone(), rooms: BTreeSet::new() });
        if connection.user_id != who.user_id {
            return None;
        }
        if !connection.rooms.insert(room.to_owned()) {
            return Some(Joined::Again);
        }
        let roster = self.rooms.entry(room.to_owned()).or_default();
        if let Some(entry) = roster.get_mut(&who.user_id) {
            entry.connections.insert(sid);
            entry.member.last_seen = now_ms;
            return Some(Joined::AlreadyPresent);
        }
        let member = Member {
            user_id: who.user_id.clone(),
            name: who.name.clone(),
            role: who.role,
            state: PresenceState::Active,
            field: None,
            cursor: None,
            tool: None,
            last_seen: now_ms,
        };
        roster.insert(
            who.user_id.clone(),
            Entry { member: member.clone(), connections: HashSet::from([sid]) },
        );
        Some(Joined::NewMember(member))
    }

    /// Removes connection `sid` from `room`; `None` if it had not joined.
    pub fn leave(&mut self, sid: Sid, room: &str) -> Option<Departure> {
        let connection = self.connections.get_mut(&sid)?;
        if !connection.rooms.remove(room) {
            return None;
        }
        let user_id = connection.user_id.clone();
        if connection.rooms.is_empty() {
            self.connections.remove(&sid);
        }
        let user_gone = self.drop_from_roster(sid, room, &user_id);
        Some(Departure { room: room.to_owned(), user_id, user_gone })
    }

    /// Removes connection `sid` from every room it joined, in room id order.
    pub fn disconnect(&mut self, sid: Sid) -> Vec<Departure> {
        let Some(connection) = self.connections.remove(&sid) else {
            return Vec::new();
        };
        connection
            .rooms
            .into_iter()
            .map(|room| {
                let user_gone = self.drop_from_roster(sid, &room, &connection.user_id);
                Departure { room, user_id: connection.user_id.clone(), user_gone }
            })
            .collect()
    }

    /// True if connection `sid` has joined `room`.
    pub fn is_joined(&self, sid: Sid, room: &str) -> bool {
        self.connections.get(&sid).is_some_and(|c| c.rooms.contains(room))
    }

    /// The rooms connection `sid` has joined, in id order.
    pub fn rooms_of(&self, sid: Sid) -> Vec<String> {
        self.connections.get(&sid).map(|c| c.rooms.iter().cloned().collect()).unwrap_or_default()
    }

    /// The roster of `room`, ordered by user id; empty for an unknown room.
    pub fn members(&self, room: &str) -> Vec<Member> {
        self.rooms
            .get(room)
            .map(|roster| roster.values().map(|entry| entry.member.clone()).collect())
            .unwrap_or_default()
    }

    /// Applies `change` to the member of connection `sid` in `room` and stamps `last_seen`.
    /// Returns the updated member, or `None` if the connection has not joined the room.
    pub fn update(
        &mut self,
        sid: Sid,
        room: &str,
        now_ms: u64,
        change: impl FnOnce(&mut Member),
    ) -> Option<Member> {
        let user_id = &self.connections.get(&sid).filter(|c| c.rooms.contains(room))?.user_id;
        let entry = self.rooms.get_mut(room)?.get_mut(user_id)?;
        change(&mut entry.member);
        entry.member.last_seen = now_ms;
        Some(entry.member.clone())
    }

    /// Number of rooms with at least one member.
    pub fn active_rooms(&self) -> usize {
        self.rooms.len()
    }

    fn drop_from_roster(&mut self, sid: Sid, room: &str, user_id: &str) -> bool {
        let Some(roster) = self.rooms.get_mut(room) else {
            return true;
        };
        let user_gone = match roster.get_mut(user_id) {
            Some(entry) => {
                entry.connections.remove(&sid);
                entry.connections.is_empty()
            }
            None => true,
        };
        if user_gone {
            roster.remove(user_id);
        }
        if roster.is_empty() {
            self.rooms.remove(room);
        }
        user_gone
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> Identity {
        Identity { user_id: "alice".into(), name: "Alice".into(), role: Role::Editor }
    }

    fn bob() -> Identity {
        Identity { user_id: "bob".into(), name: "Bob".into(), role: Role::Viewer }
    }

    #[test]
    fn first_join_announces_a_new_active_member() {
        let mut presence = Presence::new();
        let joined = presence.join(Sid::new(), "doc", &alice(), 1_000);
        let Some(Joined::NewMember(member)) = joined else {
            panic!("expected a new member, got {joined:?}");
        };
        assert_eq!(member.user_id, "alice");
        assert_eq!(member.state, PresenceState::Active);
        assert_eq!(member.cursor, None);
        assert_eq!(member.last_seen, 1_000);
        assert_eq!(presence.active_rooms(), 1);
    }

    #[test]
    fn roster_lists_everyone_in_user_id_order() {
        let mut presence = Presence::new();
        presence.join(Sid::new(), "doc", &bob(), 1);
        presence.join(Sid::new(), "doc", &alice(), 2);
        let ids: Vec<_> = presence.members("doc").into_iter().map(|m| m.user_id).collect();
        assert_eq!(ids, ["alice", "bob"]);
        assert!(presence.members("other").is_empty());
    }

    #[test]
    fn second_connection_of_a_user_is_not_announced_and_only_the_last_leave_is() {
        let mut presence = Presence::new();
        let (tab1, tab2) = (Sid::new(), Sid::new());
        presence.join(tab1, "doc", &alice(), 1);
        assert_eq!(presence.join(tab2, "doc", &alice(), 2), Some(Joined::AlreadyPresent));
        assert_eq!(presence.join(tab2, "doc", &alice(), 3), Some(Joined::Again));
        assert_eq!(presence.members("doc").len(), 1);

        let first = presence.leave(tab1, "doc").expect("tab1 had joined");
        assert!(!first.user_gone);
        let last = presence.leave(tab2, "doc").expect("tab2 had joined");
        assert!(last.user_gone);
        assert_eq!(presence.active_rooms(), 0);
    }

    #[test]
    fn leaving_a_room_not_joined_is_none() {
        let mut presence = Presence::new();
        let sid = Sid::new();
        assert_eq!(presence.leave(sid, "doc"), None);
        presence.join(sid, "doc", &alice(), 1);
        assert_eq!(presence.leave(sid, "other"), None);
        assert!(presence.is_joined(sid, "doc"));
    }

    #[test]
    fn disconnect_reports_every_room_of_the_connection() {
        let mut presence = Presence::new();
        let (sid, other) = (Sid::new(), Sid::new());
        presence.join(sid, "b-doc", &alice(), 1);
        presence.join(sid, "a-doc", &alice(), 1);
        presence.join(other, "a-doc", &bob(), 1);
        let gone = presence.disconnect(sid);
        let rooms: Vec<_> = gone.iter().map(|d| (d.room.as_str(), d.user_gone)).collect();
        assert_eq!(rooms, [("a-doc", true), ("b-doc", true)]);
        assert_eq!(presence.active_rooms(), 1);
        assert!(presence.rooms_of(sid).is_empty());
        assert!(presence.disconnect(sid).is_empty());
    }

    #[test]
    fn update_changes_the_member_and_stamps_last_seen() {
        let mut presence = Presence::new();
        let sid = Sid::new();
        presence.join(sid, "doc", &alice(), 1);
        let member = presence
            .update(sid, "doc", 50, |m| m.cursor = Some(Cursor { x: 1.0, y: 2.0 }))
            .expect("joined");
        assert_eq!(member.cursor, Some(Cursor { x: 1.0, y: 2.0 }));
        assert_eq!(member.last_seen, 50);
        assert_eq!(presence.update(Sid::new(), "doc", 60, |_| {}), None);
        assert_eq!(presence.update(sid, "other", 60, |_| {}), None);
    }

    #[test]
    fn a_connection_keeps_one_identity() {
        let mut presence = Presence::new();
        let sid = Sid::new();
        presence.join(sid, "doc", &alice(), 1);
        assert_eq!(presence.join(sid, "doc2", &bob(), 2), None);
    }

    #[test]
    fn member_serializes_with_the_documented_keys() {
        let mut presence = Presence::new();
        presence.join(Sid::new(), "doc", &alice(), 7);
        let value = serde_json::to_value(&presence.members("doc")[0]).expect("serializable");
        assert_eq!(
            value,
            serde_json::json!({
                "userId": "alice", "name": "Alice", "role": "editor", "state": "active",
                "field": null, "cursor": null, "tool": null, "lastSeen": 7
            })
        );
    }
}
