//! HTTP proxies: which one a connection goes through (the config's, or on desktop the usual
//! environment variables with `NO_PROXY`), and the `CONNECT` tunnel through it, with basic
//! auth. Both transports tunnel (a WebSocket and long-polling alike), so the proxy sees only
//! the target's host and port, and TLS stays end to end.

use super::endpoint::Endpoint;
use crate::config::{NetworkConfig, ProxyConfig};
use crate::model::TransportError;
use base64::Engine as _;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tracing::warn;

/// Longest proxy response head read before giving up on it.
const MAX_HEAD: usize = 8 * 1024;

/// A proxy to tunnel through.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Proxy {
    pub(crate) endpoint: Endpoint,
    credentials: Option<(String, String)>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown())
    }
}

impl Proxy {
    /// The proxy as a URL without credentials, for errors and logs.
    pub(crate) fn shown(&self) -> String {
        let scheme = if self.endpoint.tls { "https" } else { "http" };
        format!("proxy {scheme}://{}", self.endpoint.authority())
    }

    fn parse(raw: &str, username: Option<&str>, password: Option<&str>) -> Result<Self, String> {
        // Environment variables often leave the scheme out (`proxy.corp:3128`).
        let with_scheme =
            if raw.contains("://") { raw.to_owned() } else { format!("http://{raw}") };
        let url = url::Url::parse(&with_scheme).map_err(|e| format!("not a URL: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("scheme {} is not http or https", url.scheme()));
        }
        let mut endpoint = Endpoint::of(&url).map_err(|e| e.to_string())?;
        endpoint.port = url.port().unwrap_or(if endpoint.tls { 443 } else { 80 });
        let credentials = match (username, url.username()) {
            (Some(user), _) => Some((user.to_owned(), password.unwrap_or_default().to_owned())),
            (None, "") => None,
            (None, user) => {
                Some((percent_decode(user), percent_decode(url.password().unwrap_or_default())))
            }
        };
        Ok(Self { endpoint, credentials })
    }
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Which proxy each connection takes: the config's for all, else the environment's by scheme,
/// except for the hosts `NO_PROXY` names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ProxyRules {
    explicit: Option<Proxy>,
    https: Option<Proxy>,
    http: Option<Proxy>,
    no_proxy: Vec<String>,
}

impl ProxyRules {
    /// The rules of a config; on desktop the process environment fills in when the config
    /// names no proxy (and allows it).
    pub(crate) fn from_config(network: &NetworkConfig) -> Result<Self, TransportError> {
        if let Some(ProxyConfig { url, username, password }) = &network.proxy {
            let proxy = Proxy::parse(url, username.as_deref(), password.as_deref())
                .map_err(|e| TransportError::InvalidUrl(format!("network.proxy: {e}")))?;
            return Ok(Self { explicit: Some(proxy), ..Self::default() });
        }
        if network.proxy_from_environment
            && cfg!(not(any(target_os = "ios", target_os = "android")))
        {
            return Ok(Self::from_environment(|name| std::env::var(name).ok()));
        }
        Ok(Self::default())
    }

