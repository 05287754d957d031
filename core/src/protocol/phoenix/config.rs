//! Options of the Phoenix Channels protocol.

use crate::model::ConfigError;
use serde_json::{Map, Value};

/// Options of the Phoenix Channels v2 protocol (`vsn=2.0.0`), as phoenix.js's `Socket` takes
/// them. Rooms are channels (topics), joined with an optional payload; messages are pushes to
/// a joined topic (the message's namespace).
#[derive(Clone, PartialEq)]
pub struct PhoenixConfig {
    /// The socket's endpoint path; `/websocket` is appended, as phoenix.js does. Default
    /// `"/socket"`. Empty: the URL's own path is used as it is.
    pub path: String,
    /// Connect params, sent as query parameters (Phoenix's `connect/3` reads them).
    /// Default none.
    pub params: Map<String, Value>,
    /// The query parameter that carries the token provider's token. Default `Some("token")`;
    /// `None` sends no token in the URL (Supabase puts it in join payloads instead).
    pub token_param: Option<String>,
    /// Put the token in every join payload as `access_token`, and push `access_token` to every
    /// joined channel when the token is refreshed (Supabase Realtime). Default false.
    pub access_token_in_joins: bool,
}

impl std::fmt::Debug for PhoenixConfig {
    // Params carry credentials (an API key): show their names, never their values.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let params: Vec<&str> = self.params.keys().map(String::as_str).collect();
        f.debug_struct("PhoenixConfig")
            .field("path", &self.path)
            .field("param_names", &params)
            .field("token_param", &self.token_param)
            .field("access_token_in_joins", &self.access_token_in_joins)
            .finish()
    }
}

impl Default for PhoenixConfig {
    fn default() -> Self {
        Self {
            path: "/socket".to_owned(),
            params: Map::new(),
            token_param: Some("token".to_owned()),
            access_token_in_joins: false,
        }
    }
}

impl PhoenixConfig {
    /// The options Supabase Realtime expects: path `/realtime/v1`, the project's API key as
    /// the `apikey` param, and the user's token (from the token provider) as each channel's
    /// `access_token`, refreshed on every joined channel when it changes.
    ///
    /// ```
    /// let options = tether_core::PhoenixConfig::supabase("anon-key");
    /// assert_eq!(options.path, "/realtime/v1");
    /// assert!(options.access_token_in_joins);
    /// ```
    pub fn supabase(api_key: impl Into<String>) -> Self {
        let mut params = Map::new();
        params.insert("apikey".to_owned(), Value::String(api_key.into()));
        Self {
            path: "/realtime/v1".to_owned(),
            params,
            token_param: None,
            access_token_in_joins: true,
        }
    }

    /// Checks every value; the error names the first bad field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !self.path.is_empty() && !self.path.starts_with('/') {
            return Err(ConfigError::new("phoenix.path", "must start with '/' (or be empty)"));
        }
        if self.token_param.as_deref() == Some("") {
            return Err(ConfigError::new("phoenix.token_param", "must not be empty (or None)"));
        }
        if self.params.contains_key("vsn") {
            return Err(ConfigError::new(
                "phoenix.params",
                "vsn is the protocol version: Tether speaks 2.0.0 and sets it",
            ));
        }
        Ok(())
    }
}
