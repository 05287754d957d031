//! The whole client (driver, transport, session) against a real tokio-tungstenite server on a
//! random loopback port, through the fault proxy: cuts, half-open links, latency, resets.

mod support;

use serde_json::json;
use std::time::{Duration, Instant};
use support::fault_proxy::{FaultProxy, Mode};
use support::wait;
use support::ws_server::{Behaviour, WsServer};
use tether_core::{
    Client, Config, ConnectionState, DisconnectReason, ErrorKind, Event, OutgoingMessage,
    RawWebSocketConfig, Token, TokenError,
};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Raw WebSocket config with test-sized timers: reconnects in 20..200 ms.
fn config(url: &str) -> Config {
    Config::new(url)
        .with_raw_websocket(RawWebSocketConfig::default())
        .with_reconnect_delays(ms(20), ms(200))
        .with_heartbeat(Duration::from_secs(5), Duration::from_secs(5))
        .with_connect_timeout(Duration::from_secs(5))
        .with_outbox_limits(10_000, 16 << 20)
}

fn is_reconnecting(s: &ConnectionState) -> bool {
    matches!(s, ConnectionState::Reconnecting { .. })
}

#[tokio::test]
async fn connects_sends_and_receives_the_echo() {
    let server = WsServer::start().await;
    let client = Client::new(config(&server.url())).unwrap_or_else(|e| panic!("{e}"));
    let mut events = client.events();
    client.connect().await.unwrap_or_else(|e| panic!("{e}"));
    client.send(OutgoingMessage::text("hello")).await.unwrap_or_else(|e| panic!("{e}"));
    let echo = wait::event(&mut events, "the echo", |e| matches!(e, Event::Message(_))).await;
    let Event::Message(m) = echo else { unreachable!() };
    assert_eq!(m.data, vec![json!("hello")]);
    let stats = client.stats().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((stats.connect_count, stats.messages_in, stats.messages_out), (1, 1, 1));
}

#[tokio::test]
async fn the_token_reaches_the_server_and_never_the_logs() {
    let server = WsServer::start().await;
    let client = Client::builder(config(&server.url()))
        .token_provider(|| async { Ok::<_, TokenError>(Token::new("sekret-123")) })
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    client.connect().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(server.authorization_headers(), vec![Some("Bearer sekret-123".to_owned())]);
    assert!(!format!("{client:?}").contains("sekret"));
}

#[tokio::test]
async fn reconnects_after_a_cut() {
    let server = WsServer::start().await;
    let proxy = FaultProxy::start(server.addr()).await.unwrap_or_else(|e| panic!("{e}"));
    let client =
        Client::new(config(&format!("ws://{}", proxy.addr()))).unwrap_or_else(|e| panic!("{e}"));
    let mut events = client.events();
    client.connect().await.unwrap_or_else(|e| panic!("{e}"));
    wait::until("the proxy to see the connection", || proxy.connection_count() == 1).await;
    proxy.cut();
    wait::event(&mut events, "the disconnect", |e| {
        matches!(e, Event::Disconnected { will_reconnect: true, .. })
    })
    .await;
    wait::state(&client, "connected again", ConnectionState::is_connected).await;
    let stats = client.stats().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stats.connect_count, 2);
}

#[tokio::test]
async fn a_half_open_connection_is_declared_dead_within_interval_plus_timeout() {
    let server = WsServer::start().await;
    let proxy = FaultProxy::start(server.addr()).await.unwrap_or_else(|e| panic!("{e}"));
    let (interval, timeout) = (ms(300), ms(500));
    let client =
        Client::new(config(&format!("ws://{}", proxy.addr())).with_heartbeat(interval, timeout))
            .unwrap_or_else(|e| panic!("{e}"));
    let mut events = client.events();
    client.connect().await.unwrap_or_else(|e| panic!("{e}"));
    // Writes keep succeeding into the proxy; nothing ever comes back.
    proxy.set_mode(Mode::Blackhole);
    let blackholed_at = Instant::now();
    let lost = wait::event(&mut events, "the dead link to be noticed", |e| {
        matches!(e, Event::Disconnected { .. })
    })
    .await;
    let noticed_after = blackholed_at.elapsed();
    assert_eq!(
        lost,
        Event::Disconnected { reason: DisconnectReason::HeartbeatTimeout, will_reconnect: true }
    );
    // interval + timeout, plus scheduling slack for a loaded CI machine.
    assert!(noticed_after <= interval + timeout + ms(700), "noticed after {noticed_after:?}");
    proxy.set_mode(Mode::Pass);
    wait::state(&client, "connected again", ConnectionState::is_connected).await;
}

