//! The running counters behind [`crate::Stats`]: what the session adds up as it goes.

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
