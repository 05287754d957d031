//! Heartbeats, latency and health, on virtual time.

use super::harness::*;

#[test]
fn heartbeat_pings_and_measures_round_trips() {
    let mut h = Harness::new(raw_config().with_heartbeat(secs(5), secs(3)));
    h.connect_raw();
    h.take_sent();
    for rtt in [40, 60, 50] {
        let next_ping = h.session.poll_timeout().unwrap_or(h.now);
        h.advance(next_ping - h.now);
        let ping =
            h.take_sent()
                .into_iter()
                .find_map(|f| if let Frame::Ping(p) = f { Some(p) } else { None });
        let Some(payload) = ping else { panic!("no ping sent") };
        h.advance(ms(rtt));
        h.session.handle_frame(Frame::Pong(payload), h.now);
    }
    let latency = h.session.stats(h.now).latency;
    assert_eq!(latency.last, Some(ms(50)));
    assert_eq!(latency.min, Some(ms(40)));
    assert_eq!(latency.samples, 3);
    assert!(latency.smoothed.is_some_and(|s| s >= ms(40) && s <= ms(60)));
    assert_eq!(h.session.health(), (Health::Healthy, Quality::Excellent));
}

#[test]
fn heartbeat_timeout_declares_a_silent_connection_dead() {
    let mut h = Harness::new(raw_config().with_heartbeat(secs(5), secs(3)));
    h.connect_raw();
    let connected_at = h.now;
    h.take_events();
    // Half-open: writes go out, nothing ever comes back.
    h.advance(secs(8) - ms(1));
    assert_eq!(h.session.state(), &ConnectionState::Connected);
    h.advance(ms(1));
    assert!(matches!(h.session.state(), ConnectionState::Reconnecting { .. }));
    assert!(h.now - connected_at <= secs(8), "dead within interval + timeout");
    assert!(h.take_events().contains(&Event::Disconnected {
        reason: DisconnectReason::HeartbeatTimeout,
        will_reconnect: true
    }));
}

#[test]
fn any_frame_counts_as_life() {
    let mut h = Harness::new(raw_config().with_heartbeat(secs(5), secs(3)));
    h.connect_raw();
    for _ in 0..20 {
        h.advance(secs(2));
        h.frame_in("data");
    }
    assert_eq!(h.session.state(), &ConnectionState::Connected);
}

#[test]
fn health_moves_with_latency_and_missed_heartbeats() {
    let mut h = Harness::new(raw_config().with_heartbeat(secs(5), secs(20)));
    assert_eq!(h.session.health(), (Health::Disconnected, Quality::Offline));
    h.connect_raw();
    assert_eq!(h.session.health().0, Health::Healthy);
    // Slow pongs: 700 ms is degraded, fair.
    for _ in 0..30 {
        let next_ping = h.session.poll_timeout().unwrap_or(h.now);
        h.advance(next_ping - h.now);
        let payload =
            h.take_sent()
                .into_iter()
                .find_map(|f| if let Frame::Ping(p) = f { Some(p) } else { None });
        h.advance(ms(700));
        h.session.handle_frame(Frame::Pong(payload.unwrap_or_default()), h.now);
    }
    assert_eq!(h.session.health(), (Health::Degraded, Quality::Fair));
    // Then silence: each further unanswered ping is a missed heartbeat; two make it unhealthy,
    // before the 20 s timeout declares the connection dead.
    h.advance(secs(16));
    assert_eq!(h.session.state(), &ConnectionState::Connected);
    assert_eq!(h.session.health().0, Health::Unhealthy);
    let health_events =
        h.take_events().into_iter().filter(|e| matches!(e, Event::HealthChanged { .. })).count();
    assert!(health_events >= 3, "every change is an event");
}

#[test]
fn socket_io_server_silence_past_ping_interval_plus_timeout_is_dead() {
    let mut h =
        Harness::new(Config::new("ws://server.test").with_heartbeat(secs(3600), secs(3600)));
    h.connect_socket_io();
    h.advance(secs(45) - ms(1));
    assert_eq!(h.session.state(), &ConnectionState::Connected);
    h.advance(ms(1));
    assert!(matches!(h.session.state(), ConnectionState::Reconnecting { .. }));
}

#[test]
fn socket_io_server_pings_are_answered() {
    let mut h = Harness::socket_io();
    h.connect_socket_io();
    h.take_sent();
    h.frame_in("2");
    assert_eq!(h.texts(), vec!["3".to_owned()]);
}
