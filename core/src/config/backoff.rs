//! Reconnect delays: exponential growth with jitter, as a pure function of the attempt number.
//! The default draws the first retry from zero up to `min_delay` and the later ones around the
//! nominal delays: a crowd spread as wide as socket.io-client's, and half the wait for one
//! client (W3 and its 1,000-client fleet in BENCHMARKS.md).
//!
//! Kept pure (no clock, no global RNG) so that a property test can check every delay for any
//! seed and attempt, and so that two platforms given the same seed wait the same times.

use std::time::Duration;

/// How randomness spreads reconnect attempts, so that a thousand phones that lost the same
/// server do not all come back in the same millisecond.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Jitter {
    /// No randomness: exactly the exponential delay. Useful in tests, bad for crowds.
    None,
    /// The first retry drawn uniformly from zero to `min_delay`; each later one from half to
    /// one and a half times the nominal delay of the attempt before it (so 0-1 s, then
    /// 0.5-1.5 s, 1-3 s, 2-6 s... with the defaults). The default. A crowd that lost the same
    /// server spreads over the whole first second from the drop instead of from `min_delay`,
    /// so a client waits half as long on average; the later retries keep the width
    /// socket.io-client's schedule has, and a client that was refused early does not jump
    /// ahead in the schedule (the worst case stays near the nominal delays). Delays may be
    /// shorter than `min_delay` (which stays the schedule's base).
    #[default]
    FirstFromZero,
    /// A uniform delay between `min_delay` and the exponential delay (at least twice
    /// `min_delay` wide, so the first retries are spread too): never earlier than `min_delay`.
    Full,
    /// Half the exponential delay plus a uniform share of the other half ("equal jitter"): never
    /// less than half the nominal wait.
    Equal,
}

/// The reconnect schedule. Defaults follow seed 003 (1 s doubling up to 30 s).
#[derive(Debug, Clone, PartialEq)]
pub struct BackoffPolicy {
    /// The first retry's nominal delay, from which delays grow by `factor`. Default 1 s. Every
    /// delay is at least this, except under [`Jitter::FirstFromZero`] (the default), which draws
    /// each delay between zero and the nominal one.
    pub min_delay: Duration,
    /// Upper bound of every delay. Default 30 s.
    pub max_delay: Duration,
    /// Growth per failed attempt. Default 2.0. Must be >= 1.
    pub factor: f64,
    /// Randomness applied to each delay. Default [`Jitter::FirstFromZero`].
    pub jitter: Jitter,
    /// Give up (state `Failed`) after this many consecutive failed attempts. Default `None`
    /// (retry forever: mobile networks come back).
    pub max_attempts: Option<u32>,
}

impl Default for BackoffPolicy {
    fn default() -> Self {
        Self {
            min_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            factor: 2.0,
            jitter: Jitter::FirstFromZero,
            max_attempts: None,
        }
    }
}

impl BackoffPolicy {
    /// The delay without jitter for `attempt` (1-based): `min_delay * factor^(attempt-1)`,
    /// capped at `max_delay`. Attempt 0 is treated as 1.
    pub fn nominal_delay(&self, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(1_000) as i32;
        let min = self.min_delay.as_secs_f64();
        let max = self.max_delay.as_secs_f64();
        let grown = min * self.factor.max(1.0).powi(exponent);
        // powi may overflow to infinity for large attempts; min() brings it back to the cap.
        let capped = if grown.is_finite() { grown.min(max) } else { max };
        Duration::from_secs_f64(capped.max(min).min(max.max(min)))
    }

    /// The most [`Jitter::Full`] and [`Jitter::Equal`] may stretch attempt `attempt`: its
    /// nominal delay, but at least `min_delay * factor`, so the first retries are spread too
    /// (otherwise every client of a restarted server would retry at exactly `min_delay`). Never
    /// above `max_delay`. ([`Jitter::FirstFromZero`] spreads below the nominal delay instead.)
    pub fn jitter_ceiling(&self, attempt: u32) -> Duration {
        let spread_floor = self.min_delay.mul_f64(self.factor.clamp(1.0, 1e6));
        self.nominal_delay(attempt).max(spread_floor).min(self.max_delay.max(self.min_delay))
    }

