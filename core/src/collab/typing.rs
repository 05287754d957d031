//! The local user's field focus and typing indicator, as a pure state machine that keeps the
//! server informed without ever flooding it.
//!
//! The app says what is true (`focus`, `blur`, `start_typing` on every keystroke, `stop_typing`);
//! the machine remembers what it wants the server to believe and what it already told it, and
//! sends only the difference:
//! - `start_typing` sends `typing-start` once; more calls only push the auto-stop back, and
//!   3 s (configurable) after the last one it sends `typing-stop` by itself;
//! - blurring a field also stops typing in it;
//! - focus and typing share a send budget (8 events per second by default; the reference server
//!   allows 10 per user and closes nothing, but other servers disconnect abusers), and when the
//!   budget is spent the net change goes out once it refills, so a burst of focus changes
//!   collapses into the last one;
//! - offline nothing is sent; after a reconnect the current focus and typing are announced again
//!   (a new server session knows nothing) and what ended meanwhile is retracted.
//!
//! Time comes in as arguments.

use crate::config::MAX_DURATION;
use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

/// What to tell the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldSignal {
    /// `field-focus`.
    Focus,
    /// `field-blur`.
    Blur,
    /// `typing-start`.
    TypingStart,
    /// `typing-stop`.
    TypingStop,
}

/// One event to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSend {
    /// Room.
    pub room: String,
    /// Field.
    pub field: String,
    /// Which event.
    pub signal: FieldSignal,
}

/// What the server believes (`told`) and what is true (`want`) in one room.
#[derive(Debug, Clone, Default)]
struct RoomFields {
    focus_want: Option<String>,
    focus_told: Option<String>,
    typing_want: Option<String>,
    typing_told: Option<String>,
    /// When typing stops by itself (only while `typing_want` is set).
    typing_stop_at: Option<Instant>,
}

/// Focus and typing of the local user in every room.
#[derive(Debug, Clone)]
pub struct FieldActivity {
    typing_timeout: Duration,
    max_per_second: u32,
    rooms: BTreeMap<String, RoomFields>,
    online: bool,
    /// When recent events went out, for the budget (oldest first).
    recent: VecDeque<Instant>,
    /// When the budget refills enough to send what is still owed.
    retry_at: Option<Instant>,
    out: VecDeque<FieldSend>,
}

impl FieldActivity {
    /// Typing stops `typing_timeout` after the last `start_typing`; at most `max_per_second`
    /// events go out in any one-second window (at least 1).
    pub fn new(typing_timeout: Duration, max_per_second: u32) -> Self {
        Self {
            typing_timeout: typing_timeout.min(MAX_DURATION),
            max_per_second: max_per_second.max(1),
            rooms: BTreeMap::new(),
            online: false,
            recent: VecDeque::new(),
            retry_at: None,
            out: VecDeque::new(),
        }
    }

    /// The user typed in `field`: announces it once, and (re)arms the auto-stop.
    pub fn start_typing(&mut self, room: &str, field: &str, now: Instant) {
        let stop_at = now + self.typing_timeout;
        let fields = self.rooms.entry(room.to_owned()).or_default();
        fields.typing_want = Some(field.to_owned());
        fields.typing_stop_at = Some(stop_at);
        self.reconcile(now);
    }

    /// The user stopped typing in `room`.
    pub fn stop_typing(&mut self, room: &str, now: Instant) {
        if let Some(fields) = self.rooms.get_mut(room) {
            fields.typing_want = None;
            fields.typing_stop_at = None;
        }
        self.reconcile(now);
    }

    /// The user focused `field` (a previous focus in the room ends).
    pub fn focus(&mut self, room: &str, field: &str, now: Instant) {
        let fields = self.rooms.entry(room.to_owned()).or_default();
        if fields.typing_want.as_deref().is_some_and(|f| f != field) {
            fields.typing_want = None;
            fields.typing_stop_at = None;
        }
        fields.focus_want = Some(field.to_owned());
        self.reconcile(now);
    }

    /// The user left `field`; ends typing in it too. Blurring a field that is not focused
    /// does nothing.
    pub fn blur(&mut self, room: &str, field: &str, now: Instant) {
        if let Some(fields) = self.rooms.get_mut(room) {
            if fields.focus_want.as_deref() == Some(field) {
                fields.focus_want = None;
            }
            if fields.typing_want.as_deref() == Some(field) {
                fields.typing_want = None;
                fields.typing_stop_at = None;
            }
        }
        self.reconcile(now);
    }

    /// The room is being left: ends typing and focus there (sent if possible, before the
    /// leave), then forgets the room.
    pub fn leave_room(&mut self, room: &str, now: Instant) {
        if let Some(fields) = self.rooms.get_mut(room) {
            fields.focus_want = None;
            fields.typing_want = None;
            fields.typing_stop_at = None;
        }
        self.reconcile(now);
        self.rooms.remove(room);
    }

