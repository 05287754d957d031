//! The collaboration payloads on the wire (`examples/PROTOCOL.md`): tolerant readers for what
//! the server sends and builders for what the client sends.
//!
//! Readers never panic and never trust the server: a payload of the wrong shape is an error the
//! caller counts and reports, and the event is ignored. They accept the common variants of the
//! seeds (`roomId` for `room`, `userName` for `name`, a cursor as `x`/`y` or `position`), so a
//! server that is not the reference one still works with renamed events only.

use super::events::CollabEvents;
use super::versioned::{FieldVersion, VersionedWrite};
use crate::model::IncomingMessage;
use crate::model::{Cursor, MemberInfo, PresenceState};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// The most members a snapshot may list; more is a misbehaving server, not a document.
pub const MAX_SNAPSHOT_MEMBERS: usize = 10_000;

/// A server payload that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadPayload {
    /// The event it came with.
    pub event: String,
    /// What was wrong.
    pub problem: String,
}

impl std::fmt::Display for BadPayload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "bad `{}` payload: {}", self.event, self.problem)
    }
}

/// A collaboration event from the server, read.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// `user-joined`.
    UserJoined {
        /// Room.
        room: String,
        /// The member.
        member: MemberInfo,
    },
    /// `user-left` (`disconnected: false`) or `user-disconnected` (`true`).
    UserGone {
        /// Room.
        room: String,
        /// Who.
        user_id: String,
        /// Closed without leaving.
        disconnected: bool,
    },
    /// `cursor-moved`.
    CursorMoved {
        /// Room.
        room: String,
        /// Who.
        user_id: String,
        /// Where.
        cursor: Cursor,
    },
    /// `field-focused`, `field-blurred`, `typing-started`, `typing-stopped`.
    FieldActivity {
        /// Room.
        room: String,
        /// Who.
        user_id: String,
        /// Which field (may be empty for a `typing-stopped` without one).
        field: String,
        /// Which event.
        kind: FieldActivityKind,
    },
    /// `presence-updated`.
    PresenceUpdated {
        /// Room.
        room: String,
        /// Who.
        user_id: String,
        /// New state.
        state: PresenceState,
        /// Tool, when given.
        tool: Option<String>,
    },
    /// `pricing-updated`: someone's versioned write was accepted.
    FieldUpdated {
        /// Room.
        room: String,
        /// Field.
        field: String,
        /// Value, version, writer and time.
        update: FieldVersion,
        /// The writer's optimistic id, if any.
        optimistic_id: Option<String>,
    },
}

/// Which field event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldActivityKind {
    /// Focused.
    Focused,
    /// Blurred.
    Blurred,
    /// Started typing.
    TypingStarted,
    /// Stopped typing.
    TypingStopped,
}

/// A room snapshot: the ack of `join-room` / `room-state`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RoomSnapshot {
    /// Room.
    pub room: String,
    /// Everyone in it (this client's user included).
    pub members: Vec<MemberInfo>,
    /// Room version (accepted writes so far), if given.
    pub version: Option<u64>,
    /// Every written field.
    pub fields: BTreeMap<String, FieldVersion>,
}

