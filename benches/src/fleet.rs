//! The W3 fleet (issue 14): the herd a server restart causes, as the server sees it. W3
//! (`restarts.rs`) times one client's reconnect; a first retry that is fast for one client must
//! still spread a fleet's reconnects, or a restarted server meets all of them at once.
//!
//! For each client kind in turn, one process holds 1,000 clients of that kind (the W3 and phx3
//! reconnect processes, `--clients 1000`: `reconnect.rs`, js-client.js, phoenix-client.js), all
//! connected and joined; then trials as W3 runs them: after 6 s connected (so every backoff
//! starts afresh) the server is killed (SIGKILL) and started again on the same port 500 ms
//! later. The server, started with `--record-arrivals`, keeps the time of every connection it
//! accepts (the Engine.IO handshake; for Phoenix the socket's WebSocket upgrade) and hands the
//! list over when asked on stdin, so it prints nothing during the herd. A trial waits until
//! every client is back at the server (at most 60 s), then until the process says every client
//! is ready again (room re-joined, queued message acknowledged: W3's trial).
//!
//! Figures of a trial, from the new server's `listening`: `busiest_100ms` (the most arrivals in
//! any 100 ms window: lower is a wider spread), `arrival_p50_ms`, `arrival_p90_ms`,
//! `arrival_max_ms`, and `back` (how many came back). A pass records the median of its trials
//! (`back`: the fewest); every trial's figures are kept as a JSON line, the arrivals and the
//! trials' `busiest_100ms` as distributions.

use crate::measure::{percentile, R};
use crate::passes::{cmp, median, rotated, Better, Comparison, Results};
use crate::phoenix::{PHOENIX_JS, TETHER};
use crate::procs::{Job, Server, ServerKind};
use crate::restarts::{CONNECTED_BEFORE_KILL, DOWN_FOR};
use serde_json::{json, Map, Value};
use std::time::Duration;
use tokio::time::{sleep, sleep_until, Instant};

/// The results' workload names: against the Node Socket.IO server, against the Phoenix one.
pub const SOCKET_IO: &str = "w3fleet";
pub const PHOENIX: &str = "phx3fleet";

/// How long a trial waits for every client to be back (and then to be ready again).
const BACK_WITHIN: Duration = Duration::from_secs(60);
/// How long the process may take to connect and join all its clients.
const CONNECTING_WITHIN: Duration = Duration::from_secs(180);
/// How often the server is asked for its arrivals while the clients come back.
const ASK_EVERY: Duration = Duration::from_millis(500);
/// The window of `busiest_100ms`.
const WINDOW_MS: f64 = 100.0;

/// The comparisons of the report: fewer arrivals in the busiest 100 ms (a wider spread) and an
/// earlier median arrival are better.
pub const COMPARISONS: &[Comparison] = &[
    cmp(SOCKET_IO, "busiest_100ms", "tether", "socket.io-client", Better::Lower),
    cmp(SOCKET_IO, "busiest_100ms", "tether", "rust_socketio", Better::Lower),
    cmp(SOCKET_IO, "arrival_p50_ms", "tether", "socket.io-client", Better::Lower),
    cmp(SOCKET_IO, "arrival_p50_ms", "tether", "rust_socketio", Better::Lower),
    cmp(PHOENIX, "busiest_100ms", TETHER, PHOENIX_JS, Better::Lower),
    cmp(PHOENIX, "arrival_p50_ms", TETHER, PHOENIX_JS, Better::Lower),
];

/// What the server saw of one trial.
#[derive(Debug, Clone, PartialEq)]
pub struct Herd {
    /// When each connection arrived, in ms after the new server's `listening`, in order.
    pub arrivals_ms: Vec<f64>,
}

impl Herd {
    pub fn new(listening_at_us: u64, arrivals_us: &[u64]) -> Self {
        let listening = listening_at_us as f64;
        let mut arrivals_ms: Vec<f64> =
            arrivals_us.iter().map(|t| (*t as f64 - listening) / 1000.0).collect();
        arrivals_ms.sort_by(f64::total_cmp);
        Self { arrivals_ms }
    }

