//! Per-user rate limits: one token bucket per (user, event class). Time is passed in, so tests
//! run on virtual time.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::config::{Rate, RateLimits};

/// The event classes that have their own limit (see [`RateLimits`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventClass {
    /// `cursor-move`.
    Cursor,
    /// `typing-start`, `typing-stop`.
    Typing,
    /// `field-focus`, `field-blur`.
    Focus,
    /// `presence-update`.
    Presence,
    /// `pricing-update`.
    Pricing,
    /// `join-room`, `leave-room`, `room-state`.
    Rooms,
}

/// A token bucket: holds up to `burst` tokens, refills `per_second` tokens a second, and every
/// event takes one.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: Rate,
    /// Tokens scaled by [`Self::SCALE`] so refills of a fraction of a token are not lost.
    scaled_tokens: u128,
    last_refill: Instant,
}

impl TokenBucket {
    const SCALE: u128 = 1_000_000_000;

    /// A full bucket at `now`.
    pub fn new(rate: Rate, now: Instant) -> Self {
        Self { rate, scaled_tokens: u128::from(rate.burst) * Self::SCALE, last_refill: now }
    }

    /// Takes a token if one is available at `now`. A `now` earlier than the last call counts
    /// as no time passing.
    pub fn try_take(&mut self, now: Instant) -> bool {
        self.refill(now);
        if self.scaled_tokens >= Self::SCALE {
            self.scaled_tokens -= Self::SCALE;
            true
        } else {
            false
        }
    }

    /// Whole tokens available at `now`.
    pub fn available(&mut self, now: Instant) -> u32 {
        self.refill(now);
        u32::try_from(self.scaled_tokens / Self::SCALE).unwrap_or(u32::MAX)
    }

    /// How long from `now` until a token is available (zero if one is).
    pub fn wait_time(&mut self, now: Instant) -> Duration {
        self.refill(now);
        let missing = Self::SCALE.saturating_sub(self.scaled_tokens);
        let per_second = u128::from(self.rate.per_second.max(1));
        // missing / (per_second * SCALE) seconds, in nanoseconds, rounded up.
        let nanos = (missing * 1_000_000_000).div_ceil(per_second * Self::SCALE);
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last_refill);
        if elapsed.is_zero() {
            return;
        }
        self.last_refill = now;
        let capacity = u128::from(self.rate.burst) * Self::SCALE;
        // per_second tokens a second = per_second * SCALE scaled tokens per 1e9 ns.
        let gained =
            elapsed.as_nanos() * u128::from(self.rate.per_second) * Self::SCALE / 1_000_000_000;
        self.scaled_tokens = self.scaled_tokens.saturating_add(gained).min(capacity);
    }
}

/// The buckets of every connected user.
#[derive(Debug)]
pub struct RateLimiter {
    limits: RateLimits,
    buckets: HashMap<(String, EventClass), TokenBucket>,
}

impl RateLimiter {
    /// A limiter with these limits and no buckets yet.
    pub fn new(limits: RateLimits) -> Self {
        Self { limits, buckets: HashMap::new() }
    }

    /// Takes a token for `user_id`'s `class` at `now`; false means over the limit.
    pub fn check(&mut self, user_id: &str, class: EventClass, now: Instant) -> bool {
        let rate = self.rate_of(class);
        self.buckets
            .entry((user_id.to_owned(), class))
            .or_insert_with(|| TokenBucket::new(rate, now))
            .try_take(now)
    }

    /// Drops `user_id`'s buckets (when their last connection closes).
    pub fn forget(&mut self, user_id: &str) {
        self.buckets.retain(|(user, _), _| user != user_id);
    }

    /// Number of buckets held, for tests and leak checks.
    pub fn bucket_count(&self) -> usize {
        self.buckets.len()
    }

