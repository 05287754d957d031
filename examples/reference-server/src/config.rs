//! Server configuration: one struct, one constructor stating every default, one validation.

use std::collections::BTreeSet;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

/// Everything [`crate::start`] needs to run a server.
///
/// Build it with [`ServerConfig::new`], which states every default, then change the public fields
/// or use the `with_*` setters. [`ServerConfig::validate`] (called by [`crate::start`]) rejects
/// values that cannot work, instead of panicking later.
///
/// ```
/// use tether_reference_server::ServerConfig;
/// let config = ServerConfig::new("a-long-test-secret").with_max_payload_bytes(16 * 1024);
/// assert!(config.validate().is_ok());
/// ```
#[derive(Clone)]
pub struct ServerConfig {
    /// Address to listen on. Default `127.0.0.1:0` (a free loopback port; read it back with
    /// [`crate::RunningServer::addr`]).
    pub bind: SocketAddr,
    /// HS256 secret that signs the clients' JWTs. Required, at least [`MIN_SECRET_LEN`] bytes.
    pub jwt_secret: String,
    /// Largest accepted event payload in bytes (the whole Socket.IO packet data, event name
    /// included). Larger events get a `too_large` error ack. Default 64 KiB.
    pub max_payload_bytes: usize,
    /// Server-side rate limits per user and event class.
    pub rate_limits: RateLimits,
    /// Room ids clients may join. `None` (the default) means any well-formed id; with a list,
    /// other ids get `unknown_room`.
    pub known_rooms: Option<BTreeSet<String>>,
    /// Engine.IO ping interval. Default 25 s (Socket.IO's default).
    pub ping_interval: Duration,
    /// Engine.IO ping timeout. Default 20 s (Socket.IO's default).
    pub ping_timeout: Duration,
    /// Redis URL (`redis://host:port`) to run as one node of several through the socketioxide
    /// Redis adapter, with rooms, presence and pricing shared through Redis. Default `None`:
    /// a single node with in-memory state.
    pub redis_url: Option<String>,
}

/// The shortest accepted JWT secret, in bytes.
pub const MIN_SECRET_LEN: usize = 16;

/// The largest accepted `max_payload_bytes` (16 MiB): beyond this, payload limits stop
/// protecting the server.
pub const MAX_PAYLOAD_CEILING: usize = 16 * 1024 * 1024;

impl ServerConfig {
    /// A configuration with every default and the given JWT secret.
    ///
    /// | field | default |
    /// |---|---|
    /// | `bind` | `127.0.0.1:0` |
    /// | `max_payload_bytes` | 65 536 bytes |
    /// | `rate_limits` | [`RateLimits::default`]: cursor 30/s, typing 10/s, focus 10/s, presence 10/s, pricing 20/s, rooms 10/s |
    /// | `known_rooms` | `None` (any room id) |
    /// | `ping_interval` | 25 s |
    /// | `ping_timeout` | 20 s |
    /// | `redis_url` | `None` |
    pub fn new(jwt_secret: impl Into<String>) -> Self {
        Self {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            jwt_secret: jwt_secret.into(),
            max_payload_bytes: 64 * 1024,
            rate_limits: RateLimits::default(),
            known_rooms: None,
            ping_interval: Duration::from_secs(25),
            ping_timeout: Duration::from_secs(20),
            redis_url: None,
        }
    }

    /// Sets the listen address.
    ///
    /// ```
    /// # use tether_reference_server::ServerConfig;
    /// let config = ServerConfig::new("a-long-test-secret").with_bind("0.0.0.0:3001".parse().unwrap());
    /// ```
    pub fn with_bind(mut self, bind: SocketAddr) -> Self {
        self.bind = bind;
        self
    }

    /// Sets the largest accepted event payload in bytes.
    ///
    /// ```
    /// # use tether_reference_server::ServerConfig;
    /// let config = ServerConfig::new("a-long-test-secret").with_max_payload_bytes(1024);
    /// ```
    pub fn with_max_payload_bytes(mut self, bytes: usize) -> Self {
        self.max_payload_bytes = bytes;
        self
    }

    /// Sets the rate limits.
    ///
    /// ```
    /// # use tether_reference_server::{RateLimits, ServerConfig, Rate};
    /// let limits = RateLimits { pricing: Rate::per_second(2), ..RateLimits::default() };
    /// let config = ServerConfig::new("a-long-test-secret").with_rate_limits(limits);
    /// ```
    pub fn with_rate_limits(mut self, rate_limits: RateLimits) -> Self {
        self.rate_limits = rate_limits;
        self
    }

