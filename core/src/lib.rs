//! Tether: a real-time client engine that keeps a WebSocket (raw or Socket.IO v5) alive through
//! bad networks, and tells the app how it is going.
//!
//! The layers, from the app down (see `ARCHITECTURE.md`):
//! - [`Client`]: the cheap-to-clone handle apps hold ([`client`], [`subscription`]).
//! - the driver: one tokio task per client doing all I/O (`driver`, [`transport`]).
//! - [`Session`]: the sans-IO state machine: state, backoff, heartbeat, health, outbox, acks,
//!   rooms, stats ([`session`] and the one-concept modules it uses).
//! - [`Protocol`]s: pure codecs over frames ([`raw_websocket`], [`socketio_protocol`] on top of
//!   [`engineio_packet`] and [`socketio_packet`]).

// The state machine and what it is made of.
pub mod acks;
pub mod backoff;
pub mod config;
pub mod connection_state;
pub mod dedup;
pub mod error;
pub mod event;
pub mod health;
pub mod message;
pub mod outbox;
pub mod rate_limit;
pub mod rooms;
pub mod rtt;
pub mod session;
pub mod stats;
pub mod token;

// Wire protocols.
pub mod engineio_packet;
pub mod protocol;
pub mod raw_websocket;
pub mod socketio_packet;
pub mod socketio_protocol;

// I/O and the app-facing handle.
mod burst_reader;
pub mod client;
mod driver;
pub mod subscription;
pub mod transport;
mod upgrade_stream;

// Collaboration helpers.
pub mod collab;
mod collab_actor;
pub mod collab_config;
pub mod collab_cursor;
pub mod collab_events;
pub mod collab_optimistic;
pub mod collab_presence;
pub mod collab_typing;
pub mod collab_versioned;
pub mod collab_wire;

pub use backoff::{BackoffPolicy, Jitter};
pub use client::{Client, ClientBuilder, PendingAck};
pub use config::{Config, ProtocolConfig, RawWebSocketConfig, SocketIoConfig};
pub use connection_state::{ConnectionState, DisconnectReason, FailureReason};
pub use error::{AckError, ConfigError, Error, ErrorKind, SendError, TransportError, TrySendError};
pub use event::Event;
pub use health::{Health, HealthStatus, HealthThresholds, Quality};
pub use message::{AckId, AckReply, Frame, IncomingMessage, OutgoingMessage};
pub use outbox::{DropReason, OverflowPolicy};
pub use protocol::{Protocol, ProtocolEvent, ProtocolOutput, TransportRequest};
pub use rate_limit::RateLimit;
pub use rtt::LatencyStats;
pub use session::{Action, SendOptions, Session};
pub use stats::Stats;
pub use subscription::{EventStream, Subscription, SubscriptionOptions};
pub use token::{Token, TokenError, TokenProvider};

// Collaboration helpers.
pub use collab::{
    CollabEvent, CollabEventStream, CollabState, CollabStats, Collaboration, RoomState,
};
pub use collab_config::CollabConfig;
pub use collab_events::CollabEvents;
pub use collab_optimistic::{OptimisticId, OptimisticOutcome, RollbackReason, Verdict};
pub use collab_presence::{
    Cursor, LeaveReason, Member, MemberChange, PresenceChange, PresenceState,
};
pub use collab_versioned::{
    Conflict, ConflictInput, ConflictOutcome, ConflictPolicy, FieldVersion,
};
