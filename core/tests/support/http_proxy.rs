//! A real HTTP proxy from Debian (tinyproxy), started on a free loopback port with a generated
//! config (optionally demanding basic auth) and killed on drop. Its log tells which tunnels it
//! opened, so a test can prove the client went through it.

use std::path::PathBuf;
use std::process::Stdio;
use tokio::process::{Child, Command};

use super::wait;

/// A running tinyproxy.
pub struct HttpProxy {
    _child: Child,
    port: u16,
    dir: PathBuf,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"))
}

impl HttpProxy {
    /// Starts tinyproxy; with `credentials`, it demands `Proxy-Authorization: Basic`.
    pub async fn start(credentials: Option<(&str, &str)>) -> Self {
        let port = free_port();
        let dir =
            std::env::temp_dir().join(format!("tether-tinyproxy-{port}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        let log = dir.join("tinyproxy.log");
        let mut config = format!(
            "Port {port}\nListen 127.0.0.1\nTimeout 600\nLogFile \"{}\"\nLogLevel Connect\n\
             MaxClients 100\nAllow 127.0.0.1\nDisableViaHeader Yes\n",
            log.display()
        );
        // No ConnectPort line: CONNECT to any port (the test servers' ports are random).
        if let Some((user, password)) = credentials {
            config.push_str(&format!("BasicAuth {user} {password}\n"));
        }
        let config_path = dir.join("tinyproxy.conf");
        std::fs::write(&config_path, config).unwrap_or_else(|e| panic!("{e}"));
        let child = Command::new("tinyproxy")
            .arg("-d")
            .arg("-c")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start tinyproxy (run scripts/install-deps.sh): {e}")
            });
        wait::until_async("tinyproxy to listen", || async move {
            tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok()
        })
        .await;
        Self { _child: child, port, dir }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Tunnels (`CONNECT` requests) the proxy served to `target_port`, from its log.
    pub fn tunnels_to(&self, target_port: u16) -> usize {
        let log = std::fs::read_to_string(self.dir.join("tinyproxy.log")).unwrap_or_default();
        let needle = format!("CONNECT 127.0.0.1:{target_port} ");
        log.lines().filter(|line| line.contains(&needle)).count()
    }
}

impl Drop for HttpProxy {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
