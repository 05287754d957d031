//! The floor's server: a bare tokio-tungstenite server, no framework, default settings. It
//! echoes text and binary messages, and counts for W2: `reset:N` sets a target (answered
//! `reset-ok`), every text starting with `c` is counted and not echoed, and `done` goes back
//! when the target is reached; for W6, `flood:N` sends N texts `f<i>` back to back. Pings are
//! answered by tungstenite itself.

use crate::measure::{event, R};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;

/// Listens on a free loopback port, prints `{"event":"listening","port":N}`, serves until stdin
/// closes.
pub async fn run() -> R<()> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    event("listening", json!({ "port": listener.local_addr()?.port() }));
    tokio::spawn(async {
        let mut stdin = tokio::io::stdin();
        let mut buf = [0u8; 256];
        while matches!(stdin.read(&mut buf).await, Ok(n) if n > 0) {}
        std::process::exit(0);
    });
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(serve(stream));
    }
}

async fn serve(stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else { return };
    let mut counted = 0u64;
    let mut target = u64::MAX;
    while let Some(Ok(message)) = ws.next().await {
        let reply = match message {
            Message::Text(text) => {
                if text.as_str().starts_with('c') {
                    counted += 1;
                    (counted == target).then(|| Message::text("done"))
                } else if let Some(n) = text.as_str().strip_prefix("flood:") {
                    if flood(&mut ws, n.parse().unwrap_or(0)).await.is_err() {
                        break;
                    }
                    None
                } else if let Some(n) = text.as_str().strip_prefix("reset:") {
                    counted = 0;
                    target = n.parse().unwrap_or(u64::MAX);
                    Some(Message::text("reset-ok"))
                } else {
                    Some(Message::Text(text))
                }
            }
            Message::Binary(bytes) => Some(Message::Binary(bytes)),
            Message::Close(_) => break,
            _ => None,
        };
        if let Some(reply) = reply {
            if ws.send(reply).await.is_err() {
                break;
            }
        }
    }
}

/// Sends `n` small texts as fast as the socket takes them: queued with `feed`, flushed once.
async fn flood(
    ws: &mut tokio_tungstenite::WebSocketStream<TcpStream>,
    n: u64,
) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    for i in 0..n {
        ws.feed(Message::text(format!("f{i}"))).await?;
    }
    ws.flush().await
}
