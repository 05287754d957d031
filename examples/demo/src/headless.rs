//! The non-interactive run: the same simulation without a terminal UI. The collaborators work
//! for the given time, the server restarts once in the middle, then everyone rests and the run
//! waits (boundedly) for convergence before reporting.

use crate::activity_log::Entry;
use crate::args::MIN_SECONDS;
use crate::collaborator::Activity;
use crate::error::DemoError;
use crate::persona::CAST;
use crate::simulation::Simulation;
use crate::summary::Summary;
use std::time::Duration;
use tokio::time::{sleep, sleep_until, Instant};

/// How long settling may take: an update without an answer rolls back after 5 s (the
/// helpers' default), so everything has a verdict well within this.
const SETTLE_LIMIT: Duration = Duration::from_secs(10);

/// How often settling looks again.
const SETTLE_POLL: Duration = Duration::from_millis(100);

/// The restart's downtime for a run of `activity`: a quarter of it, within 0.5 to 3 s.
pub fn downtime_for(activity: Duration) -> Duration {
    (activity / 4).clamp(Duration::from_millis(500), Duration::from_secs(3))
}

/// Log lines a headless run hands back.
const LOG_LINES: usize = 200;

/// What a headless run produced.
#[derive(Debug, Clone)]
pub struct Report {
    /// Figures and the convergence verdict.
    pub summary: Summary,
    /// The activity log, oldest first.
    pub log: Vec<Entry>,
}

/// Runs for `seconds` with `collaborators` collaborators and reports (converged or not).
/// Errors are for what kept the run from happening at all.
pub async fn run(seconds: u64, collaborators: usize, seed: u64) -> Result<Report, DemoError> {
    if seconds < MIN_SECONDS || !(2..=CAST.len()).contains(&collaborators) {
        return Err(DemoError::Args(format!(
            "a headless run needs at least {MIN_SECONDS} s and 2 to {} collaborators",
            CAST.len()
        )));
    }
    let simulation = Simulation::start(collaborators, seed).await?;
    let result = drive(&simulation, Duration::from_secs(seconds), seed).await;
    let log = simulation.log().tail(LOG_LINES);
    simulation.shutdown().await;
    Ok(Report { summary: result?, log })
}

async fn drive(
    simulation: &Simulation,
    activity: Duration,
    seed: u64,
) -> Result<Summary, DemoError> {
    let started = Instant::now();
    let downtime = downtime_for(activity);
    // The downtime is centred on the middle of the run.
    sleep_until(started + (activity / 2).saturating_sub(downtime / 2)).await;
    if !simulation.restart_server(downtime).await? {
        return Err(DemoError::Scenario("the server was not up when its restart was due".into()));
    }
    sleep_until(started + activity).await;
    simulation.set_activity(Activity::Resting).await;
    let resting = Instant::now();
    loop {
        let view = simulation.view().await?;
        let summary = Summary::new(&view, activity, resting.elapsed(), downtime, seed);
        if summary.converged() || resting.elapsed() >= SETTLE_LIMIT {
            return Ok(summary);
        }
        sleep(SETTLE_POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn impossible_runs_are_refused_before_anything_starts() {
        assert!(matches!(run(1, 3, 0).await, Err(DemoError::Args(_))));
        assert!(matches!(run(8, 0, 0).await, Err(DemoError::Args(_))));
    }

    #[test]
    fn downtime_is_a_quarter_of_the_run_within_bounds() {
        assert_eq!(downtime_for(Duration::from_secs(8)), Duration::from_secs(2));
        assert_eq!(downtime_for(Duration::from_secs(4)), Duration::from_secs(1));
        assert_eq!(downtime_for(Duration::from_secs(60)), Duration::from_secs(3));
        assert_eq!(downtime_for(Duration::from_secs(1)), Duration::from_millis(500));
    }
}
