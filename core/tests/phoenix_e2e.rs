//! Phoenix Channels end to end: the Phoenix test server (tests/servers/phoenix, held to a real
//! Phoenix 1.7.24's frames and the official clients) started per test on a random loopback
//! port, often behind the fault proxy: cuts, a blackholed link, server restarts, crashed and
//! closed channels, and Supabase-shaped `realtime:*` channels.

mod support;

use serde_json::{json, Value};
use std::time::{Duration, Instant};
use support::fault_proxy::{FaultProxy, Mode};
use support::node_server::NodeServer;
use support::wait;
use tether_core::{
    Client, Config, ConnectionState, DisconnectReason, ErrorKind, Event, EventStream,
    FailureReason, OutgoingMessage, PhoenixConfig, PostgresChangesFilter, PresenceChange,
    RealtimeChannelConfig, RealtimeEvent, SendOptions, Token, TokenError,
};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A Phoenix client for `port` whose presence key is `user` (the server reads the `user` param).
fn phoenix(port: u16, user: &str) -> Config {
    let options = PhoenixConfig {
        params: [("user".to_owned(), json!(user))].into_iter().collect(),
        ..PhoenixConfig::default()
    };
    Config::new(format!("ws://127.0.0.1:{port}"))
        .with_phoenix(options)
        .with_reconnect_delays(ms(20), ms(200))
        .with_connect_timeout(Duration::from_secs(5))
}

