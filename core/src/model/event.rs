//! What the engine tells the app, in the order it happened.

use super::connection_state::ConnectionState;

use super::connection_state::DisconnectReason;
use super::drop_reason::DropReason;
use super::error::{AckError, Error};
use super::health::{Health, Quality};
use super::message::json_size_hint;
use super::message::{AckId, AckReply, IncomingMessage, OutgoingMessage};
use super::presence::PresenceChange;
use serde_json::Value;

/// An event from the engine. The client's `events()` stream delivers all of them; state and
/// health also have `watch` receivers for "what is it now" questions.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The connection state changed.
    StateChanged(ConnectionState),
    /// Health or quality changed.
    HealthChanged {
        /// The new health.
        health: Health,
        /// The new quality level.
        quality: Quality,
    },
    /// The protocol handshake completed. `recovered` is true when the server restored the
    /// previous session (Socket.IO connection state recovery): missed events were replayed and
    /// rooms kept, so the engine did not re-join them.
    Connected {
        /// Whether the server recovered the previous session.
        recovered: bool,
    },
    /// The connection went down; `will_reconnect` says whether the engine will retry.
    Disconnected {
        /// Why.
        reason: DisconnectReason,
        /// False after `disconnect`, a server-side disconnect, or a permanent failure.
        will_reconnect: bool,
    },
    /// The server sent a message.
    Message(IncomingMessage),
    /// A message sent with an acknowledgement was answered or failed. Exactly one per ack id.
    AckSettled {
        /// The acknowledgement.
        id: AckId,
        /// The answer, or why none will come.
        result: Result<AckReply, AckError>,
    },
    /// A message was dropped before it was sent.
    Dropped {
        /// The message.
        message: OutgoingMessage,
        /// Why.
        reason: DropReason,
    },
    /// The server confirmed a room join (or, without acks, the join was sent).
    RoomJoined {
        /// The room.
        room: String,
    },
    /// The server refused a room join, or it timed out. The room stays in the joined set and is
    /// tried again after the next reconnect; call `leave` to give it up.
    RoomJoinFailed {
        /// The room.
        room: String,
        /// The server's answer or the failure.
        reason: String,
    },
    /// The server's answer to a room join, just before [`Event::RoomJoined`] (or
    /// [`Event::RoomJoinFailed`]): Phoenix join replies, Socket.IO join acknowledgements.
    RoomJoinReply {
        /// The room.
        room: String,
        /// What the server answered (`{}` when it answered nothing).
        response: Value,
    },
    /// A joined room failed on the server side (Phoenix's `phx_error`: the channel process
    /// crashed). The engine joins it again with `rejoin_backoff` while the connection lasts;
    /// a [`Event::RoomJoined`] follows when it is back.
    RoomError {
        /// The room.
        room: String,
        /// What the server said.
        reason: String,
    },
    /// The server closed a room for good (Phoenix's `phx_close`, or the answer to `leave`). It
    /// is no longer in the joined set; messages still waiting for it are dropped.
    RoomClosed {
        /// The room.
        room: String,
        /// What the server said.
        reason: String,
    },
    /// Presence changed in a room (Phoenix presence, merged by Phoenix's rules).
    Presence(PresenceChange),
    /// A Socket.IO namespace connected (several namespaces share one connection).
    NamespaceConnected {
        /// The namespace.
        namespace: String,
        /// Whether its session was recovered.
        recovered: bool,
    },
    /// The server disconnected one namespace while others stay.
    NamespaceDisconnected {
        /// The namespace.
        namespace: String,
    },
    /// A non-fatal problem: a malformed frame from the server, a transport error that triggers a
    /// reconnect. Counted in `error_count`.
    Error(Error),
    /// This stream's reader fell behind its bounds (`Config::stream_buffer`) and `skipped`
    /// events were dropped from its queue here, between the event before this one and the one
    /// after. Never published by the engine: each stream makes its own, before the next event
    /// its reader gets (two in a row add up: the event after the first was dropped too before
    /// it was read). Counted in `Stats::stream_dropped`.
    Lagged {
        /// How many events this stream dropped at this point.
        skipped: u64,
    },
}

impl Event {
    /// Approximate bytes this event holds, for the byte bounds of the streams that queue it:
    /// the event's own size plus the size hints of what it carries (payloads, names, texts).
    ///
    /// ```
    /// use tether_core::{Event, IncomingMessage};
    /// let small = Event::Connected { recovered: false };
    /// assert_eq!(small.size_hint(), std::mem::size_of::<Event>());
    /// ```
    pub fn size_hint(&self) -> usize {
        let carried = match self {
            Self::Message(message) => message.size_hint() + message.namespace.len(),
            Self::Dropped { message, .. } => message.size_hint(),
            Self::AckSettled { result: Ok(reply), .. } => reply.size_hint(),
            Self::AckSettled { result: Err(_), .. } => 0,
            Self::RoomJoined { room } => room.len(),
            Self::RoomJoinFailed { room, reason }
            | Self::RoomError { room, reason }
            | Self::RoomClosed { room, reason } => room.len() + reason.len(),
            Self::RoomJoinReply { room, response } => room.len() + json_size_hint(response),
            Self::Presence(change) => change.size_hint(),
            Self::NamespaceConnected { namespace, .. }
            | Self::NamespaceDisconnected { namespace } => namespace.len(),
            Self::Error(error) => error.message().len(),
            Self::StateChanged(_)
            | Self::HealthChanged { .. }
            | Self::Connected { .. }
            | Self::Disconnected { .. }
            | Self::Lagged { .. } => 0,
        };
        std::mem::size_of::<Self>() + carried
    }
}
