//! Versioned fields (seed 001): every write names the version it was based on, and a write
//! based on a stale version comes back as a conflict carrying the server's value. This module
//! tracks versions per room and field and decides conflicts, purely.
//!
//! # Last-write-wins, precisely
//! Seed 001 resolves conflicts by "timestamp-based" last-write-wins: of two writes to a field,
//! the one *made* later wins. Here the local write's time is when the app called the update
//! (wall clock, milliseconds since the Unix epoch); the server value's time is the `timestamp`
//! this client saw for that version (from `pricing-updated`, the room snapshot, or a
//! `serverTimestamp` in the conflict reply).
//! - If the server's value is known to be newer than the local write, the **server wins**: the
//!   local write is dropped and the app shows the server value (the update rolls back with
//!   `conflict`).
//! - Otherwise (the local write is newer, or the server value's time is unknown, in which case
//!   the local write is the one that reached the server last) the **local write wins**: it is
//!   re-sent once more with the server's version as its base, and confirms when that lands.
//!
//! A re-sent write can conflict again if someone wrote meanwhile; after `max_conflict_retries`
//! rounds the server's value is kept. Apps that merge instead supply a resolver
//! ([`ConflictPolicy::Custom`]): its result is re-sent unless it equals the server value.
//!
//! Two writes to one field in flight at once are based on the predicted version (the second
//! on the first's), so a client does not conflict with its own writes; if the first fails, the
//! second conflicts and is resolved like any other.

use super::optimistic::OptimisticId;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

/// A resolver: given the conflict, the value that should stand.
pub type Resolver = Arc<dyn Fn(&ConflictInput) -> Value + Send + Sync>;

/// How conflicts are resolved.
#[derive(Clone, Default)]
pub enum ConflictPolicy {
    /// The write made later wins (see the module docs). The default.
    #[default]
    LastWriteWins,
    /// The server's value always stands; conflicting local writes roll back.
    ServerWins,
    /// The app decides, e.g. by merging: the returned value is re-sent, unless it equals the
    /// server's value, which then simply stands.
    Custom(Resolver),
}

impl ConflictPolicy {
    /// A policy from a resolver closure.
    ///
    /// ```
    /// use tether_core::ConflictPolicy;
    /// // Keep the larger of the two amounts.
    /// let policy = ConflictPolicy::custom(|c| {
    ///     if c.local.as_f64() > c.server.as_f64() { c.local.clone() } else { c.server.clone() }
    /// });
    /// ```
    pub fn custom(resolver: impl Fn(&ConflictInput) -> Value + Send + Sync + 'static) -> Self {
        Self::Custom(Arc::new(resolver))
    }
}

impl fmt::Debug for ConflictPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::LastWriteWins => f.write_str("LastWriteWins"),
            Self::ServerWins => f.write_str("ServerWins"),
            Self::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

/// What a resolver sees.
#[derive(Debug, Clone, PartialEq)]
pub struct ConflictInput {
    /// Room.
    pub room: String,
    /// Field.
    pub field: String,
    /// The value this client wrote.
    pub local: Value,
    /// The value the server holds.
    pub server: Value,
    /// The server's version of the field.
    pub server_version: u64,
    /// When the local write was made, ms since the Unix epoch.
    pub local_time_ms: u64,
    /// When the server's value was written, if this client saw it.
    pub server_time_ms: Option<u64>,
}

/// What became of a conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictOutcome {
    /// The resolved value was re-sent based on the server's version; a confirmation or
    /// rollback of the same update follows.
    Resent,
    /// The server's value stands; the update rolls back (`conflict`).
    ServerKept,
}

/// A conflict and its resolution, for the app (show "X changed this meanwhile").
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    /// The update that conflicted.
    pub id: OptimisticId,
    /// Room.
    pub room: String,
    /// Field.
    pub field: String,
    /// The value this client wrote.
    pub local: Value,
    /// The value the server held.
    pub server: Value,
    /// The server's version.
    pub server_version: u64,
    /// The value that stands (or is being re-sent).
    pub resolved: Value,
    /// Re-sent or server kept.
    pub outcome: ConflictOutcome,
}

/// A field's value as this client knows the server has it.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldVersion {
    /// The value.
    pub value: Value,
    /// The field version (0: never written).
    pub version: u64,
    /// Who wrote it, if known.
    pub updated_by: Option<String>,
    /// When it was written, ms since the Unix epoch, if known.
    pub timestamp_ms: Option<u64>,
}

/// A write to send: `{room, field, value, baseVersion, optimisticId}`.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionedWrite {
    /// Room.
    pub room: String,
    /// Field.
    pub field: String,
    /// Value.
    pub value: Value,
    /// The version it is based on.
    pub base_version: u64,
}

