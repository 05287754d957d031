//! The registration point: which protocols exist, and how the session gets one. The session
//! never names a protocol; it asks [`ProtocolConfig::build`] for a `Box<dyn Protocol>`. Adding a
//! protocol means a folder beside `raw_websocket/` and `socketio/`, a variant here, and one arm
//! in each match below.

use super::phoenix::{Phoenix, PhoenixConfig};
use super::raw_websocket::{RawWebSocket, RawWebSocketConfig};
use super::socketio::{SocketIo, SocketIoConfig};
use super::Protocol;
use crate::model::ConfigError;

/// Which wire protocol the client speaks, with its options.
#[derive(Debug, Clone, PartialEq)]
pub enum ProtocolConfig {
    /// Plain WebSocket frames: text and binary, no rooms unless `room_messages`, no acks.
    RawWebSocket(RawWebSocketConfig),
    /// Socket.IO v5 over Engine.IO v4 (WebSocket transport).
    SocketIo(SocketIoConfig),
    /// Phoenix Channels v2 (Phoenix apps, Supabase Realtime).
    Phoenix(PhoenixConfig),
}

impl ProtocolConfig {
    /// A fresh protocol instance for one client. `max_message_bytes` is the client's bound on
    /// one application message, which a protocol that reassembles messages must respect.
    pub fn build(&self, max_message_bytes: usize) -> Box<dyn Protocol> {
        match self {
            Self::RawWebSocket(options) => Box::new(RawWebSocket::new(options.clone())),
            Self::SocketIo(options) => Box::new(SocketIo::new(options.clone(), max_message_bytes)),
            Self::Phoenix(options) => Box::new(Phoenix::new(options.clone(), max_message_bytes)),
        }
    }

    /// Checks the protocol's own options; the error names the first bad field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        match self {
            Self::RawWebSocket(_) => Ok(()),
            Self::SocketIo(options) => options.validate(),
            Self::Phoenix(options) => options.validate(),
        }
    }
}
