//! The offline queue: what the app sent while there was no connection, bounded by count and
//! bytes, flushed in order when the connection is back.

use crate::config::OverflowPolicy;
use crate::model::{AckId, DropReason, OutgoingMessage};
use std::collections::VecDeque;
use std::time::Instant;

/// One queued send.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedMessage {
    /// What to send.
    pub message: OutgoingMessage,
    /// The acknowledgement it asked for, if any (kept so a re-send keeps the same id).
    pub ack: Option<AckId>,
    /// When it stops being worth sending, if the outbox has a TTL.
    pub expires_at: Option<Instant>,
    /// Its size as counted against the byte bound.
    pub size: usize,
    /// Its `seq` in the durable outbox, while the store keeps it (`None` in memory).
    pub stored: Option<u64>,
}

/// The result of [`Outbox::push`].
#[derive(Debug, PartialEq)]
pub enum PushOutcome {
    /// Queued; these older messages were dropped to make room (empty if none).
    Queued(Vec<QueuedMessage>),
    /// Not queued: the message comes back with the reason.
    NotQueued(QueuedMessage, DropReason),
}

/// The bounded FIFO itself.
#[derive(Debug, Clone)]
pub struct Outbox {
    items: VecDeque<QueuedMessage>,
    bytes: usize,
    /// Items with an `expires_at`: when none has one (no TTL, no at-least-once re-sends), the
    /// timer's question is answered without a walk over the queue, which the driver asks on
    /// every turn (10,000 queued offline made that quadratic).
    expiring: usize,
    max_messages: usize,
    max_bytes: usize,
    policy: OverflowPolicy,
}

impl Outbox {
    /// An empty outbox with the given bounds.
    pub fn new(max_messages: usize, max_bytes: usize, policy: OverflowPolicy) -> Self {
        Self { items: VecDeque::new(), bytes: 0, expiring: 0, max_messages, max_bytes, policy }
    }

    /// Messages queued.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Bytes queued (by [`OutgoingMessage::size_hint`]).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Changes the bounds and policy; returns what no longer fits (oldest first) so the caller
    /// can report the drops.
    pub fn set_limits(
        &mut self,
        max_messages: usize,
        max_bytes: usize,
        policy: OverflowPolicy,
    ) -> Vec<QueuedMessage> {
        self.max_messages = max_messages;
        self.max_bytes = max_bytes;
        self.policy = policy;
        let mut dropped = Vec::new();
        while self.items.len() > self.max_messages || self.bytes > self.max_bytes {
            match self.pop_front() {
                Some(item) => dropped.push(item),
                None => break,
            }
        }
        dropped
    }

    /// Queues a message at the back, applying the overflow policy.
    pub fn push(&mut self, item: QueuedMessage) -> PushOutcome {
        if item.size > self.max_bytes {
            return PushOutcome::NotQueued(item, DropReason::TooLarge);
        }
        if self.max_messages == 0 {
            // Nothing can ever be queued: refuse before the overflow policy evicts anything (the
            // re-sends put back past the bounds must not be lost for a message that cannot stay).
            return PushOutcome::NotQueued(item, DropReason::Overflow);
        }
        let fits = |outbox: &Self| {
            outbox.items.len() < outbox.max_messages && outbox.bytes + item.size <= outbox.max_bytes
        };
        let mut dropped = Vec::new();
        if !fits(self) {
            if self.policy != OverflowPolicy::DropOldest {
                return PushOutcome::NotQueued(item, DropReason::Overflow);
            }
            // An empty outbox has room (checked above): this ends, and what it evicts is
            // reported by the caller.
            while !fits(self) {
                let Some(old) = self.pop_front() else { break };
                dropped.push(old);
            }
        }
        self.bytes += item.size;
        self.expiring += usize::from(item.expires_at.is_some());
        self.items.push_back(item);
        PushOutcome::Queued(dropped)
    }

    /// Removes the queued message waiting for acknowledgement `ack` (it timed out while queued).
    pub fn remove_by_ack(&mut self, ack: AckId) -> Option<QueuedMessage> {
        let index = self.items.iter().position(|i| i.ack == Some(ack))?;
        let item = self.items.remove(index)?;
        self.bytes -= item.size;
        self.expiring -= usize::from(item.expires_at.is_some());
        Some(item)
    }

    /// Puts messages back at the front, in the order given (at-least-once re-sends, which must go
    /// out before anything queued later). They bypass the bounds: they were accepted already.
    pub fn push_front_all(&mut self, items: Vec<QueuedMessage>) {
        for item in items.into_iter().rev() {
            self.bytes += item.size;
            self.expiring += usize::from(item.expires_at.is_some());
            self.items.push_front(item);
        }
    }

