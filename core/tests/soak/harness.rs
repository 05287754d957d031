//! The chaos soak, for every protocol: 10 clients, each through its own fault proxy, to a Node
//! test server, while a seeded RNG cuts, resets, blackholes, slows and refuses their links and
//! restarts the server. Every client sends numbered messages at-least-once (with a `messageId`)
//! to a room all of them joined; the server relays them; every client checks what it gets.
//! What differs between protocols is a [`Flavor`]; `chaos_soak.rs` (Socket.IO) and
//! `chaos_soak_phoenix.rs` (Phoenix Channels, Supabase-shaped) each run one.
//!
//! # What is guaranteed, and so checked
//!
//! - **Senders, at-least-once:** every message is acknowledged (no failure, no drop); the
//!   server received every one at least once.
//! - **Order of first copies at the server:** a connection carries a sender's messages in send
//!   order, and after a reconnect (or a room's rejoin) the unacknowledged ones go out again,
//!   oldest first, before anything newer. So per sender, the *first* copy of each message
//!   reaches the server in send order (0, 1, 2, ... with no gaps), with any number of
//!   pipelined messages (here a window of 4) and whatever the faults. Checked on the server's
//!   own reports.
//! - **Receivers, at most once to the app:** re-sends reach the server (and so every
//!   receiver) again; the de-duplication window drops them: no message is ever delivered twice.
//! - **Receivers, order per sender:** a receiver gets the server's relays in the server's order,
//!   so the first deliveries from one sender are in send order. The one exception is inherent
//!   to re-sending through a relay: a receiver that missed the first copy of message n (it was
//!   away) and is back when a *re-sent* copy of n is relayed after n+1, gets n after n+1. So
//!   every out-of-order delivery must be of a message the server relayed more than once; that
//!   is checked.
//! - **Receivers, completeness:** a receiver that is away misses what was relayed meanwhile
//!   (unless the server recovers its session and replays it). What must always hold: once the
//!   network is calm and everyone is back in the room, every message sent from then on reaches
//!   every receiver exactly once. Checked at a checkpoint after every fault episode.
//! - **Rooms:** after every episode, once all are connected, a broadcast from the server to the
//!   room reaches all 10 clients (the room was re-joined, or kept by a recovered session).
//! - **Stats:** `messages_sent == acked + ack_failed + queued + in_flight + dropped` for each
//!   client at every checkpoint (every send here asks for an ack), and at the end everything
//!   is acked.
//! - **Memory:** the process's VmRSS, sampled at each checkpoint after a warm-up (a quarter of
//!   the run, at least 30 s: the de-duplication windows, 1,024 ids per client by default, are
//!   full after about 20 s at this rate), stays within 10% of the first sample after it.

// Each soak uses the faults of its protocol.
#![allow(dead_code)]

use crate::soak_node::{ServerKind, SoakNode};
use crate::support::fault_proxy::{FaultProxy, Mode};
use crate::support::memory::RssSamples;
use crate::support::wait;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tether_core::{Client, Config, Event, IncomingMessage, OutgoingMessage, SendOptions};
use tokio::sync::Semaphore;
use tokio::time::Instant;

/// What differs between protocols.
pub struct Flavor {
    /// For the summary line.
    pub name: &'static str,
    /// The server and its arguments.
    pub server: ServerKind,
    pub server_args: &'static [&'static str],
    /// The room every client joins, and its join payload, if any.
    pub room: &'static str,
    pub join_payload: fn() -> Option<Value>,
    /// A client's config through `proxy`.
    pub config: fn(&FaultProxy, u64) -> Config,
    /// Message `seq` of sender `from`, relayed by the server to the room.
    pub chat: fn(usize, u64) -> OutgoingMessage,
    /// The `{from, seq, ...}` of a relayed chat message, if `message` is one.
    pub chat_of: fn(&IncomingMessage) -> Option<&Value>,
    /// The server's command that broadcasts probe `n` to the room, and how it arrives.
    pub probe_command: fn(u64) -> Value,
    pub probe_of: fn(&IncomingMessage) -> Option<u64>,
    /// The next episode's fault.
    pub pick_fault: fn(&mut fastrand::Rng) -> Fault,
}

const CLIENTS: usize = 10;
/// Messages a sender may have unacknowledged at once.
const WINDOW: usize = 4;
/// Time between two sends of one sender (5 per second each, 50 in all, 500 deliveries).
const PACE: Duration = Duration::from_millis(200);
/// Messages per sender that must reach everyone at each calm checkpoint.
const CALM_MESSAGES: u64 = 3;

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One sender's side: what it sent and what came back.
#[derive(Default)]
struct Sent {
    /// Messages handed to `send_with` and accepted.
    count: u64,
    acked: Vec<bool>,
    /// Every seq below this one is acknowledged.
    acked_below: u64,
    failures: Vec<String>,
}

