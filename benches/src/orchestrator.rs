//! `tether-bench all`: starts the servers, runs every workload for Tether and each peer in
//! turn (one process per measurement), prints one JSON line per figure, then a table of
//! ratios (Tether / peer). Results also go to target/bench/results.{jsonl,md}.

use crate::measure::{epoch_us, R};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;
use tokio::time::{sleep, sleep_until, timeout, Instant};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Workload sizes; `--quick` shrinks them for a smoke run.
struct Sizes {
    w1: usize,
    w2: usize,
    w3_trials: usize,
    w4: usize,
    w5: usize,
    w6: usize,
    w7: usize,
}

const FULL: Sizes =
    Sizes { w1: 10_000, w2: 100_000, w3_trials: 5, w4: 1_000, w5: 100, w6: 200_000, w7: 10_000 };
const QUICK: Sizes =
    Sizes { w1: 500, w2: 5_000, w3_trials: 1, w4: 50, w5: 10, w6: 10_000, w7: 500 };

/// A child process speaking the line protocol (JSON lines out, commands in).
struct Proc {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::UnboundedReceiver<Value>,
    name: String,
}

impl Proc {
    fn spawn(name: &str, program: &str, args: &[String]) -> R<Self> {
        let mut child = Command::new(program)
            .args(args)
            .current_dir(repo())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start {program}: {e}"))?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (tx, lines) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                if let Ok(value) = serde_json::from_str::<Value>(&line) {
                    let _ = tx.send(value);
                }
            }
        });
        Ok(Self { child, stdin, lines, name: name.to_owned() })
    }

    async fn send(&mut self, line: &str) -> R<()> {
        self.stdin.write_all(format!("{line}\n").as_bytes()).await?;
        Ok(self.stdin.flush().await?)
    }

    /// The next control line named `name` (figures seen meanwhile are kept for `figures`).
    async fn expect(&mut self, name: &str, within: Duration, figures: &mut Vec<Value>) -> R<Value> {
        let deadline = Instant::now() + within;
        loop {
            let line =
                timeout(deadline.saturating_duration_since(Instant::now()), self.lines.recv())
                    .await
                    .map_err(|_| format!("{}: no {name} within {within:?}", self.name))?
                    .ok_or_else(|| format!("{}: exited before {name}", self.name))?;
            if line["event"] == name {
                return Ok(line);
            }
            if line.get("figure").is_some() {
                figures.push(line);
            }
        }
    }

    /// Every figure until the process exits.
    async fn finish(mut self, within: Duration) -> R<Vec<Value>> {
        let mut figures = Vec::new();
        let collect = async {
            while let Some(line) = self.lines.recv().await {
                if line.get("figure").is_some() {
                    figures.push(line);
                }
            }
        };
        timeout(within, collect).await.map_err(|_| format!("{}: timed out", self.name))?;
        let status = self.child.wait().await?;
        if !status.success() {
            return Err(format!("{} failed: {status}", self.name).into());
        }
        Ok(figures)
    }
}

/// A server child (Node bench server or the bare server) and where it listens.
struct Server {
    proc: Proc,
    port: u16,
    listening_at_us: u64,
}

impl Server {
    async fn node(port: u16, extra: &[&str]) -> R<Self> {
        let mut args =
            vec!["benches/peers/bench-server.js".to_owned(), "--port".into(), port.to_string()];
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        Self::started(Proc::spawn("node server", "node", &args)?).await
    }

    async fn bare() -> R<Self> {
        let exe = std::env::current_exe()?;
        let proc = Proc::spawn("bare server", &exe.to_string_lossy(), &["bare-server".to_owned()])?;
        Self::started(proc).await
    }

    async fn started(mut proc: Proc) -> R<Self> {
        let line = proc.expect("listening", Duration::from_secs(20), &mut Vec::new()).await?;
        let port = line["port"].as_u64().ok_or("no port")? as u16;
        let listening_at_us = line["at_us"].as_u64().unwrap_or_else(epoch_us);
        Ok(Self { proc, port, listening_at_us })
    }

    async fn kill(mut self) -> R<()> {
        self.proc.child.kill().await?;
        Ok(())
    }
}

