//! Options of the raw WebSocket protocol.

/// Options of the raw WebSocket protocol.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RawWebSocketConfig {
    /// Encode joins and leaves as text frames `{"type":"join","room":"<room>"}` /
    /// `{"type":"leave",...}` for servers that understand them. Default false: raw WebSocket has
    /// no rooms, and joining is refused with `Unsupported`.
    pub room_messages: bool,
}
