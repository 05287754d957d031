//! The seam between the engine and a wire protocol. A protocol is sans-IO like the session: it
//! turns messages into frames and frames into protocol events, and keeps per-connection state
//! (handshake, namespaces, recovery offsets). The session owns one and does everything else
//! (backoff, heartbeat, outbox, acks, rooms).

use crate::model::{
    AckId, AckReply, FailureReason, Frame, IncomingMessage, OutgoingMessage, PresenceChange,
    SendError, Token,
};
use serde_json::Value;
use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};
use url::Url;

/// What the driver should open: the WebSocket URL and extra HTTP headers for the upgrade.
#[derive(Clone, PartialEq, Eq)]
pub struct TransportRequest {
    /// The `ws://` or `wss://` URL, with the protocol's path and query.
    pub url: Url,
    /// Extra upgrade headers (e.g. `Authorization`).
    pub headers: Vec<(String, String)>,
}

impl fmt::Debug for TransportRequest {
    // Headers may carry the token: never print their values.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("TransportRequest")
            .field("url", &self.url.as_str())
            .field("headers", &names)
            .finish()
    }
}

/// Something the protocol learned from the server.
#[derive(Debug, Clone, PartialEq)]
pub enum ProtocolEvent {
    /// The handshake is complete; the session may send.
    Ready {
        /// The server restored the previous session (rooms kept, missed events replayed).
        recovered: bool,
    },
    /// An application message.
    Message(IncomingMessage),
    /// The answer to a message sent with an acknowledgement.
    Ack {
        /// Which acknowledgement.
        id: AckId,
        /// Its arguments.
        reply: AckReply,
    },
    /// One namespace connected.
    NamespaceConnected {
        /// The namespace.
        namespace: String,
        /// Whether its session was recovered.
        recovered: bool,
    },
    /// The server disconnected one namespace; others remain.
    NamespaceDisconnected {
        /// The namespace.
        namespace: String,
    },
    /// The server refused us in a way retrying cannot fix.
    Rejected(FailureReason),
    /// The server ended the session on purpose: do not reconnect.
    ServerClosed(String),
    /// The server closed the connection in a way that calls for a reconnect.
    ConnectionLost(String),
    /// A frame could not be understood; it was skipped and the connection goes on.
    Malformed(String),
    /// The server's own heartbeat arrived and was answered (Engine.IO's ping). The session
    /// sends its latency ping in the same write when one is due, instead of waking up for it
    /// on a timer of its own: one wake-up per interval fewer for an idle connection.
    ServerHeartbeat,
    /// The server answered a heartbeat the protocol encoded ([`Protocol::encode_heartbeat`]).
    HeartbeatAck {
        /// The heartbeat's sequence number, as the session gave it.
        sequence: u64,
    },
    /// The server answered a message or a room join with an error status (Phoenix's
    /// `{"status": "error"}` replies). Settles the acknowledgement as refused.
    Nack {
        /// Which acknowledgement.
        id: AckId,
        /// The server's error response.
        response: Value,
    },
    /// A joined room failed on the server side (Phoenix's `phx_error`: the channel crashed).
    /// The session joins it again with backoff while the connection stays up.
    RoomFailed {
        /// The room.
        room: String,
        /// What the server said.
        reason: String,
    },
    /// The server closed a room for good (Phoenix's `phx_close`): it leaves the joined set.
    RoomClosed {
        /// The room.
        room: String,
        /// What the server said.
        reason: String,
    },
    /// Presence changed in a room (Phoenix presence).
    Presence(PresenceChange),
}

/// Frames to send and events to handle, produced by a protocol call.
#[derive(Debug, Default)]
pub struct ProtocolOutput {
    /// Frames to write, in order.
    pub frames: VecDeque<Frame>,
    /// Events, in order.
    pub events: VecDeque<ProtocolEvent>,
}

/// A wire protocol. Implementations must never panic on any input: a bad frame becomes
/// [`ProtocolEvent::Malformed`].
pub trait Protocol: Send + fmt::Debug {
    /// A short name for errors and logs (`"socket.io"`).
    fn name(&self) -> &'static str;

    /// The URL and headers to open for `base` (one of the configured URLs), with the token.
    fn transport_request(&self, base: &Url, token: Option<&Token>) -> TransportRequest;

    /// The transport opened; start the handshake (or report `Ready` at once).
    fn on_open(&mut self, token: Option<&Token>, now: Instant, out: &mut ProtocolOutput);

    /// A frame arrived (pings and pongs are the session's; everything else comes here).
    fn on_frame(&mut self, frame: Frame, now: Instant, out: &mut ProtocolOutput);

