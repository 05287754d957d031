//! What the session keeps for its durable outbox, apart from the session itself: the sequence
//! numbers (reserved a block at a time), the at-least-once messages in flight by ack id, and the
//! batch of changes the driver writes next. Pure bookkeeping; `durable` decides when to use it.

use crate::model::{AckId, StoreBatch, StoredMessage};
use std::collections::HashMap;

/// Sequence numbers reserved at a time: the store's counter is written once per block, not once
/// per message, and a restarted client starts after the last block (ids are never reused).
const SEQ_BLOCK: u64 = 1024;

/// What the session keeps for its durable outbox.
#[derive(Debug)]
pub(super) struct Persistence {
    /// The store's random id, the prefix of the message ids the session assigns.
    instance: String,
    next_seq: u64,
    reserved_until: u64,
    /// At-least-once messages written and awaiting their acknowledgement: their `seq` by ack id.
    in_flight: HashMap<AckId, u64>,
    batch: StoreBatch,
}

impl Persistence {
    pub(super) fn new(instance: String, next_seq: u64) -> Self {
        Self {
            instance,
            next_seq,
            reserved_until: next_seq,
            in_flight: HashMap::new(),
            batch: StoreBatch::default(),
        }
    }

    /// The store's id, the prefix of the message ids the session assigns.
    pub(super) fn instance(&self) -> &str {
        &self.instance
    }

    /// The next sequence number; reserves a new block (written with the next batch) when the
    /// last one is used up.
    pub(super) fn take_seq(&mut self) -> u64 {
        if self.next_seq >= self.reserved_until {
            self.reserved_until = self.next_seq.saturating_add(SEQ_BLOCK);
            self.batch.reserved_until = Some(self.reserved_until);
        }
        let seq = self.next_seq;
        self.next_seq = self.next_seq.saturating_add(1);
        seq
    }

    /// Keeps a message (written with the next batch).
    pub(super) fn persist(&mut self, record: StoredMessage) {
        self.batch.persist.push(record);
    }

    /// The changes since the last call, if any.
    pub(super) fn take_batch(&mut self) -> Option<StoreBatch> {
        if self.batch.is_empty() {
            return None;
        }
        Some(std::mem::take(&mut self.batch))
    }

    /// Forgets a kept message (with the next batch).
    pub(super) fn forget(&mut self, seq: Option<u64>) {
        if let Some(seq) = seq {
            self.batch.forget.push(seq);
        }
    }

    /// An incoming message's key entered the de-duplication window.
    pub(super) fn seen(&mut self, hash: u64) {
        self.batch.seen.push(hash);
    }

    /// An at-least-once message was written: it stays kept until `id` settles.
    pub(super) fn sent(&mut self, id: AckId, seq: u64) {
        self.in_flight.insert(id, seq);
    }

    /// The acknowledgement `id` settled (answered or failed): its message, if kept, goes.
    pub(super) fn settled(&mut self, id: AckId) {
        let seq = self.in_flight.remove(&id);
        self.forget(seq);
    }

    /// The connection dropped before `id` was answered: its message goes back to the outbox,
    /// still kept.
    pub(super) fn requeued(&mut self, id: AckId) -> Option<u64> {
        self.in_flight.remove(&id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_numbers_are_reserved_a_block_at_a_time() {
        let mut p = Persistence::new("abc".into(), 7);
        assert_eq!(p.take_seq(), 7);
        assert_eq!(p.take_batch().and_then(|b| b.reserved_until), Some(7 + SEQ_BLOCK));
        for _ in 1..SEQ_BLOCK {
            p.take_seq();
        }
        assert!(p.take_batch().is_none(), "nothing to write while the block lasts");
        assert_eq!(p.take_seq(), 7 + SEQ_BLOCK);
        assert_eq!(p.take_batch().and_then(|b| b.reserved_until), Some(7 + 2 * SEQ_BLOCK));
    }

    #[test]
    fn an_in_flight_message_is_forgotten_once_when_it_settles_and_not_when_requeued() {
        let mut p = Persistence::new("abc".into(), 1);
        p.sent(AckId(1), 5);
        assert_eq!(p.requeued(AckId(1)), Some(5), "back to the outbox, still kept");
        p.settled(AckId(1));
        assert!(p.take_batch().is_none(), "the outbox has custody now, not the ack");
        p.sent(AckId(2), 6);
        p.settled(AckId(2));
        p.settled(AckId(2));
        assert_eq!(p.take_batch().map(|b| b.forget), Some(vec![6]));
    }
}
