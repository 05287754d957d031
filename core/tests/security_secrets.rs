//! The token never shows: not in any log line at TRACE (ours, and the `log` records of our
//! dependencies, tungstenite and rustls, which the subscriber bridges), not in the `Debug` of the
//! config, the client, the session, events, errors or stats, and not in error messages. Each
//! test uses a secret of its own and scans everything it saw, through connects, reconnects and
//! an auth rejection, against the official Socket.IO server (token in the CONNECT payload) and
//! a raw WebSocket server (token in the `Authorization` header).
//!
//! Every test of this file shares one process-wide subscriber that writes into a buffer, so the
//! secrets are scanned for in every line any test produced.

mod support;

use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};
use support::fault_proxy::FaultProxy;
use support::node_server::NodeServer;
use support::wait;
use support::ws_server::WsServer;
use tether_core::{
    Client, Config, ConnectionState, ErrorKind, Event, Frame, RawWebSocketConfig, Session, Token,
    TokenError,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

static LOG: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct Capture;

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOG.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the capturing subscriber at TRACE, with the `log` bridge (what an app that runs
/// `tracing_subscriber::fmt().init()` gets), once per process.
fn capture_logs() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(|| Capture)
            .try_init()
            .unwrap_or_else(|e| panic!("cannot install the capturing subscriber: {e}"));
    });
}

fn captured() -> String {
    String::from_utf8_lossy(&LOG.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
}

/// A secret no other test uses, so a leak is attributed to the right test.
fn secret(tag: &str) -> String {
    format!("tok-{tag}-{:016x}", fastrand::u64(..))
}

/// The ways a secret could be spelled in text: as is, JSON-escaped (same here), and as the hex
/// dump tungstenite prints for frame payloads.
fn spellings(secret: &str) -> [String; 2] {
    [secret.to_owned(), secret.bytes().map(|b| format!("{b:02x}")).collect()]
}

fn assert_never_shown(secrets: &[&str], what: &str, text: &str) {
    for secret in secrets {
        for spelled in spellings(secret) {
            if let Some(at) = text.find(&spelled) {
                let start = text[..at].rfind('\n').map_or(0, |n| n + 1);
                let end = text[at..].find('\n').map_or(text.len(), |n| at + n);
                panic!("the token leaked into {what}: {}", &text[start..end]);
            }
        }
    }
}

/// Records the `Debug` of every event a client emits.
fn record_events(client: &Client) -> Arc<Mutex<Vec<String>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let mut events = client.events();
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            let shown = match &event {
                Event::Error(error) => format!("{event:?} / {error}"),
                _ => format!("{event:?}"),
            };
            sink.lock().unwrap_or_else(PoisonError::into_inner).push(shown);
        }
    });
    seen
}

fn events_text(seen: &Mutex<Vec<String>>) -> String {
    seen.lock().unwrap_or_else(PoisonError::into_inner).join("\n")
}

fn provider(token: String) -> impl Fn() -> std::future::Ready<Result<Token, TokenError>> {
    move || std::future::ready(Ok(Token::new(token.clone())))
}

fn quick(config: Config) -> Config {
    config
        .with_reconnect_delays(Duration::from_millis(20), Duration::from_millis(200))
        .with_connect_timeout(Duration::from_secs(5))
}

/// Everything a client shows about itself.
async fn client_views(client: &Client, config: &Config) -> String {
    let stats = client.stats().await.map(|s| format!("{s:?}")).unwrap_or_else(|e| format!("{e:?}"));
    format!("{config:?}\n{client:?}\n{:?}\n{stats}", *client.state().borrow())
}

#[tokio::test]
async fn the_socket_io_token_never_shows_through_connects_reconnects_and_a_rejection() {
    capture_logs();
    let good = secret("sio");
    let wrong = secret("sio-wrong");
    let server = NodeServer::start(&["--token", &good]).await;
    let config = quick(Config::new(server.url()));
    let client = Client::builder(config.clone())
        .token_provider(provider(good.clone()))
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let seen = record_events(&client);
    client.connect().await.unwrap_or_else(|e| panic!("{e}"));
    let reply = client.emit_with_ack("whoami", json!({})).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(reply.data[0]["auth"]["token"], "<redacted>", "the server saw our token");

    // A reconnect asks the provider again and sends the token again.
    let mut events = client.events();
    let server = server.restart().await;
    wait::event(&mut events, "the reconnect", |e| matches!(e, Event::Connected { .. })).await;
    server
        .wait_for("the restarted server to see us", |r| {
            r.iter().any(|x| x["event"] == "connection")
        })
        .await;

    // A rejected token: the error, the state and the failure reason.
    let rejected_config = quick(Config::new(server.url()));
    let rejected = Client::builder(rejected_config.clone())
        .token_provider(provider(wrong.clone()))
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let rejected_seen = record_events(&rejected);
    let error = rejected.connect().await.err().unwrap_or_else(|| panic!("a wrong token got in"));
    assert_eq!(error.kind(), ErrorKind::AuthRejected);

    let secrets = [good.as_str(), wrong.as_str()];
    assert_never_shown(&secrets, "the connect error", &format!("{error} / {error:?}"));
    assert_never_shown(&secrets, "the reply", &format!("{reply:?}"));
    assert_never_shown(&secrets, "the client", &client_views(&client, &config).await);
    assert_never_shown(&secrets, "the client", &client_views(&rejected, &rejected_config).await);
    client.disconnect().await.unwrap_or_else(|e| panic!("{e}"));
    drop((client, rejected));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_never_shown(&secrets, "an event", &events_text(&seen));
    assert_never_shown(&secrets, "an event", &events_text(&rejected_seen));
    let logs = captured();
    assert!(logs.contains("TRACE") && logs.contains("frame out"), "TRACE was not captured");
    assert!(logs.contains("tungstenite"), "the `log` records of tungstenite were not captured");
    assert_never_shown(&secrets, "the logs", &logs);
}

