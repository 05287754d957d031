//! Layer 3 (beside the session): opening connections and moving their bytes. A connection is a
//! WebSocket, or Engine.IO's HTTP long-polling (maybe upgraded to a WebSocket), reached directly
//! or through an HTTP proxy, with rustls for TLS. Only the driver (in `client`) uses it.
//!
//! `settings` (what the transport takes from the config, built once per client), `tls` (who is
//! trusted) and `pinning` (pinned keys), `proxy` (which proxy, and its `CONNECT` tunnel),
//! `cookies` (the client's jar) and `net_stream` (dialing: TCP, tunnel, TLS) serve both
//! transports. `websocket` opens the socket through `upgrade_stream` (the HTTP upgrade that
//! reads no more than the response head) and `burst_reader` (small reads while idle, large
//! ones while data streams in), and maps tungstenite's messages to frames; `polling/` is the
//! long-polling transport and its upgrade. `connection` is what the driver holds: one stream
//! of frames in and one sink of frames out, whichever transport carries them.
//!
//! May use: `model`, `protocol` (the [`crate::protocol::TransportRequest`] to open, and
//! Engine.IO's polling codec), `config`. Never the session, the client or the collaboration
//! helpers.

mod burst_reader;
mod connection;
mod cookies;
mod endpoint;
mod incoming;
mod net_stream;
mod panic_guard;
mod pinning;
mod polling;
mod proxy;
mod settings;
mod tls;
mod upgrade_stream;
mod websocket;

pub use connection::{open, Connection};
pub use incoming::Incoming;
pub use pinning::spki_pin;
pub use polling::PollingConnection;
pub use settings::TransportSettings;
pub use websocket::{from_message, map_error, to_message, WebSocket};
