//! Engine.IO long-polling and the upgrade to a WebSocket against the official Node server
//! (started per test on a random loopback port): polling only, polling then upgrade, an upgrade
//! refused by a proxy in the way (the client stays on polling), the WebSocket-then-polling
//! fallback, and the server's `maxPayload` as the send limit. Every guarantee of the engine
//! (acks both ways, binary, rooms, recovery, the outbox, stats) is checked over polling.

mod support;

use serde_json::json;
use std::time::Duration;
use support::fault_proxy::{FaultProxy, Mode};
use support::node_server::NodeServer;
use support::socketio::{
    ack_echo_two_arguments, answer_the_servers_question, binary_both_ways, client,
    connected_in_room_r, message, recovered_ticks, ticks_while_away, transport, whoami,
};
use support::wait;
use tether_core::{Config, Event, OutgoingMessage, TransportKind, Transports};

fn config(url: &str, transports: Transports) -> Config {
    Config::new(url)
        .with_transports(transports)
        .with_reconnect_delays(Duration::from_millis(20), Duration::from_millis(200))
        .with_connect_timeout(Duration::from_secs(5))
        .with_proxy_from_environment(false)
}

#[tokio::test]
async fn polling_only_carries_acks_binary_rooms_and_server_acks() {
    let mut server = NodeServer::start(&["--transports", "polling"]).await;
    let client = client(config(&server.url(), Transports::Polling));
    let mut events = client.events();
    client.connect().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(whoami(&client).await["transport"], "polling");

    ack_echo_two_arguments(&client).await;

    // Binary travels as `b` + base64 over polling.
    binary_both_ways(&client, &mut events).await;

    client.join("estimate-1").await.unwrap_or_else(|e| panic!("{e}"));
    server
        .command(json!({"cmd": "emit", "room": "estimate-1", "event": "priced", "data": {"n": 1}}))
        .await;
    assert_eq!(message(&mut events, "priced").await.data, vec![json!({"n": 1})]);

    answer_the_servers_question(&client, &mut events).await;

    let stats = client.stats().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stats.transport, Some(TransportKind::Polling));
    assert!(stats.latency.samples > 0, "the POST round trips are the latency samples");
    assert!(stats.latency.smoothed.is_some());
    assert_eq!((stats.acked, stats.ack_failed), (4, 0), "whoami, two ack-echo, ask-client");
    assert!(
        server.reports_of("engine_error").is_empty(),
        "{:?}",
        server.reports_of("engine_error")
    );
}

#[tokio::test]
async fn polling_recovers_missed_events_and_flushes_the_outbox_after_a_cut() {
    // A cut between two GETs leaves the server no request to see fail: it notices through its
    // ping timeout, short here.
    let args = ["--transports", "polling", "--recovery-ms", "20000", "--ping-interval", "300"];
    let mut server = NodeServer::start(&[&args[..], &["--ping-timeout", "300"]].concat()).await;
    let proxy = FaultProxy::start(server.addr()).await.unwrap_or_else(|e| panic!("{e}"));
    let client = client(config(&format!("http://{}", proxy.addr()), Transports::Polling));
    let mut events = client.events();
    connected_in_room_r(&mut server, &client, &mut events).await;

    ticks_while_away(&mut server, &proxy, 3).await;
    wait::state(&client, "the loss noticed", |s| !s.is_connected()).await;
    client.emit("offline-note", json!({"n": 1})).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(client.stats().await.map(|s| s.queued).unwrap_or(0), 1);
    proxy.set_mode(Mode::Pass);

    recovered_ticks(&mut events, 3).await;
    server.wait_for("the queued note", |r| r.iter().any(|x| x["name"] == "offline-note")).await;
    assert_eq!(server.received("offline-note").len(), 1);
    assert_eq!(server.received("join-room").len(), 1, "recovered: the room was kept");
}

#[tokio::test]
async fn polling_then_upgrade_moves_to_a_websocket_when_offered() {
    let server = NodeServer::start(&[]).await;
    let client = client(config(&server.url(), Transports::PollingThenUpgrade));
    let mut events = client.events();
    client.connect().await.unwrap_or_else(|e| panic!("{e}"));
    server.wait_for("the connection", |r| r.iter().any(|x| x["event"] == "connection")).await;
    let connected = server.reports_of("connection");
    assert_eq!(connected[0]["transport"], "polling", "the handshake went over polling");
    server.wait_for("the upgrade", |r| r.iter().any(|x| x["event"] == "upgrade")).await;
    transport(&client, TransportKind::WebSocket).await;
    assert_eq!(whoami(&client).await["transport"], "websocket");
    let bytes = vec![1u8, 2, 3];
    client
        .send(OutgoingMessage::new("echo", json!("after")).with_attachment(bytes.clone()))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(message(&mut events, "echo").await.binary, vec![bytes]);
    assert_eq!(server.reports_of("connection").len(), 1, "one session, upgraded in place");
}

