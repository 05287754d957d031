//! The fan-out of a collaboration's events to its subscribers, and the stream each one reads.

use super::state::CollabEvent;
use futures_util::Stream;
use std::pin::Pin;
use std::sync::Mutex;
use std::task::{Context, Poll};
use tokio::sync::mpsc;

/// Subscribers of a collaboration's events.
#[derive(Debug, Default)]
pub(crate) struct CollabHub {
    subscribers: Mutex<Vec<mpsc::UnboundedSender<CollabEvent>>>,
}

impl CollabHub {
    pub(crate) fn subscribe(&self) -> mpsc::UnboundedReceiver<CollabEvent> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.lock().push(tx);
        rx
    }

    pub(crate) fn publish(&self, event: CollabEvent) {
        self.lock().retain(|tx| tx.send(event.clone()).is_ok());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<mpsc::UnboundedSender<CollabEvent>>> {
        // A poisoned lock only means a subscriber panicked mid-push; the list is still sound.
        self.subscribers.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The events of a collaboration from the moment the stream was made.
#[derive(Debug)]
pub struct CollabEventStream {
    pub(crate) receiver: mpsc::UnboundedReceiver<CollabEvent>,
}

impl CollabEventStream {
    /// The next event; `None` once the collaboration stopped.
    pub async fn recv(&mut self) -> Option<CollabEvent> {
        self.receiver.recv().await
    }

    /// An event if one is waiting.
    pub fn try_recv(&mut self) -> Option<CollabEvent> {
        self.receiver.try_recv().ok()
    }
}

impl Stream for CollabEventStream {
    type Item = CollabEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<CollabEvent>> {
        self.receiver.poll_recv(cx)
    }
}