/// Reads a server message. `Ok(None)`: not a collaboration event (someone else's business).
pub fn parse_message(
    events: &CollabEvents,
    message: &IncomingMessage,
) -> Result<Option<Incoming>, BadPayload> {
    let name = message.event.as_str();
    if !events.is_incoming(name) {
        return Ok(None);
    }
    let bad = |problem: &str| BadPayload { event: name.to_owned(), problem: problem.to_owned() };
    let payload =
        message.payload().and_then(Value::as_object).ok_or_else(|| bad("not an object"))?;
    let room = room_of(events, payload).ok_or_else(|| bad("no room"))?;
    let user = || user_id_of(payload).ok_or_else(|| bad("no userId"));
    let field = || text(payload, &["field", "fieldId"]).ok_or_else(|| bad("no field"));
    let activity = |kind| -> Result<Incoming, BadPayload> {
        let field = match kind {
            // Some servers stop typing without naming the field.
            FieldActivityKind::TypingStopped => field().unwrap_or_default(),
            _ => field()?,
        };
        Ok(Incoming::FieldActivity { room: room.clone(), user_id: user()?, field, kind })
    };
    let incoming = if name == events.user_joined {
        let user_value = payload.get("user").unwrap_or(&Value::Null);
        let member = match user_value.as_object() {
            Some(user) => member_info(user),
            // Seed 000/004 style: the member's fields at top level.
            None => member_info(payload),
        }
        .ok_or_else(|| bad("no user id"))?;
        Incoming::UserJoined { room, member }
    } else if name == events.user_left || name == events.user_disconnected {
        Incoming::UserGone {
            room,
            user_id: user()?,
            disconnected: name == events.user_disconnected,
        }
    } else if name == events.cursor_moved {
        let cursor = cursor_of(payload).ok_or_else(|| bad("no finite x, y"))?;
        Incoming::CursorMoved { room, user_id: user()?, cursor }
    } else if name == events.field_focused {
        activity(FieldActivityKind::Focused)?
    } else if name == events.field_blurred {
        activity(FieldActivityKind::Blurred)?
    } else if name == events.typing_started {
        activity(FieldActivityKind::TypingStarted)?
    } else if name == events.typing_stopped {
        activity(FieldActivityKind::TypingStopped)?
    } else if name == events.presence_updated {
        let state = text(payload, &["state", "status"])
            .and_then(|s| PresenceState::parse(&s))
            .or_else(|| payload.get("isActive").and_then(Value::as_bool).map(active_or_idle))
            .ok_or_else(|| bad("no state"))?;
        let tool = text(payload, &["tool", "currentTool"]);
        Incoming::PresenceUpdated { room, user_id: user()?, state, tool }
    } else {
        // field_updated, the only name left.
        let field = field()?;
        let value = payload.get("value").cloned().ok_or_else(|| bad("no value"))?;
        let version =
            payload.get("version").and_then(Value::as_u64).ok_or_else(|| bad("no version"))?;
        let update = FieldVersion {
            value,
            version,
            updated_by: text(payload, &["updatedBy"]),
            timestamp_ms: timestamp_of(payload.get("timestamp")),
        };
        Incoming::FieldUpdated {
            room,
            field,
            update,
            optimistic_id: text(payload, &["optimisticId"]),
        }
    };
    Ok(Some(incoming))
}

/// Reads a room snapshot: `{ok: true, room, members: [...], version?, state?}`. `Ok(None)` when
/// the value is not shaped like one (an ack of something else).
pub fn parse_snapshot(
    events: &CollabEvents,
    reply: &Value,
) -> Result<Option<RoomSnapshot>, BadPayload> {
    let Some(object) = reply.as_object() else { return Ok(None) };
    let Some(members) = object.get("members") else { return Ok(None) };
    if object.get("ok").and_then(Value::as_bool) == Some(false) {
        return Ok(None);
    }
    let bad = |problem: &str| BadPayload {
        event: events.room_state.clone(),
        problem: problem.to_owned(),
    };
    let room = room_of(events, object).ok_or_else(|| bad("no room"))?;
    let members = members.as_array().ok_or_else(|| bad("members is not a list"))?;
    if members.len() > MAX_SNAPSHOT_MEMBERS {
        return Err(bad("too many members"));
    }
    let members = members
        .iter()
        .map(|m| m.as_object().and_then(member_info))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| bad("a member without a user id"))?;
    let mut fields = BTreeMap::new();
    if let Some(state) = object.get("state").and_then(Value::as_object) {
        for (name, f) in state {
            let Some(version) = f.get("version").and_then(Value::as_u64) else { continue };
            fields.insert(
                name.clone(),
                FieldVersion {
                    value: f.get("value").cloned().unwrap_or(Value::Null),
                    version,
                    updated_by: f.get("updatedBy").and_then(Value::as_str).map(str::to_owned),
                    timestamp_ms: timestamp_of(f.get("timestamp")),
                },
            );
        }
    }
    let version = object.get("version").and_then(Value::as_u64);
    Ok(Some(RoomSnapshot { room, members, version, fields }))
}

