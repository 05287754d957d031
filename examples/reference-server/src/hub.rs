//! The server's shared state: rosters, field values, rate limits and counters behind one lock,
//! with the room rules (who may join what, who may write) applied in one place.
//!
//! Every method takes the time as an argument and returns what to answer and announce; the
//! socket handlers do the I/O. The lock is never held across an `.await`.
//!
//! With `--redis`, rosters and field values also live in Redis ([`SharedRooms`]) so that every
//! node sees whole rooms; the local [`Presence`] still tracks this node's connections, and rate
//! limits and counters stay per node.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use serde::Serialize;
use serde_json::Value;
use socketioxide::socket::Sid;

use crate::auth::Claims;
use crate::config::ServerConfig;
use crate::presence::{Departure, Identity, Joined, Member, Presence};
use crate::pricing::{Accepted, Conflict, PricingBook};
use crate::protocol::FieldState;
use crate::protocol::{ErrorAck, ErrorCode, RoomSnapshot};
use crate::rate_limit::{EventClass, RateLimiter};
use crate::shared::{SharedError, SharedRooms};

/// Counters for `GET /health` and `GET /stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// Open Socket.IO connections on this node.
    pub connections: u64,
    /// Distinct users with at least one open connection on this node.
    pub connected_users: u64,
    /// Rooms with at least one member on this node.
    pub active_rooms: u64,
    /// Connections accepted since the server started.
    pub total_connections: u64,
    /// Seconds since the server started.
    pub uptime_secs: u64,
}

#[derive(Debug)]
struct HubState {
    presence: Presence,
    pricing: PricingBook,
    limiter: RateLimiter,
    /// Open connections per user id.
    users: HashMap<String, u64>,
    connections: u64,
}

/// Shared server state; one per server, shared by every handler through an `Arc`.
#[derive(Debug)]
pub struct Hub {
    max_payload_bytes: usize,
    known_rooms: Option<BTreeSet<String>>,
    jwt_secret: String,
    started: Instant,
    total_connections: AtomicU64,
    state: Mutex<HubState>,
    shared: Option<SharedRooms>,
}

/// What the caller of [`Hub::write_field`] should do.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteOutcome {
    /// Stored: ack `{ok, version, value}` and broadcast `pricing-updated`.
    Accepted(Accepted),
    /// Stale base version: ack the conflict, broadcast nothing.
    Conflict(Conflict),
}

impl Hub {
    /// A single-node hub for `config`, started at `now`.
    pub fn new(config: &ServerConfig, now: Instant) -> Self {
        Self::build(config, now, None)
    }

    /// A hub that shares rooms with other nodes through `shared`.
    pub fn with_shared(config: &ServerConfig, now: Instant, shared: SharedRooms) -> Self {
        Self::build(config, now, Some(shared))
    }

    fn build(config: &ServerConfig, now: Instant, shared: Option<SharedRooms>) -> Self {
        Self {
            shared,
            max_payload_bytes: config.max_payload_bytes,
            known_rooms: config.known_rooms.clone(),
            jwt_secret: config.jwt_secret.clone(),
            started: now,
            total_connections: AtomicU64::new(0),
            state: Mutex::new(HubState {
                presence: Presence::new(),
                pricing: PricingBook::new(),
                limiter: RateLimiter::new(config.rate_limits),
                users: HashMap::new(),
                connections: 0,
            }),
        }
    }

    /// Largest accepted event payload in bytes.
    pub fn max_payload_bytes(&self) -> usize {
        self.max_payload_bytes
    }

    /// The secret that verifies handshake tokens.
    pub fn jwt_secret(&self) -> &str {
        &self.jwt_secret
    }

    fn lock(&self) -> MutexGuard<'_, HubState> {
        // Every update below leaves the state consistent before anything can panic, so a
        // poisoned lock still guards valid data.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Counts a new connection of `user_id`.
    pub fn connected(&self, user_id: &str) {
        self.total_connections.fetch_add(1, Ordering::Relaxed);
        let mut state = self.lock();
        state.connections += 1;
        *state.users.entry(user_id.to_owned()).or_default() += 1;
    }

