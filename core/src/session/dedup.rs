//! Remembers the ids of recent incoming messages so an at-least-once sender's re-sends reach the
//! app once.

use siphasher::sip::SipHasher13;
use std::collections::{HashSet, VecDeque};
use std::hash::Hasher;

/// A bounded set of recently seen message ids (oldest forgotten first).
///
/// It keeps a 64-bit keyed hash of each id, not the id: the ids come from the server, and a
/// window of long ids would otherwise cost `capacity` times the largest message. With a random
/// key per window, two different ids collide with odds of about `capacity / 2^64` per message,
/// and a server cannot aim for a collision. A durable outbox keeps the key and the hashes
/// ([`DedupWindow::key`], [`DedupWindow::restore`]), so a message re-delivered after a restart
/// is still recognised.
#[derive(Debug, Clone)]
pub struct DedupWindow {
    order: VecDeque<u64>,
    seen: HashSet<u64>,
    capacity: usize,
    key: (u64, u64),
}

impl DedupWindow {
    /// A window remembering `capacity` ids (at least 1), with a random key.
    pub fn new(capacity: usize) -> Self {
        Self::with_key(capacity, (fastrand::u64(..), fastrand::u64(..)))
    }

    /// An empty window hashing with `key`.
    pub fn with_key(capacity: usize, key: (u64, u64)) -> Self {
        Self { order: VecDeque::new(), seen: HashSet::new(), capacity: capacity.max(1), key }
    }

    /// A window hashing with `key` that already remembers `hashes` (oldest first; only the
    /// newest `capacity` are kept), as [`DedupWindow::record`] returned them.
    pub fn restore(
        capacity: usize,
        key: (u64, u64),
        hashes: impl IntoIterator<Item = u64>,
    ) -> Self {
        let mut window = Self::with_key(capacity, key);
        for hash in hashes {
            window.insert(hash);
        }
        window
    }

    /// The key of its hash.
    pub fn key(&self) -> (u64, u64) {
        self.key
    }

    /// Records `id`; returns false if it was seen within the window (a duplicate).
    pub fn first_sighting(&mut self, id: &str) -> bool {
        self.record(id).is_some()
    }

    /// Records `id`: its hash when seen for the first time within the window (what a durable
    /// outbox keeps), `None` for a duplicate.
    pub fn record(&mut self, id: &str) -> Option<u64> {
        let hash = self.hash(id);
        if self.seen.contains(&hash) {
            return None;
        }
        self.insert(hash);
        Some(hash)
    }

    fn hash(&self, id: &str) -> u64 {
        // Bytes written as they are (not `str::hash`, whose framing is std's to change): a kept
        // hash must match the same id in a later version of the app.
        let mut hasher = SipHasher13::new_with_keys(self.key.0, self.key.1);
        hasher.write(id.as_bytes());
        hasher.finish()
    }

    fn insert(&mut self, hash: u64) {
        if !self.seen.insert(hash) {
            return;
        }
        if self.order.len() == self.capacity {
            if let Some(oldest) = self.order.pop_front() {
                self.seen.remove(&oldest);
            }
        }
        self.order.push_back(hash);
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

    #[test]
    fn a_restored_window_recognises_what_the_old_one_recorded() {
        let mut old = DedupWindow::new(3);
        let kept: Vec<u64> = ["a", "b", "c", "d"].iter().filter_map(|id| old.record(id)).collect();
        let mut restored = DedupWindow::restore(3, old.key(), kept);
        assert_eq!(restored.len(), 3, "only the newest `capacity` are kept");
        assert!(!restored.first_sighting("d"));
        assert!(!restored.first_sighting("b"));
        assert!(restored.first_sighting("a"), "a was the oldest of four in a window of three");
        let mut other_key = DedupWindow::restore(3, (1, 2), old.record("e"));
        assert!(other_key.first_sighting("e"), "hashes only match under the same key");
    }

    #[test]
    fn the_hash_of_an_id_is_stable_for_a_given_key() {
        let mut a = DedupWindow::with_key(4, (7, 9));
        let mut b = DedupWindow::with_key(4, (7, 9));
        assert_eq!(a.record("message-1"), b.record("message-1"));
        assert!(a.record("message-1").is_none());
    }
}
