//! Every knob of the client in one place: defaults with their units, a setter with an example
//! for each, and validation that names the bad field instead of panicking.

use crate::backoff::{BackoffPolicy, Jitter};
use crate::error::ConfigError;
use crate::health::HealthThresholds;
use crate::outbox::OverflowPolicy;
use std::time::Duration;
use url::Url;

/// The longest duration any setting accepts: a year. Deadlines are `now + duration`, and far
/// beyond this they stop being representable (`Duration::MAX` would panic), so "never" is
/// spelled as a long time, or `None` where a setting is optional.
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// Which wire protocol the client speaks.
#[derive(Debug, Clone, PartialEq)]
pub enum ProtocolConfig {
    /// Plain WebSocket frames: text and binary, no rooms unless `room_messages`, no acks.
    RawWebSocket(RawWebSocketConfig),
    /// Socket.IO v5 over Engine.IO v4 (WebSocket transport).
    SocketIo(SocketIoConfig),
}

/// Options of the raw WebSocket protocol.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RawWebSocketConfig {
    /// Encode joins and leaves as text frames `{"type":"join","room":"<room>"}` /
    /// `{"type":"leave",...}` for servers that understand them. Default false: raw WebSocket has
    /// no rooms, and joining is refused with `Unsupported`.
    pub room_messages: bool,
}

/// Options of the Socket.IO protocol.
#[derive(Clone, PartialEq)]
pub struct SocketIoConfig {
    /// The Engine.IO path. Default `"/socket.io/"`.
    pub path: String,
    /// Namespaces to connect, each with its own CONNECT. Default `["/"]`. The client counts as
    /// connected when every namespace is.
    pub namespaces: Vec<String>,
    /// Extra fields of the CONNECT auth payload; the token provider's token is added as `token`.
    pub auth: serde_json::Map<String, serde_json::Value>,
    /// Event the engine emits (with an ack) to join a room. Default `"join-room"` (seed 000).
    pub join_event: String,
    /// Event the engine emits to leave a room. Default `"leave-room"`.
    pub leave_event: String,
    /// Field of the join/leave payload that carries the room name. Default `"room"`.
    pub room_field: String,
    /// Ask the server for connection state recovery (send `pid` and `offset` on reconnect).
    /// Default true; harmless against servers without recovery.
    pub recovery: bool,
}

impl std::fmt::Debug for SocketIoConfig {
    // `auth` may hold credentials (an API key): show its field names, never their values.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let auth: Vec<&str> = self.auth.keys().map(String::as_str).collect();
        f.debug_struct("SocketIoConfig")
            .field("path", &self.path)
            .field("namespaces", &self.namespaces)
            .field("auth_fields", &auth)
            .field("join_event", &self.join_event)
            .field("leave_event", &self.leave_event)
            .field("room_field", &self.room_field)
            .field("recovery", &self.recovery)
            .finish()
    }
}

impl Default for SocketIoConfig {
    fn default() -> Self {
        Self {
            path: "/socket.io/".to_owned(),
            namespaces: vec!["/".to_owned()],
            auth: serde_json::Map::new(),
            join_event: "join-room".to_owned(),
            leave_event: "leave-room".to_owned(),
            room_field: "room".to_owned(),
            recovery: true,
        }
    }
}

