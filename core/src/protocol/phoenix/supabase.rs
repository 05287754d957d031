//! Supabase Realtime on Phoenix Channels: the join config of a `realtime:*` channel, the
//! `postgres_changes` bindings the server answers with ids, the messages a Supabase client
//! sends (broadcast, presence track/untrack) and a typed view of what it receives.
//!
//! Shapes follow the official client (supabase-js `realtime-js`): a join payload
//! `{config: {broadcast: {ack, self}, presence: {key, enabled}, postgres_changes: [...],
//! private}, access_token}`, answered `{postgres_changes: [{id, event, schema, table,
//! filter}]}` in the order asked.

use crate::model::{IncomingMessage, OutgoingMessage};
use serde_json::{json, Map, Value};

/// The event name of broadcasts, presence pushes, database changes and system notices.
pub const BROADCAST: &str = "broadcast";
/// See [`BROADCAST`].
pub const PRESENCE: &str = "presence";
/// See [`BROADCAST`].
pub const POSTGRES_CHANGES: &str = "postgres_changes";
/// See [`BROADCAST`].
pub const SYSTEM: &str = "system";

/// Which database changes a channel wants (one `postgres_changes` binding).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresChangesFilter {
    /// `"*"`, `"INSERT"`, `"UPDATE"` or `"DELETE"`.
    pub event: String,
    /// The schema, e.g. `"public"`.
    pub schema: String,
    /// The table, or every table of the schema.
    pub table: Option<String>,
    /// A row filter such as `"id=eq.7"`.
    pub filter: Option<String>,
}

impl PostgresChangesFilter {
    /// Every `event` (`"*"`, `"INSERT"`...) on `schema.table`.
    ///
    /// ```
    /// let f = tether_core::PostgresChangesFilter::table("INSERT", "public", "todos");
    /// assert_eq!(f.table.as_deref(), Some("todos"));
    /// ```
    pub fn table(event: &str, schema: &str, table: &str) -> Self {
        Self {
            event: event.to_owned(),
            schema: schema.to_owned(),
            table: Some(table.to_owned()),
            filter: None,
        }
    }

    /// The binding as the join payload carries it.
    pub fn to_json(&self) -> Value {
        let mut fields = Map::new();
        fields.insert("event".into(), Value::String(self.event.clone()));
        fields.insert("schema".into(), Value::String(self.schema.clone()));
        if let Some(table) = &self.table {
            fields.insert("table".into(), Value::String(table.clone()));
        }
        if let Some(filter) = &self.filter {
            fields.insert("filter".into(), Value::String(filter.clone()));
        }
        Value::Object(fields)
    }
}

/// The config of a Supabase Realtime channel, turned into its join payload by
/// [`RealtimeChannelConfig::join_payload`]. Defaults as realtime-js's.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RealtimeChannelConfig {
    /// The server acknowledges each broadcast this client sends (send with an ack). Default
    /// false.
    pub broadcast_ack: bool,
    /// This client receives its own broadcasts too. Default false.
    pub broadcast_self: bool,
    /// The presence key this client tracks under (a user id); empty: the server picks one.
    pub presence_key: String,
    /// Receive presence from others. Default false (tracking works regardless).
    pub presence_enabled: bool,
    /// Database changes wanted; the server answers each with an id.
    pub postgres_changes: Vec<PostgresChangesFilter>,
    /// A private channel (authorized by Realtime's RLS policies). Default false.
    pub private: bool,
}

impl RealtimeChannelConfig {
    /// The join payload (the token is added by the protocol as `access_token`).
    ///
    /// ```
    /// use tether_core::{PostgresChangesFilter, RealtimeChannelConfig};
    /// let config = RealtimeChannelConfig {
    ///     broadcast_self: true,
    ///     postgres_changes: vec![PostgresChangesFilter::table("*", "public", "todos")],
    ///     ..RealtimeChannelConfig::default()
    /// };
    /// let payload = config.join_payload();
    /// assert_eq!(payload["config"]["broadcast"]["self"], true);
    /// assert_eq!(payload["config"]["postgres_changes"][0]["table"], "todos");
    /// ```
    pub fn join_payload(&self) -> Value {
        let changes: Vec<Value> = self.postgres_changes.iter().map(|f| f.to_json()).collect();
        json!({
            "config": {
                "broadcast": {"ack": self.broadcast_ack, "self": self.broadcast_self},
                "presence": {"key": self.presence_key, "enabled": self.presence_enabled},
                "postgres_changes": changes,
                "private": self.private,
            }
        })
    }
}

/// A broadcast to everyone on `topic` (`event` is the app's own name).
///
/// ```
/// let m = tether_core::supabase_broadcast("realtime:room1", "cursor", serde_json::json!({"x": 1}));
/// assert_eq!(m.namespace, "realtime:room1");
/// assert_eq!(m.data[0]["event"], "cursor");
/// ```
pub fn supabase_broadcast(topic: &str, event: &str, payload: Value) -> OutgoingMessage {
    OutgoingMessage::new(BROADCAST, json!({"type": BROADCAST, "event": event, "payload": payload}))
        .in_namespace(topic)
}

