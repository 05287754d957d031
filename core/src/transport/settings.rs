//! What the transport needs from the config, prepared once per client.

use super::tls::shared_tls_config;
use crate::config::Config;
use crate::model::TransportError;
use std::sync::Arc;
use std::time::Duration;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// What the transport needs from the config, prepared once per client (the TLS config is built
/// once, not per connect).
#[derive(Clone)]
pub struct TransportSettings {
    pub(super) connect_timeout: Duration,
    pub(super) websocket: WebSocketConfig,
    pub(super) tls: Arc<rustls::ClientConfig>,
}

impl std::fmt::Debug for TransportSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransportSettings")
            .field("connect_timeout", &self.connect_timeout)
            .finish_non_exhaustive()
    }
}

impl TransportSettings {
    /// Builds the settings (and the TLS trust store) from a config.
    pub fn from_config(config: &Config) -> Result<Self, TransportError> {
        let websocket = WebSocketConfig::default()
            .read_buffer_size(config.read_buffer_bytes)
            .write_buffer_size(config.write_buffer_bytes)
            // Backpressure is the driver's job; this only stops a runaway buffer.
            .max_write_buffer_size(
                config
                    .write_buffer_bytes
                    .saturating_mul(4)
                    .max(config.max_frame_bytes.saturating_mul(2)),
            )
            .max_message_size(Some(config.max_message_bytes))
            .max_frame_size(Some(config.max_frame_bytes));
        Ok(Self {
            connect_timeout: config.connect_timeout,
            websocket,
            tls: shared_tls_config(config)?,
        })
    }
}