/// The client's configuration. Build it with [`Config::new`] and the `with_*` setters, or as a
/// struct literal over `Config::default()`; [`Config::validate`] runs before the client starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Server URLs (`ws://`, `wss://`; `http(s)://` is taken as `ws(s)://`). The first is used
    /// first; after `failover_after` failures in a row the next is tried. Default: none (set one).
    pub urls: Vec<String>,
    /// The wire protocol. Default Socket.IO.
    pub protocol: ProtocolConfig,
    /// Reconnect delays. Default 1 s doubling to 30 s, full jitter, unlimited attempts.
    pub backoff: BackoffPolicy,
    /// Retry when the very first connect fails (instead of going to `Failed`). Default true.
    pub retry_initial_connect: bool,
    /// A connection that stayed up this long resets the attempt counter, so the next drop
    /// starts again at `min_delay`. Default 5 s.
    pub backoff_reset_after: Duration,
    /// Consecutive failures on one URL before trying the next. Default 2.
    pub failover_after: u32,
    /// Time allowed for TCP + TLS + WebSocket + protocol handshakes. Default 10 s.
    pub connect_timeout: Duration,
    /// How often the engine sends a WebSocket ping. Default 25 s.
    pub heartbeat_interval: Duration,
    /// How long after a ping with nothing received the connection is declared dead. Default 20 s.
    pub heartbeat_timeout: Duration,
    /// Heartbeat samples kept for p50/p99 latency. Default 100.
    pub latency_window: usize,
    /// When health becomes degraded or unhealthy.
    pub health: HealthThresholds,
    /// Outbox bound in messages. Default 100 (seed 003).
    pub outbox_max_messages: usize,
    /// Outbox bound in bytes. Default 1 MiB.
    pub outbox_max_bytes: usize,
    /// What a full outbox does. Default [`OverflowPolicy::DropOldest`].
    pub outbox_overflow: OverflowPolicy,
    /// Queued messages older than this are dropped (reported). Default `None` (never).
    pub outbox_ttl: Option<Duration>,
    /// Acknowledgement timeout when a send names none. Default 10 s.
    pub ack_timeout: Duration,
    /// Re-send acknowledged messages that were in flight when the connection dropped, with the
    /// same ack id, instead of failing them. Default false (at-most-once, as socket.io-client).
    pub at_least_once: bool,
    /// Outstanding acknowledgements allowed; more sends with acks are refused. Default 10,000.
    pub max_pending_acks: usize,
    /// String field of an incoming event's first argument that identifies it for
    /// de-duplication (at-least-once senders re-send). Default `Some("messageId")`.
    pub dedup_field: Option<String>,
    /// How many recent message ids are remembered for de-duplication. Default 1,024.
    pub dedup_window: usize,
    /// Largest message accepted in either direction, in bytes. Default 1 MiB.
    pub max_message_bytes: usize,
    /// Largest single WebSocket frame accepted, in bytes. Default 1 MiB.
    pub max_frame_bytes: usize,
    /// The read buffer each connection keeps, in bytes. Default 1 KiB (tungstenite's 128 KiB
    /// default would cost ~130 KB per idle connection). Not a limit on messages, and not how
    /// much one system call reads while data streams in on `ws://`: that is up to 16 KiB, in a
    /// buffer freed once drained. A `wss://` connection keeps at least 4 KiB (the buffer of
    /// tungstenite's handshake), besides rustls's own.
    pub read_buffer_bytes: usize,
    /// Socket write buffer in bytes before a flush is forced. Default 4 KiB.
    pub write_buffer_bytes: usize,
    /// While the app says the network is gone, retry only this often. Default 60 s.
    pub offline_retry_interval: Duration,
    /// Seed of the jitter RNG; `None` seeds from entropy. Default `None`.
    pub rng_seed: Option<u64>,
    /// Extra trusted CA certificates (DER) for `wss://`, e.g. a company CA. Default none.
    pub root_certificates: Vec<Vec<u8>>,
    /// Trust the built-in web PKI roots (Mozilla's). Default true.
    pub builtin_roots: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            urls: Vec::new(),
            protocol: ProtocolConfig::SocketIo(SocketIoConfig::default()),
            backoff: BackoffPolicy::default(),
            retry_initial_connect: true,
            backoff_reset_after: Duration::from_secs(5),
            failover_after: 2,
            connect_timeout: Duration::from_secs(10),
            heartbeat_interval: Duration::from_secs(25),
            heartbeat_timeout: Duration::from_secs(20),
            latency_window: 100,
            health: HealthThresholds::default(),
            outbox_max_messages: 100,
            outbox_max_bytes: 1024 * 1024,
            outbox_overflow: OverflowPolicy::DropOldest,
            outbox_ttl: None,
            ack_timeout: Duration::from_secs(10),
            at_least_once: false,
            max_pending_acks: 10_000,
            dedup_field: Some("messageId".to_owned()),
            dedup_window: 1024,
            max_message_bytes: 1024 * 1024,
            max_frame_bytes: 1024 * 1024,
            read_buffer_bytes: 1024,
            write_buffer_bytes: 4096,
            offline_retry_interval: Duration::from_secs(60),
            rng_seed: None,
            root_certificates: Vec::new(),
            builtin_roots: true,
        }
    }
}

impl Config {
    /// Defaults with one server URL, speaking Socket.IO.
    ///
    /// ```
    /// let config = tether_core::Config::new("wss://example.com");
    /// assert_eq!(config.urls, vec!["wss://example.com".to_owned()]);
    /// ```
    pub fn new(url: impl Into<String>) -> Self {
        Self { urls: vec![url.into()], ..Self::default() }
    }

