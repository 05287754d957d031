//! The thresholds at which health drops a level.

use std::time::Duration;

/// When health drops a level. A connection is `Unhealthy` if any unhealthy threshold is met,
/// else `Degraded` if any degraded threshold is met, else `Healthy`.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthThresholds {
    /// Smoothed round trip at or above which the connection is degraded. Default 500 ms.
    pub degraded_rtt: Duration,
    /// Smoothed round trip at or above which it is unhealthy. Default 2000 ms.
    pub unhealthy_rtt: Duration,
    /// Consecutive unanswered heartbeats that make it degraded. Default 1.
    pub degraded_missed_heartbeats: u32,
    /// Consecutive unanswered heartbeats that make it unhealthy. Default 2.
    pub unhealthy_missed_heartbeats: u32,
    /// Errors within `error_window` that make it degraded. Default 3.
    pub degraded_errors: u32,
    /// Errors within `error_window` that make it unhealthy. Default 10.
    pub unhealthy_errors: u32,
    /// How long an error counts against health. Default 60 s.
    pub error_window: Duration,
}

impl Default for HealthThresholds {
    fn default() -> Self {
        Self {
            degraded_rtt: Duration::from_millis(500),
            unhealthy_rtt: Duration::from_millis(2000),
            degraded_missed_heartbeats: 1,
            unhealthy_missed_heartbeats: 2,
            degraded_errors: 3,
            unhealthy_errors: 10,
            error_window: Duration::from_secs(60),
        }
    }
}
