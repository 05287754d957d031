//! The bounds of the streams listeners read ([`tether_core::StreamBuffer`]) as a record whose
//! defaults are the core's, and what one stream holds ([`StreamStats`]), read from the
//! [`crate::TaskHandle`] of a subscription.
//!
//! Each subscription reads through a queue of its own on the Rust side, bounded in items and
//! bytes; a listener that falls behind loses what the overflow policy drops, and is told how
//! many (`Event::Lagged`, or a `LagListener`) before the next thing it gets.

use crate::stats::wide;
use tether_core as core_api;

/// What a full stream drops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum StreamOverflow {
    /// Drop the oldest queued items: a listener that catches up gets the newest (the default;
    /// Swift `.bufferingNewest`, Kotlin `BufferOverflow.DROP_OLDEST`).
    DropOldest,
    /// Drop new items while full: a listener that catches up gets what was queued first
    /// (Swift `.bufferingOldest`, Kotlin `BufferOverflow.DROP_LATEST`).
    DropNewest,
}

/// The bounds of one subscription's queue. Defaults: 16,384 items or 16 MiB, dropping the oldest.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct StreamBufferOptions {
    /// Items held for a listener that has not taken them yet. Default 16,384.
    #[uniffi(default = 16384)]
    pub max_items: u64,
    /// Bytes held (payload size hints plus each event's own size). Default 16 MiB.
    #[uniffi(default = 16777216)]
    pub max_bytes: u64,
    /// What a full queue drops. `None`: drop the oldest.
    #[uniffi(default = None)]
    pub overflow: Option<StreamOverflow>,
}

impl Default for StreamBufferOptions {
    fn default() -> Self {
        Self { max_items: 16_384, max_bytes: 16_777_216, overflow: None }
    }
}

/// A bound beyond what the platform can address is no bound at all: saturate.
fn saturating(value: u64) -> usize {
    usize::try_from(value).unwrap_or(usize::MAX)
}

impl From<StreamBufferOptions> for core_api::StreamBuffer {
    fn from(o: StreamBufferOptions) -> Self {
        let overflow = match o.overflow {
            None | Some(StreamOverflow::DropOldest) => core_api::StreamOverflow::DropOldest,
            Some(StreamOverflow::DropNewest) => core_api::StreamOverflow::DropNewest,
        };
        Self::new(saturating(o.max_items), saturating(o.max_bytes)).with_overflow(overflow)
    }
}

/// What one subscription's queue holds and has dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, uniffi::Record)]
pub struct StreamStats {
    /// Items waiting for the listener now.
    pub queued: u64,
    /// Their bytes.
    pub queued_bytes: u64,
    /// The most items that ever waited at once (never above the bound).
    pub peak_queued: u64,
    /// The most bytes that ever waited at once.
    pub peak_bytes: u64,
    /// Items dropped because the listener fell behind, over the subscription's life.
    pub dropped: u64,
}

impl From<core_api::StreamStats> for StreamStats {
    fn from(s: core_api::StreamStats) -> Self {
        Self {
            queued: wide(s.queued),
            queued_bytes: wide(s.queued_bytes),
            peak_queued: wide(s.peak_queued),
            peak_bytes: wide(s.peak_bytes),
            dropped: s.dropped,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_defaults_are_the_core_defaults() {
        assert_eq!(
            core_api::StreamBuffer::from(StreamBufferOptions::default()),
            core_api::StreamBuffer::default()
        );
    }

    #[test]
    fn every_field_reaches_the_core() {
        let options = StreamBufferOptions {
            max_items: 7,
            max_bytes: 900,
            overflow: Some(StreamOverflow::DropNewest),
        };
        assert_eq!(
            core_api::StreamBuffer::from(options),
            core_api::StreamBuffer::new(7, 900).with_overflow(core_api::StreamOverflow::DropNewest)
        );
    }
}