    /// Removes connection `sid` of `user_id` from every room and the counters. Returns the rooms
    /// it was in; those with `user_gone` need a `user-disconnected` broadcast.
    pub async fn disconnected(&self, sid: Sid, user_id: &str) -> Vec<Departure> {
        let departures = {
            let mut state = self.lock();
            let departures = state.presence.disconnect(sid);
            state.connections = state.connections.saturating_sub(1);
            let last = match state.users.get_mut(user_id) {
                Some(count) => {
                    *count = count.saturating_sub(1);
                    *count == 0
                }
                None => false,
            };
            if last {
                state.users.remove(user_id);
                state.limiter.forget(user_id);
            }
            departures
        };
        let mut shared_departures = Vec::with_capacity(departures.len());
        for departure in departures {
            shared_departures.push(self.shared_leave(departure).await);
        }
        shared_departures
    }

    /// Takes a rate-limit token; `Err(rate_limited)` when `user_id` is over the `class` limit.
    pub fn allow(&self, user_id: &str, class: EventClass, now: Instant) -> Result<(), ErrorAck> {
        if self.lock().limiter.check(user_id, class, now) {
            Ok(())
        } else {
            Err(ErrorAck::new(
                ErrorCode::RateLimited,
                format!("too many {} events; slow down", class_name(class)),
            ))
        }
    }

    /// Joins connection `sid` to `room`: checks the room exists and the token allows it, then
    /// adds the member and hands the room's snapshot to `answer` (the join ack). Returns the
    /// member to announce, if new.
    ///
    /// On a single node, `answer` runs under the state lock, like [`Hub::room_state`]'s.
    pub async fn join(
        &self,
        sid: Sid,
        room: &str,
        claims: &Claims,
        now_ms: u64,
        answer: impl FnOnce(&RoomSnapshot),
    ) -> Result<Option<Member>, ErrorAck> {
        self.check_known(room)?;
        if !claims.may_join(room) {
            return Err(ErrorAck::new(
                ErrorCode::Forbidden,
                format!("your token does not allow joining room {room:?}"),
            ));
        }
        let identity =
            Identity { user_id: claims.sub.clone(), name: claims.name.clone(), role: claims.role };
        let (joined, member, shared) = {
            let mut state = self.lock();
            let joined = state.presence.join(sid, room, &identity, now_ms).ok_or_else(|| {
                ErrorAck::new(ErrorCode::Forbidden, "this connection belongs to another user")
            })?;
            let member = state.presence.update(sid, room, now_ms, |_| {});
            let Some(shared) = &self.shared else {
                answer(&snapshot(&state, room));
                return Ok(match joined {
                    Joined::NewMember(member) => Some(member),
                    Joined::AlreadyPresent | Joined::Again => None,
                });
            };
            (joined, member, shared)
        };
        let mut announce = None;
        if let (Some(member), false) = (member, joined == Joined::Again) {
            match shared.join(room, &member).await {
                Ok(first) => announce = first.then_some(member),
                Err(err) => {
                    // Undo the local join so both views agree.
                    self.lock().presence.leave(sid, room);
                    return Err(unavailable(err));
                }
            }
        }
        let (members, version, state) = shared.snapshot(room).await.map_err(unavailable)?;
        answer(&RoomSnapshot { ok: true, room: room.to_owned(), members, version, state });
        Ok(announce)
    }

    /// Removes connection `sid` from `room`.
    pub async fn leave(&self, sid: Sid, room: &str) -> Result<Departure, ErrorAck> {
        self.check_known(room)?;
        let departure = self.lock().presence.leave(sid, room).ok_or_else(|| not_joined(room))?;
        Ok(self.shared_leave(departure).await)
    }

