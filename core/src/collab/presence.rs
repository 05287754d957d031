//! Who is in a room, what they are doing, and whether they are still there: the presence
//! roster of one room, as a pure state machine.
//!
//! The server's events are applied in the order they arrive (a leave after a join removes the
//! member; a join after a leave brings them back). After every (re)join the server's snapshot
//! replaces the roster wholesale, which is what removes ghosts: members who left while this
//! client was offline are simply not in the snapshot. Members with no activity for the
//! inactivity period (60 s by default, seed 002) show as idle until they do something.
//!
//! Time comes in as arguments (`now` for the inactivity clock, `unix_now_ms` to age the
//! server's `lastSeen` stamps), so tests run minutes of presence in microseconds.

use crate::config::MAX_DURATION;
use crate::model::{
    Cursor, LeaveReason, Member, MemberChange, MemberInfo, PresenceChange, PresenceState,
};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
struct Entry {
    member: Member,
    /// What the member (or the server) last said; `member.state` may be `Idle` on top of it.
    reported: PresenceState,
}

/// The roster of one room. Members keep the order in which they arrived.
#[derive(Debug, Clone)]
pub struct Roster {
    room: String,
    inactivity: Duration,
    entries: Vec<Entry>,
    synced: bool,
    changes: VecDeque<PresenceChange>,
}

impl Roster {
    /// An empty, not yet synced roster for `room`; members go idle after `inactivity`.
    pub fn new(room: impl Into<String>, inactivity: Duration) -> Self {
        Self {
            room: room.into(),
            inactivity: inactivity.min(MAX_DURATION),
            entries: Vec::new(),
            synced: false,
            changes: VecDeque::new(),
        }
    }

    /// The room.
    pub fn room(&self) -> &str {
        &self.room
    }

    /// True once a snapshot was applied and no disconnect happened since.
    pub fn is_synced(&self) -> bool {
        self.synced
    }

    /// The members, in arrival order.
    pub fn members(&self) -> Vec<Member> {
        self.entries.iter().map(|e| e.member.clone()).collect()
    }

    /// One member.
    pub fn member(&self, user_id: &str) -> Option<&Member> {
        self.entries.iter().find(|e| e.member.user_id == user_id).map(|e| &e.member)
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True with no members.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The next change for the app.
    pub fn poll_change(&mut self) -> Option<PresenceChange> {
        self.changes.pop_front()
    }

    /// When the next active member turns idle, if anyone can.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.entries
            .iter()
            .filter(|e| e.member.state == PresenceState::Active)
            .map(|e| e.member.last_seen + self.inactivity)
            .min()
    }

    /// Turns members idle whose inactivity period has passed (calling it early is harmless).
    pub fn handle_timeout(&mut self, now: Instant) {
        for i in 0..self.entries.len() {
            self.refresh_state(i, now, MemberChange::State);
        }
    }

    /// The connection went away: the roster is kept for display but no longer trusted, until
    /// the next snapshot.
    pub fn mark_unsynced(&mut self) {
        self.synced = false;
    }

    /// Replaces the roster with the server's snapshot. Members not in it are removed (ghosts
    /// of people who left while this client was offline), new ones added, the rest updated.
    pub fn apply_snapshot(&mut self, members: Vec<MemberInfo>, now: Instant, unix_now_ms: u64) {
        let mut fresh: Vec<Entry> = Vec::with_capacity(members.len());
        for info in members {
            if info.user_id.is_empty() || fresh.iter().any(|e| e.member.user_id == info.user_id) {
                continue;
            }
            let last_seen = self.aged(info.last_seen_ms, now, unix_now_ms);
            let previous = self.entries.iter().find(|e| e.member.user_id == info.user_id);
            // Typing is not part of the server's member record; keep what we knew.
            let typing_in = previous.and_then(|e| e.member.typing_in.clone());
            fresh.push(self.entry_from(info, typing_in, last_seen, now));
        }
        for old in &self.entries {
            if !fresh.iter().any(|e| e.member.user_id == old.member.user_id) {
                self.changes.push_back(PresenceChange::Left {
                    room: self.room.clone(),
                    user_id: old.member.user_id.clone(),
                    reason: LeaveReason::NotInSnapshot,
                });
            }
        }
        for new in &fresh {
            if !self.entries.iter().any(|e| e.member.user_id == new.member.user_id) {
                self.changes.push_back(PresenceChange::Joined {
                    room: self.room.clone(),
                    member: new.member.clone(),
                });
            }
        }
        self.entries = fresh;
        self.synced = true;
        self.changes
            .push_back(PresenceChange::Synced { room: self.room.clone(), members: self.members() });
    }

    /// `user-joined`: adds the member, or refreshes them if already known (a second tab).
    /// Joining is activity, so the member counts as seen `now`.
    pub fn member_joined(&mut self, info: MemberInfo, now: Instant) {
        if info.user_id.is_empty() {
            return;
        }
        let last_seen = now;
        match self.index(&info.user_id) {
            Some(i) => {
                let typing_in = self.entries[i].member.typing_in.clone();
                self.entries[i] = self.entry_from(info, typing_in, last_seen, now);
                self.changed(i, MemberChange::Profile);
            }
            None => {
                let entry = self.entry_from(info, None, last_seen, now);
                self.changes.push_back(PresenceChange::Joined {
                    room: self.room.clone(),
                    member: entry.member.clone(),
                });
                self.entries.push(entry);
            }
        }
    }

