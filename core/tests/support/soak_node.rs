//! A Node test server for the chaos soaks (the official Socket.IO server, or the Phoenix
//! Channels one): like [`super::node_server::NodeServer`], but it keeps no list of reports (a
//! long soak would grow it without bound, and the soak measures its own process's memory).
//! Instead it folds every report of the soak's messages into a [`Ledger`] that outlives
//! restarts: the server's view of what each sender got through.

use serde_json::Value;
use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin};

use crate::support::wait;

/// What the server received from the soak's senders, over all its lives.
#[derive(Debug, Default)]
pub struct Ledger {
    /// `receipts[sender][seq]`: how many copies of that message the server relayed.
    pub receipts: Vec<Vec<u8>>,
    /// Per sender, how many distinct messages have arrived (= the next seq expected first).
    pub distinct: Vec<u64>,
    /// First copies that arrived out of send order (must stay empty).
    pub order_violations: Vec<String>,
    /// `connection` reports, and how many of them were recovered sessions.
    pub connections: u64,
    pub recovered: u64,
    done: HashSet<String>,
}

/// Which server, and how its reports show the soak's messages.
#[derive(Debug, Clone, Copy)]
pub struct ServerKind {
    /// `server.js` relative to the repository root.
    pub script: &'static str,
    /// The report of a new connection (`connection`, `connect`).
    pub connection_report: &'static str,
    /// The `{from, seq}` of a soak message in a `received` report, if it is one.
    pub chat_of: fn(&Value) -> Option<&Value>,
}

impl Ledger {
    fn record(&mut self, kind: &ServerKind, report: &Value) {
        let event = report["event"].as_str();
        if event == Some("received") {
            let Some(data) = (kind.chat_of)(report) else { return };
            let (Some(from), Some(seq)) = (data["from"].as_u64(), data["seq"].as_u64()) else {
                return;
            };
            self.receipt(from as usize, seq as usize);
            return;
        }
        if event == Some(kind.connection_report) {
            self.connections += 1;
            if report["recovered"] == true {
                self.recovered += 1;
            }
            return;
        }
        match event {
            Some("done") => {
                if let Some(id) = report["id"].as_str() {
                    self.done.insert(id.to_owned());
                }
            }
            Some("fatal") => panic!("node server failed: {report}"),
            _ => {}
        }
    }

    fn receipt(&mut self, from: usize, seq: usize) {
        if self.receipts.len() <= from {
            self.receipts.resize_with(from + 1, Vec::new);
            self.distinct.resize(from + 1, 0);
        }
        let copies = &mut self.receipts[from];
        if copies.len() <= seq {
            copies.resize(seq + 1, 0);
        }
        if copies[seq] == 0 {
            // At-least-once with ordered re-sends: the first copies arrive 0, 1, 2, ...
            if seq as u64 != self.distinct[from] {
                self.order_violations.push(format!(
                    "sender {from}: first copy of {seq} arrived when {} was expected",
                    self.distinct[from]
                ));
            }
            self.distinct[from] += 1;
        }
        copies[seq] = copies[seq].saturating_add(1);
    }

    /// Copies of `(sender, seq)` the server relayed.
    pub fn copies(&self, sender: usize, seq: u64) -> u8 {
        self.receipts.get(sender).and_then(|c| c.get(seq as usize)).copied().unwrap_or(0)
    }
}

/// A running server.js whose reports go into a shared [`Ledger`].
pub struct SoakNode {
    child: Child,
    stdin: ChildStdin,
    port: u16,
    kind: ServerKind,
    args: Vec<String>,
    ledger: Arc<Mutex<Ledger>>,
    commands: u64,
}

impl SoakNode {
    /// Starts the server `kind` names with `args` on a random port.
    pub async fn start(kind: ServerKind, args: &[&str]) -> Self {
        let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        Self::start_on(kind, 0, args, Arc::new(Mutex::new(Ledger::default()))).await
    }

    async fn start_on(
        kind: ServerKind,
        port: u16,
        args: Vec<String>,
        ledger: Arc<Mutex<Ledger>>,
    ) -> Self {
        let mut child = crate::support::node_server::spawn_script(kind.script, port, &args);
        let stdin = child.stdin.take().unwrap_or_else(|| panic!("no stdin"));
        let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
        let (port_tx, port_rx) = tokio::sync::oneshot::channel();
        let sink = ledger.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            let mut port_tx = Some(port_tx);
            while let Ok(Some(line)) = lines.next_line().await {
                let Ok(report) = serde_json::from_str::<Value>(&line) else { continue };
                if report["event"] == "listening" {
                    if let Some(tx) = port_tx.take() {
                        let _ = tx.send(report["port"].as_u64().unwrap_or(0) as u16);
                    }
                }
                lock(&sink).record(&kind, &report);
            }
        });
        let port = tokio::time::timeout(wait::PATIENCE, port_rx)
            .await
            .unwrap_or_else(|_| panic!("node server did not start"))
            .unwrap_or_else(|_| panic!("node server exited before listening"));
        Self { child, stdin, port, kind, args, ledger, commands: 0 }
    }

    /// Kills the server (SIGKILL: no goodbye to anyone) and starts a new one on the same port,
    /// with the same arguments and ledger. Every session and room is lost, as in a crash.
    pub async fn restart(self) -> Self {
        let (kind, port, args) = (self.kind, self.port, self.args.clone());
        let ledger = self.ledger.clone();
        self.stop().await;
        Self::start_on(kind, port, args, ledger).await
    }

    /// Kills the server and waits for it to exit.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }

    /// Its address.
    pub fn addr(&self) -> std::net::SocketAddr {
        std::net::SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// The shared ledger.
    pub fn ledger(&self) -> MutexGuard<'_, Ledger> {
        lock(&self.ledger)
    }

    /// Sends a stdin command (see the server's README) and waits for its `done` report.
    pub async fn command(&mut self, mut command: Value) {
        self.commands += 1;
        let id = format!("soak-{}", self.commands);
        command["id"] = Value::String(id.clone());
        let line = format!("{command}\n");
        self.stdin.write_all(line.as_bytes()).await.unwrap_or_else(|e| panic!("stdin: {e}"));
        self.stdin.flush().await.unwrap_or_else(|e| panic!("stdin: {e}"));
        let ledger = self.ledger.clone();
        wait::until("command done", || lock(&ledger).done.remove(&id)).await;
    }
}

fn lock(ledger: &Mutex<Ledger>) -> MutexGuard<'_, Ledger> {
    ledger.lock().unwrap_or_else(PoisonError::into_inner)
}
