//! One client process of one library running one workload (`tether-bench client ...`). Each
//! measurement gets its own process so that memory and CPU figures are the library's alone.
//!
//! Kinds: `tether` (Socket.IO, against the Node server), `tether-raw` (raw WebSocket mode,
//! against the bare server), `bare` (tokio-tungstenite with its defaults, against the bare
//! server: the floor), `rust_socketio` (its async client, against the Node server). The
//! socket.io-client peer is benches/peers/js-client.js, with the same line protocol.

use crate::measure::{
    cpu_ms, cpu_ms_between, cpu_ns_by_thread, epoch_us, event, figure, percentile, rss_bytes, R,
};
use futures_util::future::{join_all, BoxFuture, FutureExt};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tether_core::{
    Client, Config, Event, EventStream, IncomingMessage, OutgoingMessage, RawWebSocketConfig,
    SendOptions, StreamBuffer, SubscriptionOptions,
};
use tokio::io::{AsyncBufReadExt, BufReader, Lines, Stdin};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// W1's payload: 64 bytes, echoed by both servers.
const ECHO_64: &str = "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee";
/// W2's payload: 64 bytes, counted (not echoed) by both servers.
const COUNT_64: &str = "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc";
/// Round trips before W1 starts measuring (connection warm-up, allocator, branch caches).
const WARM_UP: usize = 500;
/// Connections opened at once in W4 and W5.
const CONNECT_BATCH: usize = 50;
/// W5's heartbeat: the defaults' shape (25 s) compressed so that 20 s see several.
pub const W5_HEARTBEAT: Duration = Duration::from_secs(5);

/// What the orchestrator asked this process to do.
pub struct Options {
    pub workload: String,
    pub kind: String,
    pub url: String,
    pub n: usize,
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
        "w3" => w3(&options).await,
        "w4" => w4(&options).await,
        "w5" => w5(&options).await,
        "w6" => w6(&options).await,
        "w7" => w7(&options).await,
        "p1" | "p2" | "p3" => {
            crate::polling::run(&options.workload, &options.kind, &options.url, options.n).await
        }
        other => Err(format!("unknown workload {other}").into()),
    }
}

// ----- connections -----

type BareWs = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A connection of any kind, with what the workloads do over it.
enum Conn {
    Tether { client: Client, events: EventStream },
    Bare(Box<BareWs>),
    RustSocketio { client: rust_socketio::asynchronous::Client, done: mpsc::UnboundedReceiver<()> },
}

fn tether_config(kind: &str, url: &str) -> R<Config> {
    Ok(match kind {
        "tether" => Config::new(url),
        "tether-raw" => Config::new(url).with_raw_websocket(RawWebSocketConfig::default()),
        other => return Err(format!("{other} is not a Tether kind").into()),
    })
}

