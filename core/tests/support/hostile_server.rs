//! Servers that misbehave on purpose, for the limit tests: each accepted connection is handed,
//! with its number (0, 1, ...), to a script the test writes. Helpers play the honest parts of
//! Engine.IO / Socket.IO so a script can misbehave after them.
//!
//! Include it with `#[path = "support/hostile_server.rs"] mod hostile_server;`.
#![allow(dead_code)]

use futures_util::{SinkExt, StreamExt};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// An accepted WebSocket.
pub type Ws = WebSocketStream<TcpStream>;

/// A running hostile server; dropping it stops it and every connection.
pub struct HostileServer {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl HostileServer {
    /// Runs `script(n, stream)` for the n-th TCP connection, before any WebSocket handshake.
    pub async fn tcp<F, Fut>(script: F) -> Self
    where
        F: Fn(usize, TcpStream) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener =
            TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("bind: {e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                let n = count.fetch_add(1, Ordering::SeqCst);
                connections.spawn(script(n, stream));
            }
        });
        Self { addr, accepted, task }
    }

    /// Runs `script(n, websocket)` for the n-th connection, after the WebSocket upgrade.
    pub async fn websocket<F, Fut>(script: F) -> Self
    where
        F: Fn(usize, Ws) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let script = Arc::new(script);
        Self::tcp(move |n, stream| {
            let script = script.clone();
            async move {
                if let Ok(ws) = tokio_tungstenite::accept_async(stream).await {
                    script(n, ws).await;
                }
            }
        })
        .await
    }

    /// The `ws://` URL (`http://` for Socket.IO clients works the same).
    pub fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// TCP connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for HostileServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The Engine.IO open packet of an honest server (long heartbeat, so it never interferes).
pub const OPEN: &str = r#"0{"sid":"hostile","upgrades":[],"pingInterval":60000,"pingTimeout":60000,"maxPayload":1000000}"#;

/// Plays an honest Socket.IO handshake for the main namespace: open, wait for the client's
/// CONNECT, accept it. Returns false if the client went away.
pub async fn socket_io_handshake(ws: &mut Ws) -> bool {
    if ws.send(Message::text(OPEN)).await.is_err() {
        return false;
    }
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) if text.as_str().starts_with("40") => break,
            Some(Ok(_)) => {}
            _ => return false,
        }
    }
    ws.send(Message::text(r#"40{"sid":"s1"}"#)).await.is_ok()
}

/// Reads (and answers nothing) until the client goes away.
pub async fn drain(ws: &mut Ws) {
    while let Some(Ok(_)) = ws.next().await {}
}
