//! What the outbox does when it is full.

/// What happens when a send would push the outbox past one of its bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OverflowPolicy {
    /// Drop the oldest queued messages until the new one fits (seed 003). Newest state wins,
    /// which is what live collaboration usually wants.
    #[default]
    DropOldest,
    /// Drop the new message; what is queued stays.
    DropNewest,
    /// Refuse the send with [`crate::SendError::QueueFull`]; nothing is dropped silently.
    Reject,
}
