//! The client's cookie jar: cookies the server (or the load balancer in front of it) sets on
//! handshake responses are kept and sent back on later requests, so a load balancer with
//! cookie-based stickiness keeps every polling request of a session on one node. One jar per
//! client, shared by its connections and kept across reconnects; RFC 6265's matching (host-only
//! or domain cookies, path prefix, `Secure`, `Max-Age`/`Expires`), bounded in size.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

/// Cookies kept per client; beyond this the oldest go.
const MAX_COOKIES: usize = 64;
/// A longer cookie is ignored (browsers keep 4 KiB per cookie).
const MAX_COOKIE_BYTES: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Stored {
    name: String,
    value: String,
    /// The host that set it, or the domain it named.
    domain: String,
    host_only: bool,
    path: String,
    secure: bool,
    expires: Option<SystemTime>,
}

/// A shared, bounded cookie jar (cheap to clone: the clones share the cookies).
#[derive(Debug, Clone, Default)]
pub(crate) struct CookieJar(Arc<Mutex<Vec<Stored>>>);

/// Where a request goes, as far as cookies care.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Origin<'a> {
    pub(crate) host: &'a str,
    pub(crate) path: &'a str,
    pub(crate) secure: bool,
}

impl CookieJar {
    /// Keeps the cookies of `Set-Cookie` header values received from `origin`.
    pub(crate) fn store<'a>(&self, origin: Origin<'_>, set_cookies: impl Iterator<Item = &'a str>) {
        let now = SystemTime::now();
        let mut jar = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        for header in set_cookies {
            if header.len() > MAX_COOKIE_BYTES {
                continue;
            }
            let Ok(parsed) = cookie::Cookie::parse(header) else { continue };
            let host = origin.host.to_ascii_lowercase();
            let (domain, host_only) = match parsed.domain().map(|d| d.trim_start_matches('.')) {
                Some(domain) if !domain.is_empty() => {
                    let domain = domain.to_ascii_lowercase();
                    // A server may only set cookies for its own domain.
                    if !domain_matches(&host, &domain) {
                        continue;
                    }
                    (domain, false)
                }
                _ => (host, true),
            };
            let path = match parsed.path() {
                Some(path) if path.starts_with('/') => path.to_owned(),
                _ => default_path(origin.path),
            };
            let expires = match (parsed.max_age(), parsed.expires_datetime()) {
                (Some(age), _) => {
                    Some(now + Duration::from_secs(u64::try_from(age.whole_seconds()).unwrap_or(0)))
                }
                (None, Some(at)) => Some(
                    SystemTime::UNIX_EPOCH
                        + Duration::from_secs(u64::try_from(at.unix_timestamp()).unwrap_or(0)),
                ),
                (None, None) => None,
            };
            let stored = Stored {
                name: parsed.name().to_owned(),
                value: parsed.value().to_owned(),
                domain,
                host_only,
                path,
                secure: parsed.secure().unwrap_or(false),
                expires,
            };
            jar.retain(|c| {
                !(c.name == stored.name && c.domain == stored.domain && c.path == stored.path)
            });
            // An expiry in the past is how a server deletes a cookie.
            if stored.expires.is_none_or(|at| at > now) {
                jar.push(stored);
            }
            if jar.len() > MAX_COOKIES {
                jar.remove(0);
            }
        }
    }

    /// The `Cookie` header value for a request to `origin`, if any cookie applies.
    pub(crate) fn header(&self, origin: Origin<'_>) -> Option<String> {
        let now = SystemTime::now();
        let host = origin.host.to_ascii_lowercase();
        let mut jar = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        jar.retain(|c| c.expires.is_none_or(|at| at > now));
        let pairs: Vec<String> = jar
            .iter()
            .filter(|c| {
                let domain_ok =
                    if c.host_only { host == c.domain } else { domain_matches(&host, &c.domain) };
                domain_ok && path_matches(origin.path, &c.path) && (origin.secure || !c.secure)
            })
            .map(|c| format!("{}={}", c.name, c.value))
            .collect();
        (!pairs.is_empty()).then(|| pairs.join("; "))
    }
}

