//! [`ClientConfig`]: the core's [`tether_core::Config`] as a record whose defaults are the
//! core's defaults, so Swift and Kotlin callers name only what they change:
//! `ClientConfig(urls = listOf("wss://example.com"), ackTimeoutMs = 5_000u)`.
//!
//! Units are in the names (`_ms`, `_bytes`). uniffi cannot give enum-typed fields a default, so
//! those are optional and `None` means the core's default (named on each field).

use crate::buffer::StreamBufferOptions;
use crate::error::TetherError;
use crate::network::NetworkOptions;
use crate::protocol_options::{
    protocol_config, PhoenixOptions, RawWebSocketOptions, SocketIoOptions, WireProtocol,
};
use std::time::Duration;
use tether_core as core_api;

/// Every knob of a client. Defaults are the core's (`default_config()` returns them).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ClientConfig {
    /// Server URLs (`ws://`, `wss://`; `http(s)://` is taken as `ws(s)://`). The first is used
    /// first; after `failover_after` failures in a row the next. Set at least one.
    #[uniffi(default = [])]
    pub urls: Vec<String>,
    /// The wire protocol. `None`: Socket.IO.
    #[uniffi(default = None)]
    pub protocol: Option<WireProtocol>,
    /// Socket.IO options (used when the protocol is Socket.IO).
    #[uniffi(default)]
    pub socket_io: SocketIoOptions,
    /// Raw WebSocket options (used when the protocol is raw WebSocket).
    #[uniffi(default)]
    pub raw_websocket: RawWebSocketOptions,
    /// Phoenix Channels options (used when the protocol is Phoenix).
    #[uniffi(default)]
    pub phoenix: PhoenixOptions,
    /// Reconnect delays: 1 s doubling to 30 s, the first retry drawn from 0-1 s, unlimited attempts by default.
    #[uniffi(default)]
    pub backoff: BackoffOptions,
    /// Delays between attempts to join a room again while connected (after a join timed out
    /// or the server lost the room): 1 s doubling to 10 s, jittered the same way, unlimited by default.
    #[uniffi(default)]
    pub rejoin: RejoinOptions,
    /// Retry when the very first connect fails (instead of failing). Default true.
    #[uniffi(default = true)]
    pub retry_initial_connect: bool,
    /// A connection up this long resets the backoff. Default 5,000 ms.
    #[uniffi(default = 5000)]
    pub backoff_reset_after_ms: u64,
    /// Failures in a row on one URL before the next is tried. Default 2.
    #[uniffi(default = 2)]
    pub failover_after: u32,
    /// Time allowed for TCP + TLS + WebSocket + protocol handshakes. Default 10,000 ms.
    #[uniffi(default = 10000)]
    pub connect_timeout_ms: u64,
    /// How often a heartbeat ping is sent. Default 25,000 ms.
    #[uniffi(default = 25000)]
    pub heartbeat_interval_ms: u64,
    /// Silence after a ping that declares the connection dead. Default 20,000 ms.
    #[uniffi(default = 20000)]
    pub heartbeat_timeout_ms: u64,
    /// How long the probe sent when the app returns to the foreground (or the network changes)
    /// may go unanswered before the connection is declared dead. Default 5,000 ms.
    #[uniffi(default = 5000)]
    pub probe_timeout_ms: u64,
    /// Heartbeat samples kept for p50/p99 latency. Default 100.
    #[uniffi(default = 100)]
    pub latency_window: u32,
    /// When health becomes degraded or unhealthy.
    #[uniffi(default)]
    pub health: HealthThresholds,
    /// Outbox bound in messages. Default 100.
    #[uniffi(default = 100)]
    pub outbox_max_messages: u64,
    /// Outbox bound in bytes. Default 1 MiB.
    #[uniffi(default = 1048576)]
    pub outbox_max_bytes: u64,
    /// What a full outbox does. `None`: drop the oldest.
    #[uniffi(default = None)]
    pub outbox_overflow: Option<OverflowPolicy>,
    /// Queued messages older than this are dropped (time asleep and time the app was not
    /// running count). Default `None` (never); seed 001's 24 hours: `86_400_000`.
    #[uniffi(default = None)]
    pub outbox_ttl_ms: Option<u64>,
    /// A file for a durable outbox (SQLite): messages accepted while offline, and at-least-once
    /// messages not yet acknowledged, are written there before the send returns and sent again
    /// with their `messageId` after the app restarts; the de-duplication window of incoming
    /// messages is kept there too. Closing the client keeps the queue (`clearOutbox` empties
    /// it). A file that cannot be used leaves the client in memory (`storageError()` says why).
    /// Put it in the app's own files (iOS: Application Support; Android: `filesDir`). Default
    /// `None`: the outbox lives in memory only.
    #[uniffi(default = None)]
    pub durable_outbox_path: Option<String>,
    /// Acknowledgement timeout when a send names none. Default 10,000 ms.
    #[uniffi(default = 10000)]
    pub ack_timeout_ms: u64,
    /// Re-send acknowledged messages in flight when the connection dropped. Default false.
    #[uniffi(default = false)]
    pub at_least_once: bool,
    /// Outstanding acknowledgements allowed. Default 10,000.
    #[uniffi(default = 10000)]
    pub max_pending_acks: u64,
    /// String field of an incoming event's first argument used to drop duplicates (`None`
    /// turns de-duplication off). Default `"messageId"`.
    #[uniffi(default = Some("messageId"))]
    pub dedup_field: Option<String>,
    /// Recent message ids remembered for de-duplication. Default 1,024.
    #[uniffi(default = 1024)]
    pub dedup_window: u64,
    /// Largest message accepted in either direction. Default 1 MiB.
    #[uniffi(default = 1048576)]
    pub max_message_bytes: u64,
    /// The bounds of every subscription's queue (listeners that fall behind lose what the
    /// policy drops, and are told). Default 16,384 items or 16 MiB, dropping the oldest.
    #[uniffi(default)]
    pub stream_buffer: StreamBufferOptions,
    /// Largest WebSocket frame accepted. Default 1 MiB.
    #[uniffi(default = 1048576)]
    pub max_frame_bytes: u64,
    /// Socket read buffer kept by every connection. Default 1 KiB (reads grow to 16 KiB while
    /// data streams in on `ws://`; `wss://` keeps at least 4 KiB).
    #[uniffi(default = 1024)]
    pub read_buffer_bytes: u64,
    /// Socket write buffer before a flush is forced. Default 4 KiB.
    #[uniffi(default = 4096)]
    pub write_buffer_bytes: u64,
    /// While the app says the network is gone, retry only this often. Default 60,000 ms.
    #[uniffi(default = 60000)]
    pub offline_retry_interval_ms: u64,
    /// Seed of the jitter RNG (reproducible schedules in tests). Default `None` (entropy).
    #[uniffi(default = None)]
    pub rng_seed: Option<u64>,
    /// Extra trusted CA certificates (DER) for `wss://`. Default none.
    #[uniffi(default = [])]
    pub root_certificates: Vec<Vec<u8>>,
    /// Trust the built-in web PKI roots. Default true.
    #[uniffi(default = true)]
    pub builtin_roots: bool,
    /// Transports, proxy, handshake headers, cookies, pinning, client certificate.
    #[uniffi(default)]
    pub network: NetworkOptions,
}

