//! The session on virtual time: no sockets, no sleeps. Each test drives the state machine with
//! inputs and a clock it moves by hand, and checks the outputs.

mod support;

use serde_json::json;
use std::time::Duration;
use support::session_harness::{raw_config, Harness, OPEN};
use tether_core::{
    AckError, AckId, Action, Config, ConnectionState, DisconnectReason, DropReason, Event,
    FailureReason, Frame, Health, Jitter, OutgoingMessage, OverflowPolicy, Quality, SendError,
    SendOptions, Token, TokenError, TransportError,
};

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn text(n: u64) -> OutgoingMessage {
    OutgoingMessage::text(format!("m{n}"))
}

// ----- state and backoff -----

#[test]
fn connect_goes_idle_connecting_connected() {
    let mut h = Harness::raw();
    assert_eq!(h.session.state(), &ConnectionState::Idle);
    h.connect_raw();
    let states: Vec<&str> = h.states().iter().map(|s| s.name()).collect();
    assert_eq!(states, vec!["connecting", "connected"]);
}

#[test]
fn reconnect_waits_for_jittered_backoff() {
    let mut h = Harness::new(raw_config().with_jitter(Jitter::Full));
    h.connect_raw();
    let mut waits = Vec::new();
    h.cut();
    for _ in 0..6 {
        let wait = h.retry_at() - h.now;
        waits.push(wait);
        h.advance(wait - ms(1));
        assert!(matches!(h.session.state(), ConnectionState::Reconnecting { .. }), "retried early");
        h.advance(ms(1));
        assert_eq!(h.session.state(), &ConnectionState::Connecting);
        h.take_actions();
        h.session.handle_transport_error(TransportError::Io("refused".into()), h.now);
        h.drain();
    }
    for (attempt, wait) in waits.iter().enumerate() {
        // Up to the nominal delay, and at least twice the minimum so even attempt 1 is spread.
        let ceiling = (secs(1) * 2u32.pow(attempt as u32)).max(secs(2));
        assert!(
            *wait >= secs(1) && *wait <= ceiling.min(secs(30)),
            "attempt {}: {wait:?}",
            attempt + 1
        );
    }
    assert!(waits.windows(2).any(|w| w[0] != w[1]), "jitter varies the waits: {waits:?}");
}

#[test]
fn the_first_connect_is_retried_by_default() {
    let mut h = Harness::raw();
    h.session.connect(h.now);
    h.take_actions();
    h.session.handle_transport_error(TransportError::Io("refused".into()), h.now);
    assert!(matches!(h.session.state(), ConnectionState::Reconnecting { attempt: 1, .. }));
}

#[test]
fn a_failed_first_connect_fails_when_retry_is_off() {
    let mut h = Harness::new(raw_config().with_retry_initial_connect(false));
    h.session.connect(h.now);
    h.take_actions();
    h.session.handle_transport_error(TransportError::Io("refused".into()), h.now);
    assert!(matches!(
        h.session.state(),
        ConnectionState::Failed { reason: FailureReason::InitialConnectFailed(_) }
    ));
    h.take_actions();
    h.advance(secs(3600));
    assert!(h.take_actions().is_empty(), "never retries by itself");
}

#[test]
fn max_attempts_ends_in_failed() {
    let mut h = Harness::new(raw_config().with_max_attempts(Some(3)));
    h.connect_raw();
    h.cut();
    for _ in 0..3 {
        let wait = h.retry_at() - h.now;
        h.advance(wait);
        h.take_actions();
        h.session.handle_transport_error(TransportError::Io("refused".into()), h.now);
    }
    match h.session.state() {
        ConnectionState::Failed {
            reason: FailureReason::AttemptsExhausted { attempts, last_error },
        } => {
            assert_eq!(*attempts, 3);
            assert!(last_error.contains("refused"), "{last_error}");
        }
        other => panic!("{other:?}"),
    }
    h.take_actions();
    h.advance(secs(3600));
    assert!(h.take_actions().is_empty());
}

#[test]
fn backoff_resets_after_a_stable_connection() {
    let mut h = Harness::new(raw_config().with_jitter(Jitter::None));
    h.connect_raw();
    // Three quick drops grow the delay.
    for expected in [1, 2, 4] {
        h.cut();
        assert_eq!(h.retry_at() - h.now, secs(expected));
        h.advance(secs(expected));
        h.open_transport();
    }
    // Stable for longer than backoff_reset_after (5 s): back to the minimum.
    h.advance(secs(6));
    h.cut();
    assert_eq!(h.retry_at() - h.now, secs(1));
}

