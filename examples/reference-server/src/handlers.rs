//! The Socket.IO side: the auth middleware and one handler per event of PROTOCOL.md.
//!
//! Every handler follows the same steps: wait for its turn in the connection's event order,
//! check the payload, take a rate-limit token, apply the change to the [`Hub`], then answer
//! (ack) and announce (broadcast to the room, never to the sender). Any refusal becomes an
//! error ack; events sent without an ack are dropped with a log line instead.

use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use socketioxide::adapter::Adapter;
use socketioxide::extract::{AckSender, Event, SocketRef, State, TryData};
use socketioxide::socket::DisconnectReason;

use crate::auth::{unix_now_ms, verify_token, AuthError};
use crate::hub::{Hub, WriteOutcome};
use crate::payload::Payload;
use crate::presence::Cursor;
use crate::protocol::{
    broadcasts, check_id, events, ConflictAck, CursorMove, CursorMoved, ErrorAck, ErrorCode,
    FieldActivity, FieldEvent, OkAck, PresenceUpdate, PresenceUpdated, PricingAck, PricingUpdate,
    PricingUpdated, RoomRequest, RoomSnapshot, UserGone, UserJoined, MAX_TOOL_LEN,
};
use crate::rate_limit::EventClass;
use crate::session::{InTurn, Session};

/// The CONNECT auth payload: `{"token": "<jwt>"}`.
#[derive(Debug, Deserialize)]
pub struct AuthPayload {
    /// The HS256 JWT.
    #[serde(default)]
    pub token: Option<String>,
}

/// Connect middleware: verifies the token, stores the [`Session`] and installs the event
/// handlers. It runs before socketioxide sends CONNECT, so handlers exist before the client can
/// emit anything; an `Err` becomes the CONNECT_ERROR `{"message": "unauthorized: ..."}`.
pub async fn authenticate<A: Adapter>(
    socket: SocketRef<A>,
    TryData(auth): TryData<AuthPayload>,
    State(hub): State<Arc<Hub>>,
) -> Result<(), AuthError> {
    let claims = match auth {
        Ok(AuthPayload { token: Some(token) }) => verify_token(hub.jwt_secret(), &token),
        Ok(AuthPayload { token: None }) => Err(AuthError::MissingToken),
        Err(_) => Err(AuthError::BadPayload),
    }
    .inspect_err(|err| tracing::info!(sid = %socket.id, "handshake refused: {err}"))?;
    socket.extensions.insert(Session::new(claims));
    install_handlers(&socket);
    Ok(())
}

fn install_handlers<A: Adapter>(socket: &SocketRef<A>) {
    socket.on(events::JOIN_ROOM, join_room::<A>);
    socket.on(events::LEAVE_ROOM, leave_room::<A>);
    socket.on(events::ROOM_STATE, room_state::<A>);
    socket.on(events::CURSOR_MOVE, cursor_move::<A>);
    socket.on(events::FIELD_FOCUS, field_focus::<A>);
    socket.on(events::FIELD_BLUR, field_blur::<A>);
    socket.on(events::TYPING_START, typing_start::<A>);
    socket.on(events::TYPING_STOP, typing_stop::<A>);
    socket.on(events::PRESENCE_UPDATE, presence_update::<A>);
    socket.on(events::PRICING_UPDATE, pricing_update::<A>);
    socket.on_fallback(unknown_event::<A>);
    socket.on_disconnect(on_disconnect::<A>);
}

/// Connect handler: counts the connection (after the middleware accepted it).
pub async fn on_connect<A: Adapter>(
    socket: SocketRef<A>,
    State(hub): State<Arc<Hub>>,
    InTurn { session, turn }: InTurn,
) {
    turn.wait().await;
    hub.connected(&session.claims.sub);
    tracing::info!(sid = %socket.id, user = %session.claims.sub, "connected");
}

async fn on_disconnect<A: Adapter>(
    socket: SocketRef<A>,
    State(hub): State<Arc<Hub>>,
    InTurn { session, turn }: InTurn,
    reason: DisconnectReason,
) {
    turn.wait().await;
    let user_id = &session.claims.sub;
    tracing::info!(sid = %socket.id, user = %user_id, %reason, "disconnected");
    for departure in hub.disconnected(socket.id, user_id).await {
        if departure.user_gone {
            let gone = UserGone { room: departure.room.clone(), user_id: user_id.clone() };
            // Through the socket's own namespace: a lookup by name (`io.to`) panics once a
            // shutdown has begun, and this handler can still be running then.
            broadcast(socket.to(departure.room), broadcasts::USER_DISCONNECTED, &gone).await;
        }
    }
}

