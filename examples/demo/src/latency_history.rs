//! The recent heartbeat round trips of one client, for the dashboard's sparkline.

use std::collections::VecDeque;
use std::time::Duration;

/// How many samples the sparkline shows.
pub const CAPACITY: usize = 120;

/// A bounded window of round trips, oldest first, in microseconds (loopback round trips are
/// well under a millisecond).
#[derive(Debug, Clone, Default)]
pub struct LatencyHistory {
    samples: VecDeque<u64>,
    /// The engine's figures at the last observation: (window size, latest round trip).
    seen: (usize, Option<Duration>),
}

impl LatencyHistory {
    /// An empty history.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `last` if the engine measured something new since the previous call. `samples`
    /// is how many samples the engine's window holds: it grows, then stays at the window size,
    /// so a new measurement shows as a change in either figure.
    pub fn observe(&mut self, last: Option<Duration>, samples: usize) {
        if (samples, last) == self.seen {
            return;
        }
        self.seen = (samples, last);
        let Some(last) = last else { return };
        if self.samples.len() == CAPACITY {
            self.samples.pop_front();
        }
        self.samples.push_back(u64::try_from(last.as_micros()).unwrap_or(u64::MAX));
    }

    /// The samples, oldest first, in microseconds.
    pub fn micros(&self) -> Vec<u64> {
        self.samples.iter().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_only_new_measurements_and_keeps_the_latest_window() {
        let mut history = LatencyHistory::new();
        history.observe(None, 0);
        history.observe(Some(Duration::from_micros(300)), 1);
        history.observe(Some(Duration::from_micros(300)), 1);
        assert_eq!(history.micros(), vec![300]);
        // The engine's window is full at 100: the count stops growing, the values move on.
        for n in 0..(CAPACITY + 5) {
            history.observe(Some(Duration::from_micros(n as u64)), (n + 2).min(100));
        }
        let micros = history.micros();
        assert_eq!(micros.len(), CAPACITY);
        assert_eq!(micros.last(), Some(&(CAPACITY as u64 + 4)));
    }
}
