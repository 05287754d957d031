//! `tether-bench all`: starts the servers, runs every workload in several passes (`passes.rs`:
//! every client once per pass, in an order rotated from pass to pass, one process per
//! measurement), prints one JSON line per figure, then the report: medians with the range of
//! the pass values, Tether / peer ratios per pass and the verdicts that flipped, and the
//! distributions of reconnect times. Everything also goes to target/bench/results.{jsonl,md}.
//!
//! ```text
//! tether-bench all [--quick] [--passes N] [--only w1,w2,w3,w4,w5,w6,w7,fleet,polling,phoenix]
//! ```

use crate::fleet::fleet_pass;
use crate::measure::R;
use crate::passes::{cmp, median, report, rotated, Better, Comparison, Results, Target};
use crate::procs::{repo, Job, Proc, Server, ServerKind};
use crate::restarts::{reconnect_pass, w7};
use serde_json::{json, Value};
use std::time::Duration;

/// Workload sizes; `--quick` shrinks them for a smoke run.
struct Sizes {
    w1: usize,
    /// W2: messages, trials per pass (its bottleneck, the Node server, varies from run to run).
    w2: (usize, usize),
    /// W3 and Phoenix P3: trials per pass, clients per process.
    reconnect_trials: usize,
    reconnect_clients: usize,
    w4: usize,
    w5: usize,
    w6: usize,
    w7: usize,
    /// The W3 fleet: clients in the one process of each kind, trials per pass.
    fleet: (usize, usize),
    polling: crate::polling::Sizes,
    /// Phoenix P1 round trips, P2 pushes, P4 connections.
    phx: (usize, usize, usize),
}

const FULL: Sizes = Sizes {
    w1: 10_000,
    w2: (100_000, 3),
    reconnect_trials: 3,
    reconnect_clients: 10,
    w4: 1_000,
    w5: 100,
    w6: 200_000,
    w7: 10_000,
    fleet: (1_000, 3),
    polling: crate::polling::Sizes { p1: 2_000, p2: 20_000, p3: 11 },
    phx: (10_000, 50_000, 1_000),
};
const QUICK: Sizes = Sizes {
    w1: 500,
    w2: (5_000, 1),
    reconnect_trials: 1,
    reconnect_clients: 2,
    w4: 50,
    w5: 10,
    w6: 10_000,
    w7: 500,
    fleet: (100, 1),
    polling: crate::polling::Sizes { p1: 200, p2: 2_000, p3: 3 },
    phx: (500, 5_000, 50),
};

/// Passes when `--passes` is not given.
const DEFAULT_PASSES: usize = 3;

/// The workloads in the order a pass runs them.
const ORDER: [&str; 10] = ["w1", "w2", "w4", "w5", "w3", "fleet", "w7", "polling", "phoenix", "w6"];

/// Socket.IO kinds meet the Node server, raw WebSocket kinds the bare server.
const SOCKET_IO_KINDS: [&str; 3] = ["tether", "socket.io-client", "rust_socketio"];
const RAW_KINDS: [&str; 2] = ["tether-raw", "bare"];
use crate::idle::W5_NO_LATENCY;