    /// The delay to wait before attempt `attempt` (1-based), with jitter drawn from `rng`.
    /// Never above `max_delay`; within `[min_delay, max_delay]` except under
    /// [`Jitter::FirstFromZero`], where the first is within `[0, min_delay]` and attempt `n`
    /// within half to one and a half times `nominal_delay(n - 1)`.
    pub fn delay(&self, attempt: u32, rng: &mut fastrand::Rng) -> Duration {
        let nominal = self.nominal_delay(attempt);
        if self.jitter == Jitter::FirstFromZero {
            if attempt <= 1 {
                return uniform_between(Duration::ZERO, nominal, rng);
            }
            let before = self.nominal_delay(attempt - 1);
            let picked = uniform_between(before / 2, before + before / 2, rng);
            return picked.min(self.max_delay.max(self.min_delay));
        }
        let ceiling = self.jitter_ceiling(attempt);
        let min = self.min_delay.min(nominal);
        let picked = match self.jitter {
            Jitter::None | Jitter::FirstFromZero => nominal,
            Jitter::Full => uniform_between(min, ceiling, rng),
            Jitter::Equal => {
                let half = ceiling / 2;
                half + uniform_between(Duration::ZERO, ceiling - half, rng)
            }
        };
        picked.clamp(self.min_delay.min(self.max_delay), self.max_delay.max(self.min_delay))
    }
}