fn domain_matches(host: &str, domain: &str) -> bool {
    host == domain || (host.ends_with(domain) && host[..host.len() - domain.len()].ends_with('.'))
}

fn path_matches(request: &str, cookie: &str) -> bool {
    request == cookie
        || (request.starts_with(cookie)
            && (cookie.ends_with('/') || request[cookie.len()..].starts_with('/')))
}

/// RFC 6265 5.1.4: the request path up to (not including) its last `/`, or `/`.
fn default_path(request: &str) -> String {
    match request.rfind('/') {
        Some(0) | None => "/".to_owned(),
        Some(i) => request[..i].to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(host: &str, path: &str) -> Origin<'static> {
        let host: &'static str = Box::leak(host.to_owned().into_boxed_str());
        let path: &'static str = Box::leak(path.to_owned().into_boxed_str());
        Origin { host, path, secure: false }
    }

    #[test]
    fn a_sticky_session_cookie_comes_back_on_later_requests() {
        let jar = CookieJar::default();
        assert_eq!(jar.header(at("lb.example", "/socket.io/")), None);
        jar.store(at("lb.example", "/socket.io/"), ["SERVERID=node2; path=/"].into_iter());
        jar.store(at("lb.example", "/socket.io/"), ["io=abc; Path=/; HttpOnly"].into_iter());
        assert_eq!(
            jar.header(at("lb.example", "/socket.io/")).as_deref(),
            Some("SERVERID=node2; io=abc")
        );
        jar.store(at("lb.example", "/socket.io/"), ["SERVERID=node1; path=/"].into_iter());
        assert_eq!(
            jar.header(at("lb.example", "/socket.io/")).as_deref(),
            Some("io=abc; SERVERID=node1"),
            "a new value replaces the old"
        );
        assert_eq!(jar.header(at("other.example", "/socket.io/")), None, "host-only");
    }

    #[test]
    fn domain_path_secure_and_expiry_are_honoured() {
        let jar = CookieJar::default();
        jar.store(
            at("a.corp.example", "/x/y"),
            [
                "d=1; Domain=corp.example; Path=/",
                "evil=1; Domain=bank.example",
                "p=1; Path=/only",
                "s=1; Secure",
                "gone=1; Max-Age=0",
                "old=1; Expires=Wed, 21 Oct 2015 07:28:00 GMT",
            ]
            .into_iter(),
        );
        assert_eq!(jar.header(at("b.corp.example", "/")).as_deref(), Some("d=1"));
        assert_eq!(jar.header(at("a.corp.example", "/only/here")).as_deref(), Some("d=1; p=1"));
        assert_eq!(jar.header(at("a.corp.example", "/onlyx")).as_deref(), Some("d=1"));
        let secure = Origin { secure: true, ..at("a.corp.example", "/x/z") };
        assert_eq!(jar.header(secure).as_deref(), Some("d=1; s=1"), "s has the default path /x");
        assert_eq!(
            jar.header(Origin { secure: true, ..at("a.corp.example", "/") }).as_deref(),
            Some("d=1")
        );
        jar.store(
            at("a.corp.example", "/"),
            ["d=2; Domain=corp.example; Path=/; Max-Age=0"].into_iter(),
        );
        assert_eq!(jar.header(at("b.corp.example", "/")), None, "deleted by the server");
    }

    #[test]
    fn the_jar_stays_bounded() {
        let jar = CookieJar::default();
        for i in 0..200 {
            jar.store(at("h", "/"), [format!("c{i}=v").as_str()].into_iter());
        }
        let header = jar.header(at("h", "/")).unwrap_or_default();
        assert_eq!(header.split("; ").count(), MAX_COOKIES);
        assert!(header.contains("c199=v") && !header.contains("c0=v"));
    }
}
