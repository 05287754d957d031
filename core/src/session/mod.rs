//! Layer 3: the sans-IO connection state machine, [`Session`], and the parts it is made of. It
//! takes inputs with `now` and gives outputs (actions, frames, events, the next deadline); it
//! never touches a socket, a clock or tokio.
//!
//! The machine itself is `machine` (state, outputs, timers) with one file per kind of input:
//! `connect`, `send`, `joins` (rooms on the wire), `heartbeat`, `inbound`, and `durable` (what a
//! durable outbox must keep and forget, as batches the driver writes; the session never touches
//! the store). Its parts are pure and tested on their own: `acks`, `outbox`, `rooms`, `dedup`,
//! `rtt`, `health` (the monitor), `counters`, `persistence` (the durable outbox's bookkeeping).
//!
//! May use: `model`, `protocol` (the trait and the registry, never a protocol by name),
//! `config`. Never the transport, the client or the collaboration helpers.

mod acks;
mod connect;
mod counters;
mod dedup;
mod durable;
mod health;
mod heartbeat;
mod inbound;
mod joins;
mod machine;
mod outbox;
mod persistence;
mod rooms;
mod rtt;
mod send;

pub use acks::{AckPurpose, ConnectionLoss, PendingAck, PendingAcks};
pub use dedup::DedupWindow;
pub use health::HealthMonitor;
pub use machine::{Action, Session};
pub use outbox::{Outbox, PushOutcome, QueuedMessage};
pub use rooms::{RoomSet, RoomStatus};
pub use rtt::RttEstimator;
pub use send::SendOptions;
