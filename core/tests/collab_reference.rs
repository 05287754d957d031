//! The collaboration helpers end to end against the reference server
//! (`examples/reference-server`, embedded on a random loopback port per test), some through the
//! fault proxy to cut, blackhole or restart the server under the clients. Every wait is for a
//! condition with a deadline; nothing sleeps for a fixed time.

mod support;

use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use support::fault_proxy::{FaultProxy, Mode};
use support::wait::{self, PATIENCE};
use tether_core::{
    Client, CollabConfig, CollabEvent, CollabEventStream, Collaboration, Config, ConflictOutcome,
    ConflictPolicy, Event, LeaveReason, OptimisticId, OptimisticOutcome, PresenceChange,
    RollbackReason, Token, TokenError, Verdict,
};
use tether_reference_server::{issue_token, start, Role, RunningServer, ServerConfig};

const SECRET: &str = "collab-reference-test-secret";
const ROOM: &str = "estimate-42";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

async fn server() -> RunningServer {
    start(ServerConfig::new(SECRET)).await.unwrap_or_else(|e| panic!("server starts: {e}"))
}

/// One collaborator: a client with its own token and the helpers on it.
struct Peer {
    user: String,
    client: Client,
    collab: Collaboration,
    /// Every server message this client received, in order.
    messages: Arc<Mutex<Vec<(String, Value)>>>,
}

impl Peer {
    async fn join(url: &str, user: &str, role: Role, config: CollabConfig) -> Peer {
        let peer = Peer::new(url, user, role, config).await;
        peer.collab.join(ROOM).await.unwrap_or_else(|e| panic!("{user} joins: {e}"));
        peer
    }

    async fn new(url: &str, user: &str, role: Role, config: CollabConfig) -> Peer {
        let token = issue_token(SECRET, user, &user.to_uppercase(), role, None, ms(600_000));
        let config_client = Config::new(url)
            .with_reconnect_delays(ms(20), ms(200))
            .with_connect_timeout(Duration::from_secs(5));
        let client = Client::builder(config_client)
            .token_provider(move || {
                let token = token.clone();
                async move { Ok::<_, TokenError>(Token::new(token)) }
            })
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let messages = Arc::new(Mutex::new(Vec::new()));
        let mut events = client.events();
        let sink = Arc::clone(&messages);
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                if let Event::Message(m) = event {
                    let payload = m.payload().cloned().unwrap_or(Value::Null);
                    sink.lock().unwrap_or_else(PoisonError::into_inner).push((m.event, payload));
                }
            }
        });
        let config = CollabConfig { local_user_id: Some(user.to_owned()), ..config };
        let collab = Collaboration::new(&client, config).unwrap_or_else(|e| panic!("{e}"));
        client.connect().await.unwrap_or_else(|e| panic!("{user} connects: {e}"));
        Peer { user: user.to_owned(), client, collab, messages }
    }

    fn roster_ids(&self) -> BTreeSet<String> {
        self.collab.roster(ROOM).unwrap_or_default().into_iter().map(|m| m.user_id).collect()
    }

    fn synced(&self) -> bool {
        self.collab.state().borrow().rooms.get(ROOM).is_some_and(|r| r.synced)
    }

    fn received(&self, event: &str) -> Vec<Value> {
        let messages = self.messages.lock().unwrap_or_else(PoisonError::into_inner);
        messages.iter().filter(|(name, _)| name == event).map(|(_, p)| p.clone()).collect()
    }

    async fn wait_synced(&self) {
        let what = format!("{}'s roster to sync", self.user);
        wait::until(&what, || self.synced()).await;
    }
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| (*s).to_owned()).collect()
}

/// Waits until every peer's roster is exactly `expected` and synced.
async fn converge(peers: &[Peer], expected: &[&str]) {
    let expected = set(expected);
    let what = format!("every roster to be {expected:?}");
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        if peers.iter().all(|p| p.synced() && p.roster_ids() == expected) {
            return;
        }
        if tokio::time::Instant::now() >= deadline {
            let seen: Vec<_> =
                peers.iter().map(|p| (&p.user, p.synced(), p.roster_ids())).collect();
            panic!("timed out waiting for {what}; rosters: {seen:?}");
        }
        tokio::time::sleep(ms(5)).await;
    }
}

