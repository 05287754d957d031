//! The collaboration helpers on a live [`Client`]: presence rosters, the local cursor, typing
//! and focus, optimistic updates and versioned fields (issue 4, seeds 000, 001, 002, 004).
//!
//! [`Collaboration`] is a cheap handle; one task per collaboration (`collab_actor`) owns the
//! pure machines ([`Roster`], [`CursorThrottle`], [`FieldActivity`], [`OptimisticTracker`],
//! [`VersionedFields`]), feeds them the client's events and time, and sends what they decide
//! through the client. What the app reads comes as a watch ([`Collaboration::state`]: the current
//! rosters and fields, then every change) and a stream ([`Collaboration::events`]: what
//! happened, including exactly one verdict per optimistic update).
//!
//! ```no_run
//! # async fn demo(client: tether_core::Client) -> Result<(), tether_core::Error> {
//! use tether_core::{CollabConfig, CollabEvent, Collaboration, Verdict};
//! let collab = Collaboration::new(&client, CollabConfig::default())?;
//! collab.join("estimate-42").await?;
//! collab.update_cursor("estimate-42", 120.0, 48.5)?; // call on every mouse move
//! collab.start_typing("estimate-42", "labor")?; // call on every keystroke
//! let id = collab.update_field("estimate-42", "labor", serde_json::json!(1200)).await?;
//! let mut events = collab.events();
//! while let Some(event) = events.recv().await {
//!     if let CollabEvent::Outcome(outcome) = event {
//!         if outcome.id == id {
//!             if let Verdict::RolledBack { reason } = outcome.verdict {
//!                 println!("undo the edit: {reason}");
//!             }
//!             break;
//!         }
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! [`Roster`]: crate::collab::Roster
//! [`CursorThrottle`]: crate::collab::CursorThrottle
//! [`FieldActivity`]: crate::collab::FieldActivity
//! [`OptimisticTracker`]: crate::collab::OptimisticTracker
//! [`VersionedFields`]: crate::collab::VersionedFields

use super::actor::Actor;
use super::command::Command;
use super::config::CollabConfig;
use super::event_stream::{collab_hub, collab_stream, CollabEventStream, CollabHub};
use super::optimistic::OptimisticId;
use super::state::CollabEvent;
use super::state::CollabState;
use super::state::CollabStats;
use super::versioned::FieldVersion;
use crate::client::Client;
use crate::model::{Cursor, Member, PresenceState};
use crate::model::{Error, ErrorKind};
use serde_json::Value;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, watch};

/// Collaboration helpers on one client. Clone freely; the helpers stop when the last clone is
/// dropped (the client itself lives on).
#[derive(Clone)]
pub struct Collaboration {
    client: Client,
    commands: mpsc::UnboundedSender<Command>,
    hub: Arc<CollabHub>,
    state: watch::Receiver<CollabState>,
}

