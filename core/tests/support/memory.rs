//! The test process's own memory, for the chaos soaks' check that it stays flat after warm-up.

use serde_json::{json, Value};

/// VmRSS of this process in bytes (0 where /proc is not there).
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// VmRSS samples `(seconds into the run, bytes)` taken after warm-up, the first being the base.
#[derive(Debug, Default)]
pub struct RssSamples(pub Vec<(f64, u64)>);

impl RssSamples {
    /// Takes a sample now.
    pub fn sample(&mut self, at_seconds: f64) {
        self.0.push((at_seconds, rss_bytes()));
    }

    fn base(&self) -> u64 {
        self.0.first().map_or(0, |(_, b)| *b)
    }

    /// The samples for a run's JSON summary: first, min, max, count, and MiB by second.
    pub fn summary(&self) -> (Value, Value) {
        let (low, high) =
            self.0.iter().fold((u64::MAX, 0), |(lo, hi), (_, b)| (lo.min(*b), hi.max(*b)));
        let bounds =
            json!({"first": self.base(), "min": low, "max": high, "samples": self.0.len()});
        let by_second: Vec<String> =
            self.0.iter().map(|(t, b)| format!("{t:.0}:{:.2}", *b as f64 / 1_048_576.0)).collect();
        (bounds, json!(by_second))
    }

    /// Panics if any sample is more than `tolerance` (0.10: 10%) away from the first.
    pub fn assert_flat(&self, tolerance: f64) {
        let base = self.base();
        if base == 0 {
            return;
        }
        for (at, bytes) in &self.0 {
            let drift = (*bytes as f64 - base as f64) / base as f64;
            assert!(
                drift.abs() <= tolerance,
                "VmRSS moved {:.1}% at {at:.0} s ({bytes} vs {base} bytes)",
                drift * 100.0
            );
        }
    }
}
