//! The chaos soak against the reference server: 10 clients, each through its own fault proxy,
//! to the reference server (`examples/reference-server`, embedded on a random loopback port and
//! restarted on that same port), while a seeded RNG cuts, resets, blackholes, slows and refuses
//! their links and restarts the server. The clients use the collaboration helpers as an app
//! would: each joins one room through [`Collaboration::join`] and keeps writing a versioned
//! field it owns (`price-<i>`, a number that grows by one per write) with
//! [`Collaboration::update_field`], the optimistic-update helper, up to 2 writes unsettled at
//! once; everyone else sees those writes through `pricing-updated` relays and room snapshots.
//!
//! Duration: `TETHER_SOAK_SECONDS` (default 60); seed: `TETHER_SOAK_SEED` (printed). The long
//! run is `scripts/soak.sh --minutes 10`.
//!
//! The server keeps its state in memory: a restart loses every room and field (versions start
//! again from 0), as a crash would. Restarts here are crashes as the clients see them: every
//! link is reset first, so no client hears a goodbye. A "life" is the time between restarts.
//!
//! # What is guaranteed, and so checked
//!
//! - **Rooms and presence:** after every fault episode, once the links heal, every client is
//!   connected, back in the room (its roster synced from a server snapshot) and sees exactly the
//!   10 users; the server's own member list (read by an auditor, below) says the same.
//! - **One verdict per optimistic update:** every write gets exactly one verdict, confirmed or
//!   rolled back, never both and never two; none is left without one (waited for with a
//!   deadline at every checkpoint and at the end); the helper's counters agree.
//! - **Verdicts tell the truth about the server:** the value the server holds for `price-<i>`
//!   is a write of client i that was confirmed or rolled back *without* an answer (a timeout or
//!   a lost connection: it may have landed), never one the server refused; it is never older
//!   than the last write confirmed in the current life (a confirmed write is never lost or
//!   overwritten by an older one, which last-write-wins forbids); its version is the one its
//!   confirmation named; with no value at all (after a restart), no write was confirmed in
//!   this life.
//! - **Versions never go backwards:** within a life, the version a client's state watch shows
//!   for a field never decreases and a field never disappears, whether the room is synced or
//!   not (what a client shows while away is the last it knew, which this server had), from
//!   its first synced view in that life on; before it, the view may still hold the previous
//!   life's versions. A restart legitimately starts them again.
//! - **Views converge to the server's:** at every checkpoint, with the writers paused and every
//!   verdict in, every client's view of every field (value and version) equals the server's,
//!   read through the protocol by an auditor connection (a second connection of user `u0`, so
//!   the roster does not change: one member per user) that joins, takes the room state from
//!   the `join-room` acknowledgement, and leaves.
//! - **The numbered relay:** `pricing-updated` carries a version per field, and a write lands at
//!   most once, so each value of a field reaches each other client's app (as
//!   [`CollabEvent::FieldUpdated`]) at most once, whatever the faults. Exactly once is not a
//!   guarantee the protocol can give: the reference server has no session recovery, so a client
//!   that is away misses relays, and its snapshot on return jumps to the current version. What
//!   must hold when calm: at every checkpoint each client writes once more, every write is
//!   confirmed, and each reaches every other client's app exactly once, with its version.
//! - **Stats:** `messages_sent == acked + ack_failed + queued + in_flight + dropped` for every
//!   client (and the auditor) at every checkpoint: every message here asks for an
//!   acknowledgement (writes and the helpers' snapshot requests; no cursors, typing or presence
//!   relays, which are fire-and-forget and leave the count once written).
//! - **No task dies:** no task of the server, the clients or the test panics (a hook counts
//!   panics in the runtime's worker threads, which would otherwise go unnoticed).
//! - **Memory:** VmRSS of the process (clients, proxies, the server and the test's
//!   bookkeeping), sampled at each checkpoint after a warm-up (a quarter of the run, at least
//!   30 s), stays within 10% of the first sample after it.
//!
//! The soak found three bugs, all fixed, each with a regression test: the server answered
//! `room-state` and `join-room` after releasing its lock, so a snapshot could reach a client
//! after the broadcast of a write it did not contain, and the client went back to the older
//! version (the test is in `examples/reference-server/src/hub.rs`); the helpers published a
//! room as synced before replacing its fields with the snapshot's; and the server's disconnect
//! handler panicked when a restart caught it half-way (the next two tests here). Writing it
//! found a fourth, by reading: a write the server already held was reported rolled back (the
//! last test).

#[path = "support/soak_reference.rs"]
mod soak_reference;
mod support;

use serde_json::{json, Value};
use soak_reference::SoakServer;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use support::fault_proxy::{FaultProxy, Mode};
use support::memory::RssSamples;
use support::wait;
use tether_core::{
    Client, CollabConfig, CollabEvent, Collaboration, Config, OptimisticId, OptimisticOutcome,
    OutgoingMessage, RollbackReason, SendOptions, Token, TokenError, Verdict,
};
use tether_reference_server::{issue_token, Role, ServerConfig};
use tokio::sync::Semaphore;
use tokio::time::Instant;

const CLIENTS: usize = 10;
const ROOM: &str = "soak";
/// Rounds of the shutdown race test.
const ROUNDS: u64 = 30;
const SECRET: &str = "chaos-soak-reference-secret";
/// Versioned writes a client may have without a verdict at once.
const WINDOW: usize = 2;
/// Time between two writes of one client (4 per second each; the server allows 20).
const PACE: Duration = Duration::from_millis(250);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn user(i: usize) -> String {
    format!("u{i}")
}

fn field(i: usize) -> String {
    format!("price-{i}")
}

fn all_users() -> BTreeSet<String> {
    (0..CLIENTS).map(user).collect()
}

