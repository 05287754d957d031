//! Tether for Swift and Kotlin: thin uniffi wrappers over [`tether_core`]. Nothing here decides
//! anything about connections; it converts types and errors, and adapts the core's streams to
//! foreign listeners. Bindings are generated from the built library (library mode) by the
//! workspace's `uniffi-bindgen` binary: see `generate.sh`.
//!
//! - [`Client`]: the object apps hold; async methods on a shared tokio runtime ([`client`]).
//! - [`ClientConfig`]: every knob as a record with defaults ([`config`]), its network part
//!   ([`NetworkOptions`]: transports, proxy, headers, cookies, TLS) in [`network`], and the
//!   bounds of the streams listeners read ([`buffer`]).
//! - what comes back: [`ConnectionState`] ([`state`]), [`HealthStatus`] ([`health`]),
//!   [`Stats`] ([`stats`]), [`Event`] and messages ([`event`]).
//! - [`TetherError`]: the one error type, and every `From` for errors ([`error`]).
//! - listeners (foreign traits) and the [`TaskHandle`] a subscription returns ([`listener`],
//!   [`task_handle`]); the foreign [`TokenProvider`] ([`token`]); log forwarding ([`log`]).
//! - channels: joins with a payload and the server's answer, token refresh, one channel's
//!   presence changes ([`channels`]); Supabase Realtime's channel config, messages and events
//!   ([`supabase`]).
//! - [`jvm`]: the Kotlin package's JNI fast path for `tryEmit` and per-message delivery.
//! - [`Collaboration`]: presence rosters, cursor, typing and optimistic updates ([`collab`]).

uniffi::setup_scaffolding!();

pub mod buffer;
pub mod channels;
pub mod client;
pub mod collab;
pub mod config;
pub mod error;
pub mod event;
pub mod health;
mod json;
pub mod jvm;
pub mod listener;
pub mod log;
pub mod network;
pub mod presence;
pub mod protocol_options;
mod runtime;
pub mod state;
pub mod stats;
pub mod supabase;
pub mod task_handle;
pub mod token;

pub use buffer::{StreamBufferOptions, StreamOverflow, StreamStats};
pub use client::Client;
pub use collab::{
    CollabConfig, Collaboration, Member, OptimisticOutcome, OutcomeListener, PresenceListener,
    PresenceState,
};
pub use config::{
    BackoffOptions, ClientConfig, HealthThresholds, Jitter, OverflowPolicy, RejoinOptions,
};
pub use error::{ListenerError, TetherError, TokenError};
pub use event::{
    AckFailure, AckOutcome, AckReply, Delivery, DropReason, ErrorKind, Event, IncomingMessage,
    MessageFilter, OutgoingMessage, RateLimit,
};
pub use health::{Health, HealthStatus, Quality};
pub use listener::{
    EventListener, HealthListener, LagListener, MessageBatchListener, MessageListener,
    PresenceChangeListener, StateListener,
};
pub use log::{LogLevel, LogListener, LogRecord};
pub use network::{
    ClientCertificate, HttpHeader, NetworkOptions, ProxyOptions, TransportKind, Transports,
};
pub use presence::{LeaveReason, PresenceChange};
pub use protocol_options::{PhoenixOptions, RawWebSocketOptions, SocketIoOptions, WireProtocol};
pub use state::{ConnectionState, DisconnectReason, FailureReason};
pub use stats::{LatencyStats, Stats};
pub use supabase::{PostgresChange, PostgresChangesFilter, RealtimeChannelConfig, RealtimeEvent};
pub use task_handle::TaskHandle;
pub use token::TokenProvider;
