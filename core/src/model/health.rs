//! How well the connection works right now, as the app sees it: a health level and a latency
//! quality level. The session judges them (`session::health`) from heartbeats and errors.

use std::fmt;
use std::time::Duration;

/// Health of the connection (seed 000's healthy / degraded / unhealthy / disconnected).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Health {
    /// Round trips fast, heartbeats answered, no recent errors.
    Healthy,
    /// Usable but slow, a heartbeat went unanswered, or errors are appearing.
    Degraded,
    /// Barely usable: very slow, several heartbeats missed, or many errors. Expect a reconnect.
    Unhealthy,
    /// No connection.
    Disconnected,
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Healthy => "healthy",
            Self::Degraded => "degraded",
            Self::Unhealthy => "unhealthy",
            Self::Disconnected => "disconnected",
        })
    }
}

/// Health and quality together: what the client's `health()` watch holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HealthStatus {
    /// The health level.
    pub health: Health,
    /// The latency quality level.
    pub quality: Quality,
}

impl Default for HealthStatus {
    fn default() -> Self {
        Self { health: Health::Disconnected, quality: Quality::Offline }
    }
}

/// Connection quality by latency, as seed 003 shows it to users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Quality {
    /// Smoothed round trip under 100 ms.
    Excellent,
    /// Under 300 ms.
    Good,
    /// Under 1000 ms.
    Fair,
    /// 1000 ms or more.
    Poor,
    /// Not connected. (Connected without a measurement yet counts as `Good`: there is no reason
    /// to think less of it.)
    Offline,
}

impl Quality {
    /// The quality for a smoothed round trip (seed 003's thresholds).
    pub fn from_rtt(rtt: Duration) -> Self {
        match rtt.as_millis() {
            0..=99 => Self::Excellent,
            100..=299 => Self::Good,
            300..=999 => Self::Fair,
            _ => Self::Poor,
        }
    }
}

impl fmt::Display for Quality {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Excellent => "excellent",
            Self::Good => "good",
            Self::Fair => "fair",
            Self::Poor => "poor",
            Self::Offline => "offline",
        })
    }
}