/// How one write ended, as its client's app heard it.
#[derive(Debug, Clone, PartialEq)]
enum Settled {
    /// Confirmed at this field version.
    Confirmed(u64),
    /// Rolled back on the server's answer (an error ack, or a conflict resolved for the
    /// server's value): it did not land.
    Refused(String),
    /// Rolled back without an answer (timeout, lost connection): it may have landed.
    Unanswered(RollbackReason),
}

#[derive(Debug)]
struct Write {
    /// The server's life when the app made the write.
    life: u64,
    id: Option<OptimisticId>,
    settled: Option<Settled>,
}

/// One client's writes of its own field, numbered from 0 (the number is the value written).
#[derive(Debug, Default)]
struct Writes {
    /// Number of the oldest write still kept (older ones are pruned at checkpoints).
    first: u64,
    entries: VecDeque<Write>,
    unsettled: usize,
    confirmed: u64,
    refused: u64,
    unanswered: u64,
    /// Rollbacks by reason: the server's error code, or why no answer came.
    rollbacks: BTreeMap<String, u64>,
    /// Verdicts that broke the rules (must stay empty).
    problems: Vec<String>,
}

impl Writes {
    fn next(&self) -> u64 {
        self.first + self.entries.len() as u64
    }

    fn get(&self, n: u64) -> Option<&Write> {
        n.checked_sub(self.first).and_then(|k| self.entries.get(k as usize))
    }

    /// Reserves the next write number, made in `life`.
    fn begin(&mut self, life: u64) -> u64 {
        let n = self.next();
        self.entries.push_back(Write { life, id: None, settled: None });
        self.unsettled += 1;
        n
    }

    fn sent(&mut self, n: u64, id: OptimisticId) {
        if let Some(w) = n.checked_sub(self.first).and_then(|k| self.entries.get_mut(k as usize)) {
            w.id = Some(id);
        }
    }

    fn settle(&mut self, me: usize, outcome: &OptimisticOutcome) {
        let (Some(n), true) =
            (outcome.payload["value"].as_u64(), outcome.payload["field"] == json!(field(me)))
        else {
            self.problems.push(format!("a verdict on a write this client never made: {outcome:?}"));
            return;
        };
        let settled = match &outcome.verdict {
            // A conflict whose server value is this write's is a confirmation too.
            Verdict::Confirmed { reply } => {
                match reply["version"].as_u64().or_else(|| reply["serverVersion"].as_u64()) {
                    Some(version) => Settled::Confirmed(version),
                    None => {
                        self.problems
                            .push(format!("write {n} confirmed without a version: {reply}"));
                        return;
                    }
                }
            }
            Verdict::RolledBack { reason: RollbackReason::Nack { code, .. } } => {
                Settled::Refused(code.clone())
            }
            Verdict::RolledBack { reason } => Settled::Unanswered(reason.clone()),
        };
        let Some(write) = n.checked_sub(self.first).and_then(|k| self.entries.get_mut(k as usize))
        else {
            self.problems.push(format!("a verdict on write {n}, unknown or long settled"));
            return;
        };
        if write.id.as_ref().is_some_and(|id| *id != outcome.id) {
            self.problems
                .push(format!("write {n} has id {:?}, its verdict {}", write.id, outcome.id));
        }
        if let Some(earlier) = &write.settled {
            self.problems.push(format!("write {n} settled twice: {earlier:?}, then {settled:?}"));
            return;
        }
        match &settled {
            Settled::Confirmed(_) => self.confirmed += 1,
            Settled::Refused(code) => {
                self.refused += 1;
                *self.rollbacks.entry(code.clone()).or_default() += 1;
            }
            Settled::Unanswered(reason) => {
                self.unanswered += 1;
                *self.rollbacks.entry(format!("{reason:?}")).or_default() += 1;
            }
        }
        write.settled = Some(settled);
        self.unsettled -= 1;
    }

    /// Forgets writes older than `n`.
    fn prune_below(&mut self, n: u64) {
        while self.first < n && self.entries.front().is_some_and(|w| w.settled.is_some()) {
            self.entries.pop_front();
            self.first += 1;
        }
    }
}

/// What one client's app saw of the other clients' fields.
#[derive(Debug, Default)]
struct Relays {
    /// `seen[field]`: one bit per value (values are write numbers) delivered as `FieldUpdated`.
    seen: BTreeMap<String, Vec<u64>>,
    /// The last `FieldUpdated` per field: (value, version).
    last: BTreeMap<String, (u64, u64)>,
    delivered: u64,
    conflicts: u64,
    /// Values delivered twice, values no client wrote (must stay empty).
    problems: Vec<String>,
}

impl Relays {
    fn on_field_updated(&mut self, field: String, value: &Value, version: u64) {
        let Some(n) = value.as_u64() else {
            self.problems.push(format!("{field} updated to a value no client wrote: {value}"));
            return;
        };
        let words = self.seen.entry(field.clone()).or_default();
        let word = (n / 64) as usize;
        if words.len() <= word {
            words.resize(word + 1, 0);
        }
        let bit = 1u64 << (n % 64);
        if words[word] & bit != 0 {
            self.problems.push(format!("{field} = {n} (version {version}) delivered twice"));
        }
        words[word] |= bit;
        self.delivered += 1;
        self.last.insert(field, (n, version));
    }
}

/// The highest version a client's view showed per field, in the current life.
#[derive(Debug, Default)]
struct Versions {
    life: u64,
    /// The view was synced at least once in this life (before, it may show the last life's).
    armed: bool,
    highest: BTreeMap<String, u64>,
    samples: u64,
    problems: Vec<String>,
}

struct Peer {
    client: Client,
    collab: Collaboration,
    proxy: FaultProxy,
    writes: Arc<Mutex<Writes>>,
    relays: Arc<Mutex<Relays>>,
    versions: Arc<Mutex<Versions>>,
    /// Room for more writes: one permit per write that may still go out unsettled.
    window: Arc<Semaphore>,
    /// The writer saw the pause and makes no new write until it ends.
    idle: Arc<AtomicBool>,
}

