//! Credentials: a token the app's provider hands out before every connect and reconnect. The
//! token is a secret, so it never shows in Debug output, logs or errors.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

/// A bearer token (e.g. a JWT). `Debug` and `Display` print `Token(<redacted>)`.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Wraps a token string.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself, for the one place that must send it (the handshake).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<&str> for Token {
    fn from(s: &str) -> Self {
        Self::new(s)
    }
}

impl From<String> for Token {
    fn from(s: String) -> Self {
        Self::new(s)
    }
}

/// Why the provider has no token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The user must sign in again: retrying will not help, so the client goes to `Failed`.
    #[error("no valid credentials: {0}")]
    Unauthorized(String),
    /// A passing failure (refresh endpoint unreachable): the client retries with backoff.
    #[error("token refresh failed: {0}")]
    Unavailable(String),
}

/// The future a [`TokenProvider`] returns.
pub type TokenFuture = Pin<Box<dyn Future<Output = Result<Token, TokenError>> + Send>>;

/// Supplies a fresh token before each connect and reconnect, so expired tokens are refreshed
/// where the app knows how.
///
/// Any `Fn() -> impl Future<Output = Result<Token, TokenError>>` is a provider:
///
/// ```
/// use tether_core::{Token, TokenProvider};
/// let provider = || async { Ok(Token::new("jwt...")) };
/// fn takes(_: impl TokenProvider) {}
/// takes(provider);
/// ```
pub trait TokenProvider: Send + Sync + 'static {
    /// Returns the token to use for the next connection.
    fn token(&self) -> TokenFuture;

    /// The server refused `rejected` (it expired, or was revoked, between the provider's
    /// refresh and the connect): returns a token for one more try. The client asks this once
    /// per refusal and, if that token is refused too, fails with `AuthRejected`. By default it
    /// asks [`TokenProvider::token`] again; a provider with a cache should drop `rejected` from
    /// it and fetch a fresh one.
    fn token_after_rejection(&self, rejected: Token) -> TokenFuture {
        let _ = rejected;
        self.token()
    }
}

impl<F, Fut> TokenProvider for F
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Token, TokenError>> + Send + 'static,
{
    fn token(&self) -> TokenFuture {
        Box::pin(self())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_secret() {
        let t = Token::new("s3cr3t-value");
        assert!(!format!("{t:?}").contains("s3cr3t"));
        assert!(!format!("{t}").contains("s3cr3t"));
        assert_eq!(t.expose(), "s3cr3t-value");
    }
}
