//! Validation of a [`Config`]: every value checked, the error naming the first bad field, never a
//! panic. URLs are parsed here too.

use super::backoff::BackoffPolicy;
use super::client_config::{Config, MAX_DURATION};
use crate::model::ConfigError;
use std::time::Duration;
use url::Url;

impl Config {
    /// The URLs, parsed and mapped to `ws`/`wss`.
    pub fn parsed_urls(&self) -> Result<Vec<Url>, ConfigError> {
        if self.urls.is_empty() {
            return Err(ConfigError::new("urls", "at least one server URL is needed"));
        }
        let mut urls: Vec<Url> =
            self.urls.iter().map(|u| parse_url(u)).collect::<Result<_, _>>()?;
        // A session keeps these for its life; collecting through `Result` starts at four slots.
        urls.shrink_to_fit();
        Ok(urls)
    }

    /// Checks every value; the error names the first bad field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.parsed_urls()?;
        let b = &self.backoff;
        check_backoff(
            b,
            ["backoff.min_delay", "backoff.max_delay", "backoff.factor", "backoff.max_attempts"],
        )?;
        check_backoff(
            &self.rejoin_backoff,
            [
                "rejoin_backoff.min_delay",
                "rejoin_backoff.max_delay",
                "rejoin_backoff.factor",
                "rejoin_backoff.max_attempts",
            ],
        )?;
        if self.failover_after == 0 {
            return Err(ConfigError::new("failover_after", "must be at least 1"));
        }
        positive("connect_timeout", self.connect_timeout)?;
        positive("heartbeat_interval", self.heartbeat_interval)?;
        positive("heartbeat_timeout", self.heartbeat_timeout)?;
        positive("probe_timeout", self.probe_timeout)?;
        positive("ack_timeout", self.ack_timeout)?;
        positive("offline_retry_interval", self.offline_retry_interval)?;
        if let Some(ttl) = self.outbox_ttl {
            positive("outbox_ttl", ttl)?;
        }
        if self.durable_outbox.as_ref().is_some_and(|p| p.as_os_str().is_empty()) {
            return Err(ConfigError::new("durable_outbox", "must be a file path (None for none)"));
        }
        at_least("latency_window", self.latency_window, 1)?;
        at_least("max_pending_acks", self.max_pending_acks, 1)?;
        at_least("max_message_bytes", self.max_message_bytes, 1)?;
        at_least("max_frame_bytes", self.max_frame_bytes, 1)?;
        at_least("read_buffer_bytes", self.read_buffer_bytes, 256)?;
        at_least("write_buffer_bytes", self.write_buffer_bytes, 256)?;
        self.stream_buffer.validate()?;
        if self.dedup_field.is_some() {
            at_least("dedup_window", self.dedup_window, 1)?;
        }
        let h = &self.health;
        if h.unhealthy_rtt < h.degraded_rtt {
            return Err(ConfigError::new(
                "health.unhealthy_rtt",
                "must not be below health.degraded_rtt",
            ));
        }
        if h.unhealthy_missed_heartbeats < h.degraded_missed_heartbeats {
            return Err(ConfigError::new(
                "health.unhealthy_missed_heartbeats",
                "must not be below health.degraded_missed_heartbeats",
            ));
        }
        if h.unhealthy_errors < h.degraded_errors {
            return Err(ConfigError::new(
                "health.unhealthy_errors",
                "must not be below health.degraded_errors",
            ));
        }
        positive("health.error_window", h.error_window)?;
        let durations = [
            ("backoff.max_delay", b.max_delay),
            ("rejoin_backoff.max_delay", self.rejoin_backoff.max_delay),
            ("backoff_reset_after", self.backoff_reset_after),
            ("connect_timeout", self.connect_timeout),
            ("heartbeat_interval", self.heartbeat_interval),
            ("heartbeat_timeout", self.heartbeat_timeout),
            ("probe_timeout", self.probe_timeout),
            ("ack_timeout", self.ack_timeout),
            ("offline_retry_interval", self.offline_retry_interval),
            ("outbox_ttl", self.outbox_ttl.unwrap_or_default()),
            ("health.error_window", h.error_window),
        ];
        if let Some((field, _)) = durations.iter().find(|(_, d)| *d > MAX_DURATION) {
            return Err(ConfigError::new(field, "must be at most a year (config::MAX_DURATION)"));
        }
        self.protocol.validate()?;
        let polling_allowed = matches!(self.protocol, crate::protocol::ProtocolConfig::SocketIo(_));
        self.network.validate(polling_allowed)?;
        Ok(())
    }
}

/// A backoff policy's bounds; `names` are its fields' names for the error, in the order
/// min_delay, max_delay, factor, max_attempts.
fn check_backoff(b: &BackoffPolicy, names: [&'static str; 4]) -> Result<(), ConfigError> {
    let [min_delay, max_delay, factor, max_attempts] = names;
    positive(min_delay, b.min_delay)?;
    if b.max_delay < b.min_delay {
        return Err(ConfigError::new(max_delay, "must not be below the minimum delay"));
    }
    if !b.factor.is_finite() || b.factor < 1.0 {
        return Err(ConfigError::new(
            factor,
            format!("must be a finite number >= 1, got {}", b.factor),
        ));
    }
    if b.max_attempts == Some(0) {
        return Err(ConfigError::new(max_attempts, "must be at least 1 (or None for unlimited)"));
    }
    Ok(())
}

fn positive(field: &'static str, value: Duration) -> Result<(), ConfigError> {
    if value.is_zero() {
        return Err(ConfigError::new(field, "must be greater than zero"));
    }
    Ok(())
}

fn at_least(field: &'static str, value: usize, min: usize) -> Result<(), ConfigError> {
    if value < min {
        return Err(ConfigError::new(field, format!("must be at least {min}, got {value}")));
    }
    Ok(())
}

fn parse_url(raw: &str) -> Result<Url, ConfigError> {
    let mut url = Url::parse(raw)
        .map_err(|e| ConfigError::new("urls", format!("{raw:?} is not a URL: {e}")))?;
    let scheme = match url.scheme() {
        "ws" | "http" => "ws",
        "wss" | "https" => "wss",
        other => {
            return Err(ConfigError::new(
                "urls",
                format!("{raw:?}: scheme {other:?} is not ws, wss, http or https"),
            ))
        }
    };
    if url.host_str().is_none_or(str::is_empty) {
        return Err(ConfigError::new("urls", format!("{raw:?} has no host")));
    }
    url.set_scheme(scheme)
        .map_err(|()| ConfigError::new("urls", format!("{raw:?}: cannot use scheme {scheme}")))?;
    Ok(url)
}

#[cfg(test)]
mod tests;