async fn connect(kind: &str, url: &str) -> R<Conn> {
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
    let started = Instant::now();
    conn.send_counted(&o.kind, o.n).await?;
    figure("msgs_per_s", o.n as f64 / started.elapsed().as_secs_f64(), "msg/s");
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

// ----- W4, W5: many idle connections -----

/// An idle connection kept alive: bare ones need a task reading (to answer pings) and, in W5,
/// pinging like a heartbeat; the libraries run their own tasks. Held only to stay open.
#[allow(dead_code)]
enum Idle {
    Tether(Client),
    Task(tokio::task::JoinHandle<()>),
    RustSocketio(rust_socketio::asynchronous::Client),
}

async fn idle(kind: &str, url: &str, heartbeat: Option<Duration>) -> R<Idle> {
    if kind == "tether" || kind == "tether-raw" {
        // A client nobody subscribed to: W4 measures what a connection costs (each `events()`
        // subscription adds a channel of its own).
        let mut config = tether_config(kind, url)?;
        if let Some(every) = heartbeat {
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
    let mut all = Vec::with_capacity(o.n);
    while all.len() < o.n {
        let batch = CONNECT_BATCH.min(o.n - all.len());
        let opened = join_all((0..batch).map(|_| idle(&o.kind, &o.url, heartbeat))).await;
        for conn in opened {
            all.push(conn?);
        }
    }
    Ok(all)
}

async fn w4(o: &Options) -> R<()> {
    // One connection first, so that one-time costs (TLS roots, runtime, first buffers) are in
    // the baseline and the delta is what each further connection costs.
    let _warm = idle(&o.kind, &o.url, None).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = rss_bytes()?;
    let conns = idle_many(o, None).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_bytes()?;
    figure("bytes_per_conn", (after.saturating_sub(before)) as f64 / o.n as f64, "B");
    drop(conns);
    Ok(())
}

async fn w5(o: &Options) -> R<()> {
    let conns = idle_many(o, Some(W5_HEARTBEAT)).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (before, before_ticks) = (cpu_ns_by_thread()?, cpu_ms()?);
    tokio::time::sleep(Duration::from_secs(20)).await;
    figure("cpu_ms_20s", cpu_ms_between(&before, &cpu_ns_by_thread()?), "ms");
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

// ----- W3, W7: the server goes away and comes back -----

/// Timestamped milestones of a reconnect, sent by callbacks and tasks to the main loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Milestone {
    Connected,
    Joined,
    Flushed,
}

type Milestones = mpsc::UnboundedSender<(u64, Milestone)>;

fn stdin_lines() -> Lines<BufReader<Stdin>> {
    BufReader::new(tokio::io::stdin()).lines()
}

/// Forwards Tether's Connected / RoomJoined events with the time they were seen.
fn watch_tether(mut events: EventStream, tx: Milestones) {
    tokio::spawn(async move {
        while let Some(e) = events.recv().await {
            let milestone = match e {
                Event::Connected { .. } => Milestone::Connected,
                Event::RoomJoined { .. } => Milestone::Joined,
                _ => continue,
            };
            let _ = tx.send((epoch_us(), milestone));
        }
    });
}

/// W3. Per trial (driven by the orchestrator on stdin): "down" once the server was killed
/// (queue one acked message, Tether: and report the network gone when hinting), "up" once it
/// listens again (hint: network back). Prints when it was connected, and ready (room re-joined
/// and queued message acknowledged; rust_socketio has no offline queue, so only the room).
async fn w3(o: &Options) -> R<()> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut lines = stdin_lines();
    match o.kind.as_str() {
        "tether" => {
            let client = Client::new(Config::new(&o.url))?;
            watch_tether(client.events(), tx.clone());
            client.connect().await?;
            client.join("bench").await?;
            event("ready", json!({}));
            while let Some(cmd) = lines.next_line().await? {
                match cmd.trim() {
                    "down" => {
                        let mut state = client.state();
                        state.wait_for(|s| !s.is_connected()).await?;
                        if o.hint {
                            client.network_available(false).await?;
                        }
                        while rx.try_recv().is_ok() {}
                        let queued = client
                            .send_with(
                                OutgoingMessage::new("ack-echo", json!("queued")),
                                SendOptions::with_ack(Some(Duration::from_secs(30))),
                            )
                            .await?;
                        let flushed = tx.clone();
                        tokio::spawn(async move {
                            if queued.wait().await.is_ok() {
                                let _ = flushed.send((epoch_us(), Milestone::Flushed));
                            }
                        });
                        event("down-ok", json!({}));
                    }
                    "up" => {
                        if o.hint {
                            client.network_available(true).await?;
                        }
                        report_trial(&mut rx, true).await?;
                    }
                    _ => break,
                }
            }
        }
        "rust_socketio" => {
            let on_connect = tx.clone();
            let _client = rust_socketio::asynchronous::ClientBuilder::new(o.url.as_str())
                .transport_type(rust_socketio::TransportType::Websocket)
                .on(rust_socketio::Event::Connect, move |_, client| {
                    let tx = on_connect.clone();
                    rejoin(client, tx)
                })
                .connect()
                .await?;
            // Wait for the first join before saying ready.
            while rx.recv().await.ok_or("stopped")?.1 != Milestone::Joined {}
            event("ready", json!({}));
            while let Some(cmd) = lines.next_line().await? {
                match cmd.trim() {
                    "down" => {
                        while rx.try_recv().is_ok() {}
                        event("down-ok", json!({}));
                    }
                    "up" => report_trial(&mut rx, false).await?,
                    _ => break,
                }
            }
        }
        other => return Err(format!("w3 has no {other} client").into()),
    }
    Ok(())
}

/// rust_socketio: re-join the room on every connect (the app's job there), timestamped.
fn rejoin(client: rust_socketio::asynchronous::Client, tx: Milestones) -> BoxFuture<'static, ()> {
    async move {
        let _ = tx.send((epoch_us(), Milestone::Connected));
        let joined = tx.clone();
        // Not awaited: the answer is read by the task running this callback.
        let _ = client
            .emit_with_ack(
                "join-room",
                json!({"room": "bench"}),
                Duration::from_secs(30),
                move |_, _| {
                    let tx = joined.clone();
                    async move {
                        let _ = tx.send((epoch_us(), Milestone::Joined));
                    }
                    .boxed()
                },
            )
            .await;
    }
    .boxed()
}

async fn report_trial(
    rx: &mut mpsc::UnboundedReceiver<(u64, Milestone)>,
    with_outbox: bool,
) -> R<()> {
    let (mut connected, mut joined, mut flushed) = (None, None, None);
    while connected.is_none() || joined.is_none() || (with_outbox && flushed.is_none()) {
        let (at, milestone) = rx.recv().await.ok_or("stopped")?;
        match milestone {
            Milestone::Connected => connected = Some(at),
            Milestone::Joined if connected.is_some() => joined = Some(at),
            Milestone::Flushed => flushed = Some(at),
            Milestone::Joined => {}
        }
    }
    let ready = joined.max(flushed);
    event("trial", json!({ "connected_at_us": connected, "ready_at_us": ready }));
    Ok(())
}

/// W7: "down" once the server was killed: queue `n` acked messages; prints when the client was
/// connected again and when the last acknowledgement came.
async fn w7(o: &Options) -> R<()> {
    if o.kind != "tether" {
        return Err(format!("w7 has no {} client (no offline queue)", o.kind).into());
    }
    let config = Config::new(&o.url)
        .with_outbox_limits(o.n * 2, 64 * 1024 * 1024)
        .with_max_pending_acks(o.n * 2);
    let client = Client::new(config)?;
    let (tx, mut rx) = mpsc::unbounded_channel();
    watch_tether(client.events(), tx);
    client.connect().await?;
    event("ready", json!({}));
    let mut lines = stdin_lines();
    if lines.next_line().await?.as_deref().map(str::trim) != Some("down") {
        return Ok(());
    }
    client.state().wait_for(|s| !s.is_connected()).await?;
    while rx.try_recv().is_ok() {}
    let mut pending = Vec::with_capacity(o.n);
    for _ in 0..o.n {
        let options = SendOptions::with_ack(Some(Duration::from_secs(120)));
        pending.push(
            client.send_with(OutgoingMessage::new("ack-echo", json!(ECHO_64)), options).await?,
        );
    }
    let queued = client.stats().await?.queued;
    event("down-ok", json!({ "queued": queued }));
    let results = join_all(pending.into_iter().map(|p| p.wait())).await;
    let done = epoch_us();
    let failed = results.iter().filter(|r| r.is_err()).count();
    let mut connected = None;
    while let Ok((at, m)) = rx.try_recv() {
        if m == Milestone::Connected {
            connected = Some(at);
        }
    }
    event("flushed", json!({ "connected_at_us": connected, "done_at_us": done, "failed": failed }));
    Ok(())
}
