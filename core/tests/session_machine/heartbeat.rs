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

/// The frames a Socket.IO session wrote for the server's heartbeat: the Engine.IO pong and,
/// when one was due, our WebSocket ping.
fn answer_server_ping(h: &mut Harness) -> (bool, Option<Vec<u8>>) {
    h.take_sent();
    h.frame_in("2");
    let sent = h.take_sent();
    let ponged = sent.iter().any(|f| matches!(f, Frame::Text(t) if t == "3"));
    let ping = sent.into_iter().find_map(|f| if let Frame::Ping(p) = f { Some(p) } else { None });
    (ponged, ping)
}

#[test]
fn pings_ride_the_servers_heartbeat_instead_of_a_timer_of_their_own() {
    let interval = secs(5);
    let mut h = Harness::new(Config::new("ws://server.test").with_heartbeat(interval, secs(3)));
    h.connect_socket_io();
    h.take_sent();
    // The server pings every interval, a little before our timer would (its clock started at
    // its handshake); nothing else happens on the connection.
    let mut samples = 0;
    for round in 0..12 {
        let next_server_ping = h.now + interval - ms(20);
        // Our own timer never fires in between: the session has nothing to do until the
        // server's heartbeat.
        let own_deadline = h.session.poll_timeout().expect("a heartbeat deadline");
        assert!(own_deadline > next_server_ping, "round {round}: our timer would fire first");
        h.advance(next_server_ping - h.now);
        assert!(h.take_sent().is_empty(), "round {round}: a frame left between heartbeats");
        let (ponged, ping) = answer_server_ping(&mut h);
        assert!(ponged, "round {round}: the server's ping was not answered");
        let payload = ping.unwrap_or_else(|| panic!("round {round}: no ping rode the answer"));
        h.advance(ms(30));
        h.session.handle_frame(Frame::Pong(payload), h.now);
        samples += 1;
    }
    let latency = h.session.stats(h.now).latency;
    assert_eq!(latency.samples, samples);
    assert_eq!(latency.last, Some(ms(30)));
    assert_eq!(h.session.state(), &ConnectionState::Connected);
}

#[test]
fn a_server_heartbeat_too_soon_after_a_ping_defers_ours_to_the_next_one() {
    let interval = secs(10);
    let mut h = Harness::new(Config::new("ws://server.test").with_heartbeat(interval, secs(3)));
    h.connect_socket_io();
    // Our timer pings first (the server's heartbeats are out of phase with ours).
    h.advance(interval);
    let first =
        h.take_sent().into_iter().find_map(|f| if let Frame::Ping(p) = f { Some(p) } else { None });
    h.session.handle_frame(Frame::Pong(first.expect("the timer's ping")), h.now);
    // The server's heartbeat 2 s later: too soon for another sample, so none rides it, and our
    // timer waits for the server's next one instead of firing 8 s from now.
    h.advance(secs(2));
    let (ponged, ping) = answer_server_ping(&mut h);
    assert!(ponged && ping.is_none(), "a sample 2 s after the last one");
    h.advance(secs(10));
    assert!(h.take_sent().is_empty(), "our timer fired between the server's heartbeats");
    // The next server heartbeat (12 s after our ping, exactly one server period) carries our
    // ping: aligned from now on.
    let (_, ping) = answer_server_ping(&mut h);
    assert!(ping.is_some(), "no ping rode the server's next heartbeat");
}

#[test]
fn when_the_servers_heartbeats_stop_our_timer_pings_and_finds_the_dead_link() {
    let interval = secs(5);
    let mut h = Harness::new(Config::new("ws://server.test").with_heartbeat(interval, secs(3)));
    h.connect_socket_io();
    h.advance(interval - ms(10));
    let (_, ping) = answer_server_ping(&mut h);
    h.session.handle_frame(Frame::Pong(ping.expect("a ridden ping")), h.now);
    let rode_at = h.now;
    // Then the server goes quiet (a half-open link): our own ping goes out within 1.25
    // intervals, and the heartbeat timeout declares the connection dead after it.
    h.advance(interval + interval / 4);
    assert!(
        h.take_sent().iter().any(|f| matches!(f, Frame::Ping(_))),
        "no ping of our own after the server's heartbeats stopped"
    );
    h.take_events();
    h.advance(secs(3));
    assert!(matches!(h.session.state(), ConnectionState::Reconnecting { .. }));
    assert!(h.now - rode_at <= interval + interval / 4 + secs(3));
    assert!(h.take_events().contains(&Event::Disconnected {
        reason: DisconnectReason::HeartbeatTimeout,
        will_reconnect: true
    }));
}