fn client(config: Config) -> Client {
    Client::builder(config)
        .token_provider(|| async { Ok::<_, TokenError>(Token::new("good")) })
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// One client's view of one room's presence roster, kept from its presence events.
struct Roster {
    events: EventStream,
    room: String,
    members: Vec<String>,
}

impl Roster {
    fn of(client: &Client, room: &str) -> Self {
        Self { events: client.events(), room: room.to_owned(), members: Vec::new() }
    }

    /// Reads presence events until the roster is exactly `who` (in any order).
    async fn becomes(&mut self, who: &[&str]) {
        let mut want: Vec<String> = who.iter().map(|s| (*s).to_owned()).collect();
        want.sort();
        let (room, members) = (self.room.clone(), &mut self.members);
        let done = |members: &Vec<String>| {
            let mut now = members.clone();
            now.sort();
            now == want
        };
        if done(members) {
            return;
        }
        wait::event(&mut self.events, &format!("{room}'s roster to be {who:?}"), |e| {
            match e {
                Event::Presence(PresenceChange::Synced { room: r, members: list })
                    if *r == room =>
                {
                    *members = list.iter().map(|m| m.user_id.clone()).collect();
                }
                Event::Presence(PresenceChange::Joined { room: r, member }) if *r == room => {
                    members.retain(|u| *u != member.user_id);
                    members.push(member.user_id.clone());
                }
                Event::Presence(PresenceChange::Left { room: r, user_id, .. }) if *r == room => {
                    members.retain(|u| u != user_id);
                }
                _ => {}
            }
            done(members)
        })
        .await;
    }
}

async fn joins_of(server: &NodeServer, topic: &str, user: &str) -> usize {
    let sockets: Vec<String> = server
        .reports_of("connect")
        .into_iter()
        .filter(|r| r["user"] == user)
        .filter_map(|r| r["socket"].as_str().map(str::to_owned))
        .collect();
    server
        .reports_of("join")
        .into_iter()
        .filter(|r| r["topic"] == topic && r["status"] == "ok")
        .filter(|r| r["socket"].as_str().is_some_and(|s| sockets.iter().any(|x| x == s)))
        .count()
}

#[tokio::test]
async fn joins_pushes_and_replies_work_against_the_server() {
    let server = NodeServer::start_phoenix(&["--token", "good"]).await;
    let client = client(phoenix(server.port(), "ann"));
    client.connect().await.unwrap_or_else(|e| panic!("{e}"));
    let reply = client
        .join_with("room:lobby", json!({"hello": "world"}))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(reply, json!({}));
    let ping = OutgoingMessage::new("ping", json!({"n": 1})).in_namespace("room:lobby");
    let answer = client.send_with_ack(ping, None).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(answer.data, vec![json!({"n": 1})]);
    let nack = OutgoingMessage::new("nack", json!({"why": "no"})).in_namespace("room:lobby");
    let refused = client.send_with_ack(nack, None).await.err();
    let refused = refused.unwrap_or_else(|| panic!("an error reply refuses the ack"));
    assert_eq!(refused.kind(), ErrorKind::Refused);
    assert_eq!(refused.response(), Some(&json!({"why": "no"})), "the server's answer, to act on");
    let forbidden = client.join("room:forbidden").await.err();
    let forbidden = forbidden.unwrap_or_else(|| panic!("the join is refused"));
    assert_eq!(forbidden.kind(), ErrorKind::Refused);
    assert_eq!(forbidden.response(), Some(&json!({"reason": "unauthorized"})));
    // A binary push comes back as binary.
    let bytes = OutgoingMessage::bytes("echo_binary", vec![1, 2, 3]).in_namespace("room:lobby");
    let answer = client.send_with_ack(bytes, None).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(answer.binary, vec![vec![1, 2, 3]]);
}

#[tokio::test]
async fn a_bad_token_is_refused_at_the_upgrade_without_a_retry_storm() {
    let server = NodeServer::start_phoenix(&["--token", "good"]).await;
    let client = Client::builder(phoenix(server.port(), "ann"))
        .token_provider(|| async { Ok::<_, TokenError>(Token::new("bad")) })
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let error = client.connect().await.err();
    assert!(error.is_some(), "connect fails");
    let state =
        wait::state(&client, "failed", |s| matches!(s, ConnectionState::Failed { .. })).await;
    assert!(matches!(state, ConnectionState::Failed { reason: FailureReason::AuthRejected(_) }));
    server.wait_for("the 403", |r| r.iter().any(|x| x["event"] == "refused")).await;
    let refusals = server.reports_of("refused").len();
    assert!(refusals <= 2, "{refusals} upgrades refused: no retry storm");
}

#[tokio::test]
async fn channels_are_rejoined_and_presence_converges_after_a_cut() {
    let server = NodeServer::start_phoenix(&["--token", "good"]).await;
    let proxy = FaultProxy::start(server.addr()).await.unwrap_or_else(|e| panic!("{e}"));
    let ann = client(phoenix(proxy.addr().port(), "ann"));
    let bob = client(phoenix(server.port(), "bob"));
    let (mut ann_sees, mut bob_sees) =
        (Roster::of(&ann, "room:lobby"), Roster::of(&bob, "room:lobby"));
    let mut ann_events = ann.events();
    for c in [&ann, &bob] {
        c.connect().await.unwrap_or_else(|e| panic!("{e}"));
        c.join_with("room:lobby", json!({"v": 1})).await.unwrap_or_else(|e| panic!("{e}"));
    }
    bob_sees.becomes(&["ann", "bob"]).await;
    ann_sees.becomes(&["ann", "bob"]).await;
    // Ann's link is cut: bob sees her go, then come back once she has rejoined.
    proxy.cut();
    bob_sees.becomes(&["bob"]).await;
    wait::event(
        &mut ann_events,
        "ann rejoined",
        |e| matches!(e, Event::RoomJoined { room } if room == "room:lobby"),
    )
    .await;
    bob_sees.becomes(&["ann", "bob"]).await;
    ann_sees.becomes(&["ann", "bob"]).await;
    assert_eq!(joins_of(&server, "room:lobby", "ann").await, 2);
    // The rejoin carried the payload again.
    let payloads: Vec<Value> = server
        .reports_of("received")
        .into_iter()
        .filter(|r| r["name"] == "phx_join" && r["topic"] == "room:lobby")
        .map(|r| r["payload"].clone())
        .collect();
    assert!(payloads.iter().all(|p| *p == json!({"v": 1})), "{payloads:?}");
}

#[tokio::test]
async fn nothing_acknowledged_is_lost_across_cuts_and_a_server_restart() {
    let server = NodeServer::start_phoenix(&["--token", "good"]).await;
    let proxy = FaultProxy::start(server.addr()).await.unwrap_or_else(|e| panic!("{e}"));
    let config = phoenix(proxy.addr().port(), "ann").with_at_least_once(true);
    let client = client(config);
    let mut events = client.events();
    client.connect().await.unwrap_or_else(|e| panic!("{e}"));
    client.join("room:lobby").await.unwrap_or_else(|e| panic!("{e}"));
    let total = 60u64;
    let mut pending = Vec::new();
    let mut server = Some(server);
    for n in 0..total {
        let push = OutgoingMessage::new("ping", json!({"n": n})).in_namespace("room:lobby");
        let options = SendOptions::at_least_once(Some(Duration::from_secs(20)));
        pending.push(client.send_with(push, options).await.unwrap_or_else(|e| panic!("{e}")));
        // A fault every 15 pushes, each while the pushes just made are in flight, and each on
        // a live connection (so that every fault is one more reconnect).
        if n % 15 == 14 && n + 1 < total {
            wait::state(&client, "connected", ConnectionState::is_connected).await;
            if n == 29 {
                // The server restarts on the same port: its channels are gone until rejoined.
                let restarted = server.take().unwrap_or_else(|| panic!("server")).restart().await;
                proxy.set_upstream(restarted.addr());
                server = Some(restarted);
            } else {
                proxy.cut();
            }
            wait::event(&mut events, "the fault", |e| matches!(e, Event::Disconnected { .. }))
                .await;
        }
    }
    let mut answered = Vec::new();
    for ack in pending {
        let reply = ack.wait().await.unwrap_or_else(|e| panic!("an ack failed: {e}"));
        answered.push(reply.data[0]["n"].as_u64().unwrap_or(u64::MAX));
    }
    answered.sort_unstable();
    assert_eq!(answered, (0..total).collect::<Vec<_>>(), "every push answered");
    let stats = client.stats().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((stats.acked, stats.ack_failed, stats.dropped), (total, 0, 0));
    assert_eq!(stats.connect_count, 4, "reconnected after two cuts and a restart: {stats:?}");
}

#[tokio::test]
async fn a_blackholed_link_is_declared_dead_within_interval_plus_timeout() {
    let server = NodeServer::start_phoenix(&["--token", "good"]).await;
    let proxy = FaultProxy::start(server.addr()).await.unwrap_or_else(|e| panic!("{e}"));
    let (interval, timeout) = (ms(300), ms(500));
    let client = client(phoenix(proxy.addr().port(), "ann").with_heartbeat(interval, timeout));
    let mut events = client.events();
    client.connect().await.unwrap_or_else(|e| panic!("{e}"));
    client.join("room:lobby").await.unwrap_or_else(|e| panic!("{e}"));
    // Heartbeats on topic "phoenix" are answered, and give latency figures.
    server.wait_for("a heartbeat", |r| r.iter().any(|x| x["event"] == "heartbeat")).await;
    let probe = client.clone();
    wait::until_async("a latency sample", || {
        let probe = probe.clone();
        async move { probe.stats().await.map(|s| s.latency.samples >= 1).unwrap_or(false) }
    })
    .await;
    proxy.set_mode(Mode::Blackhole);
    let blackholed_at = Instant::now();
    let lost =
        wait::event(&mut events, "the dead link", |e| matches!(e, Event::Disconnected { .. }))
            .await;
    let noticed_after = blackholed_at.elapsed();
    assert_eq!(
        lost,
        Event::Disconnected { reason: DisconnectReason::HeartbeatTimeout, will_reconnect: true }
    );
    // interval + timeout, plus scheduling slack for a loaded CI machine.
    assert!(noticed_after <= interval + timeout + ms(700), "noticed after {noticed_after:?}");
    proxy.set_mode(Mode::Pass);
    wait::event(
        &mut events,
        "the channel back",
        |e| matches!(e, Event::RoomJoined { room } if room == "room:lobby"),
    )
    .await;
}

#[tokio::test]
async fn a_crashed_channel_is_rejoined_on_the_same_socket_and_a_closed_one_is_not() {
    let mut server = NodeServer::start_phoenix(&["--token", "good"]).await;
    let client =
        client(phoenix(server.port(), "ann").with_rejoin_backoff(tether_core::BackoffPolicy {
            min_delay: ms(50),
            max_delay: ms(200),
            ..tether_core::BackoffPolicy::default()
        }));
    let mut events = client.events();
    client.connect().await.unwrap_or_else(|e| panic!("{e}"));
    client.join("room:crash").await.unwrap_or_else(|e| panic!("{e}"));
    client.join("room:close").await.unwrap_or_else(|e| panic!("{e}"));
    server.command(json!({"cmd": "crash", "topic": "room:crash"})).await;
    wait::event(
        &mut events,
        "the crash",
        |e| matches!(e, Event::RoomError { room, .. } if room == "room:crash"),
    )
    .await;
    wait::event(
        &mut events,
        "the rejoin",
        |e| matches!(e, Event::RoomJoined { room } if room == "room:crash"),
    )
    .await;
    assert_eq!(server.reports_of("connect").len(), 1, "on the same socket");
    server.command(json!({"cmd": "stop", "topic": "room:close"})).await;
    wait::event(
        &mut events,
        "the close",
        |e| matches!(e, Event::RoomClosed { room, .. } if room == "room:close"),
    )
    .await;
    // Pushes to a closed channel are refused; it is not rejoined after a reconnect.
    let push = OutgoingMessage::new("ping", json!({})).in_namespace("room:close");
    assert!(client.send(push).await.is_err());
    server.command(json!({"cmd": "disconnect"})).await;
    wait::event(
        &mut events,
        "rejoined after the server's disconnect",
        |e| matches!(e, Event::RoomJoined { room } if room == "room:crash"),
    )
    .await;
    let close_joins =
        server.reports_of("join").iter().filter(|r| r["topic"] == "room:close").count();
    assert_eq!(close_joins, 1);
}

#[tokio::test]
async fn supabase_channels_get_changes_broadcasts_and_the_refreshed_token() {
    let mut server = NodeServer::start_phoenix(&[]).await;
    let tokens = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let counter = tokens.clone();
    let config = Config::new(format!("ws://127.0.0.1:{}", server.port()))
        .with_phoenix(PhoenixConfig::supabase("anon-key"))
        .with_reconnect_delays(ms(20), ms(200));
    let client = Client::builder(config)
        .token_provider(move || {
            let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move { Ok::<_, TokenError>(Token::new(format!("jwt-{n}"))) }
        })
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let mut events = client.events();
    client.connect().await.unwrap_or_else(|e| panic!("{e}"));
    let channel = RealtimeChannelConfig {
        broadcast_self: true,
        broadcast_ack: true,
        postgres_changes: vec![PostgresChangesFilter::table("INSERT", "public", "todos")],
        ..RealtimeChannelConfig::default()
    };
    let reply = client
        .join_with("realtime:todos", channel.join_payload())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(reply["postgres_changes"][0]["id"].is_u64(), "{reply}");
    server
        .command(json!({"cmd": "postgres_change", "type": "INSERT", "schema": "public", "table": "todos", "record": {"id": 1, "title": "milk"}}))
        .await;
    let change = wait::event(
        &mut events,
        "the insert",
        |e| matches!(e, Event::Message(m) if m.event == "postgres_changes"),
    )
    .await;
    let Event::Message(message) = change else { unreachable!() };
    let Some(RealtimeEvent::PostgresChange(insert)) = RealtimeEvent::read(&message) else {
        panic!("a change: {message:?}")
    };
    assert_eq!(
        (insert.event_type.as_str(), insert.new["title"].clone()),
        ("INSERT", json!("milk"))
    );
    // Broadcast with ack and self.
    let broadcast = tether_core::supabase_broadcast("realtime:todos", "cursor", json!({"x": 3}));
    client.send_with_ack(broadcast, None).await.unwrap_or_else(|e| panic!("{e}"));
    let echo = wait::event(
        &mut events,
        "our own broadcast",
        |e| matches!(e, Event::Message(m) if m.event == "broadcast"),
    )
    .await;
    let Event::Message(echo) = echo else { unreachable!() };
    assert_eq!(
        RealtimeEvent::read(&echo),
        Some(RealtimeEvent::Broadcast { event: "cursor".into(), payload: json!({"x": 3}) })
    );
    // A refreshed token is pushed to the joined channel.
    client.refresh_token().await.unwrap_or_else(|e| panic!("{e}"));
    server
        .wait_for("the access_token push", |r| {
            r.iter().any(|x| {
                x["event"] == "received"
                    && x["name"] == "access_token"
                    && x["payload"]["access_token"] == "jwt-1"
            })
        })
        .await;
}
