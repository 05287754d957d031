//! Inputs the fuzzers (fuzz/, see fuzz/README.md) found that broke the engine, kept as plain
//! tests so the bug stays fixed without running a fuzzer. The raw crash inputs are in
//! fuzz/regressions/ and `scripts/fuzz.sh --ci` replays them too.

use serde_json::json;
use std::time::{Duration, Instant};
use tether_core::config::MAX_DURATION;
use tether_core::{Config, ConnectionState, OutgoingMessage, SendOptions, Session, Token};

/// fuzz/regressions/session/duration-max-connect-timeout: a config whose connect timeout was
/// `Duration::MAX` passed validation, and `connect` then panicked computing `now + timeout`
/// ("overflow when adding duration to instant"). Every duration setting is now capped at a year
/// by validation, so such a config is an error, never a panic.
#[test]
fn a_duration_too_long_to_add_to_an_instant_is_a_config_error_not_a_panic() {
    let now = Instant::now();
    let configs = [
        ("connect_timeout", Config::new("ws://h").with_connect_timeout(Duration::MAX)),
        ("heartbeat_interval", Config::new("ws://h").with_heartbeat(Duration::MAX, Duration::MAX)),
        (
            "heartbeat_timeout",
            Config::new("ws://h").with_heartbeat(Duration::from_secs(1), Duration::MAX),
        ),
        ("ack_timeout", Config::new("ws://h").with_ack_timeout(Duration::MAX)),
        ("outbox_ttl", Config::new("ws://h").with_outbox_ttl(Some(Duration::MAX))),
        (
            "backoff.max_delay",
            Config::new("ws://h").with_reconnect_delays(Duration::from_secs(1), Duration::MAX),
        ),
        ("backoff_reset_after", Config::new("ws://h").with_backoff_reset_after(Duration::MAX)),
        (
            "offline_retry_interval",
            Config::new("ws://h").with_offline_retry_interval(Duration::MAX),
        ),
    ];
    for (field, config) in configs {
        match Session::new(config, now) {
            Err(e) => assert_eq!(e.field, field, "{e}"),
            Ok(_) => panic!("{field} = Duration::MAX was accepted"),
        }
    }
    // A year is fine, and connecting with it works.
    let config = Config::new("ws://h").with_connect_timeout(MAX_DURATION);
    let mut session = Session::new(config, now).unwrap_or_else(|e| panic!("{e}"));
    session.connect(now);
    assert_eq!(session.state(), &ConnectionState::Connecting);
    assert_eq!(session.poll_timeout(), Some(now + MAX_DURATION));
}

/// Same overflow through the one duration validation never sees: a per-send ack timeout. An
/// app saying "wait forever" with `Duration::MAX` gets a deadline a year away.
#[test]
fn an_ack_timeout_of_duration_max_waits_a_year_instead_of_panicking() {
    let now = Instant::now();
    let mut session = Session::new(Config::new("ws://h"), now).unwrap_or_else(|e| panic!("{e}"));
    session.connect(now);
    session.handle_transport_open(Some(&Token::new("t")), now);
    let open = r#"0{"sid":"e","upgrades":[],"pingInterval":25000,"pingTimeout":20000}"#;
    session.handle_frame(tether_core::Frame::Text(open.to_owned()), now);
    session.handle_frame(tether_core::Frame::Text(r#"40{"sid":"s"}"#.to_owned()), now);
    assert!(session.state().is_connected());
    let message = OutgoingMessage::new("m", json!(1));
    let sent = session.send(message, SendOptions::with_ack(Some(Duration::MAX)), now);
    assert!(matches!(sent, Ok(Some(_))), "{sent:?}");
    let offline = OutgoingMessage::new("m", json!(2));
    let reliable = SendOptions::at_least_once(Some(Duration::MAX));
    assert!(session.send(offline, reliable, now).is_ok());
    // The heartbeat comes first; the acks wait a year, not forever and not never.
    assert!(session.poll_timeout().is_some_and(|t| t <= now + Duration::from_secs(25)));
    session.handle_timeout(now + MAX_DURATION);
    assert_eq!(session.stats(now + MAX_DURATION).pending_acks, 0, "both timed out after a year");
}

/// fuzz/regressions/socketio_decode/float-not-round-tripping: `33[55555555527777777777785555555552777777777778]`
/// decoded to 5.555555552777777e43, which encodes as `5.555555552777777e43`, which decoded to
/// 5.555555552777778e43: serde_json's default float parser is off by one ulp on some long
/// numbers, so a number could change on its way from the server to the app. tether-core now
/// enables serde_json's `float_roundtrip`: numbers are parsed exactly.
#[test]
fn numbers_from_the_server_reach_the_app_exactly() {
    use tether_core::protocol::socketio::packet::{decode_socket_packet, encode_socket_packet};
    let text = "33[55555555527777777777785555555552777777777778]";
    let packet = decode_socket_packet(text).unwrap_or_else(|e| panic!("{e}"));
    let again =
        decode_socket_packet(&encode_socket_packet(&packet)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again, packet);
    let exact: f64 = "55555555527777777777785555555552777777777778".parse().unwrap_or_default();
    assert_eq!(packet.data, Some(json!([exact])), "parsed as Rust's exact parser does");
    for number in ["0.30000000000000004", "2.2250738585072014e-308", "1.7976931348623157e308"] {
        let packet =
            decode_socket_packet(&format!("2[\"n\",{number}]")).unwrap_or_else(|e| panic!("{e}"));
        let exact: f64 = number.parse().unwrap_or_default();
        assert_eq!(packet.data, Some(json!(["n", exact])), "{number}");
    }
}
