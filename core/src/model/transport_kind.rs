//! Which transport carries a connection: a WebSocket, or Engine.IO's HTTP long-polling.

use super::message::Frame;
use std::fmt;

/// The transport a connection runs on (shown in [`crate::Stats::transport`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransportKind {
    /// One WebSocket: frames both ways, WebSocket pings for the heartbeat.
    WebSocket,
    /// Engine.IO HTTP long-polling: a pending GET brings the server's packets, POSTs carry ours.
    /// No WebSocket pings exist here: liveness is Engine.IO's ping rule, latency the round trip
    /// of the POSTs.
    Polling,
}

impl TransportKind {
    /// Bytes `frame` takes on this transport's wire: over polling a binary frame travels as
    /// `b` + base64 (4 bytes for every 3), the rest as they are.
    pub fn wire_len(self, frame: &Frame) -> usize {
        match (self, frame) {
            (Self::Polling, Frame::Binary(bytes)) => 1 + bytes.len().div_ceil(3) * 4,
            _ => frame.len(),
        }
    }
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::WebSocket => "websocket",
            Self::Polling => "polling",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_costs_its_base64_form_over_polling_only() {
        let frame = Frame::Binary(vec![0; 10]);
        assert_eq!(TransportKind::WebSocket.wire_len(&frame), 10);
        assert_eq!(TransportKind::Polling.wire_len(&frame), 1 + 16);
        let text = Frame::Text("42[\"a\"]".into());
        assert_eq!(TransportKind::Polling.wire_len(&text), text.len());
    }
}