impl Sent {
    fn ack(&mut self, seq: u64) {
        let seq = seq as usize;
        if self.acked.len() <= seq {
            self.acked.resize(seq + 1, false);
        }
        self.acked[seq] = true;
        while self.acked.get(self.acked_below as usize) == Some(&true) {
            self.acked_below += 1;
        }
    }
}

/// One receiver's view.
#[derive(Default)]
struct Seen {
    /// `delivered[sender]`: one bit per seq (compact: the soak measures its own memory).
    delivered: Vec<Vec<u64>>,
    /// Highest seq delivered per sender.
    highest: Vec<Option<u64>>,
    deliveries: u64,
    duplicates: Vec<String>,
    /// Out-of-order deliveries (sender, seq), each to be explained by a re-sent copy.
    late: Vec<(usize, u64)>,
    probes: std::collections::HashSet<u64>,
    connected: bool,
    /// In the room on this connection: joined, or recovered (the server kept the room).
    in_room: bool,
    connects: u64,
    recovered: u64,
}

impl Seen {
    fn new() -> Self {
        Self {
            delivered: vec![Vec::new(); CLIENTS],
            highest: vec![None; CLIENTS],
            ..Self::default()
        }
    }

    fn has(&self, sender: usize, seq: u64) -> bool {
        self.delivered[sender].get((seq / 64) as usize).is_some_and(|w| (w >> (seq % 64)) & 1 == 1)
    }

    /// Marks `seq` of `sender` delivered; false if it already was.
    fn mark(&mut self, sender: usize, seq: u64) -> bool {
        let words = &mut self.delivered[sender];
        let word = (seq / 64) as usize;
        if words.len() <= word {
            words.resize(word + 1, 0);
        }
        let bit = 1u64 << (seq % 64);
        let fresh = words[word] & bit == 0;
        words[word] |= bit;
        fresh
    }

    fn on_event(&mut self, flavor: &Flavor, event: Event) {
        match event {
            Event::Message(m) if (flavor.chat_of)(&m).is_some() => {
                let data = (flavor.chat_of)(&m).cloned().unwrap_or_default();
                let (Some(from), Some(seq)) = (data["from"].as_u64(), data["seq"].as_u64()) else {
                    self.duplicates.push(format!("malformed chat message {data}"));
                    return;
                };
                let from = from as usize;
                if from >= CLIENTS {
                    self.duplicates.push(format!("chat message from unknown sender {from}"));
                    return;
                }
                if !self.mark(from, seq) {
                    self.duplicates.push(format!("{from}-{seq} delivered twice"));
                    return;
                }
                self.deliveries += 1;
                match self.highest[from] {
                    Some(top) if seq < top => self.late.push((from, seq)),
                    _ => self.highest[from] = Some(seq),
                }
            }
            Event::Message(m) if (flavor.probe_of)(&m).is_some() => {
                if let Some(k) = (flavor.probe_of)(&m) {
                    self.probes.insert(k);
                }
            }
            Event::Connected { recovered } => {
                self.connected = true;
                self.in_room = recovered;
                self.connects += 1;
                self.recovered += u64::from(recovered);
            }
            Event::RoomJoined { room } if room == flavor.room => self.in_room = true,
            // The server lost the room (Phoenix's phx_error): out of it until the rejoin.
            Event::RoomError { room, .. } if room == flavor.room => self.in_room = false,
            Event::Disconnected { .. } => {
                self.connected = false;
                self.in_room = false;
            }
            _ => {}
        }
    }

    /// Messages of `sender` below `upto` never delivered here.
    fn missed(&self, sender: usize, upto: u64) -> u64 {
        (0..upto).filter(|s| !self.has(sender, *s)).count() as u64
    }
}

struct Peer {
    client: Client,
    proxy: FaultProxy,
    sent: Arc<Mutex<Sent>>,
    seen: Arc<Mutex<Seen>>,
}

