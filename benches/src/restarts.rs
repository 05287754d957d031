//! Workloads in which the server goes away, the orchestrator's side: reconnects after a restart
//! (W3 against the Node server, Phoenix P3 against the Phoenix server) and the outbox flushed
//! afterwards (W7).
//!
//! A reconnect pass starts one server and one process per client kind, all at once, each with
//! several clients (every client is one sample per trial), then runs trials: after 6 s
//! connected (so backoff starts afresh: Tether resets its attempt counter after 5 s up) the
//! server is killed (SIGKILL) and started again on the same port 500 ms later; every client's
//! times to connected and to ready are measured from the new server's `listening`. The kinds
//! meet the same restarts, so the noise of a trial hits them alike; their reconnects overlap,
//! which a server on a real restart sees too. The W3 fleet (`fleet.rs`) runs the same trials
//! with one kind of 1,000 clients at a time, the server keeping the time of every accept.

use crate::measure::R;
use crate::passes::{median, Results};
use crate::procs::{Job, Proc, Server, ServerKind};
use std::time::Duration;
use tokio::time::{sleep, sleep_until, Instant};

/// How long every client stays connected before a trial's kill.
pub const CONNECTED_BEFORE_KILL: Duration = Duration::from_secs(6);
/// How long the server stays down.
pub const DOWN_FOR: Duration = Duration::from_millis(500);

/// One reconnect pass: `kinds` (kind, hinted) against one server of `server` kind.
#[allow(clippy::too_many_arguments)]
pub async fn reconnect_pass(
    pass: usize,
    workload: &str,
    server: ServerKind,
    kinds: &[(&str, bool)],
    clients: usize,
    trials: usize,
    results: &mut Results,
) -> R<()> {
    let mut srv = Server::start(server, 0, &[]).await?;
    let (port, extra) = (srv.port, srv.extra().to_vec());
    let url = srv.url();
    let mut procs: Vec<(String, Proc)> = Vec::new();
    for (kind, hint) in kinds {
        let job = Job { clients, hint: *hint, ..Job::new(kind, workload, &url, 0) };
        procs.push((job.label(), job.spawn()?));
    }
    let mut ignored = Vec::new();
    for (_, proc) in &mut procs {
        proc.expect("ready", Duration::from_secs(60), &mut ignored).await?;
    }
    let mut samples: Vec<(Vec<f64>, Vec<f64>)> = vec![(Vec::new(), Vec::new()); procs.len()];
    for trial in 0..trials {
        sleep(CONNECTED_BEFORE_KILL).await;
        let killed_at = Instant::now();
        srv.kill().await?;
        for (_, proc) in &mut procs {
            proc.send("down").await?;
        }
        for (_, proc) in &mut procs {
            proc.expect("down-ok", Duration::from_secs(30), &mut ignored).await?;
        }
        sleep_until(killed_at + DOWN_FOR).await;
        srv = Server::restart(server, port, &extra).await?;
        for (_, proc) in &mut procs {
            proc.send("up").await?;
        }
        for ((label, proc), (connected, ready)) in procs.iter_mut().zip(samples.iter_mut()) {
            let line = proc.expect("trial", Duration::from_secs(90), &mut ignored).await?;
            let since = |field: &str| -> Vec<f64> {
                let times = line[field].as_array().cloned().unwrap_or_default();
                let listening = srv.listening_at_us as f64;
                times.iter().filter_map(|t| t.as_f64()).map(|t| (t - listening) / 1000.0).collect()
            };
            connected.extend(since("connected_at_us"));
            ready.extend(since("ready_at_us"));
            eprintln!(
                "   {workload} trial {} {label}: {} clients back",
                trial + 1,
                connected.len()
            );
        }
    }
    for (_, proc) in &mut procs {
        let _ = proc.send("quit").await;
    }
    srv.kill().await?;
    let label = server.label();
    for ((kind, _), (connected, ready)) in procs.iter().zip(&samples) {
        for (figure, values) in [("connected", connected), ("ready", ready)] {
            let unit = "ms";
            results.add(
                pass,
                workload,
                kind,
                label,
                &format!("{figure}_p50_ms"),
                median(values),
                unit,
            );
            results.add_samples(pass, workload, kind, &format!("{figure}_ms"), unit, values);
        }
    }
    Ok(())
}

/// W7, one kind: `n` acked messages queued while the server is down; time from connected
/// again to all acknowledged, and from listening again to all acknowledged.
pub async fn w7(kind: &str, n: usize) -> R<(f64, f64)> {
    let server = Server::start(ServerKind::Node, 0, &[]).await?;
    let (port, extra) = (server.port, server.extra().to_vec());
    let mut proc = Job::new(kind, "w7", &server.url(), n).spawn()?;
    let mut ignored = Vec::new();
    proc.expect("ready", Duration::from_secs(30), &mut ignored).await?;
    let killed_at = Instant::now();
    server.kill().await?;
    proc.send("down").await?;
    let down = proc.expect("down-ok", Duration::from_secs(120), &mut ignored).await?;
    eprintln!("   queued offline: {}", down["queued"]);
    sleep_until(killed_at + DOWN_FOR).await;
    let server = Server::restart(ServerKind::Node, port, &extra).await?;
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
