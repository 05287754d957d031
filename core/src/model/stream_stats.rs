//! What one stream's queue holds and has dropped: for an app that wants to see whether its
//! reader keeps up, and for the bindings' subscription handles.

/// A snapshot of one stream's queue (see `StreamBuffer` for its bounds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StreamStats {
    /// Items waiting for the reader now.
    pub queued: usize,
    /// Their bytes (as the size hints count them).
    pub queued_bytes: usize,
    /// The most items that ever waited at once: never above the bound.
    pub peak_queued: usize,
    /// The most bytes that ever waited at once: never above the bound, but for a single item
    /// larger than the bound on its own.
    pub peak_bytes: usize,
    /// Items dropped because the reader fell behind, over the stream's life.
    pub dropped: u64,
}
