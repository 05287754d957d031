//! The rooms (channels) the app joined. The set outlives connections: after every reconnect the
//! engine joins them again, in the order the app first joined them, before the outbox flushes.
//!
//! Each room also has a status for the current connection. A join that timed out, or a room
//! the server lost (Phoenix's `phx_error`), is joined again after a backoff of its own while the
//! connection stays up; a join the server refused waits for the next connection.

use serde_json::Value;
use std::time::Instant;

/// Where a room stands on the current connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomStatus {
    /// Not connected, or connected and not yet asked: joined on (re)connect.
    Waiting,
    /// The join went out; its answer has not come.
    Joining,
    /// The server confirmed the join (or the protocol has no confirmations).
    Joined,
    /// The join failed or the room crashed; joined again at this instant if still connected.
    Retrying {
        /// When to join again.
        at: Instant,
    },
    /// The server refused the join; tried again after the next reconnect.
    Refused,
}

/// One joined room.
#[derive(Debug, Clone, PartialEq)]
struct Room {
    name: String,
    /// What the join carries (Phoenix's join payload), if the app gave one.
    payload: Option<Value>,
    status: RoomStatus,
    /// Failed joins in a row on this connection, for the rejoin backoff.
    failures: u32,
}

/// An ordered set of rooms with their status.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RoomSet {
    rooms: Vec<Room>,
}

impl RoomSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a room; false if it was already there (joining twice is harmless).
    pub fn insert(&mut self, room: &str) -> bool {
        self.insert_with(room, None)
    }

    /// Adds a room with a join payload; false if it was already there, in which case the new
    /// payload (if any) replaces the old for the next join.
    pub fn insert_with(&mut self, room: &str, payload: Option<Value>) -> bool {
        if let Some(existing) = self.find_mut(room) {
            if payload.is_some() {
                existing.payload = payload;
            }
            return false;
        }
        self.rooms.push(Room {
            name: room.to_owned(),
            payload,
            status: RoomStatus::Waiting,
            failures: 0,
        });
        true
    }

    /// Removes a room; false if it was not there.
    pub fn remove(&mut self, room: &str) -> bool {
        let before = self.rooms.len();
        self.rooms.retain(|r| r.name != room);
        before != self.rooms.len()
    }

    /// True if the app is in `room`.
    pub fn contains(&self, room: &str) -> bool {
        self.rooms.iter().any(|r| r.name == room)
    }

    /// The rooms in join order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.rooms.iter().map(|r| r.name.as_str())
    }

    /// How many rooms.
    pub fn len(&self) -> usize {
        self.rooms.len()
    }

    /// True when in no room.
    pub fn is_empty(&self) -> bool {
        self.rooms.is_empty()
    }

    /// The join payload of `room`, if it has one.
    pub fn payload(&self, room: &str) -> Option<&Value> {
        self.rooms.iter().find(|r| r.name == room)?.payload.as_ref()
    }

    /// The status of `room` (`None` if not in the set).
    pub fn status(&self, room: &str) -> Option<RoomStatus> {
        self.rooms.iter().find(|r| r.name == room).map(|r| r.status)
    }

    /// True if `room` is in the set and joined on this connection.
    pub fn is_joined(&self, room: &str) -> bool {
        self.status(room) == Some(RoomStatus::Joined)
    }

    /// Sets the status of `room`; a confirmed join also clears its failure count.
    pub fn set_status(&mut self, room: &str, status: RoomStatus) {
        if let Some(entry) = self.find_mut(room) {
            entry.status = status;
            if status == RoomStatus::Joined {
                entry.failures = 0;
            }
        }
    }

    /// Counts a failed join (or a crash) of `room`; returns the failures in a row, for the
    /// backoff of the next attempt.
    pub fn record_failure(&mut self, room: &str) -> u32 {
        let Some(entry) = self.find_mut(room) else { return 0 };
        entry.failures = entry.failures.saturating_add(1);
        entry.failures
    }

    /// The connection went away: every room waits for the next one, failures forgotten.
    pub fn connection_lost(&mut self) {
        for room in &mut self.rooms {
            room.status = RoomStatus::Waiting;
            room.failures = 0;
        }
    }

    /// The earliest rejoin due.
    pub fn next_retry(&self) -> Option<Instant> {
        self.rooms
            .iter()
            .filter_map(|r| match r.status {
                RoomStatus::Retrying { at } => Some(at),
                _ => None,
            })
            .min()
    }

    /// The rooms whose rejoin is due at `now`, in join order.
    pub fn due(&self, now: Instant) -> Vec<String> {
        self.rooms
            .iter()
            .filter(|r| matches!(r.status, RoomStatus::Retrying { at } if at <= now))
            .map(|r| r.name.clone())
            .collect()
    }

    fn find_mut(&mut self, room: &str) -> Option<&mut Room> {
        self.rooms.iter_mut().find(|r| r.name == room)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::Duration;

    #[test]
    fn keeps_first_join_order_and_ignores_repeats() {
        let mut rooms = RoomSet::new();
        assert!(rooms.insert("b"));
        assert!(rooms.insert("a"));
        assert!(!rooms.insert("b"));
        assert_eq!(rooms.iter().collect::<Vec<_>>(), vec!["b", "a"]);
        assert!(rooms.remove("b"));
        assert!(!rooms.remove("b"));
        assert_eq!(rooms.iter().collect::<Vec<_>>(), vec!["a"]);
    }

    #[test]
    fn a_later_join_payload_replaces_the_earlier_one() {
        let mut rooms = RoomSet::new();
        assert!(rooms.insert_with("t", Some(json!({"v": 1}))));
        assert!(!rooms.insert_with("t", Some(json!({"v": 2}))));
        assert!(!rooms.insert("t"), "a plain join keeps the payload");
        assert_eq!(rooms.payload("t"), Some(&json!({"v": 2})));
    }

    #[test]
    fn retries_come_due_in_order_and_a_lost_connection_resets_them() {
        let now = Instant::now();
        let mut rooms = RoomSet::new();
        rooms.insert("a");
        rooms.insert("b");
        rooms.insert("c");
        rooms.set_status("b", RoomStatus::Retrying { at: now + Duration::from_secs(2) });
        rooms.set_status("a", RoomStatus::Retrying { at: now + Duration::from_secs(1) });
        rooms.set_status("c", RoomStatus::Joined);
        assert_eq!(rooms.next_retry(), Some(now + Duration::from_secs(1)));
        assert_eq!(rooms.due(now + Duration::from_secs(1)), ["a"]);
        assert_eq!(rooms.due(now + Duration::from_secs(5)), ["a", "b"]);
        assert_eq!((rooms.record_failure("a"), rooms.record_failure("a")), (1, 2));
        rooms.connection_lost();
        assert_eq!(rooms.next_retry(), None);
        assert_eq!(rooms.status("c"), Some(RoomStatus::Waiting));
        assert_eq!(rooms.record_failure("a"), 1, "failures start over on a new connection");
        rooms.set_status("a", RoomStatus::Joined);
        assert_eq!(rooms.record_failure("a"), 1, "a confirmed join clears them too");
        assert!(rooms.is_joined("a"));
    }
}
