//! The threads that call into the JVM for the fast path: a blocking pool of their own, never
//! shared with uniffi's JNA callbacks.
//!
//! Why not the shared runtime's pool, where uniffi calls the listeners: JNA keeps per-thread
//! state after it attaches a native thread for a callback and detaches it again, and on a later
//! callback on that thread, by then attached by someone else, it detaches the thread anyway.
//! A thread attached for the fast path (the `jni` crate keeps it attached, for speed) would then
//! be detached under it, and the JVM crashes on the next call (found by the Kotlin tests).
//! Threads JNA never sees have no such state.

use crate::error::TetherError;
use std::sync::OnceLock;
use tokio::runtime::{Builder, Handle, Runtime};

/// Threads handing bursts to Kotlin at the same time, over all subscriptions.
const MAX_THREADS: usize = 64;

/// Only its blocking pool is used (`spawn_blocking` from the shared runtime's tasks); it is
/// never driven. A failure to build is kept and reported to every caller, as in `runtime.rs`.
static POOL: OnceLock<Result<Runtime, String>> = OnceLock::new();

/// The pool's handle, built on first use.
pub(super) fn pool() -> Result<Handle, TetherError> {
    let pool = POOL.get_or_init(|| {
        Builder::new_current_thread()
            .max_blocking_threads(MAX_THREADS)
            .thread_name("tether-jvm")
            .build()
            .map_err(|e| e.to_string())
    });
    match pool {
        Ok(pool) => Ok(pool.handle().clone()),
        Err(e) => Err(TetherError::Other {
            message: format!("cannot start the JVM delivery threads: {e}"),
        }),
    }
}
