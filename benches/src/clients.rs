//! One client process of one library running one workload (`tether-bench client ...`). Each
//! measurement gets its own process so that memory and CPU figures are the library's alone.
//! This file: the options, the connections of every kind, W1, W2 and W6's Rust baseline; W4 and
//! W5 are in `idle.rs`, W3 and W7 in `reconnect.rs`, the Phoenix workloads in `phoenix.rs`.
//!
//! Kinds: `tether` (Socket.IO, against the Node server), `tether-raw` (raw WebSocket mode,
//! against the bare server), `bare` (tokio-tungstenite with its defaults, against the bare
//! server: the floor), `rust_socketio` (its async client, against the Node server). The
//! socket.io-client peer is benches/peers/js-client.js, with the same line protocol.

use crate::measure::{cpu_ms_between, figure, percentile, sched_by_thread, R};
use futures_util::future::FutureExt;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tether_core::{
    Client, Config, Event, EventStream, IncomingMessage, OutgoingMessage, RawWebSocketConfig,
    StreamBuffer, SubscriptionOptions,
};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// W1's payload: 64 bytes, echoed by both servers.
pub const ECHO_64: &str = "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee";
/// W2's payload: 64 bytes, counted (not echoed) by both servers.
const COUNT_64: &str = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";
/// Round trips before W1 starts measuring (connection warm-up, allocator, branch caches).
const WARM_UP: usize = 500;

/// What the orchestrator asked this process to do.
pub struct Options {
    pub workload: String,
    pub kind: String,
    pub url: String,
    pub n: usize,
    /// Clients in this process (W3 and Phoenix P3: one sample each per trial).
    pub clients: usize,
    /// W3/W7: tell Tether when the network goes and comes back (`network_available`).
    pub hint: bool,
}

impl Options {
    pub fn parse(args: &[String]) -> R<Self> {
        let mut options = Options {
            workload: String::new(),
            kind: String::new(),
            url: String::new(),
            n: 0,
            clients: 1,
            hint: false,
        };
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let mut value = || it.next().cloned().ok_or(format!("{flag} needs a value"));
            match flag.as_str() {
                "--workload" => options.workload = value()?,
                "--kind" => options.kind = value()?,
                "--url" => options.url = value()?,
                "--n" => options.n = value()?.parse()?,
                "--clients" => options.clients = value()?.parse::<usize>()?.max(1),
                "--hint" => options.hint = true,
                other => return Err(format!("unknown flag {other}").into()),
            }
        }
        Ok(options)
    }
}

pub async fn run(options: Options) -> R<()> {
    match options.workload.as_str() {
        "w1" => w1(&options).await,
        "w2" => w2(&options).await,
        "w3" => crate::reconnect::w3(&options).await,
        "w4" => crate::idle::w4(&options).await,
        "w5" => crate::idle::w5(&options).await,
        "w6" => w6(&options).await,
        "w7" => crate::reconnect::w7(&options).await,
        "p1" | "p2" | "p3" => {
            crate::polling::run(&options.workload, &options.kind, &options.url, options.n).await
        }
        "phx1" | "phx2" | "phx3" | "phx4" => crate::phoenix::run(&options).await,
        other => Err(format!("unknown workload {other}").into()),
    }
}

// ----- connections -----

type BareWs = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A connection of any kind, with what the workloads do over it.
pub enum Conn {
    Tether { client: Client, events: EventStream },
    Bare(Box<BareWs>),
    RustSocketio { client: rust_socketio::asynchronous::Client, done: mpsc::UnboundedReceiver<()> },
}

pub fn tether_config(kind: &str, url: &str) -> R<Config> {
    Ok(match kind {
        "tether" => Config::new(url),
        "tether-raw" => Config::new(url).with_raw_websocket(RawWebSocketConfig::default()),
        other => return Err(format!("{other} is not a Tether kind").into()),
    })
}