/// The reconnect schedule.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct BackoffOptions {
    /// Delay before the first retry, and the lower bound of every delay. Default 1,000 ms.
    #[uniffi(default = 1000)]
    pub min_delay_ms: u64,
    /// Upper bound of every delay. Default 30,000 ms.
    #[uniffi(default = 30000)]
    pub max_delay_ms: u64,
    /// Growth per failed attempt, at least 1. Default 2.0.
    #[uniffi(default = 2.0)]
    pub factor: f64,
    /// Randomness applied to each delay. `None`: `FirstFromZero` (the default).
    #[uniffi(default = None)]
    pub jitter: Option<Jitter>,
    /// Give up (state `Failed`) after this many failed attempts in a row. Default `None`
    /// (retry forever).
    #[uniffi(default = None)]
    pub max_attempts: Option<u32>,
}

/// The rejoin schedule of rooms, while connected (the core's `Config::rejoin_backoff`).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct RejoinOptions {
    /// Delay before the first rejoin. Default 1,000 ms.
    #[uniffi(default = 1000)]
    pub min_delay_ms: u64,
    /// Upper bound of every delay. Default 10,000 ms.
    #[uniffi(default = 10000)]
    pub max_delay_ms: u64,
    /// Growth per failure, at least 1. Default 2.0.
    #[uniffi(default = 2.0)]
    pub factor: f64,
    /// Randomness applied to each delay. `None`: `FirstFromZero` (the default).
    #[uniffi(default = None)]
    pub jitter: Option<Jitter>,
    /// Give a room up until the next connection after this many failures in a row. Default
    /// `None` (keep trying).
    #[uniffi(default = None)]
    pub max_attempts: Option<u32>,
}

impl Default for RejoinOptions {
    fn default() -> Self {
        Self {
            min_delay_ms: 1000,
            max_delay_ms: 10_000,
            factor: 2.0,
            jitter: None,
            max_attempts: None,
        }
    }
}

impl From<RejoinOptions> for core_api::BackoffPolicy {
    fn from(r: RejoinOptions) -> Self {
        BackoffOptions {
            min_delay_ms: r.min_delay_ms,
            max_delay_ms: r.max_delay_ms,
            factor: r.factor,
            jitter: r.jitter,
            max_attempts: r.max_attempts,
        }
        .into()
    }
}