    /// Restricts the joinable rooms to this list.
    ///
    /// ```
    /// # use tether_reference_server::ServerConfig;
    /// let config = ServerConfig::new("a-long-test-secret").with_known_rooms(["estimate-1", "estimate-2"]);
    /// ```
    pub fn with_known_rooms<I, S>(mut self, rooms: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.known_rooms = Some(rooms.into_iter().map(Into::into).collect());
        self
    }

    /// Sets the Engine.IO heartbeat: ping every `interval`, close after `timeout` without pong.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use tether_reference_server::ServerConfig;
    /// let config = ServerConfig::new("a-long-test-secret")
    ///     .with_heartbeat(Duration::from_millis(500), Duration::from_millis(500));
    /// ```
    pub fn with_heartbeat(mut self, interval: Duration, timeout: Duration) -> Self {
        self.ping_interval = interval;
        self.ping_timeout = timeout;
        self
    }

    /// Runs as one node of several, sharing state through Redis at `url`.
    ///
    /// ```
    /// # use tether_reference_server::ServerConfig;
    /// let config = ServerConfig::new("a-long-test-secret").with_redis_url("redis://127.0.0.1:6379");
    /// ```
    pub fn with_redis_url(mut self, url: impl Into<String>) -> Self {
        self.redis_url = Some(url.into());
        self
    }

    /// Checks that the configuration can work; the first problem found is returned.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.jwt_secret.len() < MIN_SECRET_LEN {
            return Err(ConfigError::SecretTooShort { len: self.jwt_secret.len() });
        }
        if self.max_payload_bytes < 64 || self.max_payload_bytes > MAX_PAYLOAD_CEILING {
            return Err(ConfigError::PayloadLimit { bytes: self.max_payload_bytes });
        }
        self.rate_limits.validate()?;
        if let Some(rooms) = &self.known_rooms {
            if let Some(bad) = rooms.iter().find(|room| crate::protocol::check_id(room).is_err()) {
                return Err(ConfigError::BadRoomId { room: bad.clone() });
            }
        }
        if self.ping_interval.is_zero() || self.ping_timeout.is_zero() {
            return Err(ConfigError::Heartbeat);
        }
        if let Some(url) = &self.redis_url {
            if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
                return Err(ConfigError::RedisUrl { url: url.clone() });
            }
        }
        Ok(())
    }

    /// The Engine.IO frame limit: well above `max_payload_bytes`, so that an oversized event
    /// reaches the handlers and gets a `too_large` ack instead of closing the connection.
    pub(crate) fn transport_limit_bytes(&self) -> usize {
        self.max_payload_bytes.saturating_mul(16).max(1024 * 1024)
    }
}

impl fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The secret stays out of logs.
        f.debug_struct("ServerConfig")
            .field("bind", &self.bind)
            .field("jwt_secret", &"<redacted>")
            .field("max_payload_bytes", &self.max_payload_bytes)
            .field("rate_limits", &self.rate_limits)
            .field("known_rooms", &self.known_rooms)
            .field("ping_interval", &self.ping_interval)
            .field("ping_timeout", &self.ping_timeout)
            .field("redis_url", &self.redis_url)
            .finish()
    }
}

/// A token-bucket rate: `per_second` tokens refill each second, up to `burst` saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Sustained events per second.
    pub per_second: u32,
    /// Events that may arrive at once after a quiet period.
    pub burst: u32,
}

impl Rate {
    /// `n` events per second with a burst of `n`.
    ///
    /// ```
    /// # use tether_reference_server::Rate;
    /// assert_eq!(Rate::per_second(30).burst, 30);
    /// ```
    pub const fn per_second(n: u32) -> Self {
        Self { per_second: n, burst: n }
    }
}

/// Per-user rate limits, one [`Rate`] per event class (PROTOCOL.md, "Rate limits").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// `cursor-move`. Default 30/s.
    pub cursor: Rate,
    /// `typing-start`, `typing-stop`. Default 10/s.
    pub typing: Rate,
    /// `field-focus`, `field-blur`. Default 10/s.
    pub focus: Rate,
    /// `presence-update`. Default 10/s.
    pub presence: Rate,
    /// `pricing-update`. Default 20/s.
    pub pricing: Rate,
    /// `join-room`, `leave-room`, `room-state`. Default 10/s.
    pub rooms: Rate,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            cursor: Rate::per_second(30),
            typing: Rate::per_second(10),
            focus: Rate::per_second(10),
            presence: Rate::per_second(10),
            pricing: Rate::per_second(20),
            rooms: Rate::per_second(10),
        }
    }
}

