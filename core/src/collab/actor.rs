//! The task behind a [`crate::Collaboration`]: the thin async layer. It owns the pure machines,
//! feeds them commands from the handle, the client's events and the clock, carries out what
//! they decide through the client, and publishes state and events. No logic of its own beyond
//! wiring; every decision is in a machine that has its own tests.

use super::command::Command;
use super::config::CollabConfig;
use super::cursor::{CursorSend, CursorThrottle};
use super::event_stream::CollabHub;
use super::optimistic::{OptimisticId, OptimisticTracker, RollbackReason, Verdict};
use super::presence::Roster;
use super::state::{CollabEvent, CollabState, CollabStats, RoomState};
use super::typing::{FieldActivity, FieldSend, FieldSignal};
use super::versioned::{VersionedFields, VersionedWrite};
use super::wire;
use crate::client::{Client, EventStream};
use crate::model::PresenceState;
use crate::model::{AckReply, Error, Event, OutgoingMessage};
use crate::session::SendOptions;
use futures_util::stream::FuturesUnordered;
use futures_util::StreamExt;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, watch};

/// The tracker's own deadline trails the engine's ack timeout by this much, so that normally
/// the engine times out first and also removes the update from its outbox: a rolled-back
/// update must never be sent late. The tracker's timer is the backstop.
pub(super) const ACK_GRACE: Duration = Duration::from_millis(250);

/// Whose acknowledgement a finished ack future carries.
pub(super) enum AckTag {
    Snapshot(String),
    Update(OptimisticId),
}

type AckFuture = Pin<Box<dyn Future<Output = (AckTag, Result<AckReply, Error>)> + Send>>;

pub(crate) struct Actor {
    pub(super) client: Client,
    pub(super) config: CollabConfig,
    pub(super) commands: mpsc::UnboundedReceiver<Command>,
    pub(super) client_events: EventStream,
    pub(super) hub: Arc<CollabHub>,
    pub(super) state_tx: watch::Sender<CollabState>,
    pub(super) rosters: BTreeMap<String, Roster>,
    pub(super) cursor: CursorThrottle,
    pub(super) fields: FieldActivity,
    pub(super) optimistic: OptimisticTracker,
    pub(super) versioned: VersionedFields,
    /// The local user's last `set_presence` per room, re-announced after reconnects.
    pub(super) local_presence: BTreeMap<String, (PresenceState, Option<String>)>,
    pub(super) acks: FuturesUnordered<AckFuture>,
    pub(super) snapshots_in_flight: BTreeSet<String>,
    pub(super) snapshot_retry_at: BTreeMap<String, Instant>,
    pub(super) online: bool,
    pub(super) stats: CollabStats,
    pub(super) id_prefix: String,
    pub(super) next_id: u64,
    pub(super) dirty: bool,
}

pub(super) fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

