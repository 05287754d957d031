//! The counters of a client, mirrored from [`tether_core::Stats`]. Durations are milliseconds.

use crate::health::{Health, Quality};
use crate::network::TransportKind;
use crate::state::ConnectionState;
use std::time::Duration;
use tether_core as core_api;

/// A snapshot of the client's counters.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Stats {
    /// True when connected.
    pub connected: bool,
    /// The connection state.
    pub state: ConnectionState,
    /// Health now.
    pub health: Health,
    /// Quality now.
    pub quality: Quality,
    /// How long the current connection has been up, in ms (`None` when not connected).
    pub uptime_ms: Option<u64>,
    /// Successful connects, the first included.
    pub connect_count: u64,
    /// Reconnect attempts started.
    pub reconnect_attempts: u64,
    /// Errors seen.
    pub error_count: u64,
    /// Heartbeat latency figures.
    pub latency: LatencyStats,
    /// Messages the engine accepted from the app.
    pub messages_sent: u64,
    /// Messages written to the socket (re-sends included).
    pub messages_out: u64,
    /// Messages received and delivered (duplicates excluded).
    pub messages_in: u64,
    /// Payload bytes written.
    pub bytes_out: u64,
    /// Payload bytes received.
    pub bytes_in: u64,
    /// Messages in the outbox now.
    pub queued: u64,
    /// Bytes in the outbox now.
    pub queued_bytes: u64,
    /// Messages dropped before sending (overflow, TTL, clear, close).
    pub dropped: u64,
    /// Incoming duplicates suppressed.
    pub duplicates: u64,
    /// Acknowledgements received.
    pub acked: u64,
    /// Acknowledgements that failed (timed out, connection lost, closed; drops count in
    /// `dropped`).
    pub ack_failed: u64,
    /// Acknowledgements outstanding now, of every kind (queued, in flight, room joins).
    pub pending_acks: u64,
    /// Messages written whose acknowledgement has not come yet.
    pub in_flight: u64,
    /// Rooms joined.
    pub rooms: u64,
    /// The transport of the current connection (`None` when not connected); over polling the
    /// latency figures are the polling requests' round trips.
    pub transport: Option<TransportKind>,
    /// Streams open now (every listener's subscription, and the engine's own).
    pub streams: u64,
    /// Events waiting in those streams for their listeners now.
    pub stream_queued: u64,
    /// Their bytes.
    pub stream_queued_bytes: u64,
    /// Events dropped from streams whose listeners fell behind, over the client's life.
    pub stream_dropped: u64,
}

/// Heartbeat latency in milliseconds (fractional); every figure `None` until the first pong.
#[derive(Debug, Clone, Copy, PartialEq, uniffi::Record)]
pub struct LatencyStats {
    /// The most recent round trip.
    pub last_ms: Option<f64>,
    /// Smoothed round trip (RFC 6298 SRTT).
    pub smoothed_ms: Option<f64>,
    /// Smoothed mean deviation (RFC 6298 RTTVAR).
    pub variance_ms: Option<f64>,
    /// The smallest round trip seen.
    pub min_ms: Option<f64>,
    /// Median of the recent window.
    pub p50_ms: Option<f64>,
    /// 99th percentile of the recent window.
    pub p99_ms: Option<f64>,
    /// Samples in the window.
    pub samples: u64,
}

fn ms_f64(d: Option<Duration>) -> Option<f64> {
    d.map(|d| d.as_secs_f64() * 1000.0)
}

/// A count as the FFI's `u64` (saturating where `usize` is wider).
pub(crate) fn wide(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

impl From<core_api::LatencyStats> for LatencyStats {
    fn from(l: core_api::LatencyStats) -> Self {
        Self {
            last_ms: ms_f64(l.last),
            smoothed_ms: ms_f64(l.smoothed),
            variance_ms: ms_f64(l.variance),
            min_ms: ms_f64(l.min),
            p50_ms: ms_f64(l.p50),
            p99_ms: ms_f64(l.p99),
            samples: wide(l.samples),
        }
    }
}

impl From<core_api::Stats> for Stats {
    fn from(s: core_api::Stats) -> Self {
        Self {
            connected: s.connected,
            state: s.state.into(),
            health: s.health.into(),
            quality: s.quality.into(),
            uptime_ms: s.uptime.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            connect_count: s.connect_count,
            reconnect_attempts: s.reconnect_attempts,
            error_count: s.error_count,
            latency: s.latency.into(),
            messages_sent: s.messages_sent,
            messages_out: s.messages_out,
            messages_in: s.messages_in,
            bytes_out: s.bytes_out,
            bytes_in: s.bytes_in,
            queued: wide(s.queued),
            queued_bytes: wide(s.queued_bytes),
            dropped: s.dropped,
            duplicates: s.duplicates,
            acked: s.acked,
            ack_failed: s.ack_failed,
            pending_acks: wide(s.pending_acks),
            in_flight: wide(s.in_flight),
            rooms: wide(s.rooms),
            transport: s.transport.map(Into::into),
            streams: wide(s.streams),
            stream_queued: wide(s.stream_queued),
            stream_queued_bytes: wide(s.stream_queued_bytes),
            stream_dropped: s.stream_dropped,
        }
    }
}