    /// Adds a fallback URL, tried after `failover_after` failures on the previous one.
    ///
    /// ```
    /// let config = tether_core::Config::new("wss://a.example.com").with_fallback_url("wss://b.example.com");
    /// assert_eq!(config.urls.len(), 2);
    /// ```
    pub fn with_fallback_url(mut self, url: impl Into<String>) -> Self {
        self.urls.push(url.into());
        self
    }

    /// Speaks Socket.IO with these options.
    ///
    /// ```
    /// use tether_core::{Config, SocketIoConfig};
    /// let config = Config::new("ws://localhost:3000")
    ///     .with_socket_io(SocketIoConfig { namespaces: vec!["/".into(), "/admin".into()], ..Default::default() });
    /// ```
    pub fn with_socket_io(mut self, options: SocketIoConfig) -> Self {
        self.protocol = ProtocolConfig::SocketIo(options);
        self
    }

    /// Speaks plain WebSocket frames.
    ///
    /// ```
    /// use tether_core::{Config, RawWebSocketConfig};
    /// let config = Config::new("ws://localhost:9000").with_raw_websocket(RawWebSocketConfig::default());
    /// ```
    pub fn with_raw_websocket(mut self, options: RawWebSocketConfig) -> Self {
        self.protocol = ProtocolConfig::RawWebSocket(options);
        self
    }

    /// Sets the reconnect delay bounds.
    ///
    /// ```
    /// use std::time::Duration;
    /// let config = tether_core::Config::new("ws://h").with_reconnect_delays(Duration::from_millis(500), Duration::from_secs(60));
    /// assert_eq!(config.backoff.max_delay, Duration::from_secs(60));
    /// ```
    pub fn with_reconnect_delays(mut self, min: Duration, max: Duration) -> Self {
        self.backoff.min_delay = min;
        self.backoff.max_delay = max;
        self
    }

    /// Sets the backoff growth factor.
    ///
    /// ```
    /// let config = tether_core::Config::new("ws://h").with_backoff_factor(1.5);
    /// assert_eq!(config.backoff.factor, 1.5);
    /// ```
    pub fn with_backoff_factor(mut self, factor: f64) -> Self {
        self.backoff.factor = factor;
        self
    }

    /// Sets the jitter.
    ///
    /// ```
    /// use tether_core::{Config, Jitter};
    /// let config = Config::new("ws://h").with_jitter(Jitter::Equal);
    /// ```
    pub fn with_jitter(mut self, jitter: Jitter) -> Self {
        self.backoff.jitter = jitter;
        self
    }

    /// Gives up after `attempts` failed reconnects in a row (`None`: never).
    ///
    /// ```
    /// let config = tether_core::Config::new("ws://h").with_max_attempts(Some(5)); // seed 002
    /// ```
    pub fn with_max_attempts(mut self, attempts: Option<u32>) -> Self {
        self.backoff.max_attempts = attempts;
        self
    }

    /// Whether a failed first connect is retried.
    ///
    /// ```
    /// let config = tether_core::Config::new("ws://h").with_retry_initial_connect(false);
    /// ```
    pub fn with_retry_initial_connect(mut self, retry: bool) -> Self {
        self.retry_initial_connect = retry;
        self
    }

    /// How long a connection must stay up to reset the backoff.
    ///
    /// ```
    /// let config = tether_core::Config::new("ws://h").with_backoff_reset_after(std::time::Duration::from_secs(30));
    /// ```
    pub fn with_backoff_reset_after(mut self, after: Duration) -> Self {
        self.backoff_reset_after = after;
        self
    }

    /// Failures in a row on one URL before the next is tried.
    ///
    /// ```
    /// let config = tether_core::Config::new("ws://a").with_fallback_url("ws://b").with_failover_after(3);
    /// ```
    pub fn with_failover_after(mut self, failures: u32) -> Self {
        self.failover_after = failures;
        self
    }