    /// Hands the snapshot of a room connection `sid` has joined to `answer` (the ack).
    ///
    /// On a single node, `answer` runs under the state lock: every change the snapshot lacks is
    /// made, and so broadcast, after the answer is on its way, so a client never gets a
    /// broadcast and then an older snapshot that undoes it. With Redis the snapshot is read
    /// while other nodes write, and can still be older than a broadcast already sent.
    pub async fn room_state(
        &self,
        sid: Sid,
        room: &str,
        answer: impl FnOnce(&RoomSnapshot),
    ) -> Result<(), ErrorAck> {
        self.check_known(room)?;
        let shared = {
            let state = self.lock();
            if !state.presence.is_joined(sid, room) {
                return Err(not_joined(room));
            }
            let Some(shared) = &self.shared else {
                answer(&snapshot(&state, room));
                return Ok(());
            };
            shared
        };
        let (members, version, state) = shared.snapshot(room).await.map_err(unavailable)?;
        answer(&RoomSnapshot { ok: true, room: room.to_owned(), members, version, state });
        Ok(())
    }

    /// Applies `change` to the member of connection `sid` in `room` (cursor, focus, presence).
    pub async fn touch(
        &self,
        sid: Sid,
        room: &str,
        now_ms: u64,
        change: impl FnOnce(&mut Member),
    ) -> Result<Member, ErrorAck> {
        self.check_known(room)?;
        let member = self
            .lock()
            .presence
            .update(sid, room, now_ms, change)
            .ok_or_else(|| not_joined(room))?;
        if let Some(shared) = &self.shared {
            // The relay still goes out; only the stored roster entry is behind.
            if let Err(err) = shared.update_member(room, &member).await {
                tracing::warn!(room, "roster update not shared: {err}");
            }
        }
        Ok(member)
    }

    /// A versioned write of `field` in `room` by connection `sid` with these claims.
    #[allow(clippy::too_many_arguments)]
    pub async fn write_field(
        &self,
        sid: Sid,
        claims: &Claims,
        room: &str,
        field: &str,
        value: Value,
        base_version: u64,
        now_ms: u64,
    ) -> Result<WriteOutcome, ErrorAck> {
        self.check_known(room)?;
        let outcome = match &self.shared {
            None => {
                let mut state = self.lock();
                check_writer(&mut state, sid, claims, room, now_ms)?;
                state.pricing.apply(room, field, value, base_version, &claims.sub, now_ms)
            }
            Some(shared) => {
                check_writer(&mut self.lock(), sid, claims, room, now_ms)?;
                let next = FieldState {
                    value,
                    version: base_version.saturating_add(1),
                    updated_by: claims.sub.clone(),
                    timestamp: now_ms,
                };
                shared.write_field(room, field, base_version, &next).await.map_err(unavailable)?
            }
        };
        Ok(match outcome {
            Ok(accepted) => WriteOutcome::Accepted(accepted),
            Err(conflict) => WriteOutcome::Conflict(conflict),
        })
    }

    /// The counters at `now`.
    pub fn stats(&self, now: Instant) -> Stats {
        let state = self.lock();
        Stats {
            connections: state.connections,
            connected_users: state.users.len() as u64,
            active_rooms: state.presence.active_rooms() as u64,
            total_connections: self.total_connections.load(Ordering::Relaxed),
            uptime_secs: now.saturating_duration_since(self.started).as_secs(),
        }
    }

    /// In shared mode, asks Redis whether the departing user is gone from the whole room.
    async fn shared_leave(&self, departure: Departure) -> Departure {
        let Some(shared) = &self.shared else {
            return departure;
        };
        match shared.leave(&departure.room, &departure.user_id).await {
            Ok(user_gone) => Departure { user_gone, ..departure },
            Err(err) => {
                tracing::warn!(room = %departure.room, "roster leave not shared: {err}");
                departure
            }
        }
    }

