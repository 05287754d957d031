//! Every knob of the collaboration helpers in one place, with its default and unit.

use super::events::CollabEvents;
use super::versioned::ConflictPolicy;
use crate::config::StreamBuffer;
use crate::model::ConfigError;
use std::time::Duration;

/// The longest any period may be: beyond this, deadline arithmetic on `Instant` could overflow,
/// and no collaborative editor needs to wait a day.
const MAX_PERIOD: Duration = Duration::from_secs(24 * 60 * 60);

/// Configuration of a [`crate::Collaboration`]. Start from `CollabConfig::default()`.
///
/// ```
/// use std::time::Duration;
/// use tether_core::{CollabConfig, CollabEvents};
/// let config = CollabConfig {
///     inactivity_timeout: Duration::from_secs(120),
///     events: CollabEvents::component_channels(),
///     ..CollabConfig::default()
/// };
/// assert!(config.validate().is_ok());
/// ```
#[derive(Debug, Clone)]
pub struct CollabConfig {
    /// Event names and payload shape. Default: seed 000's names ([`CollabEvents::default`]).
    pub events: CollabEvents,
    /// A member with no activity this long shows as idle. Default 60 s (seed 002).
    pub inactivity_timeout: Duration,
    /// At most one cursor position per room per this period. Default 50 ms (20 Hz, seed 002).
    pub cursor_interval: Duration,
    /// Typing stops by itself this long after the last `start_typing`. Default 3 s.
    pub typing_timeout: Duration,
    /// Focus and typing events allowed per second, together (the reference server allows 10
    /// per user). Default 8.
    pub field_events_per_second: u32,
    /// An optimistic update with no answer this long rolls back. Default 5 s (seed 000).
    pub optimistic_timeout: Duration,
    /// How versioned-field conflicts are resolved. Default last-write-wins.
    pub conflict_policy: ConflictPolicy,
    /// Times one versioned write is re-sent after conflicts before the server's value is kept.
    /// Default 3.
    pub max_conflict_retries: u32,
    /// The local user's id, when the app knows it: their own roster entry then stays active
    /// while they work (the server does not echo their events back). Default `None`.
    pub local_user_id: Option<String>,
    /// After a failed room snapshot request, ask again this much later (while connected).
    /// Default 2 s.
    pub snapshot_retry: Duration,
    /// The bounds of every collaboration stream (`Collaboration::events`, `outcomes`), each
    /// reader's queue on its own, and what a full one drops. Default 16,384 events or 16 MiB,
    /// dropping the oldest ([`StreamBuffer`]): the state watch has the rosters and fields as
    /// they are, so an old event is of little use to a reader that fell behind.
    pub stream_buffer: StreamBuffer,
}

impl Default for CollabConfig {
    fn default() -> Self {
        Self {
            events: CollabEvents::default(),
            inactivity_timeout: Duration::from_secs(60),
            cursor_interval: Duration::from_millis(50),
            typing_timeout: Duration::from_secs(3),
            field_events_per_second: 8,
            optimistic_timeout: Duration::from_secs(5),
            conflict_policy: ConflictPolicy::LastWriteWins,
            max_conflict_retries: 3,
            local_user_id: None,
            snapshot_retry: Duration::from_secs(2),
            stream_buffer: StreamBuffer::default(),
        }
    }
}

impl CollabConfig {
    /// Checks every value; the error names the field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.events.validate()?;
        for (field, value) in [
            ("inactivity_timeout", self.inactivity_timeout),
            ("cursor_interval", self.cursor_interval),
            ("typing_timeout", self.typing_timeout),
            ("optimistic_timeout", self.optimistic_timeout),
            ("snapshot_retry", self.snapshot_retry),
        ] {
            if value.is_zero() || value > MAX_PERIOD {
                return Err(ConfigError::new(field, "must be greater than zero and at most a day"));
            }
        }
        if self.field_events_per_second == 0 {
            return Err(ConfigError::new("field_events_per_second", "must be at least 1"));
        }
        self.stream_buffer.validate()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_documented_values() {
        let c = CollabConfig::default();
        assert!(c.validate().is_ok());
        assert_eq!(c.inactivity_timeout, Duration::from_secs(60));
        assert_eq!(c.cursor_interval, Duration::from_millis(50));
        assert_eq!(c.typing_timeout, Duration::from_secs(3));
        assert_eq!(c.optimistic_timeout, Duration::from_secs(5));
        assert_eq!(c.stream_buffer, StreamBuffer::default());
    }

    #[test]
    fn zero_durations_are_refused_by_name() {
        let c = CollabConfig { typing_timeout: Duration::ZERO, ..CollabConfig::default() };
        assert_eq!(c.validate().expect_err("invalid").field, "typing_timeout");
        let c = CollabConfig { inactivity_timeout: Duration::MAX, ..CollabConfig::default() };
        assert_eq!(c.validate().expect_err("invalid").field, "inactivity_timeout");
        let c = CollabConfig { field_events_per_second: 0, ..CollabConfig::default() };
        assert_eq!(c.validate().expect_err("invalid").field, "field_events_per_second");
        let c =
            CollabConfig { stream_buffer: StreamBuffer::new(0, 1024), ..CollabConfig::default() };
        assert_eq!(c.validate().expect_err("invalid").field, "stream_buffer.max_items");
    }
}
