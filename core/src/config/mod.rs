//! Layer 2: every knob of the client in one place. One struct, [`Config`], with its defaults and
//! units, a setter with an example for each, and validation that names the bad field instead of
//! panicking; plus the policy types its fields hold (backoff, health thresholds, outbox
//! overflow, and the bounds of the streams the app reads: `stream_buffer`) and the network
//! settings (`network`: transports, proxy, headers, cookies, TLS pinning and client
//! certificates, with their setters in `network_setters`).
//!
//! May use: `model`, `protocol` (each protocol's own options). Used by everything above.

mod backoff;
mod client_config;
mod health;
mod network;
mod network_setters;
mod outbox;
mod setters;
mod stream_buffer;
mod validate;

pub use backoff::{BackoffPolicy, Jitter};
pub use client_config::{Config, MAX_DURATION};
pub use health::HealthThresholds;
pub use network::{pin_digest, ClientCertificate, NetworkConfig, ProxyConfig, Transports};
pub use outbox::OverflowPolicy;
pub use stream_buffer::{StreamBuffer, StreamOverflow};
