//! Round-trip time of heartbeats, estimated the way TCP does (RFC 6298), plus percentiles over a
//! window of recent samples for the figures an app shows ("p99 latency 180 ms").

use crate::model::LatencyStats;
use std::collections::VecDeque;
use std::time::Duration;

/// Collects heartbeat round trips.
#[derive(Debug, Clone)]
pub struct RttEstimator {
    last: Option<Duration>,
    smoothed: Option<Duration>,
    variance: Option<Duration>,
    min: Option<Duration>,
    /// Recent samples in whole microseconds (saturating at about 71 minutes): a quarter of a
    /// `Duration` each, so a full default window of 100 costs 400 bytes per connection, not
    /// 1,600. Grown as samples come (none on a connection that has not seen a pong yet, which
    /// W4 in BENCHMARKS.md measures) and never past `window_size`.
    window: VecDeque<u32>,
    window_size: usize,
}

impl RttEstimator {
    /// An estimator keeping the last `window_size` samples for percentiles (at least 1).
    pub fn new(window_size: usize) -> Self {
        let window_size = window_size.max(1);
        Self {
            last: None,
            smoothed: None,
            variance: None,
            min: None,
            window: VecDeque::new(),
            window_size,
        }
    }

    /// Records one round trip.
    pub fn record(&mut self, rtt: Duration) {
        self.last = Some(rtt);
        self.min = Some(self.min.map_or(rtt, |m| m.min(rtt)));
        match (self.smoothed, self.variance) {
            (Some(srtt), Some(var)) => {
                let deviation = srtt.abs_diff(rtt);
                self.variance = Some((var * 3 + deviation) / 4);
                self.smoothed = Some((srtt * 7 + rtt) / 8);
            }
            _ => {
                self.smoothed = Some(rtt);
                self.variance = Some(rtt / 2);
            }
        }
        if self.window.len() == self.window_size {
            self.window.pop_front();
        } else if self.window.len() == self.window.capacity() {
            // Doubling, but stopping at the window size rather than the next power of two.
            let room = self.window_size - self.window.len();
            self.window.reserve_exact(self.window.len().max(4).min(room));
        }
        self.window.push_back(u32::try_from(rtt.as_micros()).unwrap_or(u32::MAX));
    }

    /// The smoothed round trip, the figure health and quality are judged by.
    pub fn smoothed(&self) -> Option<Duration> {
        self.smoothed
    }

    /// Changes how many samples the percentile window keeps (dropping the oldest if smaller).
    pub fn set_window_size(&mut self, window_size: usize) {
        self.window_size = window_size.max(1);
        while self.window.len() > self.window_size {
            self.window.pop_front();
        }
        self.window.shrink_to(self.window_size);
    }

    /// All figures at once.
    pub fn stats(&self) -> LatencyStats {
        let mut sorted: Vec<u32> = self.window.iter().copied().collect();
        sorted.sort_unstable();
        LatencyStats {
            last: self.last,
            smoothed: self.smoothed,
            variance: self.variance,
            min: self.min,
            p50: percentile(&sorted, 50),
            p99: percentile(&sorted, 99),
            samples: sorted.len(),
        }
    }
}

/// Nearest-rank percentile of an already sorted slice of microseconds.
fn percentile(sorted: &[u32], pct: usize) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (pct * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).map(|&micros| Duration::from_micros(u64::from(micros)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn first_sample_sets_smoothed_and_half_variance() {
        let mut e = RttEstimator::new(10);
        e.record(ms(100));
        let s = e.stats();
        assert_eq!(
            (s.last, s.smoothed, s.variance, s.min),
            (Some(ms(100)), Some(ms(100)), Some(ms(50)), Some(ms(100)))
        );
    }

    #[test]
    fn smoothing_follows_rfc_6298_gains() {
        let mut e = RttEstimator::new(10);
        e.record(ms(100));
        e.record(ms(200));
        let s = e.stats();
        // SRTT = 7/8*100 + 1/8*200 = 112.5; RTTVAR = 3/4*50 + 1/4*100 = 62.5
        assert_eq!(s.smoothed, Some(Duration::from_micros(112_500)));
        assert_eq!(s.variance, Some(Duration::from_micros(62_500)));
        assert_eq!(s.min, Some(ms(100)));
        assert_eq!(s.last, Some(ms(200)));
    }

    #[test]
    fn percentiles_use_the_window_only() {
        let mut e = RttEstimator::new(100);
        for n in 1..=100 {
            e.record(ms(n));
        }
        let s = e.stats();
        assert_eq!(s.p50, Some(ms(50)));
        assert_eq!(s.p99, Some(ms(99)));
        for _ in 0..100 {
            e.record(ms(500));
        }
        assert_eq!(e.stats().p50, Some(ms(500)));
        assert_eq!(e.stats().min, Some(ms(1)), "min is over the client's life, not the window");
    }

    #[test]
    fn the_window_is_allocated_as_samples_come_and_never_past_its_size() {
        let mut e = RttEstimator::new(100);
        assert_eq!(e.window.capacity(), 0, "nothing before the first pong");
        for n in 1..=1000 {
            e.record(ms(n));
        }
        assert_eq!(e.window.capacity(), 100);
        assert_eq!(e.stats().p50, Some(ms(950)));
        e.set_window_size(10);
        assert_eq!((e.window.len(), e.window.capacity()), (10, 10));
    }

    #[test]
    fn samples_keep_microseconds_and_saturate() {
        let mut e = RttEstimator::new(2);
        e.record(Duration::from_micros(1_234));
        assert_eq!(e.stats().p50, Some(Duration::from_micros(1_234)));
        e.record(Duration::from_secs(10_000));
        assert_eq!(e.stats().p99, Some(Duration::from_micros(u64::from(u32::MAX))));
        assert_eq!(e.stats().last, Some(Duration::from_secs(10_000)), "only the window saturates");
    }

    #[test]
    fn empty_estimator_has_no_figures() {
        let s = RttEstimator::new(0).stats();
        assert_eq!(s, LatencyStats::default());
    }
}
