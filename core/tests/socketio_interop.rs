//! Socket.IO v5 against the official Node server (socket.io 4.8, pinned in
//! tests/servers/node/package-lock.json), started per test on a random loopback port.

mod support;

use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::fault_proxy::{FaultProxy, Mode};
use support::node_server::{NodeServer, RedisServer};
use support::socketio::{
    ack_echo_two_arguments, answer_the_servers_question, binary_both_ways, client,
    connected_in_room_r, message, recovered_ticks, ticks_while_away,
};
use support::wait;
use tether_core::model::TokenFuture;
use tether_core::{
    Client, Config, ConnectionState, DisconnectReason, ErrorKind, Event, FailureReason,
    OutgoingMessage, SocketIoConfig, Token, TokenError, TokenProvider,
};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn config(url: &str) -> Config {
    Config::new(url)
        .with_reconnect_delays(ms(20), ms(200))
        .with_connect_timeout(Duration::from_secs(5))
}

fn with_token(config: Config, token: &'static str) -> Result<Client, tether_core::Error> {
    Client::builder(config)
        .token_provider(move || async move { Ok::<_, TokenError>(Token::new(token)) })
        .build()
}

#[tokio::test]
async fn connects_with_a_token_in_the_auth_payload() {
    let server = NodeServer::start(&["--token", "t0k"]).await;
    let client = with_token(config(&server.url()), "t0k").unwrap_or_else(|e| panic!("{e}"));
    client.connect().await.unwrap_or_else(|e| panic!("{e}"));
    let reply = client.emit_with_ack("whoami", json!({})).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(reply.data[0]["auth"]["token"], "<redacted>", "{reply:?}");
    assert_eq!(server.reports_of("connection").len(), 1);
}

/// A provider that hands out `first`, and `after_rejection` when told a token was refused,
/// recording what it was told.
struct Rotating {
    first: &'static str,
    after_rejection: &'static str,
    refused: Arc<Mutex<Vec<String>>>,
}

impl TokenProvider for Rotating {
    fn token(&self) -> TokenFuture {
        let token = Token::new(self.first);
        Box::pin(async move { Ok(token) })
    }

    fn token_after_rejection(&self, rejected: Token) -> TokenFuture {
        if let Ok(mut refused) = self.refused.lock() {
            refused.push(rejected.expose().to_owned());
        }
        let token = Token::new(self.after_rejection);
        Box::pin(async move { Ok(token) })
    }
}

fn rotating(
    first: &'static str,
    after_rejection: &'static str,
) -> (Rotating, Arc<Mutex<Vec<String>>>) {
    let refused = Arc::new(Mutex::new(Vec::new()));
    (Rotating { first, after_rejection, refused: refused.clone() }, refused)
}

#[tokio::test]
async fn a_refused_token_is_replaced_once_and_the_client_connects() {
    let server = NodeServer::start(&["--token", "fresh"]).await;
    let (provider, refused) = rotating("expired", "fresh");
    let client = Client::builder(config(&server.url()))
        .token_provider(provider)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    client.connect().await.unwrap_or_else(|e| panic!("{e}"));
    server.wait_for("the refusal", |r| r.iter().any(|x| x["event"] == "rejected")).await;
    assert_eq!(server.reports_of("rejected").len(), 1);
    assert_eq!(*refused.lock().unwrap_or_else(|e| e.into_inner()), vec!["expired".to_owned()]);
    let reply = client.emit_with_ack("whoami", json!({})).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(reply.data[0]["auth"]["token"], "<redacted>");
}

