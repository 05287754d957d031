//! What the durable outbox keeps: the changes the session hands the store, one batch (one
//! transaction) at a time, and what the store gives back when a client starts. Data only: the
//! session decides what to keep and when to forget it, the store writes it.
//!
//! Times are durations left, measured from the moment the batch was made (the session's
//! `now`) or the state was loaded: the session thinks in `Instant`s, which mean nothing in
//! another process, and the store turns them into wall-clock ages that survive a restart.

use super::message::OutgoingMessage;
use std::time::Duration;

/// How a kept message asked to be acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredAck {
    /// Re-sent after reconnects and restarts until acknowledged (at-least-once).
    pub at_least_once: bool,
    /// Time left before its acknowledgement times out.
    pub expires_in: Duration,
}

/// A message the durable outbox keeps until it is written (fire and forget), acknowledged
/// (at-least-once), or dropped.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredMessage {
    /// Its place in the queue: unique within its store, increasing in the order the engine
    /// accepted messages, so the queue comes back in the same order after a restart.
    pub seq: u64,
    /// The message, its `messageId` (the de-duplication field) included.
    pub message: OutgoingMessage,
    /// The acknowledgement it asked for, if any.
    pub ack: Option<StoredAck>,
    /// Time left before the outbox TTL drops it (`None`: no TTL).
    pub expires_in: Option<Duration>,
}

/// The changes of one turn of the engine, written in one transaction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoreBatch {
    /// Messages to keep (accepted while offline, or at-least-once messages on their way).
    pub persist: Vec<StoredMessage>,
    /// Messages to forget, by `seq` (written, acknowledged, dropped or timed out).
    pub forget: Vec<u64>,
    /// Keys of incoming messages seen for the first time (the de-duplication window), oldest
    /// first.
    pub seen: Vec<u64>,
    /// How many `seen` keys the store keeps (the newest).
    pub seen_window: usize,
    /// Sequence numbers below this are taken: a restarted client starts its ids here. Set when
    /// the session reserves a new block of them.
    pub reserved_until: Option<u64>,
}

impl StoreBatch {
    /// True when there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.persist.is_empty()
            && self.forget.is_empty()
            && self.seen.is_empty()
            && self.reserved_until.is_none()
    }
}

/// What a store holds when a client starts.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredState {
    /// The store's own random id: the prefix of the message ids the engine assigns, so that ids
    /// from two devices (or two stores) never collide.
    pub instance: String,
    /// The first sequence number not taken yet.
    pub next_seq: u64,
    /// The kept messages, in `seq` order, their times measured from the load.
    pub messages: Vec<StoredMessage>,
    /// The key of the de-duplication hash (fixed for the life of the store, so the keys kept in
    /// `seen` still match after a restart).
    pub dedup_key: (u64, u64),
    /// The de-duplication window's keys, oldest first.
    pub seen: Vec<u64>,
}
