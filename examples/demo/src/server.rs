//! The embedded reference server: loopback, a free port, a secret made up on the spot, and a
//! restart that comes back on the same port so the clients find it again.

use crate::error::DemoError;
use crate::persona::Persona;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tether_reference_server::{issue_token, start, RunningServer, ServerConfig, ServerError};
use tokio::sync::{watch, Mutex};
use tokio::time::Instant;

/// How long the collaborators' tokens stay valid.
const TOKEN_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// How long a restart keeps trying to bind the old port (the OS may hold it briefly).
const REBIND_PATIENCE: Duration = Duration::from_secs(5);

/// Whether the server is there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerStatus {
    /// Serving.
    Up,
    /// Shut down for a restart; it starts again at `back_at`.
    Restarting {
        /// When the new server starts.
        back_at: Instant,
    },
    /// Shut down for good (or a restart failed).
    Down,
}

struct Inner {
    secret: String,
    addr: SocketAddr,
    running: Mutex<Option<RunningServer>>,
    status: watch::Sender<ServerStatus>,
    restarts: AtomicU32,
}

/// The reference server, stoppable and restartable. Cheap to clone: the dashboard hands a
/// clone to the task that restarts it.
#[derive(Clone)]
pub struct EmbeddedServer {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for EmbeddedServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The secret stays out of logs.
        f.debug_struct("EmbeddedServer")
            .field("addr", &self.inner.addr)
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}

impl EmbeddedServer {
    /// Starts on `127.0.0.1:0` with a fresh random secret.
    pub async fn start() -> Result<Self, DemoError> {
        let secret = random_secret()?;
        let running = start(ServerConfig::new(secret.clone())).await?;
        let inner = Inner {
            secret,
            addr: running.addr(),
            running: Mutex::new(Some(running)),
            status: watch::Sender::new(ServerStatus::Up),
            restarts: AtomicU32::new(0),
        };
        Ok(Self { inner: Arc::new(inner) })
    }

    /// `http://127.0.0.1:PORT`, the same across restarts.
    pub fn url(&self) -> String {
        format!("http://{}", self.inner.addr)
    }

    /// Up, restarting or down.
    pub fn status(&self) -> ServerStatus {
        *self.inner.status.borrow()
    }

    /// How many times it was started again.
    pub fn restarts(&self) -> u32 {
        self.inner.restarts.load(Ordering::Relaxed)
    }

    /// A JWT for `persona`, signed with this server's secret (valid across restarts).
    pub fn token_for(&self, persona: &Persona) -> String {
        let secret = &self.inner.secret;
        issue_token(secret, persona.user_id, persona.name, persona.role, None, TOKEN_TTL)
    }

    /// Shuts the server down gracefully (every socket is disconnected), waits `downtime`, and
    /// starts it again on the same port. Returns `Ok(false)` without doing anything unless the
    /// server is up (a restart is already under way, or it was shut down).
    pub async fn restart(&self, downtime: Duration) -> Result<bool, DemoError> {
        let back_at = Instant::now() + downtime;
        let claimed = self.inner.status.send_if_modified(|status| {
            let up = *status == ServerStatus::Up;
            if up {
                *status = ServerStatus::Restarting { back_at };
            }
            up
        });
        if !claimed {
            return Ok(false);
        }
        let mut running = self.inner.running.lock().await;
        if let Some(server) = running.take() {
            server.shutdown().await;
        }
        tokio::time::sleep_until(back_at).await;
        match self.bind_again().await {
            Ok(server) => {
                *running = Some(server);
                self.inner.restarts.fetch_add(1, Ordering::Relaxed);
                self.inner.status.send_replace(ServerStatus::Up);
                Ok(true)
            }
            Err(error) => {
                self.inner.status.send_replace(ServerStatus::Down);
                Err(error)
            }
        }
    }

    /// Shuts the server down for good.
    pub async fn shutdown(&self) {
        self.inner.status.send_replace(ServerStatus::Down);
        if let Some(server) = self.inner.running.lock().await.take() {
            server.shutdown().await;
        }
    }

    async fn bind_again(&self) -> Result<RunningServer, DemoError> {
        let config = ServerConfig::new(self.inner.secret.clone()).with_bind(self.inner.addr);
        let deadline = Instant::now() + REBIND_PATIENCE;
        loop {
            match start(config.clone()).await {
                Ok(server) => return Ok(server),
                Err(ServerError::Bind { .. }) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(error) => return Err(error.into()),
            }
        }
    }
}

/// 32 bytes from the operating system, hex-encoded: a fresh HS256 secret every run.
fn random_secret() -> Result<String, DemoError> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).map_err(|e| DemoError::Entropy(e.to_string()))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_and_different_every_time() {
        let (a, b) = (random_secret().expect("entropy"), random_secret().expect("entropy"));
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
    }

    #[tokio::test]
    async fn a_restart_comes_back_on_the_same_port_and_only_one_runs_at_a_time() {
        let server = EmbeddedServer::start().await.expect("starts");
        let url = server.url();
        let (first, second) = tokio::join!(
            server.restart(Duration::from_millis(50)),
            server.restart(Duration::from_millis(50)),
        );
        let restarted = [first.expect("restarts"), second.expect("no error")];
        assert_eq!(restarted.iter().filter(|r| **r).count(), 1, "exactly one restart ran");
        assert_eq!((server.status(), server.restarts(), server.url()), (ServerStatus::Up, 1, url));
        server.shutdown().await;
        assert_eq!(server.status(), ServerStatus::Down);
    }
}
