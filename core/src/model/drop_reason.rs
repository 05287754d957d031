//! Why a message the app handed over was never sent.

use std::fmt;

/// Why a queued message was dropped (reported in [`crate::Event::Dropped`] and counted in stats).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// The outbox was full and the policy dropped this one.
    Overflow,
    /// It waited longer than the outbox TTL.
    Expired,
    /// The app called `clear_outbox`.
    Cleared,
    /// The client was closed (or failed) with it still queued.
    Closed,
    /// It is larger than the outbox byte bound on its own, or than the frame limit the server
    /// announced (Engine.IO's `maxPayload`) by the time it could be sent.
    TooLarge,
    /// It waited for a room that was closed or left before it was joined.
    RoomClosed,
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Overflow => "outbox overflow",
            Self::Expired => "expired in outbox",
            Self::Cleared => "outbox cleared",
            Self::Closed => "client closed",
            Self::TooLarge => "larger than the outbox byte limit or the server's frame limit",
            Self::RoomClosed => "its room was closed before it was joined",
        })
    }
}
