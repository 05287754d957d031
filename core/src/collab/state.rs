//! What the app reads from a collaboration: the events ([`CollabEvent`]), the state of every
//! room ([`CollabState`]) and the counters ([`CollabStats`]).

use super::cursor::CursorCounts;
use super::optimistic::OptimisticOutcome;
use super::versioned::{Conflict, FieldVersion};
use super::wire::BadPayload;
use crate::model::{json_size_hint, Member, PresenceChange};
use std::collections::BTreeMap;

/// Something that happened in a collaboration.
#[derive(Debug, Clone, PartialEq)]
pub enum CollabEvent {
    /// A roster changed.
    Presence(PresenceChange),
    /// A versioned field changed on the server: someone else's write, or a snapshot that
    /// differed from what this client knew.
    FieldUpdated {
        /// Room.
        room: String,
        /// Field.
        field: String,
        /// The new value and version.
        value: FieldVersion,
    },
    /// A versioned write conflicted; what stands is `resolved` (a verdict follows).
    Conflict(Conflict),
    /// The verdict on an optimistic update: exactly one per id.
    Outcome(OptimisticOutcome),
    /// The server sent a collaboration event that could not be read; it was ignored.
    BadPayload(BadPayload),
    /// This stream's reader fell behind its bounds (`CollabConfig::stream_buffer`) and
    /// `skipped` events were dropped from its queue here. The state watch still has every
    /// roster and field as they are now. Counted in `CollabStats::stream_dropped`.
    Lagged {
        /// How many events this stream dropped at this point.
        skipped: u64,
    },
}

impl CollabEvent {
    /// Approximate bytes this event holds, for the byte bounds of the streams that queue it:
    /// its own size plus its names, texts and JSON values.
    pub fn size_hint(&self) -> usize {
        let carried = match self {
            Self::Presence(_) | Self::Lagged { .. } => 0,
            Self::FieldUpdated { room, field, value } => {
                room.len() + field.len() + json_size_hint(&value.value)
            }
            Self::Conflict(c) => {
                c.room.len()
                    + c.field.len()
                    + json_size_hint(&c.local)
                    + json_size_hint(&c.server)
                    + json_size_hint(&c.resolved)
            }
            Self::Outcome(o) => o.room.len() + o.event.len() + json_size_hint(&o.payload),
            Self::BadPayload(bad) => bad.event.len() + bad.problem.len(),
        };
        std::mem::size_of::<Self>() + carried
    }
}

/// One room as this client sees it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RoomState {
    /// The members, in arrival order (the local user included once the snapshot came).
    pub members: Vec<Member>,
    /// True once the server's snapshot was applied and no disconnect happened since; while
    /// false, `members` is the last known roster and may be out of date.
    pub synced: bool,
    /// Versioned fields as the server has them (as far as this client knows).
    pub fields: BTreeMap<String, FieldVersion>,
}

/// Every joined room.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CollabState {
    /// Rooms by id.
    pub rooms: BTreeMap<String, RoomState>,
}

/// Counters of a collaboration, for dashboards and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CollabStats {
    /// What the cursor throttle did.
    pub cursor: CursorCounts,
    /// Focus, blur and typing events sent.
    pub field_events_sent: u64,
    /// Room snapshots applied.
    pub snapshots_applied: u64,
    /// Server events ignored because they could not be read.
    pub bad_payloads: u64,
    /// Server events about users not in the roster (ignored, so no ghost appears).
    pub unknown_member_events: u64,
    /// Optimistic updates confirmed.
    pub confirmed: u64,
    /// Optimistic updates rolled back.
    pub rolled_back: u64,
    /// Versioned-write conflicts.
    pub conflicts: u64,
    /// Sends the client refused (closed client, full outbox).
    pub send_errors: u64,
    /// Events dropped from collaboration streams (`Collaboration::events`) whose readers fell
    /// behind their bounds, over all of them; each reader was told with `CollabEvent::Lagged`.
    pub stream_dropped: u64,
    /// Client events the helpers themselves could not keep up with (dropped from their own
    /// bounded stream). After such a gap they ask the server for every room's snapshot again.
    pub missed_client_events: u64,
}
