//! The Phoenix Channels workloads (issue 11), Tether's client process side; the official
//! `phoenix` 1.8.16 client's side is benches/peers/phoenix-client.js, with the same line
//! protocol. Both meet the Phoenix test server (`tests/servers/phoenix/server.js --quiet`), each
//! socket joined to a `room:*` channel of its own.
//!
//! - `phx1` push-reply round trip: sequential `ping` pushes (64-byte payload), each awaiting
//!   its `ok` reply; p50, p99, max after 500 of warm-up.
//! - `phx2` throughput: `n` `ping` pushes pipelined, at most [`WINDOW`] awaiting their reply at
//!   any time (a Phoenix push always gets a reply, and phoenix.js tracks every push it sends:
//!   there is no fire-and-forget to compare); replies per second until the last is in.
//! - `phx3` reconnect after a server restart: to connected, and to the channel rejoined
//!   (`reconnect.rs`, several clients per process).
//! - `phx4` memory per idle connection: 1,000 sockets, each with one joined channel (W4's
//!   method).

use crate::clients::{Options, ECHO_64};
use crate::idle::memory_per_connection;
use crate::measure::{cpu_ms_between, figure, percentile, sched_by_thread, R};
use crate::passes::{cmp, Better, Comparison};
use crate::reconnect::TetherReconnect;
use futures_util::stream::{FuturesUnordered, StreamExt};
use serde_json::json;
use std::time::Instant;
use tether_core::{Client, Config, OutgoingMessage, PhoenixConfig, SendOptions};

/// Pushes awaiting their reply at once in `phx2` (phoenix-client.js uses the same).
pub const WINDOW: usize = 100;
/// Round trips before `phx1` measures.
const WARM_UP: usize = 500;

/// Tether's kind and the official client's.
pub const TETHER: &str = "tether-phoenix";
pub const PHOENIX_JS: &str = "phoenix-js";

/// The comparisons of the report.
pub const COMPARISONS: &[Comparison] = &[
    cmp("phx1", "p50_us", TETHER, PHOENIX_JS, Better::Lower),
    cmp("phx1", "p99_us", TETHER, PHOENIX_JS, Better::Lower),
    cmp("phx1", "max_us", TETHER, PHOENIX_JS, Better::Lower),
    cmp("phx2", "replies_per_s", TETHER, PHOENIX_JS, Better::Higher),
    cmp("phx2", "client_cpu_us_per_push", TETHER, PHOENIX_JS, Better::Lower),
    cmp("phx3", "connected_p50_ms", TETHER, PHOENIX_JS, Better::Lower),
    cmp("phx3", "ready_p50_ms", TETHER, PHOENIX_JS, Better::Lower),
    cmp("phx3", "connected_p50_ms", "tether-phoenix+hint", PHOENIX_JS, Better::Lower),
    cmp("phx3", "ready_p50_ms", "tether-phoenix+hint", PHOENIX_JS, Better::Lower),
    cmp("phx4", "bytes_per_conn", TETHER, PHOENIX_JS, Better::Lower),
];

fn config(url: &str) -> Config {
    Config::new(url).with_phoenix(PhoenixConfig::default())
}

/// A connected Tether client with `topic` joined.
async fn joined(url: &str, topic: &str) -> R<Client> {
    let client = Client::new(config(url))?;
    client.connect().await?;
    client.join(topic).await?;
    Ok(client)
}

fn ping(topic: &str) -> OutgoingMessage {
    OutgoingMessage::new("ping", json!(ECHO_64)).in_namespace(topic)
}

/// One client process: `phx1` to `phx4` for `tether-phoenix`.
pub async fn run(o: &Options) -> R<()> {
    if o.kind != TETHER {
        return Err(format!("{} has no {} client", o.workload, o.kind).into());
    }
    match o.workload.as_str() {
        "phx1" => {
            let topic = "room:bench-rtt";
            let client = joined(&o.url, topic).await?;
            for _ in 0..WARM_UP {
                client.send_with_ack(ping(topic), None).await?;
            }
            let mut samples = Vec::with_capacity(o.n);
            for _ in 0..o.n {
                let started = Instant::now();
                client.send_with_ack(ping(topic), None).await?;
                samples.push(started.elapsed().as_secs_f64() * 1e6);
            }
            samples.sort_by(f64::total_cmp);
            figure("p50_us", percentile(&samples, 50.0), "us");
            figure("p99_us", percentile(&samples, 99.0), "us");
            figure("max_us", samples.last().copied().unwrap_or(f64::NAN), "us");
        }
        "phx2" => {
            let topic = "room:bench-throughput";
            let client = joined(&o.url, topic).await?;
            let cpu_before = sched_by_thread()?;
            let started = Instant::now();
            let mut in_flight = FuturesUnordered::new();
            let mut sent = 0;
            while sent < o.n || !in_flight.is_empty() {
                while sent < o.n && in_flight.len() < WINDOW {
                    let ack = client.send_with(ping(topic), SendOptions::with_ack(None)).await?;
                    in_flight.push(ack.wait());
                    sent += 1;
                }
                if let Some(reply) = in_flight.next().await {
                    reply?;
                }
            }
            figure("replies_per_s", o.n as f64 / started.elapsed().as_secs_f64(), "1/s");
            let cpu_ms = cpu_ms_between(&cpu_before, &sched_by_thread()?);
            figure("client_cpu_us_per_push", cpu_ms * 1000.0 / o.n as f64, "us");
        }
        "phx3" => {
            let url = o.url.clone();
            let clients = TetherReconnect {
                config: move |_| config(&url),
                room: |i| format!("room:bench-{i}"),
                queue_while_down: false,
            };
            clients.run(o).await?;
        }
        "phx4" => {
            let url = o.url.as_str();
            memory_per_connection(
                o.n,
                |i| async move { joined(url, &format!("room:idle-{i}")).await },
            )
            .await?;
        }
        other => return Err(format!("unknown Phoenix workload {other}").into()),
    }
    Ok(())
}
