//! How much a stream may hold for a reader that does not keep up, and what it drops then.
//!
//! Every stream the app reads (`Client::events`, `Client::subscribe`, `Collaboration::events`,
//! and the bindings' listeners on top of them) has a queue of its own between the engine and
//! its reader. A reader that pauses (a UI in the background, a slow task) must never let that
//! queue take the app down, so each is bounded in items and bytes; past a bound the policy
//! drops, the drop is counted, and the reader is told how many it missed (`Lagged`) before the
//! next item it gets.

use crate::model::ConfigError;

/// What a full stream drops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StreamOverflow {
    /// Drop the oldest queued items until the new one fits: a reader that catches up gets the
    /// newest. Right for state-like streams (prices, positions, presence), where an old value
    /// is of no use once a newer one exists. The default.
    #[default]
    DropOldest,
    /// Drop the new item while the queue is full: a reader that catches up gets what was
    /// queued first, then the gap. For streams where the beginning matters more than the end.
    DropNewest,
}

/// The bounds of one stream's queue (one per reader) and its overflow policy.
///
/// Items count their payload's size hint plus the in-memory size of the event itself. Parsed
/// JSON costs more than that on the heap (a small object about 600 bytes more), which is why the
/// item bound, not the byte bound, is what caps a flood of small events; the byte bound caps a
/// few large ones. A queue always takes one item whatever its size, so a message the engine
/// accepted (see `Config::max_message_bytes`) is never lost to the byte bound alone.
///
/// The defaults hold 16,384 items or 16 MiB, whichever comes first. A reader that keeps up on
/// average is never more than one socket read behind (a few hundred small events); one that
/// cannot run for a while and then reads everything (a UI thread busy in a loop, a collector
/// on a blocked dispatcher: the Kotlin tests read 10,000 echoes that way) needs room for
/// that stretch, which 16,384 gives at 100,000 events a second for 160 ms. A reader that stops
/// altogether costs at most that: about 15 MB for 16,384 small Socket.IO events (about 920
/// bytes each in memory), 16 MiB of payload for large ones, instead of everything the server
/// sends. Apps on small devices whose readers keep up can lower it (1,024 is plenty for a UI).
///
/// ```
/// use tether_core::{StreamBuffer, StreamOverflow};
/// let buffer = StreamBuffer::new(256, 1024 * 1024).with_overflow(StreamOverflow::DropNewest);
/// assert_eq!(buffer.max_items, 256);
/// assert!(buffer.validate().is_ok());
/// assert_eq!(StreamBuffer::new(0, 1).validate().map_err(|e| e.field), Err("stream_buffer.max_items"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamBuffer {
    /// Items held for the reader. At least 1. Default 16,384.
    pub max_items: usize,
    /// Bytes held for the reader (payload size hints plus the size of each event). At least 1.
    /// Default 16 MiB.
    pub max_bytes: usize,
    /// What a full queue drops. Default [`StreamOverflow::DropOldest`].
    pub overflow: StreamOverflow,
}

impl StreamBuffer {
    /// The default item bound.
    pub const DEFAULT_MAX_ITEMS: usize = 16_384;
    /// The default byte bound (16 MiB).
    pub const DEFAULT_MAX_BYTES: usize = 16 * 1024 * 1024;

    /// Bounds of `max_items` items and `max_bytes` bytes, dropping the oldest.
    ///
    /// ```
    /// let buffer = tether_core::StreamBuffer::new(1024, 512 * 1024);
    /// assert_eq!(buffer.overflow, tether_core::StreamOverflow::DropOldest);
    /// ```
    pub fn new(max_items: usize, max_bytes: usize) -> Self {
        Self { max_items, max_bytes, overflow: StreamOverflow::default() }
    }

    /// The same bounds with another overflow policy.
    ///
    /// ```
    /// use tether_core::{StreamBuffer, StreamOverflow};
    /// let buffer = StreamBuffer::default().with_overflow(StreamOverflow::DropNewest);
    /// assert_eq!(buffer.max_items, StreamBuffer::DEFAULT_MAX_ITEMS);
    /// ```
    pub fn with_overflow(mut self, overflow: StreamOverflow) -> Self {
        self.overflow = overflow;
        self
    }

    /// Checks the bounds; the error names the field (`stream_buffer.max_items` or
    /// `stream_buffer.max_bytes`). A stream made with bounds of zero anyway holds one item.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.max_items == 0 {
            return Err(ConfigError::new("stream_buffer.max_items", "must be at least 1"));
        }
        if self.max_bytes == 0 {
            return Err(ConfigError::new("stream_buffer.max_bytes", "must be at least 1"));
        }
        Ok(())
    }
}

impl Default for StreamBuffer {
    fn default() -> Self {
        Self::new(Self::DEFAULT_MAX_ITEMS, Self::DEFAULT_MAX_BYTES)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_values() {
        let buffer = StreamBuffer::default();
        assert_eq!(buffer.max_items, 16_384);
        assert_eq!(buffer.max_bytes, 16 * 1024 * 1024);
        assert_eq!(buffer.overflow, StreamOverflow::DropOldest);
        assert!(buffer.validate().is_ok());
    }

    #[test]
    fn zero_bounds_name_their_field() {
        let field = |b: StreamBuffer| b.validate().map_err(|e| e.field);
        assert_eq!(field(StreamBuffer::new(0, 10)), Err("stream_buffer.max_items"));
        assert_eq!(field(StreamBuffer::new(10, 0)), Err("stream_buffer.max_bytes"));
        assert_eq!(field(StreamBuffer::new(1, 1)), Ok(()));
    }
}
