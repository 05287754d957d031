//! A real HTTP proxy from Debian (tinyproxy), started on a free loopback port with a generated
//! config (optionally demanding basic auth) and killed on drop. Its log tells which tunnels it
//! opened, so a test can prove the client went through it.

use super::process::{free_port, scratch_dir, spawn_listening, write_config};
use std::path::PathBuf;
use tokio::process::Child;

/// A running tinyproxy.
pub struct HttpProxy {
    _child: Child,
    port: u16,
    dir: PathBuf,
}

impl HttpProxy {
    /// Starts tinyproxy; with `credentials`, it demands `Proxy-Authorization: Basic`.
    pub async fn start(credentials: Option<(&str, &str)>) -> Self {
        let port = free_port();
        let dir = scratch_dir("tinyproxy", port);
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
        let config_path = write_config(&dir, "tinyproxy.conf", &config);
        let child = spawn_listening("tinyproxy", &["-d", "-c", &config_path], port).await;
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
