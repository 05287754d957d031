//! `wss://` with rustls against a server whose certificate is made at test time (rcgen): a
//! certificate the client has no reason to trust is refused, before a single byte of the
//! WebSocket upgrade (or a token) reaches the server, and trusted once its CA is configured.
//!
//! What a refused certificate does to the connection: the client keeps retrying with backoff and
//! reports a TLS error on every attempt; it does not go to `Failed`. A certificate error is not
//! fixed by retrying *the same handshake*, but the other end changes: an expired certificate gets
//! renewed, a device clock gets corrected, a captive portal lets the traffic through. Going to
//! `Failed` would leave every client of an app dead after a server's certificate expired, until
//! each user restarted the app. An app that wants to fail fast on a first connect that cannot
//! work sets `retry_initial_connect(false)`: then the first certificate error is `Failed`.

mod support;
#[path = "support/tls_server.rs"]
mod tls_server;

use serde_json::json;
use std::time::Duration;
use support::wait;
use tether_core::{
    Client, Config, ConnectionState, ErrorKind, Event, FailureReason, OutgoingMessage,
    RawWebSocketConfig,
};
use tls_server::{TestPki, TlsEchoServer};

fn config(url: &str) -> Config {
    Config::new(url)
        .with_raw_websocket(RawWebSocketConfig::default())
        .with_reconnect_delays(Duration::from_millis(20), Duration::from_millis(100))
        .with_connect_timeout(Duration::from_secs(5))
}

fn client(config: Config) -> Client {
    Client::new(config).unwrap_or_else(|e| panic!("{e}"))
}

/// Waits for `count` TLS errors from the client, and returns their messages.
async fn tls_errors(events: &mut tether_core::EventStream, count: usize) -> Vec<String> {
    let mut messages = Vec::new();
    while messages.len() < count {
        let event = wait::event(events, "a TLS error", |e| matches!(e, Event::Error(_))).await;
        if let Event::Error(error) = event {
            assert_eq!(error.kind(), ErrorKind::Transport, "{error}");
            messages.push(error.message().to_owned());
        }
    }
    messages
}

fn assert_certificate_error(message: &str, why: &str) {
    assert!(message.starts_with("TLS error"), "not reported as a TLS error: {message}");
    assert!(message.contains(why), "{message:?} does not say {why:?}");
}

#[tokio::test]
async fn a_certificate_from_an_unknown_ca_is_refused_with_the_builtin_roots() {
    let server = TlsEchoServer::start(&["127.0.0.1"]).await;
    let client = client(config(&server.url()));
    let mut events = client.events();
    client.start().await.unwrap_or_else(|e| panic!("{e}"));
    // Several attempts, each refused for the same reason.
    for message in tls_errors(&mut events, 3).await {
        assert_certificate_error(&message, "UnknownIssuer");
    }
    assert!(!client.state().borrow().is_connected());
    assert!(
        matches!(
            *client.state().borrow(),
            ConnectionState::Reconnecting { .. } | ConnectionState::Connecting
        ),
        "a refused certificate is retried with backoff, state {}",
        *client.state().borrow()
    );
    assert_eq!(server.handshakes(), 0, "the client must abort the TLS handshake");
    assert_eq!(server.upgrades(), 0, "no WebSocket upgrade may reach an untrusted server");
    wait::until("the server to see the refusals", || server.tls_failures() >= 3).await;
    let stats = client.stats().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((stats.connect_count, stats.messages_out), (0, 0));
}

#[tokio::test]
async fn a_certificate_error_fails_a_first_connect_that_may_not_retry() {
    let server = TlsEchoServer::start(&["127.0.0.1"]).await;
    let client = client(config(&server.url()).with_retry_initial_connect(false));
    let error = client.connect().await.err().unwrap_or_else(|| panic!("connected to it"));
    assert_eq!(error.kind(), ErrorKind::Transport, "{error}");
    assert!(error.message().contains("UnknownIssuer"), "{error}");
    match &*client.state().borrow() {
        ConnectionState::Failed { reason: FailureReason::InitialConnectFailed(why) } => {
            assert_certificate_error(why, "UnknownIssuer")
        }
        other => panic!("expected Failed(InitialConnectFailed), got {other:?}"),
    }
    assert_eq!(server.upgrades(), 0);
}

#[tokio::test]
async fn the_configured_ca_is_trusted_and_the_echo_comes_back() {
    let server = TlsEchoServer::start(&["127.0.0.1"]).await;
    let client = client(config(&server.url()).with_root_certificate(server.ca_der()));
    let mut events = client.events();
    client.connect().await.unwrap_or_else(|e| panic!("{e}"));
    client.send(OutgoingMessage::text("over tls")).await.unwrap_or_else(|e| panic!("{e}"));
    let echo = wait::event(&mut events, "the echo", |e| matches!(e, Event::Message(_))).await;
    let Event::Message(m) = echo else { unreachable!() };
    assert_eq!(m.data, vec![json!("over tls")]);
    assert_eq!((server.handshakes(), server.upgrades()), (1, 1));
}

#[tokio::test]
async fn the_configured_ca_alone_is_enough_without_the_builtin_roots() {
    let server = TlsEchoServer::start(&["localhost"]).await;
    let config = config(&server.url_as("localhost"))
        .with_builtin_roots(false)
        .with_root_certificate(server.ca_der());
    let client = client(config);
    client.connect().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(client.state().borrow().is_connected());
}

#[tokio::test]
async fn a_trusted_ca_does_not_make_a_certificate_for_another_name_acceptable() {
    let server = TlsEchoServer::start(&["tether.test"]).await;
    let client = client(config(&server.url()).with_root_certificate(server.ca_der()));
    let mut events = client.events();
    client.start().await.unwrap_or_else(|e| panic!("{e}"));
    for message in tls_errors(&mut events, 2).await {
        assert_certificate_error(&message, "not valid for name");
    }
    assert_eq!(server.upgrades(), 0);
}

#[tokio::test]
async fn another_ca_is_not_this_servers_ca() {
    let server = TlsEchoServer::start(&["127.0.0.1"]).await;
    let stranger = TestPki::new(&["127.0.0.1"]);
    let client = client(config(&server.url()).with_root_certificate(stranger.ca_der));
    let mut events = client.events();
    client.start().await.unwrap_or_else(|e| panic!("{e}"));
    for message in tls_errors(&mut events, 2).await {
        assert!(message.contains("certificate"), "{message}");
    }
    assert_eq!(server.upgrades(), 0);
}

#[tokio::test]
async fn a_root_certificate_that_is_not_a_certificate_is_a_config_error() {
    let error = Client::new(Config::new("wss://127.0.0.1:1").with_root_certificate(vec![1, 2, 3]))
        .err()
        .unwrap_or_else(|| panic!("a garbage root certificate was accepted"));
    assert_eq!(error.kind(), ErrorKind::InvalidConfig, "{error}");
    assert!(error.message().contains("root certificate"), "{error}");
}
