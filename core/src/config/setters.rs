//! The `with_*` setters of [`Config`], each with its default and an example.

use super::backoff::{BackoffPolicy, Jitter};
use super::client_config::Config;
use super::health::HealthThresholds;
use super::outbox::OverflowPolicy;
use super::stream_buffer::StreamBuffer;
use crate::protocol::{PhoenixConfig, ProtocolConfig, RawWebSocketConfig, SocketIoConfig};
use std::path::PathBuf;
use std::time::Duration;

impl Config {
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

    /// Speaks Phoenix Channels v2 (Phoenix apps, Supabase Realtime) with these options.
    ///
    /// ```
    /// use tether_core::{Config, PhoenixConfig, ProtocolConfig};
    /// let config = Config::new("wss://example.com").with_phoenix(PhoenixConfig::default());
    /// assert!(matches!(config.protocol, ProtocolConfig::Phoenix(_)));
    /// ```
    pub fn with_phoenix(mut self, options: PhoenixConfig) -> Self {
        self.protocol = ProtocolConfig::Phoenix(options);
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

    /// Sets the delays between attempts to join a room again while connected (see
    /// [`Config::rejoin_backoff`]).
    ///
    /// ```
    /// use std::time::Duration;
    /// use tether_core::BackoffPolicy;
    /// let config = tether_core::Config::new("ws://h").with_rejoin_backoff(BackoffPolicy {
    ///     min_delay: Duration::from_millis(500),
    ///     max_delay: Duration::from_secs(5),
    ///     ..BackoffPolicy::default()
    /// });
    /// assert_eq!(config.rejoin_backoff.max_delay, Duration::from_secs(5));
    /// ```
    pub fn with_rejoin_backoff(mut self, policy: BackoffPolicy) -> Self {
        self.rejoin_backoff = policy;
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

    /// How long the probe sent on a return to the foreground (or a network change) may go
    /// unanswered before the connection is declared dead.
    ///
    /// ```
    /// let config = tether_core::Config::new("ws://h").with_probe_timeout(std::time::Duration::from_secs(3));
    /// assert_eq!(config.probe_timeout, std::time::Duration::from_secs(3));
    /// ```
    pub fn with_probe_timeout(mut self, timeout: Duration) -> Self {
        self.probe_timeout = timeout;
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

    /// Keeps the outbox in a file (SQLite) so that nothing queued is lost when the app is
    /// killed: see [`Config::durable_outbox`].
    ///
    /// ```
    /// use std::time::Duration;
    /// let dir = std::env::temp_dir();
    /// let config = tether_core::Config::new("ws://h")
    ///     .with_durable_outbox(dir.join("tether-outbox.sqlite"))
    ///     .with_outbox_ttl(Some(Duration::from_secs(24 * 60 * 60))) // seed 001: 24 hours
    ///     .with_at_least_once(true);
    /// assert!(config.durable_outbox.is_some());
    /// ```
    pub fn with_durable_outbox(mut self, path: impl Into<PathBuf>) -> Self {
        self.durable_outbox = Some(path.into());
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

    /// Bounds (items, bytes) and overflow policy of every stream the app reads.
    ///
    /// ```
    /// use tether_core::{Config, StreamBuffer, StreamOverflow};
    /// let config = Config::new("ws://h")
    ///     .with_stream_buffer(StreamBuffer::new(512, 1024 * 1024).with_overflow(StreamOverflow::DropNewest));
    /// assert_eq!(config.stream_buffer.max_items, 512);
    /// ```
    pub fn with_stream_buffer(mut self, buffer: StreamBuffer) -> Self {
        self.stream_buffer = buffer;
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
}
