//! A bare tokio-tungstenite server for the raw WebSocket tests: echoes every text and binary
//! message, records what it received, and can misbehave on request. Like the benches' bare
//! server, a text `flood:N` is answered with N texts `f0`, `f1`, ... sent back to back (and not
//! echoed), for the tests of slow and absent readers.

use futures_util::{SinkExt, StreamExt};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

/// How the server treats new connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Accept the upgrade and echo.
    Echo,
    /// Accept TCP, then close before the WebSocket handshake completes.
    CloseDuringHandshake,
    /// Echo, but answer the first message with one frame of this many bytes.
    OversizedReply(usize),
}

#[derive(Default)]
struct Shared {
    received: Mutex<Vec<String>>,
    authorization: Mutex<Vec<Option<String>>>,
    open: AtomicUsize,
    accepted: AtomicUsize,
}

/// A running server; dropping it stops it and closes its connections.
pub struct WsServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl WsServer {
    /// An echo server on a random loopback port.
    pub async fn start() -> Self {
        Self::start_with(Behaviour::Echo, "127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}")))
            .await
    }

    /// A server with `behaviour` on `addr` (port 0 for a random one; a fixed one to restart).
    pub async fn start_with(behaviour: Behaviour, addr: SocketAddr) -> Self {
        let listener = bind_retrying(addr).await;
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let shared = Arc::new(Shared::default());
        let task = tokio::spawn(serve(listener, behaviour, shared.clone()));
        Self { addr, shared, task }
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The `ws://` URL.
    pub fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// Every text message received, in order, over all connections.
    pub fn received(&self) -> Vec<String> {
        self.shared.received.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// The Authorization header of each upgrade.
    pub fn authorization_headers(&self) -> Vec<Option<String>> {
        self.shared.authorization.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Connections open now.
    pub fn open_connections(&self) -> usize {
        self.shared.open.load(Ordering::SeqCst)
    }

    /// TCP connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for WsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Binding the port a just-stopped server used can race its sockets' teardown; retry briefly.
async fn bind_retrying(addr: SocketAddr) -> TcpListener {
    let mut last = None;
    for _ in 0..200 {
        match TcpListener::bind(addr).await {
            Ok(listener) => return listener,
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("cannot bind {addr}: {last:?}");
}

// The handshake callback's error type is tungstenite's HTTP response: its size is not ours.
#[allow(clippy::result_large_err)]
async fn serve(listener: TcpListener, behaviour: Behaviour, shared: Arc<Shared>) {
    let mut connections = tokio::task::JoinSet::new();
    while let Ok((stream, _)) = listener.accept().await {
        shared.accepted.fetch_add(1, Ordering::SeqCst);
        if behaviour == Behaviour::CloseDuringHandshake {
            drop(stream);
            continue;
        }
        let shared = shared.clone();
        connections.spawn(async move {
            let auth = Arc::new(Mutex::new(None));
            let auth_in = auth.clone();
            let callback = move |request: &tokio_tungstenite::tungstenite::handshake::server::Request,
                                 response: tokio_tungstenite::tungstenite::handshake::server::Response| {
                let value = request.headers().get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned);
                if let Ok(mut slot) = auth_in.lock() {
                    *slot = value;
                }
                Ok(response)
            };
            let Ok(mut socket) = tokio_tungstenite::accept_hdr_async(stream, callback).await else { return };
            if let (Ok(mut all), Ok(one)) = (shared.authorization.lock(), auth.lock()) {
                all.push(one.clone());
            }
            shared.open.fetch_add(1, Ordering::SeqCst);
            let mut first = true;
            while let Some(Ok(message)) = socket.next().await {
                let reply = match message {
                    Message::Text(text) => {
                        if let Ok(mut received) = shared.received.lock() {
                            received.push(text.as_str().to_owned());
                        }
                        match text.as_str().strip_prefix("flood:").map(str::parse::<u64>) {
                            Some(Ok(n)) => {
                                if flood(&mut socket, n).await.is_err() {
                                    break;
                                }
                                None
                            }
                            _ => Some(Message::Text(text)),
                        }
                    }
                    Message::Binary(bytes) => Some(Message::Binary(bytes)),
                    Message::Close(_) => break,
                    _ => None,
                };
                let reply = match (behaviour, first) {
                    (Behaviour::OversizedReply(size), true) => Some(Message::binary(vec![0u8; size])),
                    _ => reply,
                };
                first = false;
                if let Some(reply) = reply {
                    if socket.send(reply).await.is_err() {
                        break;
                    }
                }
            }
            shared.open.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

/// Sends `n` small texts as fast as the socket takes them: queued with `feed`, flushed once.
async fn flood<S>(socket: &mut S, n: u64) -> Result<(), tokio_tungstenite::tungstenite::Error>
where
    S: futures_util::Sink<Message, Error = tokio_tungstenite::tungstenite::Error> + Unpin,
{
    for i in 0..n {
        socket.feed(Message::text(format!("f{i}"))).await?;
    }
    socket.flush().await
}
