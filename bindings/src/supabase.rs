//! Supabase Realtime on Phoenix channels, mirrored from [`tether_core::RealtimeChannelConfig`]
//! and friends: a channel's config turned into its join payload, the messages a Supabase client
//! sends (broadcast, presence track and untrack) and a typed view of what it receives. The
//! shapes are the core's; here they are only converted.

use crate::error::TetherError;
use crate::event::{IncomingMessage, OutgoingMessage};
use crate::json;
use tether_core as core_api;

/// Which database changes a channel wants (one `postgres_changes` binding).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PostgresChangesFilter {
    /// `"*"`, `"INSERT"`, `"UPDATE"` or `"DELETE"`. Default `"*"`.
    #[uniffi(default = "*")]
    pub event: String,
    /// The schema. Default `"public"`.
    #[uniffi(default = "public")]
    pub schema: String,
    /// The table; `None` (the default): every table of the schema.
    #[uniffi(default = None)]
    pub table: Option<String>,
    /// A row filter such as `"id=eq.7"`. Default none.
    #[uniffi(default = None)]
    pub filter: Option<String>,
}

/// The config of a Supabase Realtime channel (`realtime:<name>`); its join payload comes from
/// `realtime_channel_join_payload`. Defaults as realtime-js's.
#[derive(Debug, Clone, PartialEq, Eq, Default, uniffi::Record)]
pub struct RealtimeChannelConfig {
    /// The server acknowledges each broadcast this client sends. Default false.
    #[uniffi(default = false)]
    pub broadcast_ack: bool,
    /// This client receives its own broadcasts too. Default false.
    #[uniffi(default = false)]
    pub broadcast_self: bool,
    /// The presence key this client tracks under (a user id); empty (the default): the server
    /// picks one.
    #[uniffi(default = "")]
    pub presence_key: String,
    /// Receive presence from others. Default false (tracking works regardless).
    #[uniffi(default = false)]
    pub presence_enabled: bool,
    /// Database changes wanted; the server answers each with an id. Default none.
    #[uniffi(default = [])]
    pub postgres_changes: Vec<PostgresChangesFilter>,
    /// A private channel (authorized by Realtime's policies). Default false.
    #[uniffi(default = false)]
    pub private: bool,
}

/// A Supabase Realtime message, from `read_realtime_event`.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum RealtimeEvent {
    /// Someone's broadcast.
    Broadcast {
        /// The app's event name.
        event: String,
        /// Its payload, as JSON.
        payload_json: String,
    },
    /// A database change (the `postgres_changes` event).
    PostgresChanges {
        /// The change.
        change: PostgresChange,
    },
    /// A notice from the server.
    System {
        /// `"ok"` or `"error"`.
        status: String,
        /// What it says.
        message: String,
        /// Which part of the server: `"postgres_changes"`, `"system"`...
        extension: String,
    },
}

/// One database change, in realtime-js's shape.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PostgresChange {
    /// `"INSERT"`, `"UPDATE"` or `"DELETE"`.
    pub event_type: String,
    /// Schema.
    pub schema: String,
    /// Table.
    pub table: String,
    /// When it was committed, as the server wrote it.
    pub commit_timestamp: String,
    /// The row after the change (INSERT, UPDATE) as a JSON object; `{}` for DELETE.
    pub new_json: String,
    /// The row before (UPDATE, DELETE) as far as the table's replica identity shows it; `{}`
    /// for INSERT.
    pub old_json: String,
    /// The server's errors for this change as JSON (`null` when none).
    pub errors_json: String,
    /// The ids of the channel's bindings it matched.
    pub ids: Vec<u64>,
}

impl From<PostgresChangesFilter> for core_api::PostgresChangesFilter {
    fn from(f: PostgresChangesFilter) -> Self {
        Self { event: f.event, schema: f.schema, table: f.table, filter: f.filter }
    }
}

impl From<RealtimeChannelConfig> for core_api::RealtimeChannelConfig {
    fn from(c: RealtimeChannelConfig) -> Self {
        Self {
            broadcast_ack: c.broadcast_ack,
            broadcast_self: c.broadcast_self,
            presence_key: c.presence_key,
            presence_enabled: c.presence_enabled,
            postgres_changes: c.postgres_changes.into_iter().map(Into::into).collect(),
            private: c.private,
        }
    }
}

impl From<core_api::RealtimeEvent> for RealtimeEvent {
    fn from(e: core_api::RealtimeEvent) -> Self {
        match e {
            core_api::RealtimeEvent::Broadcast { event, payload } => {
                Self::Broadcast { event, payload_json: payload.to_string() }
            }
            core_api::RealtimeEvent::PostgresChange(c) => Self::PostgresChanges {
                change: PostgresChange {
                    event_type: c.event_type,
                    schema: c.schema,
                    table: c.table,
                    commit_timestamp: c.commit_timestamp,
                    new_json: c.new.to_string(),
                    old_json: c.old.to_string(),
                    errors_json: c.errors.to_string(),
                    ids: c.ids,
                },
            },
            core_api::RealtimeEvent::System { status, message, extension } => {
                Self::System { status, message, extension }
            }
        }
    }
}

/// The join payload of a Realtime channel with `config`, as JSON: pass it to `join_with` (the
/// user's token is added as `access_token` by the Supabase options).
#[uniffi::export]
pub fn realtime_channel_join_payload(config: RealtimeChannelConfig) -> String {
    core_api::RealtimeChannelConfig::from(config).join_payload().to_string()
}

