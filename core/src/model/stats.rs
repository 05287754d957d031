//! The numbers an app shows in a "connection details" view (seed 000's `getConnectionStats`) and
//! that the chaos soak adds up. Every message sent with an acknowledgement is, at any moment, in
//! exactly one of five places, so for an app whose sends all ask for one:
//!
//! `messages_sent == acked + ack_failed + queued + in_flight + dropped`
//!
//! (answered; failed after it left the outbox or timed out in it; waiting in the outbox, including
//! at-least-once messages put back there after a reconnect; written and awaiting its answer;
//! dropped from the outbox). A fire-and-forget message leaves the count once it is written.

use super::connection_state::ConnectionState;

use super::health::Health;

use super::latency::LatencyStats;

use super::health::Quality;
use super::transport_kind::TransportKind;
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
    /// Messages the app handed to `send*` and the engine accepted (with a durable outbox, the
    /// messages put back from its file when the client started count again, so that the sum
    /// above still holds).
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
    /// Messages dropped before sending (overflow, TTL, clear, close). A dropped message's
    /// acknowledgement fails with `Dropped`, but is counted here only, not in `ack_failed`.
    pub dropped: u64,
    /// Incoming duplicates suppressed by the de-duplication window.
    pub duplicates: u64,
    /// Acknowledgements received.
    pub acked: u64,
    /// Acknowledgements of messages that failed: timed out (in flight or in the outbox), lost
    /// with the connection (not at-least-once), or the client closed while they were in flight.
    /// Messages dropped from the outbox are counted in `dropped` instead.
    pub ack_failed: u64,
    /// Acknowledgements outstanding now, of every kind (messages queued or in flight, room joins
    /// and leaves): what `max_pending_acks` bounds.
    pub pending_acks: usize,
    /// Messages written to the socket whose acknowledgement has not come yet.
    pub in_flight: usize,
    /// Rooms joined.
    pub rooms: usize,
    /// The transport of the current connection (`None` when not connected). Over
    /// [`TransportKind::Polling`] the latency figures are the round trips of the polling
    /// requests that carry the client's packets (there are no WebSocket pings).
    pub transport: Option<TransportKind>,
    /// Streams open now (`events()`, `subscribe()`, and the ones the engine and the
    /// collaboration helpers read themselves). A dropped stream leaves at once.
    pub streams: usize,
    /// Events waiting in those streams for their readers now, over all of them.
    pub stream_queued: usize,
    /// The bytes of those events (as their size hints count them).
    pub stream_queued_bytes: usize,
    /// Events dropped from streams whose readers fell behind their bounds
    /// (`Config::stream_buffer`), over the client's life; each reader was told with a lag
    /// notice (`Event::Lagged`).
    pub stream_dropped: u64,
}