fn uniform_between(low: Duration, high: Duration, rng: &mut fastrand::Rng) -> Duration {
    if high <= low {
        return low;
    }
    let span = (high - low).as_nanos().min(u64::MAX as u128) as u64;
    low + Duration::from_nanos(rng.u64(0..=span))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn policy(jitter: Jitter) -> BackoffPolicy {
        BackoffPolicy { jitter, ..BackoffPolicy::default() }
    }

    #[test]
    fn nominal_delay_doubles_from_one_second_up_to_thirty() {
        let p = policy(Jitter::None);
        let secs: Vec<u64> = (1..=7).map(|a| p.nominal_delay(a).as_secs()).collect();
        assert_eq!(secs, vec![1, 2, 4, 8, 16, 30, 30]);
    }

    #[test]
    fn no_jitter_gives_the_nominal_delay() {
        let mut rng = fastrand::Rng::with_seed(7);
        assert_eq!(policy(Jitter::None).delay(3, &mut rng), Duration::from_secs(4));
    }

    #[test]
    fn equal_jitter_never_waits_less_than_half() {
        let mut rng = fastrand::Rng::with_seed(1);
        let p = policy(Jitter::Equal);
        for _ in 0..1000 {
            let d = p.delay(4, &mut rng);
            assert!(d >= Duration::from_secs(4) && d <= Duration::from_secs(8), "{d:?}");
        }
    }

    #[test]
    fn full_jitter_spreads_over_the_whole_range() {
        let mut rng = fastrand::Rng::with_seed(2);
        let p = policy(Jitter::Full);
        let delays: Vec<Duration> = (0..1000).map(|_| p.delay(5, &mut rng)).collect();
        let low = delays.iter().filter(|d| **d < Duration::from_secs(4)).count();
        let high = delays.iter().filter(|d| **d > Duration::from_secs(12)).count();
        assert!(low > 50 && high > 50, "low {low} high {high}");
    }

    #[test]
    fn the_first_retry_is_spread_too() {
        let mut rng = fastrand::Rng::with_seed(3);
        let p = policy(Jitter::Full);
        let firsts: Vec<Duration> = (0..200).map(|_| p.delay(1, &mut rng)).collect();
        assert!(firsts
            .iter()
            .all(|d| *d >= Duration::from_secs(1) && *d <= Duration::from_secs(2)));
        let distinct: std::collections::HashSet<_> = firsts.iter().collect();
        assert!(distinct.len() > 100, "a crowd of clients does not retry in the same instant");
    }

    #[test]
    fn by_default_the_first_retry_spreads_from_zero_and_later_ones_around_the_nominal() {
        assert_eq!(BackoffPolicy::default().jitter, Jitter::FirstFromZero);
        let mut rng = fastrand::Rng::with_seed(4);
        let p = BackoffPolicy::default();
        let firsts: Vec<Duration> = (0..2000).map(|_| p.delay(1, &mut rng)).collect();
        assert!(firsts.iter().all(|d| *d <= Duration::from_secs(1)), "beyond the nominal 1 s");
        // Evenly over [0, 1 s]: each tenth of the second holds about a tenth of the crowd, the
        // first one included (a server back at once sees its clients at once, one by one).
        for tenth in 0..10u64 {
            let low = Duration::from_millis(100 * tenth);
            let high = Duration::from_millis(100 * (tenth + 1));
            let share = firsts.iter().filter(|d| **d >= low && **d < high).count();
            assert!((140..=260).contains(&share), "{share} of 2000 in tenth {tenth}");
        }
        // Attempt 4 waits 2-6 s (half to one and a half times attempt 3's nominal 4 s), spread
        // over that whole range.
        let fourth: Vec<Duration> = (0..2000).map(|_| p.delay(4, &mut rng)).collect();
        assert!(fourth
            .iter()
            .all(|d| *d >= Duration::from_secs(2) && *d <= Duration::from_secs(6)));
        assert!(fourth.iter().any(|d| *d < Duration::from_millis(2_200)));
        assert!(fourth.iter().any(|d| *d > Duration::from_millis(5_800)));
        // Never above the cap.
        assert!((0..2000).all(|_| p.delay(40, &mut rng) <= Duration::from_secs(30)));
    }

    #[test]
    fn same_seed_gives_same_schedule() {
        let p = policy(Jitter::Full);
        let mut a = fastrand::Rng::with_seed(42);
        let mut b = fastrand::Rng::with_seed(42);
        let sa: Vec<Duration> = (1..10).map(|n| p.delay(n, &mut a)).collect();
        let sb: Vec<Duration> = (1..10).map(|n| p.delay(n, &mut b)).collect();
        assert_eq!(sa, sb);
    }

    proptest! {
        #[test]
        fn every_delay_is_within_its_bounds(
            seed in any::<u64>(),
            attempt in any::<u32>(),
            min_ms in 1u64..10_000,
            extra_ms in 0u64..600_000,
            factor in 1.0f64..10.0,
            jitter in prop_oneof![
                Just(Jitter::None),
                Just(Jitter::Full),
                Just(Jitter::Equal),
                Just(Jitter::FirstFromZero),
            ],
        ) {
            let p = BackoffPolicy {
                min_delay: Duration::from_millis(min_ms),
                max_delay: Duration::from_millis(min_ms + extra_ms),
                factor,
                jitter,
                max_attempts: None,
            };
            let mut rng = fastrand::Rng::with_seed(seed);
            let d = p.delay(attempt, &mut rng);
            prop_assert!(d <= p.max_delay, "{:?} above max {:?}", d, p.max_delay);
            if jitter == Jitter::FirstFromZero {
                if attempt <= 1 {
                    prop_assert!(d <= p.min_delay);
                } else {
                    let before = p.nominal_delay(attempt - 1);
                    prop_assert!(d >= (before / 2).min(p.max_delay));
                    prop_assert!(d <= before + before / 2);
                }
            } else {
                prop_assert!(d >= p.min_delay, "{:?} below min {:?}", d, p.min_delay);
                prop_assert!(d <= p.jitter_ceiling(attempt));
            }
        }
    }
}