    /// The transport closed; forget per-connection state (keep what recovery needs).
    fn on_close(&mut self);

    /// Whether the protocol carries acknowledgements.
    fn supports_acks(&self) -> bool;

    /// Whether the protocol can encode room joins and leaves.
    fn supports_rooms(&self) -> bool;

    /// Checks a message can be encoded, before the session accepts (and maybe queues) it.
    fn check(&self, message: &OutgoingMessage) -> Result<(), SendError>;

    /// Encodes an application message, asking for acknowledgement `ack` if given.
    fn encode_message(
        &mut self,
        message: &OutgoingMessage,
        ack: Option<AckId>,
        out: &mut ProtocolOutput,
    ) -> Result<(), SendError>;

    /// Encodes the answer to a server message that asked for an acknowledgement. By default
    /// the protocol has no such answers (raw WebSocket, Phoenix): `SendError::Unsupported`.
    fn encode_ack_reply(
        &mut self,
        _namespace: &str,
        _ack_id: u64,
        _reply: &AckReply,
        _out: &mut ProtocolOutput,
    ) -> Result<(), SendError> {
        Err(SendError::Unsupported {
            protocol: self.name(),
            what: "answering server acknowledgements",
        })
    }

    /// Encodes a room join, with acknowledgement `ack` if the protocol has acks.
    fn encode_join(
        &mut self,
        room: &str,
        ack: Option<AckId>,
        out: &mut ProtocolOutput,
    ) -> Result<(), SendError>;

    /// Encodes a room leave.
    fn encode_leave(
        &mut self,
        room: &str,
        ack: Option<AckId>,
        out: &mut ProtocolOutput,
    ) -> Result<(), SendError>;

    /// Frames that say goodbye before a client-initiated close (may be none).
    fn encode_goodbye(&mut self, out: &mut ProtocolOutput);

    /// Silence after which the protocol itself considers the connection dead (Engine.IO's
    /// `pingInterval + pingTimeout`), if it has such a rule.
    fn liveness_timeout(&self) -> Option<Duration>;

    /// Encodes a heartbeat of the protocol's own that the server answers with
    /// [`ProtocolEvent::HeartbeatAck`] (Phoenix's `heartbeat` on topic `phoenix`). Returns
    /// false, the default, to let the session send a WebSocket ping instead.
    fn encode_heartbeat(&mut self, _sequence: u64, _out: &mut ProtocolOutput) -> bool {
        false
    }

    /// Whether [`Protocol::encode_join_with`] takes join payloads. Default false.
    fn supports_join_payloads(&self) -> bool {
        false
    }

    /// Encodes a room join carrying `payload` (Phoenix's join payload), with acknowledgement
    /// `ack`. The protocol keeps the payload for later rejoins. The default refuses: the
    /// protocol has no join payloads.
    fn encode_join_with(
        &mut self,
        _room: &str,
        _payload: &Value,
        _ack: Option<AckId>,
        _out: &mut ProtocolOutput,
    ) -> Result<(), SendError> {
        Err(SendError::Unsupported { protocol: self.name(), what: "join payloads" })
    }

    /// The room a message belongs to, when the protocol binds messages to joined rooms
    /// (Phoenix: the topic). Such messages wait in the outbox until their room is joined.
    /// `None`, the default: messages need no room.
    fn room_of<'m>(&self, _message: &'m OutgoingMessage) -> Option<&'m str> {
        None
    }

    /// The id by which receive-side de-duplication recognises `message`: by default the first
    /// argument's string field `field`. Protocols that wrap the app's payload look inside the
    /// wrapper (Supabase broadcasts: `{type, event, payload}`).
    fn dedup_id<'m>(&self, message: &'m IncomingMessage, field: &str) -> Option<&'m str> {
        message.string_field(field)
    }

    /// A fresh token arrived while connected (the app asked the client to refresh it).
    /// Protocols that carry the token per room (Supabase's `access_token`) send it on and use it
    /// for later rejoins. The default does nothing: the token is used on the next connect.
    fn on_token_refresh(&mut self, _token: &Token, _out: &mut ProtocolOutput) {}

    /// The most bytes the server accepts in one frame (one packet over WebSocket, one payload
    /// over long-polling), as it announced in its handshake (Engine.IO's `maxPayload`); `None`
    /// when the protocol announces no such limit. Sends over it are refused before they leave,
    /// since the server would drop the connection.
    fn max_frame_bytes(&self) -> Option<usize> {
        None
    }
}
