//! The fan-out of events from the driver to every subscriber, and the one fact kept for readers
//! who come later: why the durable outbox fell back to memory.

use crate::model::{Error, Event};
use std::sync::Mutex;
use tokio::sync::mpsc;

/// Fans events out to every live subscriber. Unbounded per subscriber so a message is never
/// lost to a slow reader; a reader that is dropped is removed on the next publish.
#[derive(Debug, Default)]
pub(crate) struct EventHub {
    subscribers: Mutex<Vec<mpsc::UnboundedSender<Event>>>,
    /// Set once the durable outbox failed (at start, before anyone could subscribe, or later).
    storage_error: Mutex<Option<Error>>,
}

impl EventHub {
    /// The durable outbox failed: remembered for [`EventHub::storage_error`] and published as
    /// an error event.
    pub(crate) fn storage_failed(&self, error: Error) {
        *self.storage_error.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) =
            Some(error.clone());
        self.publish(&Event::Error(error));
    }

    /// Why the durable outbox fell back to memory, if it did.
    pub(crate) fn storage_error(&self) -> Option<Error> {
        self.storage_error.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    pub(crate) fn subscribe(&self) -> mpsc::UnboundedReceiver<Event> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.lock().push(tx);
        rx
    }

    pub(crate) fn publish(&self, event: &Event) {
        self.lock().retain(|tx| tx.send(event.clone()).is_ok());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<mpsc::UnboundedSender<Event>>> {
        // A poisoned lock only means a subscriber panicked mid-push; the list is still sound.
        self.subscribers.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
