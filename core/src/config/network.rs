//! How the client reaches the server through real networks: which transports (WebSocket,
//! Engine.IO long-polling, an upgrade from one to the other, a fallback), an HTTP proxy, extra
//! handshake headers, cookies, and TLS beyond the trust store (the platform's verifier, pinned
//! keys, a client certificate). Held in [`crate::Config::network`]; setters with examples in
//! `network_setters`, checks in [`NetworkConfig::validate`].

use crate::model::ConfigError;
use base64::Engine as _;
use std::fmt;

/// Which transports the client uses, and in which order (seed 004's `transports`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transports {
    /// One WebSocket, nothing else (what Tether always did). The default.
    #[default]
    WebSocket,
    /// Engine.IO HTTP long-polling only, never upgraded: for networks that break WebSockets.
    /// Socket.IO only.
    Polling,
    /// Start on long-polling and upgrade to a WebSocket when the server offers it (what
    /// socket.io-client does by default); a failed upgrade stays on polling. Socket.IO only.
    PollingThenUpgrade,
    /// WebSocket first; after `after_failures` WebSocket attempts failed in a row, long-polling
    /// (with an upgrade attempt) until a WebSocket works again. Socket.IO only.
    WebSocketThenPolling {
        /// Consecutive failed WebSocket attempts before falling back. At least 1.
        after_failures: u32,
    },
}

impl Transports {
    /// Whether long-polling can be used at all (then the protocol must be Socket.IO).
    pub fn uses_polling(self) -> bool {
        self != Self::WebSocket
    }
}

/// An HTTP proxy reached with `CONNECT` (both transports tunnel through it).
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyConfig {
    /// `http://host:port` or `https://host:port` (TLS to the proxy itself). Credentials in the
    /// URL (`http://user:pass@host:port`) are used when `username` is not set.
    pub url: String,
    /// Basic auth user name for the proxy. Default none.
    pub username: Option<String>,
    /// Basic auth password for the proxy. Default none.
    pub password: Option<String>,
}

impl ProxyConfig {
    /// A proxy without credentials (or with them in the URL).
    ///
    /// ```
    /// let proxy = tether_core::ProxyConfig::new("http://proxy.corp:3128");
    /// assert_eq!(proxy.username, None);
    /// ```
    pub fn new(url: impl Into<String>) -> Self {
        Self { url: url.into(), username: None, password: None }
    }

    /// The same proxy with basic auth credentials.
    ///
    /// ```
    /// let proxy = tether_core::ProxyConfig::new("http://proxy.corp:3128").with_basic_auth("me", "secret");
    /// assert_eq!(proxy.username.as_deref(), Some("me"));
    /// ```
    pub fn with_basic_auth(
        mut self,
        username: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        self.username = Some(username.into());
        self.password = Some(password.into());
        self
    }
}

impl fmt::Debug for ProxyConfig {
    // The password, and credentials in the URL, never show.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = match url::Url::parse(&self.url) {
            Ok(mut url) if !url.username().is_empty() || url.password().is_some() => {
                let _ = url.set_username("");
                let _ = url.set_password(None);
                format!("{url} (credentials redacted)")
            }
            _ => self.url.clone(),
        };
        f.debug_struct("ProxyConfig")
            .field("url", &url)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// A client certificate for servers that ask for one (mutual TLS).
#[derive(Clone, PartialEq, Eq)]
pub struct ClientCertificate {
    /// The certificate chain, leaf first, each DER.
    pub chain: Vec<Vec<u8>>,
    /// The private key of the leaf, DER (PKCS#8, PKCS#1 or SEC1).
    pub private_key: Vec<u8>,
}

impl fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("chain", &self.chain.len())
            .field("private_key", &"<redacted>")
            .finish()
    }
}

