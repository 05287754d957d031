//! How well the connection works right now, as opposed to whether it exists (that is the
//! connection state). Derived from heartbeat round trips, missed heartbeats and recent errors.

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

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

/// The inputs health is judged from, and the judgement. Pure: time comes in as arguments.
#[derive(Debug, Clone)]
pub struct HealthMonitor {
    thresholds: HealthThresholds,
    recent_errors: VecDeque<Instant>,
    /// Errors kept at most; beyond the unhealthy threshold more carry no information.
    error_cap: usize,
}

impl HealthMonitor {
    /// A monitor judging by `thresholds`.
    pub fn new(thresholds: HealthThresholds) -> Self {
        let error_cap = thresholds.unhealthy_errors.max(thresholds.degraded_errors).max(1) as usize;
        Self { thresholds, recent_errors: VecDeque::new(), error_cap }
    }

    /// Replaces the thresholds (from `update_config`).
    pub fn set_thresholds(&mut self, thresholds: HealthThresholds) {
        *self = Self {
            recent_errors: std::mem::take(&mut self.recent_errors),
            ..Self::new(thresholds)
        };
    }

    /// Counts an error at `now`.
    pub fn record_error(&mut self, now: Instant) {
        if self.recent_errors.len() >= self.error_cap {
            self.recent_errors.pop_front();
        }
        self.recent_errors.push_back(now);
    }

    /// Forgets errors older than the window. Call before judging.
    pub fn expire_errors(&mut self, now: Instant) {
        let window = self.thresholds.error_window;
        while self
            .recent_errors
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= window)
        {
            self.recent_errors.pop_front();
        }
    }

    /// When the oldest counted error stops counting (a deadline for the session's timer).
    pub fn next_expiry(&self) -> Option<Instant> {
        self.recent_errors.front().map(|t| *t + self.thresholds.error_window)
    }

    /// Health and quality of a connection: `connected` false gives `Disconnected`/`Offline`.
    pub fn judge(
        &self,
        connected: bool,
        smoothed_rtt: Option<Duration>,
        missed_heartbeats: u32,
    ) -> (Health, Quality) {
        if !connected {
            return (Health::Disconnected, Quality::Offline);
        }
        let t = &self.thresholds;
        let errors = self.recent_errors.len() as u32;
        let rtt = smoothed_rtt.unwrap_or(Duration::ZERO);
        let health = if rtt >= t.unhealthy_rtt
            || missed_heartbeats >= t.unhealthy_missed_heartbeats
            || errors >= t.unhealthy_errors
        {
            Health::Unhealthy
        } else if rtt >= t.degraded_rtt
            || missed_heartbeats >= t.degraded_missed_heartbeats
            || errors >= t.degraded_errors
        {
            Health::Degraded
        } else {
            Health::Healthy
        };
        let quality = smoothed_rtt.map_or(Quality::Good, Quality::from_rtt);
        (health, quality)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn quality_levels_follow_seed_003() {
        assert_eq!(Quality::from_rtt(ms(99)), Quality::Excellent);
        assert_eq!(Quality::from_rtt(ms(100)), Quality::Good);
        assert_eq!(Quality::from_rtt(ms(299)), Quality::Good);
        assert_eq!(Quality::from_rtt(ms(300)), Quality::Fair);
        assert_eq!(Quality::from_rtt(ms(999)), Quality::Fair);
        assert_eq!(Quality::from_rtt(ms(1000)), Quality::Poor);
    }

    #[test]
    fn not_connected_is_disconnected_and_offline() {
        let m = HealthMonitor::new(HealthThresholds::default());
        assert_eq!(m.judge(false, Some(ms(10)), 0), (Health::Disconnected, Quality::Offline));
    }

    #[test]
    fn slow_round_trips_degrade_then_make_unhealthy() {
        let m = HealthMonitor::new(HealthThresholds::default());
        assert_eq!(m.judge(true, Some(ms(40)), 0).0, Health::Healthy);
        assert_eq!(m.judge(true, Some(ms(600)), 0).0, Health::Degraded);
        assert_eq!(m.judge(true, Some(ms(2500)), 0).0, Health::Unhealthy);
    }

    #[test]
    fn missed_heartbeats_degrade_then_make_unhealthy() {
        let m = HealthMonitor::new(HealthThresholds::default());
        assert_eq!(m.judge(true, Some(ms(40)), 1).0, Health::Degraded);
        assert_eq!(m.judge(true, Some(ms(40)), 2).0, Health::Unhealthy);
    }

    #[test]
    fn errors_count_only_within_the_window() {
        let mut m = HealthMonitor::new(HealthThresholds::default());
        let t0 = Instant::now();
        for i in 0..3 {
            m.record_error(t0 + ms(i));
        }
        assert_eq!(m.judge(true, None, 0).0, Health::Degraded);
        assert_eq!(m.next_expiry(), Some(t0 + Duration::from_secs(60)));
        m.expire_errors(t0 + Duration::from_secs(61));
        assert_eq!(m.judge(true, None, 0).0, Health::Healthy);
        assert_eq!(m.next_expiry(), None);
    }
}
