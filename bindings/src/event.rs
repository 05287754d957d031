//! What the engine tells the app, and the messages going either way, mirrored from
//! [`tether_core::Event`] and friends. Message arguments travel as JSON array strings
//! (`args_json`), binary attachments as bytes beside them.

use crate::buffer::StreamBufferOptions;
use crate::error::TetherError;
use crate::health::{Health, Quality};
use crate::json;
use crate::presence::PresenceChange;
use crate::state::{ConnectionState, DisconnectReason};
use std::time::Duration;
use tether_core as core_api;

/// An event from the engine, in the order it happened.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum Event {
    /// The connection state changed.
    StateChanged {
        /// The new state.
        state: ConnectionState,
    },
    /// Health or quality changed.
    HealthChanged {
        /// The new health.
        health: Health,
        /// The new quality.
        quality: Quality,
    },
    /// The protocol handshake completed; `recovered` when the server restored the previous
    /// session (missed events replayed, rooms kept).
    Connected {
        /// Whether the server recovered the previous session.
        recovered: bool,
    },
    /// The connection went down.
    Disconnected {
        /// Why.
        reason: DisconnectReason,
        /// Whether the engine will retry.
        will_reconnect: bool,
    },
    /// The server sent a message.
    Message {
        /// The message.
        message: IncomingMessage,
    },
    /// A message sent with an acknowledgement was answered or failed (once per ack id).
    AckSettled {
        /// The acknowledgement's id.
        ack_id: u64,
        /// The answer, or why none will come.
        outcome: AckOutcome,
    },
    /// A message was dropped before it was sent.
    Dropped {
        /// The message.
        message: OutgoingMessage,
        /// Why.
        reason: DropReason,
    },
    /// The server confirmed a room join.
    RoomJoined {
        /// The room.
        room: String,
    },
    /// A room join was refused (asked again after the next reconnect) or timed out (asked again
    /// after the rejoin backoff while connected).
    RoomJoinFailed {
        /// The room.
        room: String,
        /// The server's answer or the failure.
        reason: String,
    },
    /// The server's answer to a room join (Phoenix join replies), just before `RoomJoined` or
    /// `RoomJoinFailed`.
    RoomJoinReply {
        /// The room.
        room: String,
        /// The answer, as JSON.
        response_json: String,
    },
    /// A joined room failed on the server (Phoenix `phx_error`); it is joined again with backoff.
    RoomError {
        /// The room.
        room: String,
        /// What the server said.
        reason: String,
    },
    /// The server closed a room for good (Phoenix `phx_close`).
    RoomClosed {
        /// The room.
        room: String,
        /// What the server said.
        reason: String,
    },
    /// Presence changed in a room (Phoenix presence).
    Presence {
        /// What changed.
        change: PresenceChange,
    },
    /// A Socket.IO namespace connected.
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
    /// A non-fatal problem (malformed frame, transport error before a reconnect).
    Error {
        /// What kind.
        kind: ErrorKind,
        /// What happened.
        message: String,
    },
    /// The listener fell behind its subscription's bounds (`ClientConfig.stream_buffer`) and
    /// `skipped` events were dropped here, between the event before and the one after.
    Lagged {
        /// How many.
        skipped: u64,
    },
}

/// Every kind of failure the core distinguishes (events carry the full detail; thrown errors
/// are the coarser [`crate::TetherError`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ErrorKind {
    /// A config value is out of range.
    InvalidConfig,
    /// Needs a live connection.
    NotConnected,
    /// The outbox is full.
    QueueFull,
    /// No acknowledgement in time.
    AckTimeout,
    /// Credentials refused.
    AuthRejected,
    /// The client is closed.
    Closed,
    /// A message over a size limit.
    TooLarge,
    /// The connection went away before the acknowledgement.
    ConnectionLost,
    /// The network or TLS layer failed.
    Transport,
    /// The server broke the protocol.
    Protocol,
    /// The protocol cannot do this.
    Unsupported,
    /// A message was dropped from the outbox.
    Dropped,
    /// The server answered with an error.
    Refused,
    /// The durable outbox's file failed; the client goes on in memory.
    Storage,
}

/// A message the server sent.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct IncomingMessage {
    /// Socket.IO namespace (`"/"` for raw WebSocket); a Phoenix channel's topic.
    pub namespace: String,
    /// The event name (`"message"` for raw WebSocket frames).
    pub event: String,
    /// The arguments as a JSON array, with placeholders where binary attachments were.
    pub args_json: String,
    /// Binary attachments in placeholder order.
    pub binary: Vec<Vec<u8>>,
    /// Set when the server asked for an acknowledgement: answer with `Client.ack`.
    pub ack_id: Option<u64>,
    /// The message's room: a Phoenix channel's topic (the namespace), otherwise the room the
    /// payload names (`room` or `roomId` field of the first argument).
    pub room: Option<String>,
}

