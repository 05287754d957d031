//! What reaches the collaboration task: the client's events (connection changes, room joins,
//! collaboration messages from the server) and the answers to its own acknowledged sends.

use super::actor::unix_now_ms;
use super::actor::{now, AckTag, Actor};
use super::optimistic::OptimisticId;
use super::optimistic::RollbackReason;
use super::optimistic::Verdict;
use super::state::CollabEvent;
use super::versioned::WriteResult;
use super::wire::FieldActivityKind;
use super::wire::{self, Incoming};
use crate::model::ErrorKind;
use crate::model::LeaveReason;
use crate::model::{AckReply, DisconnectReason, Error, Event};
use serde_json::Value;
use std::time::Instant;

impl Actor {
    pub(super) async fn on_client_event(&mut self, event: Event) {
        let now = now();
        match event {
            Event::Message(message) => match wire::parse_message(&self.config.events, &message) {
                Ok(Some(incoming)) => self.on_incoming(incoming, now),
                Ok(None) => {}
                Err(bad) => {
                    self.stats.bad_payloads += 1;
                    tracing::debug!(%bad, "ignored a collaboration event");
                    self.emit_event(CollabEvent::BadPayload(bad));
                }
            },
            Event::AckSettled { result: Ok(reply), .. } => {
                let Some(first) = reply.data.first() else { return };
                match wire::parse_snapshot(&self.config.events, first) {
                    Ok(Some(snapshot)) if self.rosters.contains_key(&snapshot.room) => {
                        self.apply_snapshot(snapshot, now);
                    }
                    Ok(_) => {}
                    Err(bad) => {
                        self.stats.bad_payloads += 1;
                        self.emit_event(CollabEvent::BadPayload(bad));
                    }
                }
            }
            Event::Connected { recovered } => self.on_connected(recovered, now).await,
            Event::RoomJoined { room } => self.request_snapshot(&room),
            Event::Lagged { skipped } => self.on_missed_events(skipped).await,
            Event::Disconnected { .. } => {
                self.online = false;
                self.versioned.connection_lost();
                self.cursor.go_offline();
                self.fields.set_online(false, now);
                for roster in self.rosters.values_mut() {
                    roster.mark_unsynced();
                }
                self.snapshots_in_flight.clear();
                self.snapshot_retry_at.clear();
                self.dirty = true;
            }
            _ => {}
        }
    }

    async fn on_connected(&mut self, recovered: bool, now: Instant) {
        self.online = true;
        self.fields.set_online(true, now);
        self.flush_field_sends().await;
        for (room, (state, tool)) in self.local_presence.clone() {
            self.send_presence(&room, state, tool.as_deref()).await;
        }
        if recovered {
            // The server kept our rooms (no re-join follows) and replayed what we missed; a
            // snapshot still confirms the roster.
            let rooms: Vec<String> = self.rosters.keys().cloned().collect();
            for room in rooms {
                self.request_snapshot(&room);
            }
        }
    }

    /// The helpers' own stream of client events dropped `skipped` of them (this task fell
    /// behind its bounds): a connect, a disconnect, a join or a snapshot answer may be among
    /// them. The connection state is taken from the client's watch, and every roster is asked
    /// for afresh.
    async fn on_missed_events(&mut self, skipped: u64) {
        tracing::warn!(skipped, "collaboration fell behind the client's events; resyncing");
        self.stats.missed_client_events += skipped;
        let online = self.connected();
        if self.online && !online {
            let reason = DisconnectReason::TransportClosed("missed while behind".into());
            Box::pin(self.on_client_event(Event::Disconnected { reason, will_reconnect: true }))
                .await;
            return;
        }
        // An answer to a snapshot in flight may be among what was dropped.
        self.snapshots_in_flight.clear();
        if online {
            // As after a recovered session: the engine re-joined by itself, and every roster
            // is asked for again.
            self.on_connected(true, now()).await;
        }
    }

