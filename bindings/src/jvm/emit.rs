//! `tryEmit` through JNI: the client found by its id, then exactly [`Client::try_emit`], so
//! both paths parse, refuse and hand over alike. Errors travel as one string that the Kotlin
//! side turns back into the same `TetherException` subclass the generated code would throw.

use super::registry;
use crate::client::Client;
use crate::error::TetherError;

/// [`Client::try_emit`] on the client with id `client`, from the UTF-8 bytes the Kotlin side
/// encoded (a byte array crosses JNI with one copy and no class checks, unlike a `String`).
pub(super) fn try_emit(
    client: u64,
    event: Vec<u8>,
    payload_json: Vec<u8>,
) -> Result<(), TetherError> {
    let client: std::sync::Arc<Client> = registry::client(client).ok_or_else(released)?;
    client.try_emit(text(event, "event name")?, text(payload_json, "payload")?)
}

/// The error for an id whose client is gone: the app closed it (and raced a send with that).
pub(super) fn released() -> TetherError {
    TetherError::Closed { message: "the client was closed".into() }
}

/// Kotlin strings always encode to valid UTF-8 (`encodeToByteArray` replaces lone surrogates),
/// so this refuses only bytes that did not come from the Kotlin package.
fn text(bytes: Vec<u8>, what: &str) -> Result<String, TetherError> {
    String::from_utf8(bytes)
        .map_err(|e| TetherError::Other { message: format!("the {what} is not UTF-8: {e}") })
}

/// `error` as the Kotlin side reads it (`JvmFastPath.kt`): the variant's digit, then the message.
pub(super) fn error_text(error: &TetherError) -> String {
    let digit = match error {
        TetherError::InvalidConfig { .. } => '0',
        TetherError::NotConnected { .. } => '1',
        TetherError::QueueFull { .. } => '2',
        TetherError::AckTimeout { .. } => '3',
        TetherError::AuthRejected { .. } => '4',
        TetherError::Closed { .. } => '5',
        TetherError::Refused { .. } => '6',
        TetherError::Other { .. } => '7',
    };
    format!("{digit}{error}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jvm::registry::tests::offline_client;
    use std::time::Duration;

    #[test]
    fn every_variant_has_its_own_digit_before_its_message() {
        let message = || "why".to_owned();
        let variants = [
            TetherError::InvalidConfig { message: message() },
            TetherError::NotConnected { message: message() },
            TetherError::QueueFull { message: message() },
            TetherError::AckTimeout { message: message() },
            TetherError::AuthRejected { message: message() },
            TetherError::Closed { message: message() },
            TetherError::Refused { message: message() },
            TetherError::Other { message: message() },
        ];
        let texts: Vec<String> = variants.iter().map(error_text).collect();
        let expected: Vec<String> = (0..8).map(|digit| format!("{digit}why")).collect();
        assert_eq!(texts, expected);
    }

    #[tokio::test]
    async fn it_does_what_try_emit_does_and_an_unknown_id_is_closed() {
        let client = offline_client();
        let id = client.clone().jvm_fast_path_id();
        let bad = try_emit(id, b"e".to_vec(), b"{not json".to_vec());
        let reference = client.try_emit("e".into(), "{not json".into());
        assert!(matches!(bad, Err(TetherError::Other { .. })), "{bad:?}");
        assert_eq!(bad, reference, "the same error as the JNA path");
        let not_utf8 = try_emit(id, b"e".to_vec(), vec![b'"', 0xFF, b'"']);
        assert!(matches!(not_utf8, Err(TetherError::Other { .. })), "{not_utf8:?}");
        assert_eq!(try_emit(id, b"e".to_vec(), br#"{"ok":1}"#.to_vec()), Ok(()));
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while client.stats().await.map(|s| s.queued) != Ok(1) {
            assert!(std::time::Instant::now() < deadline, "never queued");
            tokio::task::yield_now().await;
        }
        client.disconnect().await.unwrap_or_else(|e| panic!("{e}"));
        let closed = try_emit(id, b"e".to_vec(), b"1".to_vec());
        assert!(matches!(closed, Err(TetherError::Closed { .. })), "{closed:?}");
        drop(client);
        assert_eq!(try_emit(id, b"e".to_vec(), b"1".to_vec()), Err(released()));
        assert_eq!(try_emit(0, b"e".to_vec(), b"1".to_vec()), Err(released()));
    }
}
