//! Optimistic updates (seed 000's `updatePricingOptimistic`, seed 004): the app applies a change
//! at once and sends it; this tracker guarantees it later hears exactly one verdict per update:
//! confirmed, or rolled back with the payload to undo and why (the server said no, no answer
//! within the timeout, or the connection failed before the update could be delivered).
//!
//! Pure: the async layer reports acknowledgements and failures, time comes in as arguments.

use crate::config::MAX_DURATION;
use serde_json::Value;
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::time::{Duration, Instant};

/// Identifies one optimistic update; also sent to the server as `optimisticId`, which the
/// reference server echoes in its broadcast.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OptimisticId(pub String);

impl fmt::Display for OptimisticId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why an update was rolled back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RollbackReason {
    /// The server refused it: `{ok: false, error, message}` (`conflict` for a versioned write
    /// whose conflict was resolved in the server's favour).
    Nack {
        /// The server's error code (`forbidden`, `rate_limited`, `conflict`, ...), or
        /// `"refused"` when it gave none.
        code: String,
        /// The server's explanation, if any.
        message: String,
    },
    /// No answer within the timeout (5 s by default). The update was not delivered, or its
    /// answer was lost; the next room snapshot shows the server's truth.
    Timeout,
    /// The connection failed after the update left the outbox, or the outbox dropped it.
    ConnectionFailed,
}

impl fmt::Display for RollbackReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Nack { code, message } if message.is_empty() => write!(f, "refused: {code}"),
            Self::Nack { code, message } => write!(f, "refused: {code}: {message}"),
            Self::Timeout => f.write_str("no answer in time"),
            Self::ConnectionFailed => f.write_str("the connection failed"),
        }
    }
}

/// The verdict on an update.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// The server accepted it; its ack's first argument (`Null` if it sent none).
    Confirmed {
        /// The server's answer.
        reply: Value,
    },
    /// Undo it.
    RolledBack {
        /// Why.
        reason: RollbackReason,
    },
}

/// One verdict, with what the app needs to act on it.
#[derive(Debug, Clone, PartialEq)]
pub struct OptimisticOutcome {
    /// The update.
    pub id: OptimisticId,
    /// Its room.
    pub room: String,
    /// Its event name.
    pub event: String,
    /// The payload that was sent (what to roll back).
    pub payload: Value,
    /// Confirmed or rolled back.
    pub verdict: Verdict,
}

#[derive(Debug, Clone)]
struct Pending {
    room: String,
    event: String,
    payload: Value,
    deadline: Instant,
}

/// Tracks optimistic updates until their verdict.
#[derive(Debug, Clone, Default)]
pub struct OptimisticTracker {
    pending: BTreeMap<OptimisticId, Pending>,
    outcomes: VecDeque<OptimisticOutcome>,
}

impl OptimisticTracker {
    /// An empty tracker.
    pub fn new() -> Self {
        Self::default()
    }

    /// An update was sent; it rolls back with `Timeout` unless settled within `timeout`.
    /// Re-using the id of a pending update replaces it (a re-send after a conflict).
    pub fn begin(
        &mut self,
        id: OptimisticId,
        room: &str,
        event: &str,
        payload: Value,
        timeout: Duration,
        now: Instant,
    ) {
        let pending = Pending {
            room: room.to_owned(),
            event: event.to_owned(),
            payload,
            deadline: now + timeout.min(MAX_DURATION),
        };
        self.pending.insert(id, pending);
    }

    /// True while the update awaits its verdict.
    pub fn is_pending(&self, id: &OptimisticId) -> bool {
        self.pending.contains_key(id)
    }

    /// Updates awaiting their verdict.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// True with nothing pending.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// The server answered. `{ok: false, ...}` rolls back (`Nack`), anything else confirms.
    /// Returns false when the update already has its verdict (the answer is ignored).
    pub fn acknowledged(&mut self, id: &OptimisticId, reply: Option<&Value>) -> bool {
        let verdict = match reply.and_then(refusal) {
            Some(reason) => Verdict::RolledBack { reason },
            None => Verdict::Confirmed { reply: reply.cloned().unwrap_or(Value::Null) },
        };
        self.settle(id, verdict)
    }

    /// The update failed without an answer. Returns false if it already had its verdict.
    pub fn failed(&mut self, id: &OptimisticId, reason: RollbackReason) -> bool {
        self.settle(id, Verdict::RolledBack { reason })
    }

    /// Settles with an explicit verdict (versioned writes decide conflicts themselves).
    /// Returns false if the update already had its verdict.
    pub fn settle(&mut self, id: &OptimisticId, verdict: Verdict) -> bool {
        let Some(p) = self.pending.remove(id) else { return false };
        self.outcomes.push_back(OptimisticOutcome {
            id: id.clone(),
            room: p.room,
            event: p.event,
            payload: p.payload,
            verdict,
        });
        true
    }

    /// Every pending update of `room` fails (the app left the room).
    pub fn fail_room(&mut self, room: &str, reason: &RollbackReason) {
        let ids: Vec<_> =
            self.pending.iter().filter(|(_, p)| p.room == room).map(|(id, _)| id.clone()).collect();
        for id in ids {
            self.failed(&id, reason.clone());
        }
    }

    /// The earliest deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.pending.values().map(|p| p.deadline).min()
    }

    /// Rolls back what ran out of time (calling it early is harmless).
    pub fn handle_timeout(&mut self, now: Instant) {
        let due: Vec<_> = self
            .pending
            .iter()
            .filter(|(_, p)| p.deadline <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in due {
            self.failed(&id, RollbackReason::Timeout);
        }
    }

    /// The next verdict for the app.
    pub fn poll_outcome(&mut self) -> Option<OptimisticOutcome> {
        self.outcomes.pop_front()
    }
}