async fn join_room<A: Adapter>(
    socket: SocketRef<A>,
    State(hub): State<Arc<Hub>>,
    InTurn { session, turn }: InTurn,
    Payload(request): Payload<RoomRequest>,
    ack: AckSender<A>,
) {
    turn.wait().await;
    let claims = &session.claims;
    // The hub answers, at the moment it takes the snapshot (see `Hub::room_state`).
    let mut ack = Some(ack);
    let joined = async {
        let RoomRequest { room } = request?;
        check_room(&room)?;
        hub.allow(&claims.sub, EventClass::Rooms, Instant::now())?;
        // Subscribe to the room's broadcasts before taking the snapshot, so nothing written
        // in between is missed.
        let rejoin = socket.rooms().iter().any(|r| r.as_ref() == room);
        socket.join(room.clone());
        let reply = |snapshot: &RoomSnapshot| {
            if let Some(ack) = ack.take() {
                answer(ack, snapshot);
            }
        };
        match hub.join(socket.id, &room, claims, unix_now_ms(), reply).await {
            Ok(announce) => Ok((room, announce)),
            Err(err) => {
                if !rejoin {
                    socket.leave(room);
                }
                Err(err)
            }
        }
    }
    .await;
    match joined {
        Ok((room, announce)) => {
            tracing::info!(sid = %socket.id, user = %claims.sub, %room, "joined");
            if let Some(user) = announce {
                let joined = UserJoined { room: room.clone(), user };
                broadcast(socket.to(room), broadcasts::USER_JOINED, &joined).await;
            }
        }
        Err(err) => {
            if let Some(ack) = ack.take() {
                refuse(&socket, ack, events::JOIN_ROOM, err);
            }
        }
    }
}

async fn leave_room<A: Adapter>(
    socket: SocketRef<A>,
    State(hub): State<Arc<Hub>>,
    InTurn { session, turn }: InTurn,
    Payload(request): Payload<RoomRequest>,
    ack: AckSender<A>,
) {
    turn.wait().await;
    let left = async {
        let RoomRequest { room } = request?;
        check_room(&room)?;
        hub.allow(&session.claims.sub, EventClass::Rooms, Instant::now())?;
        hub.leave(socket.id, &room).await
    }
    .await;
    match left {
        Ok(departure) => {
            socket.leave(departure.room.clone());
            answer(ack, &OkAck { ok: true, room: Some(departure.room.clone()) });
            if departure.user_gone {
                let gone = UserGone { room: departure.room.clone(), user_id: departure.user_id };
                broadcast(socket.to(departure.room), broadcasts::USER_LEFT, &gone).await;
            }
        }
        Err(err) => refuse(&socket, ack, events::LEAVE_ROOM, err),
    }
}

async fn room_state<A: Adapter>(
    socket: SocketRef<A>,
    State(hub): State<Arc<Hub>>,
    InTurn { session, turn }: InTurn,
    Payload(request): Payload<RoomRequest>,
    ack: AckSender<A>,
) {
    turn.wait().await;
    // The hub answers, at the moment it takes the snapshot (see `Hub::room_state`).
    let mut ack = Some(ack);
    let answered = async {
        let RoomRequest { room } = request?;
        check_room(&room)?;
        hub.allow(&session.claims.sub, EventClass::Rooms, Instant::now())?;
        let reply = |snapshot: &RoomSnapshot| {
            if let Some(ack) = ack.take() {
                answer(ack, snapshot);
            }
        };
        hub.room_state(socket.id, &room, reply).await
    }
    .await;
    if let (Err(err), Some(ack)) = (answered, ack.take()) {
        refuse(&socket, ack, events::ROOM_STATE, err);
    }
}

async fn cursor_move<A: Adapter>(
    socket: SocketRef<A>,
    State(hub): State<Arc<Hub>>,
    InTurn { session, turn }: InTurn,
    Payload(request): Payload<CursorMove>,
    ack: AckSender<A>,
) {
    turn.wait().await;
    let user_id = &session.claims.sub;
    let moved = async {
        let CursorMove { room, x, y } = request?;
        check_room(&room)?;
        if !(x.is_finite() && y.is_finite()) {
            return Err(bad_request("x and y must be finite numbers"));
        }
        hub.allow(user_id, EventClass::Cursor, Instant::now())?;
        hub.touch(socket.id, &room, unix_now_ms(), |m| m.cursor = Some(Cursor { x, y })).await?;
        Ok(CursorMoved { room, user_id: user_id.clone(), x, y })
    }
    .await;
    match moved {
        Ok(moved) => {
            relay(&socket, ack, broadcasts::CURSOR_MOVED, moved.room.clone(), &moved).await
        }
        Err(err) => refuse(&socket, ack, events::CURSOR_MOVE, err),
    }
}

