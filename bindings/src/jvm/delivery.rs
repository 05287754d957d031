//! A fast-path message subscription: the core's subscription read as
//! [`Client::subscribe_messages`] reads it (a task, and every ready message delivered on one
//! trip to the blocking pool; bounded by its buffer, with the gaps where a slow listener lost
//! messages), but handed over in bursts: the items ready at that moment, laid out by `wire`, in
//! one call to a [`BurstSink`]. The Kotlin receiver then calls the app's listener once per
//! message and its lag listener once per gap, in order; a listener that throws is logged here,
//! like one called through uniffi, and the next item is delivered.

use super::wire::{self, Item};
use crate::client::Client;
use crate::event::MessageFilter;
use crate::task_handle::TaskHandle;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tether_core::Subscription;
use tokio::runtime::Handle;

/// A burst stops growing past this many bytes (the next message starts the next burst), so the
/// array handed over stays small when messages are large.
const MAX_BURST_BYTES: usize = 64 * 1024;

/// Where bursts go: the Kotlin receiver (`upcall`), or a test's collector.
pub(super) trait BurstSink: Send + 'static {
    /// Hands over `count` messages laid out in `burst` (see `wire`), oldest first; returns what
    /// the listener threw meanwhile, one text per throw, for the log.
    fn deliver(&mut self, burst: &[u8], count: u32) -> Vec<String>;
}

/// Subscribes to the messages `filter` lets through and hands them to `sink` in bursts of at
/// most `max_messages`, on threads of `pool` (see `threads`), until the returned handle is
/// cancelled or the client is gone.
pub(super) fn subscribe<S: BurstSink>(
    client: &Client,
    filter: MessageFilter,
    max_messages: usize,
    pool: Handle,
    sink: S,
) -> Arc<TaskHandle> {
    let mut messages = client.core().subscribe(filter.into());
    let max_messages = max_messages.max(1);
    let meter = Some(messages.meter());
    TaskHandle::spawn_metered(client.runtime(), meter, move |cancelled| async move {
        let mut sink = sink;
        while let Some(first) = messages.recv_item().await {
            let cancelled = cancelled.clone();
            let trip = pool
                .spawn_blocking(move || {
                    let next = Subscription::try_recv_item;
                    deliver_ready(&cancelled, &mut messages, next, first, max_messages, &mut sink);
                    (messages, sink)
                })
                .await;
            match trip {
                Ok(back) => (messages, sink) = back,
                // The pool could not run it: the runtime is shutting down.
                Err(_) => break,
            }
        }
    })
}

/// Delivers `first` and everything `source` has ready while delivering, burst after burst,
/// until it has nothing more or `cancelled` is set.
fn deliver_ready<S, T: Into<Item>, K: BurstSink>(
    cancelled: &AtomicBool,
    source: &mut S,
    next_ready: fn(&mut S) -> Option<T>,
    first: T,
    max_messages: usize,
    sink: &mut K,
) {
    let mut burst = Vec::new();
    let mut next = Some(first);
    while next.is_some() {
        burst.clear();
        let mut count: u32 = 0;
        while let Some(item) = next.take() {
            wire::encode(&item.into(), &mut burst);
            count += 1;
            if count as usize >= max_messages || burst.len() >= MAX_BURST_BYTES {
                break;
            }
            next = next_ready(source);
        }
        if cancelled.load(Ordering::Acquire) {
            return;
        }
        // Caught here, not by the task: the subscription must come back for the next burst.
        match catch_unwind(AssertUnwindSafe(|| sink.deliver(&burst, count))) {
            Ok(thrown) => {
                for error in thrown {
                    tracing::warn!(listener = "messages", %error, "listener threw; delivery continues");
                }
            }
            Err(_) => {
                tracing::warn!(listener = "messages", "delivery panicked; delivery continues")
            }
        }
        if next.is_none() {
            next = next_ready(source);
        }
    }
}

#[cfg(test)]
mod tests;