    pub(super) fn on_incoming(&mut self, incoming: Incoming, now: Instant) {
        let room_name = match &incoming {
            Incoming::UserJoined { room, .. }
            | Incoming::UserGone { room, .. }
            | Incoming::CursorMoved { room, .. }
            | Incoming::FieldActivity { room, .. }
            | Incoming::PresenceUpdated { room, .. }
            | Incoming::FieldUpdated { room, .. } => room.clone(),
        };
        let Some(roster) = self.rosters.get_mut(&room_name) else { return };
        let known = match incoming {
            Incoming::UserJoined { member, .. } => {
                roster.member_joined(member, now);
                true
            }
            Incoming::UserGone { user_id, disconnected, .. } => {
                let reason =
                    if disconnected { LeaveReason::Disconnected } else { LeaveReason::Left };
                roster.member_left(&user_id, reason);
                true
            }
            Incoming::CursorMoved { user_id, cursor, .. } => {
                roster.cursor_moved(&user_id, cursor, now)
            }
            Incoming::FieldActivity { user_id, field, kind, .. } => match kind {
                FieldActivityKind::Focused => roster.field_focused(&user_id, &field, now),
                FieldActivityKind::Blurred => roster.field_blurred(&user_id, &field, now),
                FieldActivityKind::TypingStarted => roster.typing_started(&user_id, &field, now),
                FieldActivityKind::TypingStopped => roster.typing_stopped(&user_id, &field, now),
            },
            Incoming::PresenceUpdated { user_id, state, tool, .. } => {
                roster.presence_updated(&user_id, state, tool, now)
            }
            Incoming::FieldUpdated { room, field, update, .. } => {
                if self.versioned.apply_remote(&room, &field, update.clone()) {
                    self.dirty = true;
                    self.emit_event(CollabEvent::FieldUpdated { room, field, value: update });
                }
                true
            }
        };
        if !known {
            self.stats.unknown_member_events += 1;
        }
        self.drain_roster_changes();
    }

    pub(super) fn apply_snapshot(&mut self, snapshot: wire::RoomSnapshot, now: Instant) {
        let room = snapshot.room;
        self.snapshots_in_flight.remove(&room);
        self.snapshot_retry_at.remove(&room);
        // Fields first: the roster's changes publish the state, and a room shown synced must
        // show the server's fields, not those of before the disconnect (or of a server that
        // has since restarted).
        self.dirty = true;
        for (field, value) in self.versioned.apply_snapshot(&room, snapshot.fields) {
            self.emit_event(CollabEvent::FieldUpdated { room: room.clone(), field, value });
        }
        if let Some(roster) = self.rosters.get_mut(&room) {
            roster.apply_snapshot(snapshot.members, now, unix_now_ms());
        }
        self.touch_self(now);
        self.dirty = true;
        self.stats.snapshots_applied += 1;
        self.drain_roster_changes();
    }

    pub(super) async fn on_ack(&mut self, tag: AckTag, result: Result<AckReply, Error>) {
        let now = now();
        match tag {
            AckTag::Snapshot(room) => {
                let refused = match &result {
                    Ok(reply) => reply.data.first().is_none_or(|r| {
                        r.get("ok").and_then(Value::as_bool) == Some(false)
                            || r.get("members").is_none()
                    }),
                    Err(_) => true,
                };
                // Success was applied from the event stream; a failure is retried while the
                // connection stays up (a reconnect asks again anyway).
                if refused && self.snapshots_in_flight.remove(&room) && self.online {
                    self.snapshot_retry_at.insert(room, now + self.config.snapshot_retry);
                }
            }
            AckTag::Update(id) => {
                match result {
                    Ok(reply) => self.on_update_reply(&id, reply.data.first(), now).await,
                    Err(error) => {
                        let reason = match error.kind() {
                            ErrorKind::AckTimeout => RollbackReason::Timeout,
                            _ => RollbackReason::ConnectionFailed,
                        };
                        self.optimistic.failed(&id, reason);
                    }
                }
                self.drain_outcomes();
            }
        }
    }

    pub(super) async fn on_update_reply(
        &mut self,
        id: &OptimisticId,
        reply: Option<&Value>,
        now: Instant,
    ) {
        if !self.optimistic.is_pending(id) {
            return;
        }
        match self.versioned.on_reply(id, reply) {
            WriteResult::Unknown | WriteResult::Refused => {
                self.optimistic.acknowledged(id, reply);
            }
            WriteResult::Accepted { .. } => {
                self.dirty = true;
                // Also when the reply is a conflict whose server value is ours: the write
                // stands, so it is confirmed whatever the reply's `ok` says.
                let reply = reply.cloned().unwrap_or(Value::Null);
                self.optimistic.settle(id, Verdict::Confirmed { reply });
            }
            WriteResult::Conflict { conflict, resend } => {
                self.stats.conflicts += 1;
                self.dirty = true;
                self.emit_event(CollabEvent::Conflict(*conflict));
                match resend {
                    Some(write) => {
                        if self.send_versioned(id, &write, now).await.is_err() {
                            self.versioned.on_failed(id);
                            self.optimistic.failed(id, RollbackReason::ConnectionFailed);
                        }
                    }
                    None => {
                        let reason = RollbackReason::Nack {
                            code: "conflict".to_owned(),
                            message: "the server's value was kept".to_owned(),
                        };
                        self.optimistic.settle(id, Verdict::RolledBack { reason });
                    }
                }
            }
        }
    }
}
