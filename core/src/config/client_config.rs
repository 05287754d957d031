//! The `Config` struct: every knob of the client with its default and unit. Setters are in
//! `setters`, validation in `validate`.

use super::backoff::BackoffPolicy;
use super::health::HealthThresholds;
use super::network::NetworkConfig;
use super::outbox::OverflowPolicy;
use super::stream_buffer::StreamBuffer;
use crate::protocol::{ProtocolConfig, SocketIoConfig};
use std::path::PathBuf;
use std::time::Duration;

/// The longest duration any setting accepts: a year. Deadlines are `now + duration`, and far
/// beyond this they stop being representable (`Duration::MAX` would panic), so "never" is
/// spelled as a long time, or `None` where a setting is optional.
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// The client's configuration. Build it with [`Config::new`] and the `with_*` setters, or as a
/// struct literal over `Config::default()`; [`Config::validate`] runs before the client starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Server URLs (`ws://`, `wss://`; `http(s)://` is taken as `ws(s)://`). The first is used
    /// first; after `failover_after` failures in a row the next is tried. Default: none (set one).
    pub urls: Vec<String>,
    /// The wire protocol. Default Socket.IO.
    pub protocol: ProtocolConfig,
    /// Reconnect delays. Default 1 s doubling to 30 s, unlimited attempts; the first retry
    /// drawn from 0-1 s, later ones from half to one and a half times the previous attempt's
    /// nominal delay ([`crate::Jitter::FirstFromZero`]).
    pub backoff: BackoffPolicy,
    /// Delays between attempts to join a room again while the connection stays up, after its
    /// join timed out or the server lost it (Phoenix's `phx_error`). Default 1 s doubling to
    /// 10 s, jittered the same way, unlimited (phoenix.js rejoins after 1, 2, 5, then every 10 s).
    /// `max_attempts` counts failures in a row on one connection.
    pub rejoin_backoff: BackoffPolicy,
    /// Retry when the very first connect fails (instead of going to `Failed`). Default true.
    pub retry_initial_connect: bool,
    /// A connection that stayed up this long resets the attempt counter, so the next drop
    /// starts again at `min_delay`. Default 5 s.
    pub backoff_reset_after: Duration,
    /// Consecutive failures on one URL before trying the next. Default 2.
    pub failover_after: u32,
    /// Time allowed for TCP + proxy + TLS + WebSocket (or polling) + protocol handshakes.
    /// Default 10 s.
    pub connect_timeout: Duration,
    /// How often the engine sends a WebSocket ping (its pong is a latency sample). Default
    /// 25 s. Over Socket.IO the ping goes out with the answer to the server's own heartbeat
    /// (Engine.IO's ping) when one is due, so the interval is kept within 0.5-1.75 times this
    /// while the server's heartbeats arrive, and exactly this when they do not.
    pub heartbeat_interval: Duration,
    /// How long after a ping with nothing received the connection is declared dead. Default 20 s.
    pub heartbeat_timeout: Duration,
    /// How long the probe sent when the app comes back to the foreground (or the network
    /// changes) may go unanswered before the connection is declared dead: a socket that died
    /// while the app was suspended is found in seconds instead of after `heartbeat_timeout`.
    /// Default 5 s.
    pub probe_timeout: Duration,
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
    /// Queued messages older than this are dropped (reported). Default `None` (never). Seed 001
    /// keeps messages for 24 hours: `Some(Duration::from_secs(86_400))`. Counts time the device
    /// slept, and with a durable outbox the time the app was not running.
    pub outbox_ttl: Option<Duration>,
    /// A file for a durable outbox (SQLite, WAL): messages accepted while offline, and
    /// at-least-once messages sent and not yet acknowledged, are written there before `send`
    /// returns and sent again after the app restarts, with their `messageId`s, so receivers
    /// keep them exactly once. The de-duplication window of incoming messages is kept there
    /// too. With a durable outbox, closing the client keeps what is queued (for its next
    /// `connect` or the app's next start); `clear_outbox` empties it. One client per file at a
    /// time. If the file cannot be used (corrupt, locked, unwritable) the client works in
    /// memory and says why (`Client::storage_error`, an [`crate::ErrorKind::Storage`] event).
    /// Default `None` (the outbox lives in memory only).
    pub durable_outbox: Option<PathBuf>,
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
    /// The bounds of every stream the app reads (`events()`, `subscribe()` unless its options
    /// name their own), each reader's queue on its own, and what a full one drops. Default
    /// 16,384 events or 16 MiB, dropping the oldest ([`StreamBuffer`]). A change through
    /// `update_config` applies to streams made afterwards.
    pub stream_buffer: StreamBuffer,
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
    /// Transports, proxy, handshake headers, cookies, and TLS beyond the trust store.
    pub network: NetworkConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            urls: Vec::new(),
            protocol: ProtocolConfig::SocketIo(SocketIoConfig::default()),
            backoff: BackoffPolicy::default(),
            rejoin_backoff: BackoffPolicy {
                max_delay: Duration::from_secs(10),
                ..BackoffPolicy::default()
            },
            retry_initial_connect: true,
            backoff_reset_after: Duration::from_secs(5),
            failover_after: 2,
            connect_timeout: Duration::from_secs(10),
            heartbeat_interval: Duration::from_secs(25),
            heartbeat_timeout: Duration::from_secs(20),
            probe_timeout: Duration::from_secs(5),
            latency_window: 100,
            health: HealthThresholds::default(),
            outbox_max_messages: 100,
            outbox_max_bytes: 1024 * 1024,
            outbox_overflow: OverflowPolicy::DropOldest,
            outbox_ttl: None,
            durable_outbox: None,
            ack_timeout: Duration::from_secs(10),
            at_least_once: false,
            max_pending_acks: 10_000,
            dedup_field: Some("messageId".to_owned()),
            dedup_window: 1024,
            max_message_bytes: 1024 * 1024,
            stream_buffer: StreamBuffer::default(),
            max_frame_bytes: 1024 * 1024,
            read_buffer_bytes: 1024,
            write_buffer_bytes: 4096,
            offline_retry_interval: Duration::from_secs(60),
            rng_seed: None,
            root_certificates: Vec::new(),
            builtin_roots: true,
            network: NetworkConfig::default(),
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
}