pub async fn connect(kind: &str, url: &str) -> R<Conn> {
    match kind {
        "tether" | "tether-raw" => {
            let client = Client::new(tether_config(kind, url)?)?;
            let events = client.events();
            client.connect().await?;
            Ok(Conn::Tether { client, events })
        }
        "bare" => {
            // tokio-tungstenite's defaults, Nagle off (as Tether and Node's ws do).
            let (ws, _) = tokio_tungstenite::connect_async_with_config(url, None, true).await?;
            Ok(Conn::Bare(Box::new(ws)))
        }
        "rust_socketio" => {
            let (done_tx, done) = mpsc::unbounded_channel();
            let (connected_tx, connected) = oneshot::channel::<()>();
            let connected_tx = Arc::new(Mutex::new(Some(connected_tx)));
            let client = rust_socketio::asynchronous::ClientBuilder::new(url)
                .transport_type(rust_socketio::TransportType::Websocket)
                .on(rust_socketio::Event::Connect, move |_, _| {
                    let slot = connected_tx.clone();
                    async move {
                        if let Some(tx) = slot.lock().ok().and_then(|mut s| s.take()) {
                            let _ = tx.send(());
                        }
                    }
                    .boxed()
                })
                .on("count-done", move |_, _| {
                    let tx = done_tx.clone();
                    async move {
                        let _ = tx.send(());
                    }
                    .boxed()
                })
                .connect()
                .await?;
            // The server drops events sent before the namespace is connected.
            tokio::time::timeout(Duration::from_secs(10), connected).await??;
            Ok(Conn::RustSocketio { client, done })
        }
        other => Err(format!("unknown kind {other}").into()),
    }
}

/// rust_socketio's emit_with_ack takes a callback; this turns it into a future.
async fn sio_ack(
    client: &rust_socketio::asynchronous::Client,
    event: &str,
    data: serde_json::Value,
) -> R<()> {
    let (tx, rx) = oneshot::channel();
    let slot = Arc::new(Mutex::new(Some(tx)));
    client
        .emit_with_ack(event, data, Duration::from_secs(30), move |_, _| {
            let slot = slot.clone();
            async move {
                if let Some(tx) = slot.lock().ok().and_then(|mut s| s.take()) {
                    let _ = tx.send(());
                }
            }
            .boxed()
        })
        .await?;
    Ok(rx.await?)
}

async fn next_text(ws: &mut BareWs) -> R<String> {
    while let Some(message) = ws.next().await {
        if let Message::Text(text) = message? {
            return Ok(text.as_str().to_owned());
        }
    }
    Err("connection closed".into())
}

async fn next_message(events: &mut EventStream, name: &str) -> R<()> {
    while let Some(e) = events.recv().await {
        if matches!(&e, Event::Message(m) if m.event == name) {
            return Ok(());
        }
    }
    Err("client stopped".into())
}

/// The payload of a raw-mode text message (`"message"` event, the text as first argument).
async fn next_raw_text(events: &mut EventStream) -> R<String> {
    while let Some(e) = events.recv().await {
        if let Event::Message(m) = e {
            return Ok(m.data.first().and_then(|v| v.as_str()).unwrap_or_default().to_owned());
        }
    }
    Err("client stopped".into())
}

impl Conn {
    /// One request and its answer: an emit-with-ack over Socket.IO, a message and its echo over
    /// a raw WebSocket.
    async fn round_trip(&mut self, kind: &str) -> R<()> {
        match self {
            Conn::Tether { client, .. } if kind == "tether" => {
                client.emit_with_ack("ack-echo", json!(ECHO_64)).await?;
            }
            Conn::Tether { client, events } => {
                client.send(OutgoingMessage::text(ECHO_64)).await?;
                next_raw_text(events).await?;
            }
            Conn::Bare(ws) => {
                ws.send(Message::text(ECHO_64)).await?;
                next_text(ws).await?;
            }
            Conn::RustSocketio { client, .. } => {
                sio_ack(client, "ack-echo", json!(ECHO_64)).await?
            }
        }
        Ok(())
    }

    /// Resets the server's counter to `n`; returns a closure-free sender loop's end.
    async fn reset_counter(&mut self, kind: &str, n: usize) -> R<()> {
        match self {
            Conn::Tether { client, .. } if kind == "tether" => {
                client.emit_with_ack("count-reset", json!(n)).await?;
            }
            Conn::Tether { client, events } => {
                client.send(OutgoingMessage::text(format!("reset:{n}"))).await?;
                next_raw_text(events).await?;
            }
            Conn::Bare(ws) => {
                ws.send(Message::text(format!("reset:{n}"))).await?;
                next_text(ws).await?;
            }
            Conn::RustSocketio { client, .. } => sio_ack(client, "count-reset", json!(n)).await?,
        }
        Ok(())
    }

