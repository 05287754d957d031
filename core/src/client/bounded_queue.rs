//! One reader's queue: bounded in items and bytes, dropping by a policy when full, and
//! remembering where it dropped so the reader is told (`Lagged`) exactly there. Pure data, no
//! locking or waking: `fanout` shares it between the publisher and the reader.

use crate::config::{StreamBuffer, StreamOverflow};
use crate::model::StreamStats;
use std::collections::VecDeque;

/// What a reader takes from its queue.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum QueueItem<T> {
    /// The next item.
    Item(T),
    /// This many items were dropped here, between the item before and the one after.
    Lagged(u64),
}

/// A queued item, and how many were dropped right before it.
#[derive(Debug)]
struct Entry<T> {
    item: T,
    bytes: usize,
    skipped_before: u64,
}

/// A drained queue whose buffer grew past this many slots gives it back (a burst's memory
/// must not stay with a reader once it caught up); below it, the buffer is kept for reuse.
const KEEP_CAPACITY: usize = 32;

/// A bounded queue with a lag count at each gap.
#[derive(Debug)]
pub(crate) struct BoundedQueue<T> {
    entries: VecDeque<Entry<T>>,
    bytes: usize,
    /// Dropped after the last queued entry (the next entry, or the reader catching up, takes it).
    skipped_tail: u64,
    limits: StreamBuffer,
    dropped: u64,
    peak_queued: usize,
    peak_bytes: usize,
}

impl<T> BoundedQueue<T> {
    /// An empty queue with these bounds; bounds of zero are taken as one (a queue always takes
    /// one item).
    pub(crate) fn new(limits: StreamBuffer) -> Self {
        Self {
            entries: VecDeque::new(),
            bytes: 0,
            skipped_tail: 0,
            limits,
            dropped: 0,
            peak_queued: 0,
            peak_bytes: 0,
        }
    }

    fn fits(&self, bytes: usize) -> bool {
        self.entries.is_empty()
            || (self.entries.len() < self.limits.max_items.max(1)
                && self.bytes.saturating_add(bytes) <= self.limits.max_bytes.max(1))
    }

    /// Queues `item` (counting `bytes`), dropping by the policy when full. Returns how many
    /// items were dropped (the new one, or old ones).
    pub(crate) fn push(&mut self, item: T, bytes: usize) -> u64 {
        let mut dropped = 0;
        match self.limits.overflow {
            StreamOverflow::DropNewest => {
                if !self.fits(bytes) {
                    self.skipped_tail += 1;
                    self.dropped += 1;
                    return 1;
                }
            }
            StreamOverflow::DropOldest => {
                let mut carried = 0;
                while !self.fits(bytes) {
                    let Some(oldest) = self.entries.pop_front() else { break };
                    self.bytes -= oldest.bytes;
                    carried += oldest.skipped_before + 1;
                    dropped += 1;
                }
                // The gap moves to what is now the oldest entry (or to the new one).
                match self.entries.front_mut() {
                    Some(front) => front.skipped_before += carried,
                    None => self.skipped_tail += carried,
                }
                self.dropped += dropped;
            }
        }
        let skipped_before = std::mem::take(&mut self.skipped_tail);
        self.entries.push_back(Entry { item, bytes, skipped_before });
        self.bytes += bytes;
        self.peak_queued = self.peak_queued.max(self.entries.len());
        self.peak_bytes = self.peak_bytes.max(self.bytes);
        dropped
    }

    /// The next thing for the reader: a lag notice where items were dropped, else the oldest
    /// item. `None` when there is nothing.
    pub(crate) fn pop(&mut self) -> Option<QueueItem<T>> {
        let Some(front) = self.entries.front_mut() else {
            let skipped = std::mem::take(&mut self.skipped_tail);
            return (skipped > 0).then_some(QueueItem::Lagged(skipped));
        };
        if front.skipped_before > 0 {
            return Some(QueueItem::Lagged(std::mem::take(&mut front.skipped_before)));
        }
        let entry = self.entries.pop_front()?;
        self.bytes -= entry.bytes;
        if self.entries.is_empty() && self.entries.capacity() > KEEP_CAPACITY {
            self.entries = VecDeque::new();
        }
        Some(QueueItem::Item(entry.item))
    }

    /// Drops everything queued and frees the buffer (the reader is gone).
    pub(crate) fn clear(&mut self) {
        self.entries = VecDeque::new();
        self.bytes = 0;
        self.skipped_tail = 0;
    }

