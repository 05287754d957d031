//! The raw WebSocket protocol: application messages are text or binary frames, nothing more.

mod codec;
mod config;

pub use codec::RawWebSocket;
pub use config::RawWebSocketConfig;