    /// `user-left` / `user-disconnected`: removes the member (unknown ids are ignored).
    pub fn member_left(&mut self, user_id: &str, reason: LeaveReason) {
        if let Some(i) = self.index(user_id) {
            self.entries.remove(i);
            self.changes.push_back(PresenceChange::Left {
                room: self.room.clone(),
                user_id: user_id.to_owned(),
                reason,
            });
        }
    }

    /// `cursor-moved`. Events from users not in the roster are ignored (returns false): they
    /// come from someone whose leave was already applied, and adding them would make a ghost.
    pub fn cursor_moved(&mut self, user_id: &str, cursor: Cursor, now: Instant) -> bool {
        self.activity(user_id, now, MemberChange::Cursor, |m| m.cursor = Some(cursor))
    }

    /// `field-focused`.
    pub fn field_focused(&mut self, user_id: &str, field: &str, now: Instant) -> bool {
        self.activity(user_id, now, MemberChange::Focus, |m| m.field = Some(field.to_owned()))
    }

    /// `field-blurred`: clears the focus (if on that field) and typing in it.
    pub fn field_blurred(&mut self, user_id: &str, field: &str, now: Instant) -> bool {
        self.activity(user_id, now, MemberChange::Blur, |m| {
            if m.field.as_deref() == Some(field) {
                m.field = None;
            }
            if m.typing_in.as_deref() == Some(field) {
                m.typing_in = None;
            }
        })
    }

    /// `typing-started`.
    pub fn typing_started(&mut self, user_id: &str, field: &str, now: Instant) -> bool {
        self.activity(user_id, now, MemberChange::TypingStarted, |m| {
            m.typing_in = Some(field.to_owned());
        })
    }

    /// `typing-stopped` (for any field when `field` is empty).
    pub fn typing_stopped(&mut self, user_id: &str, field: &str, now: Instant) -> bool {
        self.activity(user_id, now, MemberChange::TypingStopped, |m| {
            if field.is_empty() || m.typing_in.as_deref() == Some(field) {
                m.typing_in = None;
            }
        })
    }

    /// `presence-updated`: the member's own word on their state (and tool, when given).
    pub fn presence_updated(
        &mut self,
        user_id: &str,
        state: PresenceState,
        tool: Option<String>,
        now: Instant,
    ) -> bool {
        let Some(i) = self.index(user_id) else { return false };
        let entry = &mut self.entries[i];
        entry.reported = state;
        entry.member.last_seen = now;
        if tool.is_some() {
            entry.member.tool = tool;
        }
        entry.member.state = state;
        self.changed(i, MemberChange::State);
        true
    }

    /// Local activity of a member (the app's own user, whose events the server does not echo),
    /// so they do not show as idle to themselves. Announces only a change of state.
    pub fn touch(&mut self, user_id: &str, now: Instant) {
        if let Some(i) = self.index(user_id) {
            let entry = &mut self.entries[i];
            entry.member.last_seen = entry.member.last_seen.max(now);
            if entry.reported == PresenceState::Idle {
                entry.reported = PresenceState::Active;
            }
            self.refresh_state(i, now, MemberChange::State);
        }
    }

    fn activity(
        &mut self,
        user_id: &str,
        now: Instant,
        change: MemberChange,
        apply: impl FnOnce(&mut Member),
    ) -> bool {
        let Some(i) = self.index(user_id) else { return false };
        let entry = &mut self.entries[i];
        apply(&mut entry.member);
        entry.member.last_seen = entry.member.last_seen.max(now);
        // Doing something contradicts "idle"; "away" is a statement only the member revokes.
        if entry.reported == PresenceState::Idle {
            entry.reported = PresenceState::Active;
        }
        let state = self.effective(&self.entries[i], now);
        self.entries[i].member.state = state;
        self.changed(i, change);
        true
    }

    fn refresh_state(&mut self, i: usize, now: Instant, change: MemberChange) {
        let state = self.effective(&self.entries[i], now);
        if state != self.entries[i].member.state {
            self.entries[i].member.state = state;
            self.changed(i, change);
        }
    }

    fn effective(&self, entry: &Entry, now: Instant) -> PresenceState {
        if entry.reported == PresenceState::Active
            && now.saturating_duration_since(entry.member.last_seen) >= self.inactivity
        {
            PresenceState::Idle
        } else {
            entry.reported
        }
    }

    fn changed(&mut self, i: usize, change: MemberChange) {
        self.changes.push_back(PresenceChange::Updated {
            room: self.room.clone(),
            member: self.entries[i].member.clone(),
            change,
        });
    }

    fn index(&self, user_id: &str) -> Option<usize> {
        self.entries.iter().position(|e| e.member.user_id == user_id)
    }

    /// Maps the server's wall-clock `lastSeen` onto the monotonic clock.
    fn aged(&self, last_seen_ms: Option<u64>, now: Instant, unix_now_ms: u64) -> Instant {
        let Some(seen) = last_seen_ms else { return now };
        let age = Duration::from_millis(unix_now_ms.saturating_sub(seen));
        now.checked_sub(age).unwrap_or(now)
    }

    fn entry_from(
        &self,
        info: MemberInfo,
        typing_in: Option<String>,
        last_seen: Instant,
        now: Instant,
    ) -> Entry {
        let name = if info.name.is_empty() { info.user_id.clone() } else { info.name };
        let mut entry = Entry {
            member: Member {
                user_id: info.user_id,
                name,
                role: info.role,
                state: info.state,
                field: info.field,
                typing_in,
                cursor: info.cursor,
                tool: info.tool,
                last_seen,
                metas: Vec::new(),
            },
            reported: info.state,
        };
        entry.member.state = self.effective(&entry, now);
        entry
    }
}

#[cfg(test)]
mod tests;
