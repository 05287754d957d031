//! What happened, newest last: optimistic updates confirming and rolling back, conflicts, and
//! connections dropping and coming back. Shared by the collaborators, shown by the dashboard.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Lines kept; older ones fall off.
pub const CAPACITY: usize = 200;

/// What kind of line it is (the dashboard colours by it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// An optimistic update was confirmed.
    Confirmed,
    /// An optimistic update was rolled back.
    RolledBack,
    /// A versioned write met a newer value on the server.
    Conflict,
    /// Connection news: lost, reconnected, server restarting.
    Connection,
}

/// One line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Time since the demo started.
    pub at: Duration,
    /// Who it is about (a collaborator's name, or "server").
    pub who: String,
    /// Its kind.
    pub kind: EntryKind,
    /// What happened.
    pub text: String,
}

impl fmt::Display for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mark = match self.kind {
            EntryKind::Confirmed => "ok",
            EntryKind::RolledBack => "rollback",
            EntryKind::Conflict => "conflict",
            EntryKind::Connection => "link",
        };
        write!(f, "{:>7.2}s {:<6} {mark:<8} {}", self.at.as_secs_f64(), self.who, self.text)
    }
}

/// A bounded log behind a cheap, cloneable handle.
#[derive(Debug, Clone)]
pub struct ActivityLog {
    started: Instant,
    entries: Arc<Mutex<VecDeque<Entry>>>,
}

impl ActivityLog {
    /// An empty log whose clock starts now.
    pub fn new() -> Self {
        Self { started: Instant::now(), entries: Arc::default() }
    }

    /// Adds a line.
    pub fn push(&self, who: &str, kind: EntryKind, text: impl Into<String>) {
        let entry =
            Entry { at: self.started.elapsed(), who: who.to_owned(), kind, text: text.into() };
        let mut entries = self.lock();
        if entries.len() == CAPACITY {
            entries.pop_front();
        }
        entries.push_back(entry);
    }

    /// The last `n` lines, oldest first.
    pub fn tail(&self, n: usize) -> Vec<Entry> {
        let entries = self.lock();
        entries.iter().skip(entries.len().saturating_sub(n)).cloned().collect()
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<Entry>> {
        // A writer that panicked mid-push leaves a usable log.
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Default for ActivityLog {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_lines_in_order() {
        let log = ActivityLog::new();
        for n in 0..(CAPACITY + 3) {
            log.push("Ana", EntryKind::Confirmed, format!("update {n}"));
        }
        let tail = log.tail(2);
        assert_eq!(tail.len(), 2);
        assert_eq!(tail[1].text, format!("update {}", CAPACITY + 2));
        assert_eq!(log.tail(usize::MAX).len(), CAPACITY);
    }
}