/// Which figures are compared, Tether kind first, and whether lower or higher is better.
const COMPARISONS: &[Comparison] = &[
    cmp("w1", "p50_us", "tether", "socket.io-client", Better::Lower),
    cmp("w1", "p50_us", "tether", "rust_socketio", Better::Lower),
    cmp("w1", "p50_us", "tether-raw", "bare", Better::Lower),
    cmp("w1", "p99_us", "tether", "socket.io-client", Better::Lower),
    cmp("w1", "p99_us", "tether", "rust_socketio", Better::Lower),
    cmp("w1", "p99_us", "tether-raw", "bare", Better::Lower),
    cmp("w1", "max_us", "tether", "socket.io-client", Better::Lower),
    cmp("w1", "max_us", "tether", "rust_socketio", Better::Lower),
    cmp("w1", "max_us", "tether-raw", "bare", Better::Lower),
    cmp("w2", "msgs_per_s", "tether", "socket.io-client", Better::Higher),
    cmp("w2", "msgs_per_s", "tether", "rust_socketio", Better::Higher),
    cmp("w2", "msgs_per_s", "tether-raw", "bare", Better::Higher),
    cmp("w2", "client_cpu_us_per_msg", "tether", "socket.io-client", Better::Lower),
    cmp("w2", "client_cpu_us_per_msg", "tether", "rust_socketio", Better::Lower),
    cmp("w2", "client_cpu_us_per_msg", "tether-raw", "bare", Better::Lower),
    cmp("w3", "connected_p50_ms", "tether", "socket.io-client", Better::Lower),
    cmp("w3", "connected_p50_ms", "tether", "rust_socketio", Better::Lower),
    cmp("w3", "ready_p50_ms", "tether", "socket.io-client", Better::Lower),
    cmp("w3", "ready_p50_ms", "tether", "rust_socketio", Better::Lower),
    cmp("w3", "connected_p50_ms", "tether+hint", "socket.io-client", Better::Lower),
    cmp("w3", "ready_p50_ms", "tether+hint", "socket.io-client", Better::Lower),
    cmp("w4", "bytes_per_conn", "tether", "socket.io-client", Better::Lower),
    cmp("w4", "bytes_per_conn", "tether", "rust_socketio", Better::Lower),
    cmp("w4", "bytes_per_conn", "tether-raw", "bare", Better::Lower),
    cmp("w5", "cpu_ms_20s", "tether", "socket.io-client", Better::Lower),
    cmp("w5", "cpu_ms_20s", "tether", "rust_socketio", Better::Lower),
    cmp("w5", "cpu_ms_20s", "tether-raw", "bare", Better::Lower),
    cmp("w5", "cpu_ms_20s", W5_NO_LATENCY, "rust_socketio", Better::Lower),
    cmp("w5", "cpu_us_per_wakeup", "tether", "rust_socketio", Better::Lower),
    cmp("w5", "cpu_us_per_wakeup", W5_NO_LATENCY, "rust_socketio", Better::Lower),
    cmp("w7", "flush_ms", "tether", "socket.io-client", Better::Lower),
];

/// W6 has a target instead of a peer: 200,000 per second.
const fn w6_target(ours: &'static str, figure: &'static str) -> Target {
    Target { workload: "w6", figure, ours, value: 200_000.0, better: Better::Higher }
}
const W6_TARGETS: &[Target] = &[
    w6_target("tether-raw", "callbacks_per_s"),
    w6_target("tether-raw", "batched_events_per_s"),
    w6_target("tether-kotlin", "emits_per_s"),
    w6_target("tether-kotlin", "jna_emits_per_s"),
    w6_target("tether-kotlin", "batched_emits_per_s"),
    w6_target("tether-kotlin", "callbacks_per_s"),
    w6_target("tether-kotlin", "jna_callbacks_per_s"),
    w6_target("tether-kotlin", "flow_callbacks_per_s"),
    w6_target("tether-kotlin", "batched_events_per_s"),
    w6_target("tether-swift", "emits_per_s"),
    w6_target("tether-swift", "batched_emits_per_s"),
    w6_target("tether-swift", "callbacks_per_s"),
    w6_target("tether-swift", "batched_events_per_s"),
];

/// The servers every pass shares.
struct Servers {
    node: Server,
    bare: Server,
    phoenix: Option<Server>,
}

impl Servers {
    fn for_kind(&self, kind: &str) -> &Server {
        if RAW_KINDS.contains(&kind) {
            &self.bare
        } else {
            &self.node
        }
    }
}