    /// The rules the environment gives (`lookup` reads a variable): `HTTPS_PROXY` for TLS
    /// targets, `HTTP_PROXY` for the others, `ALL_PROXY` for either when those are unset,
    /// `NO_PROXY` for exceptions. Upper case first, then lower case. A value that is not an
    /// http(s) proxy (a SOCKS proxy) is ignored with a warning.
    pub(crate) fn from_environment(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let var = |name: &str| {
            lookup(name)
                .or_else(|| lookup(&name.to_ascii_lowercase()))
                .filter(|v| !v.trim().is_empty())
        };
        let proxy = |name: &str| {
            var(name).and_then(|raw| match Proxy::parse(raw.trim(), None, None) {
                Ok(proxy) => Some(proxy),
                Err(why) => {
                    warn!(variable = name, %why, "ignoring the proxy environment variable");
                    None
                }
            })
        };
        let all = proxy("ALL_PROXY");
        let no_proxy = var("NO_PROXY")
            .map(|list| {
                list.split(',')
                    .map(|entry| entry.trim().to_ascii_lowercase())
                    .filter(|entry| !entry.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        Self {
            explicit: None,
            https: proxy("HTTPS_PROXY").or_else(|| all.clone()),
            http: proxy("HTTP_PROXY").or(all),
            no_proxy,
        }
    }

    /// The proxy for a connection to `target`, if any.
    pub(crate) fn for_endpoint(&self, target: &Endpoint) -> Option<&Proxy> {
        if self.explicit.is_some() {
            return self.explicit.as_ref();
        }
        let proxy = if target.tls { self.https.as_ref() } else { self.http.as_ref() }?;
        (!self.bypassed(target)).then_some(proxy)
    }

    /// `NO_PROXY` (curl's rules): `*` for every host; `example.com` and `.example.com` for the
    /// domain and its subdomains; an entry with `:port` only for that port; IP addresses as
    /// written.
    fn bypassed(&self, target: &Endpoint) -> bool {
        let host = target.host.to_ascii_lowercase();
        self.no_proxy.iter().any(|entry| {
            if entry == "*" {
                return true;
            }
            let (name, port) = match entry.rsplit_once(':') {
                Some((name, port)) if !name.contains(':') || name.ends_with(']') => {
                    (name, port.parse::<u16>().ok())
                }
                _ => (entry.as_str(), None),
            };
            let name = name.trim_start_matches("*.").trim_start_matches('.');
            let name = name.trim_start_matches('[').trim_end_matches(']');
            let host_matches = host == name || host.ends_with(&format!(".{name}"));
            host_matches && port.is_none_or(|p| p == target.port)
        })
    }
}

/// Asks the proxy on `stream` for a tunnel to `target` and reads its answer up to the end of the
/// head, so that the next byte on the stream is the target's.
pub(crate) async fn connect_tunnel<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    proxy: &Proxy,
    target: &Endpoint,
) -> Result<(), TransportError> {
    let authority = target.authority();
    let mut request = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
    if let Some((user, password)) = &proxy.credentials {
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        request.push_str(&format!("Proxy-Authorization: Basic {basic}\r\n"));
    }
    request.push_str("\r\n");
    let io = |e: std::io::Error| TransportError::Proxy(format!("{}: {e}", proxy.shown()));
    stream.write_all(request.as_bytes()).await.map_err(io)?;
    stream.flush().await.map_err(io)?;
    // One byte at a time: the head is short, and nothing after it may be consumed here.
    let mut head = Vec::with_capacity(128);
    while !(head.ends_with(b"\r\n\r\n") || head.ends_with(b"\n\n")) {
        if head.len() >= MAX_HEAD {
            return Err(TransportError::Proxy(format!(
                "{}: response head too long",
                proxy.shown()
            )));
        }
        let byte = stream.read_u8().await.map_err(io)?;
        head.push(byte);
    }
    let status = std::str::from_utf8(&head)
        .ok()
        .and_then(|text| text.split_whitespace().nth(1))
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| TransportError::Proxy(format!("{}: not an HTTP answer", proxy.shown())))?;
    match status {
        200..=299 => Ok(()),
        407 => Err(TransportError::Proxy(format!(
            "{} wants credentials (HTTP 407): set them in network.proxy",
            proxy.shown()
        ))),
        other => Err(TransportError::Proxy(format!(
            "{} refused the tunnel to {authority} (HTTP {other})",
            proxy.shown()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn endpoint(host: &str, port: u16, tls: bool) -> Endpoint {
        Endpoint { host: host.to_owned(), port, tls }
    }

    fn rules(vars: &[(&str, &str)]) -> ProxyRules {
        let vars: HashMap<String, String> =
            vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        ProxyRules::from_environment(|name| vars.get(name).cloned())
    }

    fn via(rules: &ProxyRules, target: &Endpoint) -> Option<String> {
        rules.for_endpoint(target).map(Proxy::shown)
    }

    #[test]
    fn the_scheme_picks_the_variable_and_all_proxy_fills_in() {
        let r = rules(&[("HTTPS_PROXY", "http://secure:1"), ("http_proxy", "plain:2")]);
        assert_eq!(via(&r, &endpoint("h", 443, true)).as_deref(), Some("proxy http://secure:1"));
        assert_eq!(via(&r, &endpoint("h", 80, false)).as_deref(), Some("proxy http://plain:2"));
        let r = rules(&[("all_proxy", "https://every:3")]);
        assert_eq!(via(&r, &endpoint("h", 80, false)).as_deref(), Some("proxy https://every:3"));
        assert_eq!(via(&r, &endpoint("h", 443, true)).as_deref(), Some("proxy https://every:3"));
        assert_eq!(via(&rules(&[]), &endpoint("h", 80, false)), None);
    }

    #[test]
    fn upper_case_wins_and_socks_is_ignored() {
        let r = rules(&[("HTTP_PROXY", "http://upper:1"), ("http_proxy", "http://lower:2")]);
        assert_eq!(via(&r, &endpoint("h", 80, false)).as_deref(), Some("proxy http://upper:1"));
        let r = rules(&[("ALL_PROXY", "socks5://s:1080")]);
        assert_eq!(via(&r, &endpoint("h", 80, false)), None);
    }

    #[test]
    fn no_proxy_follows_curls_rules() {
        let r = rules(&[
            ("HTTP_PROXY", "http://p:1"),
            ("NO_PROXY", "internal.example, .corp.local,10.0.0.7, api.example:8443"),
        ]);
        for (host, port) in [
            ("internal.example", 80),
            ("a.internal.example", 80),
            ("x.corp.local", 80),
            ("corp.local", 80),
            ("10.0.0.7", 80),
            ("api.example", 8443),
        ] {
            assert_eq!(via(&r, &endpoint(host, port, false)), None, "{host}:{port} bypasses");
        }
        for (host, port) in [("notinternal.example", 80), ("api.example", 80), ("10.0.0.70", 80)] {
            assert!(via(&r, &endpoint(host, port, false)).is_some(), "{host}:{port} is proxied");
        }
        let all = rules(&[("HTTP_PROXY", "http://p:1"), ("no_proxy", "*")]);
        assert_eq!(via(&all, &endpoint("anything", 80, false)), None);
    }

    #[test]
    fn the_configured_proxy_takes_everything_and_keeps_its_credentials() {
        let network = NetworkConfig {
            proxy: Some(ProxyConfig::new("http://u%40x:p%3Aw@p:3128")),
            ..NetworkConfig::default()
        };
        let r = ProxyRules::from_config(&network).unwrap_or_default();
        let proxy = r.for_endpoint(&endpoint("h", 443, true)).cloned();
        assert_eq!(
            proxy.map(|p| p.credentials),
            Some(Some(("u@x".to_owned(), "p:w".to_owned()))),
            "credentials from the URL, percent-decoded"
        );
        assert!(!format!("{r:?}").contains("p:w"), "never shown");
        let disabled = NetworkConfig { proxy_from_environment: false, ..NetworkConfig::default() };
        assert_eq!(ProxyRules::from_config(&disabled), Ok(ProxyRules::default()));
    }
}
