//! The long-polling workloads (P1-P3 in BENCHMARKS.md), self-contained: `run` is one client
//! process's side, `orchestrate` runs every kind of one pass against one Node server and
//! returns its rows.
//!
//! Kinds: `tether-polling` (long-polling only), `tether-upgrade` (polling, then the upgrade;
//! measured once upgraded), and their socket.io-client peers `socket.io-client-polling` and
//! `socket.io-client-upgrade` (benches/peers/js-client.js with `--transports`).
//!
//! - P1: round trip (emit with ack, 64 bytes): p50, p99.
//! - P2: throughput: N fire-and-forget 64-byte emits until the server counted them all.
//! - P3: time to first message: from `connect` asked to the first acknowledgement back, fresh
//!   client each trial (median).

use crate::measure::{figure, percentile, R};
use crate::passes::{cmp, rotated, Better, Comparison};
use serde_json::json;
use std::time::{Duration, Instant};
use tether_core::{Client, Config, Event, TransportKind, Transports};

/// The Tether kinds and the socket.io-client kinds they are compared with.
pub const KINDS: [(&str, &str); 2] = [
    ("tether-polling", "socket.io-client-polling"),
    ("tether-upgrade", "socket.io-client-upgrade"),
];

const PAYLOAD: &str = "pppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp";

/// The transports of a Tether kind; `None` for other kinds.
pub fn transports(kind: &str) -> Option<Transports> {
    match kind {
        "tether-polling" => Some(Transports::Polling),
        "tether-upgrade" => Some(Transports::PollingThenUpgrade),
        _ => None,
    }
}

/// The `--transports` of a socket.io-client kind; `None` for other kinds.
pub fn js_transports(kind: &str) -> Option<&'static str> {
    match kind {
        "socket.io-client-polling" => Some("polling"),
        "socket.io-client-upgrade" => Some("polling,websocket"),
        _ => None,
    }
}

async fn connect(url: &str, transports: Transports) -> R<Client> {
    let client = Client::new(Config::new(url).with_transports(transports))?;
    client.connect().await?;
    if transports == Transports::PollingThenUpgrade {
        // Measured once upgraded, as the socket.io-client peer is.
        let deadline = Instant::now() + Duration::from_secs(10);
        while client.stats().await?.transport != Some(TransportKind::WebSocket) {
            if Instant::now() > deadline {
                return Err("no upgrade within 10 s".into());
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    Ok(client)
}

/// One client process: `workload` p1, p2 or p3 for a Tether kind.
pub async fn run(workload: &str, kind: &str, url: &str, n: usize) -> R<()> {
    let transports = transports(kind).ok_or_else(|| format!("{kind} is not a polling kind"))?;
    match workload {
        "p1" => {
            let client = connect(url, transports).await?;
            for _ in 0..100 {
                client.emit_with_ack("ack-echo", json!(PAYLOAD)).await?;
            }
            let mut samples = Vec::with_capacity(n);
            for _ in 0..n {
                let started = Instant::now();
                client.emit_with_ack("ack-echo", json!(PAYLOAD)).await?;
                samples.push(started.elapsed().as_secs_f64() * 1e6);
            }
            samples.sort_by(f64::total_cmp);
            figure("p50_us", percentile(&samples, 50.0), "us");
            figure("p99_us", percentile(&samples, 99.0), "us");
        }
        "p2" => {
            let client = connect(url, transports).await?;
            let mut events = client.events();
            client.emit_with_ack("count-reset", json!(n)).await?;
            let started = Instant::now();
            for _ in 0..n {
                client.emit_nowait("count", json!(PAYLOAD)).await?;
            }
            while let Some(e) = events.recv().await {
                if matches!(&e, Event::Message(m) if m.event == "count-done") {
                    break;
                }
            }
            figure("msgs_per_s", n as f64 / started.elapsed().as_secs_f64(), "msg/s");
        }
        "p3" => {
            let mut samples = Vec::with_capacity(n);
            for _ in 0..n {
                let started = Instant::now();
                let client = Client::new(Config::new(url).with_transports(transports))?;
                client.connect().await?;
                client.emit_with_ack("ack-echo", json!(PAYLOAD)).await?;
                samples.push(started.elapsed().as_secs_f64() * 1e3);
                client.disconnect().await?;
            }
            samples.sort_by(f64::total_cmp);
            figure("first_message_median_ms", percentile(&samples, 50.0), "ms");
        }
        other => return Err(format!("unknown polling workload {other}").into()),
    }
    Ok(())
}

/// Sizes: round trips, messages, first-message trials.
pub struct Sizes {
    pub p1: usize,
    pub p2: usize,
    pub p3: usize,
}

/// The comparisons of the report.
pub const COMPARISONS: &[Comparison] = &[
    cmp("p1", "p50_us", "tether-polling", "socket.io-client-polling", Better::Lower),
    cmp("p1", "p99_us", "tether-polling", "socket.io-client-polling", Better::Lower),
    cmp("p2", "msgs_per_s", "tether-polling", "socket.io-client-polling", Better::Higher),
    cmp(
        "p3",
        "first_message_median_ms",
        "tether-polling",
        "socket.io-client-polling",
        Better::Lower,
    ),
    cmp("p1", "p50_us", "tether-upgrade", "socket.io-client-upgrade", Better::Lower),
    cmp("p1", "p99_us", "tether-upgrade", "socket.io-client-upgrade", Better::Lower),
    cmp("p2", "msgs_per_s", "tether-upgrade", "socket.io-client-upgrade", Better::Higher),
    cmp(
        "p3",
        "first_message_median_ms",
        "tether-upgrade",
        "socket.io-client-upgrade",
        Better::Lower,
    ),
];

/// Every polling workload for every kind, one process per measurement, the kinds of pass `pass`
/// in its rotated order; `spawn(kind, workload, n)` starts the process and returns its figures.
pub async fn orchestrate<F, Fut>(
    sizes: &Sizes,
    pass: usize,
    mut spawn: F,
) -> Vec<(String, String, Vec<serde_json::Value>)>
where
    F: FnMut(String, String, usize) -> Fut,
    Fut: std::future::Future<Output = R<Vec<serde_json::Value>>>,
{
    let mut rows = Vec::new();
    for (workload, n) in [("p1", sizes.p1), ("p2", sizes.p2), ("p3", sizes.p3)] {
        for (ours, peer) in KINDS {
            for kind in rotated(&[ours, peer], pass) {
                eprintln!("== {workload} {kind}");
                match spawn(kind.to_owned(), workload.to_owned(), n).await {
                    Ok(figures) => rows.push((workload.to_owned(), kind.to_owned(), figures)),
                    Err(e) => eprintln!("!! {workload} {kind}: {e}"),
                }
            }
        }
    }
    rows
}