impl Peer {
    fn in_room(&self) -> bool {
        self.client.state().borrow().is_connected() && self.synced()
    }

    fn roster(&self) -> BTreeSet<String> {
        self.collab.roster(ROOM).unwrap_or_default().into_iter().map(|m| m.user_id).collect()
    }

    fn synced(&self) -> bool {
        self.collab.state().borrow().rooms.get(ROOM).is_some_and(|r| r.synced)
    }
}

fn token_for(i: usize) -> String {
    issue_token(SECRET, &user(i), &user(i).to_uppercase(), Role::Editor, None, ms(86_400_000))
}

fn client_config(proxy: &FaultProxy, seed: u64) -> Config {
    Config::new(format!("http://{}", proxy.addr()))
        .with_reconnect_delays(ms(50), ms(1000))
        .with_connect_timeout(Duration::from_secs(3))
        .with_heartbeat(Duration::from_secs(1), Duration::from_secs(3))
        .with_rng_seed(seed)
}

fn build_client(config: Config, token: String) -> Client {
    Client::builder(config)
        .token_provider(move || {
            let token = token.clone();
            async move { Ok::<_, TokenError>(Token::new(token)) }
        })
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Makes one write of client `me`'s field (the next number) and records it.
async fn write_once(me: usize, collab: &Collaboration, writes: &Mutex<Writes>, life: u64) -> u64 {
    let n = lock(writes).begin(life);
    match collab.update_field(ROOM, &field(me), json!(n)).await {
        Ok(id) => lock(writes).sent(n, id),
        Err(e) => {
            let mut w = lock(writes);
            w.problems.push(format!("write {n} refused by the helper: {e}"));
            if let Some(entry) = n.checked_sub(w.first).and_then(|k| w.entries.get_mut(k as usize))
            {
                entry.settled = Some(Settled::Refused(format!("not sent: {e}")));
            }
            w.unsettled -= 1;
        }
    }
    n
}

/// Writes client `me`'s field every `PACE`, at most `WINDOW` unsettled, until `stop`; idles
/// while `paused`.
async fn write_repeatedly(
    me: usize,
    collab: Collaboration,
    writes: Arc<Mutex<Writes>>,
    window: Arc<Semaphore>,
    control: Arc<Control>,
    idle: Arc<AtomicBool>,
) {
    while !control.stop.load(Ordering::SeqCst) {
        if control.paused.load(Ordering::SeqCst) {
            idle.store(true, Ordering::SeqCst);
            tokio::time::sleep(ms(10)).await;
            continue;
        }
        idle.store(false, Ordering::SeqCst);
        let Ok(permit) = window.acquire().await else { break };
        // The permit comes back when the verdict does (the outcome reader adds one).
        permit.forget();
        if control.paused.load(Ordering::SeqCst) {
            window.add_permits(1);
            continue;
        }
        // Read before the write: a write made after a restart can only reach the new server.
        let life = control.life.load(Ordering::SeqCst);
        let n = write_once(me, &collab, &writes, life).await;
        if lock(&writes).get(n).is_some_and(|w| w.settled.is_some() && w.id.is_none()) {
            window.add_permits(1);
        }
        tokio::time::sleep(PACE).await;
    }
    idle.store(true, Ordering::SeqCst);
}

/// Reads one client's collaboration events: verdicts, conflicts and field updates.
async fn read_events(
    me: usize,
    mut events: tether_core::CollabEventStream,
    writes: Arc<Mutex<Writes>>,
    relays: Arc<Mutex<Relays>>,
    window: Arc<Semaphore>,
) {
    while let Some(event) = events.recv().await {
        match event {
            CollabEvent::Outcome(outcome) => {
                let first_verdict = {
                    let mut w = lock(&writes);
                    let before = w.unsettled;
                    w.settle(me, &outcome);
                    w.unsettled < before
                };
                if first_verdict {
                    window.add_permits(1);
                }
            }
            CollabEvent::Conflict(_) => lock(&relays).conflicts += 1,
            CollabEvent::FieldUpdated { room, field, value } if room == ROOM => {
                lock(&relays).on_field_updated(field, &value.value, value.version);
            }
            _ => {}
        }
    }
}

/// Follows one client's state watch: within one server life, no field's version may go down
/// (or the field disappear), whether the room is synced or not (what a client shows while
/// away is what it knew, which this server had). Only until the first synced view of a life
/// may the view still hold the previous life's versions.
async fn watch_versions(
    collab: Collaboration,
    versions: Arc<Mutex<Versions>>,
    control: Arc<Control>,
) {
    let life = &control.life;
    let mut state = collab.state();
    drop(collab);
    while state.changed().await.is_ok() {
        // The life is read on both sides of the look: a restart happens only while every
        // client is out of sync, so a synced view read within one life belongs to it.
        let before = life.load(Ordering::SeqCst);
        let view: Option<(bool, BTreeMap<String, u64>)> = {
            let s = state.borrow_and_update();
            s.rooms
                .get(ROOM)
                .map(|r| (r.synced, r.fields.iter().map(|(k, f)| (k.clone(), f.version)).collect()))
        };
        if life.load(Ordering::SeqCst) != before {
            continue;
        }
        let Some((synced, fields)) = view else { continue };
        let mut v = lock(&versions);
        if v.life != before {
            v.life = before;
            v.highest.clear();
            v.armed = false;
        }
        v.armed |= synced;
        if !v.armed {
            continue;
        }
        v.samples += 1;
        let problems: Vec<String> = v
            .highest
            .iter()
            .filter_map(|(name, top)| {
                let now = fields.get(name).copied().unwrap_or(0);
                (now < *top).then(|| {
                    format!("{name} went from version {top} back to {now} (synced: {synced})")
                })
            })
            .collect();
        v.problems.extend(problems);
        for (name, version) in fields {
            let top = v.highest.entry(name).or_default();
            *top = (*top).max(version);
        }
    }
}

/// What the writers obey.
#[derive(Default)]
struct Control {
    stop: AtomicBool,
    paused: AtomicBool,
    /// The server's life (restarts so far).
    life: AtomicU64,
}

/// The server's truth, read through the protocol.
struct Truth {
    members: BTreeSet<String>,
    /// field -> (value, version)
    fields: BTreeMap<String, (Value, u64)>,
}

fn assert_stats_add_up(who: &str, s: &tether_core::Stats) {
    let places = s.acked + s.ack_failed + s.queued as u64 + s.in_flight as u64 + s.dropped;
    assert_eq!(s.messages_sent, places, "{who}: stats do not add up: {s:?}");
}

/// The faults an episode can bring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Fault {
    Cut,
    Reset,
    Blackhole,
    LatencySpike,
    Refuse,
    ServerRestart,
    /// A latency spike ended by a cut: answers still on their way are lost, so writes that
    /// landed roll back unanswered and the helpers must learn the truth from a snapshot.
    SlowThenCut,
}