    /// Time allowed to connect (all handshakes).
    ///
    /// ```
    /// let config = tether_core::Config::new("ws://h").with_connect_timeout(std::time::Duration::from_secs(5));
    /// ```
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Heartbeat ping interval and the silence after a ping that declares the connection dead.
    ///
    /// ```
    /// use std::time::Duration;
    /// // seed 003: every 30 s, dead after 45 s
    /// let config = tether_core::Config::new("ws://h").with_heartbeat(Duration::from_secs(30), Duration::from_secs(45));
    /// ```
    pub fn with_heartbeat(mut self, interval: Duration, timeout: Duration) -> Self {
        self.heartbeat_interval = interval;
        self.heartbeat_timeout = timeout;
        self
    }

    /// Heartbeat samples kept for percentiles.
    ///
    /// ```
    /// let config = tether_core::Config::new("ws://h").with_latency_window(500);
    /// ```
    pub fn with_latency_window(mut self, samples: usize) -> Self {
        self.latency_window = samples;
        self
    }

    /// Health thresholds.
    ///
    /// ```
    /// use tether_core::{Config, HealthThresholds};
    /// let config = Config::new("ws://h").with_health_thresholds(HealthThresholds {
    ///     degraded_rtt: std::time::Duration::from_millis(300),
    ///     ..HealthThresholds::default()
    /// });
    /// ```
    pub fn with_health_thresholds(mut self, thresholds: HealthThresholds) -> Self {
        self.health = thresholds;
        self
    }

    /// Outbox bounds: messages and bytes.
    ///
    /// ```
    /// let config = tether_core::Config::new("ws://h").with_outbox_limits(1000, 4 * 1024 * 1024);
    /// ```
    pub fn with_outbox_limits(mut self, max_messages: usize, max_bytes: usize) -> Self {
        self.outbox_max_messages = max_messages;
        self.outbox_max_bytes = max_bytes;
        self
    }

    /// What a full outbox does.
    ///
    /// ```
    /// use tether_core::{Config, OverflowPolicy};
    /// let config = Config::new("ws://h").with_overflow_policy(OverflowPolicy::Reject);
    /// ```
    pub fn with_overflow_policy(mut self, policy: OverflowPolicy) -> Self {
        self.outbox_overflow = policy;
        self
    }

    /// Drops queued messages older than `ttl`.
    ///
    /// ```
    /// let config = tether_core::Config::new("ws://h").with_outbox_ttl(Some(std::time::Duration::from_secs(300)));
    /// ```
    pub fn with_outbox_ttl(mut self, ttl: Option<Duration>) -> Self {
        self.outbox_ttl = ttl;
        self
    }

    /// Default acknowledgement timeout.
    ///
    /// ```
    /// let config = tether_core::Config::new("ws://h").with_ack_timeout(std::time::Duration::from_secs(5));
    /// ```
    pub fn with_ack_timeout(mut self, timeout: Duration) -> Self {
        self.ack_timeout = timeout;
        self
    }

    /// At-least-once delivery of acknowledged messages across reconnects.
    ///
    /// ```
    /// let config = tether_core::Config::new("ws://h").with_at_least_once(true);
    /// ```
    pub fn with_at_least_once(mut self, enabled: bool) -> Self {
        self.at_least_once = enabled;
        self
    }

    /// Outstanding acknowledgements allowed.
    ///
    /// ```
    /// let config = tether_core::Config::new("ws://h").with_max_pending_acks(1000);
    /// ```
    pub fn with_max_pending_acks(mut self, limit: usize) -> Self {
        self.max_pending_acks = limit;
        self
    }

    /// De-duplication key field and window (`None` turns de-duplication off).
    ///
    /// ```
    /// let config = tether_core::Config::new("ws://h").with_dedup(Some("id".into()), 4096);
    /// ```
    pub fn with_dedup(mut self, field: Option<String>, window: usize) -> Self {
        self.dedup_field = field;
        self.dedup_window = window;
        self
    }

    /// Largest message and frame accepted, in bytes.
    ///
    /// ```
    /// let config = tether_core::Config::new("ws://h").with_size_limits(256 * 1024, 256 * 1024);
    /// ```
    pub fn with_size_limits(mut self, max_message_bytes: usize, max_frame_bytes: usize) -> Self {
        self.max_message_bytes = max_message_bytes;
        self.max_frame_bytes = max_frame_bytes;
        self
    }

    /// Socket buffer sizes, in bytes.
    ///
    /// ```
    /// let config = tether_core::Config::new("ws://h").with_buffers(8192, 8192);
    /// ```
    pub fn with_buffers(mut self, read_bytes: usize, write_bytes: usize) -> Self {
        self.read_buffer_bytes = read_bytes;
        self.write_buffer_bytes = write_bytes;
        self
    }