#[tokio::test]
async fn an_auth_rejection_is_retried_once_then_failed_without_a_retry_storm() {
    let server = NodeServer::start(&["--token", "right"]).await;
    let (provider, refused) = rotating("wrong", "still-wrong");
    let client = Client::builder(config(&server.url()))
        .token_provider(provider)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let error =
        client.connect().await.err().unwrap_or_else(|| panic!("connected with a wrong token"));
    assert_eq!(error.kind(), ErrorKind::AuthRejected, "{error}");
    assert_eq!(
        *client.state().borrow(),
        ConnectionState::Failed { reason: FailureReason::AuthRejected("unauthorized".into()) }
    );
    // Failed: nothing more will be tried, so two reports are all there will be.
    server
        .wait_for("two refusals", |r| r.iter().filter(|x| x["event"] == "rejected").count() >= 2)
        .await;
    assert_eq!(server.reports_of("rejected").len(), 2, "the first try and one retry, no more");
    assert_eq!(*refused.lock().unwrap_or_else(|e| e.into_inner()), vec!["wrong".to_owned()]);
    // A closure provider keeps working: it is simply asked again.
    let closure = with_token(config(&server.url()), "wrong").unwrap_or_else(|e| panic!("{e}"));
    assert!(closure.connect().await.is_err());
    server
        .wait_for("two more", |r| r.iter().filter(|x| x["event"] == "rejected").count() >= 4)
        .await;
    assert_eq!(server.reports_of("rejected").len(), 4);
}

#[tokio::test]
async fn emits_with_and_without_acks() {
    let server = NodeServer::start(&[]).await;
    let client = client(config(&server.url()));
    client.connect().await.unwrap_or_else(|e| panic!("{e}"));
    client.emit("note", json!({"n": 1})).await.unwrap_or_else(|e| panic!("{e}"));
    ack_echo_two_arguments(&client).await;
    server
        .wait_for("the note", |r| r.iter().any(|x| x["name"] == "note" && x["ack"] == false))
        .await;
    assert_eq!(server.received("note"), vec![json!([{"n": 1}])]);
}

#[tokio::test]
async fn answers_a_server_ack_request() {
    let server = NodeServer::start(&[]).await;
    let client = client(config(&server.url()));
    let mut events = client.events();
    client.connect().await.unwrap_or_else(|e| panic!("{e}"));
    answer_the_servers_question(&client, &mut events).await;
}

#[tokio::test]
async fn binary_payloads_travel_both_ways() {
    let server = NodeServer::start(&[]).await;
    let client = client(config(&server.url()));
    let mut events = client.events();
    client.connect().await.unwrap_or_else(|e| panic!("{e}"));
    binary_both_ways(&client, &mut events).await;
}

