//! Socket.IO v5 over Engine.IO v4: the two packet codecs (written from the specifications), the
//! binary attachments, and the [`SocketIo`] protocol that speaks them for the engine.
//!
//! Inside this folder, from the bottom: `engineio` (Engine.IO packets), `packet` (Socket.IO
//! packets), `binary` (placeholders and reassembly), then `connection` (the state per connection
//! and the `Protocol` impl) with `inbound` (what the server sends); beside them `polling`
//! (Engine.IO's long-polling payloads, URLs and upgrade probe, for the polling transport).

mod binary;
mod config;
mod connection;
pub mod engineio;
mod inbound;
pub mod packet;
pub mod polling;

pub use binary::{
    encode_binary, is_placeholder, placeholder, BinaryAssembler, BinaryError, BinaryPacket,
};
pub use config::SocketIoConfig;
pub use connection::SocketIo;
