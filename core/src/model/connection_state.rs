//! Where a connection is in its life, and why it ended.

use std::fmt;
use std::time::Instant;

/// The state of a client's connection. Exactly one at a time; every change is reported as
/// [`crate::Event::StateChanged`] and through the client's `state()` watch.
///
/// ```text
/// Idle -> Connecting -> Connected -> (Reconnecting -> Connecting -> Connected)* -> Closed
///                  \-> Failed (auth rejected, bad URL, protocol mismatch, attempts exhausted)
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionState {
    /// Created, `connect` not called yet. Sends are queued in the outbox.
    Idle,
    /// A transport is being opened, or the protocol handshake is under way.
    Connecting,
    /// The protocol handshake completed; sends go straight to the socket.
    Connected,
    /// The connection was lost (or the first connect failed and retries are on); the next attempt
    /// starts at `retry_at` unless a network hint or `reconnect_now` brings it forward.
    Reconnecting {
        /// How many consecutive attempts have failed so far (1 for the first retry).
        attempt: u32,
        /// When the next attempt starts.
        retry_at: Instant,
    },
    /// The app called `disconnect`, dropped the last client handle, or the server ended the
    /// session on purpose. A closed client never reconnects by itself.
    Closed,
    /// Something retrying cannot fix. The client waits for the app (a new `connect` call).
    Failed {
        /// Why the client gave up.
        reason: FailureReason,
    },
}

impl ConnectionState {
    /// True only in [`ConnectionState::Connected`].
    pub fn is_connected(&self) -> bool {
        matches!(self, Self::Connected)
    }

    /// True in `Closed` and `Failed`: nothing happens until the app acts.
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Closed | Self::Failed { .. })
    }

    /// A short lowercase name (`"connected"`, `"reconnecting"`, ...) for logs and UIs.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Connecting => "connecting",
            Self::Connected => "connected",
            Self::Reconnecting { .. } => "reconnecting",
            Self::Closed => "closed",
            Self::Failed { .. } => "failed",
        }
    }
}

impl fmt::Display for ConnectionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Reconnecting { attempt, .. } => write!(f, "reconnecting (attempt {attempt})"),
            Self::Failed { reason } => write!(f, "failed: {reason}"),
            other => f.write_str(other.name()),
        }
    }
}

/// Why a client entered [`ConnectionState::Failed`]. Each of these needs the app to act.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureReason {
    /// The server refused the credentials (Socket.IO CONNECT_ERROR, HTTP 401/403 on upgrade) or
    /// the token provider said there is no valid token. Retrying with the same token would only
    /// hammer the server.
    AuthRejected(String),
    /// The configured URL cannot be used (bad scheme, no host).
    InvalidUrl(String),
    /// The server speaks something else (wrong Engine.IO version, not a WebSocket endpoint).
    ProtocolMismatch(String),
    /// `max_attempts` reconnect attempts failed in a row.
    AttemptsExhausted {
        /// How many attempts were made.
        attempts: u32,
        /// The error of the last attempt.
        last_error: String,
    },
    /// The first connect failed and `retry_initial_connect` is off.
    InitialConnectFailed(String),
}

impl fmt::Display for FailureReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AuthRejected(why) => write!(f, "authentication rejected: {why}"),
            Self::InvalidUrl(why) => write!(f, "invalid URL: {why}"),
            Self::ProtocolMismatch(why) => write!(f, "protocol mismatch: {why}"),
            Self::AttemptsExhausted { attempts, last_error } => {
                write!(f, "gave up after {attempts} reconnect attempts (last error: {last_error})")
            }
            Self::InitialConnectFailed(why) => write!(f, "first connect failed: {why}"),
        }
    }
}

/// Why a connection that was up (or being set up) went down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DisconnectReason {
    /// The app called `disconnect` (or dropped the last handle).
    ClientRequested,
    /// The server ended the session on purpose (Socket.IO DISCONNECT): no reconnect, as
    /// socket.io-client does.
    ServerRequested(String),
    /// Nothing arrived for the heartbeat timeout: the path is dead (half-open TCP included).
    HeartbeatTimeout,
    /// The transport closed or failed (EOF, reset, I/O error, close frame).
    TransportClosed(String),
    /// The transport did not open, or the handshake did not finish, within `connect_timeout`.
    ConnectTimeout,
    /// The app asked for a fresh connection (`reconnect_now`).
    ReconnectRequested,
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ClientRequested => f.write_str("client requested"),
            Self::ServerRequested(why) => write!(f, "server requested: {why}"),
            Self::HeartbeatTimeout => f.write_str("heartbeat timeout"),
            Self::TransportClosed(why) => write!(f, "transport closed: {why}"),
            Self::ConnectTimeout => f.write_str("connect timeout"),
            Self::ReconnectRequested => f.write_str("reconnect requested"),
        }
    }
}
