//! The fan-out of a collaboration's events to its subscribers, and the stream each one reads:
//! the client's bounded [`Fanout`], so a reader that falls behind costs at most its
//! `CollabConfig::stream_buffer` and is told with [`CollabEvent::Lagged`] where it lost events.

use super::state::CollabEvent;
use crate::client::fanout::{Fanout, QueueItem, Receiver, TryRecv};
use crate::client::StreamMeter;
use crate::config::StreamBuffer;
use crate::model::StreamStats;
use futures_util::Stream;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Subscribers of a collaboration's events.
pub(crate) type CollabHub = Fanout<CollabEvent>;

/// The hub of a collaboration whose streams are bounded by `defaults`.
pub(crate) fn collab_hub(defaults: StreamBuffer) -> CollabHub {
    Fanout::new(defaults, CollabEvent::size_hint)
}

/// The events of a collaboration from the moment the stream was made; where its reader fell
/// behind the stream's bounds, a [`CollabEvent::Lagged`] says how many were dropped there.
/// Dropping the stream frees what it held.
#[derive(Debug)]
pub struct CollabEventStream {
    receiver: Receiver<CollabEvent>,
}

fn event(item: QueueItem<CollabEvent>) -> CollabEvent {
    match item {
        QueueItem::Item(event) => event,
        QueueItem::Lagged(skipped) => CollabEvent::Lagged { skipped },
    }
}

impl CollabEventStream {
    pub(crate) fn new(receiver: Receiver<CollabEvent>) -> Self {
        Self { receiver }
    }

    /// The next event; `None` once the collaboration stopped and everything queued was read.
    pub async fn recv(&mut self) -> Option<CollabEvent> {
        self.receiver.recv().await.map(event)
    }

    /// An event if one is waiting.
    pub fn try_recv(&mut self) -> Option<CollabEvent> {
        match self.receiver.try_recv() {
            TryRecv::Ready(item) => Some(event(item)),
            TryRecv::Empty | TryRecv::Closed => None,
        }
    }

    /// This stream's queue now: what waits, the peaks, and what was dropped.
    pub fn stats(&self) -> StreamStats {
        self.receiver.stats()
    }

    /// A handle that reads [`CollabEventStream::stats`] from elsewhere while this is read.
    pub fn meter(&self) -> StreamMeter {
        self.receiver.meter()
    }
}

impl Stream for CollabEventStream {
    type Item = CollabEvent;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<CollabEvent>> {
        self.receiver.poll_recv(cx).map(|item| item.map(event))
    }
}