/// A message to send: an event and its arguments.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct OutgoingMessage {
    /// The event name.
    pub event: String,
    /// The arguments as a JSON array. Default `"[]"`.
    #[uniffi(default = "[]")]
    pub args_json: String,
    /// Binary attachments, referenced from the arguments by Socket.IO placeholders
    /// (`{"_placeholder":true,"num":0}`). Default none.
    #[uniffi(default = [])]
    pub binary: Vec<Vec<u8>>,
    /// Socket.IO namespace; for Phoenix, the channel's topic (a push waits in the outbox until
    /// its channel is joined). Default `"/"`.
    #[uniffi(default = "/")]
    pub namespace: String,
}

/// What the other side answered.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct AckReply {
    /// The acknowledgement's arguments as a JSON array.
    pub args_json: String,
    /// Binary attachments of the acknowledgement.
    pub binary: Vec<Vec<u8>>,
}

/// How a message is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Delivery {
    /// No acknowledgement (still queued while offline).
    FireAndForget,
    /// Wait for the acknowledgement (`timeout_ms` `None`: the configured ack timeout).
    WithAck {
        /// The timeout.
        timeout_ms: Option<u64>,
    },
    /// Re-sent after reconnects until acknowledged or timed out.
    AtLeastOnce {
        /// The timeout.
        timeout_ms: Option<u64>,
    },
}

/// How an acknowledgement ended.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum AckOutcome {
    /// The other side answered.
    Replied {
        /// The answer.
        reply: AckReply,
    },
    /// No answer will come.
    Failed {
        /// Why.
        failure: AckFailure,
    },
}

/// Why an acknowledgement will never come.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum AckFailure {
    /// The deadline passed.
    Timeout,
    /// The connection dropped after the message was written.
    ConnectionLost,
    /// The client closed.
    Closed,
    /// The message was dropped before it was sent.
    Dropped {
        /// Why it was dropped.
        reason: DropReason,
    },
    /// The server answered with an error (a Phoenix `{"status": "error"}` reply).
    Refused {
        /// Its response, as JSON.
        response_json: String,
    },
}

/// Why a queued message was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum DropReason {
    /// The outbox was full.
    Overflow,
    /// It waited longer than the outbox TTL.
    Expired,
    /// The app called `clear_outbox`.
    Cleared,
    /// The client was closed with it still queued.
    Closed,
    /// It is larger than the outbox byte bound on its own.
    TooLarge,
    /// It waited for a room that was closed or left before it was joined.
    RoomClosed,
}

/// Which server messages a message subscription delivers, and how fast.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct MessageFilter {
    /// Event names to deliver; empty (the default) means all.
    #[uniffi(default = [])]
    pub events: Vec<String>,
    /// Only messages of this room (a Phoenix channel's topic, or the room the payload names,
    /// as `IncomingMessage.room`). Default any.
    #[uniffi(default = None)]
    pub room: Option<String>,
    /// Pacing. `None` (the default): every message.
    #[uniffi(default = None)]
    pub rate: Option<RateLimit>,
    /// The bounds of this subscription's queue. `None` (the default): the client config's
    /// `stream_buffer`.
    #[uniffi(default = None)]
    pub buffer: Option<StreamBufferOptions>,
}

/// How a message stream is paced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum RateLimit {
    /// Every message.
    Unlimited,
    /// At most one per period: the first at once, then the latest at the end of each period.
    Throttle {
        /// The period.
        period_ms: u64,
    },
    /// Only the latest, once the stream has been quiet for the period.
    Debounce {
        /// The period.
        period_ms: u64,
    },
}

