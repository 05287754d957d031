//! Remembers the ids of recent incoming messages so an at-least-once sender's re-sends reach the
//! app once.

use std::collections::hash_map::RandomState;
use std::collections::{HashSet, VecDeque};
use std::hash::BuildHasher;

/// A bounded set of recently seen message ids (oldest forgotten first).
///
/// It keeps a 64-bit keyed hash of each id, not the id: the ids come from the server, and a
/// window of long ids would otherwise cost `capacity` times the largest message. With a random
/// key per window, two different ids collide with odds of about `capacity / 2^64` per message,
/// and a server cannot aim for a collision.
#[derive(Debug, Clone)]
pub struct DedupWindow {
    order: VecDeque<u64>,
    seen: HashSet<u64>,
    capacity: usize,
    hasher: RandomState,
}

impl DedupWindow {
    /// A window remembering `capacity` ids (at least 1).
    pub fn new(capacity: usize) -> Self {
        Self {
            order: VecDeque::new(),
            seen: HashSet::new(),
            capacity: capacity.max(1),
            hasher: RandomState::new(),
        }
    }

    /// Records `id`; returns false if it was seen within the window (a duplicate).
    pub fn first_sighting(&mut self, id: &str) -> bool {
        let key = self.hasher.hash_one(id);
        if self.seen.contains(&key) {
            return false;
        }
        if self.order.len() == self.capacity {
            if let Some(oldest) = self.order.pop_front() {
                self.seen.remove(&oldest);
            }
        }
        self.order.push_back(key);
        self.seen.insert(key);
        true
    }

    /// Ids remembered now.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// True when nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_id_is_a_duplicate_until_it_leaves_the_window() {
        let mut w = DedupWindow::new(2);
        assert!(w.first_sighting("a"));
        assert!(!w.first_sighting("a"));
        assert!(w.first_sighting("b"));
        assert!(w.first_sighting("c"), "evicts a");
        assert_eq!(w.len(), 2);
        assert!(w.first_sighting("a"), "a was forgotten: the window is bounded");
    }
}
