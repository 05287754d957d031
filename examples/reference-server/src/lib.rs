//! # tether-reference-server
//!
//! A Socket.IO v5 server (socketioxide + axum) speaking Tether's collaboration protocol
//! (`examples/PROTOCOL.md`): JWT handshake, rooms with presence rosters, relays of cursors,
//! focus, typing and presence, versioned `pricing-update`s with conflicts, per-user rate
//! limits, `GET /health` and `GET /stats`, and an optional Redis adapter for several nodes.
//! Tether's tests and demo embed it through [`start`]; the binary wraps the same call.
//!
//! ```no_run
//! # async fn demo() -> Result<(), tether_reference_server::ServerError> {
//! use std::time::Duration;
//! use tether_reference_server::{issue_token, start, Role, ServerConfig};
//! let server = start(ServerConfig::new("a-long-test-secret")).await?;
//! let token = issue_token("a-long-test-secret", "u1", "Ana", Role::Editor, None, Duration::from_secs(3600));
//! println!("connect to {} with auth {{\"token\": \"{token}\"}}", server.url());
//! server.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! ## Modules, from the wire inwards
//! - [`server`]: [`start`], [`RunningServer`], [`ServerError`].
//! - [`config`]: [`ServerConfig`] and its defaults, [`RateLimits`].
//! - [`http`]: `/health` and `/stats`.
//! - [`handlers`]: the auth middleware and one handler per event.
//! - [`payload`]: typed payload extraction with size limit and graceful errors.
//! - [`session`], [`ordering`]: per-connection claims and in-order event handling.
//! - [`hub`]: shared state and the room rules; [`shared`]: the same rooms in Redis for `--redis`.
//! - [`presence`], [`pricing`], [`rate_limit`]: the pure parts, each with its tests.
//! - [`protocol`]: the wire payloads and error codes.
//! - [`auth`]: JWT claims, issuing and verifying tokens.

pub mod auth;
pub mod config;
pub mod handlers;
pub mod http;
pub mod hub;
pub mod ordering;
pub mod payload;
pub mod presence;
pub mod pricing;
pub mod protocol;
pub mod rate_limit;
pub mod server;
pub mod session;
pub mod shared;

pub use auth::{encode_claims, issue_token, verify_token, AuthError, Claims, Role};
pub use config::{ConfigError, Rate, RateLimits, ServerConfig};
pub use server::{start, RunningServer, ServerError};