/// How to start the client process of one kind.
fn client(kind: &str, workload: &str, url: &str, n: usize, hint: bool) -> R<Proc> {
    let name = format!("{workload}/{kind}{}", if hint { "+hint" } else { "" });
    let js_transports = crate::polling::js_transports(kind);
    if kind == "socket.io-client" || js_transports.is_some() {
        let n = n.to_string();
        let mut args = vec![
            "--expose-gc",
            "benches/peers/js-client.js",
            "--workload",
            workload,
            "--url",
            url,
            "--n",
            &n,
        ];
        if let Some(transports) = js_transports {
            args.extend(["--transports", transports]);
        }
        let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        return Proc::spawn(&name, "node", &args);
    }
    let exe = std::env::current_exe()?;
    let mut args: Vec<String> =
        ["client", "--workload", workload, "--kind", kind, "--url", url, "--n"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
    args.push(n.to_string());
    if hint {
        args.push("--hint".into());
    }
    Proc::spawn(&name, &exe.to_string_lossy(), &args)
}

/// Socket.IO kinds meet the Node server, raw WebSocket kinds the bare server.
const SOCKET_IO_KINDS: [&str; 3] = ["tether", "socket.io-client", "rust_socketio"];
const RAW_KINDS: [&str; 2] = ["tether-raw", "bare"];

struct Results {
    rows: Vec<Value>,
}

impl Results {
    fn add(
        &mut self,
        workload: &str,
        kind: &str,
        server: &str,
        figure: &str,
        value: f64,
        unit: &str,
    ) {
        let row = json!({
            "workload": workload, "client": kind, "server": server,
            "figure": figure, "value": value, "unit": unit,
        });
        println!("{row}");
        self.rows.push(row);
    }

    fn add_all(&mut self, workload: &str, kind: &str, server: &str, figures: Vec<Value>) {
        for f in figures {
            let value = f["value"].as_f64().unwrap_or(f64::NAN);
            let figure = f["figure"].as_str().unwrap_or("?");
            self.add(workload, kind, server, figure, value, f["unit"].as_str().unwrap_or(""));
        }
    }

    fn value(&self, workload: &str, kind: &str, figure: &str) -> Option<f64> {
        self.rows
            .iter()
            .find(|r| r["workload"] == workload && r["client"] == kind && r["figure"] == figure)
            .and_then(|r| r["value"].as_f64())
    }
}

pub async fn run(args: &[String]) -> R<()> {
    let quick = args.iter().any(|a| a == "--quick");
    let only: Option<Vec<String>> = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .map(|list| list.split(',').map(str::to_owned).collect());
    let wanted = |w: &str| only.as_ref().is_none_or(|o| o.iter().any(|x| x == w));
    let sizes = if quick { QUICK } else { FULL };
    let mut results = Results { rows: Vec::new() };

    let node = Server::node(0, &[]).await?;
    let bare = Server::bare().await?;
    let node_url = format!("http://127.0.0.1:{}/", node.port);
    let bare_url = format!("ws://127.0.0.1:{}", bare.port);
    let url_for =
        |kind: &str| if RAW_KINDS.contains(&kind) { bare_url.clone() } else { node_url.clone() };
    let server_for = |kind: &str| if RAW_KINDS.contains(&kind) { "bare" } else { "node" };
    let all_kinds: Vec<&str> = SOCKET_IO_KINDS.iter().chain(RAW_KINDS.iter()).copied().collect();

    for (workload, n, limit) in
        [("w1", sizes.w1, 300), ("w2", sizes.w2, 300), ("w4", sizes.w4, 300)]
    {
        if !wanted(workload) {
            continue;
        }
        for kind in &all_kinds {
            eprintln!("== {workload} {kind}");
            let figures = client(kind, workload, &url_for(kind), n, false)?
                .finish(Duration::from_secs(limit))
                .await;
            match figures {
                Ok(f) => results.add_all(workload, kind, server_for(kind), f),
                Err(e) => eprintln!("!! {workload} {kind}: {e}"),
            }
        }
    }

    if wanted("w5") {
        // Heartbeats on and frequent: the server pings every 5 s, Tether every 5 s.
        let pinging = Server::node(0, &["--ping-interval", "5000"]).await?;
        let pinging_url = format!("http://127.0.0.1:{}/", pinging.port);
        for kind in &all_kinds {
            eprintln!("== w5 {kind}");
            let url = if RAW_KINDS.contains(kind) { bare_url.clone() } else { pinging_url.clone() };
            match client(kind, "w5", &url, sizes.w5, false)?.finish(Duration::from_secs(300)).await
            {
                Ok(f) => results.add_all("w5", kind, server_for(kind), f),
                Err(e) => eprintln!("!! w5 {kind}: {e}"),
            }
        }
        pinging.kill().await?;
    }

    if wanted("w3") {
        for (kind, hint) in [
            ("tether", false),
            ("tether", true),
            ("socket.io-client", false),
            ("rust_socketio", false),
        ] {
            let label = if hint { "tether+hint" } else { kind };
            eprintln!("== w3 {label}");
            match w3(kind, hint, sizes.w3_trials).await {
                Ok(trials) => {
                    for (figure, mut values) in trials {
                        values.sort_by(f64::total_cmp);
                        let median = values[values.len() / 2];
                        let max = values.last().copied().unwrap_or(f64::NAN);
                        results.add(
                            "w3",
                            label,
                            "node",
                            &format!("{figure}_median_ms"),
                            median,
                            "ms",
                        );
                        results.add("w3", label, "node", &format!("{figure}_max_ms"), max, "ms");
                    }
                }
                Err(e) => eprintln!("!! w3 {label}: {e}"),
            }
        }
    }

    if wanted("w7") {
        for kind in ["tether", "socket.io-client"] {
            eprintln!("== w7 {kind}");
            match w7(kind, sizes.w7).await {
                Ok((flush, total)) => {
                    results.add("w7", kind, "node", "flush_ms", flush, "ms");
                    results.add("w7", kind, "node", "listening_to_all_acked_ms", total, "ms");
                }
                Err(e) => eprintln!("!! w7 {kind}: {e}"),
            }
        }
    }

    if wanted("w6") {
        w6(&bare_url, sizes.w6, &mut results).await;
    }

    if wanted("polling") {
        let polling_sizes = if quick {
            crate::polling::Sizes { p1: 200, p2: 2_000, p3: 3 }
        } else {
            crate::polling::Sizes { p1: 2_000, p2: 20_000, p3: 11 }
        };
        let url = node_url.clone();
        let rows = crate::polling::orchestrate(&polling_sizes, |kind, workload, n| {
            let url = url.clone();
            async move {
                client(&kind, &workload, &url, n, false)?.finish(Duration::from_secs(300)).await
            }
        })
        .await;
        for (workload, kind, figures) in rows {
            results.add_all(&workload, &kind, "node", figures);
        }
    }

    node.kill().await?;
    bare.kill().await?;
    let table = ratio_table(&results);
    println!("\n{table}");
    let dir = repo().join("target/bench");
    std::fs::create_dir_all(&dir)?;
    let jsonl: String = results.rows.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(dir.join("results.jsonl"), jsonl)?;
    std::fs::write(dir.join("results.md"), &table)?;
    eprintln!("results in {}", dir.display());
    Ok(())
}

/// Kill the server, restart it on the same port 500 ms later, measure from "listening again".
async fn w3(kind: &str, hint: bool, trials: usize) -> R<Vec<(&'static str, Vec<f64>)>> {
    let mut server = Server::node(0, &[]).await?;
    let port = server.port;
    let url = format!("http://127.0.0.1:{port}/");
    let mut proc = client(kind, "w3", &url, 0, hint)?;
    let mut ignored = Vec::new();
    proc.expect("ready", Duration::from_secs(30), &mut ignored).await?;
    let (mut connected, mut ready) = (Vec::new(), Vec::new());
    for _ in 0..trials {
        // Part of the workload: stay up long enough that backoff starts from scratch (Tether
        // resets its attempt counter after `backoff_reset_after`, 5 s).
        sleep(Duration::from_secs(6)).await;
        let killed_at = Instant::now();
        server.kill().await?;
        proc.send("down").await?;
        proc.expect("down-ok", Duration::from_secs(30), &mut ignored).await?;
        sleep_until(killed_at + Duration::from_millis(500)).await;
        server = Server::node(port, &[]).await?;
        proc.send("up").await?;
        let trial = proc.expect("trial", Duration::from_secs(60), &mut ignored).await?;
        let since = |field: &str| -> f64 {
            trial[field]
                .as_u64()
                .map_or(f64::NAN, |t| (t as f64 - server.listening_at_us as f64) / 1000.0)
        };
        connected.push(since("connected_at_us"));
        ready.push(since("ready_at_us"));
    }
    proc.send("quit").await?;
    server.kill().await?;
    Ok(vec![("connected", connected), ("ready", ready)])
}

/// Queue `n` acked messages offline; time from connected again to all acknowledged.
async fn w7(kind: &str, n: usize) -> R<(f64, f64)> {
    let server = Server::node(0, &[]).await?;
    let port = server.port;
    let mut proc = client(kind, "w7", &format!("http://127.0.0.1:{port}/"), n, false)?;
    let mut ignored = Vec::new();
    proc.expect("ready", Duration::from_secs(30), &mut ignored).await?;
    let killed_at = Instant::now();
    server.kill().await?;
    proc.send("down").await?;
    let down = proc.expect("down-ok", Duration::from_secs(120), &mut ignored).await?;
    eprintln!("   queued offline: {}", down["queued"]);
    sleep_until(killed_at + Duration::from_millis(500)).await;
    let server = Server::node(port, &[]).await?;
    let flushed = proc.expect("flushed", Duration::from_secs(240), &mut ignored).await?;
    if flushed["failed"].as_u64().unwrap_or(0) > 0 {
        return Err(format!("{} acknowledgements failed", flushed["failed"]).into());
    }
    let done = flushed["done_at_us"].as_u64().ok_or("no done time")? as f64;
    let connected = flushed["connected_at_us"].as_u64().ok_or("no connect time")? as f64;
    let listening = server.listening_at_us as f64;
    server.kill().await?;
    Ok(((done - connected) / 1000.0, (done - listening) / 1000.0))
}

/// W6 through the bindings: `kotlin/bench-w6.sh` and `swift/bench-w6.sh` are run with
/// `--raw-url <bare server> --n <count>` and print JSON figure lines: `emits_per_s` (emits made
/// from the language until the server has all of them), `callbacks_per_s` (server messages
/// delivered one call each to a listener in the language), `batched_events_per_s` (the same
/// through a batch listener) and a few details; Kotlin adds the same calls through uniffi's JNA
/// code (`jna_emits_per_s`, `jna_callbacks_per_s`: its fast path is JNI) and its Flow
/// (`flow_callbacks_per_s`). The bare server is the sink and the source
/// because the Node server, not the bindings, would be the bottleneck (W2).
async fn w6(raw_url: &str, n: usize, results: &mut Results) {
    eprintln!("== w6 tether-raw (the engine in Rust, no bindings: the baseline)");
    match client("tether-raw", "w6", raw_url, n, false) {
        Ok(proc) => match proc.finish(Duration::from_secs(300)).await {
            Ok(figures) => results.add_all("w6", "tether-raw", "bare", figures),
            Err(e) => eprintln!("!! w6 tether-raw: {e}"),
        },
        Err(e) => eprintln!("!! w6 tether-raw: {e}"),
    }
    for lang in ["kotlin", "swift"] {
        let script = format!("{lang}/bench-w6.sh");
        if !repo().join(&script).exists() {
            eprintln!("== w6 {lang}: not run ({script} does not exist yet)");
            continue;
        }
        eprintln!("== w6 {lang}");
        let args =
            vec![script, "--raw-url".into(), raw_url.to_owned(), "--n".into(), n.to_string()];
        let outcome = match Proc::spawn(&format!("w6/{lang}"), "bash", &args) {
            Ok(proc) => proc.finish(Duration::from_secs(900)).await,
            Err(e) => Err(e),
        };
        match outcome {
            Ok(figures) => results.add_all("w6", &format!("tether-{lang}"), "bare", figures),
            Err(e) => eprintln!("!! w6 {lang}: {e}"),
        }
    }
}

/// Which figures are compared, Tether kind first, and whether lower or higher is better.
const COMPARISONS: &[(&str, &str, &str, &str, &str)] = &[
    ("w1", "p50_us", "tether", "socket.io-client", "lower"),
    ("w1", "p50_us", "tether", "rust_socketio", "lower"),
    ("w1", "p50_us", "tether-raw", "bare", "lower"),
    ("w1", "p99_us", "tether", "socket.io-client", "lower"),
    ("w1", "p99_us", "tether", "rust_socketio", "lower"),
    ("w1", "p99_us", "tether-raw", "bare", "lower"),
    ("w1", "max_us", "tether", "socket.io-client", "lower"),
    ("w1", "max_us", "tether", "rust_socketio", "lower"),
    ("w1", "max_us", "tether-raw", "bare", "lower"),
    ("w2", "msgs_per_s", "tether", "socket.io-client", "higher"),
    ("w2", "msgs_per_s", "tether", "rust_socketio", "higher"),
    ("w2", "msgs_per_s", "tether-raw", "bare", "higher"),
    ("w3", "connected_median_ms", "tether", "socket.io-client", "lower"),
    ("w3", "connected_median_ms", "tether", "rust_socketio", "lower"),
    ("w3", "ready_median_ms", "tether", "socket.io-client", "lower"),
    ("w3", "ready_median_ms", "tether", "rust_socketio", "lower"),
    ("w3", "connected_median_ms", "tether+hint", "socket.io-client", "lower"),
    ("w3", "ready_median_ms", "tether+hint", "socket.io-client", "lower"),
    ("w3", "connected_max_ms", "tether", "socket.io-client", "lower"),
    ("w3", "connected_max_ms", "tether+hint", "socket.io-client", "lower"),
    ("w4", "bytes_per_conn", "tether", "socket.io-client", "lower"),
    ("w4", "bytes_per_conn", "tether", "rust_socketio", "lower"),
    ("w4", "bytes_per_conn", "tether-raw", "bare", "lower"),
    ("w5", "cpu_ms_20s", "tether", "socket.io-client", "lower"),
    ("w5", "cpu_ms_20s", "tether", "rust_socketio", "lower"),
    ("w5", "cpu_ms_20s", "tether-raw", "bare", "lower"),
    ("w7", "flush_ms", "tether", "socket.io-client", "lower"),
];

/// W6 has a target instead of a peer: 200,000 per second.
const W6_TARGETS: &[(&str, &str)] = &[
    ("tether-raw", "callbacks_per_s"),
    ("tether-raw", "batched_events_per_s"),
    ("tether-kotlin", "emits_per_s"),
    ("tether-kotlin", "jna_emits_per_s"),
    ("tether-kotlin", "batched_emits_per_s"),
    ("tether-kotlin", "callbacks_per_s"),
    ("tether-kotlin", "jna_callbacks_per_s"),
    ("tether-kotlin", "flow_callbacks_per_s"),
    ("tether-kotlin", "batched_events_per_s"),
    ("tether-swift", "emits_per_s"),
    ("tether-swift", "callbacks_per_s"),
    ("tether-swift", "batched_events_per_s"),
];

fn ratio_table(results: &Results) -> String {
    let mut out = String::from(
        "| workload | figure | Tether kind | Tether | peer | peer value | Tether / peer | better |\n\
         | --- | --- | --- | ---: | --- | ---: | ---: | --- |\n",
    );
    for (workload, figure, ours, peer, better) in
        COMPARISONS.iter().chain(crate::polling::COMPARISONS)
    {
        let (Some(a), Some(b)) =
            (results.value(workload, ours, figure), results.value(workload, peer, figure))
        else {
            continue;
        };
        out.push_str(&format!(
            "| {workload} | {figure} | {ours} | {a:.1} | {peer} | {b:.1} | {:.2}x | {better} |\n",
            a / b
        ));
    }
    for (kind, figure) in W6_TARGETS {
        if let Some(a) = results.value("w6", kind, figure) {
            out.push_str(&format!(
                "| w6 | {figure} | {kind} | {a:.0} | target | 200000 | {:.2}x | higher |\n",
                a / 200_000.0
            ));
        }
    }
    out
}
