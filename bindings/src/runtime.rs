//! The one tokio runtime every client of the process shares. Swift and Kotlin apps have no
//! tokio of their own, so the bindings bring a small one: two worker threads for the drivers,
//! and the blocking pool for calls into foreign listeners (so those never run on a worker).

use crate::error::TetherError;
use std::sync::OnceLock;
use tokio::runtime::{Builder, Handle, Runtime};

/// Worker threads for all clients together; drivers spend their time waiting on sockets.
const WORKER_THREADS: usize = 2;
/// Upper bound on threads calling into foreign listeners at the same time.
const MAX_LISTENER_THREADS: usize = 64;

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

/// The shared runtime's handle, built on first use.
pub(crate) fn handle() -> Result<Handle, TetherError> {
    if let Some(runtime) = RUNTIME.get() {
        return Ok(runtime.handle().clone());
    }
    let built = Builder::new_multi_thread()
        .worker_threads(WORKER_THREADS)
        .max_blocking_threads(MAX_LISTENER_THREADS)
        .thread_name("tether")
        .enable_all()
        .build()
        .map_err(|e| TetherError::Other {
            message: format!("cannot start the tether runtime: {e}"),
        })?;
    // Two first calls may race; the loser's runtime is dropped here, outside any async context.
    let _ = RUNTIME.set(built);
    RUNTIME.get().map(|r| r.handle().clone()).ok_or_else(|| TetherError::Other {
        message: "the tether runtime is unavailable".to_owned(),
    })
}
