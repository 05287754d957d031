//! [`NetworkOptions`]: the core's [`tether_core::NetworkConfig`] (transports, proxy, handshake
//! headers, cookies, TLS pinning, client certificate, the platform's verifier) as a record whose
//! defaults are the core's, held in `ClientConfig.network`.

use crate::error::TetherError;
use tether_core as core_api;

/// Which transports a client uses (seed 004's `transports`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Transports {
    /// One WebSocket (the default).
    WebSocket,
    /// Engine.IO HTTP long-polling only (Socket.IO only).
    Polling,
    /// Long-polling first, upgraded to a WebSocket when the server offers it (Socket.IO only).
    PollingThenUpgrade,
    /// WebSocket; long-polling after `after_failures` WebSocket failures in a row.
    WebSocketThenPolling {
        /// Consecutive failed WebSocket attempts before falling back, at least 1.
        after_failures: u32,
    },
}

/// Which transport a connection runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum TransportKind {
    /// A WebSocket.
    WebSocket,
    /// Engine.IO HTTP long-polling.
    Polling,
}

/// An HTTP proxy reached with `CONNECT`.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ProxyOptions {
    /// `http://host:port` or `https://host:port`.
    pub url: String,
    /// Basic auth user name. Default none.
    #[uniffi(default = None)]
    pub username: Option<String>,
    /// Basic auth password. Default none.
    #[uniffi(default = None)]
    pub password: Option<String>,
}

/// One extra handshake header.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpHeader {
    /// The header name.
    pub name: String,
    /// Its value (never logged).
    pub value: String,
}

/// A client certificate for mutual TLS.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ClientCertificate {
    /// The chain, leaf first, each DER.
    pub chain: Vec<Vec<u8>>,
    /// The leaf's private key, DER (PKCS#8, PKCS#1 or SEC1).
    pub private_key: Vec<u8>,
}

/// How the client reaches the server beyond its URL. Defaults are the core's.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct NetworkOptions {
    /// Which transports. `None`: WebSocket only.
    #[uniffi(default = None)]
    pub transports: Option<Transports>,
    /// An explicit proxy for every connection. Default none.
    #[uniffi(default = None)]
    pub proxy: Option<ProxyOptions>,
    /// Without `proxy`, honour `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY`/`NO_PROXY` (desktop only).
    /// Default true.
    #[uniffi(default = true)]
    pub proxy_from_environment: bool,
    /// Extra headers on every handshake request. Default none.
    #[uniffi(default = [])]
    pub headers: Vec<HttpHeader>,
    /// Keep cookies set by the server and send them back (sticky sessions). Default true.
    #[uniffi(default = true)]
    pub cookies: bool,
    /// Verify servers with the platform's verifier (Keychain, Android trust store). Default
    /// false. Android needs the verifier initialised first (kotlin/README.md).
    #[uniffi(default = false)]
    pub platform_verifier: bool,
    /// Pinned keys, `sha256/<base64 of the SubjectPublicKeyInfo's SHA-256>`. Default none.
    #[uniffi(default = [])]
    pub pinned_keys: Vec<String>,
    /// A certificate for servers that ask for one. Default none.
    #[uniffi(default = None)]
    pub client_certificate: Option<ClientCertificate>,
}

impl Default for NetworkOptions {
    fn default() -> Self {
        Self {
            transports: None,
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

impl TryFrom<NetworkOptions> for core_api::NetworkConfig {
    type Error = TetherError;

    /// Converts field by field; range checks are the core's `validate`.
    fn try_from(n: NetworkOptions) -> Result<Self, TetherError> {
        Ok(Self {
            transports: n.transports.map(Into::into).unwrap_or_default(),
            proxy: n.proxy.map(|p| core_api::ProxyConfig {
                url: p.url,
                username: p.username,
                password: p.password,
            }),
            proxy_from_environment: n.proxy_from_environment,
            headers: n.headers.into_iter().map(|h| (h.name, h.value)).collect(),
            cookies: n.cookies,
            platform_verifier: n.platform_verifier,
            pinned_keys: n.pinned_keys,
            client_certificate: n.client_certificate.map(|c| core_api::ClientCertificate {
                chain: c.chain,
                private_key: c.private_key,
            }),
        })
    }
}

impl From<Transports> for core_api::Transports {
    fn from(t: Transports) -> Self {
        match t {
            Transports::WebSocket => Self::WebSocket,
            Transports::Polling => Self::Polling,
            Transports::PollingThenUpgrade => Self::PollingThenUpgrade,
            Transports::WebSocketThenPolling { after_failures } => {
                Self::WebSocketThenPolling { after_failures }
            }
        }
    }
}

impl From<core_api::TransportKind> for TransportKind {
    fn from(k: core_api::TransportKind) -> Self {
        match k {
            core_api::TransportKind::WebSocket => Self::WebSocket,
            core_api::TransportKind::Polling => Self::Polling,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_defaults_are_the_core_defaults() {
        assert_eq!(
            core_api::NetworkConfig::try_from(NetworkOptions::default()),
            Ok(core_api::NetworkConfig::default())
        );
    }

    #[test]
    fn every_field_reaches_the_core_config() {
        let options = NetworkOptions {
            transports: Some(Transports::WebSocketThenPolling { after_failures: 3 }),
            proxy: Some(ProxyOptions {
                url: "http://p:1".into(),
                username: Some("u".into()),
                password: Some("pw".into()),
            }),
            proxy_from_environment: false,
            headers: vec![HttpHeader { name: "X-A".into(), value: "b".into() }],
            cookies: false,
            platform_verifier: true,
            pinned_keys: vec!["sha256/x".into()],
            client_certificate: Some(ClientCertificate {
                chain: vec![vec![1]],
                private_key: vec![2],
            }),
        };
        let core = core_api::NetworkConfig::try_from(options).unwrap_or_default();
        assert_eq!(
            core.transports,
            core_api::Transports::WebSocketThenPolling { after_failures: 3 }
        );
        assert_eq!(
            core.proxy,
            Some(core_api::ProxyConfig::new("http://p:1").with_basic_auth("u", "pw"))
        );
        assert!(!core.proxy_from_environment && !core.cookies && core.platform_verifier);
        assert_eq!(core.headers, vec![("X-A".to_owned(), "b".to_owned())]);
        assert_eq!(core.pinned_keys, vec!["sha256/x".to_owned()]);
        assert_eq!(
            core.client_certificate,
            Some(core_api::ClientCertificate { chain: vec![vec![1]], private_key: vec![2] })
        );
    }
}