impl From<core_api::Event> for Event {
    fn from(e: core_api::Event) -> Self {
        use core_api::Event as E;
        match e {
            E::StateChanged(state) => Self::StateChanged { state: state.into() },
            E::HealthChanged { health, quality } => {
                Self::HealthChanged { health: health.into(), quality: quality.into() }
            }
            E::Connected { recovered } => Self::Connected { recovered },
            E::Disconnected { reason, will_reconnect } => {
                Self::Disconnected { reason: reason.into(), will_reconnect }
            }
            E::Message(message) => Self::Message { message: message.into() },
            E::AckSettled { id, result } => Self::AckSettled {
                ack_id: id.0,
                outcome: match result {
                    Ok(reply) => AckOutcome::Replied { reply: reply.into() },
                    Err(error) => AckOutcome::Failed { failure: error.into() },
                },
            },
            E::Dropped { message, reason } => {
                Self::Dropped { message: message.into(), reason: reason.into() }
            }
            E::RoomJoined { room } => Self::RoomJoined { room },
            E::RoomJoinFailed { room, reason } => Self::RoomJoinFailed { room, reason },
            E::RoomJoinReply { room, response } => {
                Self::RoomJoinReply { room, response_json: response.to_string() }
            }
            E::RoomError { room, reason } => Self::RoomError { room, reason },
            E::RoomClosed { room, reason } => Self::RoomClosed { room, reason },
            E::Presence(change) => Self::Presence { change: change.into() },
            E::NamespaceConnected { namespace, recovered } => {
                Self::NamespaceConnected { namespace, recovered }
            }
            E::NamespaceDisconnected { namespace } => Self::NamespaceDisconnected { namespace },
            E::Error(error) => {
                Self::Error { kind: error.kind().into(), message: error.message().to_owned() }
            }
            E::Lagged { skipped } => Self::Lagged { skipped },
        }
    }
}

impl From<core_api::ErrorKind> for ErrorKind {
    fn from(k: core_api::ErrorKind) -> Self {
        use core_api::ErrorKind as K;
        match k {
            K::InvalidConfig => Self::InvalidConfig,
            K::NotConnected => Self::NotConnected,
            K::QueueFull => Self::QueueFull,
            K::AckTimeout => Self::AckTimeout,
            K::AuthRejected => Self::AuthRejected,
            K::Closed => Self::Closed,
            K::TooLarge => Self::TooLarge,
            K::ConnectionLost => Self::ConnectionLost,
            K::Transport => Self::Transport,
            K::Protocol => Self::Protocol,
            K::Unsupported => Self::Unsupported,
            K::Dropped => Self::Dropped,
            K::Refused => Self::Refused,
            K::Storage => Self::Storage,
        }
    }
}

impl From<core_api::IncomingMessage> for IncomingMessage {
    fn from(m: core_api::IncomingMessage) -> Self {
        let room = m.room().map(str::to_owned);
        Self {
            namespace: m.namespace,
            event: m.event,
            args_json: json::args_to_string(m.data),
            binary: m.binary,
            ack_id: m.ack_id,
            room,
        }
    }
}

/// Back to the core's form, to answer a server's acknowledgement request.
impl TryFrom<IncomingMessage> for core_api::IncomingMessage {
    type Error = TetherError;

    fn try_from(m: IncomingMessage) -> Result<Self, TetherError> {
        Ok(Self {
            namespace: m.namespace,
            event: m.event,
            data: json::parse_args(&m.args_json)?,
            binary: m.binary,
            ack_id: m.ack_id,
            offset: None,
        })
    }
}

impl From<core_api::OutgoingMessage> for OutgoingMessage {
    fn from(m: core_api::OutgoingMessage) -> Self {
        Self {
            event: m.event,
            args_json: json::args_to_string(m.data),
            binary: m.binary,
            namespace: m.namespace,
        }
    }
}

impl TryFrom<OutgoingMessage> for core_api::OutgoingMessage {
    type Error = TetherError;

    fn try_from(m: OutgoingMessage) -> Result<Self, TetherError> {
        Ok(Self {
            namespace: m.namespace,
            event: m.event,
            data: json::parse_args(&m.args_json)?,
            binary: m.binary,
        })
    }
}

impl From<core_api::AckReply> for AckReply {
    fn from(r: core_api::AckReply) -> Self {
        Self { args_json: json::args_to_string(r.data), binary: r.binary }
    }
}

impl TryFrom<AckReply> for core_api::AckReply {
    type Error = TetherError;

    fn try_from(r: AckReply) -> Result<Self, TetherError> {
        Ok(Self { data: json::parse_args(&r.args_json)?, binary: r.binary })
    }
}

impl From<core_api::AckError> for AckFailure {
    fn from(e: core_api::AckError) -> Self {
        use core_api::AckError as A;
        match e {
            A::Timeout => Self::Timeout,
            A::ConnectionLost => Self::ConnectionLost,
            A::Closed => Self::Closed,
            A::Dropped(reason) => Self::Dropped { reason: reason.into() },
            A::Refused(response) => Self::Refused { response_json: response.to_string() },
        }
    }
}

impl From<core_api::DropReason> for DropReason {
    fn from(r: core_api::DropReason) -> Self {
        use core_api::DropReason as D;
        match r {
            D::Overflow => Self::Overflow,
            D::Expired => Self::Expired,
            D::Cleared => Self::Cleared,
            D::Closed => Self::Closed,
            D::TooLarge => Self::TooLarge,
            D::RoomClosed => Self::RoomClosed,
        }
    }
}