    /// The most arrivals in any window `[t, t + window_ms)`: the busiest such window starts at
    /// an arrival, so two indices walking the sorted times find it.
    pub fn busiest(&self, window_ms: f64) -> usize {
        let times = &self.arrivals_ms;
        let mut first = 0;
        let mut most = 0;
        for (last, at) in times.iter().enumerate() {
            while at - times[first] >= window_ms {
                first += 1;
            }
            most = most.max(last - first + 1);
        }
        most
    }

    /// The trial's figures: name, value, unit.
    pub fn figures(&self) -> [(&'static str, f64, &'static str); 5] {
        let at = |p: f64| percentile(&self.arrivals_ms, p);
        [
            ("busiest_100ms", self.busiest(WINDOW_MS) as f64, "arrivals"),
            ("arrival_p50_ms", at(50.0), "ms"),
            ("arrival_p90_ms", at(90.0), "ms"),
            ("arrival_max_ms", self.arrivals_ms.last().copied().unwrap_or(f64::NAN), "ms"),
            ("back", self.arrivals_ms.len() as f64, "clients"),
        ]
    }
}

/// One pass of the fleet against a server of `server` kind: each of `kinds` in turn, `clients`
/// clients in one process, `trials` restarts.
pub async fn fleet_pass(
    pass: usize,
    server: ServerKind,
    kinds: &[&str],
    clients: usize,
    trials: usize,
    results: &mut Results,
) -> R<()> {
    let workload = match server {
        ServerKind::Node => SOCKET_IO,
        ServerKind::Phoenix => PHOENIX,
        ServerKind::Bare => return Err("the fleet needs a server that keeps arrivals".into()),
    };
    for kind in rotated(kinds, pass) {
        eprintln!("== {workload} {kind} ({clients} clients)");
        let mut herds = Vec::new();
        let outcome = run_trials(server, kind, clients, trials, &mut herds).await;
        record(pass, workload, kind, server.label(), &herds, results);
        if let Err(e) = outcome {
            eprintln!("!! {workload} {kind}: {e}");
        }
    }
    Ok(())
}

/// The trials of one kind; each trial's herd is pushed as soon as it is measured, so the trials
/// before a failure are kept.
async fn run_trials(
    server: ServerKind,
    kind: &str,
    clients: usize,
    trials: usize,
    herds: &mut Vec<Herd>,
) -> R<()> {
    let process_workload = if server == ServerKind::Phoenix { "phx3" } else { "w3" };
    let mut srv = Server::start(server, 0, &["--record-arrivals"]).await?;
    let (port, extra) = (srv.port, srv.extra().to_vec());
    let url = srv.url();
    let mut proc = Job { clients, ..Job::new(kind, process_workload, &url, 0) }.spawn()?;
    let mut ignored = Vec::new();
    proc.expect("ready", CONNECTING_WITHIN, &mut ignored).await?;
    for trial in 0..trials {
        sleep(CONNECTED_BEFORE_KILL).await;
        let killed_at = Instant::now();
        srv.kill().await?;
        proc.send("down").await?;
        proc.expect("down-ok", BACK_WITHIN, &mut ignored).await?;
        sleep_until(killed_at + DOWN_FOR).await;
        srv = Server::restart(server, port, &extra).await?;
        proc.send("up").await?;
        let deadline = Instant::now() + BACK_WITHIN;
        let arrivals = loop {
            let arrivals = srv.arrivals().await?;
            if arrivals.len() >= clients || Instant::now() >= deadline {
                break arrivals;
            }
            sleep(ASK_EVERY).await;
        };
        let herd = Herd::new(srv.listening_at_us, &arrivals);
        let back = herd.arrivals_ms.len();
        eprintln!("   trial {}: {back} of {clients} back at the server", trial + 1);
        herds.push(herd);
        if back < clients {
            return Err(format!("only {back} of {clients} back within {BACK_WITHIN:?}").into());
        }
        proc.expect("trial", BACK_WITHIN, &mut ignored).await?;
    }
    let _ = proc.send("quit").await;
    srv.kill().await?;
    Ok(())
}

