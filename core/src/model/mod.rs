//! Layer 0: the vocabulary every other layer speaks, and what the app sees as data: messages and
//! frames, connection states, events, health and latency figures, stats, tokens and errors, and
//! the records the durable outbox keeps (`stored`). No behaviour beyond constructors, accessors
//! and `Display`.
//!
//! May use: nothing else in the crate.

mod connection_state;
mod drop_reason;
mod error;
mod event;
mod health;
mod latency;
mod message;
mod stats;
mod stored;
mod token;

pub use connection_state::{ConnectionState, DisconnectReason, FailureReason};
pub use drop_reason::DropReason;
pub use error::{AckError, ConfigError, Error, ErrorKind, SendError, TransportError, TrySendError};
pub use event::Event;
pub use health::{Health, HealthStatus, Quality};
pub use latency::LatencyStats;
pub use message::{AckId, AckReply, Frame, IncomingMessage, OutgoingMessage, DEFAULT_NAMESPACE};
pub use stats::Stats;
pub use stored::{StoreBatch, StoredAck, StoredMessage, StoredState};
pub use token::{Token, TokenError, TokenFuture, TokenProvider};
