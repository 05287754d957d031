//! The `with_*` setters of [`Config::network`], each with its default and an example.

use super::client_config::Config;
use super::network::{ClientCertificate, ProxyConfig, Transports};

impl Config {
    /// Which transports to use (default WebSocket only).
    ///
    /// ```
    /// use tether_core::{Config, Transports};
    /// // seed 004: transports: ['websocket', 'polling']
    /// let config = Config::new("wss://h").with_transports(Transports::WebSocketThenPolling { after_failures: 2 });
    /// assert_eq!(config.network.transports, Transports::WebSocketThenPolling { after_failures: 2 });
    /// ```
    pub fn with_transports(mut self, transports: Transports) -> Self {
        self.network.transports = transports;
        self
    }

    /// Tunnels every connection through this HTTP proxy (default none; see
    /// [`Config::with_proxy_from_environment`]).
    ///
    /// ```
    /// use tether_core::{Config, ProxyConfig};
    /// let config = Config::new("wss://h")
    ///     .with_proxy(ProxyConfig::new("http://proxy.corp:3128").with_basic_auth("me", "secret"));
    /// assert!(config.network.proxy.is_some());
    /// ```
    pub fn with_proxy(mut self, proxy: ProxyConfig) -> Self {
        self.network.proxy = Some(proxy);
        self
    }

    /// Whether `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY` are honoured when no proxy
    /// is set (desktop only; default true).
    ///
    /// ```
    /// let config = tether_core::Config::new("wss://h").with_proxy_from_environment(false);
    /// assert!(!config.network.proxy_from_environment);
    /// ```
    pub fn with_proxy_from_environment(mut self, enabled: bool) -> Self {
        self.network.proxy_from_environment = enabled;
        self
    }

    /// Adds a header to every handshake request (the WebSocket upgrade, every polling request).
    ///
    /// ```
    /// let config = tether_core::Config::new("wss://h").with_header("X-Tenant", "acme");
    /// assert_eq!(config.network.headers, vec![("X-Tenant".to_owned(), "acme".to_owned())]);
    /// ```
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.network.headers.push((name.into(), value.into()));
        self
    }

    /// Whether cookies set by the server are kept and sent back (default true).
    ///
    /// ```
    /// let config = tether_core::Config::new("wss://h").with_cookies(false);
    /// assert!(!config.network.cookies);
    /// ```
    pub fn with_cookies(mut self, enabled: bool) -> Self {
        self.network.cookies = enabled;
        self
    }

    /// Verifies servers with the platform's verifier instead of the built-in roots (default
    /// false). On Android the verifier must be initialised first (see kotlin/README.md).
    ///
    /// ```
    /// let config = tether_core::Config::new("wss://h").with_platform_verifier(true);
    /// assert!(config.network.platform_verifier);
    /// ```
    pub fn with_platform_verifier(mut self, enabled: bool) -> Self {
        self.network.platform_verifier = enabled;
        self
    }

    /// Pins a public key: `sha256/<base64 of the SHA-256 of the SubjectPublicKeyInfo>`.
    ///
    /// ```
    /// let config = tether_core::Config::new("wss://h")
    ///     .with_pinned_key("sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    /// assert!(config.validate().is_ok());
    /// ```
    pub fn with_pinned_key(mut self, pin: impl Into<String>) -> Self {
        self.network.pinned_keys.push(pin.into());
        self
    }

    /// Presents this certificate to servers that ask for one (mutual TLS).
    ///
    /// ```
    /// use tether_core::{ClientCertificate, Config};
    /// let (chain, key): (Vec<Vec<u8>>, Vec<u8>) = (vec![], vec![]); // your DER bytes
    /// let config = Config::new("wss://h")
    ///     .with_client_certificate(ClientCertificate { chain, private_key: key });
    /// assert!(config.network.client_certificate.is_some());
    /// ```
    pub fn with_client_certificate(mut self, certificate: ClientCertificate) -> Self {
        self.network.client_certificate = Some(certificate);
        self
    }
}