    /// Takes the oldest message.
    pub fn pop_front(&mut self) -> Option<QueuedMessage> {
        let item = self.items.pop_front()?;
        self.bytes -= item.size;
        self.expiring -= usize::from(item.expires_at.is_some());
        Some(item)
    }

    /// Removes and returns every message whose TTL has passed at `now`, in queue order.
    pub fn expire(&mut self, now: Instant) -> Vec<QueuedMessage> {
        if self.expiring == 0 {
            return Vec::new();
        }
        self.take_where(|i| i.expires_at.is_some_and(|t| t <= now))
    }

    /// Removes and returns every message `pick` chooses, in queue order; the rest keep their
    /// order (messages waiting for a room to be joined stay while others go out).
    pub fn take_where(
        &mut self,
        mut pick: impl FnMut(&QueuedMessage) -> bool,
    ) -> Vec<QueuedMessage> {
        if !self.items.iter().any(&mut pick) {
            return Vec::new();
        }
        let (taken, kept): (VecDeque<_>, VecDeque<_>) = self.items.drain(..).partition(pick);
        self.items = kept;
        self.bytes = self.items.iter().map(|i| i.size).sum();
        self.expiring = self.items.iter().filter(|i| i.expires_at.is_some()).count();
        taken.into()
    }

    /// The earliest TTL deadline, for the session's timer.
    pub fn next_expiry(&self) -> Option<Instant> {
        if self.expiring == 0 {
            return None;
        }
        self.items.iter().filter_map(|i| i.expires_at).min()
    }