struct Soak {
    server: SoakServer,
    peers: Vec<Peer>,
    /// A second connection of `u0`, through its own (never faulted) proxy: reads the room.
    auditor: Client,
    auditor_proxy: FaultProxy,
    control: Arc<Control>,
    checkpoints: u64,
    calm_relays: u64,
    rss: RssSamples,
    started: Instant,
    warm_up: Duration,
}

impl Soak {
    fn proxies(&self) -> impl Iterator<Item = &FaultProxy> {
        self.peers.iter().map(|p| &p.proxy).chain(std::iter::once(&self.auditor_proxy))
    }

    /// Fails the test if any bookkeeping found a broken rule, or any task died.
    fn assert_no_problems(&self) {
        assert_no_worker_panicked();
        for (i, peer) in self.peers.iter().enumerate() {
            let w = lock(&peer.writes);
            assert!(w.problems.is_empty(), "client {i} verdicts: {:?}", w.problems);
            let r = lock(&peer.relays);
            assert!(r.problems.is_empty(), "client {i} relays: {:?}", r.problems);
            let v = lock(&peer.versions);
            assert!(v.problems.is_empty(), "client {i} versions: {:?}", v.problems);
        }
    }

    /// Waits until every client's writes have their verdicts.
    async fn wait_settled(&self, what: &str) {
        let deadline = Instant::now() + wait::PATIENCE;
        loop {
            let open: Vec<(usize, usize)> = self
                .peers
                .iter()
                .enumerate()
                .map(|(i, p)| (i, lock(&p.writes).unsettled))
                .filter(|(_, n)| *n > 0)
                .collect();
            if open.is_empty() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: writes still without a verdict after {:?} (client, count): {open:?}",
                wait::PATIENCE
            );
            tokio::time::sleep(ms(5)).await;
        }
    }

    /// Reads the room from the server: the auditor joins (the ack is the room state), leaves.
    async fn audit(&self) -> Truth {
        let deadline = Instant::now() + wait::PATIENCE;
        let reply = loop {
            let join = OutgoingMessage::new("join-room", json!({"room": ROOM}));
            let answer = match self.auditor.send_with(join, SendOptions::with_ack(None)).await {
                Ok(pending) => pending.wait().await.map(|r| r.data.first().cloned()),
                Err(e) => Err(e),
            };
            match answer {
                Ok(Some(reply)) if reply["ok"] == json!(true) => break reply,
                // Refused (a rate limit) or lost: ask again.
                other => {
                    assert!(
                        Instant::now() < deadline,
                        "the auditor cannot read the room: {other:?}"
                    );
                    tokio::time::sleep(ms(100)).await;
                }
            }
        };
        let leave = OutgoingMessage::new("leave-room", json!({"room": ROOM}));
        let left = match self.auditor.send_with(leave, SendOptions::with_ack(None)).await {
            Ok(pending) => pending.wait().await.map(|r| r.data.first().cloned()),
            Err(e) => Err(e),
        };
        assert!(
            matches!(&left, Ok(Some(r)) if r["ok"] == json!(true)),
            "the auditor leaves: {left:?}"
        );
        let members = reply["members"]
            .as_array()
            .unwrap_or_else(|| panic!("room state without members: {reply}"))
            .iter()
            .map(|m| m["userId"].as_str().unwrap_or_default().to_owned())
            .collect();
        let fields = reply["state"]
            .as_object()
            .unwrap_or_else(|| panic!("room state without state: {reply}"))
            .iter()
            .map(|(name, f)| {
                let version = f["version"].as_u64().unwrap_or_else(|| panic!("{name}: {f}"));
                (name.clone(), (f["value"].clone(), version))
            })
            .collect();
        Truth { members, fields }
    }

    /// The server's value of each client's field against what that client's verdicts said.
    fn check_truth_against_verdicts(&self, truth: &Truth, life: u64) {
        for (i, peer) in self.peers.iter().enumerate() {
            let w = lock(&peer.writes);
            let last_confirmed = (w.first..w.next())
                .filter(|n| {
                    w.get(*n).is_some_and(|e| {
                        e.life == life && matches!(e.settled, Some(Settled::Confirmed(_)))
                    })
                })
                .max();
            match truth.fields.get(&field(i)) {
                None => assert!(
                    last_confirmed.is_none(),
                    "client {i}: write {last_confirmed:?} was confirmed in this life, but the \
                     server has no value for {}",
                    field(i)
                ),
                Some((value, version)) => {
                    let n = value.as_u64().unwrap_or_else(|| {
                        panic!("client {i}: the server holds {value}, which no write made")
                    });
                    let entry = w.get(n).unwrap_or_else(|| {
                        panic!(
                            "client {i}: the server holds write {n}, older than the last \
                             checkpoint's (first kept: {})",
                            w.first
                        )
                    });
                    match &entry.settled {
                        Some(Settled::Confirmed(v)) => assert_eq!(
                            v, version,
                            "client {i}: write {n} was confirmed at version {v}, the server \
                             has it at {version}"
                        ),
                        Some(Settled::Unanswered(_)) => {}
                        other => panic!(
                            "client {i}: the server holds write {n}, whose verdict was {other:?}"
                        ),
                    }
                    if let Some(c) = last_confirmed {
                        assert!(
                            n >= c,
                            "client {i}: write {c} was confirmed, but the server holds the \
                             older write {n}"
                        );
                    }
                }
            }
        }
    }

    /// Waits until every client's view of every field is the server's.
    async fn wait_views_match(&self, truth: &Truth, what: &str) {
        let deadline = Instant::now() + wait::PATIENCE;
        loop {
            let mismatch = self.peers.iter().enumerate().find_map(|(i, peer)| {
                (0..CLIENTS).find_map(|j| {
                    let seen = peer.collab.field(ROOM, &field(j)).map(|f| (f.value, f.version));
                    let want = truth.fields.get(&field(j)).cloned();
                    (seen != want).then(|| {
                        format!(
                            "client {i} sees {seen:?} for {}, the server has {want:?}",
                            field(j)
                        )
                    })
                })
            });
            let Some(mismatch) = mismatch else { return };
            assert!(Instant::now() < deadline, "{what}: {mismatch}");
            tokio::time::sleep(ms(5)).await;
        }
    }

    /// Heals every link, then checks rooms, verdicts, views, the calm relay, stats, memory.
    async fn checkpoint(&mut self) {
        for proxy in self.proxies() {
            proxy.set_mode(Mode::Pass);
        }
        let everyone = all_users();
        let deadline = Instant::now() + wait::PATIENCE;
        loop {
            let away: Vec<_> = self
                .peers
                .iter()
                .enumerate()
                .filter(|(_, p)| !(p.in_room() && p.roster() == everyone))
                .map(|(i, p)| (i, p.in_room(), p.roster().len()))
                .collect();
            if away.is_empty() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "clients not back in the room with all {CLIENTS} users (client, in room, \
                 roster size): {away:?}"
            );
            tokio::time::sleep(ms(5)).await;
        }

        // Pause the writers and let every verdict come in.
        self.control.paused.store(true, Ordering::SeqCst);
        let idle: Vec<_> = self.peers.iter().map(|p| p.idle.clone()).collect();
        wait::until("every writer paused", || idle.iter().all(|i| i.load(Ordering::SeqCst))).await;
        self.wait_settled("pausing for the checkpoint").await;
        self.assert_no_problems();

        // The server's truth against the verdicts, then every view against the truth.
        let life = self.control.life.load(Ordering::SeqCst);
        let truth = self.audit().await;
        assert_eq!(truth.members, everyone, "the server's member list");
        self.check_truth_against_verdicts(&truth, life);
        self.wait_views_match(&truth, "views after the episode").await;

        // Calm: one more write each; all confirmed, each relayed to everyone else exactly once.
        let mut calm = Vec::new();
        for (i, peer) in self.peers.iter().enumerate() {
            // Its verdict gives the permit back, as for the writer's own writes.
            peer.window.acquire().await.unwrap_or_else(|e| panic!("{e}")).forget();
            calm.push(write_once(i, &peer.collab, &peer.writes, life).await);
        }
        self.wait_settled("calm writes").await;
        let mut confirmed = BTreeMap::new();
        for (i, (peer, n)) in self.peers.iter().zip(&calm).enumerate() {
            let w = lock(&peer.writes);
            match w.get(*n).and_then(|e| e.settled.clone()) {
                Some(Settled::Confirmed(version)) => {
                    confirmed.insert(field(i), (json!(n), version));
                }
                other => panic!("client {i}: calm write {n} was not confirmed: {other:?}"),
            }
        }
        let relays: Vec<_> = self.peers.iter().map(|p| p.relays.clone()).collect();
        let calm_fields = confirmed.clone();
        let deadline = Instant::now() + wait::PATIENCE;
        loop {
            let missing = relays.iter().enumerate().find_map(|(j, r)| {
                let r = lock(r);
                calm_fields.iter().find_map(|(name, (value, version))| {
                    let n = value.as_u64().unwrap_or_default();
                    let own = *name == field(j);
                    (!own && r.last.get(name) != Some(&(n, *version))).then(|| {
                        format!(
                            "client {j} has not seen {name} = {n} at {version}: last {:?}",
                            r.last.get(name)
                        )
                    })
                })
            });
            let Some(missing) = missing else { break };
            assert!(Instant::now() < deadline, "calm relays: {missing}");
            tokio::time::sleep(ms(5)).await;
        }
        self.calm_relays += (CLIENTS * (CLIENTS - 1)) as u64;
        let calm_truth = Truth { members: everyone, fields: confirmed };
        self.wait_views_match(&calm_truth, "views after the calm writes").await;
        for (peer, n) in self.peers.iter().zip(&calm) {
            lock(&peer.writes).prune_below(*n);
        }
        self.assert_no_problems();

        // Stats add up, for every client and the auditor.
        for (i, peer) in self.peers.iter().enumerate() {
            let s = peer.client.stats().await.unwrap_or_else(|e| panic!("{e}"));
            assert_stats_add_up(&format!("client {i}"), &s);
        }
        let s = self.auditor.stats().await.unwrap_or_else(|e| panic!("{e}"));
        assert_stats_add_up("the auditor", &s);

        self.checkpoints += 1;
        let at = self.started.elapsed();
        if at >= self.warm_up {
            self.rss.sample(at.as_secs_f64());
        }
        self.control.paused.store(false, Ordering::SeqCst);
    }

    /// Picks the clients an episode hits: each with probability 0.4, at least one.
    fn targets(rng: &mut fastrand::Rng) -> Vec<usize> {
        let mut hit: Vec<usize> = (0..CLIENTS).filter(|_| rng.f32() < 0.4).collect();
        if hit.is_empty() {
            hit.push(rng.usize(0..CLIENTS));
        }
        hit
    }

    /// A crash as the clients see it: every link dies at once and stays refused while the
    /// server is down; the new server (same port) knows nothing of the old one.
    async fn restart_server(&mut self) {
        for proxy in self.proxies() {
            proxy.set_mode(Mode::Refuse);
            proxy.reset();
        }
        let deadline = Instant::now() + wait::PATIENCE;
        loop {
            let down = self.proxies().all(|p| p.connection_count() == 0)
                && self
                    .peers
                    .iter()
                    .all(|p| !p.client.state().borrow().is_connected() && !p.synced())
                && !self.auditor.state().borrow().is_connected();
            if down {
                break;
            }
            assert!(Instant::now() < deadline, "clients still connected after the links died");
            tokio::time::sleep(ms(5)).await;
        }
        self.server.stop().await;
        self.control.life.fetch_add(1, Ordering::SeqCst);
        self.server.start_again().await;
        for proxy in self.proxies() {
            proxy.set_mode(Mode::Pass);
        }
    }

    async fn episode(&mut self, fault: Fault, rng: &mut fastrand::Rng) {
        let hit = Self::targets(rng);
        let proxies: Vec<&FaultProxy> = hit.iter().map(|&i| &self.peers[i].proxy).collect();
        match fault {
            Fault::Cut => proxies.iter().for_each(|p| p.cut()),
            Fault::Reset => proxies.iter().for_each(|p| p.reset()),
            Fault::Blackhole => {
                proxies.iter().for_each(|p| p.set_mode(Mode::Blackhole));
                tokio::time::sleep(ms(rng.u64(500..5000))).await;
                // A dead path does not come back to life with a hole in its byte stream.
                proxies.iter().for_each(|p| {
                    p.set_mode(Mode::Pass);
                    p.cut();
                });
            }
            Fault::LatencySpike => {
                // Below the heartbeat and ping timeouts: the connections must survive it.
                let delay = ms(rng.u64(50..800));
                proxies.iter().for_each(|p| p.set_mode(Mode::Latency(delay)));
                tokio::time::sleep(ms(rng.u64(1000..4000))).await;
            }
            Fault::Refuse => {
                proxies.iter().for_each(|p| {
                    p.set_mode(Mode::Refuse);
                    p.cut();
                });
                tokio::time::sleep(ms(rng.u64(500..3000))).await;
            }
            Fault::SlowThenCut => {
                let delay = ms(rng.u64(100..600));
                proxies.iter().for_each(|p| p.set_mode(Mode::Latency(delay)));
                tokio::time::sleep(ms(rng.u64(500..2000))).await;
                proxies.iter().for_each(|p| {
                    p.set_mode(Mode::Pass);
                    p.cut();
                });
            }
            Fault::ServerRestart => self.restart_server().await,
        }
        // Let the clients run on the faulty (or healed) network for a moment before checking.
        tokio::time::sleep(ms(rng.u64(100..1500))).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_collaborators_keep_their_guarantees_through_random_faults_and_restarts() {
    let seconds: u64 =
        std::env::var("TETHER_SOAK_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    let seed: u64 =
        std::env::var("TETHER_SOAK_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(20_261_122);
    eprintln!("chaos soak (reference server): {seconds} s, TETHER_SOAK_SEED={seed}");
    count_worker_panics();
    let mut rng = fastrand::Rng::with_seed(seed);
    let server = SoakServer::start(
        ServerConfig::new(SECRET).with_heartbeat(Duration::from_secs(1), Duration::from_secs(2)),
    )
    .await;
    let control = Arc::new(Control::default());

    let mut peers = Vec::new();
    let mut tasks = Vec::new();
    for i in 0..CLIENTS {
        let proxy = FaultProxy::start(server.addr()).await.unwrap_or_else(|e| panic!("{e}"));
        let client = build_client(client_config(&proxy, seed + i as u64), token_for(i));
        let config = CollabConfig { local_user_id: Some(user(i)), ..CollabConfig::default() };
        let collab = Collaboration::new(&client, config).unwrap_or_else(|e| panic!("{e}"));
        let peer = Peer {
            client,
            collab,
            proxy,
            writes: Arc::default(),
            relays: Arc::default(),
            versions: Arc::default(),
            window: Arc::new(Semaphore::new(WINDOW)),
            idle: Arc::new(AtomicBool::new(false)),
        };
        let events = peer.collab.events();
        let (writes, relays, window) =
            (peer.writes.clone(), peer.relays.clone(), peer.window.clone());
        tasks.push(tokio::spawn(read_events(i, events, writes, relays, window)));
        let (collab, versions) = (peer.collab.clone(), peer.versions.clone());
        tasks.push(tokio::spawn(watch_versions(collab, versions, control.clone())));
        peer.client.connect().await.unwrap_or_else(|e| panic!("client {i} connects: {e}"));
        peer.collab.join(ROOM).await.unwrap_or_else(|e| panic!("client {i} joins: {e}"));
        peers.push(peer);
    }
    let auditor_proxy = FaultProxy::start(server.addr()).await.unwrap_or_else(|e| panic!("{e}"));
    let auditor = build_client(client_config(&auditor_proxy, seed + 1000), token_for(0));
    auditor.connect().await.unwrap_or_else(|e| panic!("the auditor connects: {e}"));

    let mut writers = Vec::new();
    for (i, peer) in peers.iter().enumerate() {
        let task = write_repeatedly(
            i,
            peer.collab.clone(),
            peer.writes.clone(),
            peer.window.clone(),
            control.clone(),
            peer.idle.clone(),
        );
        writers.push(tokio::spawn(task));
    }

    let duration = Duration::from_secs(seconds);
    let mut soak = Soak {
        server,
        peers,
        auditor,
        auditor_proxy,
        control: control.clone(),
        checkpoints: 0,
        calm_relays: 0,
        rss: RssSamples::default(),
        started: Instant::now(),
        warm_up: (duration / 4).max(Duration::from_secs(30)),
    };
    let mut episodes: BTreeMap<String, u64> = BTreeMap::new();
    soak.checkpoint().await;
    while soak.started.elapsed() < duration {
        let fault = match rng.u8(0..20) {
            0..=3 => Fault::Cut,
            4..=5 => Fault::Reset,
            6..=8 => Fault::Blackhole,
            9..=11 => Fault::LatencySpike,
            12..=14 => Fault::SlowThenCut,
            15..=17 => Fault::Refuse,
            _ => Fault::ServerRestart,
        };
        *episodes.entry(format!("{fault:?}")).or_default() += 1;
        soak.episode(fault, &mut rng).await;
        soak.checkpoint().await;
    }

    // Wind down: stop writing; every write has its verdict, and the helpers count the same.
    control.stop.store(true, Ordering::SeqCst);
    for task in writers {
        task.await.unwrap_or_else(|e| panic!("{e}"));
    }
    soak.wait_settled("winding down").await;
    soak.assert_no_problems();
    let (mut written, mut confirmed, mut refused, mut unanswered) = (0, 0, 0, 0);
    let (mut delivered, mut conflicts, mut samples, mut connects) = (0, 0, 0, 0);
    let mut snapshots = 0;
    let mut rollbacks: BTreeMap<String, u64> = BTreeMap::new();
    for (i, peer) in soak.peers.iter().enumerate() {
        let stats = peer.collab.stats().await.unwrap_or_else(|e| panic!("{e}"));
        let client_stats = peer.client.stats().await.unwrap_or_else(|e| panic!("{e}"));
        assert_stats_add_up(&format!("client {i}"), &client_stats);
        connects += client_stats.connect_count;
        let w = lock(&peer.writes);
        assert_eq!(
            (stats.confirmed, stats.rolled_back),
            (w.confirmed, w.refused + w.unanswered),
            "client {i}: the helper's counters and the verdicts the app heard"
        );
        assert_eq!(
            w.confirmed + w.refused + w.unanswered,
            w.next(),
            "client {i}: every write settled once"
        );
        written += w.next();
        confirmed += w.confirmed;
        refused += w.refused;
        unanswered += w.unanswered;
        for (reason, count) in &w.rollbacks {
            *rollbacks.entry(reason.clone()).or_default() += count;
        }
        let r = lock(&peer.relays);
        delivered += r.delivered;
        assert_eq!(stats.conflicts, r.conflicts, "client {i}: conflicts counted and heard");
        conflicts += r.conflicts;
        samples += lock(&peer.versions).samples;
        snapshots += stats.snapshots_applied;
    }

    // Memory: flat after the warm-up.
    let (rss_bounds, rss_by_second) = soak.rss.summary();
    eprintln!(
        "{}",
        json!({
            "soak_seconds": seconds, "seed": seed, "episodes": episodes,
            "server_restarts": control.life.load(Ordering::SeqCst),
            "checkpoints": soak.checkpoints, "writes": written,
            "confirmed": confirmed, "rolled_back_refused": refused,
            "rolled_back_unanswered": unanswered, "rollbacks_by_reason": rollbacks,
            "conflicts": conflicts,
            "field_updates_delivered": delivered, "calm_relays_checked": soak.calm_relays,
            "version_samples_checked": samples, "snapshots_applied": snapshots,
            "client_connects": connects,
            "rss_after_warm_up_bytes": rss_bounds,
            "rss_mib_by_second": rss_by_second,
        })
    );
    soak.rss.assert_flat(0.10);
    soak.server.stop().await;
    for task in tasks {
        task.abort();
    }
}

/// Found by the soak: a collaborator with `local_user_id` that came back after missing a write
/// announced its room synced (the `Synced` event, and the state watch) while its fields were
/// still those from before it went away; the server's fields came only after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_is_announced_synced_only_once_its_fields_are_the_servers() {
    let server = tether_reference_server::start(ServerConfig::new(SECRET))
        .await
        .unwrap_or_else(|e| panic!("server starts: {e}"));
    let proxy = FaultProxy::start(server.addr()).await.unwrap_or_else(|e| panic!("{e}"));
    let mut collaborators = Vec::new();
    for (i, url) in [server.url(), format!("http://{}", proxy.addr())].into_iter().enumerate() {
        let client =
            build_client(Config::new(url).with_reconnect_delays(ms(20), ms(200)), token_for(i));
        let config = CollabConfig { local_user_id: Some(user(i)), ..CollabConfig::default() };
        let collab = Collaboration::new(&client, config).unwrap_or_else(|e| panic!("{e}"));
        client.connect().await.unwrap_or_else(|e| panic!("{e}"));
        collab.join(ROOM).await.unwrap_or_else(|e| panic!("{e}"));
        collaborators.push((client, collab));
    }
    let [(_, ana), (ben_client, ben)] = &collaborators[..] else { unreachable!() };
    let sees = |collab: &Collaboration, value: u64| {
        collab.field(ROOM, "price").is_some_and(|f| f.value == json!(value))
    };

    ana.update_field(ROOM, "price", json!(1)).await.unwrap_or_else(|e| panic!("{e}"));
    wait::until("ben sees price 1", || sees(ben, 1)).await;
    proxy.set_mode(Mode::Refuse);
    proxy.cut();
    wait::state(ben_client, "ben offline", |s| !s.is_connected()).await;
    ana.update_field(ROOM, "price", json!(2)).await.unwrap_or_else(|e| panic!("{e}"));
    wait::until("ana's price 2 confirmed", || sees(ana, 2)).await;

    let mut events = ben.events();
    proxy.set_mode(Mode::Pass);
    let mut heard_price_2 = false;
    let synced_state = tokio::time::timeout(wait::PATIENCE, async {
        while let Some(event) = events.recv().await {
            match event {
                CollabEvent::FieldUpdated { value, .. } if value.value == json!(2) => {
                    heard_price_2 = true;
                }
                CollabEvent::Presence(tether_core::PresenceChange::Synced { .. }) => {
                    return ben.field(ROOM, "price");
                }
                _ => {}
            }
        }
        None
    })
    .await
    .unwrap_or_else(|_| panic!("ben's room never synced again"));
    assert!(heard_price_2, "Synced came before the snapshot's field update");
    assert_eq!(synced_state.map(|f| (f.value, f.version)), Some((json!(2), 2)));
    server.shutdown().await;
}

/// Panics in tokio worker threads: a spawned task that died (one of the server's handlers,
/// one of the test's own tasks). They do not fail a test by themselves, so a hook counts them.
static WORKER_PANICS: AtomicU64 = AtomicU64::new(0);

fn count_worker_panics() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().name().is_some_and(|n| n.starts_with("tokio-")) {
                WORKER_PANICS.fetch_add(1, Ordering::SeqCst);
            }
            previous(info);
        }));
    });
}

