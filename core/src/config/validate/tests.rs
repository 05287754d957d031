use super::*;
use crate::config::HealthThresholds;
use crate::protocol::SocketIoConfig;

fn field_of(config: Config) -> &'static str {
    match config.validate() {
        Err(e) => e.field,
        Ok(()) => "<valid>",
    }
}

#[test]
fn defaults_with_a_url_are_valid() {
    assert_eq!(field_of(Config::new("ws://localhost:1")), "<valid>");
}

#[test]
fn http_urls_become_websocket_urls() {
    let urls = Config::new("https://example.com/x").with_fallback_url("http://h:1").parsed_urls();
    let schemes: Vec<String> =
        urls.unwrap_or_default().iter().map(|u| u.scheme().to_owned()).collect();
    assert_eq!(schemes, vec!["wss", "ws"]);
}

#[test]
fn bad_values_name_their_field() {
    let base = || Config::new("ws://h");
    assert_eq!(field_of(Config::default()), "urls");
    assert_eq!(field_of(Config::new("not a url")), "urls");
    assert_eq!(field_of(Config::new("ftp://h")), "urls");
    assert_eq!(
        field_of(base().with_reconnect_delays(Duration::ZERO, Duration::from_secs(1))),
        "backoff.min_delay"
    );
    assert_eq!(
        field_of(base().with_reconnect_delays(Duration::from_secs(5), Duration::from_secs(1))),
        "backoff.max_delay"
    );
    assert_eq!(field_of(base().with_backoff_factor(0.5)), "backoff.factor");
    assert_eq!(field_of(base().with_backoff_factor(f64::NAN)), "backoff.factor");
    assert_eq!(field_of(base().with_max_attempts(Some(0))), "backoff.max_attempts");
    assert_eq!(
        field_of(base().with_heartbeat(Duration::ZERO, Duration::from_secs(1))),
        "heartbeat_interval"
    );
    assert_eq!(
        field_of(base().with_heartbeat(Duration::from_secs(1), Duration::ZERO)),
        "heartbeat_timeout"
    );
    assert_eq!(field_of(base().with_connect_timeout(Duration::ZERO)), "connect_timeout");
    assert_eq!(field_of(base().with_probe_timeout(Duration::ZERO)), "probe_timeout");
    assert_eq!(field_of(base().with_probe_timeout(Duration::MAX)), "probe_timeout");
    assert_eq!(field_of(base().with_durable_outbox("")), "durable_outbox");
    assert_eq!(field_of(base().with_outbox_ttl(Some(Duration::ZERO))), "outbox_ttl");
    assert_eq!(field_of(base().with_buffers(10, 4096)), "read_buffer_bytes");
    assert_eq!(field_of(base().with_size_limits(0, 1)), "max_message_bytes");
    assert_eq!(field_of(base().with_failover_after(0)), "failover_after");
    let no_room = crate::config::StreamBuffer::new(0, 1024);
    assert_eq!(field_of(base().with_stream_buffer(no_room)), "stream_buffer.max_items");
    let no_bytes = crate::config::StreamBuffer::new(16, 0);
    assert_eq!(field_of(base().with_stream_buffer(no_bytes)), "stream_buffer.max_bytes");
    assert_eq!(field_of(base().with_ack_timeout(Duration::MAX)), "ack_timeout");
    assert_eq!(
        field_of(base().with_reconnect_delays(Duration::from_secs(1), Duration::MAX)),
        "backoff.max_delay"
    );
    assert_eq!(field_of(base().with_ack_timeout(MAX_DURATION)), "<valid>");
    let inverted =
        HealthThresholds { unhealthy_rtt: Duration::from_millis(1), ..HealthThresholds::default() };
    assert_eq!(field_of(base().with_health_thresholds(inverted)), "health.unhealthy_rtt");
    let bad_ns = SocketIoConfig { namespaces: vec!["admin".into()], ..SocketIoConfig::default() };
    assert_eq!(field_of(base().with_socket_io(bad_ns)), "socket_io.namespaces");
}

#[test]
fn the_rejoin_backoff_is_checked_like_the_reconnect_backoff() {
    use crate::config::BackoffPolicy;
    let bad = |policy: BackoffPolicy| field_of(Config::new("ws://h").with_rejoin_backoff(policy));
    let zero = Duration::ZERO;
    assert_eq!(
        bad(BackoffPolicy { min_delay: zero, ..BackoffPolicy::default() }),
        "rejoin_backoff.min_delay"
    );
    assert_eq!(
        bad(BackoffPolicy { max_delay: Duration::from_millis(1), ..BackoffPolicy::default() }),
        "rejoin_backoff.max_delay"
    );
    assert_eq!(
        bad(BackoffPolicy { factor: 0.5, ..BackoffPolicy::default() }),
        "rejoin_backoff.factor"
    );
    assert_eq!(
        bad(BackoffPolicy { max_attempts: Some(0), ..BackoffPolicy::default() }),
        "rejoin_backoff.max_attempts"
    );
    assert_eq!(
        bad(BackoffPolicy { max_delay: MAX_DURATION * 2, ..BackoffPolicy::default() }),
        "rejoin_backoff.max_delay"
    );
}
