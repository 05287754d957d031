//! Layer 1: wire protocols. The [`Protocol`] trait is the seam between the engine and a wire
//! format; each protocol is a folder of pure, sans-IO codecs that never panic on any input
//! (fuzzed). [`ProtocolConfig`] in `registry` is the one place the session gets a protocol from.
//!
//! May use: `model`. Never the session, the transport or the client.

mod contract;
pub mod phoenix;
pub mod raw_websocket;
mod registry;
pub mod socketio;

pub use contract::{Protocol, ProtocolEvent, ProtocolOutput, TransportRequest};
pub use phoenix::{Phoenix, PhoenixConfig};
pub use raw_websocket::{RawWebSocket, RawWebSocketConfig};
pub use registry::ProtocolConfig;
pub use socketio::{SocketIo, SocketIoConfig};