fn assert_no_worker_panicked() {
    let panics = WORKER_PANICS.load(Ordering::SeqCst);
    assert_eq!(panics, 0, "{panics} task(s) panicked in runtime workers (see the output above)");
}

/// Found by the soak: a server shut down while members' connections were closing panicked in
/// their disconnect handlers (socketioxide drops its namespaces first, and the handler looked
/// the default namespace up to broadcast `user-disconnected`). A race, so 10 members leave at
/// once and the shutdown comes at a different moment in each of several rounds (this caught
/// the bug in 7 runs of 8).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_shut_down_while_members_leave_panics_nowhere() {
    count_worker_panics();
    for round in 0..ROUNDS {
        let server = tether_reference_server::start(ServerConfig::new(SECRET))
            .await
            .unwrap_or_else(|e| panic!("server starts: {e}"));
        let proxy = FaultProxy::start(server.addr()).await.unwrap_or_else(|e| panic!("{e}"));
        let mut clients = Vec::new();
        for i in 0..CLIENTS {
            let config = Config::new(format!("http://{}", proxy.addr())).with_rng_seed(round);
            let client = build_client(config, token_for(i));
            client.connect().await.unwrap_or_else(|e| panic!("{e}"));
            client.join(ROOM).await.unwrap_or_else(|e| panic!("{e}"));
            clients.push(client);
        }
        proxy.set_mode(Mode::Refuse);
        proxy.cut();
        // Not a wait for anything: each round shuts down a little later into the closing.
        tokio::time::sleep(Duration::from_micros(round * 50)).await;
        server.shutdown().await;
        for client in &clients {
            wait::state(client, "the client to notice the shutdown", |s| !s.is_connected()).await;
        }
        assert_no_worker_panicked();
    }
}

