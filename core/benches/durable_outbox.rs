//! Sends per second with the durable outbox against the in-memory one, and what a send costs
//! in allocations. Self-contained: `cargo bench -p tether-core --bench durable_outbox`
//! (`-- --quick` for a short run). Results and their reading are in BENCHMARKS.md ("Durable
//! outbox"). Not a test: nothing here asserts a speed.
//!
//! Workloads, each with the outbox in memory and in a file (SQLite, WAL), 64-byte payloads:
//! - `offline-one-by-one`: no connection; one `send().await` after another (durable: one
//!   transaction per message, since the next send starts after the last returned).
//! - `offline-bursts`: no connection; windows of 64 sends in flight together (durable: the
//!   driver writes a window in one or a few transactions).
//! - `connected-at-least-once`: connected to the benchmarks' Node server
//!   (`benches/peers/bench-server.js`); windows of 64 at-least-once sends, each window's
//!   acknowledgements awaited (durable: written when sent, forgotten when acknowledged).
//!
//! Prints one JSON line per figure (`{"workload","client","mode","figure","value","unit"}`, as
//! the other benchmarks do) and a table.

use futures_util::future::join_all;
use serde_json::json;
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};
use std::alloc::System;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tether_core::{Client, Config, OutgoingMessage, SendOptions};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const WINDOW: usize = 64;

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Memory,
    Durable,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Memory => "memory",
            Mode::Durable => "durable",
        }
    }
}

/// One measurement: messages in `elapsed`, with `allocations` during it.
struct Figure {
    workload: &'static str,
    mode: Mode,
    messages: usize,
    elapsed: Duration,
    allocations: usize,
}

impl Figure {
    fn per_second(&self) -> f64 {
        self.messages as f64 / self.elapsed.as_secs_f64()
    }

    fn micros_each(&self) -> f64 {
        self.elapsed.as_secs_f64() * 1e6 / self.messages as f64
    }

    fn allocations_each(&self) -> f64 {
        self.allocations as f64 / self.messages as f64
    }

    fn print_json(&self) {
        for (figure, value, unit) in [
            ("sends_per_s", self.per_second(), "1/s"),
            ("us_per_send", self.micros_each(), "us"),
            ("allocations_per_send", self.allocations_each(), "count"),
        ] {
            println!(
                "{}",
                json!({"workload": self.workload, "client": "tether", "mode": self.mode.name(),
                       "figure": figure, "value": (value * 100.0).round() / 100.0, "unit": unit})
            );
        }
    }
}

fn message(n: usize) -> OutgoingMessage {
    // 64 bytes of payload, as in W2.
    OutgoingMessage::new("ack-echo", json!({ "n": n, "pad": "x".repeat(40) }))
}

fn config(url: &str, mode: Mode, file: &PathBuf, messages: usize) -> Config {
    let config = Config::new(url)
        .with_outbox_limits(messages + WINDOW, 256 << 20)
        .with_max_pending_acks(messages + WINDOW)
        .with_ack_timeout(Duration::from_secs(600));
    match mode {
        Mode::Memory => config,
        Mode::Durable => config.with_durable_outbox(file),
    }
}

/// A file path for the durable outbox, fresh for each run.
fn fresh_file(dir: &std::path::Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    path
}

async fn offline(mode: Mode, messages: usize, burst: bool, dir: &std::path::Path) -> Figure {
    let file = fresh_file(dir, &format!("offline-{}-{burst}.sqlite", mode.name()));
    // Never started: every send goes to the outbox.
    let client = Client::new(config("ws://127.0.0.1:9", mode, &file, messages))
        .unwrap_or_else(|e| panic!("client: {e}"));
    let region = Region::new(GLOBAL);
    let started = Instant::now();
    if burst {
        for window in (0..messages).collect::<Vec<_>>().chunks(WINDOW) {
            let sends = window.iter().map(|n| client.send(message(*n)));
            for result in join_all(sends).await {
                result.unwrap_or_else(|e| panic!("send: {e}"));
            }
        }
    } else {
        for n in 0..messages {
            client.send(message(n)).await.unwrap_or_else(|e| panic!("send: {e}"));
        }
    }
    let elapsed = started.elapsed();
    let allocations = region.change().allocations;
    let workload = if burst { "offline-bursts" } else { "offline-one-by-one" };
    Figure { workload, mode, messages, elapsed, allocations }
}

async fn connected(mode: Mode, messages: usize, url: &str, dir: &std::path::Path) -> Figure {
    let file = fresh_file(dir, &format!("connected-{}.sqlite", mode.name()));
    let client = Client::new(config(url, mode, &file, messages).with_at_least_once(true))
        .unwrap_or_else(|e| panic!("client: {e}"));
    client.connect().await.unwrap_or_else(|e| panic!("connect: {e}"));
    let region = Region::new(GLOBAL);
    let started = Instant::now();
    for window in (0..messages).collect::<Vec<_>>().chunks(WINDOW) {
        let sends =
            window.iter().map(|n| client.send_with(message(*n), SendOptions::at_least_once(None)));
        let pending: Vec<_> = join_all(sends)
            .await
            .into_iter()
            .map(|r| r.unwrap_or_else(|e| panic!("{e}")))
            .collect();
        for ack in join_all(pending.into_iter().map(|p| p.wait())).await {
            ack.unwrap_or_else(|e| panic!("ack: {e}"));
        }
    }
    let elapsed = started.elapsed();
    let allocations = region.change().allocations;
    Figure { workload: "connected-at-least-once", mode, messages, elapsed, allocations }
}

/// The benchmarks' Node server, on a random port (exits when our stdin pipe closes).
async fn bench_server() -> (Child, String) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../benches/peers/bench-server.js");
    let mut child = Command::new("node")
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("node {script:?}: {e} (run scripts/install-deps.sh)"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let mut lines = BufReader::new(stdout).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let report: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        if report["event"] == "listening" {
            return (child, format!("http://127.0.0.1:{}", report["port"]));
        }
    }
    panic!("the bench server did not start");
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (offline_n, connected_n) = if quick { (2_000, 2_000) } else { (20_000, 20_000) };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    let dir = std::env::temp_dir().join(format!("tether-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{dir:?}: {e}"));
    let figures = runtime.block_on(async {
        let (_server, url) = bench_server().await;
        let mut figures = Vec::new();
        for mode in [Mode::Memory, Mode::Durable] {
            // A warm-up round of each, not counted.
            offline(mode, offline_n / 10, false, &dir).await;
            figures.push(offline(mode, offline_n, false, &dir).await);
            figures.push(offline(mode, offline_n, true, &dir).await);
            connected(mode, connected_n / 10, &url, &dir).await;
            figures.push(connected(mode, connected_n, &url, &dir).await);
        }
        figures
    });
    let _ = std::fs::remove_dir_all(&dir);
    for figure in &figures {
        figure.print_json();
    }
    println!("\n| workload | memory: sends/s | durable: sends/s | durable / memory | durable cost per send | allocations per send (memory, durable) |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for workload in ["offline-one-by-one", "offline-bursts", "connected-at-least-once"] {
        let find = |mode| figures.iter().find(|f| f.workload == workload && f.mode == mode);
        if let (Some(m), Some(d)) = (find(Mode::Memory), find(Mode::Durable)) {
            println!(
                "| {workload} | {:.0} | {:.0} | {:.2} | +{:.1} µs | {:.1}, {:.1} |",
                m.per_second(),
                d.per_second(),
                d.per_second() / m.per_second(),
                d.micros_each() - m.micros_each(),
                m.allocations_each(),
                d.allocations_each()
            );
        }
    }
}
