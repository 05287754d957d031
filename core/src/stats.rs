//! The numbers an app shows in a "connection details" view (seed 000's `getConnectionStats`) and
//! that the chaos tests add up (`sent == acked + ack_failed + queued + dropped` for acked sends).

use crate::connection_state::ConnectionState;
use crate::health::{Health, Quality};
use crate::rtt::LatencyStats;
use std::time::Duration;

/// A snapshot of the client's counters.
#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    /// True when connected.
    pub connected: bool,
    /// The connection state.
    pub state: ConnectionState,
    /// Health now.
    pub health: Health,
    /// Quality now.
    pub quality: Quality,
    /// How long the current connection has been up (`None` when not connected).
    pub uptime: Option<Duration>,
    /// Successful connects (handshakes completed), first one included.
    pub connect_count: u64,
    /// Reconnect attempts started, over the client's life.
    pub reconnect_attempts: u64,
    /// Errors seen (transport, protocol, malformed input).
    pub error_count: u64,
    /// Heartbeat latency figures.
    pub latency: LatencyStats,
    /// Messages the app handed to `send*` and the engine accepted.
    pub messages_sent: u64,
    /// Messages written to the socket (re-sends included).
    pub messages_out: u64,
    /// Messages received and delivered to the app (duplicates excluded).
    pub messages_in: u64,
    /// Payload bytes written.
    pub bytes_out: u64,
    /// Payload bytes received.
    pub bytes_in: u64,
    /// Messages in the outbox now.
    pub queued: usize,
    /// Bytes in the outbox now.
    pub queued_bytes: usize,
    /// Messages dropped before sending (overflow, TTL, clear, close).
    pub dropped: u64,
    /// Incoming duplicates suppressed by the de-duplication window.
    pub duplicates: u64,
    /// Acknowledgements received.
    pub acked: u64,
    /// Acknowledgements that failed (timeout, connection lost, closed, dropped).
    pub ack_failed: u64,
    /// Acknowledgements outstanding now.
    pub pending_acks: usize,
    /// Rooms joined.
    pub rooms: usize,
}

/// The running counters the session keeps (the snapshot adds the live figures).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Counters {
    pub connect_count: u64,
    pub reconnect_attempts: u64,
    pub error_count: u64,
    pub messages_sent: u64,
    pub messages_out: u64,
    pub messages_in: u64,
    pub bytes_out: u64,
    pub bytes_in: u64,
    pub dropped: u64,
    pub duplicates: u64,
    pub acked: u64,
    pub ack_failed: u64,
}
