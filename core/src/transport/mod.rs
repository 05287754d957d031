//! Layer 3 (beside the session): opening connections and moving their bytes. Today that is a
//! WebSocket over TCP, with rustls for `wss://`; an HTTP long-polling transport goes here too.
//! Only the driver (in `client`) uses it.
//!
//! `settings` (what the transport takes from the config, built once per client) and `tls`
//! (the trust store) come first; `websocket` opens the socket through `upgrade_stream` (the
//! HTTP upgrade that reads no more than the response head) and `burst_reader` (small reads
//! while idle, large ones while data streams in), and maps tungstenite's messages to frames.
//!
//! May use: `model`, `protocol` (the [`crate::protocol::TransportRequest`] to open), `config`.
//! Never the session, the client or the collaboration helpers.

mod burst_reader;
mod settings;
mod tls;
mod upgrade_stream;
mod websocket;

pub use settings::TransportSettings;
pub use websocket::{from_message, map_error, open, to_message, WebSocket};
