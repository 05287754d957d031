//! A server that stops reading (its TCP window closes) while the app keeps sending. Its own
//! binary, because it measures the process's resident memory (Linux only).
//!
//! Memory stays bounded (sends wait while 1,024 frames or 1 MiB wait for the socket), and the client's
//! other calls keep answering meanwhile.

#[path = "support/hostile_server.rs"]
mod hostile_server;
mod support;

use hostile_server::{socket_io_handshake, HostileServer};
use serde_json::json;
use std::time::Duration;
use tether_core::{Client, Config};

const MIB: usize = 1024 * 1024;

fn resident_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    pages * 4096
}

/// A Socket.IO server that completes the handshake and then never reads again.
async fn deaf_server() -> HostileServer {
    HostileServer::websocket(|_, mut ws| async move {
        if socket_io_handshake(&mut ws).await {
            tokio::time::sleep(Duration::from_secs(120)).await;
        }
    })
    .await
}

/// A connected client whose heartbeat will not notice anything within the test.
async fn connected_client(server: &HostileServer) -> Client {
    let config = Config::new(server.url())
        .with_heartbeat(Duration::from_secs(60), Duration::from_secs(60))
        .with_connect_timeout(Duration::from_secs(5));
    let client = Client::new(config).unwrap_or_else(|e| panic!("{e}"));
    client.connect().await.unwrap_or_else(|e| panic!("{e}"));
    client
}

/// Sends 2 KiB messages for `window`; returns how many were accepted.
async fn flood(client: &Client, window: Duration) -> usize {
    let payload = "z".repeat(2048);
    let mut accepted = 0usize;
    let sending = async {
        for i in 0..100_000 {
            if client.emit("bulk", json!({"i": i, "pad": payload})).await.is_err() {
                break;
            }
            accepted += 1;
        }
    };
    let _ = tokio::time::timeout(window, sending).await;
    accepted
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_stops_reading_does_not_make_the_client_buffer_without_bound() {
    if !std::path::Path::new("/proc/self/statm").exists() {
        return;
    }
    let server = deaf_server().await;
    let client = connected_client(&server).await;
    let before = resident_bytes();
    // Up to 100,000 messages of 2 KiB: 200 MiB if the client buffered all it accepted.
    let accepted = flood(&client, Duration::from_secs(10)).await;
    let grown = resident_bytes().saturating_sub(before);
    println!("accepted {accepted} sends; resident memory grew by {} MiB", grown / MIB);
    assert!(grown < 64 * MIB, "{} MiB held for a server that does not read", grown / MIB);
}

/// Sends wait behind a socket that does not drain (backpressure), but `stats()` and
/// `disconnect()` travel in the client's control lane and still answer. (Found by this test: they
/// used to share the send channel and hung until the heartbeat dropped the connection.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_keeps_answering_while_the_server_does_not_read() {
    let server = deaf_server().await;
    let client = connected_client(&server).await;
    flood(&client, Duration::from_secs(5)).await;
    let stats = tokio::time::timeout(Duration::from_secs(5), client.stats()).await;
    assert!(stats.is_ok(), "stats() did not answer within 5 s while the socket was blocked");
    let closed = tokio::time::timeout(Duration::from_secs(5), client.disconnect()).await;
    assert!(closed.is_ok(), "disconnect() did not answer within 5 s");
}