#[tokio::test]
async fn several_namespaces_share_one_connection() {
    let server = NodeServer::start(&["--namespaces", "/,/admin"]).await;
    let options = SocketIoConfig {
        namespaces: vec!["/".into(), "/admin".into()],
        ..SocketIoConfig::default()
    };
    let client = client(config(&server.url()).with_socket_io(options));
    client.connect().await.unwrap_or_else(|e| panic!("{e}"));
    let reply = client
        .send_with_ack(OutgoingMessage::new("ack-echo", json!("hi")).in_namespace("/admin"), None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(reply.data, vec![json!("hi")]);
    let namespaces: Vec<Value> =
        server.reports_of("connection").iter().map(|r| r["nsp"].clone()).collect();
    assert_eq!(namespaces.len(), 2);
    assert!(namespaces.contains(&json!("/admin")));
    assert_eq!(server.received("ack-echo")[0], json!(["hi"]));
    assert_eq!(server.reports_of("received").iter().filter(|r| r["nsp"] == "/admin").count(), 1);
}

#[tokio::test]
async fn rooms_are_rejoined_after_a_server_restart() {
    let server = NodeServer::start(&[]).await;
    let client = client(config(&server.url()));
    client.connect().await.unwrap_or_else(|e| panic!("{e}"));
    client.join("estimate-7").await.unwrap_or_else(|e| panic!("{e}"));
    let mut events = client.events();
    let mut server = server.restart().await;
    wait::event(&mut events, "reconnected", |e| matches!(e, Event::Connected { recovered: false }))
        .await;
    wait::event(
        &mut events,
        "the room re-joined",
        |e| matches!(e, Event::RoomJoined { room } if room == "estimate-7"),
    )
    .await;
    server.command(json!({"cmd": "emit", "room": "estimate-7", "event": "pricing-updated", "data": {"amount": 5}})).await;
    let update = message(&mut events, "pricing-updated").await;
    assert_eq!(update.data, vec![json!({"amount": 5})]);
}

#[tokio::test]
async fn a_send_while_the_server_is_down_is_delivered_after_reconnect() {
    let server = NodeServer::start(&[]).await;
    let client = client(config(&server.url()));
    client.connect().await.unwrap_or_else(|e| panic!("{e}"));
    let port = server.port();
    server.stop().await;
    wait::state(&client, "reconnecting", |s| !s.is_connected()).await;
    client.emit("offline-note", json!({"n": 1})).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(client.stats().await.map(|s| s.queued).unwrap_or(0), 1);
    let server = NodeServer::start(&["--port", &port.to_string()]).await;
    server.wait_for("the queued note", |r| r.iter().any(|x| x["name"] == "offline-note")).await;
    assert_eq!(server.received("offline-note").len(), 1);
}

#[tokio::test]
async fn connection_state_recovery_replays_missed_events_once() {
    let mut server = NodeServer::start(&["--recovery-ms", "20000"]).await;
    let proxy = FaultProxy::start(server.addr()).await.unwrap_or_else(|e| panic!("{e}"));
    let client = client(config(&format!("ws://{}", proxy.addr())));
    let mut events = client.events();
    connected_in_room_r(&mut server, &client, &mut events).await;
    // Keep the client away while the server emits.
    ticks_while_away(&mut server, &proxy, 3).await;
    proxy.set_mode(Mode::Pass);
    for tick in recovered_ticks(&mut events, 3).await {
        assert!(tick.offset.is_some());
    }
    server.command(json!({"cmd": "emit", "room": "r", "event": "tick", "data": {"n": 4}})).await;
    assert_eq!(
        message(&mut events, "tick").await.data,
        vec![json!({"n": 4})],
        "each once: no replay twice"
    );
    assert_eq!(server.received("join-room").len(), 1, "recovered: rooms kept, not re-joined");
}

#[tokio::test]
async fn recovery_is_refused_after_the_servers_window() {
    let mut server = NodeServer::start(&["--recovery-ms", "1"]).await;
    let proxy = FaultProxy::start(server.addr()).await.unwrap_or_else(|e| panic!("{e}"));
    let client = client(config(&format!("ws://{}", proxy.addr())));
    let mut events = client.events();
    client.connect().await.unwrap_or_else(|e| panic!("{e}"));
    client.join("r").await.unwrap_or_else(|e| panic!("{e}"));
    server.command(json!({"cmd": "emit", "room": "r", "event": "tick", "data": 0})).await;
    message(&mut events, "tick").await;
    proxy.cut();
    wait::event(&mut events, "a fresh session", |e| {
        matches!(e, Event::Connected { recovered: false })
    })
    .await;
    wait::event(&mut events, "the room re-joined", |e| matches!(e, Event::RoomJoined { .. })).await;
    assert_eq!(server.received("join-room").len(), 2);
}

#[tokio::test]
async fn a_server_side_disconnect_closes_for_good() {
    let server = NodeServer::start(&[]).await;
    let client = client(config(&server.url()));
    let mut events = client.events();
    client.connect().await.unwrap_or_else(|e| panic!("{e}"));
    client.emit("disconnect-me", json!({})).await.unwrap_or_else(|e| panic!("{e}"));
    let closed =
        wait::event(&mut events, "the disconnect", |e| matches!(e, Event::Disconnected { .. }))
            .await;
    assert!(matches!(
        closed,
        Event::Disconnected { reason: DisconnectReason::ServerRequested(_), will_reconnect: false }
    ));
    assert_eq!(*client.state().borrow(), ConnectionState::Closed);
    assert_eq!(server.reports_of("connection").len(), 1);
}

#[tokio::test]
async fn a_server_that_stops_answering_is_dead_after_ping_interval_plus_timeout() {
    let server = NodeServer::start(&["--ping-interval", "200", "--ping-timeout", "300"]).await;
    let proxy = FaultProxy::start(server.addr()).await.unwrap_or_else(|e| panic!("{e}"));
    // Our own heartbeat is slow here, so only Engine.IO's rule can catch the silence.
    let client = client(
        config(&format!("ws://{}", proxy.addr()))
            .with_heartbeat(Duration::from_secs(60), Duration::from_secs(60)),
    );
    let mut events = client.events();
    client.connect().await.unwrap_or_else(|e| panic!("{e}"));
    proxy.set_mode(Mode::Blackhole);
    let started = std::time::Instant::now();
    let lost = wait::event(&mut events, "the silence to be noticed", |e| {
        matches!(e, Event::Disconnected { .. })
    })
    .await;
    assert_eq!(
        lost,
        Event::Disconnected { reason: DisconnectReason::HeartbeatTimeout, will_reconnect: true }
    );
    assert!(started.elapsed() < ms(500 + 1500), "{:?}", started.elapsed());
    proxy.set_mode(Mode::Pass);
    wait::state(&client, "connected again", ConnectionState::is_connected).await;
}

#[tokio::test]
async fn back_in_the_foreground_a_dead_socket_is_found_by_the_probe_not_the_heartbeat() {
    let server = NodeServer::start(&[]).await;
    let proxy = FaultProxy::start(server.addr()).await.unwrap_or_else(|e| panic!("{e}"));
    // Heartbeats (ours: 2 minutes; Engine.IO's: 45 s) would take longer than the test waits.
    let client = client(
        config(&format!("ws://{}", proxy.addr()))
            .with_heartbeat(Duration::from_secs(120), Duration::from_secs(120))
            .with_probe_timeout(ms(500)),
    );
    let mut events = client.events();
    client.connect().await.unwrap_or_else(|e| panic!("{e}"));
    // The app was suspended and its socket died meanwhile (nothing answers, nothing closes).
    proxy.set_mode(Mode::Blackhole);
    client.app_foreground(true).await.unwrap_or_else(|e| panic!("{e}"));
    let lost = wait::event(&mut events, "the probe to give up", |e| {
        matches!(e, Event::Disconnected { .. } | Event::Error(_))
    })
    .await;
    assert!(
        matches!(&lost, Event::Error(e) if e.message().contains("probe")),
        "the probe's own timeout ended it: {lost:?}"
    );
    proxy.set_mode(Mode::Pass);
    wait::state(&client, "connected again", ConnectionState::is_connected).await;
}

#[tokio::test]
async fn at_least_once_resends_after_reconnect_and_settles_once() {
    let server = NodeServer::start(&[]).await;
    let proxy = FaultProxy::start(server.addr()).await.unwrap_or_else(|e| panic!("{e}"));
    let client = client(config(&format!("ws://{}", proxy.addr())).with_heartbeat(ms(200), ms(300)));
    client.connect().await.unwrap_or_else(|e| panic!("{e}"));
    proxy.set_mode(Mode::Blackhole);
    let sender = client.clone();
    let reliable = tokio::spawn(async move {
        sender
            .send_reliable(
                OutgoingMessage::new("ack-echo", json!({"messageId": "m-1"})),
                Some(Duration::from_secs(15)),
            )
            .await
    });
    wait::state(&client, "the dead link noticed", |s| !s.is_connected()).await;
    proxy.set_mode(Mode::Pass);
    let reply = reliable.await.unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(reply.data, vec![json!({"messageId": "m-1"})]);
    let stats = client.stats().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((stats.acked, stats.ack_failed), (1, 0));
}

#[tokio::test]
async fn a_broadcast_crosses_nodes_and_the_client_fails_over_with_its_rooms() {
    let redis = RedisServer::start().await;
    let node_a = NodeServer::start(&["--redis", &redis.url()]).await;
    let mut node_b = NodeServer::start(&["--redis", &redis.url()]).await;
    let client =
        client(config(&node_a.url()).with_fallback_url(node_b.url()).with_failover_after(1));
    let mut events = client.events();
    client.connect().await.unwrap_or_else(|e| panic!("{e}"));
    client.join("company-1").await.unwrap_or_else(|e| panic!("{e}"));
    node_b.command(json!({"cmd": "emit", "room": "company-1", "event": "stock:updated", "data": {"sku": 1}})).await;
    assert_eq!(message(&mut events, "stock:updated").await.data, vec![json!({"sku": 1})]);
    assert!(node_b.reports_of("connection").is_empty(), "the client is on node A");
    node_a.stop().await;
    wait::event(&mut events, "connected to node B", |e| matches!(e, Event::Connected { .. })).await;
    node_b
        .wait_for("the room re-joined on B", |r| r.iter().any(|x| x["name"] == "join-room"))
        .await;
    node_b.command(json!({"cmd": "emit", "room": "company-1", "event": "stock:updated", "data": {"sku": 2}})).await;
    assert_eq!(message(&mut events, "stock:updated").await.data, vec![json!({"sku": 2})]);
}