/// Found while writing the soak (it writes a new value each time, so it could not hit it): a
/// write that conflicts with a server value equal to its own, e.g. an edit the app retried
/// after a rollback when the first attempt had landed after all, stands on the server, and the
/// versioned fields said so, but the app was told it was rolled back (`conflict`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_the_server_already_holds_is_confirmed() {
    let server = tether_reference_server::start(ServerConfig::new(SECRET))
        .await
        .unwrap_or_else(|e| panic!("server starts: {e}"));
    let proxy = FaultProxy::start(server.addr()).await.unwrap_or_else(|e| panic!("{e}"));
    let mut collaborators = Vec::new();
    for (i, url) in [server.url(), format!("http://{}", proxy.addr())].into_iter().enumerate() {
        let client =
            build_client(Config::new(url).with_reconnect_delays(ms(20), ms(200)), token_for(i));
        let config = CollabConfig { local_user_id: Some(user(i)), ..CollabConfig::default() };
        let collab = Collaboration::new(&client, config).unwrap_or_else(|e| panic!("{e}"));
        client.connect().await.unwrap_or_else(|e| panic!("{e}"));
        collab.join(ROOM).await.unwrap_or_else(|e| panic!("{e}"));
        collaborators.push((client, collab));
    }
    let [(_, ana), (ben_client, ben)] = &collaborators[..] else { unreachable!() };
    wait::until("ben in the room", || {
        ben.state().borrow().rooms.get(ROOM).is_some_and(|r| r.synced)
    })
    .await;

    // Ben goes offline; Ana writes 5; Ben, not knowing, writes 5 too (based on version 0).
    proxy.set_mode(Mode::Refuse);
    proxy.cut();
    wait::state(ben_client, "ben offline", |s| !s.is_connected()).await;
    ana.update_field(ROOM, "price", json!(5)).await.unwrap_or_else(|e| panic!("{e}"));
    wait::until("ana's 5 confirmed", || {
        ana.field(ROOM, "price").is_some_and(|f| f.value == json!(5))
    })
    .await;
    let mut events = ben.events();
    let id = ben.update_field(ROOM, "price", json!(5)).await.unwrap_or_else(|e| panic!("{e}"));
    proxy.set_mode(Mode::Pass);
    let verdict = tokio::time::timeout(wait::PATIENCE, async {
        while let Some(event) = events.recv().await {
            if let CollabEvent::Outcome(outcome) = event {
                if outcome.id == id {
                    return Some(outcome.verdict);
                }
            }
        }
        None
    })
    .await
    .unwrap_or_else(|_| panic!("no verdict on ben's write"));
    assert!(matches!(verdict, Some(Verdict::Confirmed { .. })), "{verdict:?}");
    assert_eq!(ben.field(ROOM, "price").map(|f| (f.value, f.version)), Some((json!(5), 1)));
    server.shutdown().await;
}
