//! The processes of a run: the servers, the client processes (one per measurement), the line
//! protocol they speak (JSON lines out, commands in), and what the orchestrator reads of a
//! server in /proc while a client runs against it (its CPU time, and how long it waited for a
//! CPU: the load of the machine as that measurement saw it).

use crate::measure::{epoch_us, R};
use serde_json::Value;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;
use tokio::time::{timeout, Instant};

/// The repository's root (the benches' peers and servers are found from there).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A child process speaking the line protocol (JSON lines out, commands in).
pub struct Proc {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::UnboundedReceiver<Value>,
    name: String,
}

impl Proc {
    pub fn spawn(name: &str, program: &str, args: &[String]) -> R<Self> {
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

    pub async fn send(&mut self, line: &str) -> R<()> {
        self.stdin.write_all(format!("{line}\n").as_bytes()).await?;
        Ok(self.stdin.flush().await?)
    }

    /// The next control line named `name` (figures seen meanwhile are kept for `figures`).
    pub async fn expect(
        &mut self,
        name: &str,
        within: Duration,
        figures: &mut Vec<Value>,
    ) -> R<Value> {
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
    pub async fn finish(mut self, within: Duration) -> R<Vec<Value>> {
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

/// Which server a workload meets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerKind {
    /// `benches/peers/bench-server.js`: the official socket.io server.
    Node,
    /// `tether-bench bare-server`: tokio-tungstenite.
    Bare,
    /// `tests/servers/phoenix/server.js --quiet`: the Phoenix Channels v2 test server.
    Phoenix,
}

impl ServerKind {
    /// The `server` field of a result row.
    pub fn label(self) -> &'static str {
        match self {
            ServerKind::Node => "node",
            ServerKind::Bare => "bare",
            ServerKind::Phoenix => "phoenix",
        }
    }
}

/// A server child and where it listens.
pub struct Server {
    proc: Proc,
    pub kind: ServerKind,
    pub port: u16,
    /// Epoch µs at which it said it listens (the server's own clock reading when it has one).
    pub listening_at_us: u64,
    extra: Vec<String>,
}

impl Server {
    /// Starts a server of `kind` on `port` (0: a free one) with extra flags.
    pub async fn start(kind: ServerKind, port: u16, extra: &[&str]) -> R<Self> {
        let extra: Vec<String> = extra.iter().map(|s| (*s).to_owned()).collect();
        let port_flag = || ["--port".to_owned(), port.to_string()];
        let proc = match kind {
            ServerKind::Node => {
                let mut args = vec!["benches/peers/bench-server.js".to_owned()];
                args.extend(port_flag());
                args.extend(extra.iter().cloned());
                Proc::spawn("node server", "node", &args)?
            }
            ServerKind::Phoenix => {
                let mut args = vec!["tests/servers/phoenix/server.js".to_owned(), "--quiet".into()];
                args.extend(port_flag());
                args.extend(extra.iter().cloned());
                Proc::spawn("phoenix server", "node", &args)?
            }
            ServerKind::Bare => {
                let exe = std::env::current_exe()?;
                Proc::spawn("bare server", &exe.to_string_lossy(), &["bare-server".to_owned()])?
            }
        };
        let mut server = Self { proc, kind, port, listening_at_us: 0, extra };
        let line =
            server.proc.expect("listening", Duration::from_secs(20), &mut Vec::new()).await?;
        server.port = line["port"].as_u64().ok_or("no port")? as u16;
        server.listening_at_us = line["at_us"].as_u64().unwrap_or_else(epoch_us);
        Ok(server)
    }

    /// The same server again, on the same port (after [`Server::kill`]).
    pub async fn restart(kind: ServerKind, port: u16, extra: &[String]) -> R<Self> {
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        Self::start(kind, port, &extra).await
    }

    /// The flags it was started with (for [`Server::restart`]).
    pub fn extra(&self) -> &[String] {
        &self.extra
    }

    /// The URL a client of the server kind dials.
    pub fn url(&self) -> String {
        match self.kind {
            ServerKind::Node => format!("http://127.0.0.1:{}/", self.port),
            ServerKind::Bare => format!("ws://127.0.0.1:{}", self.port),
            // Each client adds the socket's path its own way (Tether: `PhoenixConfig::path`).
            ServerKind::Phoenix => format!("ws://127.0.0.1:{}", self.port),
        }
    }

    /// CPU time and run-queue wait of all its threads so far.
    pub fn sched(&self) -> Sched {
        self.proc.child.id().map(Sched::of).unwrap_or_default()
    }

    /// The epoch µs of every connection it accepted so far, in accept order (a server started
    /// with `--record-arrivals`: the W3 fleet).
    pub async fn arrivals(&mut self) -> R<Vec<u64>> {
        let (command, answer) = match self.kind {
            ServerKind::Node => ("arrivals", "arrivals"),
            ServerKind::Phoenix => (r#"{"cmd":"arrivals"}"#, "done"),
            ServerKind::Bare => return Err("the bare server keeps no arrivals".into()),
        };
        self.proc.send(command).await?;
        let line = self.proc.expect(answer, Duration::from_secs(10), &mut Vec::new()).await?;
        let times = line["at_us"].as_array().ok_or("no at_us in the server's answer")?;
        Ok(times.iter().filter_map(serde_json::Value::as_u64).collect())
    }

    pub async fn kill(mut self) -> R<()> {
        self.proc.child.kill().await?;
        Ok(())
    }
}

/// What the scheduler says of a process (`/proc/PID/task/*/schedstat`, all threads): time on a
/// CPU, and time it was ready to run but waited for one.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sched {
    pub cpu_ns: u64,
    pub wait_ns: u64,
}

impl Sched {
    fn of(pid: u32) -> Self {
        let mut total = Sched::default();
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return total };
        for task in tasks.flatten() {
            let Ok(stat) = std::fs::read_to_string(task.path().join("schedstat")) else {
                continue; // the thread exited meanwhile
            };
            let mut fields = stat.split_whitespace().map(|v| v.parse::<u64>().unwrap_or(0));
            total.cpu_ns += fields.next().unwrap_or(0);
            total.wait_ns += fields.next().unwrap_or(0);
        }
        total
    }

    /// Milliseconds on a CPU and waiting for one since `before`.
    pub fn since(self, before: Sched) -> (f64, f64) {
        let ms = |a: u64, b: u64| a.saturating_sub(b) as f64 / 1e6;
        (ms(self.cpu_ns, before.cpu_ns), ms(self.wait_ns, before.wait_ns))
    }
}

/// Kinds whose process is a Node program, and which one.
fn node_peer(kind: &str) -> Option<&'static str> {
    if kind == "socket.io-client" || crate::polling::js_transports(kind).is_some() {
        Some("benches/peers/js-client.js")
    } else if kind == "phoenix-js" {
        Some("benches/peers/phoenix-client.js")
    } else {
        None
    }
}

