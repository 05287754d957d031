//! Authentication retries, long-polling (no WebSocket pings, round trips as the latency), the
//! upgrade, and the server's `maxPayload`, on virtual time.

use super::harness::*;

#[test]
fn a_rejection_without_a_token_fails_at_once() {
    let mut h = Harness::socket_io();
    h.session.connect(h.now);
    h.take_actions();
    h.session.handle_transport_open(None, h.now);
    h.frame_in(OPEN);
    h.frame_in(r#"44{"message":"unauthorized"}"#);
    assert!(matches!(h.session.state(), ConnectionState::Failed { .. }));
    assert!(!h.session.take_token_refused());
}

#[test]
fn over_polling_there_are_no_pings_and_round_trips_are_the_latency() {
    let mut h = Harness::socket_io();
    h.session.connect(h.now);
    h.take_actions();
    h.session.handle_transport_open_on(TransportKind::Polling, Some(&Token::new("t")), h.now);
    h.server_handshake("p1");
    assert_eq!(h.session.state(), &ConnectionState::Connected);
    h.take_sent();
    // The server pings every 25 s; an hour of them, answered, and never a WebSocket ping.
    for _ in 0..144 {
        h.advance(secs(25));
        h.frame_in("2");
    }
    let sent = h.take_sent();
    assert!(sent.iter().all(|f| !matches!(f, Frame::Ping(_))), "no WebSocket pings over polling");
    assert_eq!(sent.iter().filter(|f| **f == Frame::Text("3".into())).count(), 144);
    assert_eq!(h.session.state(), &ConnectionState::Connected, "alive on Engine.IO's rule");
    assert_eq!(h.session.stats(h.now).transport, Some(TransportKind::Polling));
    h.session.handle_round_trip(ms(40), h.now);
    h.session.handle_round_trip(ms(60), h.now);
    let latency = h.session.stats(h.now).latency;
    assert_eq!((latency.samples, latency.min), (2, Some(ms(40))));
    // Silence past pingInterval + pingTimeout is death, as on a WebSocket.
    h.advance(secs(46));
    assert!(!h.session.state().is_connected());
}

#[test]
fn an_upgrade_starts_the_websocket_heartbeat() {
    let mut h = Harness::socket_io();
    h.session.connect(h.now);
    h.take_actions();
    h.session.handle_transport_open_on(TransportKind::Polling, None, h.now);
    h.server_handshake("p1");
    h.take_sent();
    h.session.handle_transport_upgraded(TransportKind::WebSocket, h.now);
    assert_eq!(h.session.stats(h.now).transport, Some(TransportKind::WebSocket));
    h.advance(secs(25));
    assert!(h.take_sent().iter().any(|f| matches!(f, Frame::Ping(_))), "pings after the upgrade");
}

#[test]
fn the_servers_max_payload_limits_sends_online_and_offline() {
    let mut h = Harness::socket_io();
    h.session.connect(h.now);
    h.take_actions();
    h.session.handle_transport_open_on(TransportKind::Polling, None, h.now);
    h.frame_in(
        r#"0{"sid":"e1","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":100}"#,
    );
    h.frame_in(r#"40{"sid":"s"}"#);
    h.take_sent();
    let fits = OutgoingMessage::new("e", json!("x".repeat(80)));
    assert!(h.session.send(fits, SendOptions::default(), h.now).is_ok());
    let over = OutgoingMessage::new("e", json!("x".repeat(100)));
    assert!(matches!(
        h.session.send(over.clone(), SendOptions::with_ack(None), h.now),
        Err(SendError::TooLarge { limit: 100, .. })
    ));
    assert_eq!(h.session.stats(h.now).pending_acks, 0, "a refused send leaves no ack behind");
    // 80 bytes of binary are 109 as base64 over polling: over the limit there.
    let binary = OutgoingMessage::new("e", json!(1)).with_attachment(vec![0; 80]);
    assert!(matches!(
        h.session.send(binary, SendOptions::default(), h.now),
        Err(SendError::TooLarge { size: 109, limit: 100 })
    ));
    assert_eq!(h.take_sent().len(), 1, "only the message that fits went out");
    h.session.handle_transport_closed(h.now);
    assert!(
        matches!(
            h.session.send(over, SendOptions::default(), h.now),
            Err(SendError::TooLarge { .. })
        ),
        "offline, the last server's limit still applies"
    );
}
