//! How well the connection works right now, mirrored from [`tether_core::HealthStatus`].

use tether_core as core_api;

/// Health of the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Health {
    /// Round trips fast, heartbeats answered, no recent errors.
    Healthy,
    /// Usable but slow, a heartbeat went unanswered, or errors are appearing.
    Degraded,
    /// Barely usable; expect a reconnect.
    Unhealthy,
    /// No connection.
    Disconnected,
}

/// Connection quality by smoothed heartbeat latency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum Quality {
    /// Under 100 ms.
    Excellent,
    /// Under 300 ms (also: connected, not measured yet).
    Good,
    /// Under 1000 ms.
    Fair,
    /// 1000 ms or more.
    Poor,
    /// Not connected.
    Offline,
}

/// Health and quality together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct HealthStatus {
    /// The health level.
    pub health: Health,
    /// The latency quality level.
    pub quality: Quality,
}

impl From<core_api::Health> for Health {
    fn from(h: core_api::Health) -> Self {
        match h {
            core_api::Health::Healthy => Self::Healthy,
            core_api::Health::Degraded => Self::Degraded,
            core_api::Health::Unhealthy => Self::Unhealthy,
            core_api::Health::Disconnected => Self::Disconnected,
        }
    }
}

impl From<core_api::Quality> for Quality {
    fn from(q: core_api::Quality) -> Self {
        match q {
            core_api::Quality::Excellent => Self::Excellent,
            core_api::Quality::Good => Self::Good,
            core_api::Quality::Fair => Self::Fair,
            core_api::Quality::Poor => Self::Poor,
            core_api::Quality::Offline => Self::Offline,
        }
    }
}

impl From<core_api::HealthStatus> for HealthStatus {
    fn from(s: core_api::HealthStatus) -> Self {
        Self { health: s.health.into(), quality: s.quality.into() }
    }
}
