//! Per-connection ordering of event handlers.
//!
//! socketioxide spawns one task per incoming event, so two events from the same socket can run
//! in either order (tokio's LIFO slot even favours the newer one). Order matters here:
//! `join-room` then `cursor-move`, `typing-start` then `typing-stop`. Each event takes a
//! [`Ticket`] while it is still on socketioxide's read path (extractors run there, in arrival
//! order), and its handler [`Ticket::wait`]s until every earlier ticket of the connection is
//! dropped. A ticket dropped without waiting (a handler that never ran) releases its turn too.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

/// Hands out numbered tickets and lets them through in number order.
#[derive(Debug, Default)]
pub struct Turnstile {
    state: Mutex<TurnState>,
    turn_changed: Notify,
}

#[derive(Debug, Default)]
struct TurnState {
    issued: u64,
    /// The lowest ticket not yet finished: its holder may run.
    current: u64,
    /// Finished tickets above `current` (dropped out of order).
    finished_early: BTreeSet<u64>,
}

impl Turnstile {
    /// A turnstile whose first ticket may run at once.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// The next ticket in arrival order.
    pub fn ticket(self: &Arc<Self>) -> Ticket {
        let mut state = self.lock();
        let number = state.issued;
        state.issued += 1;
        Ticket { turnstile: Arc::clone(self), number }
    }

    fn lock(&self) -> MutexGuard<'_, TurnState> {
        // A panic while holding this lock cannot leave the counters half-updated.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn finish(&self, number: u64) {
        let mut guard = self.lock();
        let state = &mut *guard;
        if number == state.current {
            state.current += 1;
            while state.finished_early.remove(&state.current) {
                state.current += 1;
            }
        } else {
            state.finished_early.insert(number);
        }
        drop(guard);
        self.turn_changed.notify_waiters();
    }
}

/// A place in a connection's event order; dropping it lets the next event run.
#[derive(Debug)]
pub struct Ticket {
    turnstile: Arc<Turnstile>,
    number: u64,
}

impl Ticket {
    /// Waits until every earlier ticket has been dropped.
    pub async fn wait(&self) {
        loop {
            let changed = self.turnstile.turn_changed.notified();
            tokio::pin!(changed);
            // Register before checking, so a notification between the check and the await
            // is not lost.
            changed.as_mut().enable();
            if self.turnstile.lock().current == self.number {
                return;
            }
            changed.await;
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.turnstile.finish(self.number);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn handlers_run_in_ticket_order_whatever_order_they_start() {
        let turnstile = Turnstile::new();
        let tickets: Vec<Ticket> = (0..20).map(|_| turnstile.ticket()).collect();
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        // Start them newest first.
        for (i, ticket) in tickets.into_iter().enumerate().rev() {
            let log = Arc::clone(&log);
            tasks.push(tokio::spawn(async move {
                ticket.wait().await;
                tokio::task::yield_now().await;
                log.lock().expect("log lock").push(i);
            }));
        }
        for task in tasks {
            tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .expect("no deadlock")
                .expect("task ran");
        }
        assert_eq!(*log.lock().expect("log lock"), (0..20).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_ticket_dropped_unused_releases_its_turn() {
        let turnstile = Turnstile::new();
        let first = turnstile.ticket();
        let second = turnstile.ticket();
        let third = turnstile.ticket();
        drop(second);
        drop(first);
        tokio::time::timeout(Duration::from_secs(1), third.wait()).await.expect("third may run");
    }

    #[tokio::test]
    async fn a_later_ticket_waits_for_an_earlier_one() {
        let turnstile = Turnstile::new();
        let first = turnstile.ticket();
        let second = turnstile.ticket();
        let waited = tokio::time::timeout(Duration::from_millis(50), second.wait()).await;
        assert!(waited.is_err(), "second ran before first finished");
        drop(first);
        tokio::time::timeout(Duration::from_secs(1), second.wait()).await.expect("second may run");
    }
}