    fn check_known(&self, room: &str) -> Result<(), ErrorAck> {
        match &self.known_rooms {
            Some(rooms) if !rooms.contains(room) => Err(ErrorAck::new(
                ErrorCode::UnknownRoom,
                format!("no room {room:?} on this server"),
            )),
            _ => Ok(()),
        }
    }
}

fn snapshot(state: &HubState, room: &str) -> RoomSnapshot {
    let (version, fields) = state.pricing.snapshot(room);
    RoomSnapshot {
        ok: true,
        room: room.to_owned(),
        members: state.presence.members(room),
        version,
        state: fields,
    }
}

/// A write needs membership and a writing role; it also counts as activity.
fn check_writer(
    state: &mut HubState,
    sid: Sid,
    claims: &Claims,
    room: &str,
    now_ms: u64,
) -> Result<(), ErrorAck> {
    if !state.presence.is_joined(sid, room) {
        return Err(not_joined(room));
    }
    if !claims.role.can_write() {
        return Err(ErrorAck::new(
            ErrorCode::Forbidden,
            "viewers may not send pricing-update; an editor or owner role is required",
        ));
    }
    let _ = state.presence.update(sid, room, now_ms, |_| {});
    Ok(())
}

fn unavailable(err: SharedError) -> ErrorAck {
    tracing::warn!("{err}");
    ErrorAck::new(ErrorCode::Unavailable, err.to_string())
}

fn not_joined(room: &str) -> ErrorAck {
    ErrorAck::new(ErrorCode::NotJoined, format!("join room {room:?} first"))
}