/// A broadcast of `event` with `payload_json` to everyone on `topic`; send it with
/// `Client.send` (with an acknowledgement if the channel's config has `broadcast_ack`).
#[uniffi::export]
pub fn supabase_broadcast(
    topic: String,
    event: String,
    payload_json: String,
) -> Result<OutgoingMessage, TetherError> {
    let payload = json::parse_value(&payload_json)?;
    Ok(core_api::supabase_broadcast(&topic, &event, payload).into())
}

/// Tracks this client's presence on `topic` with `payload_json` (its meta, a JSON object).
#[uniffi::export]
pub fn supabase_track(topic: String, payload_json: String) -> Result<OutgoingMessage, TetherError> {
    let payload = json::parse_value(&payload_json)?;
    Ok(core_api::supabase_track(&topic, payload).into())
}

/// Stops tracking this client's presence on `topic`.
#[uniffi::export]
pub fn supabase_untrack(topic: String) -> OutgoingMessage {
    core_api::supabase_untrack(&topic).into()
}

/// Reads a Supabase Realtime message (broadcast, database change, system notice); `None` for
/// any other message. Throws `Other` when the message's arguments are not JSON.
#[uniffi::export]
pub fn read_realtime_event(message: IncomingMessage) -> Result<Option<RealtimeEvent>, TetherError> {
    let message = core_api::IncomingMessage::try_from(message)?;
    Ok(core_api::RealtimeEvent::read(&message).map(Into::into))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn parsed(text: &str) -> Value {
        serde_json::from_str(text).unwrap_or(Value::Null)
    }

    #[test]
    fn a_channel_config_becomes_the_cores_join_payload() {
        let config = RealtimeChannelConfig {
            broadcast_self: true,
            presence_key: "ann".into(),
            postgres_changes: vec![PostgresChangesFilter {
                event: "INSERT".into(),
                schema: "public".into(),
                table: Some("todos".into()),
                filter: Some("id=eq.7".into()),
            }],
            ..RealtimeChannelConfig::default()
        };
        let core = core_api::RealtimeChannelConfig {
            broadcast_self: true,
            presence_key: "ann".into(),
            postgres_changes: vec![core_api::PostgresChangesFilter {
                filter: Some("id=eq.7".into()),
                ..core_api::PostgresChangesFilter::table("INSERT", "public", "todos")
            }],
            ..core_api::RealtimeChannelConfig::default()
        };
        assert_eq!(parsed(&realtime_channel_join_payload(config)), core.join_payload());
    }

    #[test]
    fn messages_are_built_by_the_core_and_bad_json_is_refused() {
        let broadcast =
            supabase_broadcast("realtime:r".into(), "cursor".into(), r#"{"x":1}"#.into());
        let expected = core_api::supabase_broadcast("realtime:r", "cursor", json!({"x": 1}));
        assert_eq!(broadcast, Ok(expected.into()));
        let track = supabase_track("realtime:r".into(), r#"{"name":"ann"}"#.into());
        assert_eq!(
            track,
            Ok(core_api::supabase_track("realtime:r", json!({"name": "ann"})).into())
        );
        assert_eq!(
            supabase_untrack("realtime:r".into()),
            core_api::supabase_untrack("realtime:r").into()
        );
        assert!(matches!(
            supabase_broadcast("realtime:r".into(), "e".into(), "{oops".into()),
            Err(TetherError::Other { .. })
        ));
        assert!(matches!(
            supabase_track("realtime:r".into(), "{oops".into()),
            Err(TetherError::Other { .. })
        ));
    }

    fn incoming(event: &str, payload: Value) -> IncomingMessage {
        core_api::IncomingMessage {
            namespace: "realtime:r".into(),
            event: event.into(),
            data: vec![payload],
            binary: Vec::new(),
            ack_id: None,
            offset: None,
        }
        .into()
    }

    #[test]
    fn realtime_messages_are_read_as_the_core_reads_them() {
        let change = incoming(
            "postgres_changes",
            json!({"ids": [5], "data": {"type": "UPDATE", "schema": "public", "table": "todos",
                "commit_timestamp": "2026-01-01T00:00:00Z", "errors": null,
                "record": {"id": 1, "done": true}, "old_record": {"id": 1}}}),
        );
        let Ok(Some(RealtimeEvent::PostgresChanges { change })) = read_realtime_event(change)
        else {
            panic!("not read as a database change");
        };
        assert_eq!((change.event_type.as_str(), change.table.as_str()), ("UPDATE", "todos"));
        assert_eq!(parsed(&change.new_json), json!({"id": 1, "done": true}));
        assert_eq!(parsed(&change.old_json), json!({"id": 1}));
        assert_eq!((change.errors_json.as_str(), change.ids), ("null", vec![5]));

        let broadcast = incoming(
            "broadcast",
            json!({"type": "broadcast", "event": "cursor", "payload": {"x": 1}}),
        );
        assert_eq!(
            read_realtime_event(broadcast),
            Ok(Some(RealtimeEvent::Broadcast {
                event: "cursor".into(),
                payload_json: r#"{"x":1}"#.into()
            }))
        );
        assert_eq!(read_realtime_event(incoming("shout", json!({}))), Ok(None));
        let broken =
            IncomingMessage { args_json: "[oops".into(), ..incoming("broadcast", json!({})) };
        assert!(matches!(read_realtime_event(broken), Err(TetherError::Other { .. })));
    }
}
