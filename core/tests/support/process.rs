//! Starting a server program of the machine (Redis, tinyproxy, HAProxy) on a free loopback port:
//! output discarded, killed when its handle is dropped, ready once the port accepts.

use super::wait;
use std::process::Stdio;
use tokio::process::{Child, Command};

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A fresh folder for one server's files (config, log), named after it and its port.
pub fn scratch_dir(program: &str, port: u16) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tether-{program}-{port}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    dir
}

/// Writes `config` to `dir/name` and returns its path as a string for a command line.
pub fn write_config(dir: &std::path::Path, name: &str, config: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, config).unwrap_or_else(|e| panic!("{e}"));
    path.to_string_lossy().into_owned()
}

/// Spawns `program` with `args` and waits until it accepts connections on `port`.
pub async fn spawn_listening(program: &str, args: &[&str], port: u16) -> Child {
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {program} (run scripts/install-deps.sh): {e}"));
    wait::until_async(&format!("{program} to listen"), || async move {
        tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok()
    })
    .await;
    child
}
