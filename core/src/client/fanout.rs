//! The fan-out of items (the client's events, a collaboration's events) to every subscriber,
//! each through a bounded queue of its own ([`BoundedQueue`]).
//!
//! A subscriber's filter runs at publish time, before anything is cloned or queued, so a
//! subscription that wants one event name never holds the others. A reader that is dropped
//! leaves at once: its queue is freed and it is taken off the list in its `Drop`, not at the
//! next publish. When the fan-out itself goes (the client or collaboration stopped), every
//! reader sees the end of its stream once it has read what was queued.

use super::bounded_queue::BoundedQueue;
pub(crate) use super::bounded_queue::QueueItem;
use crate::config::StreamBuffer;
use crate::model::StreamStats;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll, Waker};

/// Which items a subscriber wants, decided before anything is queued.
pub(crate) type Filter<T> = Box<dyn Fn(&T) -> bool + Send + Sync>;

/// Locks, ignoring poison: a panic elsewhere while holding one of these locks leaves the data
/// sound (every update is a single push, pop or assignment).
fn lock<V>(mutex: &Mutex<V>) -> MutexGuard<'_, V> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One reader's queue and what the publisher needs to wake it.
struct Slot<T> {
    queue: BoundedQueue<T>,
    waker: Option<Waker>,
    closed: bool,
}

type SharedSlot<T> = Arc<Mutex<Slot<T>>>;

struct Subscriber<T> {
    id: u64,
    filter: Option<Filter<T>>,
    slot: SharedSlot<T>,
}

struct Registry<T> {
    subscribers: Mutex<Vec<Subscriber<T>>>,
    next_id: AtomicU64,
    dropped: AtomicU64,
    defaults: Mutex<StreamBuffer>,
    size: fn(&T) -> usize,
}

impl<T> Drop for Registry<T> {
    fn drop(&mut self) {
        let subscribers = std::mem::take(&mut *lock(&self.subscribers));
        for subscriber in subscribers {
            let waker = {
                let mut slot = lock(&subscriber.slot);
                slot.closed = true;
                slot.waker.take()
            };
            if let Some(waker) = waker {
                waker.wake();
            }
        }
    }
}

/// The publishing side, shared by whoever publishes and whoever hands out streams.
pub(crate) struct Fanout<T> {
    registry: Arc<Registry<T>>,
}

impl<T> std::fmt::Debug for Fanout<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fanout").field("subscribers", &self.subscribers()).finish_non_exhaustive()
    }
}

/// What every stream of a fan-out holds and has dropped, added up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct FanoutTotals {
    pub streams: usize,
    pub queued: usize,
    pub queued_bytes: usize,
    pub dropped: u64,
}

impl<T> Fanout<T> {
    /// The bounds of streams made from now on without bounds of their own.
    pub(crate) fn set_defaults(&self, defaults: StreamBuffer) {
        *lock(&self.registry.defaults) = defaults;
    }

    /// Streams open now.
    pub(crate) fn subscribers(&self) -> usize {
        lock(&self.registry.subscribers).len()
    }

    /// What the open streams hold now, and what every stream ever dropped.
    pub(crate) fn totals(&self) -> FanoutTotals {
        let subscribers = lock(&self.registry.subscribers);
        let mut totals = FanoutTotals {
            streams: subscribers.len(),
            dropped: self.registry.dropped.load(Ordering::Relaxed),
            ..FanoutTotals::default()
        };
        for subscriber in subscribers.iter() {
            let stats = lock(&subscriber.slot).queue.stats();
            totals.queued += stats.queued;
            totals.queued_bytes += stats.queued_bytes;
        }
        totals
    }
}

impl<T: Clone> Fanout<T> {
    /// A fan-out whose streams are bounded by `defaults` unless they name their own, and whose
    /// items weigh `size(item)` bytes.
    pub(crate) fn new(defaults: StreamBuffer, size: fn(&T) -> usize) -> Self {
        let registry = Registry {
            subscribers: Mutex::new(Vec::new()),
            next_id: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            defaults: Mutex::new(defaults),
            size,
        };
        Self { registry: Arc::new(registry) }
    }

    /// A new stream: `buffer` (else the defaults) bounds it, `filter` (else everything) says
    /// what it queues.
    pub(crate) fn subscribe(
        &self,
        buffer: Option<StreamBuffer>,
        filter: Option<Filter<T>>,
    ) -> Receiver<T> {
        let limits = buffer.unwrap_or_else(|| *lock(&self.registry.defaults));
        let slot = Arc::new(Mutex::new(Slot {
            queue: BoundedQueue::new(limits),
            waker: None,
            closed: false,
        }));
        let id = self.registry.next_id.fetch_add(1, Ordering::Relaxed);
        lock(&self.registry.subscribers).push(Subscriber { id, filter, slot: slot.clone() });
        Receiver { slot, registry: Arc::downgrade(&self.registry), id }
    }

