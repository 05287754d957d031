//! The server goes away and comes back, one client process's side: W3 (reconnect after a
//! restart; Tether, rust_socketio; Phoenix P3 uses the same Tether side) and W7 (the outbox
//! flushed after it).
//!
//! A reconnect process holds several clients (`--clients`), each one sample per trial: the
//! first retry is jittered, so one client per trial would need many slow trials for a stable
//! median. The W3 fleet (`fleet.rs`) runs the same processes with 1,000 clients, opened in
//! batches as W4 opens its connections. The orchestrator drives trials on stdin: `down` once the server was killed (each
//! client queues one acknowledged message where the library has an offline queue, and with
//! `--hint` is told the network is gone), `up` once it listens again (hint: the network is back);
//! the process answers `down-ok`, then a `trial` line with, per client, when it was connected
//! and when it was ready again (room re-joined, queued message acknowledged).

use crate::clients::{Options, ECHO_64};
use crate::idle::open_many;
use crate::measure::{epoch_us, event, R};
use futures_util::future::{join_all, BoxFuture, FutureExt};
use serde_json::json;
use std::time::Duration;
use tether_core::{Client, Config, Event, EventStream, OutgoingMessage, SendOptions};
use tokio::io::{AsyncBufReadExt, BufReader, Lines, Stdin};
use tokio::sync::mpsc;

/// Timestamped milestones of a reconnect, sent by callbacks and tasks to the main loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Milestone {
    Connected,
    Joined,
    Flushed,
}

/// (client index, epoch µs, milestone).
type Milestones = mpsc::UnboundedSender<(usize, u64, Milestone)>;
type MilestoneRx = mpsc::UnboundedReceiver<(usize, u64, Milestone)>;

fn stdin_lines() -> Lines<BufReader<Stdin>> {
    BufReader::new(tokio::io::stdin()).lines()
}

/// Forwards Tether's Connected / RoomJoined events with the time they were seen.
fn watch_tether(index: usize, mut events: EventStream, tx: Milestones) {
    tokio::spawn(async move {
        while let Some(e) = events.recv().await {
            let milestone = match e {
                Event::Connected { .. } => Milestone::Connected,
                Event::RoomJoined { .. } => Milestone::Joined,
                _ => continue,
            };
            let _ = tx.send((index, epoch_us(), milestone));
        }
    });
}

/// Tether's clients for a reconnect workload: `config` and `room` per client index.
pub struct TetherReconnect<C, N> {
    pub config: C,
    pub room: N,
    /// Queue one acknowledged message per client while down (W3; Phoenix P3 does not).
    pub queue_while_down: bool,
}

impl<C: Fn(usize) -> Config, N: Fn(usize) -> String> TetherReconnect<C, N> {
    /// Connects and joins every client, then runs trials until stdin says otherwise.
    pub async fn run(&self, o: &Options) -> R<()> {
        let (tx, mut rx) = mpsc::unbounded_channel();
        // In batches, as W4 opens its connections: the W3 fleet holds 1,000 clients.
        let clients = open_many(o.clients, |index| {
            let tx = tx.clone();
            async move {
                let client = Client::new((self.config)(index))?;
                watch_tether(index, client.events(), tx);
                client.connect().await?;
                client.join(&(self.room)(index)).await?;
                Ok(client)
            }
        })
        .await?;
        event("ready", json!({}));
        let mut lines = stdin_lines();
        while let Some(cmd) = lines.next_line().await? {
            match cmd.trim() {
                "down" => {
                    for client in &clients {
                        client.state().wait_for(|s| !s.is_connected()).await?;
                        if o.hint {
                            client.network_available(false).await?;
                        }
                    }
                    while rx.try_recv().is_ok() {}
                    if self.queue_while_down {
                        for (index, client) in clients.iter().enumerate() {
                            queue_one(index, client, tx.clone()).await?;
                        }
                    }
                    event("down-ok", json!({}));
                }
                "up" => {
                    if o.hint {
                        for client in &clients {
                            client.network_available(true).await?;
                        }
                    }
                    report_trial(&mut rx, o.clients, self.queue_while_down).await?;
                }
                _ => break,
            }
        }
        Ok(())
    }
}

/// One acknowledged message queued while the server is down; `Flushed` when it is answered.
async fn queue_one(index: usize, client: &Client, tx: Milestones) -> R<()> {
    let queued = client
        .send_with(
            OutgoingMessage::new("ack-echo", json!("queued")),
            SendOptions::with_ack(Some(Duration::from_secs(30))),
        )
        .await?;
    tokio::spawn(async move {
        if queued.wait().await.is_ok() {
            let _ = tx.send((index, epoch_us(), Milestone::Flushed));
        }
    });
    Ok(())
}

