//! Receiving, and config changes at run time, on virtual time.

use super::harness::*;

#[test]
fn duplicates_by_message_id_reach_the_app_once() {
    let mut h = Harness::socket_io();
    h.connect_socket_io();
    for _ in 0..3 {
        h.frame_in(r#"42["chat",{"messageId":"m-1","text":"hi"}]"#);
    }
    h.frame_in(r#"42["chat",{"messageId":"m-2","text":"ho"}]"#);
    let messages = h.take_events().into_iter().filter(|e| matches!(e, Event::Message(_))).count();
    assert_eq!(messages, 2);
    assert_eq!(h.session.stats(h.now).duplicates, 2);
}

#[test]
fn malformed_frames_are_counted_and_the_connection_stays() {
    let mut h = Harness::socket_io();
    h.connect_socket_io();
    for bad in ["x", "4", "42[", "42[1]", "49", "43[]"] {
        h.frame_in(bad);
    }
    assert_eq!(h.session.state(), &ConnectionState::Connected);
    assert_eq!(h.session.stats(h.now).error_count, 6);
    assert_eq!(h.take_events().iter().filter(|e| matches!(e, Event::Error(_))).count(), 6);
}

#[test]
fn oversized_messages_from_the_server_are_dropped() {
    let mut h = Harness::new(Config::new("ws://server.test").with_size_limits(64, 1 << 20));
    h.connect_socket_io();
    h.take_events();
    h.frame_in(&format!(r#"42["big","{}"]"#, "x".repeat(200)));
    assert!(!h.take_events().iter().any(|e| matches!(e, Event::Message(_))));
    assert_eq!(h.session.state(), &ConnectionState::Connected);
}

// ----- config at run time -----

#[test]
fn update_config_applies_and_validates() {
    let mut h = Harness::raw();
    for n in 0..10 {
        h.session.send(text(n), SendOptions::default(), h.now).unwrap_or_else(|e| panic!("{e}"));
    }
    let bad = raw_config().with_heartbeat(Duration::ZERO, secs(1));
    assert_eq!(h.session.update_config(bad, h.now).map_err(|e| e.field), Err("heartbeat_interval"));
    let smaller = raw_config().with_outbox_limits(4, 1 << 20);
    assert_eq!(h.session.update_config(smaller, h.now), Ok(()));
    assert_eq!(h.session.outbox_len(), 4);
    let other_protocol = Config::new("ws://server.test");
    assert_eq!(
        h.session.update_config(other_protocol, h.now).map_err(|e| e.field),
        Err("protocol")
    );
}

#[test]
fn stats_add_up() {
    let mut h = Harness::socket_io();
    for n in 0..3 {
        let _ = h.session.send(
            OutgoingMessage::new("x", json!(n)),
            SendOptions::with_ack(Some(secs(100))),
            h.now,
        );
    }
    h.connect_socket_io();
    h.frame_in(r#"431["ok"]"#);
    let s = h.session.stats(h.now);
    assert_eq!(s.messages_sent, 3);
    assert_eq!(s.acked + s.ack_failed + s.pending_acks as u64 + s.dropped, 3);
    assert_eq!(s.connect_count, 1);
    assert!(s.connected && s.uptime.is_some());
}

#[test]
fn stats_add_up_through_drops_timeouts_and_close() {
    // Every acked send is in exactly one place: acked, failed, queued, in flight or dropped.
    let mut h = Harness::new(Config::new("ws://server.test").with_outbox_limits(2, 1 << 20));
    let places = |s: &tether_core::Stats| {
        s.acked + s.ack_failed + s.queued as u64 + s.in_flight as u64 + s.dropped
    };
    for n in 0..3 {
        let options = SendOptions::with_ack(Some(secs(100)));
        let _ = h.session.send(OutgoingMessage::new("x", json!(n)), options, h.now);
    }
    let s = h.session.stats(h.now);
    assert_eq!((s.messages_sent, s.queued, s.dropped, s.ack_failed), (3, 2, 1, 0));
    assert_eq!(places(&s), 3);
    h.connect_socket_io();
    h.frame_in(r#"432["ok"]"#);
    let s = h.session.stats(h.now);
    assert_eq!((s.acked, s.in_flight, s.queued), (1, 1, 0));
    assert_eq!(places(&s), 3);
    let options = SendOptions::with_ack(Some(secs(1)));
    let _ = h.session.send(OutgoingMessage::new("x", json!(3)), options, h.now);
    h.advance(secs(2));
    let s = h.session.stats(h.now);
    assert_eq!((s.messages_sent, s.ack_failed, s.in_flight), (4, 1, 1));
    assert_eq!(places(&s), 4);
    h.session.disconnect(h.now);
    let s = h.session.stats(h.now);
    assert_eq!((s.acked, s.ack_failed, s.dropped, s.in_flight, s.queued), (1, 2, 1, 0, 0));
    assert_eq!(places(&s), 4);
}

#[test]
fn an_hour_of_flaky_network_keeps_every_invariant() {
    let mut h = Harness::new(
        Config::new("ws://server.test")
            .with_outbox_limits(50, 1 << 20)
            .with_heartbeat(secs(10), secs(5))
            .with_at_least_once(true),
    );
    let mut rng = fastrand::Rng::with_seed(99);
    h.session.connect(h.now);
    let mut settled = std::collections::HashSet::new();
    let end = h.now + secs(3600);
    let mut accepted = 0u64;
    while h.now < end {
        match rng.u8(0..10) {
            0 => h.cut(),
            1 => {
                if h.take_actions().iter().any(|a| matches!(a, Action::OpenTransport { .. })) {
                    h.session.handle_transport_open(Some(&Token::new("tok")), h.now);
                    h.server_handshake(&format!("p{}", rng.u8(0..3)));
                }
            }
            2..=5 => {
                let options = if rng.bool() {
                    SendOptions::with_ack(Some(secs(30)))
                } else {
                    SendOptions::default()
                };
                if h.session
                    .send(OutgoingMessage::new("n", json!(accepted)), options, h.now)
                    .is_ok()
                {
                    accepted += 1;
                }
            }
            6 => h.frame_in(&format!(r#"43{}["ok"]"#, rng.u64(1..=accepted.max(1)))),
            _ => h.advance(ms(rng.u64(1..20_000))),
        }
        for e in h.take_events() {
            if let Event::AckSettled { id, .. } = e {
                assert!(settled.insert(id), "{id} settled twice");
            }
        }
        let s = h.session.stats(h.now);
        assert!(s.queued <= 50, "outbox over its bound");
        assert_eq!(s.messages_sent, accepted);
    }
}

#[test]
fn a_link_slower_than_the_heartbeat_interval_still_measures_round_trips() {
    let mut h = Harness::new(raw_config().with_heartbeat(ms(100), secs(5)));
    h.connect_raw();
    h.take_sent();
    let mut in_flight = std::collections::VecDeque::new();
    for _ in 0..20 {
        h.advance(ms(50));
        for f in h.take_sent() {
            if let Frame::Ping(p) = f {
                in_flight.push_back((h.now, p));
            }
        }
        // Answer each ping 250 ms after it left: two more pings leave meanwhile.
        while in_flight.front().is_some_and(|(at, _)| h.now >= *at + ms(250)) {
            if let Some((_, p)) = in_flight.pop_front() {
                h.session.handle_frame(Frame::Pong(p), h.now);
            }
        }
    }
    let latency = h.session.stats(h.now).latency;
    assert!(latency.samples >= 3, "{latency:?}");
    assert!(latency.last.is_some_and(|l| l >= ms(250) && l <= ms(300)), "{latency:?}");
}

#[test]
fn join_reports_whether_a_join_went_out() {
    let mut h = Harness::socket_io();
    assert_eq!(h.session.join("a", h.now), Ok(false), "offline: joined on connect");
    h.connect_socket_io();
    assert_eq!(h.session.join("a", h.now), Ok(false), "already joined");
    assert_eq!(h.session.join("b", h.now), Ok(true));
}

#[test]
fn volatile_sends_are_refused_offline_and_never_queued() {
    let mut h = Harness::raw();
    assert_eq!(
        h.session.send(text(1), SendOptions::volatile(), h.now),
        Err(SendError::NotConnected)
    );
    assert_eq!(h.session.outbox_len(), 0);
    h.connect_raw();
    h.take_sent();
    assert_eq!(h.session.send(text(2), SendOptions::volatile(), h.now), Ok(None));
    assert_eq!(h.texts(), vec!["m2"]);
}
