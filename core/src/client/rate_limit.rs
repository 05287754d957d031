//! Throttle and debounce for high-frequency streams (cursor moves, typing, subscription
//! callbacks), as a pure coalescer: the latest item always wins, and none is lost at the end of
//! a burst. Time comes in as arguments so it is tested on virtual time.

use std::time::{Duration, Instant};

/// How a stream is paced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RateLimit {
    /// Every item, as it comes.
    #[default]
    Unlimited,
    /// At most one item per period: the first at once, then the latest at the end of each period
    /// (seed 002's 20 fps cursor is `Throttle(50 ms)`).
    Throttle(Duration),
    /// Only the latest item, once the stream has been quiet for the period.
    Debounce(Duration),
}

/// Coalesces items according to a [`RateLimit`].
#[derive(Debug, Clone)]
pub struct Coalescer<T> {
    limit: RateLimit,
    pending: Option<T>,
    last_emit: Option<Instant>,
    due: Option<Instant>,
}

impl<T> Coalescer<T> {
    /// A coalescer with this limit.
    pub fn new(limit: RateLimit) -> Self {
        Self { limit, pending: None, last_emit: None, due: None }
    }

    /// Offers an item; returns what to emit now, if anything (otherwise the item is held as
    /// the latest and comes out of [`Coalescer::poll`] when due).
    pub fn offer(&mut self, item: T, now: Instant) -> Option<T> {
        match self.limit {
            RateLimit::Unlimited => Some(item),
            RateLimit::Throttle(period) => {
                if self.last_emit.is_none_or(|t| now >= t + period) {
                    // A held item is older than this one: the newest wins.
                    self.pending = None;
                    self.due = None;
                    self.last_emit = Some(now);
                    Some(item)
                } else {
                    self.pending = Some(item);
                    self.due = self.last_emit.map(|t| t + period);
                    None
                }
            }
            RateLimit::Debounce(period) => {
                self.pending = Some(item);
                self.due = Some(now + period);
                None
            }
        }
    }

    /// Emits the held item if its time has come.
    pub fn poll(&mut self, now: Instant) -> Option<T> {
        if self.due.is_some_and(|due| now >= due) {
            self.due = None;
            let item = self.pending.take()?;
            self.last_emit = Some(now);
            return Some(item);
        }
        None
    }

    /// When [`Coalescer::poll`] will have something (`None`: nothing held).
    pub fn deadline(&self) -> Option<Instant> {
        self.pending.as_ref().and(self.due)
    }

    /// Forgets the held item (e.g. the connection went away and stale positions must not go out).
    pub fn discard(&mut self) -> Option<T> {
        self.due = None;
        self.pending.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn throttle_emits_first_then_latest_per_period() {
        let t0 = Instant::now();
        let mut c = Coalescer::new(RateLimit::Throttle(ms(50)));
        assert_eq!(c.offer(1, t0), Some(1));
        assert_eq!(c.offer(2, t0 + ms(10)), None);
        assert_eq!(c.offer(3, t0 + ms(20)), None);
        assert_eq!(c.deadline(), Some(t0 + ms(50)));
        assert_eq!(c.poll(t0 + ms(49)), None);
        assert_eq!(c.poll(t0 + ms(50)), Some(3), "the latest wins, none is left behind");
        assert_eq!(c.offer(4, t0 + ms(60)), None, "still within the period of the last emit");
        assert_eq!(c.poll(t0 + ms(100)), Some(4));
        assert_eq!(c.offer(5, t0 + ms(200)), Some(5), "a quiet stream passes straight through");
    }

    #[test]
    fn thousand_updates_in_a_second_give_at_most_twenty_one() {
        let t0 = Instant::now();
        let mut c = Coalescer::new(RateLimit::Throttle(ms(50)));
        let mut emitted = Vec::new();
        for i in 0..1000u64 {
            let now = t0 + Duration::from_micros(i * 1000);
            if let Some(x) = c.poll(now) {
                emitted.push(x);
            }
            if let Some(x) = c.offer(i, now) {
                emitted.push(x);
            }
        }
        if let Some(due) = c.deadline() {
            emitted.extend(c.poll(due));
        }
        assert!(emitted.len() <= 21, "{}", emitted.len());
        assert_eq!(emitted.last(), Some(&999));
    }

    #[test]
    fn debounce_waits_for_quiet() {
        let t0 = Instant::now();
        let mut c = Coalescer::new(RateLimit::Debounce(ms(300)));
        assert_eq!(c.offer("a", t0), None);
        assert_eq!(c.offer("b", t0 + ms(200)), None);
        assert_eq!(c.poll(t0 + ms(400)), None, "the second offer restarted the wait");
        assert_eq!(c.poll(t0 + ms(500)), Some("b"));
        assert_eq!(c.deadline(), None);
    }
}
