//! The stream of every event of a client, bounded ([`crate::StreamBuffer`]): a reader that
//! falls behind gets [`Event::Lagged`] where events were dropped.

use super::bounded_queue::QueueItem;
use super::fanout::{Receiver, StreamMeter, TryRecv};
use crate::model::{Event, StreamStats};
use futures_util::Stream;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Every event of a client, in order, from the moment it was created; where its reader fell
/// behind the stream's bounds, an [`Event::Lagged`] says how many were dropped there.
/// Dropping the stream frees what it held.
#[derive(Debug)]
pub struct EventStream {
    receiver: Receiver<Event>,
}

fn event(item: QueueItem<Event>) -> Event {
    match item {
        QueueItem::Item(event) => event,
        QueueItem::Lagged(skipped) => Event::Lagged { skipped },
    }
}

impl EventStream {
    pub(crate) fn new(receiver: Receiver<Event>) -> Self {
        Self { receiver }
    }

    /// The next event; `None` once the client's driver has stopped and everything queued was
    /// read.
    pub async fn recv(&mut self) -> Option<Event> {
        self.receiver.recv().await.map(event)
    }

    /// An event if one is waiting, without waiting.
    pub fn try_recv(&mut self) -> Option<Event> {
        match self.receiver.try_recv() {
            TryRecv::Ready(item) => Some(event(item)),
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

    /// A handle that reads [`EventStream::stats`] from elsewhere (another task, a dashboard)
    /// while this stream is being read.
    pub fn meter(&self) -> StreamMeter {
        self.receiver.meter()
    }
}

impl Stream for EventStream {
    type Item = Event;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Event>> {
        self.receiver.poll_recv(cx).map(|item| item.map(event))
    }
}