pub async fn run(args: &[String]) -> R<()> {
    let quick = args.iter().any(|a| a == "--quick");
    let value_of = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1));
    let only: Option<Vec<String>> =
        value_of("--only").map(|list| list.split(',').map(str::to_owned).collect());
    let passes = match value_of("--passes") {
        Some(n) => n.parse::<usize>().map_err(|e| format!("--passes {n}: {e}"))?.max(1),
        None => DEFAULT_PASSES,
    };
    let wanted = |w: &str| only.as_ref().is_none_or(|o| o.iter().any(|x| x == w));
    let sizes = if quick { QUICK } else { FULL };
    let mut results = Results::default();
    let phoenix = if wanted("phoenix") {
        Some(Server::start(ServerKind::Phoenix, 0, &[]).await?)
    } else {
        None
    };
    let servers = Servers {
        node: Server::start(ServerKind::Node, 0, &[]).await?,
        bare: Server::start(ServerKind::Bare, 0, &[]).await?,
        phoenix,
    };
    warm_up(&sizes, &servers, &wanted).await;
    for pass in 0..passes {
        let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        let load: Vec<&str> = load.split_whitespace().take(3).collect();
        let started = crate::measure::epoch_us() / 1_000_000;
        results.note(format!(
            "Pass {} started at {started} (Unix s), load average {} (1, 5, 15 min).",
            pass + 1,
            load.join(" ")
        ));
        eprintln!("=== pass {} of {passes} (load {})", pass + 1, load.join(" "));
        for workload in ORDER.into_iter().filter(|w| wanted(w)) {
            if let Err(e) = run_pass(workload, pass, &sizes, &servers, &mut results).await {
                eprintln!("!! {workload} pass {}: {e}", pass + 1);
            }
        }
    }
    servers.node.kill().await?;
    servers.bare.kill().await?;
    if let Some(phoenix) = servers.phoenix {
        phoenix.kill().await?;
    }
    let comparisons: Vec<Comparison> = [COMPARISONS, crate::fleet::COMPARISONS]
        .into_iter()
        .chain([crate::polling::COMPARISONS, crate::phoenix::COMPARISONS])
        .flatten()
        .copied()
        .collect();
    let table = report(&results, &comparisons, W6_TARGETS);
    println!("\n{table}");
    let dir = repo().join("target/bench");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("results.jsonl"), results.jsonl())?;
    std::fs::write(dir.join("results.md"), &table)?;
    eprintln!("results in {}", dir.display());
    Ok(())
}

/// One unrecorded run of each throughput workload first, so that no client pays for the
/// servers' warm-up (V8 compiling socket.io's and the Phoenix server's paths for a message kind
/// on first use): in a first run of W2 the Node server spent 347 ms of CPU on what took it 210 ms
/// warm, and the client that ran first was charged for the difference.
async fn warm_up(sizes: &Sizes, servers: &Servers, wanted: &dyn Fn(&str) -> bool) {
    let mut runs = Vec::new();
    for (workload, n) in [("w1", sizes.w1), ("w2", sizes.w2.0)] {
        if wanted(workload) {
            runs.push(("tether", workload, servers.node.url(), n));
            runs.push(("tether-raw", workload, servers.bare.url(), n));
        }
    }
    if let Some(phoenix) = servers.phoenix.as_ref() {
        let (rtt, pushes, _) = sizes.phx;
        runs.push((crate::phoenix::TETHER, "phx1", phoenix.url(), rtt));
        runs.push((crate::phoenix::TETHER, "phx2", phoenix.url(), pushes));
    }
    for (kind, workload, url, n) in runs {
        eprintln!("== warm-up: {workload} {kind} (not recorded)");
        if let Err(e) = Job::new(kind, workload, &url, n).figures(LIMIT).await {
            eprintln!("!! warm-up {workload} {kind}: {e}");
        }
    }
}