/// What one client process is asked to do.
#[derive(Debug, Clone, Copy)]
pub struct Job<'a> {
    pub kind: &'a str,
    pub workload: &'a str,
    pub url: &'a str,
    /// The workload's size (messages, round trips, connections).
    pub n: usize,
    /// Clients in the process (W3 and Phoenix P3: each is one sample per trial).
    pub clients: usize,
    /// W3: tell Tether when the network goes and comes back.
    pub hint: bool,
}

impl<'a> Job<'a> {
    pub fn new(kind: &'a str, workload: &'a str, url: &'a str, n: usize) -> Self {
        Self { kind, workload, url, n, clients: 1, hint: false }
    }

    /// The kind as results name it (`tether+hint` for a hinted Tether).
    pub fn label(&self) -> String {
        format!("{}{}", self.kind, if self.hint { "+hint" } else { "" })
    }

    /// Starts the process.
    pub fn spawn(&self) -> R<Proc> {
        let name = format!("{}/{}", self.workload, self.label());
        let mut args: Vec<String> = Vec::new();
        let program = match node_peer(self.kind) {
            Some(script) => {
                args.extend(["--expose-gc".to_owned(), script.to_owned()]);
                if let Some(transports) = crate::polling::js_transports(self.kind) {
                    args.extend(["--transports".to_owned(), transports.to_owned()]);
                }
                "node".to_owned()
            }
            None => {
                args.extend(["client".to_owned(), "--kind".into(), self.kind.to_owned()]);
                if self.hint {
                    args.push("--hint".into());
                }
                std::env::current_exe()?.to_string_lossy().into_owned()
            }
        };
        for (flag, value) in [
            ("--workload", self.workload.to_owned()),
            ("--url", self.url.to_owned()),
            ("--n", self.n.to_string()),
            ("--clients", self.clients.to_string()),
        ] {
            args.extend([flag.to_owned(), value]);
        }
        Proc::spawn(&name, &program, &args)
    }

    /// Starts the process and collects its figures until it exits.
    pub async fn figures(&self, within: Duration) -> R<Vec<Value>> {
        self.spawn()?.finish(within).await
    }
}