/// The driver keeps one timer and moves it to each new deadline; a deadline that comes sooner
/// than the one armed (here the resume probe's, a minute before the next heartbeat) must move
/// it earlier, or a dead link would go unnoticed until the heartbeat.
#[tokio::test]
async fn a_resume_probe_finds_a_dead_link_long_before_the_next_heartbeat() {
    let server = WsServer::start().await;
    let proxy = FaultProxy::start(server.addr()).await.unwrap_or_else(|e| panic!("{e}"));
    let probe_timeout = ms(300);
    let config = config(&format!("ws://{}", proxy.addr()))
        .with_heartbeat(Duration::from_secs(60), Duration::from_secs(60))
        .with_probe_timeout(probe_timeout);
    let client = Client::new(config).unwrap_or_else(|e| panic!("{e}"));
    let mut events = client.events();
    client.connect().await.unwrap_or_else(|e| panic!("{e}"));
    // A turn of the driver with the heartbeat's deadline armed (a minute away).
    client.stats().await.unwrap_or_else(|e| panic!("{e}"));
    proxy.set_mode(Mode::Blackhole);
    let resumed_at = Instant::now();
    client.app_foreground(true).await.unwrap_or_else(|e| panic!("{e}"));
    let lost = wait::event(&mut events, "the probe to find the dead link", |e| {
        matches!(e, Event::Disconnected { .. })
    })
    .await;
    assert_eq!(
        lost,
        Event::Disconnected { reason: DisconnectReason::HeartbeatTimeout, will_reconnect: true }
    );
    // Found by the probe's deadline (the heartbeat's is a minute away; `wait` gives up at 20 s).
    let noticed_after = resumed_at.elapsed();
    assert!(noticed_after >= probe_timeout, "noticed after {noticed_after:?}");
}

#[tokio::test]
async fn measured_round_trip_matches_injected_latency() {
    let server = WsServer::start().await;
    let proxy = FaultProxy::start(server.addr()).await.unwrap_or_else(|e| panic!("{e}"));
    proxy.set_mode(Mode::Latency(ms(100)));
    let client = Client::new(
        config(&format!("ws://{}", proxy.addr())).with_heartbeat(ms(150), Duration::from_secs(2)),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    client.connect().await.unwrap_or_else(|e| panic!("{e}"));
    let probe = client.clone();
    wait::until_async("ten heartbeat samples", || {
        let probe = probe.clone();
        async move { probe.stats().await.map(|s| s.latency.samples >= 10).unwrap_or(false) }
    })
    .await;
    let latency = client.stats().await.unwrap_or_else(|e| panic!("{e}")).latency;
    let p50 = latency.p50.unwrap_or_default();
    // 100 ms each way: a 200 ms round trip, within 20 %.
    assert!(p50 >= ms(160) && p50 <= ms(240), "p50 {p50:?}, {latency:?}");
}

#[tokio::test]
async fn nothing_queued_is_lost_or_duplicated_across_three_cuts() {
    let server = WsServer::start().await;
    let proxy = FaultProxy::start(server.addr()).await.unwrap_or_else(|e| panic!("{e}"));
    let client =
        Client::new(config(&format!("ws://{}", proxy.addr()))).unwrap_or_else(|e| panic!("{e}"));
    client.connect().await.unwrap_or_else(|e| panic!("{e}"));
    let mut next = 0u32;
    for round in 0..3 {
        send_range(&client, &mut next, 50).await;
        let expected = next as usize;
        wait::until("the server to have every message", || server.received().len() >= expected)
            .await;
        proxy.set_mode(Mode::Refuse);
        proxy.cut();
        wait::state(&client, "reconnecting", is_reconnecting).await;
        // Offline: these wait in the outbox.
        send_range(&client, &mut next, 50).await;
        let queued = client.stats().await.unwrap_or_else(|e| panic!("{e}")).queued;
        assert_eq!(queued, 50, "round {round}");
        proxy.set_mode(Mode::Pass);
        wait::state(&client, "connected again", ConnectionState::is_connected).await;
    }
    let total = next as usize;
    wait::until("the server to have every message", || server.received().len() >= total).await;
    let expected: Vec<String> = (0..next).map(|n| format!("n{n}")).collect();
    assert_eq!(server.received(), expected, "in order, each exactly once");
}

async fn send_range(client: &Client, next: &mut u32, count: u32) {
    for n in *next..*next + count {
        client.send(OutgoingMessage::text(format!("n{n}"))).await.unwrap_or_else(|e| panic!("{e}"));
    }
    *next += count;
}

#[tokio::test]
async fn survives_the_server_restarting_on_the_same_port() {
    let server = WsServer::start().await;
    let addr = server.addr();
    let client = Client::new(config(&server.url())).unwrap_or_else(|e| panic!("{e}"));
    client.connect().await.unwrap_or_else(|e| panic!("{e}"));
    drop(server);
    wait::state(&client, "reconnecting", is_reconnecting).await;
    let restarted = WsServer::start_with(Behaviour::Echo, addr).await;
    wait::state(&client, "connected to the new server", ConnectionState::is_connected).await;
    client.send(OutgoingMessage::text("after")).await.unwrap_or_else(|e| panic!("{e}"));
    wait::until("the new server to receive", || restarted.received() == vec!["after".to_owned()])
        .await;
}

#[tokio::test]
async fn a_server_that_closes_during_the_handshake_is_retried_not_fatal() {
    let server = WsServer::start_with(
        Behaviour::CloseDuringHandshake,
        "127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}")),
    )
    .await;
    let client = Client::new(config(&server.url())).unwrap_or_else(|e| panic!("{e}"));
    let mut events = client.events();
    client.start().await.unwrap_or_else(|e| panic!("{e}"));
    wait::event(
        &mut events,
        "a transport error",
        |e| matches!(e, Event::Error(err) if err.kind() == ErrorKind::Transport),
    )
    .await;
    wait::until("several attempts", || server.accepted() >= 3).await;
    assert!(!client.state().borrow().is_terminal());
}

