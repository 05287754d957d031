//! Waiting for conditions with a deadline, so tests never sleep for a fixed time.

use std::future::Future;
use std::time::Duration;
use tether_core::{ConnectionState, Event, EventStream};

/// How long any single condition may take before the test fails (generous: CI is slow).
pub const PATIENCE: Duration = Duration::from_secs(20);

/// Polls `condition` every few milliseconds until it holds; panics with `what` after `PATIENCE`.
pub async fn until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !condition() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Like [`until`] for an async condition.
pub async fn until_async<F, Fut>(what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !condition().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Waits until the state watch satisfies `predicate`.
pub async fn state(
    client: &tether_core::Client,
    what: &str,
    predicate: impl FnMut(&ConnectionState) -> bool,
) -> ConnectionState {
    let mut watch = client.state();
    let result = tokio::time::timeout(PATIENCE, watch.wait_for(predicate))
        .await
        .map(|r| r.map(|s| s.clone()));
    match result {
        Ok(Ok(state)) => state,
        Ok(Err(_)) => panic!("client stopped while waiting for {what}"),
        Err(_) => panic!("timed out waiting for {what}; state is {}", *client.state().borrow()),
    }
}

/// Reads events until one satisfies `predicate`, returning it.
pub async fn event(
    events: &mut EventStream,
    what: &str,
    mut predicate: impl FnMut(&Event) -> bool,
) -> Event {
    let found = tokio::time::timeout(PATIENCE, async {
        while let Some(e) = events.recv().await {
            if predicate(&e) {
                return Some(e);
            }
        }
        None
    })
    .await;
    match found {
        Ok(Some(e)) => e,
        Ok(None) => panic!("event stream ended while waiting for {what}"),
        Err(_) => panic!("timed out waiting for {what}"),
    }
}
