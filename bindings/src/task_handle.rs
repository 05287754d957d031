//! The handle a subscription returns: it keeps the delivery task running and stops it on
//! `cancel()` or when dropped (Kotlin `close()`, Swift deinit), and reads its queue's figures.

use crate::buffer::StreamStats;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tether_core::StreamMeter;
use tokio::runtime::Handle;
use tokio::task::JoinHandle;

/// A running subscription. Once `cancel` returns, its listener is not called again (a call
/// already under way on another thread finishes).
#[derive(Debug, uniffi::Object)]
pub struct TaskHandle {
    task: JoinHandle<()>,
    cancelled: Arc<AtomicBool>,
    meter: Option<StreamMeter>,
}

impl TaskHandle {
    /// Spawns `make(cancelled)` on `runtime`; the flag turns true when the handle is cancelled
    /// (delivery checks it right before each listener call).
    pub(crate) fn spawn<F, Fut>(runtime: &Handle, make: F) -> Arc<Self>
    where
        F: FnOnce(Arc<AtomicBool>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        Self::spawn_metered(runtime, None, make)
    }

    /// [`TaskHandle::spawn`] for a task that reads a stream whose figures `meter` reads.
    pub(crate) fn spawn_metered<F, Fut>(
        runtime: &Handle,
        meter: Option<StreamMeter>,
        make: F,
    ) -> Arc<Self>
    where
        F: FnOnce(Arc<AtomicBool>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let cancelled = Arc::new(AtomicBool::new(false));
        let task = runtime.spawn(make(cancelled.clone()));
        Arc::new(Self { task, cancelled, meter })
    }
}

#[uniffi::export]
impl TaskHandle {
    /// Stops the subscription. Idempotent.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Release);
        self.task.abort();
    }

    /// True once the subscription has ended (cancelled, or the client is gone).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// What this subscription's queue holds and has dropped (all zero for state, health and
    /// presence subscriptions, which keep only the latest value).
    pub fn stream_stats(&self) -> StreamStats {
        self.meter.as_ref().map(|m| m.stats().into()).unwrap_or_default()
    }
}

impl Drop for TaskHandle {
    fn drop(&mut self) {
        self.cancel();
    }
}
