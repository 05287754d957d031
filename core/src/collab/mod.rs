//! Layer 5: the collaboration helpers on a live [`Client`](crate::Client): presence rosters,
//! the local cursor, typing and focus, optimistic updates and versioned fields (seeds 000, 001,
//! 002, 004).
//!
//! From the bottom: the settings (`config`, `events`: the wire event names), the wire format
//! (`wire`), the pure machines, each tested on its own (`presence`, `cursor`, `typing`,
//! `optimistic`, `versioned`), what the app reads (`state`, `event_stream`: bounded streams over
//! the client's fan-out), then the task that
//! wires the machines to the client (`command`, `actor`, `inbound`) and the handle apps hold
//! (`handle`: [`Collaboration`]).
//!
//! May use: every layer below, through the [`Client`](crate::Client). The layers below never
//! know it exists.

mod actor;
mod command;
mod config;
mod cursor;
mod event_stream;
mod events;
mod handle;
mod inbound;
mod optimistic;
mod presence;
mod state;
mod typing;
mod versioned;
pub mod wire;

pub use crate::model::{
    Cursor, LeaveReason, Member, MemberChange, MemberInfo, PresenceChange, PresenceState,
};
pub use config::CollabConfig;
pub use cursor::{CursorCounts, CursorSend, CursorThrottle};
pub use event_stream::CollabEventStream;
pub use events::CollabEvents;
pub use handle::Collaboration;
pub use optimistic::{OptimisticId, OptimisticOutcome, OptimisticTracker, RollbackReason, Verdict};
pub use presence::Roster;
pub use state::{CollabEvent, CollabState, CollabStats, RoomState};
pub use typing::{FieldActivity, FieldSend, FieldSignal};
pub use versioned::{
    Conflict, ConflictInput, ConflictOutcome, ConflictPolicy, FieldVersion, Resolver,
    VersionedFields, VersionedWrite, WriteResult,
};