    /// Retry interval while the app reports no network.
    ///
    /// ```
    /// let config = tether_core::Config::new("ws://h").with_offline_retry_interval(std::time::Duration::from_secs(120));
    /// ```
    pub fn with_offline_retry_interval(mut self, interval: Duration) -> Self {
        self.offline_retry_interval = interval;
        self
    }

    /// Seeds the jitter RNG (reproducible schedules in tests).
    ///
    /// ```
    /// let config = tether_core::Config::new("ws://h").with_rng_seed(42);
    /// ```
    pub fn with_rng_seed(mut self, seed: u64) -> Self {
        self.rng_seed = Some(seed);
        self
    }

    /// Trusts an extra CA certificate (DER) for `wss://`.
    ///
    /// ```
    /// let der: Vec<u8> = Vec::new(); // your CA's DER bytes
    /// let config = tether_core::Config::new("wss://h").with_root_certificate(der);
    /// ```
    pub fn with_root_certificate(mut self, der: Vec<u8>) -> Self {
        self.root_certificates.push(der);
        self
    }

    /// Whether the built-in web PKI roots are trusted.
    ///
    /// ```
    /// let config = tether_core::Config::new("wss://h").with_builtin_roots(false);
    /// ```
    pub fn with_builtin_roots(mut self, trust: bool) -> Self {
        self.builtin_roots = trust;
        self
    }

    /// The URLs, parsed and mapped to `ws`/`wss`.
    pub fn parsed_urls(&self) -> Result<Vec<Url>, ConfigError> {
        if self.urls.is_empty() {
            return Err(ConfigError::new("urls", "at least one server URL is needed"));
        }
        let mut urls: Vec<Url> =
            self.urls.iter().map(|u| parse_url(u)).collect::<Result<_, _>>()?;
        // A session keeps these for its life; collecting through `Result` starts at four slots.
        urls.shrink_to_fit();
        Ok(urls)
    }

    /// Checks every value; the error names the first bad field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.parsed_urls()?;
        let b = &self.backoff;
        positive("backoff.min_delay", b.min_delay)?;
        if b.max_delay < b.min_delay {
            return Err(ConfigError::new(
                "backoff.max_delay",
                "must not be below backoff.min_delay",
            ));
        }
        if !b.factor.is_finite() || b.factor < 1.0 {
            return Err(ConfigError::new(
                "backoff.factor",
                format!("must be a finite number >= 1, got {}", b.factor),
            ));
        }
        if b.max_attempts == Some(0) {
            return Err(ConfigError::new(
                "backoff.max_attempts",
                "must be at least 1 (or None for unlimited)",
            ));
        }
        if self.failover_after == 0 {
            return Err(ConfigError::new("failover_after", "must be at least 1"));
        }
        positive("connect_timeout", self.connect_timeout)?;
        positive("heartbeat_interval", self.heartbeat_interval)?;
        positive("heartbeat_timeout", self.heartbeat_timeout)?;
        positive("ack_timeout", self.ack_timeout)?;
        positive("offline_retry_interval", self.offline_retry_interval)?;
        if let Some(ttl) = self.outbox_ttl {
            positive("outbox_ttl", ttl)?;
        }
        at_least("latency_window", self.latency_window, 1)?;
        at_least("max_pending_acks", self.max_pending_acks, 1)?;
        at_least("max_message_bytes", self.max_message_bytes, 1)?;
        at_least("max_frame_bytes", self.max_frame_bytes, 1)?;
        at_least("read_buffer_bytes", self.read_buffer_bytes, 256)?;
        at_least("write_buffer_bytes", self.write_buffer_bytes, 256)?;
        if self.dedup_field.is_some() {
            at_least("dedup_window", self.dedup_window, 1)?;
        }
        let h = &self.health;
        if h.unhealthy_rtt < h.degraded_rtt {
            return Err(ConfigError::new(
                "health.unhealthy_rtt",
                "must not be below health.degraded_rtt",
            ));
        }
        if h.unhealthy_missed_heartbeats < h.degraded_missed_heartbeats {
            return Err(ConfigError::new(
                "health.unhealthy_missed_heartbeats",
                "must not be below health.degraded_missed_heartbeats",
            ));
        }
        if h.unhealthy_errors < h.degraded_errors {
            return Err(ConfigError::new(
                "health.unhealthy_errors",
                "must not be below health.degraded_errors",
            ));
        }
        positive("health.error_window", h.error_window)?;
        let durations = [
            ("backoff.max_delay", b.max_delay),
            ("backoff_reset_after", self.backoff_reset_after),
            ("connect_timeout", self.connect_timeout),
            ("heartbeat_interval", self.heartbeat_interval),
            ("heartbeat_timeout", self.heartbeat_timeout),
            ("ack_timeout", self.ack_timeout),
            ("offline_retry_interval", self.offline_retry_interval),
            ("outbox_ttl", self.outbox_ttl.unwrap_or_default()),
            ("health.error_window", h.error_window),
        ];
        if let Some((field, _)) = durations.iter().find(|(_, d)| *d > MAX_DURATION) {
            return Err(ConfigError::new(field, "must be at most a year (config::MAX_DURATION)"));
        }
        if let ProtocolConfig::SocketIo(sio) = &self.protocol {
            if !sio.path.starts_with('/') {
                return Err(ConfigError::new("socket_io.path", "must start with '/'"));
            }
            if sio.namespaces.is_empty() {
                return Err(ConfigError::new(
                    "socket_io.namespaces",
                    "at least one namespace is needed",
                ));
            }
            if let Some(bad) =
                sio.namespaces.iter().find(|n| !n.starts_with('/') || n.contains(','))
            {
                return Err(ConfigError::new(
                    "socket_io.namespaces",
                    format!("{bad:?} must start with '/' and contain no ','"),
                ));
            }
            if sio.join_event.is_empty() || sio.leave_event.is_empty() || sio.room_field.is_empty()
            {
                return Err(ConfigError::new(
                    "socket_io.join_event",
                    "join/leave event names and room_field must not be empty",
                ));
            }
        }
        Ok(())
    }
}