pub(super) fn unix_now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Actor {
    pub(crate) fn new(
        client: Client,
        config: CollabConfig,
        commands: mpsc::UnboundedReceiver<Command>,
        hub: Arc<CollabHub>,
        state_tx: watch::Sender<CollabState>,
    ) -> Self {
        // Only what the helpers read is queued for them: not the app's own server messages,
        // which may come by the hundred thousand.
        let names = config.events.clone();
        let client_events = client.events_where(
            None,
            Box::new(move |event| match event {
                Event::Message(message) => names.is_incoming(&message.event),
                _ => true,
            }),
        );
        let online = client.state().borrow().is_connected();
        let mut fields = FieldActivity::new(config.typing_timeout, config.field_events_per_second);
        fields.set_online(online, now());
        Self {
            cursor: CursorThrottle::new(config.cursor_interval),
            fields,
            optimistic: OptimisticTracker::new(),
            versioned: VersionedFields::new(
                config.conflict_policy.clone(),
                config.max_conflict_retries,
            ),
            client,
            config,
            commands,
            client_events,
            hub,
            state_tx,
            rosters: BTreeMap::new(),
            local_presence: BTreeMap::new(),
            acks: FuturesUnordered::new(),
            snapshots_in_flight: BTreeSet::new(),
            snapshot_retry_at: BTreeMap::new(),
            online,
            stats: CollabStats::default(),
            // Ids must not collide with other clients' in the server's broadcasts.
            id_prefix: format!("{:08x}", fastrand::u32(..)),
            next_id: 0,
            dirty: false,
        }
    }

    pub(crate) async fn run(mut self) {
        loop {
            self.publish_state();
            let deadline = self.next_deadline().map(tokio::time::Instant::from_std);
            tokio::select! {
                command = self.commands.recv() => match command {
                    Some(command) => self.on_command(command).await,
                    None => break,
                },
                event = self.client_events.recv() => match event {
                    Some(event) => self.on_client_event(event).await,
                    None => break,
                },
                Some((tag, result)) = self.acks.next(), if !self.acks.is_empty() => {
                    // Events the engine published before this answer are applied first, so a
                    // conflict is judged with every broadcast that preceded it.
                    while let Some(event) = self.client_events.try_recv() {
                        self.on_client_event(event).await;
                    }
                    self.on_ack(tag, result).await;
                }
                () = sleep_until(deadline) => self.on_timeout().await,
            }
        }
    }

    pub(super) fn next_deadline(&self) -> Option<Instant> {
        let rosters = self.rosters.values().filter_map(Roster::poll_timeout);
        [self.cursor.poll_timeout(), self.fields.poll_timeout(), self.optimistic.poll_timeout()]
            .into_iter()
            .flatten()
            .chain(rosters)
            .chain(self.snapshot_retry_at.values().copied())
            .min()
    }

    pub(super) fn connected(&self) -> bool {
        self.client.state().borrow().is_connected()
    }

    // ----- commands -----

    pub(super) async fn on_command(&mut self, command: Command) {
        let now = now();
        match command {
            Command::Join { room, done } => {
                let new = !self.rosters.contains_key(&room);
                if new {
                    let roster = Roster::new(&room, self.config.inactivity_timeout);
                    self.rosters.insert(room, roster);
                    self.dirty = true;
                }
                // Publish before answering, so the handle sees the room the moment join returns.
                self.publish_state();
                let _ = done.send(new);
            }
            Command::Leave { room, done } => {
                self.fields.leave_room(&room, now);
                self.flush_field_sends().await;
                self.rosters.remove(&room);
                self.cursor.remove_room(&room);
                self.versioned.remove_room(&room);
                self.local_presence.remove(&room);
                self.snapshot_retry_at.remove(&room);
                self.snapshots_in_flight.remove(&room);
                self.dirty = true;
                self.publish_state();
                let _ = done.send(());
            }
            Command::Cursor { room, cursor } => {
                if !self.rosters.contains_key(&room) {
                    return;
                }
                self.touch_self(now);
                // The state watch, not the last event, decides: positions must never be queued.
                let online = self.connected();
                if let Some(send) = self.cursor.update(&room, cursor, online, now) {
                    self.send_cursor(send).await;
                }
            }
            Command::StartTyping { room, field } => {
                if self.rosters.contains_key(&room) {
                    self.touch_self(now);
                    self.fields.start_typing(&room, &field, now);
                    self.flush_field_sends().await;
                }
            }
            Command::StopTyping { room } => {
                self.fields.stop_typing(&room, now);
                self.flush_field_sends().await;
            }
            Command::Focus { room, field } => {
                if self.rosters.contains_key(&room) {
                    self.touch_self(now);
                    self.fields.focus(&room, &field, now);
                    self.flush_field_sends().await;
                }
            }
            Command::Blur { room, field } => {
                self.fields.blur(&room, &field, now);
                self.flush_field_sends().await;
            }
            Command::Presence { room, state, tool } => {
                if !self.rosters.contains_key(&room) {
                    return;
                }
                self.local_presence.insert(room.clone(), (state, tool.clone()));
                if self.connected() {
                    self.send_presence(&room, state, tool.as_deref()).await;
                }
            }
            Command::Optimistic { room, event, mut payload, done } => {
                let id = self.new_id();
                if let Value::Object(map) = &mut payload {
                    map.entry("optimisticId").or_insert_with(|| Value::String(id.0.clone()));
                }
                let result = self.send_update(&id, &room, &event, payload, now).await;
                let _ = done.send(result.map(|()| id));
            }
            Command::FieldWrite { room, field, value, done } => {
                let id = self.new_id();
                let write = self.versioned.write(id.clone(), &room, &field, value, unix_now_ms());
                let result = self.send_versioned(&id, &write, now).await;
                if result.is_err() {
                    self.versioned.on_failed(&id);
                }
                let _ = done.send(result.map(|()| id));
            }
            Command::Stats { reply } => {
                let mut stats = self.stats;
                stats.cursor = self.cursor.counts();
                stats.stream_dropped = self.hub.totals().dropped;
                let _ = reply.send(stats);
            }
        }
    }

    pub(super) fn new_id(&mut self) -> OptimisticId {
        self.next_id += 1;
        OptimisticId(format!("{}-{}", self.id_prefix, self.next_id))
    }

    pub(super) fn touch_self(&mut self, now: Instant) {
        if let Some(me) = &self.config.local_user_id {
            for roster in self.rosters.values_mut() {
                roster.touch(me, now);
            }
            self.drain_roster_changes();
        }
    }

    // ----- sending -----

    pub(super) async fn emit(&mut self, event: &str, payload: Value) {
        if event.is_empty() {
            return;
        }
        if self.client.emit(event, payload).await.is_err() {
            self.stats.send_errors += 1;
        }
    }

    pub(super) async fn send_cursor(&mut self, send: CursorSend) {
        let payload = wire::cursor_payload(&self.config.events, &send.room, send.cursor);
        let event = &self.config.events.cursor_move;
        if event.is_empty() {
            return;
        }
        // Volatile: a position is stale by the time a reconnect could deliver it, so one that
        // races a disconnect is refused rather than queued.
        let message = crate::model::OutgoingMessage::new(event.as_str(), payload);
        if self.client.send_with(message, SendOptions::volatile()).await.is_err() {
            self.stats.send_errors += 1;
        }
    }

    pub(super) async fn flush_field_sends(&mut self) {
        while let Some(FieldSend { room, field, signal }) = self.fields.poll_send() {
            let events = &self.config.events;
            let event = match signal {
                FieldSignal::Focus => &events.field_focus,
                FieldSignal::Blur => &events.field_blur,
                FieldSignal::TypingStart => &events.typing_start,
                FieldSignal::TypingStop => &events.typing_stop,
            }
            .clone();
            let payload = wire::field_payload(events, &room, &field);
            self.stats.field_events_sent += 1;
            self.emit(&event, payload).await;
        }
    }

    pub(super) async fn send_presence(
        &mut self,
        room: &str,
        state: PresenceState,
        tool: Option<&str>,
    ) {
        let payload = wire::presence_payload(&self.config.events, room, state, tool);
        let event = self.config.events.presence_update.clone();
        self.emit(&event, payload).await;
    }

    /// Sends an update with an ack and tracks it; `Err` when the engine refused it outright.
    pub(super) async fn send_update(
        &mut self,
        id: &OptimisticId,
        room: &str,
        event: &str,
        payload: Value,
        now: Instant,
    ) -> Result<(), Error> {
        let timeout = self.config.optimistic_timeout;
        let message = OutgoingMessage::new(event, payload.clone());
        let pending = self.client.send_with(message, SendOptions::with_ack(Some(timeout))).await?;
        self.optimistic.begin(id.clone(), room, event, payload, timeout + ACK_GRACE, now);
        let tag_id = id.clone();
        self.acks.push(Box::pin(async move { (AckTag::Update(tag_id), pending.wait().await) }));
        Ok(())
    }

    pub(super) async fn send_versioned(
        &mut self,
        id: &OptimisticId,
        write: &VersionedWrite,
        now: Instant,
    ) -> Result<(), Error> {
        let payload = wire::field_update_payload(&self.config.events, write, &id.0);
        let event = self.config.events.field_update.clone();
        self.send_update(id, &write.room, &event, payload, now).await
    }

    pub(super) fn request_snapshot(&mut self, room: &str) {
        let event = self.config.events.room_state.clone();
        if event.is_empty()
            || self.snapshots_in_flight.contains(room)
            || !self.rosters.contains_key(room)
        {
            return;
        }
        self.snapshot_retry_at.remove(room);
        self.snapshots_in_flight.insert(room.to_owned());
        let client = self.client.clone();
        let message = OutgoingMessage::new(event, wire::room_payload(&self.config.events, room));
        let options = SendOptions::with_ack(Some(self.config.optimistic_timeout));
        let room = room.to_owned();
        // The answer is applied from the client's event stream, in order with the broadcasts
        // around it; this future only reports failures.
        self.acks.push(Box::pin(async move {
            let result = match client.send_with(message, options).await {
                Ok(pending) => pending.wait().await,
                Err(e) => Err(e),
            };
            (AckTag::Snapshot(room), result)
        }));
    }

    // ----- time -----

    pub(super) async fn on_timeout(&mut self) {
        let now = now();
        for roster in self.rosters.values_mut() {
            roster.handle_timeout(now);
        }
        self.drain_roster_changes();
        if self.cursor.poll_timeout().is_some_and(|due| due <= now) {
            let due = self.cursor.poll(now);
            if self.connected() {
                for send in due {
                    self.send_cursor(send).await;
                }
            }
        }
        self.fields.handle_timeout(now);
        self.flush_field_sends().await;
        self.optimistic.handle_timeout(now);
        self.drain_outcomes();
        let due: Vec<String> = self
            .snapshot_retry_at
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(room, _)| room.clone())
            .collect();
        for room in due {
            self.snapshot_retry_at.remove(&room);
            if self.online {
                self.request_snapshot(&room);
            }
        }
    }

    // ----- publishing -----

    pub(super) fn drain_roster_changes(&mut self) {
        let mut changes = Vec::new();
        for roster in self.rosters.values_mut() {
            changes.extend(std::iter::from_fn(|| roster.poll_change()));
        }
        self.dirty |= !changes.is_empty();
        for change in changes {
            self.emit_event(CollabEvent::Presence(change));
        }
    }

    pub(super) fn drain_outcomes(&mut self) {
        while let Some(outcome) = self.optimistic.poll_outcome() {
            // A versioned write that failed without an answer may or may not have landed:
            // ask the server for the truth.
            let unanswered = matches!(
                outcome.verdict,
                Verdict::RolledBack {
                    reason: RollbackReason::Timeout | RollbackReason::ConnectionFailed
                }
            );
            if let Some(room) = self.versioned.room_of(&outcome.id).map(str::to_owned) {
                self.versioned.on_failed(&outcome.id);
                if unanswered && self.online {
                    self.request_snapshot(&room);
                }
            }
            match outcome.verdict {
                Verdict::Confirmed { .. } => self.stats.confirmed += 1,
                Verdict::RolledBack { .. } => self.stats.rolled_back += 1,
            }
            self.emit_event(CollabEvent::Outcome(outcome));
        }
    }

    /// Publishes an event, after the state it follows from: an app reacting to the event
    /// reads the state watch and must find the change there.
    pub(super) fn emit_event(&mut self, event: CollabEvent) {
        self.publish_state();
        self.hub.publish(&event);
    }

    pub(super) fn publish_state(&mut self) {
        if !std::mem::take(&mut self.dirty) {
            return;
        }
        let rooms = self
            .rosters
            .iter()
            .map(|(room, roster)| {
                let state = RoomState {
                    members: roster.members(),
                    synced: roster.is_synced(),
                    fields: self.versioned.fields(room),
                };
                (room.clone(), state)
            })
            .collect();
        self.state_tx.send_replace(CollabState { rooms });
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