/// Everything about reaching the server beyond its URL. Every default keeps what Tether did
/// before this existed, except that proxy environment variables are honoured on desktop.
#[derive(Clone, PartialEq, Eq)]
pub struct NetworkConfig {
    /// Which transports, in which order. Default [`Transports::WebSocket`].
    pub transports: Transports,
    /// An explicit proxy for every connection. Default none.
    pub proxy: Option<ProxyConfig>,
    /// Without an explicit `proxy`, use `HTTPS_PROXY` (for `wss`/`https`), `HTTP_PROXY` (for
    /// `ws`/`http`), then `ALL_PROXY`, honouring `NO_PROXY` (upper or lower case, read when the
    /// client is built). Desktop only: ignored on iOS and Android. Default true.
    pub proxy_from_environment: bool,
    /// Extra headers on every handshake request: the WebSocket upgrade and every polling
    /// request. Values are never logged. Default none.
    pub headers: Vec<(String, String)>,
    /// Keep cookies the server sets during handshakes (sticky sessions behind a load balancer)
    /// and send them back, per client. Default true.
    pub cookies: bool,
    /// Verify servers with the platform's verifier (Keychain on Apple, the Android trust store
    /// with user and MDM CAs, the OS store on desktop) instead of the built-in web PKI roots;
    /// `root_certificates` are trusted as well. Default false.
    pub platform_verifier: bool,
    /// Pinned public keys, `sha256/<base64>` of a certificate's SubjectPublicKeyInfo (OkHttp's
    /// format). When any is set, a server is accepted only if its chain is trusted and a
    /// certificate in it has one of these keys. Default none.
    pub pinned_keys: Vec<String>,
    /// A certificate presented to servers that ask for one. Default none.
    pub client_certificate: Option<ClientCertificate>,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        Self {
            transports: Transports::WebSocket,
            proxy: None,
            proxy_from_environment: true,
            headers: Vec::new(),
            cookies: true,
            platform_verifier: false,
            pinned_keys: Vec::new(),
            client_certificate: None,
        }
    }
}

impl fmt::Debug for NetworkConfig {
    // Header values may be credentials: names only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<&str> = self.headers.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("NetworkConfig")
            .field("transports", &self.transports)
            .field("proxy", &self.proxy)
            .field("proxy_from_environment", &self.proxy_from_environment)
            .field("headers", &headers)
            .field("cookies", &self.cookies)
            .field("platform_verifier", &self.platform_verifier)
            .field("pinned_keys", &self.pinned_keys)
            .field("client_certificate", &self.client_certificate)
            .finish()
    }
}

/// Headers the transport writes itself; a configured one would contradict it.
const MANAGED_HEADERS: [&str; 10] = [
    "host",
    "connection",
    "upgrade",
    "content-length",
    "transfer-encoding",
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-extensions",
    "proxy-authorization",
    "cookie",
];

impl NetworkConfig {
    /// Checks every value; the error names the first bad field. `polling_allowed` is false when
    /// the protocol has no long-polling (raw WebSocket).
    pub fn validate(&self, polling_allowed: bool) -> Result<(), ConfigError> {
        if self.transports.uses_polling() && !polling_allowed {
            return Err(ConfigError::new(
                "network.transports",
                "long-polling is Engine.IO's: only Socket.IO can use it (raw WebSocket has the websocket transport only)",
            ));
        }
        if let Transports::WebSocketThenPolling { after_failures: 0 } = self.transports {
            return Err(ConfigError::new(
                "network.transports",
                "WebSocketThenPolling needs after_failures of at least 1",
            ));
        }
        if let Some(proxy) = &self.proxy {
            validate_proxy(proxy)?;
        }
        for (name, value) in &self.headers {
            let token = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
            if !token {
                return Err(ConfigError::new(
                    "network.headers",
                    format!("{name:?} is not a valid header name"),
                ));
            }
            if MANAGED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
                return Err(ConfigError::new(
                    "network.headers",
                    format!("{name} is written by the transport itself and cannot be configured"),
                ));
            }
            // The value is never shown: it may be a credential.
            if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
                return Err(ConfigError::new(
                    "network.headers",
                    format!("the value of {name} contains a line break or NUL"),
                ));
            }
        }
        for pin in &self.pinned_keys {
            if pin_digest(pin).is_none() {
                return Err(ConfigError::new(
                    "network.pinned_keys",
                    format!("{pin:?} is not sha256/<base64 of 32 bytes>"),
                ));
            }
        }
        if let Some(certificate) = &self.client_certificate {
            if certificate.chain.is_empty() {
                return Err(ConfigError::new(
                    "network.client_certificate",
                    "the chain needs at least the leaf certificate",
                ));
            }
            if rustls_pki_types::PrivateKeyDer::try_from(certificate.private_key.clone()).is_err() {
                return Err(ConfigError::new(
                    "network.client_certificate",
                    "the private key is not DER PKCS#8, PKCS#1 or SEC1",
                ));
            }
        }
        Ok(())
    }
}

