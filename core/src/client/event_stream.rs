//! What a reader holds: a stream of one fan-out's items through its own bounded queue, with
//! the lag notices made into items of the stream's own type ([`Event::Lagged`] for the
//! client's events, `CollabEvent::Lagged` for a collaboration's).

use super::bounded_queue::QueueItem;
use super::fanout::{Receiver, StreamMeter, TryRecv};
use crate::model::{Event, StreamStats};
use futures_util::Stream;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Items from the moment the stream was made, in order; where its reader fell behind the
/// stream's bounds (`StreamBuffer`), a lag notice says how many were dropped there. Dropping
/// the stream frees what it held.
pub struct BoundedStream<T> {
    receiver: Receiver<T>,
    lagged: fn(u64) -> T,
}

/// Every event of a client, in order, from the moment it was created; where its reader fell
/// behind the stream's bounds, an [`Event::Lagged`] says how many were dropped there.
/// Dropping the stream frees what it held.
pub type EventStream = BoundedStream<Event>;

impl<T> std::fmt::Debug for BoundedStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoundedStream").field("stats", &self.receiver.stats()).finish()
    }
}

impl EventStream {
    pub(crate) fn new(receiver: Receiver<Event>) -> Self {
        BoundedStream::with_notice(receiver, |skipped| Event::Lagged { skipped })
    }
}

impl<T> BoundedStream<T> {
    /// Reads `receiver`, turning its lag notices into items with `lagged`.
    pub(crate) fn with_notice(receiver: Receiver<T>, lagged: fn(u64) -> T) -> Self {
        Self { receiver, lagged }
    }

    fn item(&self, item: QueueItem<T>) -> T {
        match item {
            QueueItem::Item(item) => item,
            QueueItem::Lagged(skipped) => (self.lagged)(skipped),
        }
    }

    /// The next item; `None` once its source (the client's driver, the collaboration) has
    /// stopped and everything queued was read.
    pub async fn recv(&mut self) -> Option<T> {
        let item = self.receiver.recv().await?;
        Some(self.item(item))
    }

    /// An item if one is waiting, without waiting.
    pub fn try_recv(&mut self) -> Option<T> {
        match self.receiver.try_recv() {
            TryRecv::Ready(item) => Some(self.item(item)),
            TryRecv::Empty | TryRecv::Closed => None,
        }
    }

    /// This stream's queue now: what waits, the peaks, and what was dropped.
    ///
    /// ```no_run
    /// # fn demo(client: &tether_core::Client) {
    /// let events = client.events();
    /// // ... later, in a settings screen:
    /// let stats = events.stats();
    /// println!("{} waiting, {} dropped", stats.queued, stats.dropped);
    /// # }
    /// ```
    pub fn stats(&self) -> StreamStats {
        self.receiver.stats()
    }

    /// A handle that reads [`BoundedStream::stats`] from elsewhere (another task, a dashboard)
    /// while this stream is being read.
    pub fn meter(&self) -> StreamMeter
    where
        T: Send + 'static,
    {
        self.receiver.meter()
    }
}

impl<T> Stream for BoundedStream<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        this.receiver.poll_recv(cx).map(|item| item.map(|item| this.item(item)))
    }
}
