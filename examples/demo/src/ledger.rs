//! Bookkeeping of one collaborator's optimistic updates: every id the helper handed out, and
//! every verdict that came back, so the demo can prove each update settled exactly once.

use std::collections::{BTreeMap, BTreeSet};
use tether_core::{OptimisticId, OptimisticOutcome, Verdict};

/// Issued ids and their verdicts. Verdicts may arrive before the id is recorded (they travel
/// on another channel), so both sides are kept and compared at the end.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    issued: BTreeSet<OptimisticId>,
    verdicts: BTreeMap<OptimisticId, Verdicts>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Verdicts {
    confirmed: u32,
    rolled_back: u32,
}

impl Verdicts {
    fn total(self) -> u32 {
        self.confirmed + self.rolled_back
    }
}

/// The ledger's figures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LedgerCounts {
    /// Updates handed out.
    pub issued: usize,
    /// Verdicts that confirmed.
    pub confirmed: usize,
    /// Verdicts that rolled back.
    pub rolled_back: usize,
    /// Issued updates still without a verdict.
    pub unsettled: usize,
    /// Updates that got more than one verdict.
    pub settled_twice: usize,
    /// Verdicts for ids never issued.
    pub unknown: usize,
}

impl LedgerCounts {
    /// True when every issued update has exactly one verdict and nothing else came.
    pub fn all_settled_once(&self) -> bool {
        self.unsettled == 0 && self.settled_twice == 0 && self.unknown == 0
    }
}

impl Ledger {
    /// An empty ledger.
    pub fn new() -> Self {
        Self::default()
    }

    /// The helper returned `id` for an update.
    pub fn issued(&mut self, id: OptimisticId) {
        self.issued.insert(id);
    }

    /// A verdict arrived.
    pub fn settled(&mut self, outcome: &OptimisticOutcome) {
        let entry = self.verdicts.entry(outcome.id.clone()).or_default();
        match outcome.verdict {
            Verdict::Confirmed { .. } => entry.confirmed += 1,
            Verdict::RolledBack { .. } => entry.rolled_back += 1,
        }
    }

    /// The figures now.
    pub fn counts(&self) -> LedgerCounts {
        let sum = |pick: fn(&Verdicts) -> u32| {
            self.verdicts.values().map(|v| usize::try_from(pick(v)).unwrap_or(usize::MAX)).sum()
        };
        LedgerCounts {
            issued: self.issued.len(),
            confirmed: sum(|v| v.confirmed),
            rolled_back: sum(|v| v.rolled_back),
            unsettled: self.issued.iter().filter(|id| !self.verdicts.contains_key(*id)).count(),
            settled_twice: self.verdicts.values().filter(|v| v.total() > 1).count(),
            unknown: self.verdicts.keys().filter(|id| !self.issued.contains(*id)).count(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tether_core::RollbackReason;

    fn outcome(id: &str, confirmed: bool) -> OptimisticOutcome {
        OptimisticOutcome {
            id: OptimisticId(id.to_owned()),
            room: "estimate".to_owned(),
            event: "pricing-update".to_owned(),
            payload: json!({"value": 1}),
            verdict: if confirmed {
                Verdict::Confirmed { reply: json!({"ok": true}) }
            } else {
                Verdict::RolledBack { reason: RollbackReason::Timeout }
            },
        }
    }

    #[test]
    fn every_issued_update_with_one_verdict_is_settled_once() {
        let mut ledger = Ledger::new();
        ledger.issued(OptimisticId("a".into()));
        ledger.settled(&outcome("b", false)); // the verdict may overtake the id
        ledger.issued(OptimisticId("b".into()));
        assert_eq!(ledger.counts().unsettled, 1);
        ledger.settled(&outcome("a", true));
        let counts = ledger.counts();
        assert!(counts.all_settled_once(), "{counts:?}");
        assert_eq!((counts.issued, counts.confirmed, counts.rolled_back), (2, 1, 1));
    }

    #[test]
    fn a_second_verdict_or_a_stranger_breaks_exactly_once() {
        let mut ledger = Ledger::new();
        ledger.issued(OptimisticId("a".into()));
        ledger.settled(&outcome("a", true));
        ledger.settled(&outcome("a", false));
        assert_eq!(ledger.counts().settled_twice, 1);
        let mut ledger = Ledger::new();
        ledger.settled(&outcome("x", true));
        assert_eq!(ledger.counts().unknown, 1);
        assert!(!ledger.counts().all_settled_once());
    }
}
