//! Connects to a raw WebSocket echo server that this program starts itself, prints state,
//! health and latency as they change, and survives the server being restarted every few
//! seconds (`--restarts N`, default 2; `--seconds N` to stop earlier).
//!
//! `cargo run -p tether-examples --bin echo`

use futures_util::{SinkExt, StreamExt};
use std::net::SocketAddr;
use std::time::Duration;
use tether_core::{Client, Config, Event, OutgoingMessage, RawWebSocketConfig};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A bare echo server: every text or binary message comes back.
async fn echo_server(addr: SocketAddr) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        // Connections live in the server task's JoinSet, so aborting the server closes them.
        let mut connections = tokio::task::JoinSet::new();
        while let Ok((stream, _)) = listener.accept().await {
            connections.spawn(async move {
                let Ok(mut socket) = tokio_tungstenite::accept_async(stream).await else { return };
                while let Some(Ok(message)) = socket.next().await {
                    if (message.is_text() || message.is_binary())
                        && socket.send(message).await.is_err()
                    {
                        break;
                    }
                }
            });
        }
    });
    Ok((addr, task))
}

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let restarts = arg("--restarts", 2);
    let (addr, mut server) = echo_server(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    println!("echo server on ws://{addr}");

    let config = Config::new(format!("ws://{addr}"))
        .with_raw_websocket(RawWebSocketConfig::default())
        .with_heartbeat(Duration::from_millis(500), Duration::from_secs(2))
        .with_reconnect_delays(Duration::from_millis(100), Duration::from_secs(2));
    let client = Client::new(config)?;
    let mut events = client.events();
    client.connect().await?;

    let printer = tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            match event {
                Event::StateChanged(state) => println!("state   {state}"),
                Event::HealthChanged { health, quality } => {
                    println!("health  {health} ({quality})")
                }
                Event::Message(m) => println!(
                    "echo    {}",
                    m.data.first().map(|v| v.to_string()).unwrap_or_default()
                ),
                Event::Disconnected { reason, .. } => println!("lost    {reason}"),
                _ => {}
            }
        }
    });

    let mut ticker = tokio::time::interval(Duration::from_millis(700));
    for round in 0..=restarts {
        for n in 0..4 {
            ticker.tick().await;
            client.send(OutgoingMessage::text(format!("round {round} message {n}"))).await?;
        }
        let stats = client.stats().await?;
        println!(
            "latency last {:?} smoothed {:?} p99 {:?}; sent {} queued {}",
            stats.latency.last,
            stats.latency.smoothed,
            stats.latency.p99,
            stats.messages_sent,
            stats.queued
        );
        if round < restarts {
            println!("-- restarting the server --");
            server.abort();
            let _ = server.await;
            let mut wait = client.state();
            wait.wait_for(|s| !s.is_connected()).await?;
            (_, server) = echo_server(addr).await?;
            wait.wait_for(|s| s.is_connected()).await?;
        }
    }
    client.disconnect().await?;
    drop(client);
    let _ = printer.await;
    Ok(())
}
