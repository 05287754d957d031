//! Test helpers: a server on a free port, a raw HTTP GET, and a minimal Socket.IO v5 client
//! over WebSocket (enough to exercise the handlers; Tether's own client has its own tests).

#![allow(dead_code, missing_docs)]

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tether_reference_server::{issue_token, start, Role, RunningServer, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const SECRET: &str = "reference-server-test-secret";
pub const WAIT: Duration = Duration::from_secs(5);

pub async fn server(config: ServerConfig) -> RunningServer {
    start(config).await.expect("server starts")
}

pub fn config() -> ServerConfig {
    ServerConfig::new(SECRET)
}

pub fn token(user: &str, role: Role) -> String {
    issue_token(SECRET, user, &user.to_uppercase(), role, None, Duration::from_secs(600))
}

/// `GET path` over a fresh TCP connection; returns (status code, JSON body).
pub async fn http_get(addr: SocketAddr, path: &str) -> (u16, Value) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write request");
    let mut response = String::new();
    tokio::time::timeout(WAIT, stream.read_to_string(&mut response))
        .await
        .expect("response in time")
        .expect("read response");
    let status =
        response.split_whitespace().nth(1).and_then(|code| code.parse().ok()).expect("status line");
    let body = response.split_once("\r\n\r\n").map(|(_, body)| body).unwrap_or_default();
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// What a connect attempt got back.
#[derive(Debug)]
pub enum Connected {
    Ok(Box<Client>),
    Refused(Value),
}

/// A bare Socket.IO v5 client on the `/` namespace.
pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    next_ack: u64,
    /// Events received while waiting for something else.
    pub inbox: Vec<(String, Value)>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("inbox", &self.inbox).finish()
    }
}

impl Client {
    /// Opens a WebSocket, sends CONNECT with `auth`, returns the client or the CONNECT_ERROR.
    pub async fn connect(addr: SocketAddr, auth: Value) -> Connected {
        let url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");
        let (ws, _) = tokio_tungstenite::connect_async(url).await.expect("websocket");
        let mut client = Client { ws, next_ack: 1, inbox: Vec::new() };
        let open = client.next_text().await;
        assert!(open.starts_with('0'), "engine.io open packet, got {open}");
        client.send_text(format!("40{auth}")).await;
        loop {
            let packet = client.next_text().await;
            if let Some(body) = packet.strip_prefix("40") {
                assert!(body.contains("sid"), "connect packet {packet}");
                return Connected::Ok(Box::new(client));
            }
            if let Some(body) = packet.strip_prefix("44") {
                return Connected::Refused(serde_json::from_str(body).expect("connect_error json"));
            }
        }
    }

    pub async fn connect_as(addr: SocketAddr, token: &str) -> Client {
        match Client::connect(addr, json!({"token": token})).await {
            Connected::Ok(client) => *client,
            Connected::Refused(err) => panic!("connect refused: {err}"),
        }
    }

    /// Emits without an ack.
    pub async fn emit(&mut self, event: &str, data: Value) {
        self.send_text(format!("42{}", json!([event, data]))).await;
    }

    /// Emits a raw packet body after `42<ack id>`, returns the ack id.
    pub async fn emit_raw_with_ack(&mut self, args: &str) -> u64 {
        let id = self.next_ack;
        self.next_ack += 1;
        self.send_text(format!("42{id}{args}")).await;
        id
    }

    /// Emits with an ack and waits for it; returns the ack's first argument.
    pub async fn call(&mut self, event: &str, data: Value) -> Value {
        let id = self.emit_raw_with_ack(&json!([event, data]).to_string()).await;
        self.ack(id).await
    }

    /// Waits for the ack `id`, keeping events in the inbox.
    pub async fn ack(&mut self, id: u64) -> Value {
        let prefix = format!("43{id}");
        loop {
            let packet = self.next_text().await;
            if let Some(body) = packet.strip_prefix(&prefix) {
                let args: Value = serde_json::from_str(body).expect("ack json");
                return args[0].clone();
            }
            self.keep_event(&packet);
        }
    }

    /// Waits for the next event named `name` (from the inbox first).
    pub async fn event(&mut self, name: &str) -> Value {
        if let Some(pos) = self.inbox.iter().position(|(event, _)| event == name) {
            return self.inbox.remove(pos).1;
        }
        loop {
            let packet = self.next_text().await;
            if let Some((event, data)) = parse_event(&packet) {
                if event == name {
                    return data;
                }
                self.inbox.push((event, data));
            }
        }
    }

    /// Collects events for `quiet` and returns their names (inbox included).
    pub async fn drain(&mut self, quiet: Duration) -> Vec<(String, Value)> {
        let deadline = tokio::time::Instant::now() + quiet;
        while let Ok(Some(Ok(message))) = tokio::time::timeout_at(deadline, self.ws.next()).await {
            if let Message::Text(text) = message {
                if text.as_str() == "2" {
                    self.send_text("3".into()).await;
                } else {
                    self.keep_event(text.as_str());
                }
            }
        }
        std::mem::take(&mut self.inbox)
    }

    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }

    fn keep_event(&mut self, packet: &str) {
        if let Some(event) = parse_event(packet) {
            self.inbox.push(event);
        }
    }

    async fn send_text(&mut self, text: String) {
        self.ws.send(Message::text(text)).await.expect("send");
    }

    async fn next_text(&mut self) -> String {
        loop {
            let message = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("packet in time")
                .expect("socket open")
                .expect("websocket frame");
            match message {
                Message::Text(text) if text.as_str() == "2" => self.send_text("3".into()).await,
                Message::Text(text) => return text.as_str().to_owned(),
                Message::Close(_) => panic!("socket closed"),
                _ => {}
            }
        }
    }
}

fn parse_event(packet: &str) -> Option<(String, Value)> {
    let body = packet.strip_prefix("42")?;
    let args: Value = serde_json::from_str(body).ok()?;
    Some((args[0].as_str()?.to_owned(), args[1].clone()))
}