/// What an answer to a versioned write means.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteResult {
    /// Not a versioned write this tracker knows (already settled, or a plain optimistic one).
    Unknown,
    /// Accepted at this version.
    Accepted {
        /// The field's new version.
        version: u64,
    },
    /// Refused for another reason than a conflict (the optimistic tracker reads why).
    Refused,
    /// A conflict, resolved; `resend` is the write to send when the local side won.
    Conflict {
        /// The conflict, for the app.
        conflict: Box<Conflict>,
        /// The re-send, for [`ConflictOutcome::Resent`].
        resend: Option<VersionedWrite>,
    },
}

#[derive(Debug, Clone)]
struct InFlight {
    write: VersionedWrite,
    made_at_ms: u64,
    conflicts: u32,
}

/// Versions of every field of every room, and the versioned writes in flight.
#[derive(Debug, Clone)]
pub struct VersionedFields {
    policy: ConflictPolicy,
    max_conflict_retries: u32,
    known: BTreeMap<String, BTreeMap<String, FieldVersion>>,
    /// (room, field) pairs learned on the current connection. What was learned before a
    /// reconnect may describe a server that restarted (versions back at 0), so it informs the
    /// app's view but never overrules what the server says now.
    fresh: BTreeSet<(String, String)>,
    in_flight: BTreeMap<OptimisticId, InFlight>,
}

impl VersionedFields {
    /// Conflicts resolved by `policy`; a write is re-sent at most `max_conflict_retries` times.
    pub fn new(policy: ConflictPolicy, max_conflict_retries: u32) -> Self {
        Self {
            policy,
            max_conflict_retries,
            known: BTreeMap::new(),
            fresh: BTreeSet::new(),
            in_flight: BTreeMap::new(),
        }
    }

    /// The field as this client knows the server has it.
    pub fn field(&self, room: &str, field: &str) -> Option<&FieldVersion> {
        self.known.get(room)?.get(field)
    }

    /// Every known field of a room.
    pub fn fields(&self, room: &str) -> BTreeMap<String, FieldVersion> {
        self.known.get(room).cloned().unwrap_or_default()
    }

    /// Starts a write made at `now_ms`; returns what to send.
    pub fn write(
        &mut self,
        id: OptimisticId,
        room: &str,
        field: &str,
        value: Value,
        now_ms: u64,
    ) -> VersionedWrite {
        let known = self.field(room, field).map_or(0, |f| f.version);
        // Writes of ours still in flight will each add one version before this one lands.
        let ahead = self
            .in_flight
            .values()
            .filter(|w| w.write.room == room && w.write.field == field)
            .count() as u64;
        let write = VersionedWrite {
            room: room.to_owned(),
            field: field.to_owned(),
            value,
            base_version: known.saturating_add(ahead),
        };
        self.in_flight
            .insert(id, InFlight { write: write.clone(), made_at_ms: now_ms, conflicts: 0 });
        write
    }

    /// The room of versioned write `id`, while in flight.
    pub fn room_of(&self, id: &OptimisticId) -> Option<&str> {
        self.in_flight.get(id).map(|w| w.write.room.as_str())
    }

    /// True if `id` is a versioned write in flight.
    pub fn is_in_flight(&self, id: &OptimisticId) -> bool {
        self.in_flight.contains_key(id)
    }

