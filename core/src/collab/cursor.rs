//! The local cursor, paced for the wire: the app may report positions at any rate (every mouse
//! event), at most one goes out per period per room (50 ms = 20 Hz by default, seed 002), and
//! it is always the latest one, so the cursor comes to rest where the mouse did.
//!
//! Positions are worthless once stale, so while offline nothing is held or queued: a position
//! reported offline is dropped and forgotten, and going offline discards what was held.
//!
//! Built on the engine's pure [`Coalescer`] with [`RateLimit::Throttle`]; time comes in as
//! arguments.

use crate::client::{Coalescer, RateLimit};
use crate::config::MAX_DURATION;
use crate::model::Cursor;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// A cursor position to send now.
#[derive(Debug, Clone, PartialEq)]
pub struct CursorSend {
    /// Room.
    pub room: String,
    /// Position.
    pub cursor: Cursor,
}

/// Counters of what the throttle did, for stats and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CursorCounts {
    /// Positions reported by the app.
    pub reported: u64,
    /// Positions handed out to send.
    pub sent: u64,
    /// Positions replaced by a newer one before they were sent.
    pub coalesced: u64,
    /// Positions dropped because the client was offline.
    pub dropped_offline: u64,
}

/// Paces cursor positions per room.
#[derive(Debug, Clone)]
pub struct CursorThrottle {
    period: Duration,
    rooms: BTreeMap<String, Coalescer<Cursor>>,
    counts: CursorCounts,
}

impl CursorThrottle {
    /// At most one position per `period` per room.
    pub fn new(period: Duration) -> Self {
        Self {
            period: period.min(MAX_DURATION),
            rooms: BTreeMap::new(),
            counts: CursorCounts::default(),
        }
    }

    /// The app reports a position. Returns it if it may go out now; otherwise it is held as
    /// the latest and comes out of [`CursorThrottle::poll`] at the end of the period. Offline
    /// it is dropped (and anything held for the room with it).
    pub fn update(
        &mut self,
        room: &str,
        cursor: Cursor,
        online: bool,
        now: Instant,
    ) -> Option<CursorSend> {
        self.counts.reported += 1;
        if !online {
            self.counts.dropped_offline += 1;
            if let Some(coalescer) = self.rooms.get_mut(room) {
                if coalescer.discard().is_some() {
                    self.counts.dropped_offline += 1;
                }
            }
            return None;
        }
        let period = self.period;
        let coalescer = self
            .rooms
            .entry(room.to_owned())
            .or_insert_with(|| Coalescer::new(RateLimit::Throttle(period)));
        if coalescer.deadline().is_some() {
            // The held position is superseded by this one.
            self.counts.coalesced += 1;
        }
        let ready = coalescer.offer(cursor, now)?;
        self.counts.sent += 1;
        Some(CursorSend { room: room.to_owned(), cursor: ready })
    }

    /// Positions whose period has ended (calling it early is harmless).
    pub fn poll(&mut self, now: Instant) -> Vec<CursorSend> {
        let mut out = Vec::new();
        for (room, coalescer) in &mut self.rooms {
            if let Some(cursor) = coalescer.poll(now) {
                out.push(CursorSend { room: room.clone(), cursor });
            }
        }
        self.counts.sent += out.len() as u64;
        out
    }

