//! The latency figures the app reads (measured by the session's RTT estimator).

use std::time::Duration;

/// A snapshot of the latency figures. Every field is `None` until the first pong arrives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LatencyStats {
    /// The most recent round trip.
    pub last: Option<Duration>,
    /// Exponentially smoothed round trip (RFC 6298 SRTT, gain 1/8).
    pub smoothed: Option<Duration>,
    /// Smoothed mean deviation (RFC 6298 RTTVAR, gain 1/4).
    pub variance: Option<Duration>,
    /// The smallest round trip seen on this client.
    pub min: Option<Duration>,
    /// Median of the window of recent samples.
    pub p50: Option<Duration>,
    /// 99th percentile of the window of recent samples.
    pub p99: Option<Duration>,
    /// How many samples the window holds.
    pub samples: usize,
}