/// How randomness spreads reconnect attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Jitter {
    /// Exactly the exponential delay.
    None,
    /// The first retry uniform between zero and the minimum, later ones between half and one
    /// and a half times the previous attempt's exponential delay (the default).
    FirstFromZero,
    /// Uniform between the minimum and the exponential delay: never earlier than the minimum.
    Full,
    /// Half the exponential delay plus a uniform share of the other half.
    Equal,
}

/// What a full outbox does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum OverflowPolicy {
    /// Drop the oldest queued messages (the default).
    DropOldest,
    /// Drop the new message.
    DropNewest,
    /// Refuse the send with `QueueFull`.
    Reject,
}

/// When health drops a level.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HealthThresholds {
    /// Smoothed round trip at or above which the connection is degraded. Default 500 ms.
    #[uniffi(default = 500)]
    pub degraded_rtt_ms: u64,
    /// Smoothed round trip at or above which it is unhealthy. Default 2,000 ms.
    #[uniffi(default = 2000)]
    pub unhealthy_rtt_ms: u64,
    /// Unanswered heartbeats in a row that make it degraded. Default 1.
    #[uniffi(default = 1)]
    pub degraded_missed_heartbeats: u32,
    /// Unanswered heartbeats in a row that make it unhealthy. Default 2.
    #[uniffi(default = 2)]
    pub unhealthy_missed_heartbeats: u32,
    /// Errors within the window that make it degraded. Default 3.
    #[uniffi(default = 3)]
    pub degraded_errors: u32,
    /// Errors within the window that make it unhealthy. Default 10.
    #[uniffi(default = 10)]
    pub unhealthy_errors: u32,
    /// How long an error counts against health. Default 60,000 ms.
    #[uniffi(default = 60000)]
    pub error_window_ms: u64,
}

/// The defaults, as the foreign constructors fill them in (enum fields `None`).
impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            urls: Vec::new(),
            protocol: None,
            socket_io: SocketIoOptions::default(),
            raw_websocket: RawWebSocketOptions::default(),
            phoenix: PhoenixOptions::default(),
            backoff: BackoffOptions::default(),
            rejoin: RejoinOptions::default(),
            retry_initial_connect: true,
            backoff_reset_after_ms: 5000,
            failover_after: 2,
            connect_timeout_ms: 10_000,
            heartbeat_interval_ms: 25_000,
            heartbeat_timeout_ms: 20_000,
            probe_timeout_ms: 5000,
            latency_window: 100,
            health: HealthThresholds::default(),
            outbox_max_messages: 100,
            outbox_max_bytes: 1_048_576,
            outbox_overflow: None,
            outbox_ttl_ms: None,
            durable_outbox_path: None,
            ack_timeout_ms: 10_000,
            at_least_once: false,
            max_pending_acks: 10_000,
            dedup_field: Some("messageId".to_owned()),
            dedup_window: 1024,
            max_message_bytes: 1_048_576,
            stream_buffer: StreamBufferOptions::default(),
            max_frame_bytes: 1_048_576,
            read_buffer_bytes: 1024,
            write_buffer_bytes: 4096,
            offline_retry_interval_ms: 60_000,
            rng_seed: None,
            root_certificates: Vec::new(),
            builtin_roots: true,
            network: NetworkOptions::default(),
        }
    }
}

impl Default for BackoffOptions {
    fn default() -> Self {
        Self {
            min_delay_ms: 1000,
            max_delay_ms: 30_000,
            factor: 2.0,
            jitter: None,
            max_attempts: None,
        }
    }
}

impl Default for HealthThresholds {
    fn default() -> Self {
        Self {
            degraded_rtt_ms: 500,
            unhealthy_rtt_ms: 2000,
            degraded_missed_heartbeats: 1,
            unhealthy_missed_heartbeats: 2,
            degraded_errors: 3,
            unhealthy_errors: 10,
            error_window_ms: 60_000,
        }
    }
}

/// The defaults (the core's), e.g. to show them in a settings screen.
#[uniffi::export]
pub fn default_config() -> ClientConfig {
    ClientConfig::default()
}

/// Checks a config without creating a client; the error names the first bad field.
#[uniffi::export]
pub fn validate_config(config: ClientConfig) -> Result<(), TetherError> {
    let config = core_api::Config::try_from(config)?;
    config.validate()?;
    Ok(())
}

fn ms(value: u64) -> Duration {
    Duration::from_millis(value)
}