/// One pass of one workload.
async fn run_pass(
    workload: &str,
    pass: usize,
    sizes: &Sizes,
    servers: &Servers,
    results: &mut Results,
) -> R<()> {
    let all_kinds: Vec<&str> = SOCKET_IO_KINDS.iter().chain(RAW_KINDS.iter()).copied().collect();
    match workload {
        "w1" => one_process_each(pass, "w1", &all_kinds, (sizes.w1, 1), servers, results).await,
        "w2" => one_process_each(pass, "w2", &all_kinds, sizes.w2, servers, results).await,
        "w4" => one_process_each(pass, "w4", &all_kinds, (sizes.w4, 1), servers, results).await,
        "w5" => {
            // Heartbeats on and frequent: the server pings every 5 s, Tether every 5 s.
            let pinging = Server::start(ServerKind::Node, 0, &["--ping-interval", "5000"]).await?;
            let servers = Servers {
                node: pinging,
                bare: Server::start(ServerKind::Bare, 0, &[]).await?,
                phoenix: None,
            };
            // Plus Tether without a latency ping of its own (only answering the server's, as
            // rust_socketio does): what measuring latency costs, beside what the engine costs.
            let w5_kinds: Vec<&str> = all_kinds.iter().copied().chain([W5_NO_LATENCY]).collect();
            let sizes = (sizes.w5, 1);
            let outcome = one_process_each(pass, "w5", &w5_kinds, sizes, &servers, results);
            let outcome = outcome.await;
            servers.node.kill().await?;
            servers.bare.kill().await?;
            outcome
        }
        "w3" => {
            let kinds = [
                ("tether", false),
                ("tether", true),
                ("socket.io-client", false),
                ("rust_socketio", false),
            ];
            let (trials, clients) = (sizes.reconnect_trials, sizes.reconnect_clients);
            reconnect_pass(pass, "w3", ServerKind::Node, &kinds, clients, trials, results).await
        }
        "fleet" => {
            let (clients, trials) = sizes.fleet;
            let (node, kinds) = (ServerKind::Node, &SOCKET_IO_KINDS);
            fleet_pass(pass, node, kinds, clients, trials, results).await?;
            let kinds = [crate::phoenix::TETHER, crate::phoenix::PHOENIX_JS];
            fleet_pass(pass, ServerKind::Phoenix, &kinds, clients, trials, results).await
        }
        "w7" => {
            for kind in rotated(&["tether", "socket.io-client"], pass) {
                eprintln!("== w7 {kind}");
                match w7(kind, sizes.w7).await {
                    Ok((flush, total)) => {
                        results.add(pass, "w7", kind, "node", "flush_ms", flush, "ms");
                        let figure = "listening_to_all_acked_ms";
                        results.add(pass, "w7", kind, "node", figure, total, "ms");
                    }
                    Err(e) => eprintln!("!! w7 {kind}: {e}"),
                }
            }
            Ok(())
        }
        "polling" => {
            let url = servers.node.url();
            let rows = crate::polling::orchestrate(&sizes.polling, pass, |kind, workload, n| {
                let url = url.clone();
                async move { Job::new(&kind, &workload, &url, n).figures(LIMIT).await }
            })
            .await;
            for (workload, kind, figures) in rows {
                results.add_all(pass, &workload, &kind, "node", &figures);
            }
            Ok(())
        }
        "phoenix" => phoenix_pass(pass, sizes, servers, results).await,
        "w6" => {
            w6(pass, &servers.bare.url(), sizes.w6, results).await;
            Ok(())
        }
        other => Err(format!("unknown workload {other}").into()),
    }
}

/// How long one measurement process may take.
const LIMIT: Duration = Duration::from_secs(300);

/// One figure of one kind: its name, its unit, and its value in every trial that ran.
type TrialValues = (String, String, Vec<f64>);

/// One process per kind and trial, the kinds in the pass's order and the trials interleaved
/// (A B C, B C A, ...: a slow spell of the machine or the server hits every kind alike). With
/// several trials the pass's figure is their median, and each trial's figures are kept as a
/// JSON line. W2 also records what the server spent during each client's run: its CPU time and
/// how long it waited for a CPU (the Socket.IO server is W2's bottleneck, and its own speed
/// varies from run to run more than the clients differ).
async fn one_process_each(
    pass: usize,
    workload: &str,
    kinds: &[&str],
    (n, trials): (usize, usize),
    servers: &Servers,
    results: &mut Results,
) -> R<()> {
    let mut runs: Vec<(&str, Vec<TrialValues>)> = Vec::new();
    for trial in 0..trials {
        for kind in rotated(kinds, pass * trials + trial) {
            eprintln!(
                "== {workload} {kind}{}",
                if trials > 1 { format!(" (trial {})", trial + 1) } else { String::new() }
            );
            let server = servers.for_kind(kind);
            let before = server.sched();
            let mut figures = match Job::new(kind, workload, &server.url(), n).figures(LIMIT).await
            {
                Ok(figures) => figures,
                Err(e) => {
                    eprintln!("!! {workload} {kind}: {e}");
                    continue;
                }
            };
            if workload == "w2" {
                let (cpu, wait) = server.sched().since(before);
                figures.push(json!({ "figure": "server_cpu_ms", "value": cpu, "unit": "ms" }));
                figures
                    .push(json!({ "figure": "server_runqueue_ms", "value": wait, "unit": "ms" }));
            }
            if trials > 1 {
                let line = figures
                    .iter()
                    .map(|f| (f["figure"].as_str().unwrap_or("?").to_owned(), f["value"].clone()));
                results.trial(pass, workload, kind, trial, Value::Object(line.collect()));
            }
            let index = match runs.iter().position(|(k, _)| *k == kind) {
                Some(index) => index,
                None => {
                    runs.push((kind, Vec::new()));
                    runs.len() - 1
                }
            };
            let kept = &mut runs[index].1;
            for f in &figures {
                let name = f["figure"].as_str().unwrap_or("?");
                let value = f["value"].as_f64().unwrap_or(f64::NAN);
                match kept.iter_mut().find(|(figure, _, _)| figure == name) {
                    Some((_, _, values)) => values.push(value),
                    None => kept.push((
                        name.to_owned(),
                        f["unit"].as_str().unwrap_or("").to_owned(),
                        vec![value],
                    )),
                }
            }
        }
    }
    for (kind, figures) in runs {
        let label = servers.for_kind(kind).kind.label();
        for (figure, unit, values) in figures {
            results.add(pass, workload, kind, label, &figure, median(&values), &unit);
        }
    }
    Ok(())
}

