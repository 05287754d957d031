//! Listeners are traits the app implements in Swift or Kotlin. They are called from a thread of
//! the shared runtime's blocking pool, one call at a time per subscription and in order, never
//! from the engine's driver: a slow listener delays only its own subscription.
//!
//! Listeners may throw; what they throw is logged (target `tether_ffi`) and delivery goes on.

use crate::error::ListenerError;
use crate::event::{Event, IncomingMessage};
use crate::health::HealthStatus;
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

/// Receives every event from the moment of subscribing, in order, none skipped.
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
    async fn nothing_is_delivered_once_cancelled() {
        let cancelled = Arc::new(AtomicBool::new(true));
        let calls = Arc::new(AtomicUsize::new(0));
        deliver(&cancelled, "test", counting(&calls)).await;
        assert_eq!(calls.load(Ordering::SeqCst), 0);
    }
}
