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

/// Built once: `get_or_init` runs the builder in one caller while racing callers wait, so no
/// second runtime is ever built and then dropped (dropping a runtime inside an async context, as
/// a losing racer on a tokio thread would, panics). A failure to build (the OS refused threads)
/// is kept too: it is reported to every caller rather than retried on each.
static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();

/// The shared runtime's handle, built on first use.
pub(crate) fn handle() -> Result<Handle, TetherError> {
    let runtime = RUNTIME.get_or_init(|| {
        Builder::new_multi_thread()
            .worker_threads(WORKER_THREADS)
            .max_blocking_threads(MAX_LISTENER_THREADS)
            .thread_name("tether")
            .enable_all()
            .build()
            .map_err(|e| e.to_string())
    });
    match runtime {
        Ok(runtime) => Ok(runtime.handle().clone()),
        Err(e) => {
            Err(TetherError::Other { message: format!("cannot start the tether runtime: {e}") })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The race CI hit: first calls from several threads at once, some inside a tokio runtime
    /// (where dropping a second runtime would panic). All must get the same runtime.
    #[test]
    fn first_calls_racing_from_async_contexts_share_one_runtime() {
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(8));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    let local = tokio::runtime::Builder::new_current_thread()
                        .build()
                        .unwrap_or_else(|e| panic!("{e}"));
                    local.block_on(async {
                        barrier.wait();
                        handle().map(|h| h.id())
                    })
                })
            })
            .collect();
        let ids: Vec<_> = threads
            .into_iter()
            .map(|t| t.join().unwrap_or_else(|_| panic!("a first call panicked")))
            .collect();
        let first = ids[0].clone().unwrap_or_else(|e| panic!("{e}"));
        assert!(ids.iter().all(|id| id.as_ref() == Ok(&first)), "{ids:?}");
    }
}