/// Sends numbered messages at-least-once, `WINDOW` at a time, until `stop`.
async fn send_numbered(
    flavor: &'static Flavor,
    client: Client,
    me: usize,
    sent: Arc<Mutex<Sent>>,
    stop: Arc<AtomicBool>,
) {
    let window = Arc::new(Semaphore::new(WINDOW));
    let mut seq = 0u64;
    while !stop.load(Ordering::SeqCst) {
        let Ok(permit) = window.clone().acquire_owned().await else { break };
        let options = SendOptions::at_least_once(Some(Duration::from_secs(120)));
        match client.send_with((flavor.chat)(me, seq), options).await {
            Ok(pending) => {
                lock(&sent).count = seq + 1;
                let sent = sent.clone();
                tokio::spawn(async move {
                    match pending.wait().await {
                        Ok(_) => lock(&sent).ack(seq),
                        Err(e) => lock(&sent).failures.push(format!("{me}-{seq}: {e}")),
                    }
                    drop(permit);
                });
                seq += 1;
            }
            Err(e) => lock(&sent).failures.push(format!("{me}-{seq} refused: {e}")),
        }
        tokio::time::sleep(PACE).await;
    }
}

/// The faults an episode can bring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    Cut,
    Reset,
    Blackhole,
    LatencySpike,
    Refuse,
    ServerRestart,
    /// A latency spike ended by a cut: acknowledgements still on their way are lost, so the
    /// at-least-once re-sends reach the server a second time (and the receivers' dedup).
    SlowThenCut,
    /// The server loses the room while the connections stay (Phoenix's `phx_error` on every
    /// client's channel): pushes in flight are sent again once it is rejoined.
    RoomCrash,
}

struct Soak {
    flavor: &'static Flavor,
    server: Option<SoakNode>,
    peers: Vec<Peer>,
    probes: u64,
    checkpoints: u64,
    rss: RssSamples,
    started: Instant,
    warm_up: Duration,
}

impl Soak {
    fn server(&mut self) -> &mut SoakNode {
        self.server.as_mut().unwrap_or_else(|| panic!("no server"))
    }

    /// Heals every link, then checks rooms, calm delivery, stats and memory.
    async fn checkpoint(&mut self) {
        for peer in &self.peers {
            peer.proxy.set_mode(Mode::Pass);
        }
        let seen: Vec<_> = self.peers.iter().map(|p| p.seen.clone()).collect();
        wait::until("every client connected and in the room", || {
            seen.iter().all(|s| {
                let s = lock(s);
                s.connected && s.in_room
            })
        })
        .await;

        // Rooms: a broadcast from the server reaches everyone.
        self.probes += 1;
        let probe = self.probes;
        let command = (self.flavor.probe_command)(probe);
        self.server().command(command).await;
        wait::until(&format!("probe {probe} at every client"), || {
            seen.iter().all(|s| lock(s).probes.contains(&probe))
        })
        .await;

        // Calm: the next messages of every sender reach every receiver.
        let from: Vec<u64> = self.peers.iter().map(|p| lock(&p.sent).count).collect();
        let sent: Vec<_> = self.peers.iter().map(|p| p.sent.clone()).collect();
        let calm = tokio::time::timeout(
            wait::PATIENCE,
            wait::until("calm messages acknowledged", || {
                sent.iter().zip(&from).all(|(s, f)| lock(s).acked_below >= f + CALM_MESSAGES)
            }),
        )
        .await;
        if calm.is_err() {
            // Say where each sender stands before failing: the stats tell queued from in flight.
            for (i, peer) in self.peers.iter().enumerate() {
                let stats = peer.client.stats().await;
                let (count, acked_below, failures) = {
                    let s = lock(&peer.sent);
                    (s.count, s.acked_below, s.failures.clone())
                };
                eprintln!(
                    "client {i}: sent {count}, acked below {acked_below}, failures {failures:?}, \
                     {stats:?}"
                );
            }
            panic!("timed out waiting for calm messages acknowledged");
        }
        wait::until("calm messages delivered to everyone", || {
            seen.iter().all(|s| {
                let s = lock(s);
                from.iter()
                    .enumerate()
                    .all(|(sender, f)| (*f..f + CALM_MESSAGES).all(|seq| s.has(sender, seq)))
            })
        })
        .await;

        // Stats add up, for every client.
        for (i, peer) in self.peers.iter().enumerate() {
            let s = peer.client.stats().await.unwrap_or_else(|e| panic!("{e}"));
            let places = s.acked + s.ack_failed + s.queued as u64 + s.in_flight as u64 + s.dropped;
            assert_eq!(s.messages_sent, places, "client {i}: stats do not add up: {s:?}");
        }

        self.checkpoints += 1;
        let at = self.started.elapsed();
        if at >= self.warm_up {
            self.rss.sample(at.as_secs_f64());
        }
    }

