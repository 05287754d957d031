//! Phoenix presence, merged by Phoenix's rules (phoenix.js `Presence.syncState` and `syncDiff`),
//! into the roster vocabulary the app already knows ([`PresenceChange`], [`Member`]).
//!
//! The server pushes `presence_state` (everyone, keyed by presence key, each with a list of
//! metas: one per connection, told apart by `phx_ref`) once per join, and `presence_diff`
//! (`joins` and `leaves`, same shape) after that. A real server sends the joiner's own diff
//! *before* the state (see tests/fixtures/phoenix/README.md), so diffs that arrive before the
//! state of the current join are held and applied after it.
//!
//! Pure: time comes in as an argument; nothing here can panic on what the server sends.

use crate::model::{LeaveReason, Member, MemberChange, PresenceChange, PresenceState};
use serde_json::{Map, Value};
use std::time::Instant;

/// Diffs held while waiting for the state; a server sending more is broken or hostile.
const MAX_HELD_DIFFS: usize = 1_000;

/// The presence of one channel.
#[derive(Debug, Clone, Default)]
pub struct PresenceSync {
    /// Presence key -> its metas, in the order keys arrived.
    entries: Vec<(String, Vec<Value>)>,
    /// Whether the state of the current join has arrived.
    synced: bool,
    held: Vec<Value>,
}

impl PresenceSync {
    /// A roster waiting for its first state.
    pub fn new() -> Self {
        Self::default()
    }

    /// The channel was (re)joined: diffs wait for the new join's state again.
    pub fn rejoined(&mut self) {
        self.synced = false;
        self.held.clear();
    }

    /// Whether the current join's state has arrived.
    pub fn is_synced(&self) -> bool {
        self.synced
    }

    /// The members now, in arrival order.
    pub fn members(&self, now: Instant) -> Vec<Member> {
        self.entries.iter().map(|(key, metas)| member(key, metas, now)).collect()
    }

    /// A `presence_state` push: the whole roster. Returns what changed, then `Synced`.
    pub fn apply_state(&mut self, room: &str, state: &Value, now: Instant) -> Vec<PresenceChange> {
        let incoming = entries_of(state);
        let mut changes = Vec::new();
        for (key, _) in &self.entries {
            if !incoming.iter().any(|(k, _)| k == key) {
                changes.push(left(room, key));
            }
        }
        for (key, metas) in &incoming {
            match self.entries.iter().find(|(k, _)| k == key) {
                None => changes.push(PresenceChange::Joined {
                    room: room.to_owned(),
                    member: member(key, metas, now),
                }),
                Some((_, old)) if refs(old) != refs(metas) => {
                    changes.push(updated(room, key, metas, now))
                }
                Some(_) => {}
            }
        }
        self.entries = incoming;
        self.synced = true;
        for diff in std::mem::take(&mut self.held) {
            changes.extend(self.merge_diff(room, &diff, now));
        }
        changes.push(PresenceChange::Synced { room: room.to_owned(), members: self.members(now) });
        changes
    }

    /// A `presence_diff` push. Held (no changes yet) until the current join's state arrived.
    pub fn apply_diff(&mut self, room: &str, diff: &Value, now: Instant) -> Vec<PresenceChange> {
        if !self.synced {
            if self.held.len() < MAX_HELD_DIFFS {
                self.held.push(diff.clone());
            }
            return Vec::new();
        }
        self.merge_diff(room, diff, now)
    }

    fn merge_diff(&mut self, room: &str, diff: &Value, now: Instant) -> Vec<PresenceChange> {
        let mut changes = Vec::new();
        for (key, joined) in entries_of(diff.get("joins").unwrap_or(&Value::Null)) {
            let joined_refs = refs(&joined);
            match self.entries.iter_mut().find(|(k, _)| *k == key) {
                Some((_, metas)) => {
                    // Metas already held stay first, with the joined ones (replacing any with
                    // the same phx_ref) after them, as phoenix.js orders them.
                    let before = refs(metas);
                    metas.retain(|m| !joined_refs.contains(&phx_ref(m)));
                    metas.extend(joined);
                    if refs(metas) != before {
                        changes.push(updated(room, &key, metas, now));
                    }
                }
                None => {
                    changes.push(PresenceChange::Joined {
                        room: room.to_owned(),
                        member: member(&key, &joined, now),
                    });
                    self.entries.push((key, joined));
                }
            }
        }
        for (key, gone) in entries_of(diff.get("leaves").unwrap_or(&Value::Null)) {
            let gone_refs = refs(&gone);
            let Some(index) = self.entries.iter().position(|(k, _)| *k == key) else { continue };
            let metas = &mut self.entries[index].1;
            metas.retain(|m| !gone_refs.contains(&phx_ref(m)));
            if metas.is_empty() {
                self.entries.remove(index);
                changes.push(left(room, &key));
            } else {
                let metas = metas.clone();
                changes.push(updated(room, &key, &metas, now));
            }
        }
        changes
    }
}

/// `{key: {metas: [...]}, ...}` as a list; anything malformed is skipped.
fn entries_of(value: &Value) -> Vec<(String, Vec<Value>)> {
    let Some(map) = value.as_object() else { return Vec::new() };
    map.iter()
        .filter_map(|(key, presence)| {
            let metas = presence.get("metas")?.as_array()?.clone();
            Some((key.clone(), metas))
        })
        .collect()
}

fn phx_ref(meta: &Value) -> Option<String> {
    meta.get("phx_ref").and_then(Value::as_str).map(str::to_owned)
}

fn refs(metas: &[Value]) -> Vec<Option<String>> {
    metas.iter().map(phx_ref).collect()
}

fn left(room: &str, key: &str) -> PresenceChange {
    PresenceChange::Left {
        room: room.to_owned(),
        user_id: key.to_owned(),
        reason: LeaveReason::Left,
    }
}

fn updated(room: &str, key: &str, metas: &[Value], now: Instant) -> PresenceChange {
    PresenceChange::Updated {
        room: room.to_owned(),
        member: member(key, metas, now),
        change: MemberChange::Profile,
    }
}

/// A roster member for a presence key: the newest meta's conventional fields (`name`, `role`,
/// `state`/`status`, `tool`, `field`, `cursor`), every meta as sent.
fn member(key: &str, metas: &[Value], now: Instant) -> Member {
    let empty = Map::new();
    let newest = metas.last().and_then(Value::as_object).unwrap_or(&empty);
    let text = |names: &[&str]| {
        names.iter().find_map(|n| newest.get(*n).and_then(Value::as_str)).map(str::to_owned)
    };
    let cursor = newest.get("cursor").and_then(|c| {
        Some(crate::model::Cursor { x: c.get("x")?.as_f64()?, y: c.get("y")?.as_f64()? })
    });
    Member {
        user_id: key.to_owned(),
        name: text(&["name", "username", "user"]).unwrap_or_else(|| key.to_owned()),
        role: text(&["role"]),
        state: text(&["state", "status"])
            .and_then(|s| PresenceState::parse(&s))
            .unwrap_or_default(),
        field: text(&["field"]),
        typing_in: None,
        cursor,
        tool: text(&["tool"]),
        last_seen: now,
        metas: metas.to_vec(),
    }
}

#[cfg(test)]
mod tests;
