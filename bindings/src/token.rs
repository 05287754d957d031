//! The token provider is implemented by the app (a Swift `async` function, a Kotlin `suspend`
//! function) and called before every connect and reconnect.

use crate::error::TokenError;
use std::sync::Arc;
use tether_core::model::TokenFuture;

/// Supplies a fresh token (e.g. a JWT) before each connect and reconnect. Throw
/// `TokenError.Unauthorized` when the user must sign in again (the client stops retrying),
/// `TokenError.Unavailable` (or anything else) for a passing failure (it retries with backoff).
#[uniffi::export(foreign)]
#[async_trait::async_trait]
pub trait TokenProvider: Send + Sync {
    /// The token for the next connection.
    async fn token(&self) -> Result<String, TokenError>;

    /// The server refused `rejected`: a token for one more try (asked once per refusal; a
    /// second refusal fails with `AuthRejected`). The Swift and Kotlin packages default this to
    /// `token()`; a provider with a cache drops `rejected` and fetches a fresh one.
    async fn token_after_rejection(&self, rejected: String) -> Result<String, TokenError>;
}

/// The foreign provider in the core's shape.
pub(crate) struct ForeignTokenProvider(pub(crate) Arc<dyn TokenProvider>);

impl tether_core::TokenProvider for ForeignTokenProvider {
    fn token(&self) -> TokenFuture {
        let provider = self.0.clone();
        Box::pin(
            async move { provider.token().await.map(tether_core::Token::new).map_err(Into::into) },
        )
    }

    fn token_after_rejection(&self, rejected: tether_core::Token) -> TokenFuture {
        let provider = self.0.clone();
        Box::pin(async move {
            let rejected = rejected.expose().to_owned();
            provider
                .token_after_rejection(rejected)
                .await
                .map(tether_core::Token::new)
                .map_err(Into::into)
        })
    }
}