fn positive(field: &'static str, value: Duration) -> Result<(), ConfigError> {
    if value.is_zero() {
        return Err(ConfigError::new(field, "must be greater than zero"));
    }
    Ok(())
}

fn at_least(field: &'static str, value: usize, min: usize) -> Result<(), ConfigError> {
    if value < min {
        return Err(ConfigError::new(field, format!("must be at least {min}, got {value}")));
    }
    Ok(())
}

fn parse_url(raw: &str) -> Result<Url, ConfigError> {
    let mut url = Url::parse(raw)
        .map_err(|e| ConfigError::new("urls", format!("{raw:?} is not a URL: {e}")))?;
    let scheme = match url.scheme() {
        "ws" | "http" => "ws",
        "wss" | "https" => "wss",
        other => {
            return Err(ConfigError::new(
                "urls",
                format!("{raw:?}: scheme {other:?} is not ws, wss, http or https"),
            ))
        }
    };
    if url.host_str().is_none_or(str::is_empty) {
        return Err(ConfigError::new("urls", format!("{raw:?} has no host")));
    }
    url.set_scheme(scheme)
        .map_err(|()| ConfigError::new("urls", format!("{raw:?}: cannot use scheme {scheme}")))?;
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let urls =
            Config::new("https://example.com/x").with_fallback_url("http://h:1").parsed_urls();
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
        assert_eq!(field_of(base().with_outbox_ttl(Some(Duration::ZERO))), "outbox_ttl");
        assert_eq!(field_of(base().with_buffers(10, 4096)), "read_buffer_bytes");
        assert_eq!(field_of(base().with_size_limits(0, 1)), "max_message_bytes");
        assert_eq!(field_of(base().with_failover_after(0)), "failover_after");
        assert_eq!(field_of(base().with_ack_timeout(Duration::MAX)), "ack_timeout");
        assert_eq!(
            field_of(base().with_reconnect_delays(Duration::from_secs(1), Duration::MAX)),
            "backoff.max_delay"
        );
        assert_eq!(field_of(base().with_ack_timeout(MAX_DURATION)), "<valid>");
        let inverted = HealthThresholds {
            unhealthy_rtt: Duration::from_millis(1),
            ..HealthThresholds::default()
        };
        assert_eq!(field_of(base().with_health_thresholds(inverted)), "health.unhealthy_rtt");
        let bad_ns =
            SocketIoConfig { namespaces: vec!["admin".into()], ..SocketIoConfig::default() };
        assert_eq!(field_of(base().with_socket_io(bad_ns)), "socket_io.namespaces");
    }
}
