//! The fan-out of the client's events from the driver to every stream (a [`Fanout`] of
//! [`Event`]s weighed by their size hints, bounded by `Config::stream_buffer`), and the one fact
//! kept for readers who come later: why the durable outbox fell back to memory.

use super::fanout::{Fanout, FanoutTotals, Filter, Receiver};
use crate::config::StreamBuffer;
use crate::model::{Error, Event};
use std::sync::Mutex;

/// Fans the client's events out to every live stream (see [`Fanout`]).
#[derive(Debug)]
pub(crate) struct EventHub {
    fanout: Fanout<Event>,
    /// Set once the durable outbox failed (at start, before anyone could subscribe, or later).
    storage_error: Mutex<Option<Error>>,
}

impl EventHub {
    /// The hub of a client whose config bounds streams by `defaults`.
    pub(crate) fn new(defaults: StreamBuffer) -> Self {
        Self { fanout: Fanout::new(defaults, Event::size_hint), storage_error: Mutex::new(None) }
    }

    /// A new stream: `buffer` (else the defaults) bounds it, `filter` (else everything) says
    /// what it queues.
    pub(crate) fn subscribe(
        &self,
        buffer: Option<StreamBuffer>,
        filter: Option<Filter<Event>>,
    ) -> Receiver<Event> {
        self.fanout.subscribe(buffer, filter)
    }

    /// Queues `event` for every stream that wants it.
    pub(crate) fn publish(&self, event: &Event) {
        self.fanout.publish(event);
    }

    /// The bounds of streams made from now on without bounds of their own.
    pub(crate) fn set_defaults(&self, defaults: StreamBuffer) {
        self.fanout.set_defaults(defaults);
    }

    /// What the open streams hold now, and what every stream ever dropped.
    pub(crate) fn totals(&self) -> FanoutTotals {
        self.fanout.totals()
    }

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
}