    /// Empties the outbox, returning what was queued.
    pub fn clear(&mut self) -> Vec<QueuedMessage> {
        self.bytes = 0;
        self.expiring = 0;
        self.items.drain(..).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::Duration;

    fn item(n: u64, size: usize) -> QueuedMessage {
        QueuedMessage {
            message: OutgoingMessage::new("m", json!(n)),
            ack: None,
            expires_at: None,
            size,
            stored: None,
        }
    }

    fn numbers(outbox: &mut Outbox) -> Vec<u64> {
        std::iter::from_fn(|| outbox.pop_front())
            .map(|q| q.message.data[0].as_u64().unwrap_or(0))
            .collect()
    }

    #[test]
    fn drop_oldest_keeps_the_newest_messages() {
        let mut o = Outbox::new(3, 1000, OverflowPolicy::DropOldest);
        for n in 1..=3 {
            assert_eq!(o.push(item(n, 10)), PushOutcome::Queued(vec![]));
        }
        match o.push(item(4, 10)) {
            PushOutcome::Queued(dropped) => assert_eq!(dropped, vec![item(1, 10)]),
            other => panic!("{other:?}"),
        }
        assert_eq!(numbers(&mut o), vec![2, 3, 4]);
    }

    #[test]
    fn drop_newest_keeps_what_is_queued() {
        let mut o = Outbox::new(2, 1000, OverflowPolicy::DropNewest);
        o.push(item(1, 10));
        o.push(item(2, 10));
        assert_eq!(o.push(item(3, 10)), PushOutcome::NotQueued(item(3, 10), DropReason::Overflow));
        assert_eq!(numbers(&mut o), vec![1, 2]);
    }

    #[test]
    fn reject_refuses_and_keeps_everything() {
        let mut o = Outbox::new(1, 1000, OverflowPolicy::Reject);
        o.push(item(1, 10));
        assert!(matches!(o.push(item(2, 10)), PushOutcome::NotQueued(_, DropReason::Overflow)));
        assert_eq!(o.len(), 1);
    }

    #[test]
    fn byte_bound_drops_as_many_old_messages_as_needed() {
        let mut o = Outbox::new(100, 100, OverflowPolicy::DropOldest);
        o.push(item(1, 40));
        o.push(item(2, 40));
        match o.push(item(3, 70)) {
            PushOutcome::Queued(dropped) => assert_eq!(dropped.len(), 2),
            other => panic!("{other:?}"),
        }
        assert_eq!(o.bytes(), 70);
    }

    #[test]
    fn a_message_larger_than_the_byte_bound_is_never_queued() {
        let mut o = Outbox::new(100, 100, OverflowPolicy::DropOldest);
        o.push(item(1, 10));
        assert!(matches!(o.push(item(2, 101)), PushOutcome::NotQueued(_, DropReason::TooLarge)));
        assert_eq!(o.len(), 1);
    }

    #[test]
    fn a_zero_bound_queues_nothing() {
        let mut o = Outbox::new(0, 1000, OverflowPolicy::DropOldest);
        assert!(matches!(o.push(item(1, 1)), PushOutcome::NotQueued(_, DropReason::Overflow)));
        assert!(o.is_empty());
    }

    #[test]
    fn a_zero_bound_evicts_nothing_for_a_message_it_cannot_keep() {
        // Re-sends put back past the bounds (the limits were lowered to zero meanwhile) stay:
        // evicting them for a message that cannot be queued either would lose them unreported.
        let mut o = Outbox::new(0, 1000, OverflowPolicy::DropOldest);
        o.push_front_all(vec![item(1, 10), item(2, 10)]);
        assert!(matches!(o.push(item(3, 1)), PushOutcome::NotQueued(_, DropReason::Overflow)));
        assert_eq!(o.len(), 2);
    }

    #[test]
    fn remove_by_ack_takes_only_that_message() {
        let mut o = Outbox::new(10, 1000, OverflowPolicy::DropOldest);
        let mut a = item(1, 5);
        a.ack = Some(AckId(7));
        o.push(item(0, 5));
        o.push(a);
        assert_eq!(o.remove_by_ack(AckId(7)).map(|q| q.size), Some(5));
        assert_eq!((o.len(), o.bytes()), (1, 5));
    }

    #[test]
    fn expire_removes_only_what_is_due() {
        let now = Instant::now();
        let mut o = Outbox::new(10, 1000, OverflowPolicy::DropOldest);
        let mut a = item(1, 1);
        a.expires_at = Some(now + Duration::from_secs(1));
        let mut b = item(2, 1);
        b.expires_at = Some(now + Duration::from_secs(5));
        o.push(a);
        o.push(b);
        o.push(item(3, 1));
        assert_eq!(o.next_expiry(), Some(now + Duration::from_secs(1)));
        assert_eq!(o.expire(now + Duration::from_secs(2)).len(), 1);
        assert_eq!(o.bytes(), 2);
        assert_eq!(numbers(&mut o), vec![2, 3]);
    }

    #[test]
    fn next_expiry_follows_items_in_and_out_of_the_queue() {
        let now = Instant::now();
        let mut o = Outbox::new(10, 1000, OverflowPolicy::DropOldest);
        o.push(item(1, 1));
        assert_eq!(o.next_expiry(), None);
        let mut a = item(2, 1);
        a.expires_at = Some(now + Duration::from_secs(3));
        a.ack = Some(AckId(9));
        o.push(a);
        let mut b = item(3, 1);
        b.expires_at = Some(now + Duration::from_secs(1));
        o.push_front_all(vec![b]);
        assert_eq!(o.next_expiry(), Some(now + Duration::from_secs(1)));
        assert_eq!(o.pop_front().map(|q| q.size), Some(1));
        assert_eq!(o.next_expiry(), Some(now + Duration::from_secs(3)));
        assert!(o.remove_by_ack(AckId(9)).is_some());
        assert_eq!(o.next_expiry(), None);
        assert!(o.expire(now + Duration::from_secs(60)).is_empty());
        assert_eq!(o.len(), 1);
    }

    #[test]
    fn shrinking_limits_returns_the_oldest_overflow() {
        let mut o = Outbox::new(10, 1000, OverflowPolicy::DropOldest);
        for n in 1..=5 {
            o.push(item(n, 1));
        }
        assert_eq!(o.set_limits(2, 1000, OverflowPolicy::DropOldest).len(), 3);
        assert_eq!(numbers(&mut o), vec![4, 5]);
    }

    #[test]
    fn push_front_all_keeps_given_order_before_the_rest() {
        let mut o = Outbox::new(10, 1000, OverflowPolicy::DropOldest);
        o.push(item(3, 1));
        o.push_front_all(vec![item(1, 1), item(2, 1)]);
        assert_eq!(numbers(&mut o), vec![1, 2, 3]);
    }

    #[test]
    fn take_where_keeps_the_order_of_both_parts_and_the_byte_count() {
        let mut outbox = Outbox::new(10, 1_000, OverflowPolicy::DropOldest);
        for n in 0..6 {
            outbox.push(item(n, 10));
        }
        let even = |i: &QueuedMessage| i.message.data[0].as_u64().is_some_and(|n| n % 2 == 0);
        let taken: Vec<_> =
            outbox.take_where(even).into_iter().map(|i| i.message.data[0].clone()).collect();
        assert_eq!(taken, [json!(0), json!(2), json!(4)]);
        assert_eq!((outbox.len(), outbox.bytes()), (3, 30));
        let rest: Vec<_> =
            std::iter::from_fn(|| outbox.pop_front()).map(|i| i.message.data[0].clone()).collect();
        assert_eq!(rest, [json!(1), json!(3), json!(5)]);
        assert!(outbox.take_where(|_| true).is_empty());
    }
}
