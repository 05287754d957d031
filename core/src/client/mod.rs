//! Layer 4: what the app holds. [`Client`] is a cheap `Clone` handle: commands go to one driver
//! task per client (the only code that does I/O: it owns the socket and one timer, feeds the
//! session and carries out its actions), and state, health and events come back through
//! watches and streams.
//!
//! `handle` (the [`Client`] and its builder), `command` (what the handle asks the driver),
//! `driver` (the I/O task: it also writes the durable outbox's batches), `clock` (the driver's
//! time, which counts the device's sleep), `event_hub` (the fan-out of events), `event_stream`
//! and `subscription` (what readers hold: every event; filtered and paced server messages),
//! `room_presence` (one room's presence changes, filtered before they are queued) and
//! `rate_limit` (the pure throttle/debounce they use). Every stream reads through a queue of its
//! own, bounded by a `StreamBuffer`: `bounded_queue` (one reader's queue: bounds, policy, where
//! it lagged) and `fanout` (the subscribers: filters at publish time, unregistered on drop),
//! which the collaboration helpers use for their own events too.
//!
//! May use: `model`, `protocol`, `config`, `session`, `transport`, `store`. Never the collaboration
//! helpers.

mod bounded_queue;
mod clock;
mod command;
mod driver;
mod event_hub;
mod event_stream;
pub mod fanout;
mod handle;
mod rate_limit;
mod room_presence;
mod subscription;

pub use clock::{DeviceClock, SystemClock};
pub use event_stream::{BoundedStream, EventStream};
pub use fanout::StreamMeter;
pub use handle::{Client, ClientBuilder, PendingAck};
pub use rate_limit::{Coalescer, RateLimit};
pub use subscription::{Subscription, SubscriptionItem, SubscriptionOptions};