impl From<Delivery> for core_api::SendOptions {
    fn from(d: Delivery) -> Self {
        let timeout = |ms: Option<u64>| ms.map(Duration::from_millis);
        match d {
            Delivery::FireAndForget => Self::fire_and_forget(),
            Delivery::WithAck { timeout_ms } => Self::with_ack(timeout(timeout_ms)),
            Delivery::AtLeastOnce { timeout_ms } => Self::at_least_once(timeout(timeout_ms)),
        }
    }
}

impl From<RateLimit> for core_api::RateLimit {
    fn from(r: RateLimit) -> Self {
        match r {
            RateLimit::Unlimited => Self::Unlimited,
            RateLimit::Throttle { period_ms } => Self::Throttle(Duration::from_millis(period_ms)),
            RateLimit::Debounce { period_ms } => Self::Debounce(Duration::from_millis(period_ms)),
        }
    }
}

impl From<MessageFilter> for core_api::SubscriptionOptions {
    fn from(f: MessageFilter) -> Self {
        Self {
            events: f.events,
            room: f.room,
            rate: f.rate.map(Into::into).unwrap_or_default(),
            buffer: f.buffer.map(Into::into),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn incoming_messages_carry_their_arguments_as_a_json_array() {
        let core = core_api::IncomingMessage {
            namespace: "/".into(),
            event: "news".into(),
            data: vec![json!({"room": "r1", "n": 1}), json!("two")],
            binary: vec![vec![9]],
            ack_id: Some(4),
            offset: Some("o".into()),
        };
        let ffi = IncomingMessage::from(core.clone());
        assert_eq!(ffi.args_json, r#"[{"n":1,"room":"r1"},"two"]"#);
        assert_eq!(ffi.room.as_deref(), Some("r1"));
        assert_eq!(ffi.ack_id, Some(4));
        let back = core_api::IncomingMessage::try_from(ffi);
        assert_eq!(back, Ok(core_api::IncomingMessage { offset: None, ..core }));
    }

    #[test]
    fn outgoing_arguments_must_be_a_json_array() {
        let message = |args: &str| OutgoingMessage {
            event: "e".into(),
            args_json: args.into(),
            binary: vec![],
            namespace: "/".into(),
        };
        let ok = core_api::OutgoingMessage::try_from(message(r#"[1,{"a":2}]"#));
        assert_eq!(ok.map(|m| m.data), Ok(vec![json!(1), json!({"a": 2})]));
        assert!(matches!(
            core_api::OutgoingMessage::try_from(message("{}")),
            Err(TetherError::Other { .. })
        ));
        assert!(matches!(
            core_api::OutgoingMessage::try_from(message("not json")),
            Err(TetherError::Other { .. })
        ));
    }

    #[test]
    fn ack_outcomes_keep_their_reason() {
        let event = Event::from(core_api::Event::AckSettled {
            id: core_api::AckId(7),
            result: Err(core_api::AckError::Dropped(core_api::DropReason::Expired)),
        });
        assert_eq!(
            event,
            Event::AckSettled {
                ack_id: 7,
                outcome: AckOutcome::Failed {
                    failure: AckFailure::Dropped { reason: DropReason::Expired }
                },
            }
        );
    }

    #[test]
    fn lag_notices_and_subscription_bounds_cross_over() {
        assert_eq!(
            Event::from(core_api::Event::Lagged { skipped: 9 }),
            Event::Lagged { skipped: 9 }
        );
        let filter = MessageFilter {
            events: vec!["price".into()],
            room: None,
            rate: None,
            buffer: Some(StreamBufferOptions { max_items: 3, ..StreamBufferOptions::default() }),
        };
        let options = core_api::SubscriptionOptions::from(filter);
        assert_eq!(options.buffer.map(|b| b.max_items), Some(3));
    }

    #[test]
    fn deliveries_become_send_options() {
        assert_eq!(
            core_api::SendOptions::from(Delivery::WithAck { timeout_ms: Some(250) }),
            core_api::SendOptions::with_ack(Some(Duration::from_millis(250)))
        );
        assert_eq!(
            core_api::SendOptions::from(Delivery::AtLeastOnce { timeout_ms: None }),
            core_api::SendOptions::at_least_once(None)
        );
        assert_eq!(
            core_api::SendOptions::from(Delivery::FireAndForget),
            core_api::SendOptions::fire_and_forget()
        );
    }
}
