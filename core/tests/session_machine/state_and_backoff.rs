//! Connection state, reconnect backoff, failover and failures, on virtual time.

use super::harness::*;

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
fn an_auth_rejection_is_retried_once_with_a_new_token_then_fails() {
    let mut h = Harness::socket_io();
    h.session.connect(h.now);
    h.open_transport();
    h.frame_in(OPEN);
    h.frame_in(r#"44{"message":"unauthorized"}"#);
    assert_eq!(h.session.state(), &ConnectionState::Connecting, "retried at once");
    let actions = h.take_actions();
    assert!(actions.contains(&Action::CloseTransport));
    assert!(actions.iter().any(|a| matches!(a, Action::OpenTransport { .. })));
    assert!(h.session.take_token_refused(), "the provider is told the token was refused");
    assert!(!h.session.take_token_refused(), "once");
    h.session.handle_transport_open(Some(&Token::new("tok")), h.now);
    h.frame_in(OPEN);
    h.frame_in(r#"44{"message":"unauthorized"}"#);
    assert_eq!(
        h.session.state(),
        &ConnectionState::Failed { reason: FailureReason::AuthRejected("unauthorized".into()) }
    );
    h.take_actions();
    h.advance(secs(24 * 3600));
    assert!(h.take_actions().is_empty(), "no retry storm");

    // A success resets the allowance: the next refusal is retried once again.
    h.session.connect(h.now);
    h.socket_io_handshake("p1");
    assert_eq!(h.session.state(), &ConnectionState::Connected);
    h.session.handle_transport_closed(h.now);
    h.advance(secs(2));
    h.open_transport();
    h.frame_in(OPEN);
    h.frame_in(r#"44{"message":"unauthorized"}"#);
    assert_eq!(h.session.state(), &ConnectionState::Connecting);
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

#[test]
fn by_default_the_first_retry_comes_within_a_second_and_the_next_around_one() {
    // Many sessions (seeds), one drop each: the first retry's wait is spread from zero to the
    // nominal 1 s (a server that is back at once sees some clients at once); after a refusal
    // the next waits half to one and a half times that 1 s.
    let (mut firsts, mut seconds) = (Vec::new(), Vec::new());
    for seed in 0..200 {
        let mut h = Harness::new(raw_config());
        h.session = Session::new(raw_config().with_rng_seed(seed), h.now).expect("config");
        h.connect_raw();
        h.cut();
        let first = h.retry_at() - h.now;
        firsts.push(first);
        h.advance(first);
        assert_eq!(h.session.state(), &ConnectionState::Connecting);
        h.take_actions();
        h.session.handle_transport_error(TransportError::Io("refused".into()), h.now);
        h.drain();
        seconds.push(h.retry_at() - h.now);
    }
    assert!(firsts.iter().all(|w| *w <= secs(1)), "{firsts:?}");
    assert!(firsts.iter().filter(|w| **w < ms(250)).count() >= 20, "{firsts:?}");
    assert!(firsts.iter().filter(|w| **w > ms(750)).count() >= 20, "{firsts:?}");
    assert!(seconds.iter().all(|w| *w >= ms(500) && *w <= ms(1500)), "{seconds:?}");
    assert!(seconds.iter().filter(|w| **w < ms(750)).count() >= 20, "{seconds:?}");
    assert!(seconds.iter().filter(|w| **w > ms(1250)).count() >= 20, "{seconds:?}");
}
