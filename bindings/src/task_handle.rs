//! The handle a subscription returns: it keeps the delivery task running and stops it on
//! `cancel()` or when dropped (Kotlin `close()`, Swift deinit).

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::runtime::Handle;
use tokio::task::JoinHandle;

/// A running subscription. Once `cancel` returns, its listener is not called again (a call
/// already under way on another thread finishes).
#[derive(Debug, uniffi::Object)]
pub struct TaskHandle {
    task: JoinHandle<()>,
    cancelled: Arc<AtomicBool>,
}

impl TaskHandle {
    /// Spawns `make(cancelled)` on `runtime`; the flag turns true when the handle is cancelled
    /// (delivery checks it right before each listener call).
    pub(crate) fn spawn<F, Fut>(runtime: &Handle, make: F) -> Arc<Self>
    where
        F: FnOnce(Arc<AtomicBool>) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let cancelled = Arc::new(AtomicBool::new(false));
        let task = runtime.spawn(make(cancelled.clone()));
        Arc::new(Self { task, cancelled })
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
}

impl Drop for TaskHandle {
    fn drop(&mut self) {
        self.cancel();
    }
}
