//! Errors a caller can act on: a small kind to branch on, and a message that says what happened.

use super::drop_reason::DropReason;
use std::fmt;

/// What kind of failure, for branching (`match err.kind()`). The bindings map these one to one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A config value is out of range or inconsistent; the message names the field.
    InvalidConfig,
    /// The operation needs a live connection (e.g. answering a server's ack request).
    NotConnected,
    /// The outbox is full and its policy is `Reject`.
    QueueFull,
    /// No acknowledgement arrived in time.
    AckTimeout,
    /// The server or the token provider refused the credentials.
    AuthRejected,
    /// The client is closed (or failed); call `connect` again.
    Closed,
    /// The message is larger than a configured limit.
    TooLarge,
    /// The connection went away before the acknowledgement came.
    ConnectionLost,
    /// The network or TLS layer failed.
    Transport,
    /// The server sent something the protocol does not allow.
    Protocol,
    /// The protocol in use cannot do this (e.g. acks over raw WebSocket).
    Unsupported,
    /// A message was dropped from the outbox before it was sent.
    Dropped,
    /// The server answered with an error (a Phoenix `{"status": "error"}` reply); the message
    /// says what it answered.
    Refused,
    /// The durable outbox's file cannot be opened, read or written (corrupt, locked by another
    /// client, no space, no permission): the client goes on with its outbox in memory.
    Storage,
}

/// The error type of the client API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    /// What the server answered, for a [`ErrorKind::Refused`] error (boxed: errors travel in
    /// `Result`s, which should stay small).
    response: Option<Box<serde_json::Value>>,
}

impl Error {
    /// An error of `kind` with a message for humans.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into(), response: None }
    }

    /// The same error, carrying what the server answered.
    pub fn with_response(mut self, response: serde_json::Value) -> Self {
        self.response = Some(Box::new(response));
        self
    }

    /// What the server answered, when it refused something (a Phoenix error reply to a push or
    /// a join): its `response`, e.g. `{"reason": "unauthorized"}`, for the app to act on.
    pub fn response(&self) -> Option<&serde_json::Value> {
        self.response.as_deref()
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The human-readable message (never contains a token).
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// A config value that cannot work. Returned by validation; never a panic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid config `{field}`: {problem}")]
pub struct ConfigError {
    /// The field, as named in [`crate::Config`] (e.g. `"backoff.max_delay"`).
    pub field: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

impl ConfigError {
    pub(crate) fn new(field: &'static str, problem: impl Into<String>) -> Self {
        Self { field, problem: problem.into() }
    }
}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Error::new(ErrorKind::InvalidConfig, e.to_string())
    }
}

/// Why a send was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The outbox is full and its overflow policy is `Reject`.
    #[error("the outbox is full ({queued} messages queued) and its policy is Reject")]
    QueueFull {
        /// Messages queued when the send was refused.
        queued: usize,
    },
    /// The message is larger than `max_message_bytes` (or the outbox byte bound).
    #[error("message of {size} bytes is over the {limit}-byte limit")]
    TooLarge {
        /// The message size.
        size: usize,
        /// The limit it broke.
        limit: usize,
    },
    /// The client is closed or failed.
    #[error("the client is closed")]
    Closed,
    /// This needs a live connection.
    #[error("not connected")]
    NotConnected,
    /// Too many acknowledgements are outstanding (`max_pending_acks`).
    #[error("{limit} acknowledgements are already pending")]
    TooManyPendingAcks {
        /// The configured limit.
        limit: usize,
    },
    /// The protocol cannot do this.
    #[error("not supported by the {protocol} protocol: {what}")]
    Unsupported {
        /// The protocol's name.
        protocol: &'static str,
        /// What was asked.
        what: &'static str,
    },
    /// The message itself is malformed (e.g. a placeholder without its attachment).
    #[error("invalid message: {0}")]
    Invalid(String),
    /// [`crate::Client::try_send`] found the engine's send lane full: the driver has not yet
    /// taken the sends before this one. Nothing was lost; retry shortly (or use the waiting
    /// [`crate::Client::send`]).
    #[error("{waiting} sends are waiting for the engine; retry shortly")]
    Busy {
        /// Sends waiting in the lane.
        waiting: usize,
    },
}