/// Tracks this client's presence on `topic` with `payload` (its meta).
pub fn supabase_track(topic: &str, payload: Value) -> OutgoingMessage {
    OutgoingMessage::new(PRESENCE, json!({"type": PRESENCE, "event": "track", "payload": payload}))
        .in_namespace(topic)
}

/// Stops tracking this client's presence on `topic`.
pub fn supabase_untrack(topic: &str) -> OutgoingMessage {
    OutgoingMessage::new(PRESENCE, json!({"type": PRESENCE, "event": "untrack"}))
        .in_namespace(topic)
}

/// A Supabase Realtime message, read from an [`IncomingMessage`] by [`RealtimeEvent::read`].
#[derive(Debug, Clone, PartialEq)]
pub enum RealtimeEvent {
    /// Someone's broadcast.
    Broadcast {
        /// The app's event name.
        event: String,
        /// Its payload. A broadcast of bytes has a placeholder here and its bytes as the
        /// message's first attachment (`IncomingMessage::binary[0]`).
        payload: Value,
    },
    /// A database change, in realtime-js's shape.
    PostgresChange(PostgresChange),
    /// A notice from the server (`{status, message, extension, channel}`).
    System {
        /// `"ok"` or `"error"`.
        status: String,
        /// What it says.
        message: String,
        /// Which part of the server: `"postgres_changes"`, `"system"`...
        extension: String,
    },
}

/// One database change.
#[derive(Debug, Clone, PartialEq)]
pub struct PostgresChange {
    /// `"INSERT"`, `"UPDATE"` or `"DELETE"`.
    pub event_type: String,
    /// Schema.
    pub schema: String,
    /// Table.
    pub table: String,
    /// When it was committed, as the server wrote it.
    pub commit_timestamp: String,
    /// The row after the change (INSERT, UPDATE), as the server sent its values.
    pub new: Value,
    /// The row before (UPDATE, DELETE), as far as the table's replica identity shows it.
    pub old: Value,
    /// The server's errors for this change, if any.
    pub errors: Value,
    /// The ids of the bindings it matched.
    pub ids: Vec<u64>,
}

impl RealtimeEvent {
    /// Reads a Supabase Realtime message; `None` for any other event or a malformed one.
    pub fn read(message: &IncomingMessage) -> Option<Self> {
        let payload = message.payload()?;
        let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
        match message.event.as_str() {
            BROADCAST => Some(Self::Broadcast {
                event: text(payload, "event")?,
                payload: payload.get("payload").cloned().unwrap_or(Value::Null),
            }),
            POSTGRES_CHANGES => {
                let data = payload.get("data")?;
                let event_type = text(data, "type").or_else(|| text(data, "eventType"))?;
                let row = |key: &str, alt: &str| {
                    data.get(key).or_else(|| data.get(alt)).cloned().unwrap_or_else(|| json!({}))
                };
                let (new, old) = match event_type.as_str() {
                    "INSERT" => (row("record", "new"), json!({})),
                    "DELETE" => (json!({}), row("old_record", "old")),
                    _ => (row("record", "new"), row("old_record", "old")),
                };
                Some(Self::PostgresChange(PostgresChange {
                    schema: text(data, "schema").unwrap_or_default(),
                    table: text(data, "table").unwrap_or_default(),
                    commit_timestamp: text(data, "commit_timestamp").unwrap_or_default(),
                    errors: data.get("errors").cloned().unwrap_or(Value::Null),
                    ids: change_ids(payload),
                    event_type,
                    new,
                    old,
                }))
            }
            SYSTEM => Some(Self::System {
                status: text(payload, "status").unwrap_or_default(),
                message: text(payload, "message").unwrap_or_default(),
                extension: text(payload, "extension").unwrap_or_default(),
            }),
            _ => None,
        }
    }
}

/// The binding ids a `postgres_changes` push names.
pub(crate) fn change_ids(payload: &Value) -> Vec<u64> {
    payload
        .get("ids")
        .and_then(Value::as_array)
        .map(|ids| ids.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default()
}

/// Matches the server's answer to a join against the bindings asked for, in order, as
/// realtime-js does (an absent, null or empty value counts as none). Returns the ids, or why
/// they do not match.
pub(crate) fn match_bindings(
    asked: &[Value],
    answered: Option<&Value>,
) -> Result<Vec<u64>, String> {
    if asked.is_empty() {
        return Ok(Vec::new());
    }
    const MISMATCH: &str = "mismatch between server and client bindings for postgres changes";
    let answered = answered.and_then(Value::as_array).ok_or_else(|| MISMATCH.to_owned())?;
    let field = |v: &Value, key: &str| {
        v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned)
    };
    asked
        .iter()
        .enumerate()
        .map(|(i, want)| {
            let got = answered.get(i).ok_or_else(|| MISMATCH.to_owned())?;
            let same = ["event", "schema", "table", "filter"]
                .iter()
                .all(|key| field(want, key) == field(got, key));
            let id = got.get("id").and_then(Value::as_u64);
            match (same, id) {
                (true, Some(id)) => Ok(id),
                _ => Err(MISMATCH.to_owned()),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests;
