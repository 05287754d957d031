//! Where a connection goes: host, port, and whether it speaks TLS, read from a URL.

use crate::model::TransportError;

/// Where to connect: host (without IPv6 brackets), port, and whether to speak TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) tls: bool,
}

impl Endpoint {
    /// The endpoint of a `ws`, `wss`, `http` or `https` URL.
    pub(crate) fn of(url: &url::Url) -> Result<Self, TransportError> {
        let tls = matches!(url.scheme(), "wss" | "https");
        let host = url
            .host_str()
            .ok_or_else(|| TransportError::InvalidUrl(format!("{url} has no host")))?;
        // An IPv6 literal comes bracketed in the URL, and without brackets as an address.
        let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
        let port = url.port().unwrap_or(if tls { 443 } else { 80 });
        Ok(Self { host: host.to_owned(), port, tls })
    }

    /// `host:port` as a request target (IPv6 bracketed again).
    pub(crate) fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}
