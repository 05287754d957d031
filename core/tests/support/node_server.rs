//! The Node test servers, the official Socket.IO one (tests/servers/node/server.js) and the
//! Phoenix Channels one (tests/servers/phoenix/server.js), and a Redis server, started as child
//! processes on random loopback ports and killed on drop. Both Node servers take stdin commands
//! and print one JSON report per line (their READMEs are the contract).

use serde_json::Value;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};

use super::process::{free_port, spawn_listening};
use super::wait;

/// The Socket.IO test server, relative to the repository root.
pub const SOCKET_IO_SERVER: &str = "tests/servers/node/server.js";
/// The Phoenix Channels test server, relative to the repository root.
pub const PHOENIX_SERVER: &str = "tests/servers/phoenix/server.js";

fn script_path(script: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join(script)
}

/// Spawns the Socket.IO `server.js` on `port` (0: a random one) with `args`, stdin and stdout
/// piped (the server exits when stdin closes), killed on drop.
pub fn spawn_server_js(port: u16, args: &[String]) -> Child {
    spawn_script(SOCKET_IO_SERVER, port, args)
}

/// Spawns a test server script (relative to the repository root) like [`spawn_server_js`].
pub fn spawn_script(script: &str, port: u16, args: &[String]) -> Child {
    let script = script_path(script);
    assert!(
        script.parent().is_some_and(|d| d.join("node_modules").exists()),
        "run scripts/install-deps.sh first ({script:?} has no node_modules beside it)"
    );
    Command::new("node")
        .arg(script)
        .arg("--port")
        .arg(port.to_string())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start node: {e}"))
}

/// A running Node test server: the official Socket.IO server, or the Phoenix Channels one.
pub struct NodeServer {
    child: Child,
    stdin: ChildStdin,
    port: u16,
    reports: Arc<Mutex<Vec<Value>>>,
    script: &'static str,
    args: Vec<String>,
}

impl NodeServer {
    /// Starts the Socket.IO `server.js` with `args` on a random port.
    pub async fn start(args: &[&str]) -> Self {
        Self::start_on(SOCKET_IO_SERVER, 0, args.iter().map(|s| (*s).to_owned()).collect()).await
    }

    /// Starts the Phoenix Channels `server.js` with `args` on a random port.
    pub async fn start_phoenix(args: &[&str]) -> Self {
        Self::start_on(PHOENIX_SERVER, 0, args.iter().map(|s| (*s).to_owned()).collect()).await
    }

    async fn start_on(script: &'static str, port: u16, args: Vec<String>) -> Self {
        let mut child = spawn_script(script, port, &args);
        let stdin = child.stdin.take().unwrap_or_else(|| panic!("no stdin"));
        let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
        let reports = Arc::new(Mutex::new(Vec::new()));
        let (port_tx, port_rx) = tokio::sync::oneshot::channel();
        let sink = reports.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            let mut port_tx = Some(port_tx);
            while let Ok(Some(line)) = lines.next_line().await {
                let Ok(report) = serde_json::from_str::<Value>(&line) else { continue };
                if report["event"] == "listening" {
                    if let Some(tx) = port_tx.take() {
                        let _ = tx.send(report["port"].as_u64().unwrap_or(0) as u16);
                    }
                } else if report["event"] == "fatal" {
                    panic!("node server failed: {report}");
                }
                if let Ok(mut all) = sink.lock() {
                    all.push(report);
                }
            }
        });
        let port = tokio::time::timeout(wait::PATIENCE, port_rx)
            .await
            .unwrap_or_else(|_| panic!("node server did not start"))
            .unwrap_or_else(|_| panic!("node server exited before listening"));
        Self { child, stdin, port, reports, script, args }
    }

    /// Kills this server and starts a new one with the same arguments on the same port.
    pub async fn restart(self) -> Self {
        let (script, port, args) = (self.script, self.port, self.args.clone());
        self.stop().await;
        // The port was just released; the new server binds it again.
        Self::start_on(script, port, args).await
    }

    /// Kills the server and waits for it to exit.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its address.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// The URL a client connects to.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Sends a stdin command (see the server's README) and waits for its `done` report.
    pub async fn command(&mut self, mut command: Value) {
        let id = format!("c{}", fastrand::u64(..));
        command["id"] = Value::String(id.clone());
        let line = format!("{command}\n");
        self.stdin.write_all(line.as_bytes()).await.unwrap_or_else(|e| panic!("stdin: {e}"));
        self.stdin.flush().await.unwrap_or_else(|e| panic!("stdin: {e}"));
        let reports = self.reports.clone();
        wait::until("command done", || {
            reports
                .lock()
                .map(|r| r.iter().any(|x| x["event"] == "done" && x["id"] == id.as_str()))
                .unwrap_or(false)
        })
        .await;
    }

    /// Every report so far.
    pub fn reports(&self) -> Vec<Value> {
        self.reports.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// The `args` of every `received` report for event `name`, in arrival order.
    pub fn received(&self, name: &str) -> Vec<Value> {
        self.reports()
            .into_iter()
            .filter(|r| r["event"] == "received" && r["name"] == name)
            .map(|r| r["args"].clone())
            .collect()
    }

    /// With the ledger on (`--dedup-field`): the first argument of each first sighting of
    /// event `name`, in arrival order (what the application processed, exactly once), and how
    /// many duplicates of it the ledger held back.
    pub fn ledger(&self, name: &str) -> (Vec<Value>, usize) {
        let mut first = Vec::new();
        let mut duplicates = 0;
        for report in self.reports() {
            if report["event"] != "received" || report["name"] != name {
                continue;
            }
            match report["duplicate"].as_bool() {
                Some(true) => duplicates += 1,
                Some(false) => first.push(report["args"][0].clone()),
                None => {}
            }
        }
        (first, duplicates)
    }

    /// Reports of one kind (`connection`, `disconnect`, ...).
    pub fn reports_of(&self, kind: &str) -> Vec<Value> {
        self.reports().into_iter().filter(|r| r["event"] == kind).collect()
    }

    /// Waits until `condition` holds over the reports.
    pub async fn wait_for(&self, what: &str, condition: impl Fn(&[Value]) -> bool) {
        let reports = self.reports.clone();
        wait::until(what, || reports.lock().map(|r| condition(&r)).unwrap_or(false)).await;
    }
}

/// A throwaway Redis server (Debian's redis-server) on a free loopback port.
pub struct RedisServer {
    _child: Child,
    port: u16,
}

impl RedisServer {
    /// Starts Redis and waits until it accepts connections.
    pub async fn start() -> Self {
        let port = free_port();
        let port_arg = port.to_string();
        let args = ["--port", &port_arg, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
        let child = spawn_listening("redis-server", &args, port).await;
        Self { _child: child, port }
    }

    /// The `redis://` URL.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}
