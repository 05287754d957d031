//! Phoenix Channels v2 (what every Phoenix app and Supabase Realtime speak): the frame codec
//! (JSON and binary), the channels of a socket and their refs, presence merged by Phoenix's
//! rules, the [`Phoenix`] protocol that speaks them for the engine, and Supabase Realtime's
//! channel config and messages on top.
//!
//! Inside this folder, from the bottom: `frame` (the codec), `presence` (state and diffs),
//! `channels` (joins, refs, stale messages), `supabase` (Realtime's shapes), then `connection`
//! (the `Protocol` impl) with `inbound` (what the server sends).

mod channels;
mod config;
mod connection;
pub mod frame;
mod inbound;
pub mod presence;
pub mod supabase;

pub use config::PhoenixConfig;
pub use connection::Phoenix;
pub use supabase::{
    supabase_broadcast, supabase_track, supabase_untrack, PostgresChange, PostgresChangesFilter,
    RealtimeChannelConfig, RealtimeEvent,
};

#[cfg(test)]
mod tests;
