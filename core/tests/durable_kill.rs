//! The durable outbox against SIGKILL. A client runs in a child process (this same binary,
//! started again with `TETHER_KILL_CHILD` set), queues and sends at-least-once messages through
//! a fault proxy that cuts the connection and refuses new ones for a while, and is killed with
//! SIGKILL at a random moment: in the middle of a burst of sends (and of their transaction),
//! while the outbox flushes, while acknowledgements are in flight, or while offline. It is
//! started again on the same file, again and again; a last start drains what is left. Then the
//! official Node server's ledger (its de-duplication by `messageId`) must hold, for every
//! sender, every message whose `send` returned, exactly once, in the order it was sent.
//!
//! Two senders (two files, two lineages of processes) run side by side through the same proxy.
//! Seeded (`TETHER_KILL_SEED`) and bounded (`TETHER_KILL_ROUNDS`, 24 by default: well under a
//! minute here); a longer run: `TETHER_KILL_ROUNDS=300 cargo test -p tether-core --test
//! durable_kill`.
//!
//! The child prints one line per step on stdout, which the parent reads to the end after each
//! kill: `start queued=K` (K messages came back from the file), `sending N` (before the send
//! of message N), `accepted N` (its `send` returned: the message is on disk), `drained`
//! (nothing queued or awaiting an answer).

mod support;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::fault_proxy::{FaultProxy, Mode};
use support::node_server::NodeServer;
use support::temp_dir::TempDir;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const CHILD: &str = "TETHER_KILL_CHILD";
const TEST_NAME: &str = "every_message_survives_random_kills_exactly_once_in_order";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    if std::env::var_os(CHILD).is_some() {
        child::run();
        return;
    }
    // The arguments of a libtest binary, as far as `cargo test` passes them: `--list`, and a
    // name filter (which this one test may not match).
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        println!("{TEST_NAME}: test");
        return;
    }
    let filter = args.iter().find(|a| !a.starts_with('-'));
    if filter.is_some_and(|f| !TEST_NAME.contains(f.as_str())) {
        println!("test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 1 filtered out");
        return;
    }
    println!("running 1 test");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    let started = Instant::now();
    runtime.block_on(parent());
    println!("test {TEST_NAME} ... ok");
    println!(
        "test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in {:.2}s",
        started.elapsed().as_secs_f64()
    );
}

/// What the parent learned about one sender's processes.
#[derive(Debug, Default)]
struct Lineage {
    sender: String,
    db: PathBuf,
    next_n: u64,
    /// Messages whose send started (some of them may not have reached the file).
    sending: BTreeSet<u64>,
    /// Messages whose send returned.
    accepted: BTreeSet<u64>,
    restored: u64,
    kills: u64,
    drained: bool,
}

impl Lineage {
    fn read(&mut self, line: &str) {
        let mut words = line.split_whitespace();
        let (Some(what), value) = (words.next(), words.next()) else { return };
        let number = || value.and_then(|v| v.trim_start_matches("queued=").parse::<u64>().ok());
        match what {
            "start" => self.restored += number().unwrap_or(0),
            "sending" => self.sending.extend(number()),
            "accepted" => self.accepted.extend(number()),
            "drained" => self.drained = true,
            _ => panic!("{}: unexpected line from the child: {line}", self.sender),
        }
    }
}

fn spawn_child(url: &str, lineage: &Lineage, count: u64, seed: u64) -> Child {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("current_exe: {e}"));
    Command::new(exe)
        .env(CHILD, "1")
        .env("TETHER_KILL_URL", url)
        .env("TETHER_KILL_DB", &lineage.db)
        .env("TETHER_KILL_SENDER", &lineage.sender)
        .env("TETHER_KILL_FROM", lineage.next_n.to_string())
        .env("TETHER_KILL_COUNT", count.to_string())
        .env("TETHER_KILL_SEED", seed.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start the child: {e}"))
}