    /// Picks the clients an episode hits: each with probability 0.4, at least one.
    fn targets(rng: &mut fastrand::Rng) -> Vec<usize> {
        let mut hit: Vec<usize> = (0..CLIENTS).filter(|_| rng.f32() < 0.4).collect();
        if hit.is_empty() {
            hit.push(rng.usize(0..CLIENTS));
        }
        hit
    }

    async fn episode(&mut self, fault: Fault, rng: &mut fastrand::Rng) {
        let hit = Self::targets(rng);
        match fault {
            Fault::Cut => hit.iter().for_each(|&i| self.peers[i].proxy.cut()),
            Fault::Reset => hit.iter().for_each(|&i| self.peers[i].proxy.reset()),
            Fault::Blackhole => {
                hit.iter().for_each(|&i| self.peers[i].proxy.set_mode(Mode::Blackhole));
                tokio::time::sleep(ms(rng.u64(500..5000))).await;
                // A dead path does not come back to life with a hole in its byte stream: the
                // connections that went through it are gone (those the client has not given up
                // on yet end here).
                hit.iter().for_each(|&i| {
                    self.peers[i].proxy.set_mode(Mode::Pass);
                    self.peers[i].proxy.cut();
                });
            }
            Fault::LatencySpike => {
                // Below the heartbeat and ping timeouts: the connections must survive it.
                let delay = ms(rng.u64(50..800));
                hit.iter().for_each(|&i| self.peers[i].proxy.set_mode(Mode::Latency(delay)));
                tokio::time::sleep(ms(rng.u64(1000..4000))).await;
            }
            Fault::Refuse => {
                hit.iter().for_each(|&i| {
                    self.peers[i].proxy.set_mode(Mode::Refuse);
                    self.peers[i].proxy.cut();
                });
                tokio::time::sleep(ms(rng.u64(500..3000))).await;
            }
            Fault::SlowThenCut => {
                let delay = ms(rng.u64(100..600));
                hit.iter().for_each(|&i| self.peers[i].proxy.set_mode(Mode::Latency(delay)));
                tokio::time::sleep(ms(rng.u64(500..2000))).await;
                hit.iter().for_each(|&i| {
                    self.peers[i].proxy.set_mode(Mode::Pass);
                    self.peers[i].proxy.cut();
                });
            }
            Fault::ServerRestart => {
                let server = self.server.take().unwrap_or_else(|| panic!("no server"));
                self.server = Some(server.restart().await);
            }
            Fault::RoomCrash => {
                let crash = json!({"cmd": "crash", "topic": self.flavor.room});
                self.server().command(crash).await;
            }
        }
        // Let the clients run on the faulty (or healed) network for a moment before checking.
        tokio::time::sleep(ms(rng.u64(100..1500))).await;
    }
}