#[tokio::test]
async fn a_refused_upgrade_stays_on_polling_and_keeps_every_guarantee() {
    let mut server = NodeServer::start(&[]).await;
    let proxy = FaultProxy::start(server.addr()).await.unwrap_or_else(|e| panic!("{e}"));
    proxy.refuse_websocket_upgrades(true);
    let client =
        client(config(&format!("http://{}", proxy.addr()), Transports::PollingThenUpgrade));
    let mut events = client.events();
    client.connect().await.unwrap_or_else(|e| panic!("{e}"));
    client.join("r").await.unwrap_or_else(|e| panic!("{e}"));
    wait::until("the upgrade refused", || proxy.refused_upgrades() >= 1).await;
    assert_eq!(whoami(&client).await["transport"], "polling");
    let reply = client.emit_with_ack("ack-echo", json!("still here")).await;
    assert_eq!(reply.map(|r| r.data).ok(), Some(vec![json!("still here")]));

    // A lost connection comes back on polling again, with the room re-joined and the queued
    // message delivered.
    proxy.set_mode(Mode::Refuse);
    proxy.cut();
    wait::state(&client, "the loss noticed", |s| !s.is_connected()).await;
    client.emit("offline-note", json!(1)).await.unwrap_or_else(|e| panic!("{e}"));
    proxy.set_mode(Mode::Pass);
    wait::event(&mut events, "connected again", |e| matches!(e, Event::Connected { .. })).await;
    server
        .wait_for("the room re-joined", |r| {
            r.iter().filter(|x| x["name"] == "join-room").count() == 2
        })
        .await;
    server.wait_for("the queued note", |r| r.iter().any(|x| x["name"] == "offline-note")).await;
    server.command(json!({"cmd": "emit", "room": "r", "event": "tick", "data": 1})).await;
    assert_eq!(message(&mut events, "tick").await.data, vec![json!(1)]);
    assert!(server.reports_of("upgrade").is_empty(), "never upgraded");
    let stats = client.stats().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stats.transport, Some(TransportKind::Polling));
}

#[tokio::test]
async fn websocket_falls_back_to_polling_and_returns_when_websockets_work_again() {
    let server = NodeServer::start(&[]).await;
    let proxy = FaultProxy::start(server.addr()).await.unwrap_or_else(|e| panic!("{e}"));
    proxy.refuse_websocket_upgrades(true);
    let transports = Transports::WebSocketThenPolling { after_failures: 2 };
    let client = client(config(&format!("ws://{}", proxy.addr()), transports));
    let mut events = client.events();
    client.connect().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(proxy.refused_upgrades() >= 2, "two WebSocket attempts before the fallback");
    assert_eq!(whoami(&client).await["transport"], "polling");

    proxy.refuse_websocket_upgrades(false);
    proxy.cut();
    wait::event(&mut events, "connected again", |e| matches!(e, Event::Connected { .. })).await;
    server
        .wait_for("an upgrade now that WebSockets pass", |r| {
            r.iter().any(|x| x["event"] == "upgrade")
        })
        .await;
    transport(&client, TransportKind::WebSocket).await;
}

#[tokio::test]
async fn the_servers_max_payload_is_the_send_limit_on_both_transports() {
    // The default server: maxPayload 1,000,000, below the client's own 1 MiB.
    let server = NodeServer::start(&[]).await;
    let ws = client(config(&server.url(), Transports::WebSocket));
    let mut events = ws.events();
    ws.connect().await.unwrap_or_else(|e| panic!("{e}"));
    let over = ws.emit("echo", json!("x".repeat(1_000_000))).await;
    assert!(matches!(over, Err(ref e) if e.kind() == tether_core::ErrorKind::TooLarge), "{over:?}");
    let refused = OutgoingMessage::new("echo", json!("x".repeat(1_000_000)));
    let direct = ws.send_with(refused, Default::default()).await.err().map(|e| e.to_string());
    assert!(direct.is_some_and(|e| e.contains("1000000")), "the limit is the server's");
    ws.emit("echo", json!("y".repeat(999_000))).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(message(&mut events, "echo").await.data[0].as_str().map(str::len), Some(999_000));
    assert!(ws.state().borrow().is_connected(), "the connection survived");

    // Over polling with a small maxPayload: binary costs its base64 form, and many small sends
    // are batched into POSTs the server accepts.
    let small = NodeServer::start(&["--transports", "polling", "--max-payload", "2000"]).await;
    let polling = client(config(&small.url(), Transports::Polling));
    polling.connect().await.unwrap_or_else(|e| panic!("{e}"));
    let blob = OutgoingMessage::new("echo", json!(1)).with_attachment(vec![0; 1600]);
    let refused = polling.send(blob).await;
    assert!(
        matches!(&refused, Err(e) if e.kind() == tether_core::ErrorKind::TooLarge),
        "{refused:?}"
    );
    for n in 0..40 {
        polling
            .emit_nowait("note", json!({"n": n, "pad": "p".repeat(400)}))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    small.wait_for("every note", |r| r.iter().filter(|x| x["name"] == "note").count() == 40).await;
    assert!(small.reports_of("disconnect").is_empty(), "{:?}", small.reports_of("disconnect"));
    assert!(polling.state().borrow().is_connected());
}

#[tokio::test]
async fn configured_headers_reach_every_handshake() {
    let server = NodeServer::start(&[]).await;
    for transports in [Transports::WebSocket, Transports::Polling] {
        let client = client(config(&server.url(), transports).with_header("X-Tenant", "acme"));
        client.connect().await.unwrap_or_else(|e| panic!("{e}"));
        client.disconnect().await.unwrap_or_else(|e| panic!("{e}"));
    }
    server
        .wait_for("both connections", |r| {
            r.iter().filter(|x| x["event"] == "connection").count() == 2
        })
        .await;
    let connections = server.reports_of("connection");
    for connection in connections {
        assert_eq!(connection["headers"]["x-tenant"], "acme", "{connection}");
    }
}