/// A count that must fit the platform's `usize` (32 bits on armeabi-v7a).
fn count(field: &str, value: u64) -> Result<usize, TetherError> {
    usize::try_from(value).map_err(|_| TetherError::InvalidConfig {
        message: format!("invalid config `{field}`: {value} is too large for this platform"),
    })
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl TryFrom<ClientConfig> for core_api::Config {
    type Error = TetherError;

    /// Converts field by field; range checks are the core's `validate` (run by the client).
    fn try_from(c: ClientConfig) -> Result<Self, TetherError> {
        let protocol = protocol_config(c.protocol, c.socket_io, c.raw_websocket, c.phoenix)?;
        Ok(Self {
            urls: c.urls,
            protocol,
            backoff: c.backoff.into(),
            rejoin_backoff: c.rejoin.into(),
            retry_initial_connect: c.retry_initial_connect,
            backoff_reset_after: ms(c.backoff_reset_after_ms),
            failover_after: c.failover_after,
            connect_timeout: ms(c.connect_timeout_ms),
            heartbeat_interval: ms(c.heartbeat_interval_ms),
            heartbeat_timeout: ms(c.heartbeat_timeout_ms),
            probe_timeout: ms(c.probe_timeout_ms),
            latency_window: count("latency_window", c.latency_window.into())?,
            health: c.health.into(),
            outbox_max_messages: count("outbox_max_messages", c.outbox_max_messages)?,
            outbox_max_bytes: count("outbox_max_bytes", c.outbox_max_bytes)?,
            outbox_overflow: c.outbox_overflow.map(Into::into).unwrap_or_default(),
            outbox_ttl: c.outbox_ttl_ms.map(ms),
            durable_outbox: c.durable_outbox_path.map(std::path::PathBuf::from),
            ack_timeout: ms(c.ack_timeout_ms),
            at_least_once: c.at_least_once,
            max_pending_acks: count("max_pending_acks", c.max_pending_acks)?,
            dedup_field: c.dedup_field,
            dedup_window: count("dedup_window", c.dedup_window)?,
            max_message_bytes: count("max_message_bytes", c.max_message_bytes)?,
            stream_buffer: c.stream_buffer.into(),
            max_frame_bytes: count("max_frame_bytes", c.max_frame_bytes)?,
            read_buffer_bytes: count("read_buffer_bytes", c.read_buffer_bytes)?,
            write_buffer_bytes: count("write_buffer_bytes", c.write_buffer_bytes)?,
            offline_retry_interval: ms(c.offline_retry_interval_ms),
            rng_seed: c.rng_seed,
            root_certificates: c.root_certificates,
            builtin_roots: c.builtin_roots,
            network: c.network.try_into()?,
        })
    }
}

impl From<BackoffOptions> for core_api::BackoffPolicy {
    fn from(b: BackoffOptions) -> Self {
        Self {
            min_delay: ms(b.min_delay_ms),
            max_delay: ms(b.max_delay_ms),
            factor: b.factor,
            jitter: b.jitter.map(Into::into).unwrap_or_default(),
            max_attempts: b.max_attempts,
        }
    }
}

impl From<HealthThresholds> for core_api::HealthThresholds {
    fn from(h: HealthThresholds) -> Self {
        Self {
            degraded_rtt: ms(h.degraded_rtt_ms),
            unhealthy_rtt: ms(h.unhealthy_rtt_ms),
            degraded_missed_heartbeats: h.degraded_missed_heartbeats,
            unhealthy_missed_heartbeats: h.unhealthy_missed_heartbeats,
            degraded_errors: h.degraded_errors,
            unhealthy_errors: h.unhealthy_errors,
            error_window: ms(h.error_window_ms),
        }
    }
}

impl From<core_api::HealthThresholds> for HealthThresholds {
    fn from(h: core_api::HealthThresholds) -> Self {
        Self {
            degraded_rtt_ms: millis(h.degraded_rtt),
            unhealthy_rtt_ms: millis(h.unhealthy_rtt),
            degraded_missed_heartbeats: h.degraded_missed_heartbeats,
            unhealthy_missed_heartbeats: h.unhealthy_missed_heartbeats,
            degraded_errors: h.degraded_errors,
            unhealthy_errors: h.unhealthy_errors,
            error_window_ms: millis(h.error_window),
        }
    }
}

impl From<Jitter> for core_api::Jitter {
    fn from(j: Jitter) -> Self {
        match j {
            Jitter::None => Self::None,
            Jitter::FirstFromZero => Self::FirstFromZero,
            Jitter::Full => Self::Full,
            Jitter::Equal => Self::Equal,
        }
    }
}

impl From<OverflowPolicy> for core_api::OverflowPolicy {
    fn from(p: OverflowPolicy) -> Self {
        match p {
            OverflowPolicy::DropOldest => Self::DropOldest,
            OverflowPolicy::DropNewest => Self::DropNewest,
            OverflowPolicy::Reject => Self::Reject,
        }
    }
}

#[cfg(test)]
mod tests;