/// Runs the soak for `flavor`: `TETHER_SOAK_SECONDS` (default 60), seeded by
/// `TETHER_SOAK_SEED` (printed).
pub async fn run(flavor: &'static Flavor) {
    let seconds: u64 =
        std::env::var("TETHER_SOAK_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    let seed: u64 =
        std::env::var("TETHER_SOAK_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(20_261_122);
    eprintln!("chaos soak ({}): {seconds} s, TETHER_SOAK_SEED={seed}", flavor.name);
    let mut rng = fastrand::Rng::with_seed(seed);
    let server = SoakNode::start(flavor.server, flavor.server_args).await;
    let stop = Arc::new(AtomicBool::new(false));
    let mut peers = Vec::new();
    let mut senders = Vec::new();
    for i in 0..CLIENTS {
        let proxy = FaultProxy::start(server.addr()).await.unwrap_or_else(|e| panic!("{e}"));
        let client =
            Client::new((flavor.config)(&proxy, seed + i as u64)).unwrap_or_else(|e| panic!("{e}"));
        let seen = Arc::new(Mutex::new(Seen::new()));
        let mut events = client.events();
        let sink = seen.clone();
        tokio::spawn(async move {
            while let Some(e) = events.recv().await {
                lock(&sink).on_event(flavor, e);
            }
        });
        client.connect().await.unwrap_or_else(|e| panic!("{e}"));
        match (flavor.join_payload)() {
            Some(payload) => client.join_with(flavor.room, payload).await.map(|_| ()),
            None => client.join(flavor.room).await,
        }
        .unwrap_or_else(|e| panic!("{e}"));
        peers.push(Peer { client, proxy, sent: Arc::new(Mutex::new(Sent::default())), seen });
    }
    for (i, peer) in peers.iter().enumerate() {
        let task = send_numbered(flavor, peer.client.clone(), i, peer.sent.clone(), stop.clone());
        senders.push(tokio::spawn(task));
    }

    let duration = Duration::from_secs(seconds);
    let mut soak = Soak {
        flavor,
        server: Some(server),
        peers,
        probes: 0,
        checkpoints: 0,
        rss: RssSamples::default(),
        started: Instant::now(),
        warm_up: (duration / 4).max(Duration::from_secs(30)),
    };
    let mut episodes: std::collections::BTreeMap<String, u64> = Default::default();
    soak.checkpoint().await;
    while soak.started.elapsed() < duration {
        let fault = (flavor.pick_fault)(&mut rng);
        *episodes.entry(format!("{fault:?}")).or_default() += 1;
        soak.episode(fault, &mut rng).await;
        soak.checkpoint().await;
    }

    // Wind down: stop sending, let everything in flight be acknowledged.
    stop.store(true, Ordering::SeqCst);
    for task in senders {
        task.await.unwrap_or_else(|e| panic!("{e}"));
    }
    let sent: Vec<_> = soak.peers.iter().map(|p| p.sent.clone()).collect();
    wait::until("every message acknowledged", || {
        sent.iter().all(|s| {
            let s = lock(s);
            s.acked_below == s.count || !s.failures.is_empty()
        })
    })
    .await;

    // Senders: all accepted, all acknowledged, and the stats say the same.
    let mut total_sent = 0;
    let mut suppressed = 0;
    for (i, peer) in soak.peers.iter().enumerate() {
        let count = {
            let s = lock(&peer.sent);
            assert!(s.failures.is_empty(), "client {i}: {:?}", s.failures);
            s.count
        };
        total_sent += count;
        let stats = peer.client.stats().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (stats.messages_sent, stats.acked, stats.ack_failed, stats.dropped),
            (count, count, 0, 0),
            "client {i}: {stats:?}"
        );
        assert_eq!((stats.queued, stats.in_flight), (0, 0), "client {i}: {stats:?}");
        suppressed += stats.duplicates;
    }

    // The server: every message at least once, first copies in send order.
    let counts: Vec<u64> = sent.iter().map(|s| lock(s).count).collect();
    let (relayed_twice, server_connections, server_recovered) = {
        let server = soak.server();
        let ledger = server.ledger();
        assert!(ledger.order_violations.is_empty(), "{:?}", ledger.order_violations);
        for (sender, count) in counts.iter().enumerate() {
            assert_eq!(ledger.distinct.get(sender).copied(), Some(*count), "sender {sender}");
        }
        let twice: u64 = ledger.receipts.iter().flatten().filter(|c| **c > 1).count() as u64;
        (twice, ledger.connections, ledger.recovered)
    };

    // Receivers: never twice, late only for re-sent copies.
    let mut late = 0;
    let mut missed = 0;
    let mut deliveries = 0;
    let mut connects = 0;
    let mut recovered = 0;
    for (r, peer) in soak.peers.iter().enumerate() {
        let seen = lock(&peer.seen);
        assert!(seen.duplicates.is_empty(), "client {r}: {:?}", seen.duplicates);
        let ledger = soak.server.as_ref().map(|s| s.ledger());
        for (sender, seq) in &seen.late {
            let copies = ledger.as_ref().map_or(0, |l| l.copies(*sender, *seq));
            assert!(
                copies >= 2,
                "client {r} got {sender}-{seq} out of order, but the server relayed it once"
            );
        }
        late += seen.late.len();
        missed += counts.iter().enumerate().map(|(s, c)| seen.missed(s, *c)).sum::<u64>();
        deliveries += seen.deliveries;
        connects += seen.connects;
        recovered += seen.recovered;
    }

    // Memory: flat after the warm-up.
    let (rss_bounds, rss_by_second) = soak.rss.summary();
    eprintln!(
        "{}",
        json!({
            "protocol": flavor.name, "soak_seconds": seconds, "seed": seed, "episodes": episodes,
            "checkpoints": soak.checkpoints, "messages_sent": total_sent,
            "deliveries": deliveries, "duplicates_suppressed": suppressed,
            "relayed_more_than_once": relayed_twice, "late_deliveries": late,
            "missed_while_away": missed, "client_connects": connects,
            "recovered_connects": recovered, "server_connections": server_connections,
            "server_recovered": server_recovered,
            "rss_after_warm_up_bytes": rss_bounds,
            "rss_mib_by_second": rss_by_second,
        })
    );
    soak.rss.assert_flat(0.10);
    if let Some(server) = soak.server.take() {
        server.stop().await;
    }
}
