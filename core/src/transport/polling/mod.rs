//! Engine.IO HTTP long-polling as a transport: the handshake over polling, a pending GET for
//! what the server sends and POSTs (batched, within the server's `maxPayload`) for what the
//! client sends, and the upgrade to a WebSocket when the server offers one and the config
//! allows it. What Engine.IO means by a payload is `protocol::socketio::polling`; here is only
//! the HTTP.
//!
//! `http` (one kept-alive HTTP/1.1 connection per lane, over `net_stream`), `engine` (the task
//! that moves frames for one polling connection), `upgrade` (the probe).

mod engine;
mod http;
mod upgrade;

pub use engine::{open, PollingConnection};