/// `{room}`: the payload of `room-state` (and of joins and leaves).
pub fn room_payload(events: &CollabEvents, room: &str) -> Value {
    with_room(events, room, Map::new())
}

/// `{room, x, y}` (or `{room, position: {x, y}}`).
pub fn cursor_payload(events: &CollabEvents, room: &str, cursor: Cursor) -> Value {
    let mut m = Map::new();
    if events.nested_cursor_position {
        m.insert("position".into(), json!({"x": cursor.x, "y": cursor.y}));
    } else {
        m.insert("x".into(), json!(cursor.x));
        m.insert("y".into(), json!(cursor.y));
    }
    with_room(events, room, m)
}

/// `{room, field}`: focus, blur, typing.
pub fn field_payload(events: &CollabEvents, room: &str, field: &str) -> Value {
    let mut m = Map::new();
    m.insert("field".into(), json!(field));
    with_room(events, room, m)
}

/// `{room, state, tool?}`.
pub fn presence_payload(
    events: &CollabEvents,
    room: &str,
    state: PresenceState,
    tool: Option<&str>,
) -> Value {
    let mut m = Map::new();
    m.insert("state".into(), json!(state.as_str()));
    if let Some(tool) = tool {
        m.insert("tool".into(), json!(tool));
    }
    with_room(events, room, m)
}

/// `{room, field, value, baseVersion, optimisticId}`.
pub fn field_update_payload(
    events: &CollabEvents,
    write: &VersionedWrite,
    optimistic_id: &str,
) -> Value {
    let mut m = Map::new();
    m.insert("field".into(), json!(write.field));
    m.insert("value".into(), write.value.clone());
    m.insert("baseVersion".into(), json!(write.base_version));
    m.insert("optimisticId".into(), json!(optimistic_id));
    with_room(events, &write.room, m)
}

fn with_room(events: &CollabEvents, room: &str, mut m: Map<String, Value>) -> Value {
    m.insert(events.room_field.clone(), json!(room));
    Value::Object(m)
}

fn room_of(events: &CollabEvents, payload: &Map<String, Value>) -> Option<String> {
    text(payload, &[events.room_field.as_str(), "room", "roomId"])
}

fn user_id_of(payload: &Map<String, Value>) -> Option<String> {
    text(payload, &["userId", "user_id", "id", "sub"])
}

fn member_info(m: &Map<String, Value>) -> Option<MemberInfo> {
    let user_id = user_id_of(m)?;
    let name = text(m, &["name", "userName", "userEmail", "email"]).unwrap_or_default();
    let state = text(m, &["state", "status"])
        .and_then(|s| PresenceState::parse(&s))
        .or_else(|| m.get("isActive").and_then(Value::as_bool).map(active_or_idle))
        .unwrap_or_default();
    Some(MemberInfo {
        user_id,
        name,
        role: text(m, &["role"]),
        state,
        field: text(m, &["field", "fieldId"]),
        cursor: m.get("cursor").and_then(Value::as_object).and_then(cursor_of),
        tool: text(m, &["tool", "currentTool"]),
        last_seen_ms: timestamp_of(m.get("lastSeen")),
    })
}

fn active_or_idle(active: bool) -> PresenceState {
    if active {
        PresenceState::Active
    } else {
        PresenceState::Idle
    }
}

fn cursor_of(m: &Map<String, Value>) -> Option<Cursor> {
    let source = m.get("position").and_then(Value::as_object).unwrap_or(m);
    let x = source.get("x").and_then(Value::as_f64)?;
    let y = source.get("y").and_then(Value::as_f64)?;
    (x.is_finite() && y.is_finite()).then_some(Cursor { x, y })
}

/// A timestamp in ms since the epoch: a number, or an RFC 3339-ish string is not parsed
/// (seed 000 sends ISO strings; they only feed last-write-wins, where unknown is safe).
fn timestamp_of(value: Option<&Value>) -> Option<u64> {
    value?.as_u64()
}