/// The 32-byte SHA-256 digest of a pin written `sha256/<base64>`.
pub fn pin_digest(pin: &str) -> Option<[u8; 32]> {
    let encoded = pin.strip_prefix("sha256/")?;
    let bytes = base64::engine::general_purpose::STANDARD.decode(encoded).ok()?;
    bytes.try_into().ok()
}

fn validate_proxy(proxy: &ProxyConfig) -> Result<(), ConfigError> {
    let url = url::Url::parse(&proxy.url)
        .map_err(|e| ConfigError::new("network.proxy", format!("not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ConfigError::new(
            "network.proxy",
            format!("scheme {:?} is not http or https", url.scheme()),
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(ConfigError::new("network.proxy", "the proxy URL has no host"));
    }
    if proxy.password.is_some() && proxy.username.is_none() {
        return Err(ConfigError::new("network.proxy", "a password needs a username"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(network: NetworkConfig, polling_allowed: bool) -> &'static str {
        network.validate(polling_allowed).err().map_or("<valid>", |e| e.field)
    }

    #[test]
    fn defaults_are_valid_for_every_protocol() {
        assert_eq!(field(NetworkConfig::default(), false), "<valid>");
        assert_eq!(field(NetworkConfig::default(), true), "<valid>");
    }

    #[test]
    fn bad_values_name_their_field() {
        let polling = NetworkConfig { transports: Transports::Polling, ..Default::default() };
        assert_eq!(field(polling.clone(), false), "network.transports");
        assert_eq!(field(polling, true), "<valid>");
        let zero = NetworkConfig {
            transports: Transports::WebSocketThenPolling { after_failures: 0 },
            ..Default::default()
        };
        assert_eq!(field(zero, true), "network.transports");
        for url in ["socks5://h:1", "not a url", "http://"] {
            let bad = NetworkConfig { proxy: Some(ProxyConfig::new(url)), ..Default::default() };
            assert_eq!(field(bad, true), "network.proxy", "{url}");
        }
        for (name, value) in [("Bad Name", "v"), ("Host", "x"), ("X-Ok", "a\r\nb"), ("", "v")] {
            let bad = NetworkConfig {
                headers: vec![(name.to_owned(), value.to_owned())],
                ..Default::default()
            };
            assert_eq!(field(bad, true), "network.headers", "{name}");
        }
        let pin = NetworkConfig { pinned_keys: vec!["sha256/AAAA".into()], ..Default::default() };
        assert_eq!(field(pin, true), "network.pinned_keys");
        let certificate = NetworkConfig {
            client_certificate: Some(ClientCertificate {
                chain: vec![vec![1]],
                private_key: vec![9],
            }),
            ..Default::default()
        };
        assert_eq!(field(certificate, true), "network.client_certificate");
    }

    #[test]
    fn pins_are_okhttp_style_sha256_digests() {
        let pin = format!("sha256/{}", base64::engine::general_purpose::STANDARD.encode([7u8; 32]));
        assert_eq!(pin_digest(&pin), Some([7u8; 32]));
        assert_eq!(pin_digest("sha1/AAAA"), None);
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let network = NetworkConfig {
            proxy: Some(
                ProxyConfig::new("http://u:urlsecret@p:1").with_basic_auth("me", "pw-secret"),
            ),
            headers: vec![("X-Api-Key".into(), "hdr-secret".into())],
            client_certificate: Some(ClientCertificate {
                chain: vec![vec![1]],
                private_key: b"key-secret".to_vec(),
            }),
            ..Default::default()
        };
        let shown = format!("{network:?}");
        for secret in ["urlsecret", "pw-secret", "hdr-secret", "key-secret", "107, 101, 121"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("X-Api-Key"));
    }
}
