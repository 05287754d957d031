//! What a [`crate::Collaboration`] handle asks of its task.

use super::optimistic::OptimisticId;
use super::state::CollabStats;
use crate::model::Error;
use crate::model::{Cursor, PresenceState};
use serde_json::Value;
use tokio::sync::oneshot;

/// What the handle asks of the task.
pub(crate) enum Command {
    /// Answers whether the room is new to this collaboration.
    Join {
        room: String,
        done: oneshot::Sender<bool>,
    },
    Leave {
        room: String,
        done: oneshot::Sender<()>,
    },
    Cursor {
        room: String,
        cursor: Cursor,
    },
    StartTyping {
        room: String,
        field: String,
    },
    StopTyping {
        room: String,
    },
    Focus {
        room: String,
        field: String,
    },
    Blur {
        room: String,
        field: String,
    },
    Presence {
        room: String,
        state: PresenceState,
        tool: Option<String>,
    },
    Optimistic {
        room: String,
        event: String,
        payload: Value,
        done: oneshot::Sender<Result<OptimisticId, Error>>,
    },
    FieldWrite {
        room: String,
        field: String,
        value: Value,
        done: oneshot::Sender<Result<OptimisticId, Error>>,
    },
    Stats {
        reply: oneshot::Sender<CollabStats>,
    },
}