/// What a field event does to the sender's roster entry.
#[derive(Clone, Copy)]
enum FieldChange {
    Focus,
    Blur,
    Typing,
}

async fn field_event<A: Adapter>(
    socket: SocketRef<A>,
    hub: Arc<Hub>,
    InTurn { session, turn }: InTurn,
    request: Result<FieldEvent, ErrorAck>,
    ack: AckSender<A>,
    (event, broadcast_event, change): (&'static str, &'static str, FieldChange),
) {
    turn.wait().await;
    let user_id = &session.claims.sub;
    let activity = async {
        let FieldEvent { room, field } = request?;
        check_room(&room)?;
        check_id(&field).map_err(|e| bad_request(format!("field: {e}")))?;
        let class = match change {
            FieldChange::Focus | FieldChange::Blur => EventClass::Focus,
            FieldChange::Typing => EventClass::Typing,
        };
        hub.allow(user_id, class, Instant::now())?;
        hub.touch(socket.id, &room, unix_now_ms(), |member| match change {
            FieldChange::Focus => member.field = Some(field.clone()),
            FieldChange::Blur if member.field.as_deref() == Some(field.as_str()) => {
                member.field = None
            }
            FieldChange::Blur | FieldChange::Typing => {}
        })
        .await?;
        Ok(FieldActivity { room, user_id: user_id.clone(), field })
    }
    .await;
    match activity {
        Ok(activity) => {
            relay(&socket, ack, broadcast_event, activity.room.clone(), &activity).await
        }
        Err(err) => refuse(&socket, ack, event, err),
    }
}

async fn field_focus<A: Adapter>(
    socket: SocketRef<A>,
    State(hub): State<Arc<Hub>>,
    in_turn: InTurn,
    Payload(request): Payload<FieldEvent>,
    ack: AckSender<A>,
) {
    let what = (events::FIELD_FOCUS, broadcasts::FIELD_FOCUSED, FieldChange::Focus);
    field_event(socket, hub, in_turn, request, ack, what).await;
}

async fn field_blur<A: Adapter>(
    socket: SocketRef<A>,
    State(hub): State<Arc<Hub>>,
    in_turn: InTurn,
    Payload(request): Payload<FieldEvent>,
    ack: AckSender<A>,
) {
    let what = (events::FIELD_BLUR, broadcasts::FIELD_BLURRED, FieldChange::Blur);
    field_event(socket, hub, in_turn, request, ack, what).await;
}

async fn typing_start<A: Adapter>(
    socket: SocketRef<A>,
    State(hub): State<Arc<Hub>>,
    in_turn: InTurn,
    Payload(request): Payload<FieldEvent>,
    ack: AckSender<A>,
) {
    let what = (events::TYPING_START, broadcasts::TYPING_STARTED, FieldChange::Typing);
    field_event(socket, hub, in_turn, request, ack, what).await;
}

async fn typing_stop<A: Adapter>(
    socket: SocketRef<A>,
    State(hub): State<Arc<Hub>>,
    in_turn: InTurn,
    Payload(request): Payload<FieldEvent>,
    ack: AckSender<A>,
) {
    let what = (events::TYPING_STOP, broadcasts::TYPING_STOPPED, FieldChange::Typing);
    field_event(socket, hub, in_turn, request, ack, what).await;
}

async fn presence_update<A: Adapter>(
    socket: SocketRef<A>,
    State(hub): State<Arc<Hub>>,
    InTurn { session, turn }: InTurn,
    Payload(request): Payload<PresenceUpdate>,
    ack: AckSender<A>,
) {
    turn.wait().await;
    let user_id = &session.claims.sub;
    let updated = async {
        let PresenceUpdate { room, state, tool } = request?;
        check_room(&room)?;
        if tool.as_ref().is_some_and(|tool| tool.len() > MAX_TOOL_LEN) {
            return Err(bad_request(format!("tool must be at most {MAX_TOOL_LEN} bytes")));
        }
        hub.allow(user_id, EventClass::Presence, Instant::now())?;
        hub.touch(socket.id, &room, unix_now_ms(), |member| {
            member.state = state;
            member.tool = tool.clone();
        })
        .await?;
        Ok(PresenceUpdated { room, user_id: user_id.clone(), state, tool })
    }
    .await;
    match updated {
        Ok(updated) => {
            relay(&socket, ack, broadcasts::PRESENCE_UPDATED, updated.room.clone(), &updated).await
        }
        Err(err) => refuse(&socket, ack, events::PRESENCE_UPDATE, err),
    }
}

