//! Starting and stopping a server: binds, wires Socket.IO (in-memory or Redis adapter) and the
//! HTTP routes into one axum app, and serves it on a background task.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use socketioxide::adapter::{Emitter, LocalAdapter};
use socketioxide::handler::ConnectHandler;
use socketioxide::SocketIo;
use socketioxide_redis::{RedisAdapter, RedisAdapterCtr};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::{ConfigError, ServerConfig};
use crate::handlers::{authenticate, on_connect};
use crate::hub::Hub;
use crate::shared::SharedRooms;

/// How long [`RunningServer::shutdown`] waits for connections to finish before dropping them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Why [`start`] failed.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The configuration is invalid.
    #[error("invalid configuration: {0}")]
    Config(#[from] ConfigError),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address from the configuration.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// Redis could not be reached or the adapter could not subscribe.
    #[error("redis adapter: {0}")]
    Redis(String),
}

/// The Socket.IO handle, whichever adapter it runs on.
enum Io {
    Local(SocketIo<LocalAdapter>),
    Redis(SocketIo<RedisAdapter<Emitter>>),
}

impl Io {
    async fn close(&self) {
        match self {
            Io::Local(io) => io.close().await,
            Io::Redis(io) => io.close().await,
        }
    }
}

/// A server running on a background task. Dropping it leaves the server running until the
/// runtime ends; call [`RunningServer::shutdown`] to stop it.
pub struct RunningServer {
    addr: SocketAddr,
    io: Io,
    stop: oneshot::Sender<()>,
    serve: JoinHandle<()>,
}

impl std::fmt::Debug for RunningServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningServer").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl RunningServer {
    /// The address the server listens on (with the real port when the config said port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr>`: the base URL for Socket.IO clients and the HTTP endpoints.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Graceful shutdown: disconnects every socket (their rooms hear `user-disconnected`), stops
    /// accepting, then waits up to 5 s for open HTTP exchanges before dropping them.
    pub async fn shutdown(self) {
        self.io.close().await;
        // The serve task may already have ended; then there is no one to tell.
        let _ = self.stop.send(());
        let mut serve = self.serve;
        if tokio::time::timeout(SHUTDOWN_GRACE, &mut serve).await.is_err() {
            tracing::warn!("connections still open after {SHUTDOWN_GRACE:?}; dropping them");
            serve.abort();
        }
        tracing::info!("server stopped");
    }
}

/// Validates `config`, binds, and starts serving on the current tokio runtime.
pub async fn start(config: ServerConfig) -> Result<RunningServer, ServerError> {
    config.validate()?;
    let redis = match &config.redis_url {
        None => None,
        Some(url) => Some(connect_redis(url).await?),
    };
    let hub = Arc::new(match &redis {
        None => Hub::new(&config, Instant::now()),
        Some((_, shared)) => Hub::with_shared(&config, Instant::now(), shared.clone()),
    });
    let transport_limit = config.transport_limit_bytes();
    let builder = SocketIo::builder()
        .with_state(Arc::clone(&hub))
        .ping_interval(config.ping_interval)
        .ping_timeout(config.ping_timeout)
        .max_payload(u64::try_from(transport_limit).unwrap_or(u64::MAX))
        .ws_max_message_size(transport_limit)
        .ws_max_frame_size(transport_limit);

    let (app, io) = match redis {
        None => {
            let (layer, io) = builder.build_layer();
            io.ns("/", on_connect::<LocalAdapter>.with(authenticate::<LocalAdapter>));
            (crate::http::routes(Arc::clone(&hub)).layer(layer), Io::Local(io))
        }
        Some((client, _)) => {
            let adapter = RedisAdapterCtr::new_with_redis(&client)
                .await
                .map_err(|e| ServerError::Redis(e.to_string()))?;
            let (layer, io) = builder.with_adapter::<RedisAdapter<_>>(adapter).build_layer();
            io.ns(
                "/",
                on_connect::<RedisAdapter<Emitter>>.with(authenticate::<RedisAdapter<Emitter>>),
            )
            .await
            .map_err(|err| ServerError::Redis(err.to_string()))?;
            (crate::http::routes(Arc::clone(&hub)).layer(layer), Io::Redis(io))
        }
    };

    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .map_err(|source| ServerError::Bind { addr: config.bind, source })?;
    let addr =
        listener.local_addr().map_err(|source| ServerError::Bind { addr: config.bind, source })?;
    let (stop, stopped) = oneshot::channel::<()>();
    let serve = tokio::spawn(async move {
        let shutdown = async {
            // A dropped sender also means stop.
            let _ = stopped.await;
        };
        if let Err(err) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
            tracing::error!("server error: {err}");
        }
    });
    tracing::info!(%addr, redis = config.redis_url.is_some(), "listening");
    Ok(RunningServer { addr, io, stop, serve })
}

/// Opens the Redis client (RESP3, which the adapter's driver needs) and the shared room store.
async fn connect_redis(url: &str) -> Result<(redis::Client, SharedRooms), ServerError> {
    let client =
        redis::Client::open(with_resp3(url)).map_err(|e| ServerError::Redis(e.to_string()))?;
    let shared =
        SharedRooms::connect(&client).await.map_err(|e| ServerError::Redis(e.to_string()))?;
    Ok((client, shared))
}

/// Adds `protocol=resp3` to a Redis URL that names no protocol.
fn with_resp3(url: &str) -> String {
    if url.contains("protocol=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&protocol=resp3")
    } else {
        format!("{url}?protocol=resp3")
    }
}

#[cfg(test)]
mod tests {
    use super::with_resp3;

    #[test]
    fn redis_urls_get_resp3_unless_they_name_a_protocol() {
        assert_eq!(with_resp3("redis://h:1"), "redis://h:1?protocol=resp3");
        assert_eq!(with_resp3("redis://h:1/?db=2"), "redis://h:1/?db=2&protocol=resp3");
        assert_eq!(with_resp3("redis://h?protocol=resp2"), "redis://h?protocol=resp2");
    }
}