#[tokio::test]
async fn a_frame_over_the_limit_is_an_error_and_a_reconnect() {
    let server = WsServer::start_with(
        Behaviour::OversizedReply(256 * 1024),
        "127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}")),
    )
    .await;
    let client = Client::new(config(&server.url()).with_size_limits(64 * 1024, 64 * 1024))
        .unwrap_or_else(|e| panic!("{e}"));
    let mut events = client.events();
    client.connect().await.unwrap_or_else(|e| panic!("{e}"));
    client.send(OutgoingMessage::text("trigger")).await.unwrap_or_else(|e| panic!("{e}"));
    let error = wait::event(&mut events, "the size error", |e| matches!(e, Event::Error(_))).await;
    let Event::Error(error) = error else { unreachable!() };
    assert!(
        error.message().contains("size")
            || error.message().contains("limit")
            || error.message().contains("large"),
        "{error}"
    );
    wait::event(&mut events, "the reconnect", |e| matches!(e, Event::Connected { .. })).await;
}

#[tokio::test]
async fn bad_config_is_an_error_not_a_panic() {
    for bad in [
        Config::new("not a url"),
        Config::new("ftp://x"),
        Config::new("ws://h").with_heartbeat(Duration::ZERO, ms(1)),
    ] {
        let error =
            Client::new(bad).map(|_| ()).err().unwrap_or_else(|| panic!("accepted a bad config"));
        assert_eq!(error.kind(), ErrorKind::InvalidConfig, "{error}");
    }
}

#[tokio::test]
async fn dropping_the_last_handle_closes_the_connection() {
    let server = WsServer::start().await;
    let client = Client::new(config(&server.url())).unwrap_or_else(|e| panic!("{e}"));
    client.connect().await.unwrap_or_else(|e| panic!("{e}"));
    let other = client.clone();
    drop(client);
    other.send(OutgoingMessage::text("still here")).await.unwrap_or_else(|e| panic!("{e}"));
    wait::until("the message", || server.received().len() == 1).await;
    assert_eq!(server.open_connections(), 1, "a clone keeps it open");
    drop(other);
    wait::until("the server to see the close", || server.open_connections() == 0).await;
}

#[tokio::test]
async fn a_reset_is_survived_like_a_cut() {
    let server = WsServer::start().await;
    let proxy = FaultProxy::start(server.addr()).await.unwrap_or_else(|e| panic!("{e}"));
    let client =
        Client::new(config(&format!("ws://{}", proxy.addr()))).unwrap_or_else(|e| panic!("{e}"));
    let mut events = client.events();
    client.connect().await.unwrap_or_else(|e| panic!("{e}"));
    wait::until("the proxy to see the connection", || proxy.connection_count() == 1).await;
    proxy.reset();
    wait::event(&mut events, "the disconnect", |e| matches!(e, Event::Disconnected { .. })).await;
    wait::state(&client, "connected again", ConnectionState::is_connected).await;
}

/// `try_send` never waits and never loses: on a full lane the message comes back. The test runs
/// on one thread, so the driver cannot drain the lane while the loop fills it, and the refusal
/// is certain, not a race.
#[tokio::test(flavor = "current_thread")]
async fn try_send_gives_the_message_back_when_the_lane_is_full_and_loses_nothing() {
    let server = WsServer::start().await;
    let client = Client::new(config(&server.url())).unwrap_or_else(|e| panic!("{e}"));
    client.connect().await.unwrap_or_else(|e| panic!("{e}"));
    let total = 3_000;
    let mut refused = 0;
    for n in 0..total {
        let mut message = OutgoingMessage::text(format!("t{n}"));
        loop {
            match client.try_send(message) {
                Ok(()) => break,
                Err(busy) => {
                    assert_eq!(busy.error().kind(), ErrorKind::QueueFull, "{busy}");
                    message = busy.into_message();
                    assert_eq!(message.data, vec![json!(format!("t{n}"))], "the same message back");
                    refused += 1;
                    tokio::task::yield_now().await;
                }
            }
        }
    }
    assert!(refused > 0, "3,000 sends without yielding must fill the lane");
    let expected: Vec<String> = (0..total).map(|n| format!("t{n}")).collect();
    wait::until("every message, once and in order", || server.received() == expected).await;
    client.disconnect().await.unwrap_or_else(|e| panic!("{e}"));
    let closed = client.try_send(OutgoingMessage::text("late")).err();
    assert_eq!(closed.as_ref().map(|e| e.error().kind()), Some(ErrorKind::Closed));
    assert_eq!(closed.map(|e| e.into_message().data), Some(vec![json!("late")]));
}