#[test]
fn disconnect_never_reconnects() {
    let mut h = Harness::raw();
    h.connect_raw();
    h.take_events();
    h.session.disconnect(h.now);
    assert_eq!(h.session.state(), &ConnectionState::Closed);
    let events = h.take_events();
    assert!(events.contains(&Event::Disconnected {
        reason: DisconnectReason::ClientRequested,
        will_reconnect: false
    }));
    assert!(h.take_actions().contains(&Action::CloseTransport));
    h.session.handle_transport_closed(h.now);
    h.advance(secs(3600));
    assert!(h.take_actions().is_empty());
    assert_eq!(h.session.state(), &ConnectionState::Closed);
    assert_eq!(h.session.send(text(1), SendOptions::default(), h.now), Err(SendError::Closed));
}

#[test]
fn auth_rejection_fails_without_retrying() {
    let mut h = Harness::socket_io();
    h.session.connect(h.now);
    h.open_transport();
    h.frame_in(OPEN);
    h.frame_in(r#"44{"message":"unauthorized"}"#);
    assert_eq!(
        h.session.state(),
        &ConnectionState::Failed { reason: FailureReason::AuthRejected("unauthorized".into()) }
    );
    h.take_actions();
    h.advance(secs(24 * 3600));
    assert!(h.take_actions().is_empty(), "no retry storm");
}

#[test]
fn token_provider_refusal_fails_and_unavailability_retries() {
    let mut h = Harness::raw();
    h.session.connect(h.now);
    h.take_actions();
    h.session.handle_token_error(TokenError::Unavailable("refresh endpoint down".into()), h.now);
    assert!(matches!(h.session.state(), ConnectionState::Reconnecting { .. }));
    let wait = h.retry_at() - h.now;
    h.advance(wait);
    h.take_actions();
    h.session.handle_token_error(TokenError::Unauthorized("signed out".into()), h.now);
    assert!(matches!(
        h.session.state(),
        ConnectionState::Failed { reason: FailureReason::AuthRejected(_) }
    ));
}

#[test]
fn server_side_disconnect_closes_without_reconnecting() {
    let mut h = Harness::socket_io();
    h.connect_socket_io();
    h.frame_in("41");
    assert_eq!(h.session.state(), &ConnectionState::Closed);
    h.take_actions();
    h.advance(secs(600));
    assert!(h.take_actions().is_empty());
}

#[test]
fn a_connect_that_never_completes_times_out_and_retries() {
    let mut h = Harness::raw();
    h.session.connect(h.now);
    h.take_actions();
    h.advance(secs(10));
    assert!(matches!(h.session.state(), ConnectionState::Reconnecting { attempt: 1, .. }));
    assert!(h.take_actions().contains(&Action::CloseTransport), "the stuck open is abandoned");
}

#[test]
fn failover_moves_to_the_next_url_after_repeated_failures() {
    let mut h =
        Harness::new(raw_config().with_fallback_url("ws://backup.test").with_failover_after(2));
    h.session.connect(h.now);
    let mut hosts = Vec::new();
    for _ in 0..5 {
        for a in h.take_actions() {
            if let Action::OpenTransport { url } = a {
                hosts.push(url.host_str().unwrap_or("").to_owned());
            }
        }
        h.session.handle_transport_error(TransportError::Io("refused".into()), h.now);
        let wait = h.retry_at() - h.now;
        h.advance(wait);
    }
    assert_eq!(
        hosts,
        vec!["server.test", "server.test", "backup.test", "backup.test", "server.test"]
    );
}

// ----- heartbeat, latency, health -----

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

// ----- network hints -----

#[test]
fn network_back_retries_now_instead_of_at_the_backoff_slot() {
    let mut h = Harness::new(raw_config().with_reconnect_delays(secs(10), secs(30)));
    h.connect_raw();
    h.session.network_available(false, h.now);
    h.cut();
    assert_eq!(h.retry_at() - h.now, secs(60), "offline: only the long fallback timer");
    h.take_actions();
    h.advance(secs(2));
    h.session.network_available(true, h.now);
    assert_eq!(h.session.state(), &ConnectionState::Connecting);
    assert!(h.take_actions().iter().any(|a| matches!(a, Action::OpenTransport { .. })));
}

#[test]
fn foreground_probes_a_live_connection() {
    let mut h = Harness::new(raw_config().with_heartbeat(secs(30), secs(5)));
    h.connect_raw();
    h.take_sent();
    h.session.app_foreground(true, h.now);
    assert!(h.take_sent().iter().any(|f| matches!(f, Frame::Ping(_))), "a ping at once");
    h.advance(secs(5));
    assert!(
        matches!(h.session.state(), ConnectionState::Reconnecting { .. }),
        "a dead link is found in 5 s, not 35"
    );
}

// ----- outbox -----

#[test]
fn sends_while_offline_flush_in_order_before_new_sends() {
    let mut h = Harness::raw();
    for n in 0..5 {
        assert_eq!(h.session.send(text(n), SendOptions::default(), h.now), Ok(None));
    }
    assert_eq!(h.session.outbox_len(), 5);
    h.connect_raw();
    h.session.send(text(5), SendOptions::default(), h.now).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(h.texts(), (0..6).map(|n| format!("m{n}")).collect::<Vec<_>>());
    assert_eq!(h.session.outbox_len(), 0);
}

#[test]
fn outbox_overflow_drop_oldest_reports_each_drop() {
    let mut h = Harness::new(raw_config().with_outbox_limits(3, 1 << 20));
    for n in 0..5 {
        h.session.send(text(n), SendOptions::default(), h.now).unwrap_or_else(|e| panic!("{e}"));
    }
    let dropped: Vec<OutgoingMessage> = h
        .take_events()
        .into_iter()
        .filter_map(|e| {
            if let Event::Dropped { message, reason: DropReason::Overflow } = e {
                Some(message)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(dropped, vec![text(0), text(1)]);
    assert_eq!(h.session.stats(h.now).dropped, 2);
    h.connect_raw();
    assert_eq!(h.texts(), vec!["m2", "m3", "m4"]);
}

#[test]
fn outbox_overflow_drop_newest_keeps_the_queue() {
    let mut h = Harness::new(
        raw_config()
            .with_outbox_limits(2, 1 << 20)
            .with_overflow_policy(OverflowPolicy::DropNewest),
    );
    for n in 0..4 {
        assert_eq!(h.session.send(text(n), SendOptions::default(), h.now), Ok(None));
    }
    let dropped =
        h.take_events().into_iter().filter(|e| matches!(e, Event::Dropped { .. })).count();
    assert_eq!(dropped, 2);
    h.connect_raw();
    assert_eq!(h.texts(), vec!["m0", "m1"]);
}

#[test]
fn outbox_overflow_reject_returns_queue_full() {
    let mut h = Harness::new(
        raw_config().with_outbox_limits(2, 1 << 20).with_overflow_policy(OverflowPolicy::Reject),
    );
    h.session.send(text(0), SendOptions::default(), h.now).unwrap_or_else(|e| panic!("{e}"));
    h.session.send(text(1), SendOptions::default(), h.now).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        h.session.send(text(2), SendOptions::default(), h.now),
        Err(SendError::QueueFull { queued: 2 })
    );
    assert!(
        !h.take_events().iter().any(|e| matches!(e, Event::Dropped { .. })),
        "refused, not dropped"
    );
    assert_eq!(h.session.stats(h.now).messages_sent, 2);
}

#[test]
fn outbox_byte_bound_counts_bytes() {
    let mut h = Harness::new(raw_config().with_outbox_limits(100, 100));
    let big = OutgoingMessage::text("x".repeat(60));
    h.session.send(big.clone(), SendOptions::default(), h.now).unwrap_or_else(|e| panic!("{e}"));
    h.session.send(big, SendOptions::default(), h.now).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(h.session.outbox_len(), 1, "the second pushed the first out");
    let too_big = OutgoingMessage::text("x".repeat(200));
    assert!(matches!(
        h.session.send(too_big, SendOptions::default(), h.now),
        Err(SendError::TooLarge { .. })
    ));
}

#[test]
fn outbox_ttl_expires_old_messages() {
    let mut h = Harness::new(raw_config().with_outbox_ttl(Some(secs(30))));
    h.session.send(text(0), SendOptions::default(), h.now).unwrap_or_else(|e| panic!("{e}"));
    h.advance(secs(20));
    h.session.send(text(1), SendOptions::default(), h.now).unwrap_or_else(|e| panic!("{e}"));
    h.advance(secs(15));
    assert!(h
        .take_events()
        .contains(&Event::Dropped { message: text(0), reason: DropReason::Expired }));
    h.connect_raw();
    assert_eq!(h.texts(), vec!["m1"]);
}

#[test]
fn clear_outbox_reports_every_message() {
    let mut h = Harness::raw();
    for n in 0..3 {
        h.session.send(text(n), SendOptions::default(), h.now).unwrap_or_else(|e| panic!("{e}"));
    }
    assert_eq!(h.session.clear_outbox(), 3);
    let cleared = h
        .take_events()
        .into_iter()
        .filter(|e| matches!(e, Event::Dropped { reason: DropReason::Cleared, .. }))
        .count();
    assert_eq!(cleared, 3);
    assert_eq!(h.session.outbox_len(), 0);
}

// ----- rooms -----

#[test]
fn rooms_are_rejoined_in_order_before_the_outbox_flushes() {
    let mut h = Harness::raw();
    h.connect_raw();
    h.session.join("b", h.now).unwrap_or_else(|e| panic!("{e}"));
    h.session.join("a", h.now).unwrap_or_else(|e| panic!("{e}"));
    h.take_sent();
    h.cut();
    h.session.send(text(1), SendOptions::default(), h.now).unwrap_or_else(|e| panic!("{e}"));
    h.session.join("c", h.now).unwrap_or_else(|e| panic!("{e}"));
    h.session.leave("a", h.now).unwrap_or_else(|e| panic!("{e}"));
    let wait = h.retry_at() - h.now;
    h.advance(wait);
    h.open_transport();
    assert_eq!(
        h.texts(),
        vec![r#"{"room":"b","type":"join"}"#, r#"{"room":"c","type":"join"}"#, "m1"]
    );
}

#[test]
fn socket_io_joins_use_the_join_event_with_an_ack() {
    let mut h = Harness::socket_io();
    h.connect_socket_io();
    h.take_sent();
    h.session.join("estimate-1", h.now).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(h.texts(), vec![r#"421["join-room",{"room":"estimate-1"}]"#]);
    h.frame_in(r#"431[{"ok":true}]"#);
    assert!(h.take_events().contains(&Event::RoomJoined { room: "estimate-1".into() }));
    h.session.join("secret", h.now).unwrap_or_else(|e| panic!("{e}"));
    h.take_sent();
    h.frame_in(r#"432[{"ok":false,"error":"forbidden"}]"#);
    assert!(h
        .take_events()
        .contains(&Event::RoomJoinFailed { room: "secret".into(), reason: "forbidden".into() }));
}

#[test]
fn a_recovered_connection_does_not_rejoin_but_sends_leaves_made_offline() {
    let mut h = Harness::socket_io();
    h.connect_socket_io();
    h.session.join("a", h.now).unwrap_or_else(|e| panic!("{e}"));
    h.session.join("b", h.now).unwrap_or_else(|e| panic!("{e}"));
    h.cut();
    h.session.leave("b", h.now).unwrap_or_else(|e| panic!("{e}"));
    let wait = h.retry_at() - h.now;
    h.advance(wait);
    h.take_sent();
    h.socket_io_handshake("p1");
    let sent = h.texts();
    assert!(sent.iter().any(|t| t.contains(r#""pid":"p1""#)), "asks for recovery: {sent:?}");
    assert!(
        sent.iter()
            .any(|t| t.starts_with("42") && t.contains("leave-room") && t.contains(r#""b""#)),
        "{sent:?}"
    );
    assert!(!sent.iter().any(|t| t.contains("join-room")), "the server kept the rooms: {sent:?}");
    assert!(h.take_events().contains(&Event::Connected { recovered: true }));
}

// ----- acks -----

#[test]
fn ack_ids_are_monotonic_and_answers_settle_once() {
    let mut h = Harness::socket_io();
    h.connect_socket_io();
    let a = h.session.send(OutgoingMessage::new("x", json!(1)), SendOptions::with_ack(None), h.now);
    let b = h.session.send(OutgoingMessage::new("x", json!(2)), SendOptions::with_ack(None), h.now);
    let (Ok(Some(a)), Ok(Some(b))) = (a, b) else { panic!("acks not registered") };
    assert!(b > a);
    h.frame_in(&format!(r#"43{}["ok"]"#, a.0));
    h.frame_in(&format!(r#"43{}["again"]"#, a.0));
    let settled: Vec<AckId> = h
        .take_events()
        .into_iter()
        .filter_map(|e| if let Event::AckSettled { id, .. } = e { Some(id) } else { None })
        .collect();
    assert_eq!(settled, vec![a]);
    assert_eq!(h.session.stats(h.now).acked, 1);
}

#[test]
fn ack_timeout_fails_the_ack_once() {
    let mut h = Harness::socket_io();
    h.connect_socket_io();
    let id = h.session.send(
        OutgoingMessage::new("x", json!(1)),
        SendOptions::with_ack(Some(secs(5))),
        h.now,
    );
    let Ok(Some(id)) = id else { panic!("no ack id") };
    h.frame_in("2");
    h.advance(secs(5));
    h.frame_in(&format!(r#"43{}["late"]"#, id.0));
    let results: Vec<_> = h
        .take_events()
        .into_iter()
        .filter_map(|e| {
            if let Event::AckSettled { id, result } = e {
                Some((id, result))
            } else {
                None
            }
        })
        .collect();
    assert_eq!(results, vec![(id, Err(AckError::Timeout))]);
}

#[test]
fn a_queued_message_that_times_out_is_not_sent_later() {
    let mut h = Harness::socket_io();
    let id = h.session.send(
        OutgoingMessage::new("x", json!(1)),
        SendOptions::with_ack(Some(secs(5))),
        h.now,
    );
    assert!(matches!(id, Ok(Some(_))));
    h.advance(secs(6));
    assert_eq!(h.session.outbox_len(), 0);
    h.connect_socket_io();
    assert!(!h.texts().iter().any(|t| t.contains(r#"["x",1]"#)));
}

#[test]
fn connection_loss_fails_in_flight_acks() {
    let mut h = Harness::socket_io();
    h.connect_socket_io();
    let id =
        h.session.send(OutgoingMessage::new("x", json!(1)), SendOptions::with_ack(None), h.now);
    let Ok(Some(id)) = id else { panic!("no ack id") };
    h.cut();
    assert!(h
        .take_events()
        .contains(&Event::AckSettled { id, result: Err(AckError::ConnectionLost) }));
}

#[test]
fn at_least_once_resends_with_the_same_id_after_reconnect() {
    let mut h = Harness::socket_io();
    h.connect_socket_io();
    let id = h.session.send(
        OutgoingMessage::new("x", json!(1)),
        SendOptions::at_least_once(Some(secs(60))),
        h.now,
    );
    let Ok(Some(id)) = id else { panic!("no ack id") };
    let first = h.texts();
    assert!(first.contains(&format!(r#"42{}["x",1]"#, id.0)), "{first:?}");
    h.cut();
    assert!(!h.take_events().iter().any(|e| matches!(e, Event::AckSettled { .. })), "not failed");
    let wait = h.retry_at() - h.now;
    h.advance(wait);
    h.socket_io_handshake("p2");
    assert!(h.texts().contains(&format!(r#"42{}["x",1]"#, id.0)), "same id again");
    h.frame_in(&format!(r#"43{}["ok"]"#, id.0));
    let settled = h
        .take_events()
        .into_iter()
        .filter(|e| matches!(e, Event::AckSettled { result: Ok(_), .. }))
        .count();
    assert_eq!(settled, 1);
}

#[test]
fn acks_are_refused_beyond_the_pending_limit() {
    let mut h = Harness::new(Config::new("ws://server.test").with_max_pending_acks(2));
    h.connect_socket_io();
    for _ in 0..2 {
        assert!(h
            .session
            .send(OutgoingMessage::new("x", json!(1)), SendOptions::with_ack(None), h.now)
            .is_ok());
    }
    assert_eq!(
        h.session.send(OutgoingMessage::new("x", json!(1)), SendOptions::with_ack(None), h.now),
        Err(SendError::TooManyPendingAcks { limit: 2 })
    );
}

#[test]
fn raw_websocket_refuses_acks() {
    let mut h = Harness::raw();
    assert!(matches!(
        h.session.send(text(1), SendOptions::with_ack(None), h.now),
        Err(SendError::Unsupported { .. })
    ));
}

// ----- receiving -----

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