/// Runs one child of `lineage` until `stop` says so (a random moment, or a line), kills it
/// with SIGKILL, waits for it to exit and reads what it printed to the end.
async fn one_life(
    lineage: Arc<Mutex<Lineage>>,
    url: String,
    count: u64,
    seed: u64,
    kill_after: Option<Duration>,
) {
    let mut child = {
        let l = lineage.lock().unwrap_or_else(|e| e.into_inner());
        spawn_child(&url, &l, count, seed)
    };
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let reader_lineage = lineage.clone();
    let reader = tokio::spawn(async move {
        let mut lines = BufReader::new(stdout).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            reader_lineage.lock().unwrap_or_else(|e| e.into_inner()).read(&line);
        }
    });
    match kill_after {
        Some(delay) => tokio::time::sleep(delay).await,
        None => {
            let deadline = Instant::now() + Duration::from_secs(120);
            while !lineage.lock().unwrap_or_else(|e| e.into_inner()).drained {
                assert!(Instant::now() < deadline, "the last child did not drain in 120 s");
                tokio::time::sleep(ms(10)).await;
            }
        }
    }
    // SIGKILL: no destructor runs, no last write; whatever is on disk is all there is.
    let _ = child.start_kill();
    let status = child.wait().await.unwrap_or_else(|e| panic!("wait: {e}"));
    let _ = reader.await;
    let mut l = lineage.lock().unwrap_or_else(|e| e.into_inner());
    assert!(status.code().is_none_or(|c| c == 0), "{}: the child failed: {status}", l.sender);
    l.kills += 1;
    l.next_n = l.sending.last().map_or(l.next_n, |n| n + 1).max(l.next_n);
}

async fn parent() {
    let rounds = env_u64("TETHER_KILL_ROUNDS", 24);
    let seed = env_u64("TETHER_KILL_SEED", 0x5EED_0013);
    let mut rng = fastrand::Rng::with_seed(seed);
    let server = NodeServer::start(&["--dedup-field", "messageId"]).await;
    let proxy = FaultProxy::start(server.addr()).await.unwrap_or_else(|e| panic!("proxy: {e}"));
    let url = format!("http://{}", proxy.addr());
    let dir = TempDir::new();
    let lineages: Vec<Arc<Mutex<Lineage>>> = ["alice", "bob"]
        .iter()
        .map(|sender| {
            Arc::new(Mutex::new(Lineage {
                sender: (*sender).to_owned(),
                db: dir.file(&format!("{sender}.sqlite")),
                ..Lineage::default()
            }))
        })
        .collect();
    for round in 0..rounds {
        let lives: Vec<_> = lineages
            .iter()
            .map(|lineage| {
                let count = rng.u64(20..200);
                let kill_after = ms(rng.u64(30..1_500));
                let life =
                    one_life(lineage.clone(), url.clone(), count, rng.u64(..), Some(kill_after));
                tokio::spawn(life)
            })
            .collect();
        // Half the rounds cut the network at some point and keep it down for a while.
        if rng.bool() {
            tokio::time::sleep(ms(rng.u64(0..600))).await;
            proxy.set_mode(Mode::Refuse);
            proxy.cut();
            tokio::time::sleep(ms(rng.u64(50..600))).await;
            proxy.set_mode(Mode::Pass);
        }
        for life in lives {
            life.await.unwrap_or_else(|e| panic!("round {round}: {e}"));
        }
    }
    proxy.set_mode(Mode::Pass);
    let last: Vec<_> = lineages
        .iter()
        .map(|lineage| tokio::spawn(one_life(lineage.clone(), url.clone(), 0, 0, None)))
        .collect();
    for life in last {
        life.await.unwrap_or_else(|e| panic!("draining: {e}"));
    }
    check(&server, &lineages, rounds);
}

