//! Listeners are traits the app implements in Swift or Kotlin. They are called from a thread of
//! the shared runtime's blocking pool, one call at a time per subscription and in order, never
//! from the engine's driver: a slow listener delays only its own subscription.
//!
//! Listeners may throw; what they throw is logged (target `tether_ffi`) and delivery goes on.
//!
//! Every subscription reads through a bounded queue of its own (`ClientConfig.stream_buffer`,
//! or the filter's `buffer`): a listener slower than the server loses what the overflow policy
//! drops, never the app's memory, and is told how many before the next thing it gets: an
//! [`Event::Lagged`] for an [`EventListener`], a [`LagListener`] call for message listeners
//! that pass one. [`crate::TaskHandle::stream_stats`] counts the drops.

use crate::error::ListenerError;
use crate::event::{Event, IncomingMessage};
use crate::health::HealthStatus;
use crate::presence::PresenceChange;
use crate::state::ConnectionState;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Receives the connection state: the current one at once, then each change. Changes that
/// happen faster than the listener returns are conflated to the latest (every transition is
/// also an [`Event::StateChanged`] for an [`EventListener`]).
#[uniffi::export(foreign)]
pub trait StateListener: Send + Sync {
    /// The state now.
    fn on_state(&self, state: ConnectionState) -> Result<(), ListenerError>;
}

/// Receives health and quality: the current value at once, then each change (conflated).
#[uniffi::export(foreign)]
pub trait HealthListener: Send + Sync {
    /// Health and quality now.
    fn on_health(&self, status: HealthStatus) -> Result<(), ListenerError>;
}

/// Receives every event from the moment of subscribing, in order; where it fell behind the
/// subscription's bounds, an [`Event::Lagged`] says how many were dropped there.
#[uniffi::export(foreign)]
pub trait EventListener: Send + Sync {
    /// The next event.
    fn on_event(&self, event: Event) -> Result<(), ListenerError>;
}

/// Receives server messages matching a filter, paced by its rate limit.
#[uniffi::export(foreign)]
pub trait MessageListener: Send + Sync {
    /// The next matching message.
    fn on_message(&self, message: IncomingMessage) -> Result<(), ListenerError>;
}

/// Receives server messages matching a filter in batches: every message that is ready, in
/// order (beyond what the filter's rate limit coalesces, and what its bounds drop from a
/// listener that falls behind).
#[uniffi::export(foreign)]
pub trait MessageBatchListener: Send + Sync {
    /// The next messages, oldest first; never empty.
    fn on_messages(&self, messages: Vec<IncomingMessage>) -> Result<(), ListenerError>;
}

/// Receives the presence changes of one room (a Phoenix channel), in order (see
/// `Client::subscribe_presence_changes` for what a listener that falls behind loses):
/// a `Synced` change with the whole roster after each (re)join, then joins, updates and leaves.
#[uniffi::export(foreign)]
pub trait PresenceChangeListener: Send + Sync {
    /// The next change.
    fn on_presence_change(&self, change: PresenceChange) -> Result<(), ListenerError>;
}

/// Told where a message subscription dropped messages because its listener fell behind: called
/// in order with the messages, after the last one before the gap and before the first after.
#[uniffi::export(foreign)]
pub trait LagListener: Send + Sync {
    /// `skipped` matching messages were dropped here.
    fn on_lagged(&self, skipped: u64) -> Result<(), ListenerError>;
}

/// Calls a listener on the blocking pool and waits for it; unless the subscription was
/// cancelled meanwhile. A throw or a panic is logged, never fatal to the subscription.
pub(crate) async fn deliver<F>(cancelled: &Arc<AtomicBool>, listener: &'static str, call: F)
where
    F: FnOnce() -> Result<(), ListenerError> + Send + 'static,
{
    let cancelled = cancelled.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        if cancelled.load(Ordering::Acquire) {
            return Ok(());
        }
        call()
    })
    .await;
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            tracing::warn!(listener, %error, "listener threw; delivery continues");
        }
        Err(join) if join.is_panic() => {
            tracing::warn!(listener, "listener panicked; delivery continues");
        }
        Err(_) => {}
    }
}