async fn pricing_update<A: Adapter>(
    socket: SocketRef<A>,
    State(hub): State<Arc<Hub>>,
    InTurn { session, turn }: InTurn,
    Payload(request): Payload<PricingUpdate>,
    ack: AckSender<A>,
) {
    turn.wait().await;
    let claims = &session.claims;
    let now_ms = unix_now_ms();
    let written = async {
        let update = request?;
        check_room(&update.room)?;
        check_id(&update.field).map_err(|e| bad_request(format!("field: {e}")))?;
        hub.allow(&claims.sub, EventClass::Pricing, Instant::now())?;
        let outcome = hub
            .write_field(
                socket.id,
                claims,
                &update.room,
                &update.field,
                update.value.clone(),
                update.base_version,
                now_ms,
            )
            .await?;
        Ok((update, outcome))
    }
    .await;
    match written {
        Ok((update, WriteOutcome::Accepted(accepted))) => {
            answer(
                ack,
                &PricingAck { ok: true, version: accepted.version, value: update.value.clone() },
            );
            let updated = PricingUpdated {
                room: update.room.clone(),
                field: update.field,
                value: update.value,
                version: accepted.version,
                updated_by: claims.sub.clone(),
                timestamp: now_ms,
                optimistic_id: update.optimistic_id,
            };
            broadcast(socket.to(update.room), broadcasts::PRICING_UPDATED, &updated).await;
        }
        Ok((update, WriteOutcome::Conflict(conflict))) => {
            tracing::debug!(sid = %socket.id, room = %update.room, field = %update.field, "pricing conflict");
            answer(
                ack,
                &ConflictAck {
                    ok: false,
                    error: ErrorCode::Conflict,
                    message: format!(
                        "baseVersion {} is not the current version {} of {:?}",
                        update.base_version, conflict.server_version, update.field
                    ),
                    server_value: conflict.server_value,
                    server_version: conflict.server_version,
                },
            );
        }
        Err(err) => refuse(&socket, ack, events::PRICING_UPDATE, err),
    }
}

async fn unknown_event<A: Adapter>(socket: SocketRef<A>, Event(event): Event, ack: AckSender<A>) {
    let err = ErrorAck::new(ErrorCode::BadRequest, format!("unknown event {event:?}"));
    refuse(&socket, ack, "unknown", err);
}

fn check_room(room: &str) -> Result<(), ErrorAck> {
    check_id(room).map_err(|e| bad_request(format!("room: {e}")))
}

fn bad_request(message: impl Into<String>) -> ErrorAck {
    ErrorAck::new(ErrorCode::BadRequest, message)
}

/// Acks if the client asked for an ack (socketioxide ignores the call otherwise).
fn answer<A: Adapter, T: Serialize + ?Sized>(ack: AckSender<A>, body: &T) {
    if let Err(err) = ack.send(body) {
        tracing::debug!("ack not sent: {err}");
    }
}

/// Answers a refused event with its error ack, or logs the drop.
fn refuse<A: Adapter>(socket: &SocketRef<A>, ack: AckSender<A>, event: &str, err: ErrorAck) {
    match err.error {
        ErrorCode::RateLimited | ErrorCode::NotJoined => {
            tracing::debug!(sid = %socket.id, event, code = ?err.error, "refused: {}", err.message)
        }
        _ => tracing::warn!(sid = %socket.id, event, code = ?err.error, "refused: {}", err.message),
    }
    answer(ack, &err);
}

/// Broadcasts a relay to the room (without the sender) and acks `{ok: true}` if asked.
async fn relay<A: Adapter, T: Serialize>(
    socket: &SocketRef<A>,
    ack: AckSender<A>,
    event: &'static str,
    room: String,
    payload: &T,
) {
    broadcast(socket.to(room), event, payload).await;
    answer(ack, &OkAck { ok: true, room: None });
}

async fn broadcast<A: Adapter, T: Serialize>(
    to: socketioxide::operators::BroadcastOperators<A>,
    event: &'static str,
    payload: &T,
) {
    if let Err(err) = to.emit(event, payload).await {
        tracing::warn!(event, "broadcast failed: {err}");
    }
}