    /// The connection came up or went down. Going down, nothing is sent any more; coming
    /// up, the server is told again what is true now.
    pub fn set_online(&mut self, online: bool, now: Instant) {
        if online == self.online {
            return;
        }
        self.online = online;
        if online {
            for fields in self.rooms.values_mut() {
                // What the server was told before still stands only if it is still true;
                // re-announce it, since a fresh server session knows nothing.
                if fields.typing_told.is_some() && fields.typing_told == fields.typing_want {
                    fields.typing_told = None;
                }
                if fields.focus_told.is_some() && fields.focus_told == fields.focus_want {
                    fields.focus_told = None;
                }
            }
            self.reconcile(now);
        }
    }

    /// The field the user is typing in, in `room`.
    pub fn typing_in(&self, room: &str) -> Option<&str> {
        self.rooms.get(room)?.typing_want.as_deref()
    }

    /// The field the user has focused, in `room`.
    pub fn focused(&self, room: &str) -> Option<&str> {
        self.rooms.get(room)?.focus_want.as_deref()
    }

    /// The next event to send.
    pub fn poll_send(&mut self) -> Option<FieldSend> {
        self.out.pop_front()
    }

    /// The next auto-stop or budget refill.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.rooms.values().filter_map(|f| f.typing_stop_at).chain(self.retry_at).min()
    }

    /// Stops typing that timed out and sends what the budget now allows (calling it early is
    /// harmless).
    pub fn handle_timeout(&mut self, now: Instant) {
        for fields in self.rooms.values_mut() {
            if fields.typing_stop_at.is_some_and(|at| at <= now) {
                fields.typing_want = None;
                fields.typing_stop_at = None;
            }
        }
        self.reconcile(now);
    }

    /// Sends the difference between `want` and `told`, retractions first, within the budget.
    fn reconcile(&mut self, now: Instant) {
        self.retry_at = None;
        if !self.online {
            return;
        }
        let window = Duration::from_secs(1);
        while self.recent.front().is_some_and(|t| now.saturating_duration_since(*t) >= window) {
            self.recent.pop_front();
        }
        let mut budget = (self.max_per_second as usize).saturating_sub(self.recent.len());
        let mut owed = false;
        for (room, fields) in &mut self.rooms {
            for step in 0..4 {
                let send = match step {
                    0 if fields.typing_told.is_some()
                        && fields.typing_told != fields.typing_want =>
                    {
                        fields.typing_told.take().map(|f| (f, FieldSignal::TypingStop))
                    }
                    1 if fields.focus_told.is_some() && fields.focus_told != fields.focus_want => {
                        fields.focus_told.take().map(|f| (f, FieldSignal::Blur))
                    }
                    2 if fields.focus_told.is_none() && fields.focus_want.is_some() => {
                        fields.focus_told = fields.focus_want.clone();
                        fields.focus_want.clone().map(|f| (f, FieldSignal::Focus))
                    }
                    3 if fields.typing_told.is_none() && fields.typing_want.is_some() => {
                        fields.typing_told = fields.typing_want.clone();
                        fields.typing_want.clone().map(|f| (f, FieldSignal::TypingStart))
                    }
                    _ => None,
                };
                let Some((field, signal)) = send else { continue };
                if budget == 0 {
                    // Undo the bookkeeping: this one is owed, not sent.
                    match signal {
                        FieldSignal::TypingStop => fields.typing_told = Some(field),
                        FieldSignal::Blur => fields.focus_told = Some(field),
                        FieldSignal::Focus => fields.focus_told = None,
                        FieldSignal::TypingStart => fields.typing_told = None,
                    }
                    owed = true;
                    break;
                }
                budget -= 1;
                self.recent.push_back(now);
                self.out.push_back(FieldSend { room: room.clone(), field, signal });
            }
        }
        if owed {
            self.retry_at = self.recent.front().map(|t| *t + window);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TYPING: Duration = Duration::from_secs(3);

    fn online(t0: Instant) -> FieldActivity {
        let mut f = FieldActivity::new(TYPING, 8);
        f.set_online(true, t0);
        f
    }

    fn sent(f: &mut FieldActivity) -> Vec<(String, FieldSignal)> {
        std::iter::from_fn(|| f.poll_send()).map(|s| (s.field, s.signal)).collect()
    }

    fn s(field: &str, signal: FieldSignal) -> (String, FieldSignal) {
        (field.to_owned(), signal)
    }

    #[test]
    fn start_typing_sends_once_however_often_it_is_called() {
        let t0 = Instant::now();
        let mut f = online(t0);
        for i in 0..100u64 {
            f.start_typing("doc", "total", t0 + Duration::from_millis(i * 20));
        }
        assert_eq!(sent(&mut f), [s("total", FieldSignal::TypingStart)]);
    }

    #[test]
    fn typing_stops_by_itself_three_seconds_after_the_last_keystroke() {
        let t0 = Instant::now();
        let mut f = online(t0);
        f.start_typing("doc", "total", t0);
        f.start_typing("doc", "total", t0 + Duration::from_secs(2));
        sent(&mut f);
        assert_eq!(f.poll_timeout(), Some(t0 + Duration::from_secs(5)));
        f.handle_timeout(t0 + Duration::from_secs(4));
        assert!(sent(&mut f).is_empty(), "the second keystroke pushed the stop back");
        f.handle_timeout(t0 + Duration::from_secs(5));
        assert_eq!(sent(&mut f), [s("total", FieldSignal::TypingStop)]);
        assert_eq!(f.typing_in("doc"), None);
        assert_eq!(f.poll_timeout(), None);
    }

    #[test]
    fn the_auto_stop_period_is_configurable() {
        let t0 = Instant::now();
        let mut f = FieldActivity::new(Duration::from_millis(500), 8);
        f.set_online(true, t0);
        f.start_typing("doc", "total", t0);
        assert_eq!(f.poll_timeout(), Some(t0 + Duration::from_millis(500)));
    }

    #[test]
    fn stop_typing_sends_stop_once() {
        let t0 = Instant::now();
        let mut f = online(t0);
        f.start_typing("doc", "total", t0);
        f.stop_typing("doc", t0);
        f.stop_typing("doc", t0);
        assert_eq!(
            sent(&mut f),
            [s("total", FieldSignal::TypingStart), s("total", FieldSignal::TypingStop)]
        );
    }

    #[test]
    fn blur_stops_typing_in_that_field_first() {
        let t0 = Instant::now();
        let mut f = online(t0);
        f.focus("doc", "labor", t0);
        f.start_typing("doc", "labor", t0);
        f.blur("doc", "labor", t0);
        assert_eq!(
            sent(&mut f),
            [
                s("labor", FieldSignal::Focus),
                s("labor", FieldSignal::TypingStart),
                s("labor", FieldSignal::TypingStop),
                s("labor", FieldSignal::Blur),
            ]
        );
    }

    #[test]
    fn typing_in_another_field_moves_the_indicator() {
        let t0 = Instant::now();
        let mut f = online(t0);
        f.start_typing("doc", "a", t0);
        f.start_typing("doc", "b", t0);
        assert_eq!(
            sent(&mut f),
            [
                s("a", FieldSignal::TypingStart),
                s("a", FieldSignal::TypingStop),
                s("b", FieldSignal::TypingStart)
            ]
        );
    }

    #[test]
    fn a_burst_of_focus_changes_never_floods_and_ends_on_the_last_field() {
        let t0 = Instant::now();
        let mut f = online(t0);
        let mut log = Vec::new();
        // Tabbing through 50 fields in half a second.
        for i in 0..50u64 {
            let now = t0 + Duration::from_millis(i * 10);
            f.handle_timeout(now);
            f.focus("doc", &format!("f{i}"), now);
            log.extend(sent(&mut f).into_iter().map(|x| (now, x)));
        }
        while let Some(due) = f.poll_timeout() {
            f.handle_timeout(due);
            log.extend(sent(&mut f).into_iter().map(|x| (due, x)));
        }
        for (i, (t, _)) in log.iter().enumerate() {
            let in_window = log[i..].iter().take_while(|(u, _)| *u < *t + Duration::from_secs(1));
            assert!(in_window.count() <= 8, "more than 8 events in a second");
        }
        assert_eq!(log.last().map(|(_, x)| x.clone()), Some(s("f49", FieldSignal::Focus)));
        assert_eq!(f.focused("doc"), Some("f49"));
    }

    #[test]
    fn offline_nothing_is_sent_and_the_reconnect_tells_the_truth() {
        let t0 = Instant::now();
        let mut f = online(t0);
        f.focus("doc", "labor", t0);
        f.start_typing("doc", "labor", t0);
        sent(&mut f);
        f.set_online(false, t0);
        // Typing ends while offline: nothing goes out then.
        f.handle_timeout(t0 + TYPING);
        assert!(sent(&mut f).is_empty());
        f.set_online(true, t0 + TYPING * 2);
        assert_eq!(
            sent(&mut f),
            [s("labor", FieldSignal::TypingStop), s("labor", FieldSignal::Focus)],
            "the stale typing indicator is retracted and the focus re-announced"
        );
    }

    #[test]
    fn leaving_a_room_retracts_focus_and_typing_then_forgets_it() {
        let t0 = Instant::now();
        let mut f = online(t0);
        f.focus("doc", "labor", t0);
        f.start_typing("doc", "labor", t0);
        sent(&mut f);
        f.leave_room("doc", t0);
        assert_eq!(
            sent(&mut f),
            [s("labor", FieldSignal::TypingStop), s("labor", FieldSignal::Blur)]
        );
        assert_eq!(f.poll_timeout(), None);
    }
}
