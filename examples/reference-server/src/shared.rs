//! Room state shared between nodes through Redis (`--redis`): the roster and the versioned
//! field values, so every node answers `join-room` with the whole room and detects
//! `pricing-update` conflicts whichever node the writers are on.
//!
//! Keys per room (`{room}` is the room id):
//! - `tether:{room}:conns`   hash user id -> open connections in the room, all nodes together
//! - `tether:{room}:members` hash user id -> `Member` JSON (last writer wins across nodes)
//! - `tether:{room}:fields`  hash `v:<field>` -> version, `s:<field>` -> `FieldState` JSON,
//!   `#version` -> room version
//!
//! Compare-and-set and connection counting run as Lua scripts, so they are atomic across nodes.
//! A node that dies without closing its sockets leaves its members behind (no expiry here).

use std::collections::HashMap;

use redis::aio::MultiplexedConnection;
use redis::{AsyncCommands, Script};
use serde_json::Value;

use crate::presence::Member;
use crate::pricing::{Accepted, Conflict};
use crate::protocol::FieldState;

const WRITE_FIELD: &str = r"
local current = tonumber(redis.call('HGET', KEYS[1], 'v:' .. ARGV[1]) or '0')
if current ~= tonumber(ARGV[2]) then
  return {0, current, redis.call('HGET', KEYS[1], 's:' .. ARGV[1]) or ''}
end
redis.call('HSET', KEYS[1], 'v:' .. ARGV[1], current + 1, 's:' .. ARGV[1], ARGV[3])
return {1, current + 1, tostring(redis.call('HINCRBY', KEYS[1], '#version', 1))}
";

const LEAVE: &str = r"
local left = redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
if left <= 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[2], ARGV[1])
  return 1
end
return 0
";

/// A Redis failure while reading or writing shared room state.
#[derive(Debug, thiserror::Error)]
#[error("shared room state unavailable: {0}")]
pub struct SharedError(String);

impl From<redis::RedisError> for SharedError {
    fn from(err: redis::RedisError) -> Self {
        Self(err.to_string())
    }
}

/// Rosters and field values in Redis.
#[derive(Clone)]
pub struct SharedRooms {
    conn: MultiplexedConnection,
    write_field: Script,
    leave: Script,
}

impl std::fmt::Debug for SharedRooms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedRooms").finish_non_exhaustive()
    }
}

fn key(room: &str, what: &str) -> String {
    format!("tether:{room}:{what}")
}

impl SharedRooms {
    /// Opens a connection through `client`.
    pub async fn connect(client: &redis::Client) -> Result<Self, SharedError> {
        let conn = client.get_multiplexed_async_connection().await?;
        Ok(Self { conn, write_field: Script::new(WRITE_FIELD), leave: Script::new(LEAVE) })
    }

    /// Counts one more connection of `member` in `room` and stores the member. True if it is
    /// the user's first connection in the room on any node (announce `user-joined`).
    pub async fn join(&self, room: &str, member: &Member) -> Result<bool, SharedError> {
        let json = serde_json::to_string(member).map_err(|e| SharedError(e.to_string()))?;
        let (count,): (i64,) = redis::pipe()
            .atomic()
            .hincr(key(room, "conns"), &member.user_id, 1)
            .hset(key(room, "members"), &member.user_id, json)
            .ignore()
            .query_async(&mut self.conn.clone())
            .await?;
        Ok(count == 1)
    }

    /// Counts one connection of `user_id` out of `room`. True if it was the user's last one on
    /// any node (announce `user-left` / `user-disconnected`).
    pub async fn leave(&self, room: &str, user_id: &str) -> Result<bool, SharedError> {
        let gone: i64 = self
            .leave
            .key(key(room, "conns"))
            .key(key(room, "members"))
            .arg(user_id)
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(gone == 1)
    }

    /// Stores the member's new state (cursor, focus, presence).
    pub async fn update_member(&self, room: &str, member: &Member) -> Result<(), SharedError> {
        let json = serde_json::to_string(member).map_err(|e| SharedError(e.to_string()))?;
        // Only while the user is still in the room: a late update must not resurrect a member.
        let present: bool = self.conn.clone().hexists(key(room, "conns"), &member.user_id).await?;
        if present {
            let () = self.conn.clone().hset(key(room, "members"), &member.user_id, json).await?;
        }
        Ok(())
    }

    /// The room's members (ordered by user id), version and written fields.
    pub async fn snapshot(
        &self,
        room: &str,
    ) -> Result<(Vec<Member>, u64, serde_json::Map<String, Value>), SharedError> {
        let mut conn = self.conn.clone();
        let members: HashMap<String, String> = conn.hgetall(key(room, "members")).await?;
        let fields: HashMap<String, String> = conn.hgetall(key(room, "fields")).await?;
        let mut members: Vec<Member> =
            members.values().filter_map(|json| serde_json::from_str(json).ok()).collect();
        members.sort_by(|a, b| a.user_id.cmp(&b.user_id));
        let version = fields.get("#version").and_then(|v| v.parse().ok()).unwrap_or(0);
        let state = fields
            .iter()
            .filter_map(|(name, json)| {
                let field = name.strip_prefix("s:")?;
                Some((field.to_owned(), serde_json::from_str(json).ok()?))
            })
            .collect();
        Ok((members, version, state))
    }

    /// Compare-and-set of one field: stores `state` (whose version must be `base_version + 1`)
    /// if the field's version is `base_version`.
    pub async fn write_field(
        &self,
        room: &str,
        field: &str,
        base_version: u64,
        state: &FieldState,
    ) -> Result<Result<Accepted, Conflict>, SharedError> {
        let json = serde_json::to_string(state).map_err(|e| SharedError(e.to_string()))?;
        let (accepted, version, extra): (i64, u64, String) = self
            .write_field
            .key(key(room, "fields"))
            .arg(field)
            .arg(base_version)
            .arg(json)
            .invoke_async(&mut self.conn.clone())
            .await?;
        if accepted == 1 {
            let room_version = extra.parse().unwrap_or(0);
            return Ok(Ok(Accepted { version, room_version }));
        }
        let server_value = serde_json::from_str::<FieldState>(&extra)
            .map(|state| state.value)
            .unwrap_or(Value::Null);
        Ok(Err(Conflict { server_value, server_version: version }))
    }
}