/// A server that answers every WebSocket upgrade with `401 Unauthorized`.
async fn refusing_server() -> (String, tokio::task::JoinHandle<()>) {
    let listener =
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let refusal = b"HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\n\r\n";
                let _ = stream.write_all(refusal).await;
            });
        }
    });
    (format!("ws://{addr}"), task)
}

#[tokio::test]
async fn the_bearer_token_never_shows_through_connects_reconnects_and_a_rejection() {
    capture_logs();
    let good = secret("raw");
    let wrong = secret("raw-wrong");
    let server = WsServer::start().await;
    let proxy = FaultProxy::start(server.addr()).await.unwrap_or_else(|e| panic!("{e}"));
    let config = quick(
        Config::new(format!("ws://{}", proxy.addr()))
            .with_raw_websocket(RawWebSocketConfig::default()),
    );
    let client = Client::builder(config.clone())
        .token_provider(provider(good.clone()))
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let seen = record_events(&client);
    let mut events = client.events();
    client.connect().await.unwrap_or_else(|e| panic!("{e}"));
    wait::until("the proxy to see the connection", || proxy.connection_count() == 1).await;
    proxy.cut();
    wait::event(&mut events, "the disconnect", |e| matches!(e, Event::Disconnected { .. })).await;
    wait::state(&client, "connected again", ConnectionState::is_connected).await;
    assert_eq!(
        server.authorization_headers(),
        vec![Some(format!("Bearer {good}")), Some(format!("Bearer {good}"))],
        "the token reached the server on both connects"
    );

    let (refusing_url, _refusing) = refusing_server().await;
    let rejected_config =
        quick(Config::new(refusing_url).with_raw_websocket(RawWebSocketConfig::default()));
    let rejected = Client::builder(rejected_config.clone())
        .token_provider(provider(wrong.clone()))
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let rejected_seen = record_events(&rejected);
    let error = rejected.connect().await.err().unwrap_or_else(|| panic!("a 401 let us in"));
    assert_eq!(error.kind(), ErrorKind::AuthRejected, "{error}");

    let secrets = [good.as_str(), wrong.as_str()];
    assert_never_shown(&secrets, "the connect error", &format!("{error} / {error:?}"));
    assert_never_shown(&secrets, "the client", &client_views(&client, &config).await);
    assert_never_shown(&secrets, "the client", &client_views(&rejected, &rejected_config).await);
    drop((client, rejected));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_never_shown(&secrets, "an event", &events_text(&seen));
    assert_never_shown(&secrets, "an event", &events_text(&rejected_seen));
    let logs = captured();
    assert!(logs.contains("tungstenite"), "the `log` records of tungstenite were not captured");
    assert_never_shown(&secrets, "the logs", &logs);
}

#[test]
fn the_sessions_debug_never_shows_the_token() {
    let good = secret("session");
    let now = Instant::now();
    let mut session =
        Session::new(Config::new("ws://server.test"), now).unwrap_or_else(|e| panic!("{e}"));
    session.connect(now);
    let token = Token::new(good.clone());
    let url = url::Url::parse("ws://server.test").unwrap_or_else(|e| panic!("{e}"));
    let request = session.transport_request(&url, Some(&token));
    session.handle_transport_open(Some(&token), now);
    let before_open = format!("{session:?}");
    let open = r#"0{"sid":"e1","upgrades":[],"pingInterval":25000,"pingTimeout":20000}"#;
    session.handle_frame(Frame::Text(open.to_owned()), now);
    let mut sent = Vec::new();
    while let Some(frame) = session.poll_transmit() {
        sent.push(frame);
    }
    assert!(
        sent.iter().any(|f| matches!(f, Frame::Text(t) if t.contains(&good))),
        "the CONNECT packet must carry the token: {sent:?}"
    );
    let shown = [format!("{request:?}"), before_open, format!("{session:?}"), format!("{token:?}")];
    assert_never_shown(&[good.as_str()], "the session's Debug", &shown.join("\n"));

    let mut raw = Session::new(
        Config::new("ws://server.test").with_raw_websocket(RawWebSocketConfig::default()),
        now,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    raw.connect(now);
    let request = raw.transport_request(&url, Some(&token));
    assert_eq!(request.headers, vec![("Authorization".to_owned(), format!("Bearer {good}"))]);
    raw.handle_transport_open(Some(&token), now);
    let shown = format!("{request:?}\n{raw:?}");
    assert_never_shown(&[good.as_str()], "the raw session's Debug", &shown);
}