    /// The server answered write `id`.
    pub fn on_reply(&mut self, id: &OptimisticId, reply: Option<&Value>) -> WriteResult {
        let Some(flight) = self.in_flight.get(id).cloned() else { return WriteResult::Unknown };
        let reply = reply.unwrap_or(&Value::Null);
        if reply.get("ok").and_then(Value::as_bool) != Some(false) {
            self.in_flight.remove(id);
            let version = reply
                .get("version")
                .and_then(Value::as_u64)
                .unwrap_or(flight.write.base_version.saturating_add(1));
            let value = reply.get("value").cloned().unwrap_or(flight.write.value);
            self.learn(
                &flight.write.room,
                &flight.write.field,
                FieldVersion {
                    value,
                    version,
                    updated_by: None,
                    timestamp_ms: Some(flight.made_at_ms),
                },
            );
            return WriteResult::Accepted { version };
        }
        let server_version = reply.get("serverVersion").and_then(Value::as_u64);
        let is_conflict = reply.get("error").and_then(Value::as_str) == Some("conflict");
        let (true, Some(server_version)) = (is_conflict, server_version) else {
            self.in_flight.remove(id);
            return WriteResult::Refused;
        };
        let server_value = reply.get("serverValue").cloned().unwrap_or(Value::Null);
        let (room, field) = (flight.write.room.clone(), flight.write.field.clone());
        // A broadcast may already have told us of an even newer version; resolve against it.
        let fresh = self.fresh.contains(&(room.clone(), field.clone()));
        let server = match self.field(&room, &field) {
            Some(known) if fresh && known.version >= server_version => known.clone(),
            // Servers that say when and by whom their value was written make last-write-wins
            // exact (the reference protocol's conflict reply may carry both).
            _ => FieldVersion {
                value: server_value,
                version: server_version,
                updated_by: reply.get("serverUpdatedBy").and_then(Value::as_str).map(str::to_owned),
                timestamp_ms: reply.get("serverTimestamp").and_then(Value::as_u64),
            },
        };
        if server.value == flight.write.value {
            // The server already holds what we wrote: nothing to resolve, the write stands.
            self.in_flight.remove(id);
            self.learn(&room, &field, server.clone());
            return WriteResult::Accepted { version: server.version };
        }
        let input = ConflictInput {
            room: room.clone(),
            field: field.clone(),
            local: flight.write.value.clone(),
            server: server.value.clone(),
            server_version: server.version,
            local_time_ms: flight.made_at_ms,
            server_time_ms: server.timestamp_ms,
        };
        let resolved = match &self.policy {
            ConflictPolicy::LastWriteWins => {
                if input.server_time_ms.is_some_and(|t| t > input.local_time_ms) {
                    input.server.clone()
                } else {
                    input.local.clone()
                }
            }
            ConflictPolicy::ServerWins => input.server.clone(),
            ConflictPolicy::Custom(resolver) => resolver(&input),
        };
        let retries_left = flight.conflicts < self.max_conflict_retries;
        self.learn(&room, &field, server.clone());
        let mut conflict = Conflict {
            id: id.clone(),
            room,
            field,
            local: input.local,
            server: server.value.clone(),
            server_version: server.version,
            resolved: resolved.clone(),
            outcome: ConflictOutcome::ServerKept,
        };
        if resolved == server.value || !retries_left {
            conflict.resolved = server.value;
            self.in_flight.remove(id);
            return WriteResult::Conflict { conflict: Box::new(conflict), resend: None };
        }
        let Some(flight) = self.in_flight.get_mut(id) else { return WriteResult::Unknown };
        flight.conflicts += 1;
        flight.write.value = resolved;
        flight.write.base_version = server.version;
        conflict.outcome = ConflictOutcome::Resent;
        WriteResult::Conflict { conflict: Box::new(conflict), resend: Some(flight.write.clone()) }
    }

    /// Write `id` failed without an answer (timeout, connection): forgets it.
    pub fn on_failed(&mut self, id: &OptimisticId) {
        self.in_flight.remove(id);
    }

    /// Someone else's write was accepted (`pricing-updated`). Returns true if it is news.
    pub fn apply_remote(&mut self, room: &str, field: &str, update: FieldVersion) -> bool {
        self.learn(room, field, update)
    }

    /// The room snapshot's field states replace what was known. Returns the fields whose
    /// value or version changed.
    pub fn apply_snapshot(
        &mut self,
        room: &str,
        fields: BTreeMap<String, FieldVersion>,
    ) -> Vec<(String, FieldVersion)> {
        let old = self.known.remove(room).unwrap_or_default();
        self.fresh.extend(fields.keys().map(|name| (room.to_owned(), name.clone())));
        let changed = fields
            .iter()
            .filter(|(name, f)| {
                old.get(*name).is_none_or(|o| o.version != f.version || o.value != f.value)
            })
            .map(|(name, f)| (name.clone(), f.clone()))
            .collect();
        self.known.insert(room.to_owned(), fields);
        changed
    }

    /// The connection dropped: what is known stays for display, but is no longer trusted over
    /// the server's answers until it is learned again (a restarted server counts from 0).
    pub fn connection_lost(&mut self) {
        self.fresh.clear();
    }

    /// Forgets a room (left). Writes in flight there are forgotten too.
    pub fn remove_room(&mut self, room: &str) {
        self.known.remove(room);
        self.in_flight.retain(|_, w| w.write.room != room);
    }

    fn learn(&mut self, room: &str, field: &str, update: FieldVersion) -> bool {
        let key = (room.to_owned(), field.to_owned());
        let fresh = self.fresh.contains(&key);
        let fields = self.known.entry(room.to_owned()).or_default();
        match fields.get(field) {
            Some(known) if fresh && known.version >= update.version => false,
            _ => {
                fields.insert(field.to_owned(), update);
                self.fresh.insert(key);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests;
