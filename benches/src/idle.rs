//! W4 and W5, one client process's side: many idle connections from one process; what each
//! costs in memory (W4) and in CPU over 20 s with heartbeats on (W5).

use crate::clients::{connect, tether_config, Conn, Options};
use crate::measure::{cpu_ms, event, figure, rss_bytes, sched_between, sched_by_thread, R};
use futures_util::future::join_all;
use futures_util::{Future, SinkExt, StreamExt};
use serde_json::json;
use std::time::Duration;
use tether_core::Client;
use tokio_tungstenite::tungstenite::Message;

/// Connections opened at once in W4 and W5 (and the Phoenix P4).
pub const CONNECT_BATCH: usize = 50;
/// W5's heartbeat: the defaults' shape (25 s) compressed so that 20 s see several.
pub const W5_HEARTBEAT: Duration = Duration::from_secs(5);

/// W5's Tether without a latency ping of its own (one an hour): it only answers the server's
/// heartbeats, as rust_socketio does; the difference to `tether` is what measuring latency
/// costs.
pub const W5_NO_LATENCY: &str = "tether-no-latency";

/// An idle connection kept alive: bare ones need a task reading (to answer pings) and, in W5,
/// pinging like a heartbeat; the libraries run their own tasks. Held only to stay open.
#[allow(dead_code)]
enum Idle {
    Tether(Client),
    Task(tokio::task::JoinHandle<()>),
    RustSocketio(rust_socketio::asynchronous::Client),
}

async fn idle(kind: &str, url: &str, heartbeat: Option<Duration>) -> R<Idle> {
    if kind == "tether" || kind == "tether-raw" || kind == W5_NO_LATENCY {
        // A client nobody subscribed to: W4 measures what a connection costs (each `events()`
        // subscription adds a channel of its own).
        let mut config = tether_config(if kind == W5_NO_LATENCY { "tether" } else { kind }, url)?;
        if let Some(every) = heartbeat {
            let every = if kind == W5_NO_LATENCY { Duration::from_secs(3600) } else { every };
            config = config.with_heartbeat(every, Duration::from_secs(20));
        }
        let client = Client::new(config)?;
        client.connect().await?;
        return Ok(Idle::Tether(client));
    }
    Ok(match connect(kind, url).await? {
        Conn::Tether { client, .. } => Idle::Tether(client),
        Conn::RustSocketio { client, .. } => Idle::RustSocketio(client),
        Conn::Bare(ws) => Idle::Task(tokio::spawn(async move {
            let (mut sink, mut stream) = ws.split();
            let mut ticks = heartbeat.map(tokio::time::interval);
            loop {
                let tick = async {
                    match ticks.as_mut() {
                        Some(t) => t.tick().await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    message = stream.next() => if !matches!(message, Some(Ok(_))) { break },
                    _ = tick => if sink.send(Message::Ping(Vec::new().into())).await.is_err() { break },
                }
            }
        })),
    })
}

async fn idle_many(o: &Options, heartbeat: Option<Duration>) -> R<Vec<Idle>> {
    open_many(o.n, |_| idle(&o.kind, &o.url, heartbeat)).await
}

/// Opens `n` connections, [`CONNECT_BATCH`] at a time; `open(i)` opens the `i`-th.
pub async fn open_many<T, F, Fut>(n: usize, open: F) -> R<Vec<T>>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = R<T>>,
{
    let mut all = Vec::with_capacity(n);
    while all.len() < n {
        let batch = all.len()..(all.len() + CONNECT_BATCH).min(n);
        for conn in join_all(batch.map(&open)).await {
            all.push(conn?);
        }
    }
    Ok(all)
}

/// W4's method for any connection: one opened first (so one-time costs are in the baseline),
/// then `n` more; prints `bytes_per_conn`, the growth of the resident set per connection.
pub async fn memory_per_connection<T, F, Fut>(n: usize, open: F) -> R<()>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = R<T>>,
{
    let _warm = open(n).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = rss_bytes()?;
    let conns = open_many(n, open).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_bytes()?;
    figure("bytes_per_conn", (after.saturating_sub(before)) as f64 / n as f64, "B");
    drop(conns);
    Ok(())
}

pub async fn w4(o: &Options) -> R<()> {
    memory_per_connection(o.n, |_| idle(&o.kind, &o.url, None)).await
}

pub async fn w5(o: &Options) -> R<()> {
    let conns = idle_many(o, Some(W5_HEARTBEAT)).await?;
    // The window starts after every connection's first heartbeat: W5 is the steady state, not
    // what a connection does once after it opens (Tether's first latency sample).
    tokio::time::sleep(W5_HEARTBEAT + Duration::from_secs(1)).await;
    let (before, before_ticks) = (sched_by_thread()?, cpu_ms()?);
    tokio::time::sleep(Duration::from_secs(20)).await;
    let used = sched_between(&before, &sched_by_thread()?);
    figure("cpu_ms_20s", used.cpu_ns as f64 / 1e6, "ms");
    // How often the process's threads woke, and what each wake-up cost: a client that wakes
    // more often (e.g. for a latency sample) and one that does more per wake-up are told apart.
    figure("wakeups_20s", used.timeslices as f64, "");
    figure("cpu_us_per_wakeup", used.cpu_ns as f64 / 1e3 / used.timeslices.max(1) as f64, "us");
    // The same from /proc/self/stat (10 ms ticks, exited threads included), as a cross-check.
    figure("cpu_ms_20s_ticks", cpu_ms()? - before_ticks, "ms");
    if let Some(Idle::Tether(client)) = conns.first() {
        // Prove the heartbeats ran: pings were answered during the window.
        let stats = client.stats().await?;
        event("heartbeats", json!({ "samples": stats.latency.samples }));
    }
    drop(conns);
    Ok(())
}