    /// Queues a clone of `item` for every subscriber whose filter takes it. Clones, even for a
    /// single subscriber: a clone is allocated to its exact size, where the parsed original
    /// keeps its parser's spare capacity (measured: an unread stream of 16,384 small events
    /// holds about 1.5 MiB less as clones than as originals).
    pub(crate) fn publish(&self, item: &T) {
        let mut bytes = None;
        let mut dropped = 0;
        let subscribers = lock(&self.registry.subscribers);
        for subscriber in subscribers.iter() {
            if subscriber.filter.as_ref().is_some_and(|wants| !wants(item)) {
                continue;
            }
            let size = *bytes.get_or_insert_with(|| (self.registry.size)(item));
            let waker = {
                let mut slot = lock(&subscriber.slot);
                dropped += slot.queue.push(item.clone(), size);
                slot.waker.take()
            };
            if let Some(waker) = waker {
                waker.wake();
            }
        }
        drop(subscribers);
        if dropped > 0 {
            self.registry.dropped.fetch_add(dropped, Ordering::Relaxed);
        }
    }
}

/// What a non-waiting read found.
#[derive(Debug, PartialEq)]
pub(crate) enum TryRecv<T> {
    /// An item or a lag notice.
    Ready(QueueItem<T>),
    /// Nothing now.
    Empty,
    /// Nothing, and nothing will come: the fan-out is gone.
    Closed,
}

/// The reading side of one stream. Dropping it frees its queue and takes it off the list.
pub(crate) struct Receiver<T> {
    slot: SharedSlot<T>,
    registry: Weak<Registry<T>>,
    id: u64,
}

impl<T> std::fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver").field("stats", &self.stats()).finish_non_exhaustive()
    }
}

impl<T> Receiver<T> {
    /// The next item or lag notice; `Ready(None)` once the fan-out is gone and all is read.
    /// Cancel-safe: nothing is taken unless it is returned.
    pub(crate) fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Option<QueueItem<T>>> {
        let mut slot = lock(&self.slot);
        if let Some(item) = slot.queue.pop() {
            return Poll::Ready(Some(item));
        }
        if slot.closed {
            return Poll::Ready(None);
        }
        if !slot.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            slot.waker = Some(cx.waker().clone());
        }
        Poll::Pending
    }

    /// Waits for the next item or lag notice; `None` once the fan-out is gone and all is read.
    pub(crate) async fn recv(&self) -> Option<QueueItem<T>> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// The next item or lag notice if there is one, without waiting.
    pub(crate) fn try_recv(&self) -> TryRecv<T> {
        let mut slot = lock(&self.slot);
        match slot.queue.pop() {
            Some(item) => TryRecv::Ready(item),
            None if slot.closed => TryRecv::Closed,
            None => TryRecv::Empty,
        }
    }

    /// This stream's queue now.
    pub(crate) fn stats(&self) -> StreamStats {
        lock(&self.slot).queue.stats()
    }
}

impl<T: Send + 'static> Receiver<T> {
    /// A handle that reads this stream's [`StreamStats`] from anywhere, for as long as it lives
    /// (after the stream is dropped it keeps the last figures, queue empty).
    pub(crate) fn meter(&self) -> StreamMeter {
        StreamMeter { slot: self.slot.clone() }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        // Free what was queued now: nobody will read it.
        lock(&self.slot).queue.clear();
        if let Some(registry) = self.registry.upgrade() {
            lock(&registry.subscribers).retain(|s| s.id != self.id);
        }
    }
}

/// Reads a stream's figures without holding the stream (the bindings' subscription handles
/// keep one while a task owns the stream).
#[derive(Clone)]
pub struct StreamMeter {
    slot: Arc<dyn MeteredSlot>,
}

impl std::fmt::Debug for StreamMeter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("StreamMeter").field(&self.stats()).finish()
    }
}

impl StreamMeter {
    /// The stream's queue now: queued items and bytes, the peaks, and what it dropped.
    pub fn stats(&self) -> StreamStats {
        self.slot.stats()
    }
}

trait MeteredSlot: Send + Sync {
    fn stats(&self) -> StreamStats;
}

impl<T: Send> MeteredSlot for Mutex<Slot<T>> {
    fn stats(&self) -> StreamStats {
        lock(self).queue.stats()
    }
}

#[cfg(test)]
mod tests;