    /// What it holds and has dropped.
    pub(crate) fn stats(&self) -> StreamStats {
        StreamStats {
            queued: self.entries.len(),
            queued_bytes: self.bytes,
            peak_queued: self.peak_queued,
            peak_bytes: self.peak_bytes,
            dropped: self.dropped,
        }
    }

    /// Slots its buffer has now (what it costs, beside the items).
    #[cfg(test)]
    fn capacity(&self) -> usize {
        self.entries.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(items: usize, bytes: usize, overflow: StreamOverflow) -> BoundedQueue<u32> {
        BoundedQueue::new(StreamBuffer::new(items, bytes).with_overflow(overflow))
    }

    fn drain(q: &mut BoundedQueue<u32>) -> Vec<QueueItem<u32>> {
        std::iter::from_fn(|| q.pop()).collect()
    }

    use QueueItem::{Item, Lagged};

    #[test]
    fn drop_oldest_keeps_the_newest_and_reports_the_gap_first() {
        let mut q = queue(3, 1000, StreamOverflow::DropOldest);
        let dropped: u64 = (0..10).map(|i| q.push(i, 1)).sum();
        assert_eq!(dropped, 7);
        assert_eq!(q.stats().queued, 3);
        assert_eq!(drain(&mut q), vec![Lagged(7), Item(7), Item(8), Item(9)]);
        assert_eq!(
            q.stats(),
            StreamStats { peak_queued: 3, peak_bytes: 3, dropped: 7, ..StreamStats::default() }
        );
    }

    #[test]
    fn drop_newest_keeps_the_oldest_and_reports_the_gap_where_it_is() {
        let mut q = queue(3, 1000, StreamOverflow::DropNewest);
        for i in 0..10 {
            q.push(i, 1);
        }
        assert_eq!(q.pop(), Some(Item(0)), "the oldest first: the gap comes after what is queued");
        q.push(10, 1);
        assert_eq!(
            drain(&mut q),
            vec![Item(1), Item(2), Lagged(7), Item(10)],
            "told where the seven were dropped, before the next one after them"
        );
        for i in 11..16 {
            q.push(i, 1);
        }
        assert_eq!(drain(&mut q), vec![Item(11), Item(12), Item(13), Lagged(2)], "and at the end");
        assert_eq!(q.stats().dropped, 9);
    }

    #[test]
    fn gaps_in_a_drained_reader_add_up_into_one_notice() {
        let mut q = queue(2, 1000, StreamOverflow::DropOldest);
        for i in 0..5 {
            q.push(i, 1);
        }
        assert_eq!(q.pop(), Some(Lagged(3)));
        for i in 5..9 {
            q.push(i, 1);
        }
        // 3 and 4 went (with 5 and 6), so the gap before 7 is four.
        assert_eq!(drain(&mut q), vec![Lagged(4), Item(7), Item(8)]);
    }

    #[test]
    fn the_byte_bound_drops_too_but_one_item_always_fits() {
        let mut q = queue(100, 10, StreamOverflow::DropOldest);
        q.push(1, 4);
        q.push(2, 4);
        q.push(3, 4);
        assert_eq!(q.stats().queued_bytes, 8, "the third pushed the first out");
        q.push(4, 50);
        assert_eq!(q.stats().queued, 1, "an item larger than the bound evicts all, then stays");
        assert_eq!(drain(&mut q), vec![Lagged(3), Item(4)]);
        let mut q = queue(100, 10, StreamOverflow::DropNewest);
        q.push(1, 50);
        assert_eq!(q.push(2, 1), 1, "nothing more while it holds more than the bound");
        assert_eq!(drain(&mut q), vec![Item(1), Lagged(1)]);
    }

    #[test]
    fn a_bound_of_zero_still_holds_one_item() {
        let mut q = queue(0, 0, StreamOverflow::DropOldest);
        q.push(1, 5);
        q.push(2, 5);
        assert_eq!(drain(&mut q), vec![Lagged(1), Item(2)]);
    }

    #[test]
    fn a_drained_queue_gives_its_buffer_back() {
        let mut q = queue(10_000, usize::MAX, StreamOverflow::DropOldest);
        for i in 0..5_000 {
            q.push(i, 1);
        }
        assert!(q.capacity() >= 5_000);
        drain(&mut q);
        assert_eq!(q.capacity(), 0, "the burst's buffer is freed once the reader caught up");
        for i in 0..8 {
            q.push(i, 1);
        }
        while q.stats().queued > 0 {
            q.pop();
        }
        assert!(q.capacity() > 0, "a small buffer is kept for reuse");
        q.push(1, 1);
        q.clear();
        assert_eq!((q.capacity(), q.stats().queued, q.stats().queued_bytes), (0, 0, 0));
    }
}