/// Adds one kind's trials to the results: a JSON line per trial, the pass's median of each
/// figure (`back`: the fewest), and the distributions.
fn record(
    pass: usize,
    workload: &str,
    kind: &str,
    server: &str,
    herds: &[Herd],
    results: &mut Results,
) {
    let figures: Vec<_> = herds.iter().map(Herd::figures).collect();
    for (trial, (herd, figures)) in herds.iter().zip(&figures).enumerate() {
        let line: Map<String, Value> =
            figures.iter().map(|(name, value, _)| ((*name).to_owned(), json!(value))).collect();
        results.trial(pass, workload, kind, trial, Value::Object(line));
        results.add_samples(pass, workload, kind, "arrival_ms", "ms", &herd.arrivals_ms);
        let busiest = figures[0].1;
        results.add_samples(pass, workload, kind, "busiest_100ms", "arrivals", &[busiest]);
    }
    let Some(first) = figures.first() else { return };
    for (i, (name, _, unit)) in first.iter().enumerate() {
        let values: Vec<f64> = figures.iter().map(|f| f[i].1).collect();
        let value = if *name == "back" {
            values.iter().copied().fold(f64::INFINITY, f64::min)
        } else {
            median(&values)
        };
        results.add(pass, workload, kind, server, name, value, unit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_busiest_window_counts_arrivals_less_than_100_ms_apart() {
        // Listening at 1 s; arrivals at 10, 50, 109.999, 110, 300, 305, 310 ms after it.
        let at = |ms: f64| 1_000_000 + (ms * 1000.0) as u64;
        let herd = Herd::new(
            at(0.0),
            &[at(300.0), at(10.0), at(110.0), at(50.0), at(305.0), at(310.0), at(109.999)],
        );
        // [10, 110) holds 10, 50, 109.999; [50, 150) holds 50, 109.999, 110; [300, 400) three.
        assert_eq!(herd.busiest(100.0), 3);
        assert_eq!(herd.busiest(100.002), 4);
        let figures = herd.figures();
        assert_eq!(figures[0], ("busiest_100ms", 3.0, "arrivals"));
        assert_eq!(figures[1], ("arrival_p50_ms", 110.0, "ms"));
        assert_eq!(figures[3], ("arrival_max_ms", 310.0, "ms"));
        assert_eq!(figures[4], ("back", 7.0, "clients"));
    }

    #[test]
    fn nobody_back_is_no_arrival_in_any_window() {
        let herd = Herd::new(5, &[]);
        assert_eq!(herd.busiest(100.0), 0);
        assert_eq!(herd.figures()[4].1, 0.0);
        assert!(herd.figures()[1].1.is_nan());
    }

    #[test]
    fn a_pass_records_the_median_trial_and_the_fewest_back() {
        let mut results = Results::default();
        let herds = [
            Herd::new(0, &[1_000, 2_000, 3_000]),
            Herd::new(0, &[1_000, 500_000]),
            Herd::new(0, &[1_000, 200_000, 400_000]),
        ];
        record(0, SOCKET_IO, "tether", "node", &herds, &mut results);
        let lines: Vec<Value> =
            results.jsonl().lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
        let pass_value = |figure: &str| {
            let row = lines.iter().find(|l| l["figure"] == figure && l.get("value").is_some());
            row.map(|l| l["value"].clone())
        };
        // busiest: 3, 1, 1 -> median 1; back: 3, 2, 3 -> fewest 2; p50: 2, 500, 200 -> 200.
        assert_eq!(pass_value("busiest_100ms"), Some(json!(1.0)));
        assert_eq!(pass_value("back"), Some(json!(2.0)));
        assert_eq!(pass_value("arrival_p50_ms"), Some(json!(200.0)));
        let jsonl = results.jsonl();
        assert_eq!(jsonl.matches(r#""trial":"#).count(), 3, "{jsonl}");
    }
}