/// The first of `keys` that holds a non-empty string (ids may also be numbers).
fn text(m: &Map<String, Value>, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| match m.get(*k)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(event: &str, payload: Value) -> IncomingMessage {
        IncomingMessage {
            namespace: "/".into(),
            event: event.into(),
            data: vec![payload],
            binary: vec![],
            ack_id: None,
            offset: None,
        }
    }

    fn parse(event: &str, payload: Value) -> Result<Option<Incoming>, BadPayload> {
        parse_message(&CollabEvents::default(), &msg(event, payload))
    }

    #[test]
    fn reads_the_reference_servers_user_joined() {
        let got = parse(
            "user-joined",
            json!({"room": "doc", "user": {"userId": "u1", "name": "Ana", "role": "editor",
                   "state": "active", "field": null, "cursor": {"x": 1, "y": 2}, "tool": null,
                   "lastSeen": 1700000000000u64}}),
        );
        let Ok(Some(Incoming::UserJoined { room, member })) = got else { panic!("{got:?}") };
        assert_eq!(room, "doc");
        assert_eq!(member.user_id, "u1");
        assert_eq!(member.role.as_deref(), Some("editor"));
        assert_eq!(member.cursor, Some(Cursor { x: 1.0, y: 2.0 }));
        assert_eq!(member.last_seen_ms, Some(1_700_000_000_000));
    }

    #[test]
    fn reads_relays_and_presence() {
        assert_eq!(
            parse("cursor-moved", json!({"room": "doc", "userId": "u1", "x": 3.5, "y": 4})),
            Ok(Some(Incoming::CursorMoved {
                room: "doc".into(),
                user_id: "u1".into(),
                cursor: Cursor { x: 3.5, y: 4.0 }
            }))
        );
        assert!(matches!(
            parse("typing-started", json!({"room": "doc", "userId": "u1", "field": "total"})),
            Ok(Some(Incoming::FieldActivity { kind: FieldActivityKind::TypingStarted, .. }))
        ));
        assert!(matches!(
            parse(
                "presence-updated",
                json!({"room": "doc", "userId": "u1", "state": "away", "tool": "pen"})
            ),
            Ok(Some(Incoming::PresenceUpdated { state: PresenceState::Away, .. }))
        ));
        assert!(matches!(
            parse("user-disconnected", json!({"room": "doc", "userId": "u1"})),
            Ok(Some(Incoming::UserGone { disconnected: true, .. }))
        ));
    }

    #[test]
    fn other_events_are_not_ours() {
        assert_eq!(parse("chat", json!("hi")), Ok(None));
    }

    #[test]
    fn bad_payloads_are_errors_never_panics() {
        let cases = [
            ("cursor-moved", json!("not an object")),
            ("cursor-moved", json!({"room": "doc", "userId": "u1", "x": "1", "y": 2})),
            ("cursor-moved", json!({"room": "doc", "x": 1, "y": 2})),
            ("user-joined", json!({"room": "doc", "user": {"name": "no id"}})),
            ("user-left", json!({"userId": "u1"})),
            ("field-focused", json!({"room": "doc", "userId": "u1"})),
            ("presence-updated", json!({"room": "doc", "userId": "u1", "state": "dancing"})),
            ("pricing-updated", json!({"room": "doc", "field": "t", "value": 1, "version": -1})),
            ("user-joined", Value::Null),
        ];
        for (event, payload) in cases {
            let got = parse(event, payload.clone());
            assert!(got.is_err(), "{event} {payload} gave {got:?}");
        }
        let empty = IncomingMessage { data: vec![], ..msg("user-left", Value::Null) };
        assert!(parse_message(&CollabEvents::default(), &empty).is_err());
    }

    #[test]
    fn seed_004_shapes_are_read() {
        let events = CollabEvents::component_channels();
        let got = parse_message(
            &events,
            &msg(
                "component:cursor",
                json!({
                    "componentId": "c1", "userId": "u1", "userEmail": "a@x",
                    "position": {"x": 1, "y": 2},
                }),
            ),
        );
        assert!(matches!(got, Ok(Some(Incoming::CursorMoved { ref room, .. })) if room == "c1"));
        let got = parse_message(
            &events,
            &msg(
                "component:user-joined",
                json!({"componentId": "c1", "userId": "u2", "userEmail": "b@x"}),
            ),
        );
        let Ok(Some(Incoming::UserJoined { member, .. })) = got else { panic!("{got:?}") };
        assert_eq!(member.name, "b@x");
        let payload = cursor_payload(&events, "c1", Cursor { x: 1.0, y: 2.0 });
        assert_eq!(payload, json!({"componentId": "c1", "position": {"x": 1.0, "y": 2.0}}));
    }

    #[test]
    fn reads_a_snapshot_with_members_and_field_versions() {
        let reply = json!({"ok": true, "room": "doc", "version": 3,
            "members": [{"userId": "u1", "name": "Ana", "state": "idle", "lastSeen": 5}],
            "state": {"total": {"value": 100, "version": 2, "updatedBy": "u1", "timestamp": 9}}});
        let snap =
            parse_snapshot(&CollabEvents::default(), &reply).expect("valid").expect("a snapshot");
        assert_eq!(snap.room, "doc");
        assert_eq!(snap.members[0].state, PresenceState::Idle);
        assert_eq!(snap.fields["total"].version, 2);
        assert_eq!(snap.fields["total"].timestamp_ms, Some(9));
        assert_eq!(snap.version, Some(3));
        assert_eq!(
            parse_snapshot(&CollabEvents::default(), &json!({"ok": true, "version": 2})),
            Ok(None)
        );
        assert!(parse_snapshot(&CollabEvents::default(), &json!({"room": "doc", "members": 3}))
            .is_err());
        assert!(parse_snapshot(
            &CollabEvents::default(),
            &json!({"room": "doc", "members": [{"name": "x"}]})
        )
        .is_err());
    }

    #[test]
    fn builds_the_protocol_payloads() {
        let e = CollabEvents::default();
        assert_eq!(
            cursor_payload(&e, "doc", Cursor { x: 1.0, y: 2.0 }),
            json!({"room": "doc", "x": 1.0, "y": 2.0})
        );
        assert_eq!(field_payload(&e, "doc", "total"), json!({"room": "doc", "field": "total"}));
        assert_eq!(
            presence_payload(&e, "doc", PresenceState::Idle, Some("pen")),
            json!({"room": "doc", "state": "idle", "tool": "pen"})
        );
        let write = VersionedWrite {
            room: "doc".into(),
            field: "total".into(),
            value: json!(5),
            base_version: 2,
        };
        assert_eq!(
            field_update_payload(&e, &write, "o-1"),
            json!({
                "room": "doc", "field": "total", "value": 5,
                "baseVersion": 2, "optimisticId": "o-1",
            })
        );
    }

    mod never_panics {
        use super::*;
        use proptest::prelude::*;

        /// Any JSON, biased towards the keys and shapes the readers look at.
        fn json_value() -> impl Strategy<Value = Value> {
            let key = prop_oneof![
                Just("room".to_owned()),
                Just("userId".to_owned()),
                Just("user".to_owned()),
                Just("x".to_owned()),
                Just("y".to_owned()),
                Just("position".to_owned()),
                Just("field".to_owned()),
                Just("state".to_owned()),
                Just("members".to_owned()),
                Just("version".to_owned()),
                Just("value".to_owned()),
                Just("lastSeen".to_owned()),
                "[a-z]{1,6}",
            ];
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(|n| json!(n)),
                any::<u64>().prop_map(|n| json!(n)),
                any::<f64>().prop_map(|f| json!(f)),
                "[a-z0-9]{0,8}".prop_map(Value::String),
            ];
            leaf.prop_recursive(4, 64, 8, move |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                    prop::collection::btree_map(key.clone(), inner, 0..6)
                        .prop_map(|m| Value::Object(m.into_iter().collect())),
                ]
            })
        }

        proptest! {
            #[test]
            fn readers_never_panic_on_any_payload(payload in json_value(), which in 0usize..10) {
                let events = CollabEvents::default();
                let names = [
                    "user-joined", "user-left", "user-disconnected", "cursor-moved",
                    "field-focused", "field-blurred", "typing-started", "typing-stopped",
                    "presence-updated", "pricing-updated",
                ];
                let _ = parse_message(&events, &msg(names[which], payload.clone()));
                let _ = parse_snapshot(&events, &payload);
            }
        }
    }
}
