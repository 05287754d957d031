//! Layer 4: what the app holds. [`Client`] is a cheap `Clone` handle: commands go to one driver
//! task per client (the only code that does I/O: it owns the socket and one timer, feeds the
//! session and carries out its actions), and state, health and events come back through
//! watches and streams.
//!
//! `handle` (the [`Client`] and its builder), `command` (what the handle asks the driver),
//! `driver` (the I/O task: it also writes the durable outbox's batches), `clock` (the driver's
//! time, which counts the device's sleep), `event_hub` (the fan-out of events), `subscription`
//! (event streams, filtered and paced subscriptions) and `rate_limit` (the pure
//! throttle/debounce they use).
//!
//! May use: `model`, `protocol`, `config`, `session`, `transport`, `store`. Never the collaboration
//! helpers.

mod clock;
mod command;
mod driver;
mod event_hub;
mod handle;
mod rate_limit;
mod subscription;

pub use clock::{DeviceClock, SystemClock};
pub use handle::{Client, ClientBuilder, PendingAck};
pub use rate_limit::{Coalescer, RateLimit};
pub use subscription::{EventStream, Subscription, SubscriptionOptions};