impl RateLimits {
    fn validate(&self) -> Result<(), ConfigError> {
        let all = [
            ("cursor", self.cursor),
            ("typing", self.typing),
            ("focus", self.focus),
            ("presence", self.presence),
            ("pricing", self.pricing),
            ("rooms", self.rooms),
        ];
        match all.iter().find(|(_, rate)| rate.per_second == 0 || rate.burst == 0) {
            Some((class, _)) => Err(ConfigError::ZeroRate { class }),
            None => Ok(()),
        }
    }
}

/// Why a [`ServerConfig`] was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The JWT secret is shorter than [`MIN_SECRET_LEN`].
    #[error("jwt_secret is {len} bytes; at least {MIN_SECRET_LEN} are required")]
    SecretTooShort {
        /// Length of the rejected secret.
        len: usize,
    },
    /// `max_payload_bytes` is outside 64 B ..= [`MAX_PAYLOAD_CEILING`].
    #[error("max_payload_bytes {bytes} is outside 64..={MAX_PAYLOAD_CEILING}")]
    PayloadLimit {
        /// The rejected limit.
        bytes: usize,
    },
    /// A rate limit of zero would refuse every event of its class.
    #[error("the {class} rate limit must be at least 1 per second with a burst of at least 1")]
    ZeroRate {
        /// The event class (`cursor`, `typing`, ...).
        class: &'static str,
    },
    /// A `known_rooms` entry is not a valid room id.
    #[error("known room {room:?} is not a valid room id (1..=128 bytes, no control characters)")]
    BadRoomId {
        /// The rejected id.
        room: String,
    },
    /// A zero heartbeat interval or timeout.
    #[error("ping_interval and ping_timeout must be non-zero")]
    Heartbeat,
    /// The Redis URL does not start with `redis://` or `rediss://`.
    #[error("redis url {url:?} must start with redis:// or rediss://")]
    RedisUrl {
        /// The rejected URL.
        url: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_documented() {
        let config = ServerConfig::new("0123456789abcdef");
        assert_eq!(config.validate(), Ok(()));
        assert_eq!(config.bind.port(), 0);
        assert_eq!(config.max_payload_bytes, 65_536);
        assert_eq!(config.rate_limits.cursor, Rate::per_second(30));
        assert_eq!(config.rate_limits.pricing, Rate::per_second(20));
    }

    #[test]
    fn short_secret_is_rejected() {
        let err = ServerConfig::new("short").validate();
        assert_eq!(err, Err(ConfigError::SecretTooShort { len: 5 }));
    }

    #[test]
    fn zero_rate_is_rejected_with_its_class() {
        let limits = RateLimits { typing: Rate::per_second(0), ..RateLimits::default() };
        let err = ServerConfig::new("0123456789abcdef").with_rate_limits(limits).validate();
        assert_eq!(err, Err(ConfigError::ZeroRate { class: "typing" }));
    }

    #[test]
    fn payload_limit_bounds_are_checked() {
        let small = ServerConfig::new("0123456789abcdef").with_max_payload_bytes(10);
        assert!(matches!(small.validate(), Err(ConfigError::PayloadLimit { bytes: 10 })));
        let huge = ServerConfig::new("0123456789abcdef").with_max_payload_bytes(usize::MAX);
        assert!(huge.validate().is_err());
    }

    #[test]
    fn bad_known_room_and_redis_url_are_rejected() {
        let rooms = ServerConfig::new("0123456789abcdef").with_known_rooms([""]);
        assert!(matches!(rooms.validate(), Err(ConfigError::BadRoomId { .. })));
        let redis = ServerConfig::new("0123456789abcdef").with_redis_url("localhost:6379");
        assert!(matches!(redis.validate(), Err(ConfigError::RedisUrl { .. })));
    }

    #[test]
    fn debug_output_hides_the_secret() {
        let text = format!("{:?}", ServerConfig::new("0123456789abcdef"));
        assert!(!text.contains("0123456789abcdef"));
    }
}