impl std::fmt::Debug for Collaboration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collaboration")
            .field("rooms", &self.state.borrow().rooms.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

fn stopped() -> Error {
    Error::new(ErrorKind::Closed, "the collaboration has stopped (its client's driver ended)")
}

impl Collaboration {
    /// Starts the helpers for `client` on the current tokio runtime. Fails on an invalid
    /// config (the error names the field) or outside a runtime.
    ///
    /// The client's join/leave events must match `config.events` (see
    /// [`crate::CollabEvents::apply_to`]); the defaults of both already do.
    pub fn new(client: &Client, config: CollabConfig) -> Result<Self, Error> {
        config.validate()?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            Error::new(
                ErrorKind::InvalidConfig,
                "a Collaboration must be created inside a tokio runtime",
            )
        })?;
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (state_tx, state) = watch::channel(CollabState::default());
        let hub = Arc::new(collab_hub(config.stream_buffer));
        let actor = Actor::new(client.clone(), config, command_rx, Arc::clone(&hub), state_tx);
        runtime.spawn(actor.run());
        Ok(Self { client: client.clone(), commands, hub, state })
    }

    /// The client underneath.
    pub fn client(&self) -> &Client {
        &self.client
    }

    fn tell(&self, command: Command) -> Result<(), Error> {
        self.commands.send(command).map_err(|_| stopped())
    }

    async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Command) -> Result<T, Error> {
        let (tx, rx) = oneshot::channel();
        self.tell(make(tx))?;
        rx.await.map_err(|_| stopped())
    }

    /// Joins a room through the client (re-joined after every reconnect) and starts its
    /// roster; the roster fills from the server's snapshot right after the join is confirmed,
    /// and again after every reconnect. Offline, the join happens on connect. Joining a room
    /// this collaboration already joined does nothing.
    ///
    /// Join rooms through the collaboration, not the client: the roster is filled when the
    /// client reports the join confirmed.
    pub async fn join(&self, room: &str) -> Result<(), Error> {
        let owned = room.to_owned();
        if self.ask(|done| Command::Join { room: owned, done }).await? {
            self.client.join(room).await?;
        }
        Ok(())
    }

    /// Retracts focus and typing in the room, forgets its roster and fields, and leaves it.
    pub async fn leave(&self, room: &str) -> Result<(), Error> {
        let owned = room.to_owned();
        self.ask(|done| Command::Leave { room: owned, done }).await?;
        self.client.leave(room).await
    }

    /// The local cursor is at (`x`, `y`). Call it at any rate: at most one position per
    /// `cursor_interval` goes out per room, always the latest; offline, nothing is sent or
    /// queued. Rooms not joined through this collaboration, and non-finite coordinates (JSON
    /// cannot carry them), are ignored.
    pub fn update_cursor(&self, room: &str, x: f64, y: f64) -> Result<(), Error> {
        if !x.is_finite() || !y.is_finite() {
            return Ok(());
        }
        self.tell(Command::Cursor { room: room.to_owned(), cursor: Cursor { x, y } })
    }

    /// The local user typed in `field`. Call it on every keystroke: `typing-start` goes out
    /// once, and `typing-stop` by itself `typing_timeout` after the last call.
    pub fn start_typing(&self, room: &str, field: &str) -> Result<(), Error> {
        self.tell(Command::StartTyping { room: room.to_owned(), field: field.to_owned() })
    }

    /// The local user stopped typing in `room`.
    pub fn stop_typing(&self, room: &str) -> Result<(), Error> {
        self.tell(Command::StopTyping { room: room.to_owned() })
    }

    /// The local user focused `field` (seed 000's `focusField`).
    pub fn focus_field(&self, room: &str, field: &str) -> Result<(), Error> {
        self.tell(Command::Focus { room: room.to_owned(), field: field.to_owned() })
    }

    /// The local user left `field`; typing in it stops too (seed 000's `blurField`).
    pub fn blur_field(&self, room: &str, field: &str) -> Result<(), Error> {
        self.tell(Command::Blur { room: room.to_owned(), field: field.to_owned() })
    }

    /// Tells the room the local user's state (active / idle / away) and tool (seed 002).
    /// Offline it is sent on reconnect.
    pub fn set_presence(
        &self,
        room: &str,
        state: PresenceState,
        tool: Option<&str>,
    ) -> Result<(), Error> {
        let tool = tool.map(str::to_owned);
        self.tell(Command::Presence { room: room.to_owned(), state, tool })
    }

    /// Sends `payload` as `event` with an acknowledgement and returns its id at once (once
    /// the engine accepted it; offline it waits in the outbox). Apply the change locally now;
    /// [`CollabEvent::Outcome`](crate::CollabEvent::Outcome) later brings exactly one verdict for the id: confirmed, or
    /// rolled back with the payload and why (a `{ok: false}` answer, no answer within
    /// `optimistic_timeout`, or a connection failure). An object payload without an
    /// `optimisticId` field gets one.
    ///
    /// Errors (nothing was sent, nothing to roll back): the client is closed, or its outbox
    /// refused the message.
    pub async fn update_optimistic(
        &self,
        room: &str,
        event: &str,
        payload: Value,
    ) -> Result<OptimisticId, Error> {
        let (room, event) = (room.to_owned(), event.to_owned());
        self.ask(|done| Command::Optimistic { room, event, payload, done }).await?
    }

    /// Writes a versioned field (`events.field_update`, seed 000's `pricing-update`): an
    /// optimistic update that carries the version it is based on. A conflict brings a
    /// [`CollabEvent::Conflict`](crate::CollabEvent::Conflict) resolved by the configured policy, then the verdict.
    pub async fn update_field(
        &self,
        room: &str,
        field: &str,
        value: Value,
    ) -> Result<OptimisticId, Error> {
        let (room, field) = (room.to_owned(), field.to_owned());
        self.ask(|done| Command::FieldWrite { room, field, value, done }).await?
    }

    /// Every event from now on, bounded by `CollabConfig::stream_buffer`: a reader that falls
    /// behind gets [`CollabEvent::Lagged`](crate::CollabEvent::Lagged) where events were
    /// dropped.
    pub fn events(&self) -> CollabEventStream {
        collab_stream(&self.hub, None, None)
    }

    /// The verdicts on optimistic updates from now on
    /// ([`CollabEvent::Outcome`](crate::CollabEvent::Outcome)), and lag notices: nothing else
    /// is queued for this stream.
    ///
    /// ```no_run
    /// # async fn demo(collab: tether_core::Collaboration) {
    /// let mut outcomes = collab.outcomes();
    /// while let Some(event) = outcomes.recv().await {
    ///     println!("{event:?}");
    /// }
    /// # }
    /// ```
    pub fn outcomes(&self) -> CollabEventStream {
        let wanted = Box::new(|event: &CollabEvent| matches!(event, CollabEvent::Outcome(_)));
        collab_stream(&self.hub, None, Some(wanted))
    }

    /// The rosters and fields of every joined room: `borrow()` for now, `changed()` or
    /// `wait_for` for changes.
    pub fn state(&self) -> watch::Receiver<CollabState> {
        self.state.clone()
    }

    /// The current roster of `room` (`None` if not joined).
    pub fn roster(&self, room: &str) -> Option<Vec<Member>> {
        self.state.borrow().rooms.get(room).map(|r| r.members.clone())
    }

    /// A versioned field as the server has it, as far as this client knows.
    pub fn field(&self, room: &str, field: &str) -> Option<FieldVersion> {
        self.state.borrow().rooms.get(room)?.fields.get(field).cloned()
    }

    /// A snapshot of the counters.
    pub async fn stats(&self) -> Result<CollabStats, Error> {
        self.ask(|reply| Command::Stats { reply }).await
    }
}