/// Calls a listener for `first` and then for everything `source` has ready, one call each, in
/// order, on a single trip to the blocking pool: in a burst the hand-off to the pool (tens of
/// microseconds) is paid once, not per message. Returns `source` for the next burst; `None` if
/// the pool could not run the task (the runtime is shutting down).
pub(crate) async fn deliver_ready<S, T, F>(
    cancelled: &Arc<AtomicBool>,
    listener: &'static str,
    mut source: S,
    first: T,
    next_ready: fn(&mut S) -> Option<T>,
    call: F,
) -> Option<S>
where
    S: Send + 'static,
    T: Send + 'static,
    F: Fn(T) -> Result<(), ListenerError> + Send + 'static,
{
    let cancelled = cancelled.clone();
    let delivered = tokio::task::spawn_blocking(move || {
        let mut next = Some(first);
        while let Some(item) = next.take() {
            if cancelled.load(Ordering::Acquire) {
                break;
            }
            // Caught here, not by the task: the source must come back for the next burst.
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| call(item))) {
                Ok(Ok(())) => {}
                Ok(Err(error)) => {
                    tracing::warn!(listener, %error, "listener threw; delivery continues")
                }
                Err(_) => tracing::warn!(listener, "listener panicked; delivery continues"),
            }
            next = next_ready(&mut source);
        }
        source
    })
    .await;
    delivered.ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn counting(calls: &Arc<AtomicUsize>) -> impl FnOnce() -> Result<(), ListenerError> {
        let calls = calls.clone();
        move || {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_listener_that_throws_or_panics_does_not_end_delivery() {
        let cancelled = Arc::new(AtomicBool::new(false));
        let calls = Arc::new(AtomicUsize::new(0));
        deliver(&cancelled, "test", || Err(ListenerError::Failed { reason: "bug".into() })).await;
        deliver(&cancelled, "test", || panic!("a listener bug")).await;
        deliver(&cancelled, "test", counting(&calls)).await;
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_burst_is_delivered_in_order_through_throws_and_panics() {
        let cancelled = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let source: std::collections::VecDeque<u32> = (2..=6).collect();
        let record = seen.clone();
        let back = deliver_ready(
            &cancelled,
            "test",
            source,
            1,
            |s| s.pop_front(),
            move |n| {
                record.lock().map(|mut v| v.push(n)).unwrap_or_default();
                match n {
                    3 => Err(ListenerError::Failed { reason: "bug".into() }),
                    4 => panic!("a listener bug"),
                    _ => Ok(()),
                }
            },
        )
        .await;
        assert_eq!(back.map(|s| s.len()), Some(0), "the source comes back, drained");
        let seen = seen.lock().map(|v| v.clone()).unwrap_or_default();
        assert_eq!(seen, vec![1, 2, 3, 4, 5, 6]);
    }

    #[tokio::test]
    async fn a_burst_stops_when_cancelled() {
        let cancelled = Arc::new(AtomicBool::new(false));
        let calls = Arc::new(AtomicUsize::new(0));
        let (flag, count) = (cancelled.clone(), calls.clone());
        let source: std::collections::VecDeque<u32> = (2..=6).collect();
        let back = deliver_ready(
            &cancelled,
            "test",
            source,
            1,
            |s| s.pop_front(),
            move |n| {
                count.fetch_add(1, Ordering::SeqCst);
                if n == 2 {
                    flag.store(true, Ordering::Release);
                }
                Ok(())
            },
        )
        .await;
        assert_eq!(calls.load(Ordering::SeqCst), 2, "nothing after the cancel");
        assert_eq!(back.map(|s| s.len()), Some(3), "what was not delivered is left in the source");
    }

    #[tokio::test]
    async fn nothing_is_delivered_once_cancelled() {
        let cancelled = Arc::new(AtomicBool::new(true));
        let calls = Arc::new(AtomicUsize::new(0));
        deliver(&cancelled, "test", counting(&calls)).await;
        assert_eq!(calls.load(Ordering::SeqCst), 0);
    }
}