/// Reads collaboration events until `pick` returns something.
async fn next<T>(
    events: &mut CollabEventStream,
    what: &str,
    mut pick: impl FnMut(CollabEvent) -> Option<T>,
) -> T {
    let found = tokio::time::timeout(PATIENCE, async {
        while let Some(event) = events.recv().await {
            if let Some(found) = pick(event) {
                return Some(found);
            }
        }
        None
    })
    .await;
    match found {
        Ok(Some(found)) => found,
        Ok(None) => panic!("collaboration stopped while waiting for {what}"),
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

async fn outcome(events: &mut CollabEventStream, id: &OptimisticId) -> OptimisticOutcome {
    next(events, &format!("the verdict on {id}"), |e| match e {
        CollabEvent::Outcome(o) if o.id == *id => Some(o),
        _ => None,
    })
    .await
}

/// The server's error code, for a verdict that is a rollback on a nack.
fn nack_code(outcome: &OptimisticOutcome) -> Option<&str> {
    match &outcome.verdict {
        Verdict::RolledBack { reason: RollbackReason::Nack { code, .. } } => Some(code),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_converges_for_five_clients_after_joins_leaves_kills_and_a_restart() {
    let first = server().await;
    let proxy = FaultProxy::start(first.addr()).await.unwrap_or_else(|e| panic!("{e}"));
    let url = format!("http://{}", proxy.addr());
    let mut peers = Vec::new();
    for i in 1..=5 {
        peers.push(Peer::join(&url, &format!("u{i}"), Role::Editor, CollabConfig::default()).await);
    }
    let mut watcher = peers[0].collab.events();
    converge(&peers, &["u1", "u2", "u3", "u4", "u5"]).await;

    // u5 leaves properly.
    let u5 = peers.pop().unwrap_or_else(|| unreachable!());
    u5.collab.leave(ROOM).await.unwrap_or_else(|e| panic!("{e}"));
    converge(&peers, &["u1", "u2", "u3", "u4"]).await;
    let reason = next(&mut watcher, "u5's leave", |e| match e {
        CollabEvent::Presence(PresenceChange::Left { user_id, reason, .. }) if user_id == "u5" => {
            Some(reason)
        }
        _ => None,
    })
    .await;
    assert_eq!(reason, LeaveReason::Left);

    // u4 is killed: its client goes away without leaving the room.
    drop(peers.pop());
    converge(&peers, &["u1", "u2", "u3"]).await;
    let reason_u4 = next(&mut watcher, "u4's disconnect", |e| match e {
        CollabEvent::Presence(PresenceChange::Left { user_id, reason, .. }) if user_id == "u4" => {
            Some(reason)
        }
        _ => None,
    })
    .await;
    assert_eq!(reason_u4, LeaveReason::Disconnected);

    // A newcomer.
    peers.push(Peer::join(&url, "u6", Role::Editor, CollabConfig::default()).await);
    converge(&peers, &["u1", "u2", "u3", "u6"]).await;

    // The server goes down hard; u3 dies during the outage; a fresh server comes up elsewhere.
    proxy.set_mode(Mode::Refuse);
    proxy.reset();
    for peer in &peers {
        wait::state(&peer.client, "the outage", |s| !s.is_connected()).await;
    }
    first.shutdown().await;
    drop(peers.remove(2));
    let second = server().await;
    proxy.set_upstream(second.addr());
    proxy.set_mode(Mode::Pass);
    // Everyone re-joins and rebuilds from the new server's snapshot: u3 is no ghost.
    converge(&peers, &["u1", "u2", "u6"]).await;
    second.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_cursor_updates_in_a_second_reach_others_coalesced_ending_at_the_last() {
    let server = server().await;
    let a = Peer::join(&server.url(), "ana", Role::Editor, CollabConfig::default()).await;
    let b = Peer::join(&server.url(), "ben", Role::Editor, CollabConfig::default()).await;
    a.wait_synced().await;
    b.wait_synced().await;
    wait::until("ben sees ana", || b.roster_ids().contains("ana")).await;

    let begin = tokio::time::Instant::now();
    for i in 0..1000u32 {
        // Pacing the input (one update per millisecond), not waiting for an outcome.
        tokio::time::sleep_until(begin + Duration::from_micros(u64::from(i) * 1000)).await;
        a.collab
            .update_cursor(ROOM, f64::from(i), 2.0 * f64::from(i))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let input_took = begin.elapsed();
    let last = (999.0, 1998.0);
    wait::until("ben's roster shows ana's last position", || {
        b.collab
            .roster(ROOM)
            .and_then(|r| r.into_iter().find(|m| m.user_id == "ana"))
            .and_then(|m| m.cursor)
            .is_some_and(|c| (c.x, c.y) == last)
    })
    .await;
    let moved = b.received("cursor-moved");
    let stats = a.collab.stats().await.unwrap_or_else(|e| panic!("{e}"));
    // One send per 50 ms plus the first: 21 for a one-second burst. A loaded machine may
    // stretch the burst; the bound stretches with it, never the rate.
    let bound = 21.max(usize::try_from(input_took.as_millis() / 50).unwrap_or(usize::MAX) + 2);
    assert!(moved.len() <= bound, "{} cursor events for a {input_took:?} burst", moved.len());
    assert!(moved.len() >= 10, "the cursor was paced, not starved: {}", moved.len());
    let final_payload = moved.last().cloned().unwrap_or(Value::Null);
    assert_eq!(
        (final_payload["x"].as_f64(), final_payload["y"].as_f64()),
        (Some(last.0), Some(last.1))
    );
    assert_eq!(stats.cursor.reported, 1000);
    assert_eq!(stats.cursor.sent, moved.len() as u64, "every send arrived, none was rate-limited");
    eprintln!("1000 updates over {input_took:?} -> {} cursor events", moved.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cursor_positions_are_dropped_not_queued_while_offline() {
    let server = server().await;
    let proxy = FaultProxy::start(server.addr()).await.unwrap_or_else(|e| panic!("{e}"));
    let a = Peer::join(
        &format!("http://{}", proxy.addr()),
        "ana",
        Role::Editor,
        CollabConfig::default(),
    )
    .await;
    let b = Peer::join(&server.url(), "ben", Role::Editor, CollabConfig::default()).await;
    a.wait_synced().await;
    wait::until("ben sees ana", || b.roster_ids().contains("ana")).await;

    proxy.set_mode(Mode::Refuse);
    proxy.cut();
    wait::state(&a.client, "ana offline", |s| !s.is_connected()).await;
    for i in 0..100u32 {
        a.collab.update_cursor(ROOM, f64::from(i), 0.0).unwrap_or_else(|e| panic!("{e}"));
    }
    let stats = a.collab.stats().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stats.cursor.dropped_offline, 100);
    let client_stats = a.client.stats().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(client_stats.queued, 0, "no cursor position waits in the outbox");

    proxy.set_mode(Mode::Pass);
    a.wait_synced().await;
    // Moving again after the reconnect sends that position, and only that one.
    a.collab.update_cursor(ROOM, 7.0, 7.0).unwrap_or_else(|e| panic!("{e}"));
    wait::until("ben sees ana's new position", || !b.received("cursor-moved").is_empty()).await;
    let moved = b.received("cursor-moved");
    assert_eq!(moved.len(), 1, "{moved:?}");
    assert_eq!(moved[0]["x"], json!(7.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typing_stops_by_itself_and_focus_follows_the_user() {
    let server = server().await;
    let quick = CollabConfig { typing_timeout: ms(300), ..CollabConfig::default() };
    let a = Peer::join(&server.url(), "ana", Role::Editor, quick).await;
    let b = Peer::join(&server.url(), "ben", Role::Editor, CollabConfig::default()).await;
    a.wait_synced().await;
    b.wait_synced().await;
    wait::until("ben sees ana", || b.roster_ids().contains("ana")).await;
    let ana = || b.collab.roster(ROOM).and_then(|r| r.into_iter().find(|m| m.user_id == "ana"));

    a.collab.focus_field(ROOM, "labor").unwrap_or_else(|e| panic!("{e}"));
    for _ in 0..50 {
        a.collab.start_typing(ROOM, "labor").unwrap_or_else(|e| panic!("{e}"));
    }
    wait::until("ben sees ana typing in labor", || {
        ana().is_some_and(|m| {
            m.typing_in.as_deref() == Some("labor") && m.field.as_deref() == Some("labor")
        })
    })
    .await;
    wait::until("ana's typing indicator to stop by itself", || {
        ana().is_some_and(|m| m.typing_in.is_none())
    })
    .await;
    assert_eq!(b.received("typing-started").len(), 1, "fifty keystrokes, one typing-start");
    assert_eq!(b.received("typing-stopped").len(), 1);

    a.collab.start_typing(ROOM, "labor").unwrap_or_else(|e| panic!("{e}"));
    a.collab.blur_field(ROOM, "labor").unwrap_or_else(|e| panic!("{e}"));
    wait::until("ben sees ana leave the field", || ana().is_some_and(|m| m.field.is_none())).await;
    assert!(ana().is_some_and(|m| m.typing_in.is_none()), "blur ends typing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn optimistic_updates_confirm_or_roll_back_on_a_nack() {
    let server = server().await;
    let editor = Peer::join(&server.url(), "ana", Role::Editor, CollabConfig::default()).await;
    let viewer = Peer::join(&server.url(), "vic", Role::Viewer, CollabConfig::default()).await;
    editor.wait_synced().await;
    viewer.wait_synced().await;
    let mut ana_events = editor.collab.events();
    let mut vic_events = viewer.collab.events();

    let id = editor
        .collab
        .update_field(ROOM, "total", json!(100))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let verdict = outcome(&mut ana_events, &id).await;
    assert!(matches!(verdict.verdict, Verdict::Confirmed { .. }), "{verdict:?}");
    assert_eq!(
        editor.collab.field(ROOM, "total").map(|f| (f.value, f.version)),
        Some((json!(100), 1))
    );
    wait::until("vic learns the new total", || {
        viewer.collab.field(ROOM, "total").is_some_and(|f| f.value == json!(100))
    })
    .await;

    let id =
        viewer.collab.update_field(ROOM, "total", json!(1)).await.unwrap_or_else(|e| panic!("{e}"));
    let verdict = outcome(&mut vic_events, &id).await;
    assert_eq!(verdict.payload["value"], json!(1), "the payload to roll back");
    let Verdict::RolledBack { reason: RollbackReason::Nack { code, .. } } = &verdict.verdict else {
        panic!("{verdict:?}")
    };
    assert_eq!(code, "forbidden");

    // The generic form: any event, any payload.
    let ok = json!({"room": ROOM, "field": "notes", "value": "rush job", "baseVersion": 0});
    let id = editor
        .collab
        .update_optimistic(ROOM, "pricing-update", ok)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let verdict = outcome(&mut ana_events, &id).await;
    assert!(matches!(verdict.verdict, Verdict::Confirmed { .. }), "{verdict:?}");
    assert_eq!(verdict.payload["optimisticId"], json!(id.0), "the id travels with the update");
    let bad = json!({"room": ROOM, "value": 3});
    let id = editor
        .collab
        .update_optimistic(ROOM, "pricing-update", bad)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let verdict = outcome(&mut ana_events, &id).await;
    assert!(nack_code(&verdict) == Some("bad_request"), "{verdict:?}");
    let stats = editor.collab.stats().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((stats.confirmed, stats.rolled_back), (2, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn optimistic_updates_roll_back_on_timeout_and_on_connection_failure_exactly_once() {
    let server = server().await;
    let proxy_a = FaultProxy::start(server.addr()).await.unwrap_or_else(|e| panic!("{e}"));
    let proxy_b = FaultProxy::start(server.addr()).await.unwrap_or_else(|e| panic!("{e}"));
    let quick = CollabConfig { optimistic_timeout: ms(300), ..CollabConfig::default() };
    let a = Peer::join(&format!("http://{}", proxy_a.addr()), "ana", Role::Editor, quick).await;
    let b = Peer::join(
        &format!("http://{}", proxy_b.addr()),
        "ben",
        Role::Editor,
        CollabConfig::default(),
    )
    .await;
    a.wait_synced().await;
    b.wait_synced().await;
    let mut ana_events = a.collab.events();
    let mut ben_events = b.collab.events();

    // Nothing comes back through a blackhole: Ana's update times out.
    proxy_a.set_mode(Mode::Blackhole);
    let id_a =
        a.collab.update_field(ROOM, "total", json!(5)).await.unwrap_or_else(|e| panic!("{e}"));
    let verdict = outcome(&mut ana_events, &id_a).await;
    assert_eq!(verdict.verdict, Verdict::RolledBack { reason: RollbackReason::Timeout });

    // Ben's connection fails under his update: it rolls back at once, not after 5 s.
    proxy_b.set_mode(Mode::Blackhole);
    let id_b =
        b.collab.update_field(ROOM, "total", json!(6)).await.unwrap_or_else(|e| panic!("{e}"));
    let begin = tokio::time::Instant::now();
    proxy_b.reset();
    let verdict = outcome(&mut ben_events, &id_b).await;
    assert_eq!(verdict.verdict, Verdict::RolledBack { reason: RollbackReason::ConnectionFailed });
    assert!(begin.elapsed() < Duration::from_secs(5), "{:?}", begin.elapsed());

    // Heal both, and make sure no second verdict ever comes for either update.
    proxy_a.set_mode(Mode::Pass);
    proxy_b.set_mode(Mode::Pass);
    proxy_a.reset();
    a.wait_synced().await;
    b.wait_synced().await;
    for (peer, events, id) in [(&a, &mut ana_events, &id_a), (&b, &mut ben_events, &id_b)] {
        let stats = peer.collab.stats().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((stats.confirmed, stats.rolled_back), (0, 1), "{}", peer.user);
        while let Some(event) = events.try_recv() {
            assert!(!matches!(event, CollabEvent::Outcome(ref o) if o.id == *id), "{event:?}");
        }
    }
    // Neither write reached the server.
    assert_eq!(a.collab.field(ROOM, "total"), None);
}

/// A conflict in the making; the server and proxy live as long as it.
struct Scenario {
    _server: RunningServer,
    _proxy: FaultProxy,
    ana: Peer,
    ben: Peer,
    /// Ben's collaboration events since just before his conflicting write.
    events: CollabEventStream,
    /// Ben's conflicting write.
    id: OptimisticId,
}

/// Ben edits `total` while offline after Ana changed it: his write is based on a stale version.
async fn conflict_scenario(ben_policy: ConflictPolicy) -> Scenario {
    let server = server().await;
    let proxy = FaultProxy::start(server.addr()).await.unwrap_or_else(|e| panic!("{e}"));
    let ana = Peer::join(&server.url(), "ana", Role::Editor, CollabConfig::default()).await;
    let ben_config = CollabConfig { conflict_policy: ben_policy, ..CollabConfig::default() };
    let ben =
        Peer::join(&format!("http://{}", proxy.addr()), "ben", Role::Editor, ben_config).await;
    ana.wait_synced().await;
    ben.wait_synced().await;
    let mut ana_events = ana.collab.events();

    proxy.set_mode(Mode::Refuse);
    proxy.cut();
    wait::state(&ben.client, "ben offline", |s| !s.is_connected()).await;
    let id =
        ana.collab.update_field(ROOM, "total", json!(100)).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(outcome(&mut ana_events, &id).await.verdict, Verdict::Confirmed { .. }));
    let ben_events = ben.collab.events();
    let id =
        ben.collab.update_field(ROOM, "total", json!(90)).await.unwrap_or_else(|e| panic!("{e}"));
    proxy.set_mode(Mode::Pass);
    Scenario { _server: server, _proxy: proxy, ana, ben, events: ben_events, id }
}

async fn conflict_of(events: &mut CollabEventStream, id: &OptimisticId) -> tether_core::Conflict {
    next(events, "the conflict", |e| match e {
        CollabEvent::Conflict(c) if c.id == *id => Some(c),
        _ => None,
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_resolves_last_write_wins_end_to_end() {
    let Scenario { ana, ben, mut events, id, _server, _proxy } =
        conflict_scenario(ConflictPolicy::LastWriteWins).await;
    let conflict = conflict_of(&mut events, &id).await;
    assert_eq!((conflict.local.clone(), conflict.server.clone()), (json!(90), json!(100)));
    assert_eq!(conflict.server_version, 1);
    assert_eq!(conflict.resolved, json!(90), "ben's write is the later one");
    assert_eq!(conflict.outcome, ConflictOutcome::Resent);
    assert!(matches!(outcome(&mut events, &id).await.verdict, Verdict::Confirmed { .. }));
    wait::until("ana sees ben's value win", || {
        ana.collab.field(ROOM, "total").is_some_and(|f| f.value == json!(90) && f.version == 2)
    })
    .await;
    while let Some(e) = events.try_recv() {
        eprintln!("BEN {e:?}");
    }
    eprintln!("BEN STATE {:?}", ben.collab.state().borrow());
    assert_eq!(ben.collab.field(ROOM, "total").map(|f| f.version), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_resolves_with_the_apps_resolver_end_to_end() {
    let sum = ConflictPolicy::custom(|c| {
        json!(c.local.as_i64().unwrap_or(0) + c.server.as_i64().unwrap_or(0))
    });
    let Scenario { ana, ben: _ben, mut events, id, _server, _proxy } = conflict_scenario(sum).await;
    let conflict = conflict_of(&mut events, &id).await;
    assert_eq!(conflict.resolved, json!(190));
    assert!(matches!(outcome(&mut events, &id).await.verdict, Verdict::Confirmed { .. }));
    wait::until("ana sees the merged value", || {
        ana.collab.field(ROOM, "total").is_some_and(|f| f.value == json!(190))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_wins_keeps_the_servers_value_and_rolls_back() {
    let Scenario { ana: _ana, ben, mut events, id, _server, _proxy } =
        conflict_scenario(ConflictPolicy::ServerWins).await;
    let conflict = conflict_of(&mut events, &id).await;
    assert_eq!(conflict.outcome, ConflictOutcome::ServerKept);
    let verdict = outcome(&mut events, &id).await;
    assert!(nack_code(&verdict) == Some("conflict"), "{verdict:?}");
    assert_eq!(ben.collab.field(ROOM, "total").map(|f| f.value), Some(json!(100)));
}
