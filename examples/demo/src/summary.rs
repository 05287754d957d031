//! The end-of-run report: per client counters and latency, the rosters, and the verdict on
//! convergence (all connected, every roster exactly the live collaborators, outboxes empty,
//! every optimistic update settled exactly once).

use crate::collaborator::ClientView;
use crate::simulation::SimulationView;
use std::fmt;
use std::time::Duration;

/// What the summary says about one client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientReport {
    /// Display name.
    pub name: String,
    /// Role in the room.
    pub role: &'static str,
    /// Connection state name (`connected`, `reconnecting`, ...).
    pub state: &'static str,
    /// Successful connects, the first included.
    pub connects: u64,
    /// Messages handed to the engine.
    pub sent: u64,
    /// Acknowledgements received.
    pub acked: u64,
    /// Optimistic updates confirmed.
    pub confirmed: usize,
    /// Optimistic updates rolled back.
    pub rolled_back: usize,
    /// Versioned-write conflicts met.
    pub conflicts: u64,
    /// Optimistic updates still waiting for a verdict.
    pub unsettled: usize,
    /// Helper calls the engine refused before sending (closed client, full outbox).
    pub refused_before_sending: u64,
    /// Optimistic updates with more than one verdict.
    pub settled_twice: usize,
    /// Verdicts for updates never issued.
    pub unknown_verdicts: usize,
    /// Messages in the outbox at the end.
    pub queued: usize,
    /// The most messages waiting in the outbox at once during the run.
    pub peak_queued: usize,
    /// Messages the outbox dropped.
    pub dropped: u64,
    /// Median heartbeat round trip.
    pub p50: Option<Duration>,
    /// 99th percentile heartbeat round trip.
    pub p99: Option<Duration>,
    /// User ids in this client's roster, in roster order.
    pub roster: Vec<String>,
    /// Whether the roster was rebuilt from the server since the last disconnect.
    pub roster_synced: bool,
}

impl ClientReport {
    /// Reads a client's view.
    pub fn from_view(view: &ClientView) -> Self {
        let room = view.room.as_ref();
        Self {
            name: view.persona.name.to_owned(),
            role: view.persona.role_name(),
            state: view.state.name(),
            connects: view.stats.connect_count,
            sent: view.stats.messages_sent,
            acked: view.stats.acked,
            confirmed: view.ledger.confirmed,
            rolled_back: view.ledger.rolled_back,
            conflicts: view.conflicts,
            unsettled: view.ledger.unsettled,
            settled_twice: view.ledger.settled_twice,
            refused_before_sending: view.action_errors,
            unknown_verdicts: view.ledger.unknown,
            queued: view.stats.queued,
            peak_queued: view.peak_queued,
            dropped: view.stats.dropped,
            p50: view.stats.latency.p50,
            p99: view.stats.latency.p99,
            roster: room
                .map(|r| r.members.iter().map(|m| m.user_id.clone()).collect())
                .unwrap_or_default(),
            roster_synced: room.is_some_and(|r| r.synced),
        }
    }

    /// Reconnects: connects after the first.
    pub fn reconnects(&self) -> u64 {
        self.connects.saturating_sub(1)
    }
}

/// The run's report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// How long the collaborators worked.
    pub activity: Duration,
    /// How long settling took after they stopped.
    pub settling: Duration,
    /// How long the server was down for its restart.
    pub downtime: Duration,
    /// The behaviour seed (`--seed` replays the same behaviour).
    pub seed: u64,
    /// Server restarts.
    pub restarts: u32,
    /// The room.
    pub room: String,
    /// Who should be in every roster.
    pub live: Vec<String>,
    /// One report per client.
    pub clients: Vec<ClientReport>,
}

impl Summary {
    /// Builds the report from the final view.
    pub fn new(
        view: &SimulationView,
        activity: Duration,
        settling: Duration,
        downtime: Duration,
        seed: u64,
    ) -> Self {
        Self {
            activity,
            settling,
            downtime,
            seed,
            restarts: view.restarts,
            room: view.room.to_owned(),
            live: view.live_user_ids(),
            clients: view.clients.iter().map(ClientReport::from_view).collect(),
        }
    }

    /// Why the run did not converge; empty when it did.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut live = self.live.clone();
        live.sort();
        for c in &self.clients {
            let name = &c.name;
            if c.state != "connected" {
                problems.push(format!("{name} is {}, not connected", c.state));
            }
            if self.restarts > 0 && c.reconnects() == 0 {
                problems.push(format!("{name} never reconnected, so the restart proved nothing"));
            }
            let mut roster = c.roster.clone();
            roster.sort();
            if roster != live {
                problems.push(format!(
                    "{name}'s roster shows [{}], expected [{}]",
                    roster.join(", "),
                    live.join(", ")
                ));
            } else if !c.roster_synced {
                problems.push(format!("{name}'s roster was not rebuilt from the server"));
            }
            if c.queued > 0 {
                problems.push(format!("{name} still has {} queued message(s)", c.queued));
            }
            if c.unsettled > 0 {
                problems.push(format!("{name} has {} update(s) without a verdict", c.unsettled));
            }
            if c.settled_twice > 0 {
                problems.push(format!("{name} has {} update(s) settled twice", c.settled_twice));
            }
            if c.unknown_verdicts > 0 {
                let n = c.unknown_verdicts;
                problems.push(format!("{name} got {n} verdict(s) for updates never sent"));
            }
        }
        problems
    }

    /// True when every check passed.
    pub fn converged(&self) -> bool {
        self.problems().is_empty()
    }
}

