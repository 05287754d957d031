//! The rooms (channels) the app joined. The set outlives connections: after every reconnect the
//! engine joins them again, in the order the app first joined them, before the outbox flushes.

/// An ordered set of room names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoomSet {
    rooms: Vec<String>,
}

impl RoomSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a room; false if it was already there (joining twice is harmless).
    pub fn insert(&mut self, room: &str) -> bool {
        if self.contains(room) {
            return false;
        }
        self.rooms.push(room.to_owned());
        true
    }

    /// Removes a room; false if it was not there.
    pub fn remove(&mut self, room: &str) -> bool {
        let before = self.rooms.len();
        self.rooms.retain(|r| r != room);
        before != self.rooms.len()
    }

    /// True if the app is in `room`.
    pub fn contains(&self, room: &str) -> bool {
        self.rooms.iter().any(|r| r == room)
    }

    /// The rooms in join order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.rooms.iter().map(String::as_str)
    }

    /// How many rooms.
    pub fn len(&self) -> usize {
        self.rooms.len()
    }

    /// True when in no room.
    pub fn is_empty(&self) -> bool {
        self.rooms.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