    /// Sends `n` counted messages, each as the library's fire-and-forget send (Tether's
    /// `emit_nowait` / `send_nowait`), then waits until the server says it has them all.
    async fn send_counted(&mut self, kind: &str, n: usize) -> R<()> {
        match self {
            Conn::Tether { client, events } if kind == "tether" => {
                for _ in 0..n {
                    client.emit_nowait("count", json!(COUNT_64)).await?;
                }
                next_message(events, "count-done").await?;
            }
            Conn::Tether { client, events } => {
                for _ in 0..n {
                    client.send_nowait(OutgoingMessage::text(COUNT_64)).await?;
                }
                while next_raw_text(events).await? != "done" {}
            }
            Conn::Bare(ws) => {
                for _ in 0..n {
                    ws.send(Message::text(COUNT_64)).await?;
                }
                while next_text(ws).await? != "done" {}
            }
            Conn::RustSocketio { client, done } => {
                for _ in 0..n {
                    client.emit("count", json!(COUNT_64)).await?;
                }
                done.recv().await.ok_or("client stopped")?;
            }
        }
        Ok(())
    }
}

// ----- W1, W2 -----

async fn w1(o: &Options) -> R<()> {
    let mut conn = connect(&o.kind, &o.url).await?;
    for _ in 0..WARM_UP {
        conn.round_trip(&o.kind).await?;
    }
    let mut samples = Vec::with_capacity(o.n);
    for _ in 0..o.n {
        let started = Instant::now();
        conn.round_trip(&o.kind).await?;
        samples.push(started.elapsed().as_secs_f64() * 1e6);
    }
    samples.sort_by(f64::total_cmp);
    figure("p50_us", percentile(&samples, 50.0), "us");
    figure("p99_us", percentile(&samples, 99.0), "us");
    figure("max_us", samples.last().copied().unwrap_or(f64::NAN), "us");
    Ok(())
}

async fn w2(o: &Options) -> R<()> {
    let mut conn = connect(&o.kind, &o.url).await?;
    conn.reset_counter(&o.kind, o.n).await?;
    let cpu_before = sched_by_thread()?;
    let started = Instant::now();
    conn.send_counted(&o.kind, o.n).await?;
    figure("msgs_per_s", o.n as f64 / started.elapsed().as_secs_f64(), "msg/s");
    // What the client itself spent (every thread): on 2 cores it competes with the server.
    let cpu_ms = cpu_ms_between(&cpu_before, &sched_by_thread()?);
    figure("client_cpu_us_per_msg", cpu_ms * 1000.0 / o.n as f64, "us");
    Ok(())
}

// ----- W6's Rust baseline -----

/// What the engine delivers before any foreign call: the flood the Kotlin and Swift harnesses
/// take (`flood:N` to the bare server), received by a Rust subscription in batches and one by
/// one. The bindings' figures are read against these.
async fn w6(o: &Options) -> R<()> {
    let client = Client::new(tether_config("tether-raw", &o.url)?)?;
    client.connect().await?;
    let is_flood = |m: &IncomingMessage| {
        m.payload().and_then(|p| p.as_str()).is_some_and(|t| t.starts_with('f'))
    };
    for batched in [true, false] {
        // W6 times the delivery of every message, so the stream may hold the whole flood (by
        // default it would keep the newest 16,384 for a reader that falls behind).
        let whole_flood = StreamBuffer::new(o.n + 1024, usize::MAX);
        let mut messages =
            client.subscribe(SubscriptionOptions::default().with_buffer(whole_flood));
        let started = Instant::now();
        client.send(OutgoingMessage::text(format!("flood:{}", o.n))).await?;
        let mut received = 0;
        while received < o.n {
            if batched {
                let batch = messages.recv_batch(1024).await;
                if batch.is_empty() {
                    return Err("the client stopped during the flood".into());
                }
                received += batch.iter().filter(|m| is_flood(m)).count();
            } else {
                match messages.recv().await {
                    Some(m) => received += usize::from(is_flood(&m)),
                    None => return Err("the client stopped during the flood".into()),
                }
            }
        }
        let name = if batched { "batched_events_per_s" } else { "callbacks_per_s" };
        figure(name, o.n as f64 / started.elapsed().as_secs_f64(), "1/s");
    }
    Ok(())
}
