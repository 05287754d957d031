//! How well the connection works right now, as opposed to whether it exists (that is the
//! connection state). Derived from heartbeat round trips, missed heartbeats and recent errors.

use crate::config::HealthThresholds;
use crate::model::{Health, Quality};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

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
