//! What the transport needs from the config, prepared once per client.

use super::cookies::{CookieJar, Origin};
use super::endpoint::Endpoint;
use super::proxy::{Proxy, ProxyRules};
use super::tls::shared_tls_config;
use crate::config::{Config, Transports};
use crate::model::TransportError;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// What the transport needs from the config, prepared once per client (the TLS config and the
/// proxy rules are built once, not per connect; the cookie jar lives as long as the client).
#[derive(Clone)]
pub struct TransportSettings {
    pub(super) connect_timeout: Duration,
    pub(super) websocket: WebSocketConfig,
    pub(super) tls: Arc<rustls::ClientConfig>,
    pub(super) transports: Transports,
    pub(super) proxies: ProxyRules,
    /// Extra headers on every handshake request (values may be credentials: never logged).
    pub(super) headers: Arc<[(String, String)]>,
    pub(super) cookies: Option<CookieJar>,
    /// The most bytes one long-polling response may carry (the server batches what it
    /// buffered): 16 messages of the largest size.
    pub(super) max_poll_bytes: usize,
    /// WebSocket attempts failed in a row (for [`Transports::WebSocketThenPolling`]).
    websocket_failures: Arc<AtomicU32>,
}

impl std::fmt::Debug for TransportSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransportSettings")
            .field("connect_timeout", &self.connect_timeout)
            .field("transports", &self.transports)
            .field("proxies", &self.proxies)
            .finish_non_exhaustive()
    }
}

impl TransportSettings {
    /// Builds the settings (the TLS trust store, the proxy rules) from a config.
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
        let network = &config.network;
        Ok(Self {
            connect_timeout: config.connect_timeout,
            websocket,
            tls: shared_tls_config(config)?,
            transports: network.transports,
            proxies: ProxyRules::from_config(network)?,
            headers: network.headers.clone().into(),
            cookies: network.cookies.then(CookieJar::default),
            max_poll_bytes: config.max_message_bytes.saturating_mul(16),
            websocket_failures: Arc::default(),
        })
    }

    /// The transports the config asks for.
    pub fn transports(&self) -> Transports {
        self.transports
    }

    /// The same settings with the protocol's own headers added to the configured ones.
    pub(super) fn with_headers(&self, extra: &[(String, String)]) -> Self {
        let mut settings = self.clone();
        if !extra.is_empty() {
            settings.headers = extra.iter().chain(self.headers.iter()).cloned().collect();
        }
        settings
    }

    pub(super) fn websocket_failures(&self) -> u32 {
        self.websocket_failures.load(Ordering::Relaxed)
    }

    /// Counts a failed WebSocket attempt; returns the failures in a row.
    pub(super) fn websocket_failed(&self) -> u32 {
        self.websocket_failures.fetch_add(1, Ordering::Relaxed).saturating_add(1)
    }

    /// A WebSocket worked (opened, or an upgrade succeeded): the fallback count starts over.
    pub(super) fn websocket_worked(&self) {
        self.websocket_failures.store(0, Ordering::Relaxed);
    }

    pub(super) fn proxy_for(&self, endpoint: &Endpoint) -> Option<&Proxy> {
        self.proxies.for_endpoint(endpoint)
    }

    /// The `Cookie` header for a request to `url`, if the jar has cookies for it.
    pub(super) fn cookie_header(&self, url: &url::Url) -> Option<String> {
        let jar = self.cookies.as_ref()?;
        jar.header(origin(url)?)
    }

    /// Keeps the cookies a response from `url` set.
    pub(super) fn keep_cookies<'a>(&self, url: &url::Url, set: impl Iterator<Item = &'a str>) {
        if let (Some(jar), Some(origin)) = (self.cookies.as_ref(), origin(url)) {
            jar.store(origin, set);
        }
    }
}

fn origin(url: &url::Url) -> Option<Origin<'_>> {
    Some(Origin {
        host: url.host_str()?,
        path: url.path(),
        secure: matches!(url.scheme(), "https" | "wss"),
    })
}
