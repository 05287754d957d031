//! Tether: a real-time client engine that keeps a WebSocket (raw or Socket.IO v5) alive through
//! bad networks, and tells the app how it is going.
//!
//! The folders are the layers, from the bottom up (see `ARCHITECTURE.md`); a module may use
//! the layers below its own and never one above:
//! 0. [`model`]: the vocabulary every layer speaks and the app sees as data.
//! 1. [`protocol`]: the [`Protocol`] trait and the pure wire codecs ([`protocol::raw_websocket`],
//!    [`protocol::socketio`]), with the one registration point, [`ProtocolConfig`].
//! 2. [`config`]: every knob in one place, validated.
//! 3. [`session`]: the sans-IO state machine, [`Session`], and its parts (outbox, acks, rooms,
//!    dedup, RTT, health); beside it [`transport`]: opening sockets and moving bytes.
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
pub mod transport;

// Layer 0: the data the app sees.
pub use model::{
    AckError, AckId, AckReply, ConfigError, ConnectionState, DisconnectReason, DropReason, Error,
    ErrorKind, Event, FailureReason, Frame, Health, HealthStatus, IncomingMessage, LatencyStats,
    OutgoingMessage, Quality, SendError, Stats, StreamStats, Token, TokenError, TokenProvider,
    TransportError, TrySendError,
};

// Layer 1: protocols.
pub use protocol::{
    Protocol, ProtocolConfig, ProtocolEvent, ProtocolOutput, RawWebSocketConfig, SocketIoConfig,
    TransportRequest,
};

// Layer 2: configuration.
pub use config::{
    BackoffPolicy, Config, HealthThresholds, Jitter, OverflowPolicy, StreamBuffer, StreamOverflow,
};

// Layer 3: the session.
pub use session::{Action, SendOptions, Session};

// Layer 4: the client.
pub use client::{
    BoundedStream, Client, ClientBuilder, EventStream, PendingAck, RateLimit, StreamMeter,
    Subscription, SubscriptionItem, SubscriptionOptions,
};

// Layer 5: collaboration helpers.
pub use collab::{
    CollabConfig, CollabEvent, CollabEventStream, CollabEvents, CollabState, CollabStats,
    Collaboration, Conflict, ConflictInput, ConflictOutcome, ConflictPolicy, Cursor, FieldVersion,
    LeaveReason, Member, MemberChange, OptimisticId, OptimisticOutcome, PresenceChange,
    PresenceState, RollbackReason, RoomState, Verdict,
};