/// W3 for `tether` and `rust_socketio` (the socket.io-client side is js-client.js).
pub async fn w3(o: &Options) -> R<()> {
    match o.kind.as_str() {
        "tether" => {
            let url = o.url.clone();
            let clients = TetherReconnect {
                config: move |_| Config::new(&url),
                room: |_| "bench".to_owned(),
                queue_while_down: true,
            };
            clients.run(o).await
        }
        "rust_socketio" => w3_rust_socketio(o).await,
        other => Err(format!("w3 has no {other} client").into()),
    }
}

async fn w3_rust_socketio(o: &Options) -> R<()> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let clients = open_many(o.clients, |index| {
        let on_connect = tx.clone();
        async move {
            let client = rust_socketio::asynchronous::ClientBuilder::new(o.url.as_str())
                .transport_type(rust_socketio::TransportType::Websocket)
                .on(rust_socketio::Event::Connect, move |_, client| {
                    rejoin(index, client, on_connect.clone())
                })
                .connect()
                .await?;
            Ok(client)
        }
    })
    .await?;
    // Wait for every first join before saying ready.
    let mut joined = vec![false; o.clients];
    while joined.iter().any(|j| !j) {
        let (index, _, milestone) = rx.recv().await.ok_or("stopped")?;
        if milestone == Milestone::Joined {
            joined[index] = true;
        }
    }
    event("ready", json!({}));
    let mut lines = stdin_lines();
    while let Some(cmd) = lines.next_line().await? {
        match cmd.trim() {
            "down" => {
                while rx.try_recv().is_ok() {}
                event("down-ok", json!({}));
            }
            // rust_socketio has no offline queue: ready is the room re-joined.
            "up" => report_trial(&mut rx, o.clients, false).await?,
            _ => break,
        }
    }
    drop(clients);
    Ok(())
}

/// rust_socketio: re-join the room on every connect (the app's job there), timestamped.
fn rejoin(
    index: usize,
    client: rust_socketio::asynchronous::Client,
    tx: Milestones,
) -> BoxFuture<'static, ()> {
    async move {
        let _ = tx.send((index, epoch_us(), Milestone::Connected));
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
                        let _ = tx.send((index, epoch_us(), Milestone::Joined));
                    }
                    .boxed()
                },
            )
            .await;
    }
    .boxed()
}

/// Waits until every client is connected and ready again; prints the `trial` line.
async fn report_trial(rx: &mut MilestoneRx, clients: usize, with_outbox: bool) -> R<()> {
    let mut connected: Vec<Option<u64>> = vec![None; clients];
    let mut joined: Vec<Option<u64>> = vec![None; clients];
    let mut flushed: Vec<Option<u64>> = vec![None; clients];
    let done = |i: usize, c: &[Option<u64>], j: &[Option<u64>], f: &[Option<u64>]| {
        c[i].is_some() && j[i].is_some() && (!with_outbox || f[i].is_some())
    };
    while !(0..clients).all(|i| done(i, &connected, &joined, &flushed)) {
        let (i, at, milestone) = rx.recv().await.ok_or("stopped")?;
        let Some(slot) = connected.get(i) else { continue };
        match milestone {
            Milestone::Connected => connected[i] = Some(at),
            Milestone::Joined if slot.is_some() => joined[i] = Some(at),
            Milestone::Flushed => flushed[i] = Some(at),
            Milestone::Joined => {}
        }
    }
    let ready: Vec<Option<u64>> = (0..clients).map(|i| joined[i].max(flushed[i])).collect();
    event("trial", json!({ "connected_at_us": connected, "ready_at_us": ready }));
    Ok(())
}

/// W7: "down" once the server was killed: queue `n` acked messages; prints when the client was
/// connected again and when the last acknowledgement came.
pub async fn w7(o: &Options) -> R<()> {
    if o.kind != "tether" {
        return Err(format!("w7 has no {} client (no offline queue)", o.kind).into());
    }
    let config = Config::new(&o.url)
        .with_outbox_limits(o.n * 2, 64 * 1024 * 1024)
        .with_max_pending_acks(o.n * 2);
    let client = Client::new(config)?;
    let (tx, mut rx) = mpsc::unbounded_channel();
    watch_tether(0, client.events(), tx);
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
    while let Ok((_, at, m)) = rx.try_recv() {
        if m == Milestone::Connected {
            connected = Some(at);
        }
    }
    event("flushed", json!({ "connected_at_us": connected, "done_at_us": done, "failed": failed }));
    Ok(())
}