    fn rate_of(&self, class: EventClass) -> Rate {
        match class {
            EventClass::Cursor => self.limits.cursor,
            EventClass::Typing => self.limits.typing,
            EventClass::Focus => self.limits.focus,
            EventClass::Presence => self.limits.presence,
            EventClass::Pricing => self.limits.pricing,
            EventClass::Rooms => self.limits.rooms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn a_full_bucket_allows_a_burst_then_refuses() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(Rate::per_second(3), start);
        assert!(bucket.try_take(start));
        assert!(bucket.try_take(start));
        assert!(bucket.try_take(start));
        assert!(!bucket.try_take(start));
    }

    #[test]
    fn tokens_refill_at_the_configured_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(Rate::per_second(10), start);
        for _ in 0..10 {
            assert!(bucket.try_take(start));
        }
        assert!(!bucket.try_take(start + ms(99)));
        assert!(bucket.try_take(start + ms(100)));
        assert!(!bucket.try_take(start + ms(150)));
        assert_eq!(bucket.available(start + ms(1_000)), 9);
    }

    #[test]
    fn fractional_refills_are_not_lost_between_calls() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(Rate { per_second: 30, burst: 1 }, start);
        assert!(bucket.try_take(start));
        // 1/30 s is 33.33 ms; three 11.2 ms steps add up to one token.
        assert!(!bucket.try_take(start + Duration::from_micros(11_200)));
        assert!(!bucket.try_take(start + Duration::from_micros(22_400)));
        assert!(bucket.try_take(start + Duration::from_micros(33_600)));
    }

    #[test]
    fn refill_never_exceeds_the_burst() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(Rate { per_second: 20, burst: 5 }, start);
        assert_eq!(bucket.available(start + Duration::from_secs(3_600)), 5);
    }

    #[test]
    fn time_going_backwards_adds_nothing() {
        let start = Instant::now() + Duration::from_secs(10);
        let mut bucket = TokenBucket::new(Rate::per_second(1), start);
        assert!(bucket.try_take(start));
        assert!(!bucket.try_take(start - Duration::from_secs(5)));
        assert!(!bucket.try_take(start + ms(500)));
        assert!(bucket.try_take(start + ms(1_000)));
    }

    #[test]
    fn wait_time_says_when_the_next_token_arrives() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(Rate::per_second(4), start);
        for _ in 0..4 {
            bucket.try_take(start);
        }
        assert_eq!(bucket.wait_time(start), ms(250));
        assert_eq!(bucket.wait_time(start + ms(100)), ms(150));
        assert_eq!(bucket.wait_time(start + ms(300)), Duration::ZERO);
    }

    #[test]
    fn limiter_keeps_users_and_classes_apart() {
        let start = Instant::now();
        let limits = RateLimits { pricing: Rate::per_second(1), ..RateLimits::default() };
        let mut limiter = RateLimiter::new(limits);
        assert!(limiter.check("alice", EventClass::Pricing, start));
        assert!(!limiter.check("alice", EventClass::Pricing, start));
        assert!(limiter.check("bob", EventClass::Pricing, start));
        assert!(limiter.check("alice", EventClass::Cursor, start));
        assert!(limiter.check("alice", EventClass::Pricing, start + Duration::from_secs(1)));
    }

    #[test]
    fn cursor_default_allows_thirty_a_second_sustained() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(RateLimits::default());
        // 20 Hz (the client's coalescing) for ten seconds is always allowed.
        for i in 0..200 {
            assert!(limiter.check("alice", EventClass::Cursor, start + ms(i * 50)));
        }
        // A 100 Hz flood for a second gets the burst plus one second of refill, no more.
        let flood_start = start + Duration::from_secs(20);
        let allowed = (0..100)
            .filter(|i| limiter.check("alice", EventClass::Cursor, flood_start + ms(i * 10)))
            .count();
        assert!((58..=60).contains(&allowed), "allowed {allowed}");
    }

    #[test]
    fn forget_drops_only_that_users_buckets() {
        let start = Instant::now();
        let mut limiter = RateLimiter::new(RateLimits::default());
        limiter.check("alice", EventClass::Cursor, start);
        limiter.check("alice", EventClass::Typing, start);
        limiter.check("bob", EventClass::Cursor, start);
        limiter.forget("alice");
        assert_eq!(limiter.bucket_count(), 1);
    }
}
