//! Layer 0: the vocabulary every other layer speaks, and what the app sees as data: messages and
//! frames, connection states, events, health and latency figures, presence rosters, stats (the
//! client's and one stream's), tokens and errors, and the records the durable outbox keeps
//! (`stored`). No behaviour beyond constructors, accessors and `Display`.
//!
//! May use: nothing else in the crate.

mod connection_state;
mod drop_reason;
mod error;
mod event;
mod health;
mod latency;
mod message;
mod presence;
mod stats;
mod stored;
mod stream_stats;
mod token;
mod transport_kind;

pub use connection_state::{ConnectionState, DisconnectReason, FailureReason};
pub use drop_reason::DropReason;
pub use error::{AckError, ConfigError, Error, ErrorKind, SendError, TransportError, TrySendError};
pub use event::Event;
pub use health::{Health, HealthStatus, Quality};
pub use latency::LatencyStats;
pub use message::{
    json_size_hint, AckId, AckReply, Frame, IncomingMessage, OutgoingMessage, DEFAULT_NAMESPACE,
};
pub use presence::{
    Cursor, LeaveReason, Member, MemberChange, MemberInfo, PresenceChange, PresenceState,
};
pub use stats::Stats;
pub use stored::{StoreBatch, StoredAck, StoredMessage, StoredState};
pub use stream_stats::StreamStats;
pub use token::{Token, TokenError, TokenFuture, TokenProvider};
pub use transport_kind::TransportKind;
