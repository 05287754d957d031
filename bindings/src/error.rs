//! The errors that cross the FFI, and every conversion into and out of them (one file, so the
//! mapping from the core's [`tether_core::ErrorKind`] can be read at a glance).

use tether_core::ErrorKind as CoreKind;
use uniffi::UnexpectedUniFFICallbackError;

/// What went wrong, with the variants an app branches on. Swift: `TetherError`; Kotlin:
/// `TetherException` (each variant a subclass). The message says what happened, for humans.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
#[uniffi(flat_error)]
pub enum TetherError {
    /// A config value is out of range or inconsistent (the message names the field), or a URL
    /// cannot be used.
    #[error("{message}")]
    InvalidConfig {
        /// What is wrong.
        message: String,
    },
    /// The operation needs a live connection.
    #[error("{message}")]
    NotConnected {
        /// What is wrong.
        message: String,
    },
    /// The outbox is full and its policy is `Reject`, or too many acknowledgements are pending.
    #[error("{message}")]
    QueueFull {
        /// What is wrong.
        message: String,
    },
    /// No acknowledgement arrived in time.
    #[error("{message}")]
    AckTimeout {
        /// What is wrong.
        message: String,
    },
    /// The server or the token provider refused the credentials. The client stays `Failed`
    /// until `connect` is called again.
    #[error("{message}")]
    AuthRejected {
        /// What is wrong.
        message: String,
    },
    /// The client is closed or failed; call `connect` again.
    #[error("{message}")]
    Closed {
        /// What is wrong.
        message: String,
    },
    /// The server answered with an error (a refused Phoenix push or channel join); the message
    /// says what it answered.
    #[error("{message}")]
    Refused {
        /// What the server answered.
        message: String,
    },
    /// Anything else: a message too large, a connection lost before the acknowledgement, a
    /// transport or protocol error, an operation the protocol cannot do, a dropped message,
    /// a payload that is not JSON, the durable outbox's file failing.
    #[error("{message}")]
    Other {
        /// What is wrong.
        message: String,
    },
}

impl From<tether_core::Error> for TetherError {
    fn from(e: tether_core::Error) -> Self {
        let message = e.message().to_owned();
        match e.kind() {
            CoreKind::InvalidConfig => Self::InvalidConfig { message },
            CoreKind::NotConnected => Self::NotConnected { message },
            CoreKind::QueueFull => Self::QueueFull { message },
            CoreKind::AckTimeout => Self::AckTimeout { message },
            CoreKind::AuthRejected => Self::AuthRejected { message },
            CoreKind::Closed => Self::Closed { message },
            CoreKind::Refused => Self::Refused { message },
            CoreKind::TooLarge
            | CoreKind::ConnectionLost
            | CoreKind::Transport
            | CoreKind::Protocol
            | CoreKind::Unsupported
            | CoreKind::Dropped
            | CoreKind::Storage => Self::Other { message },
        }
    }
}

impl From<tether_core::ConfigError> for TetherError {
    fn from(e: tether_core::ConfigError) -> Self {
        Self::InvalidConfig { message: e.to_string() }
    }
}

impl From<serde_json::Error> for TetherError {
    fn from(e: serde_json::Error) -> Self {
        Self::Other { message: format!("invalid JSON: {e}") }
    }
}

/// Why a foreign [`crate::TokenProvider`] has no token. Kotlin: `TokenException`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum TokenError {
    /// The user must sign in again: the client stops retrying (state `Failed`, error
    /// `AuthRejected`).
    #[error("no valid credentials: {reason}")]
    Unauthorized {
        /// Why, for logs (never the token).
        reason: String,
    },
    /// A passing failure (refresh endpoint unreachable): the client retries with backoff.
    #[error("token unavailable: {reason}")]
    Unavailable {
        /// Why, for logs (never the token).
        reason: String,
    },
}

/// An exception the provider did not declare is a passing failure: retrying may help, and
/// giving up for good on a bug in a refresh path would strand the user.
impl From<UnexpectedUniFFICallbackError> for TokenError {
    fn from(e: UnexpectedUniFFICallbackError) -> Self {
        Self::Unavailable { reason: format!("the token provider threw: {}", e.reason) }
    }
}