/// A latency for people: `0.42 ms`, or `-` before any measurement.
fn millis(latency: Option<Duration>) -> String {
    latency.map_or_else(|| "-".to_owned(), |d| format!("{:.2} ms", d.as_secs_f64() * 1000.0))
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Tether demo: headless summary")?;
        writeln!(
            f,
            "  room {}, {:.1} s of activity, server restarted {} time(s) (down {:.1} s), \
             settled in {:.1} s, seed {}",
            self.room,
            self.activity.as_secs_f64(),
            self.restarts,
            self.downtime.as_secs_f64(),
            self.settling.as_secs_f64(),
            self.seed,
        )?;
        writeln!(f)?;
        writeln!(
            f,
            "  {:<6} {:<7} {:<10} {:>8} {:>10} {:>5} {:>5} {:>9} {:>11} {:>9} {:>11} {:>6} {:>9} {:>9}",
            "client",
            "role",
            "state",
            "connects",
            "reconnects",
            "sent",
            "acked",
            "confirmed",
            "rolled back",
            "conflicts",
            "peak queued",
            "queued",
            "p50",
            "p99"
        )?;
        for c in &self.clients {
            writeln!(
                f,
                "  {:<6} {:<7} {:<10} {:>8} {:>10} {:>5} {:>5} {:>9} {:>11} {:>9} {:>11} {:>6} {:>9} {:>9}",
                c.name,
                c.role,
                c.state,
                c.connects,
                c.reconnects(),
                c.sent,
                c.acked,
                c.confirmed,
                c.rolled_back,
                c.conflicts,
                c.peak_queued,
                c.queued,
                millis(c.p50),
                millis(c.p99),
            )?;
        }
        writeln!(f)?;
        writeln!(f, "  optimistic updates (issued = confirmed + rolled back, each exactly once):")?;
        for c in &self.clients {
            let issued = c.confirmed + c.rolled_back + c.unsettled;
            writeln!(
                f,
                "    {:<6} {issued} issued, {} confirmed, {} rolled back, {} unsettled, \
                 {} settled twice ({} helper calls refused before sending)",
                c.name,
                c.confirmed,
                c.rolled_back,
                c.unsettled,
                c.settled_twice,
                c.refused_before_sending
            )?;
        }
        writeln!(f, "  roster convergence (expected: {}):", self.live.join(", "))?;
        for c in &self.clients {
            let synced = if c.roster_synced { "synced" } else { "NOT synced" };
            writeln!(f, "    {:<6} sees {} ({synced})", c.name, c.roster.join(", "))?;
        }
        writeln!(f)?;
        let problems = self.problems();
        if problems.is_empty() {
            write!(f, "result: converged")
        } else {
            write!(f, "result: NOT converged: {}", problems.join("; "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(name: &str) -> ClientReport {
        ClientReport {
            name: name.to_owned(),
            role: "editor",
            state: "connected",
            connects: 2,
            sent: 100,
            acked: 20,
            confirmed: 15,
            rolled_back: 3,
            conflicts: 1,
            unsettled: 0,
            settled_twice: 0,
            refused_before_sending: 0,
            unknown_verdicts: 0,
            queued: 0,
            peak_queued: 4,
            dropped: 0,
            p50: Some(Duration::from_micros(400)),
            p99: None,
            roster: vec!["ben".into(), "ana".into()],
            roster_synced: true,
        }
    }

    fn summary(clients: Vec<ClientReport>) -> Summary {
        Summary {
            activity: Duration::from_secs(8),
            settling: Duration::from_millis(700),
            downtime: Duration::from_secs(2),
            seed: 42,
            restarts: 1,
            room: "estimate-42".into(),
            live: vec!["ana".into(), "ben".into()],
            clients,
        }
    }

    #[test]
    fn a_clean_run_converges_and_says_so() {
        let s = summary(vec![client("Ana"), client("Ben")]);
        assert!(s.converged(), "{:?}", s.problems());
        let text = s.to_string();
        assert!(text.ends_with("result: converged"), "{text}");
        assert!(text.contains("0.40 ms"), "{text}");
    }

    #[test]
    fn every_kind_of_divergence_is_named() {
        let mut ghost = client("Ana");
        ghost.roster.push("cleo".into());
        let mut offline = client("Ben");
        offline.state = "reconnecting";
        offline.queued = 3;
        offline.unsettled = 1;
        offline.roster_synced = false;
        let s = summary(vec![ghost, offline]);
        let problems = s.problems().join("\n");
        for needle in
            ["roster shows [ana, ben, cleo]", "Ben is reconnecting", "3 queued", "1 update"]
        {
            assert!(problems.contains(needle), "{needle} missing from {problems}");
        }
        assert!(s.to_string().contains("result: NOT converged"));
    }

    #[test]
    fn a_restart_nobody_noticed_is_not_convergence() {
        let mut unmoved = client("Ana");
        unmoved.connects = 1;
        assert!(summary(vec![unmoved, client("Ben")]).problems()[0].contains("never reconnected"));
    }
}
