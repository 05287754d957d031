//! HAProxy from Debian in front of several servers: round robin with cookie-based stickiness
//! (`cookie SERVERID insert`), a TCP health check every 200 ms and redispatch when a server is
//! down. Started on a free loopback port with a generated config, killed on drop.

use super::process::{free_port, scratch_dir, spawn_listening, write_config};
use std::path::PathBuf;
use tokio::process::Child;

/// A running HAProxy.
pub struct HaProxy {
    _child: Child,
    port: u16,
    dir: PathBuf,
}

impl HaProxy {
    /// Balances over `backends` (loopback ports), each with the cookie value `node<i>`.
    pub async fn start(backends: &[u16]) -> Self {
        let port = free_port();
        let dir = scratch_dir("haproxy", port);
        let mut config = format!(
            "global\n  maxconn 256\n\
             defaults\n  mode http\n  timeout connect 2s\n  timeout client 60s\n  timeout server 60s\n  \
             timeout tunnel 60s\n  option redispatch\n  retries 1\n\
             frontend socketio\n  bind 127.0.0.1:{port}\n  default_backend nodes\n\
             backend nodes\n  balance roundrobin\n  cookie SERVERID insert indirect nocache\n"
        );
        for (i, backend) in backends.iter().enumerate() {
            config.push_str(&format!(
                "  server node{i} 127.0.0.1:{backend} check inter 200ms fall 1 rise 1 cookie node{i}\n"
            ));
        }
        let path = write_config(&dir, "haproxy.cfg", &config);
        let child = spawn_listening("haproxy", &["-db", "-f", &path], port).await;
        Self { _child: child, port, dir }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for HaProxy {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
