//! Versioned field values per room: the server side of optimistic `pricing-update`s.
//!
//! Every (room, field) has a version, 0 before the first write. A write names the version it
//! was based on; if that is not the current one the write is a conflict and the server keeps its
//! value (seed 001's version check; the client rolls back or rebases). Pure data.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use crate::protocol::FieldState;

/// A write that was accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    /// The field's new version.
    pub version: u64,
    /// The room's new version (accepted writes in the room so far).
    pub room_version: u64,
}

/// A write based on a stale version.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    /// The value the server keeps (`null` if the field was never written).
    pub server_value: Value,
    /// The server's current version of the field.
    pub server_version: u64,
}

#[derive(Debug, Default)]
struct RoomBook {
    version: u64,
    fields: BTreeMap<String, FieldState>,
}

/// The field values of every room.
#[derive(Debug, Default)]
pub struct PricingBook {
    rooms: HashMap<String, RoomBook>,
}

impl PricingBook {
    /// An empty book.
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes `value` to `field` of `room` if `base_version` is the field's current version.
    pub fn apply(
        &mut self,
        room: &str,
        field: &str,
        value: Value,
        base_version: u64,
        updated_by: &str,
        now_ms: u64,
    ) -> Result<Accepted, Conflict> {
        let book = self.rooms.entry(room.to_owned()).or_default();
        let current = book.fields.get(field);
        let current_version = current.map_or(0, |state| state.version);
        if base_version != current_version {
            return Err(Conflict {
                server_value: current.map_or(Value::Null, |state| state.value.clone()),
                server_version: current_version,
            });
        }
        let version = current_version + 1;
        book.version += 1;
        book.fields.insert(
            field.to_owned(),
            FieldState { value, version, updated_by: updated_by.to_owned(), timestamp: now_ms },
        );
        Ok(Accepted { version, room_version: book.version })
    }

    /// The room's version and every written field, `(0, {})` for a room never written.
    pub fn snapshot(&self, room: &str) -> (u64, serde_json::Map<String, Value>) {
        let Some(book) = self.rooms.get(room) else {
            return (0, serde_json::Map::new());
        };
        let state = book
            .fields
            .iter()
            .filter_map(|(field, state)| {
                serde_json::to_value(state).ok().map(|value| (field.clone(), value))
            })
            .collect();
        (book.version, state)
    }

    /// The current state of one field.
    pub fn field(&self, room: &str, field: &str) -> Option<&FieldState> {
        self.rooms.get(room)?.fields.get(field)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn first_write_must_be_based_on_version_zero() {
        let mut book = PricingBook::new();
        let accepted = book.apply("doc", "total", json!(100), 0, "alice", 10).expect("accepted");
        assert_eq!(accepted, Accepted { version: 1, room_version: 1 });
        let stored = book.field("doc", "total").expect("written");
        assert_eq!(stored.value, json!(100));
        assert_eq!(stored.updated_by, "alice");
        assert_eq!(stored.timestamp, 10);
    }

    #[test]
    fn stale_base_version_is_a_conflict_that_keeps_the_server_value() {
        let mut book = PricingBook::new();
        book.apply("doc", "total", json!(100), 0, "alice", 1).expect("accepted");
        let conflict = book.apply("doc", "total", json!(90), 0, "bob", 2).expect_err("stale");
        assert_eq!(conflict, Conflict { server_value: json!(100), server_version: 1 });
        assert_eq!(book.field("doc", "total").map(|s| s.value.clone()), Some(json!(100)));
    }

    #[test]
    fn a_base_version_from_the_future_is_also_a_conflict() {
        let mut book = PricingBook::new();
        let conflict = book.apply("doc", "total", json!(1), 5, "bob", 2).expect_err("ahead");
        assert_eq!(conflict, Conflict { server_value: Value::Null, server_version: 0 });
    }

    #[test]
    fn versions_are_per_field_and_room_version_counts_all_writes() {
        let mut book = PricingBook::new();
        book.apply("doc", "labor", json!(1), 0, "alice", 1).expect("accepted");
        book.apply("doc", "labor", json!(2), 1, "alice", 2).expect("accepted");
        let other = book.apply("doc", "materials", json!(3), 0, "bob", 3).expect("accepted");
        assert_eq!(other, Accepted { version: 1, room_version: 3 });
        let elsewhere = book.apply("doc2", "labor", json!(4), 0, "bob", 4).expect("accepted");
        assert_eq!(elsewhere, Accepted { version: 1, room_version: 1 });
    }

    #[test]
    fn snapshot_lists_fields_with_versions_and_writers() {
        let mut book = PricingBook::new();
        assert_eq!(book.snapshot("doc"), (0, serde_json::Map::new()));
        book.apply("doc", "total", json!({"amount": 5}), 0, "alice", 9).expect("accepted");
        let (version, state) = book.snapshot("doc");
        assert_eq!(version, 1);
        assert_eq!(
            serde_json::Value::Object(state),
            json!({"total": {"value": {"amount": 5}, "version": 1, "updatedBy": "alice", "timestamp": 9}})
        );
    }
}
