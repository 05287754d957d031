//! Tether: a real-time client engine that keeps a WebSocket (raw, Socket.IO v5 or Phoenix
//! Channels v2) alive through bad networks, and tells the app how it is going.
//!
//! The folders are the layers, from the bottom up (see `ARCHITECTURE.md`); a module may use
//! the layers below its own and never one above:
//! 0. [`model`]: the vocabulary every layer speaks and the app sees as data.
//! 1. [`protocol`]: the [`Protocol`] trait and the pure wire codecs ([`protocol::raw_websocket`],
//!    [`protocol::socketio`], [`protocol::phoenix`]), with the one registration point,
//!    [`ProtocolConfig`].
//! 2. [`config`]: every knob in one place, validated.
//! 3. [`session`]: the sans-IO state machine, [`Session`], and its parts (outbox, acks, rooms,
//!    dedup, RTT, health); beside it [`transport`]: opening sockets and moving bytes, and
//!    [`store`]: the durable outbox's SQLite file.
//! 4. [`client`]: the [`Client`] handle apps hold, its subscriptions, and the one driver task
//!    per client that does all I/O.
//! 5. [`collab`]: the collaboration helpers, on top of the client.
//!
//! Everything an app names is re-exported here, so `tether_core::Client`, `tether_core::Config`
//! and the rest keep one short path whatever folder they live in.

pub mod client;
pub mod collab;
pub mod config;
pub mod model;
pub mod protocol;
pub mod session;
pub mod store;
pub mod transport;

// Layer 0: the data the app sees.
pub use model::{
    AckError, AckId, AckReply, ConfigError, ConnectionState, Cursor, DisconnectReason, DropReason,
    Error, ErrorKind, Event, FailureReason, Frame, Health, HealthStatus, IncomingMessage,
    LatencyStats, LeaveReason, Member, MemberChange, OutgoingMessage, PresenceChange,
    PresenceState, Quality, SendError, Stats, StoreBatch, StoredAck, StoredMessage, StoredState,
    StreamStats, Token, TokenError, TokenProvider, TransportError, TransportKind, TrySendError,
};

// Layer 1: protocols.
pub use protocol::phoenix::{
    supabase_broadcast, supabase_track, supabase_untrack, PostgresChange, PostgresChangesFilter,
    RealtimeChannelConfig, RealtimeEvent,
};
pub use protocol::{
    PhoenixConfig, Protocol, ProtocolConfig, ProtocolEvent, ProtocolOutput, RawWebSocketConfig,
    SocketIoConfig, TransportRequest,
};

// Layer 2: configuration.
pub use config::{
    BackoffPolicy, ClientCertificate, Config, HealthThresholds, Jitter, NetworkConfig,
    OverflowPolicy, ProxyConfig, StreamBuffer, StreamOverflow, Transports,
};

// Layer 3: the session.
pub use session::{Action, SendOptions, Session};

// Layer 4: the client.
pub use client::{
    BoundedStream, Client, ClientBuilder, DeviceClock, EventStream, PendingAck, RateLimit,
    StreamMeter, Subscription, SubscriptionItem, SubscriptionOptions, SystemClock,
};

// Layer 5: collaboration helpers.
pub use collab::{
    CollabConfig, CollabEvent, CollabEventStream, CollabEvents, CollabState, CollabStats,
    Collaboration, Conflict, ConflictInput, ConflictOutcome, ConflictPolicy, FieldVersion,
    OptimisticId, OptimisticOutcome, RollbackReason, RoomState, Verdict,
};