impl From<SendError> for Error {
    fn from(e: SendError) -> Self {
        let kind = match &e {
            SendError::QueueFull { .. } => ErrorKind::QueueFull,
            SendError::TooLarge { .. } => ErrorKind::TooLarge,
            SendError::Closed => ErrorKind::Closed,
            SendError::NotConnected => ErrorKind::NotConnected,
            SendError::TooManyPendingAcks { .. } => ErrorKind::QueueFull,
            SendError::Unsupported { .. } => ErrorKind::Unsupported,
            SendError::Invalid(_) => ErrorKind::Protocol,
            SendError::Busy { .. } => ErrorKind::QueueFull,
        };
        Error::new(kind, e.to_string())
    }
}

/// A message [`crate::Client::try_send`] could not hand to the engine, given back with the reason
/// so nothing is lost: retry it later, or queue it elsewhere.
#[derive(Debug)]
pub struct TrySendError {
    error: Error,
    // Boxed: keeps the `Err` side of `try_send`'s result small on the success path.
    message: Box<super::message::OutgoingMessage>,
}

impl TrySendError {
    pub(crate) fn new(error: Error, message: super::message::OutgoingMessage) -> Self {
        Self { error, message: Box::new(message) }
    }

    /// Why: [`ErrorKind::QueueFull`] when the send lane is full (retry), [`ErrorKind::Closed`]
    /// when the client has stopped.
    pub fn error(&self) -> &Error {
        &self.error
    }

    /// The message that was not sent.
    pub fn into_message(self) -> super::message::OutgoingMessage {
        *self.message
    }
}

impl fmt::Display for TrySendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for TrySendError {}

/// Why an acknowledgement will never come.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AckError {
    /// The deadline passed.
    #[error("no acknowledgement within the timeout")]
    Timeout,
    /// The connection dropped after the message was written (not an at-least-once message).
    #[error("the connection was lost before the acknowledgement arrived")]
    ConnectionLost,
    /// The client closed.
    #[error("the client closed before the acknowledgement arrived")]
    Closed,
    /// The message was dropped from the outbox before it was sent.
    #[error("the message was dropped before it was sent: {0}")]
    Dropped(DropReason),
    /// The server answered with an error status; this is its response.
    #[error("the server refused it: {0}")]
    Refused(serde_json::Value),
}

impl From<AckError> for Error {
    fn from(e: AckError) -> Self {
        let kind = match &e {
            AckError::Timeout => ErrorKind::AckTimeout,
            AckError::ConnectionLost => ErrorKind::ConnectionLost,
            AckError::Closed => ErrorKind::Closed,
            AckError::Dropped(_) => ErrorKind::Dropped,
            AckError::Refused(_) => ErrorKind::Refused,
        };
        let error = Error::new(kind, e.to_string());
        match e {
            AckError::Refused(response) => error.with_response(response),
            _ => error,
        }
    }
}

/// A failure of the network layer, as the driver reports it to the session.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// TCP, TLS and WebSocket handshakes did not finish within `connect_timeout`.
    #[error("connect timed out")]
    Timeout,
    /// An I/O error (refused, reset, unreachable...).
    #[error("I/O error: {0}")]
    Io(String),
    /// TLS failed (certificate not trusted, handshake error).
    #[error("TLS error: {0}")]
    Tls(String),
    /// The server answered with an HTTP error status: to the WebSocket upgrade instead of
    /// switching protocols, or to a long-polling request.
    #[error("HTTP {status} from the server")]
    Http {
        /// The HTTP status code.
        status: u16,
    },
    /// The URL cannot be used.
    #[error("invalid URL: {0}")]
    InvalidUrl(String),
    /// A frame broke the WebSocket protocol or a size limit.
    #[error("WebSocket protocol error: {0}")]
    Protocol(String),
    /// The HTTP proxy could not be reached, or refused the tunnel (a `407` asks for proxy
    /// credentials). Retried with backoff: proxies restart, and credentials are the config's.
    #[error("proxy: {0}")]
    Proxy(String),
}

impl TransportError {
    /// True for errors retrying cannot fix (a bad URL, an auth refusal on upgrade).
    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::InvalidUrl(_) | Self::Http { status: 401 | 403 })
    }
}

impl From<TransportError> for Error {
    fn from(e: TransportError) -> Self {
        let kind = match &e {
            TransportError::Http { status: 401 | 403 } => ErrorKind::AuthRejected,
            _ => ErrorKind::Transport,
        };
        Error::new(kind, e.to_string())
    }
}