impl From<TokenError> for tether_core::TokenError {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::Unauthorized { reason } => Self::Unauthorized(reason),
            TokenError::Unavailable { reason } => Self::Unavailable(reason),
        }
    }
}

/// What a listener may throw. Listeners need not throw at all; whatever they throw is logged
/// and the subscription carries on with the next value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum ListenerError {
    /// The listener failed.
    #[error("listener failed: {reason}")]
    Failed {
        /// Why.
        reason: String,
    },
}

impl From<UnexpectedUniFFICallbackError> for ListenerError {
    fn from(e: UnexpectedUniFFICallbackError) -> Self {
        Self::Failed { reason: e.reason }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tether_core::{AckError, SendError, TransportError};

    fn kind_of(e: TetherError) -> &'static str {
        match e {
            TetherError::InvalidConfig { .. } => "InvalidConfig",
            TetherError::NotConnected { .. } => "NotConnected",
            TetherError::QueueFull { .. } => "QueueFull",
            TetherError::AckTimeout { .. } => "AckTimeout",
            TetherError::AuthRejected { .. } => "AuthRejected",
            TetherError::Closed { .. } => "Closed",
            TetherError::Refused { .. } => "Refused",
            TetherError::Other { .. } => "Other",
        }
    }

    #[test]
    fn every_core_kind_maps_to_the_variant_an_app_branches_on() {
        let cases = [
            (CoreKind::InvalidConfig, "InvalidConfig"),
            (CoreKind::NotConnected, "NotConnected"),
            (CoreKind::QueueFull, "QueueFull"),
            (CoreKind::AckTimeout, "AckTimeout"),
            (CoreKind::AuthRejected, "AuthRejected"),
            (CoreKind::Closed, "Closed"),
            (CoreKind::Refused, "Refused"),
            (CoreKind::TooLarge, "Other"),
            (CoreKind::ConnectionLost, "Other"),
            (CoreKind::Transport, "Other"),
            (CoreKind::Protocol, "Other"),
            (CoreKind::Unsupported, "Other"),
            (CoreKind::Dropped, "Other"),
            (CoreKind::Storage, "Other"),
        ];
        for (kind, expected) in cases {
            let mapped = TetherError::from(tether_core::Error::new(kind, "why"));
            assert_eq!(mapped.to_string(), "why", "{kind:?} keeps its message");
            assert_eq!(kind_of(mapped), expected, "{kind:?}");
        }
    }

    #[test]
    fn core_errors_from_sends_acks_and_transports_keep_their_meaning() {
        let full: tether_core::Error = SendError::QueueFull { queued: 3 }.into();
        assert_eq!(kind_of(full.into()), "QueueFull");
        let timeout: tether_core::Error = AckError::Timeout.into();
        assert_eq!(kind_of(timeout.into()), "AckTimeout");
        let refused: tether_core::Error = TransportError::Http { status: 401 }.into();
        assert_eq!(kind_of(refused.into()), "AuthRejected");
        let closed: tether_core::Error = SendError::Closed.into();
        assert_eq!(kind_of(closed.into()), "Closed");
    }

    #[test]
    fn config_errors_name_the_field() {
        let bad = tether_core::Config::new("ftp://h").validate().err();
        let mapped = bad.map(TetherError::from);
        assert!(
            matches!(&mapped, Some(TetherError::InvalidConfig { message }) if message.contains("urls")),
            "{mapped:?}"
        );
    }

    #[test]
    fn token_errors_keep_their_retry_meaning() {
        let unauthorized: tether_core::TokenError =
            TokenError::Unauthorized { reason: "expired".into() }.into();
        assert_eq!(unauthorized, tether_core::TokenError::Unauthorized("expired".into()));
        let unexpected = TokenError::from(UnexpectedUniFFICallbackError::new("boom"));
        assert!(matches!(unexpected, TokenError::Unavailable { .. }));
    }
}