/// Reads an error ack: `{ok: false, error?, message?}`.
pub(crate) fn refusal(reply: &Value) -> Option<RollbackReason> {
    if reply.get("ok").and_then(Value::as_bool) != Some(false) {
        return None;
    }
    let text = |key: &str| reply.get(key).and_then(Value::as_str).map(str::to_owned);
    Some(RollbackReason::Nack {
        code: text("error").unwrap_or_else(|| "refused".to_owned()),
        message: text("message").unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TIMEOUT: Duration = Duration::from_secs(5);

    fn id(s: &str) -> OptimisticId {
        OptimisticId(s.to_owned())
    }

    fn outcomes(t: &mut OptimisticTracker) -> Vec<OptimisticOutcome> {
        std::iter::from_fn(|| t.poll_outcome()).collect()
    }

    fn started(t0: Instant) -> OptimisticTracker {
        let mut t = OptimisticTracker::new();
        t.begin(id("u1"), "doc", "pricing-update", json!({"amount": 10}), TIMEOUT, t0);
        t
    }

    #[test]
    fn an_ok_ack_confirms_exactly_once() {
        let t0 = Instant::now();
        let mut t = started(t0);
        assert!(t.acknowledged(&id("u1"), Some(&json!({"ok": true, "version": 2}))));
        assert!(!t.acknowledged(&id("u1"), Some(&json!({"ok": true}))), "a second answer");
        t.handle_timeout(t0 + TIMEOUT * 2);
        let got = outcomes(&mut t);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].verdict, Verdict::Confirmed { reply: json!({"ok": true, "version": 2}) });
        assert_eq!(got[0].payload, json!({"amount": 10}));
        assert!(t.is_empty());
    }

    #[test]
    fn a_nack_rolls_back_with_the_payload_and_the_servers_reason() {
        let t0 = Instant::now();
        let mut t = started(t0);
        let nack = json!({"ok": false, "error": "forbidden", "message": "viewers cannot edit"});
        t.acknowledged(&id("u1"), Some(&nack));
        t.failed(&id("u1"), RollbackReason::ConnectionFailed);
        let got = outcomes(&mut t);
        assert_eq!(got.len(), 1, "exactly one verdict");
        assert_eq!(got[0].payload, json!({"amount": 10}));
        assert_eq!(
            got[0].verdict,
            Verdict::RolledBack {
                reason: RollbackReason::Nack {
                    code: "forbidden".into(),
                    message: "viewers cannot edit".into()
                }
            }
        );
    }

    #[test]
    fn no_answer_rolls_back_on_timeout_exactly_once() {
        let t0 = Instant::now();
        let mut t = started(t0);
        assert_eq!(t.poll_timeout(), Some(t0 + TIMEOUT));
        t.handle_timeout(t0 + TIMEOUT - Duration::from_millis(1));
        assert!(outcomes(&mut t).is_empty());
        t.handle_timeout(t0 + TIMEOUT);
        t.handle_timeout(t0 + TIMEOUT * 2);
        assert!(!t.acknowledged(&id("u1"), Some(&json!({"ok": true}))), "too late");
        let got = outcomes(&mut t);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].verdict, Verdict::RolledBack { reason: RollbackReason::Timeout });
        assert_eq!(t.poll_timeout(), None);
    }

    #[test]
    fn a_connection_failure_rolls_back() {
        let t0 = Instant::now();
        let mut t = started(t0);
        assert!(t.failed(&id("u1"), RollbackReason::ConnectionFailed));
        assert!(matches!(
            outcomes(&mut t).as_slice(),
            [OptimisticOutcome {
                verdict: Verdict::RolledBack { reason: RollbackReason::ConnectionFailed },
                ..
            }]
        ));
    }

    #[test]
    fn an_empty_or_non_object_ack_confirms() {
        let t0 = Instant::now();
        let mut t = started(t0);
        t.acknowledged(&id("u1"), None);
        assert_eq!(outcomes(&mut t)[0].verdict, Verdict::Confirmed { reply: Value::Null });
        let mut t = started(t0);
        t.acknowledged(&id("u1"), Some(&json!("fine")));
        assert_eq!(outcomes(&mut t)[0].verdict, Verdict::Confirmed { reply: json!("fine") });
    }

    #[test]
    fn a_nack_without_details_still_rolls_back() {
        let t0 = Instant::now();
        let mut t = started(t0);
        t.acknowledged(&id("u1"), Some(&json!({"ok": false})));
        assert_eq!(
            outcomes(&mut t)[0].verdict,
            Verdict::RolledBack {
                reason: RollbackReason::Nack { code: "refused".into(), message: String::new() }
            }
        );
    }

    #[test]
    fn begin_again_with_the_same_id_rearms_the_deadline() {
        let t0 = Instant::now();
        let mut t = started(t0);
        let later = t0 + Duration::from_secs(3);
        t.begin(id("u1"), "doc", "pricing-update", json!({"amount": 11}), TIMEOUT, later);
        t.handle_timeout(t0 + TIMEOUT);
        assert!(outcomes(&mut t).is_empty());
        assert_eq!(t.poll_timeout(), Some(later + TIMEOUT));
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn leaving_a_room_fails_its_updates_only() {
        let t0 = Instant::now();
        let mut t = started(t0);
        t.begin(id("u2"), "other", "pricing-update", json!(1), TIMEOUT, t0);
        t.fail_room("doc", &RollbackReason::ConnectionFailed);
        let got = outcomes(&mut t);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].id, id("u1"));
        assert!(t.is_pending(&id("u2")));
    }
}