fn class_name(class: EventClass) -> &'static str {
    match class {
        EventClass::Cursor => "cursor",
        EventClass::Typing => "typing",
        EventClass::Focus => "focus",
        EventClass::Presence => "presence",
        EventClass::Pricing => "pricing",
        EventClass::Rooms => "room",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;
    use serde_json::json;

    fn hub() -> Hub {
        Hub::new(&ServerConfig::new("0123456789abcdef"), Instant::now())
    }

    fn claims(sub: &str, role: Role, rooms: Option<Vec<String>>) -> Claims {
        Claims { sub: sub.into(), name: sub.to_uppercase(), role, rooms, exp: 0 }
    }

    /// Joins and returns what would be announced and acked.
    async fn join(
        hub: &Hub,
        sid: Sid,
        room: &str,
        claims: &Claims,
    ) -> Result<(Option<Member>, RoomSnapshot), ErrorAck> {
        let mut acked = None;
        let announce = hub.join(sid, room, claims, 5, |s| acked = Some(s.clone())).await?;
        Ok((announce, acked.expect("a join that succeeds is answered")))
    }

    #[tokio::test]
    async fn join_announces_new_members_and_acks_the_snapshot() {
        let hub = hub();
        let (announce, snapshot) =
            join(&hub, Sid::new(), "doc", &claims("ana", Role::Editor, None))
                .await
                .expect("joined");
        assert_eq!(announce.map(|m| m.user_id), Some("ana".to_owned()));
        assert_eq!(snapshot.members.len(), 1);
        assert_eq!(snapshot.version, 0);
    }

    /// Found by the chaos soak: a snapshot answered after the lock was released could leave
    /// after a broadcast of a change it did not contain, and the client, which applies what
    /// comes in order, went back to the older state. The answer is now given under the lock.
    #[tokio::test]
    async fn snapshots_are_answered_before_any_later_change_can_be_made() {
        let hub = hub();
        let ana = claims("ana", Role::Editor, None);
        let sid = Sid::new();
        let mut locked_while_answering = Vec::new();
        hub.join(sid, "doc", &ana, 1, |_| {
            locked_while_answering.push(hub.state.try_lock().is_err())
        })
        .await
        .expect("joined");
        hub.room_state(sid, "doc", |_| locked_while_answering.push(hub.state.try_lock().is_err()))
            .await
            .expect("joined");
        assert_eq!(locked_while_answering, [true, true]);
    }

    #[tokio::test]
    async fn rooms_claim_and_known_rooms_are_enforced() {
        let config = ServerConfig::new("0123456789abcdef").with_known_rooms(["doc"]);
        let hub = Hub::new(&config, Instant::now());
        let limited = claims("ana", Role::Editor, Some(vec!["other".into()]));
        let err = join(&hub, Sid::new(), "doc", &limited).await.expect_err("not in claims");
        assert_eq!(err.error, ErrorCode::Forbidden);
        let err = join(&hub, Sid::new(), "nope", &claims("ana", Role::Editor, None)).await;
        assert_eq!(err.expect_err("unknown").error, ErrorCode::UnknownRoom);
    }

    #[tokio::test]
    async fn writes_need_membership_and_a_writing_role() {
        let hub = hub();
        let (editor, viewer) = (Sid::new(), Sid::new());
        let ana = claims("ana", Role::Editor, None);
        let vic = claims("vic", Role::Viewer, None);
        let err = hub
            .write_field(editor, &ana, "doc", "total", json!(1), 0, 1)
            .await
            .expect_err("not joined");
        assert_eq!(err.error, ErrorCode::NotJoined);
        join(&hub, editor, "doc", &ana).await.expect("joined");
        join(&hub, viewer, "doc", &vic).await.expect("joined");
        let err = hub
            .write_field(viewer, &vic, "doc", "total", json!(1), 0, 2)
            .await
            .expect_err("viewer");
        assert_eq!(err.error, ErrorCode::Forbidden);
        let outcome =
            hub.write_field(editor, &ana, "doc", "total", json!(1), 0, 2).await.expect("written");
        assert!(matches!(outcome, WriteOutcome::Accepted(Accepted { version: 1, .. })));
        let outcome =
            hub.write_field(editor, &ana, "doc", "total", json!(2), 0, 3).await.expect("answered");
        assert!(matches!(outcome, WriteOutcome::Conflict(Conflict { server_version: 1, .. })));
        let mut acked = None;
        hub.room_state(viewer, "doc", |s| acked = Some(s.clone())).await.expect("joined");
        let snapshot = acked.expect("answered");
        assert_eq!(snapshot.version, 1);
        assert_eq!(snapshot.state["total"]["value"], json!(1));
    }

    #[tokio::test]
    async fn stats_count_connections_users_and_rooms() {
        let hub = hub();
        let (a1, a2) = (Sid::new(), Sid::new());
        let ana = claims("ana", Role::Editor, None);
        hub.connected("ana");
        hub.connected("ana");
        join(&hub, a1, "doc", &ana).await.expect("joined");
        join(&hub, a2, "doc", &ana).await.expect("joined");
        let stats = hub.stats(Instant::now());
        assert_eq!((stats.connections, stats.connected_users, stats.active_rooms), (2, 1, 1));

        let gone = hub.disconnected(a1, "ana").await;
        assert_eq!(gone.len(), 1);
        assert!(!gone[0].user_gone, "ana is still there through a2");
        let gone = hub.disconnected(a2, "ana").await;
        assert!(gone[0].user_gone);
        let stats = hub.stats(Instant::now());
        assert_eq!((stats.connections, stats.connected_users, stats.active_rooms), (0, 0, 0));
        assert_eq!(stats.total_connections, 2);
    }

    #[test]
    fn rate_limit_refusal_is_a_rate_limited_ack() {
        let limits = crate::config::RateLimits {
            pricing: crate::config::Rate::per_second(1),
            ..Default::default()
        };
        let hub = Hub::new(
            &ServerConfig::new("0123456789abcdef").with_rate_limits(limits),
            Instant::now(),
        );
        let now = Instant::now();
        assert!(hub.allow("ana", EventClass::Pricing, now).is_ok());
        let err = hub.allow("ana", EventClass::Pricing, now).expect_err("over");
        assert_eq!(err.error, ErrorCode::RateLimited);
    }
}