/// The Phoenix workloads (`phoenix.rs`): Tether and the official client, in turn.
async fn phoenix_pass(
    pass: usize,
    sizes: &Sizes,
    servers: &Servers,
    results: &mut Results,
) -> R<()> {
    use crate::phoenix::{PHOENIX_JS, TETHER};
    let server = servers.phoenix.as_ref().ok_or("no Phoenix server")?;
    let url = server.url();
    let (rtt, pushes, idle) = sizes.phx;
    for (workload, n) in [("phx1", rtt), ("phx2", pushes), ("phx4", idle)] {
        for kind in rotated(&[TETHER, PHOENIX_JS], pass) {
            eprintln!("== {workload} {kind}");
            match Job::new(kind, workload, &url, n).figures(LIMIT).await {
                Ok(figures) => results.add_all(pass, workload, kind, "phoenix", &figures),
                Err(e) => eprintln!("!! {workload} {kind}: {e}"),
            }
        }
    }
    let kinds = [(TETHER, false), (TETHER, true), (PHOENIX_JS, false)];
    let (trials, clients) = (sizes.reconnect_trials, sizes.reconnect_clients);
    reconnect_pass(pass, "phx3", ServerKind::Phoenix, &kinds, clients, trials, results).await
}

/// W6 through the bindings: `kotlin/bench-w6.sh` and `swift/bench-w6.sh` are run with
/// `--raw-url <bare server> --n <count>` and print JSON figure lines: `emits_per_s` (emits made
/// from the language until the server has all of them), `callbacks_per_s` (server messages
/// delivered one call each to a listener in the language), `batched_events_per_s` (the same
/// through a batch listener) and a few details; Kotlin adds the same calls through uniffi's JNA
/// code (`jna_emits_per_s`, `jna_callbacks_per_s`: its fast path is JNI) and its Flow
/// (`flow_callbacks_per_s`). The bare server is the sink and the source because the Node
/// server, not the bindings, would be the bottleneck (W2). The first pass builds the libraries
/// and programs; later passes find them built.
async fn w6(pass: usize, raw_url: &str, n: usize, results: &mut Results) {
    eprintln!("== w6 tether-raw (the engine in Rust, no bindings: the baseline)");
    match Job::new("tether-raw", "w6", raw_url, n).figures(LIMIT).await {
        Ok(figures) => results.add_all(pass, "w6", "tether-raw", "bare", &figures),
        Err(e) => eprintln!("!! w6 tether-raw: {e}"),
    }
    for lang in rotated(&["kotlin", "swift"], pass) {
        let script = format!("{lang}/bench-w6.sh");
        if !repo().join(&script).exists() {
            eprintln!("== w6 {lang}: not run ({script} does not exist)");
            continue;
        }
        eprintln!("== w6 {lang}");
        let args =
            vec![script, "--raw-url".into(), raw_url.to_owned(), "--n".into(), n.to_string()];
        let outcome = match Proc::spawn(&format!("w6/{lang}"), "bash", &args) {
            Ok(proc) => proc.finish(Duration::from_secs(1800)).await,
            Err(e) => Err(e),
        };
        match outcome {
            Ok(figures) => results.add_all(pass, "w6", &format!("tether-{lang}"), "bare", &figures),
            Err(e) => eprintln!("!! w6 {lang}: {e}"),
        }
    }
}