/// The ledger, per sender: strictly increasing (in order, nothing twice), holding every
/// accepted message and nothing that was never sent.
fn check(server: &NodeServer, lineages: &[Arc<Mutex<Lineage>>], rounds: u64) {
    let (ledger, duplicates) = server.ledger("ack-echo");
    let mut restored = 0;
    for lineage in lineages {
        let l = lineage.lock().unwrap_or_else(|e| e.into_inner());
        let ns: Vec<u64> = ledger
            .iter()
            .filter(|m| m["sender"] == l.sender.as_str())
            .filter_map(|m| m["n"].as_u64())
            .collect();
        if let Some(w) = ns.windows(2).find(|w| w[0] >= w[1]) {
            panic!("{}: out of order or twice in the ledger: {} then {}", l.sender, w[0], w[1]);
        }
        let in_ledger: BTreeSet<u64> = ns.iter().copied().collect();
        let lost: Vec<&u64> = l.accepted.difference(&in_ledger).collect();
        assert!(lost.is_empty(), "{}: accepted but never processed: {lost:?}", l.sender);
        let phantom: Vec<&u64> = in_ledger.difference(&l.sending).collect();
        assert!(phantom.is_empty(), "{}: processed but never sent: {phantom:?}", l.sender);
        println!(
            "{}: {} lives, {} accepted, {} in the ledger (of which killed between the write and the `accepted` line: {}), {} restored from the file",
            l.sender,
            l.kills,
            l.accepted.len(),
            ns.len(),
            ns.len() - l.accepted.len(),
            l.restored
        );
        restored += l.restored;
    }
    println!("{rounds} rounds; the server held back {duplicates} re-sent duplicates");
    assert!(restored > 0, "no kill left anything in a file: the run proved nothing");
}

/// The client process.
mod child {
    use super::{env_u64, ms};
    use futures_util::future::join_all;
    use serde_json::json;
    use std::time::Duration;
    use tether_core::{Client, Config, OutgoingMessage, SendOptions};

    pub(super) fn run() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("runtime: {e}"));
        runtime.block_on(send_until_killed());
    }

    fn var(name: &str) -> String {
        std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"))
    }

    async fn send_until_killed() {
        let sender = var("TETHER_KILL_SENDER");
        let from = env_u64("TETHER_KILL_FROM", 0);
        let count = env_u64("TETHER_KILL_COUNT", 0);
        let mut rng = fastrand::Rng::with_seed(env_u64("TETHER_KILL_SEED", 0));
        let config = Config::new(var("TETHER_KILL_URL"))
            .with_durable_outbox(var("TETHER_KILL_DB"))
            .with_at_least_once(true)
            .with_ack_timeout(Duration::from_secs(3600))
            .with_outbox_limits(1_000_000, 256 << 20)
            .with_max_pending_acks(1_000_000)
            .with_reconnect_delays(ms(20), ms(300))
            .with_connect_timeout(Duration::from_secs(2));
        let client = Client::new(config).unwrap_or_else(|e| panic!("client: {e}"));
        if let Some(error) = client.storage_error() {
            panic!("the durable outbox did not open: {error}");
        }
        let stats = client.stats().await.unwrap_or_else(|e| panic!("{e}"));
        println!("start queued={}", stats.queued);
        client.start().await.unwrap_or_else(|e| panic!("{e}"));
        let mut n = from;
        while n < from + count {
            let burst: Vec<u64> = (n..(n + rng.u64(1..=16)).min(from + count)).collect();
            for k in &burst {
                println!("sending {k}");
            }
            // One future per message, polled in order: they reach the engine in this order,
            // and the driver writes a burst in one transaction.
            let sends = burst.iter().map(|k| {
                let message = OutgoingMessage::new("ack-echo", json!({"sender": sender, "n": k}));
                client.send_with(message, SendOptions::at_least_once(None))
            });
            for (k, result) in burst.iter().zip(join_all(sends).await) {
                match result {
                    Ok(_) => println!("accepted {k}"),
                    Err(e) => panic!("message {k} refused: {e}"),
                }
            }
            n += burst.len() as u64;
            if rng.u32(0..3) == 0 {
                tokio::time::sleep(ms(rng.u64(0..40))).await;
            }
        }
        loop {
            let stats = client.stats().await.unwrap_or_else(|e| panic!("{e}"));
            if stats.queued == 0 && stats.pending_acks == 0 {
                println!("drained");
                break;
            }
            tokio::time::sleep(ms(10)).await;
        }
        // Stays until killed: closing the client is not what this test is about.
        std::future::pending::<()>().await;
    }
}