    /// When [`CursorThrottle::poll`] will have something.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.rooms.values().filter_map(Coalescer::deadline).min()
    }

    /// The connection went away: held positions are stale and are forgotten.
    pub fn go_offline(&mut self) {
        for coalescer in self.rooms.values_mut() {
            if coalescer.discard().is_some() {
                self.counts.dropped_offline += 1;
            }
        }
    }

    /// Forgets a room (left).
    pub fn remove_room(&mut self, room: &str) {
        self.rooms.remove(room);
    }

    /// What happened so far.
    pub fn counts(&self) -> CursorCounts {
        self.counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(x: f64) -> Cursor {
        Cursor { x, y: -x }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Drives the throttle like the async layer: poll when due, then offer.
    fn run(t: &mut CursorThrottle, updates: &[(Duration, f64)], t0: Instant) -> Vec<CursorSend> {
        let mut sent = Vec::new();
        for (offset, x) in updates {
            let now = t0 + *offset;
            if t.poll_timeout().is_some_and(|due| due <= now) {
                sent.extend(t.poll(now));
            }
            sent.extend(t.update("doc", at(*x), true, now));
        }
        while let Some(due) = t.poll_timeout() {
            sent.extend(t.poll(due));
        }
        sent
    }

    #[test]
    fn a_thousand_updates_in_a_second_give_at_most_21_sends_ending_at_the_last_position() {
        let t0 = Instant::now();
        let mut t = CursorThrottle::new(ms(50));
        let updates: Vec<_> = (0..1000u32)
            .map(|i| (Duration::from_micros(u64::from(i) * 1000), f64::from(i)))
            .collect();
        let sent = run(&mut t, &updates, t0);
        assert!(sent.len() <= 21, "{} sends", sent.len());
        assert!(sent.len() >= 20, "the stream is paced, not starved: {} sends", sent.len());
        assert_eq!(sent.last().map(|s| s.cursor), Some(at(999.0)));
        let counts = t.counts();
        assert_eq!(counts.reported, 1000);
        assert_eq!(counts.sent, sent.len() as u64);
    }

    #[test]
    fn sends_are_at_least_one_period_apart() {
        let t0 = Instant::now();
        let mut t = CursorThrottle::new(ms(50));
        let mut times = Vec::new();
        for i in 0..500u64 {
            let now = t0 + Duration::from_micros(i * 1700);
            if t.poll_timeout().is_some_and(|due| due <= now) && !t.poll(now).is_empty() {
                times.push(now);
            }
            if t.update("doc", at(i as f64), true, now).is_some() {
                times.push(now);
            }
        }
        for pair in times.windows(2) {
            assert!(pair[1] - pair[0] >= ms(50), "{:?}", pair[1] - pair[0]);
        }
    }

    #[test]
    fn a_slow_stream_passes_straight_through() {
        let t0 = Instant::now();
        let mut t = CursorThrottle::new(ms(50));
        assert!(t.update("doc", at(1.0), true, t0).is_some());
        assert!(t.update("doc", at(2.0), true, t0 + ms(100)).is_some());
        assert_eq!(t.poll_timeout(), None);
    }

    #[test]
    fn nothing_is_sent_or_queued_while_offline() {
        let t0 = Instant::now();
        let mut t = CursorThrottle::new(ms(50));
        assert!(t.update("doc", at(1.0), true, t0).is_some());
        assert!(t.update("doc", at(2.0), true, t0 + ms(10)).is_none(), "held");
        t.go_offline();
        assert_eq!(t.poll_timeout(), None, "the held position is forgotten");
        assert!(t.update("doc", at(3.0), false, t0 + ms(20)).is_none());
        assert!(t.poll(t0 + ms(500)).is_empty());
        // Back online, the next report goes out at once: nothing stale comes first.
        let next = t.update("doc", at(4.0), true, t0 + ms(600));
        assert_eq!(next.map(|s| s.cursor), Some(at(4.0)));
        assert_eq!(t.counts().dropped_offline, 2);
    }

    #[test]
    fn rooms_are_paced_independently() {
        let t0 = Instant::now();
        let mut t = CursorThrottle::new(ms(50));
        assert!(t.update("a", at(1.0), true, t0).is_some());
        assert!(t.update("b", at(1.0), true, t0).is_some());
        assert!(t.update("a", at(2.0), true, t0 + ms(1)).is_none());
        let due = t.poll(t0 + ms(50));
        assert_eq!(due, vec![CursorSend { room: "a".into(), cursor: at(2.0) }]);
    }
}
