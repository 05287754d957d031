//! The fan-out of events from the driver to every subscriber.

use crate::model::Event;
use std::sync::Mutex;
use tokio::sync::mpsc;

/// Fans events out to every live subscriber. Unbounded per subscriber so a message is never
/// lost to a slow reader; a reader that is dropped is removed on the next publish.
#[derive(Debug, Default)]
pub(crate) struct EventHub {
    subscribers: Mutex<Vec<mpsc::UnboundedSender<Event>>>,
}

impl EventHub {
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
