//! The reference server (`examples/reference-server`) for the chaos soak, embedded in the test
//! process: started on a random loopback port, and restarted on that same port so that the
//! fault proxies in front of it never need to be told. Its state lives in memory, so a restart
//! loses every room, roster and field value, as a crash would.

use std::net::SocketAddr;
use std::time::Duration;
use tether_reference_server::{start, RunningServer, ServerConfig, ServerError};

use super::wait;

/// A reference server that can be restarted on its port.
pub struct SoakServer {
    running: Option<RunningServer>,
    addr: SocketAddr,
    config: ServerConfig,
}

impl SoakServer {
    /// Starts a server with `config` (its `bind` is replaced by a random loopback port).
    pub async fn start(config: ServerConfig) -> Self {
        let running = start(config.clone().with_bind(SocketAddr::from(([127, 0, 0, 1], 0))))
            .await
            .unwrap_or_else(|e| panic!("reference server starts: {e}"));
        let addr = running.addr();
        Self { running: Some(running), addr, config: config.with_bind(addr) }
    }

    /// Its address (the same over every life).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Starts a fresh server on the same port after [`stop`](Self::stop). Retries the bind
    /// until [`wait::PATIENCE`] runs out, in case the old listener is still closing.
    pub async fn start_again(&mut self) {
        assert!(self.running.is_none(), "start_again while the server runs");
        let deadline = tokio::time::Instant::now() + wait::PATIENCE;
        loop {
            match start(self.config.clone()).await {
                Ok(running) => {
                    self.running = Some(running);
                    return;
                }
                Err(ServerError::Bind { source, .. }) if tokio::time::Instant::now() < deadline => {
                    tracing::debug!("rebinding {}: {source}", self.addr);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => panic!("reference server restarts on {}: {e}", self.addr),
            }
        }
    }

    /// Stops the server if it runs. Graceful: a socket still open hears a Socket.IO disconnect
    /// (which a client takes as final), so a soak that wants a crash cuts the links first.
    pub async fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown().await;
        }
    }
}
