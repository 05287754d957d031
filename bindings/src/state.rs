//! Where a connection is in its life, mirrored from [`tether_core::ConnectionState`].

use std::time::Instant;
use tether_core as core_api;

/// The state of a client's connection.
///
/// `Idle -> Connecting -> Connected -> (Reconnecting -> Connecting -> Connected)* -> Closed`,
/// or `Failed` for what retrying cannot fix.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum ConnectionState {
    /// Created, `connect` not called yet. Sends are queued.
    Idle,
    /// A transport is being opened, or the protocol handshake is under way.
    Connecting,
    /// Connected; sends go straight to the socket.
    Connected,
    /// The connection was lost; the next attempt starts in `retry_in_ms` unless a network hint
    /// or `reconnect_now` brings it forward.
    Reconnecting {
        /// Failed attempts in a row so far (1 for the first retry).
        attempt: u32,
        /// Milliseconds from when this value was made until the next attempt.
        retry_in_ms: u64,
    },
    /// Closed by the app or the server; never reconnects by itself.
    Closed,
    /// Something retrying cannot fix; waits for the app to call `connect` again.
    Failed {
        /// Why the client gave up.
        reason: FailureReason,
    },
}

/// Why a client entered `Failed`.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum FailureReason {
    /// The server or the token provider refused the credentials.
    AuthRejected {
        /// The server's or provider's words.
        message: String,
    },
    /// The configured URL cannot be used.
    InvalidUrl {
        /// What is wrong with it.
        message: String,
    },
    /// The server speaks something else.
    ProtocolMismatch {
        /// What was seen.
        message: String,
    },
    /// `max_attempts` reconnect attempts failed in a row.
    AttemptsExhausted {
        /// How many attempts were made.
        attempts: u32,
        /// The error of the last attempt.
        last_error: String,
    },
    /// The first connect failed and `retry_initial_connect` is off.
    InitialConnectFailed {
        /// The error.
        message: String,
    },
}

/// Why a connection went down.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum DisconnectReason {
    /// The app called `disconnect` (or dropped the client).
    ClientRequested,
    /// The server ended the session on purpose (no reconnect).
    ServerRequested {
        /// The server's reason.
        reason: String,
    },
    /// Nothing arrived for the heartbeat timeout (half-open TCP included).
    HeartbeatTimeout,
    /// The transport closed or failed.
    TransportClosed {
        /// What happened.
        reason: String,
    },
    /// The connection did not open within `connect_timeout_ms`.
    ConnectTimeout,
    /// The app asked for a fresh connection (`reconnect_now`).
    ReconnectRequested,
}

impl From<core_api::ConnectionState> for ConnectionState {
    fn from(s: core_api::ConnectionState) -> Self {
        use core_api::ConnectionState as S;
        match s {
            S::Idle => Self::Idle,
            S::Connecting => Self::Connecting,
            S::Connected => Self::Connected,
            S::Reconnecting { attempt, retry_at } => Self::Reconnecting {
                attempt,
                retry_in_ms: u64::try_from(
                    retry_at.saturating_duration_since(Instant::now()).as_millis(),
                )
                .unwrap_or(u64::MAX),
            },
            S::Closed => Self::Closed,
            S::Failed { reason } => Self::Failed { reason: reason.into() },
        }
    }
}

impl From<core_api::FailureReason> for FailureReason {
    fn from(r: core_api::FailureReason) -> Self {
        use core_api::FailureReason as R;
        match r {
            R::AuthRejected(message) => Self::AuthRejected { message },
            R::InvalidUrl(message) => Self::InvalidUrl { message },
            R::ProtocolMismatch(message) => Self::ProtocolMismatch { message },
            R::AttemptsExhausted { attempts, last_error } => {
                Self::AttemptsExhausted { attempts, last_error }
            }
            R::InitialConnectFailed(message) => Self::InitialConnectFailed { message },
        }
    }
}

impl From<core_api::DisconnectReason> for DisconnectReason {
    fn from(r: core_api::DisconnectReason) -> Self {
        use core_api::DisconnectReason as R;
        match r {
            R::ClientRequested => Self::ClientRequested,
            R::ServerRequested(reason) => Self::ServerRequested { reason },
            R::HeartbeatTimeout => Self::HeartbeatTimeout,
            R::TransportClosed(reason) => Self::TransportClosed { reason },
            R::ConnectTimeout => Self::ConnectTimeout,
            R::ReconnectRequested => Self::ReconnectRequested,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn reconnecting_carries_the_wait_in_milliseconds() {
        let retry_at = Instant::now() + Duration::from_secs(5);
        let state =
            ConnectionState::from(core_api::ConnectionState::Reconnecting { attempt: 2, retry_at });
        let ConnectionState::Reconnecting { attempt, retry_in_ms } = state else {
            panic!("expected Reconnecting, got {state:?}");
        };
        assert_eq!(attempt, 2);
        assert!((4_000..=5_000).contains(&retry_in_ms), "{retry_in_ms}");
    }

    #[test]
    fn failures_keep_their_reason() {
        let state = ConnectionState::from(core_api::ConnectionState::Failed {
            reason: core_api::FailureReason::AuthRejected("unauthorized".into()),
        });
        assert_eq!(
            state,
            ConnectionState::Failed {
                reason: FailureReason::AuthRejected { message: "unauthorized".into() }
            }
        );
    }
}
