//! The durable outbox through the whole client: a real SQLite file, the driver and the
//! official Node server with its ledger (server-side de-duplication). A restart here is a
//! client dropped and another built on the same file; `tests/durable_kill.rs` does it with
//! SIGKILL.

mod support;

use serde_json::{json, Value};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use support::fault_proxy::{FaultProxy, Mode};
use support::node_server::NodeServer;
use support::temp_dir::TempDir;
use support::wait;
use tether_core::{
    Client, Config, DeviceClock, DropReason, ErrorKind, Event, OutgoingMessage, SendOptions,
};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn durable(url: &str, path: &Path) -> Config {
    Config::new(url)
        .with_reconnect_delays(ms(20), ms(200))
        .with_connect_timeout(Duration::from_secs(5))
        .with_durable_outbox(path)
        .with_ack_timeout(Duration::from_secs(3600))
}

fn build(config: Config) -> Client {
    Client::new(config).unwrap_or_else(|e| panic!("{e}"))
}

async fn send_reliably(client: &Client, n: u64) {
    let message = OutgoingMessage::new("ack-echo", json!({ "n": n }));
    client
        .send_with(message, SendOptions::at_least_once(None))
        .await
        .unwrap_or_else(|e| panic!("send {n}: {e}"));
}

async fn queued(client: &Client) -> usize {
    client.stats().await.unwrap_or_else(|e| panic!("{e}")).queued
}

/// A proxy in front of `server` that refuses every connection: the client is offline.
async fn offline(server: &NodeServer) -> FaultProxy {
    let proxy = FaultProxy::start(server.addr()).await.unwrap_or_else(|e| panic!("{e}"));
    proxy.set_mode(Mode::Refuse);
    proxy
}

// Multi-thread: the dropped client's driver lets go of the file while the next one opens it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_client_queued_offline_the_next_one_on_the_same_file_sends_once() {
    let server = NodeServer::start(&["--dedup-field", "messageId"]).await;
    let dir = TempDir::new();
    let path = dir.file("outbox.sqlite");
    let proxy = offline(&server).await;
    let first = build(durable(&format!("http://{}", proxy.addr()), &path));
    first.start().await.unwrap_or_else(|e| panic!("{e}"));
    for n in 0..3 {
        send_reliably(&first, n).await;
    }
    assert_eq!(queued(&first).await, 3);
    assert!(first.storage_error().is_none());
    drop(first);

    let second = build(durable(&server.url(), &path));
    assert_eq!(queued(&second).await, 3, "put back into the outbox before connecting");
    second.connect().await.unwrap_or_else(|e| panic!("{e}"));
    wait::until_async("the three acknowledged", || async {
        second.stats().await.is_ok_and(|s| s.acked == 3)
    })
    .await;
    assert_eq!(queued(&second).await, 0);
    let (ledger, duplicates) = server.ledger("ack-echo");
    let ns: Vec<&Value> = ledger.iter().map(|m| &m["n"]).collect();
    assert_eq!(ns, [&json!(0), &json!(1), &json!(2)]);
    assert_eq!(duplicates, 0);
    let ids: Vec<&str> = ledger.iter().filter_map(|m| m["messageId"].as_str()).collect();
    assert_eq!(ids.len(), 3, "each has the id Tether gave it: {ledger:?}");
    drop(second);

    let third = build(durable(&server.url(), &path));
    assert_eq!(queued(&third).await, 0, "acknowledged messages were forgotten");
}

#[tokio::test]
async fn a_corrupt_file_is_reported_and_the_client_works_in_memory() {
    let server = NodeServer::start(&[]).await;
    let dir = TempDir::new();
    let path = dir.file("outbox.sqlite");
    std::fs::write(&path, b"not a database ".repeat(500)).unwrap_or_else(|e| panic!("{e}"));
    let client = build(durable(&server.url(), &path));
    let error = client.storage_error().unwrap_or_else(|| panic!("no storage error"));
    assert_eq!(error.kind(), ErrorKind::Storage);
    assert!(error.message().contains("outbox.sqlite"), "{error}");
    client.connect().await.unwrap_or_else(|e| panic!("{e}"));
    let reply = client.emit_with_ack("ack-echo", json!({"still": "works"})).await;
    assert_eq!(
        reply.map(|r| r.data),
        Ok(vec![json!({"still": "works"})]),
        "in memory: no messageId"
    );
}

#[tokio::test]
async fn a_second_client_on_a_file_in_use_works_in_memory() {
    let dir = TempDir::new();
    let path = dir.file("shared.sqlite");
    let first = build(durable("ws://127.0.0.1:9", &path));
    let second = build(durable("ws://127.0.0.1:9", &path));
    assert!(first.storage_error().is_none());
    let error = second.storage_error().map(|e| e.kind());
    assert_eq!(error, Some(ErrorKind::Storage), "the file is locked by the first client");
    send_reliably(&second, 1).await;
    assert_eq!(queued(&second).await, 1);
}

/// Reports a suspend of the device at the test's command, and a wall clock it moves.
struct TestClock {
    suspended: Mutex<Duration>,
    wall: Mutex<SystemTime>,
}

impl TestClock {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            suspended: Mutex::new(Duration::ZERO),
            wall: Mutex::new(SystemTime::now()),
        })
    }

    /// The device sleeps for `how_long`: the boot clock and the wall clock jump, tokio's
    /// (monotonic) clock does not move.
    fn sleep(&self, how_long: Duration) {
        *self.suspended.lock().unwrap_or_else(|e| e.into_inner()) += how_long;
        *self.wall.lock().unwrap_or_else(|e| e.into_inner()) += how_long;
    }
}

impl DeviceClock for TestClock {
    fn suspended(&self) -> Duration {
        *self.suspended.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wall(&self) -> SystemTime {
        *self.wall.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[tokio::test]
async fn an_outbox_ttl_does_not_stretch_across_a_device_suspend() {
    let clock = TestClock::new();
    let config = Config::new("ws://127.0.0.1:9").with_outbox_ttl(Some(Duration::from_secs(600)));
    let client =
        Client::builder(config).clock(clock.clone()).build().unwrap_or_else(|e| panic!("{e}"));
    let mut events = client.events();
    client.emit("note", json!({"text": "queued offline"})).await.unwrap_or_else(|e| panic!("{e}"));
    client.app_foreground(true).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(queued(&client).await, 1, "ten minutes are not up");
    clock.sleep(Duration::from_secs(3600));
    // The app resumes; its adapters say so, and the driver reads the clock again.
    client.app_foreground(true).await.unwrap_or_else(|e| panic!("{e}"));
    let dropped = wait::event(&mut events, "the expired message", |e| {
        matches!(e, Event::Dropped { reason: DropReason::Expired, .. })
    })
    .await;
    assert!(matches!(dropped, Event::Dropped { message, .. } if message.event == "note"));
    assert_eq!(queued(&client).await, 0);
}

// Multi-thread: the dropped client's driver lets go of the file while the next one opens it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_the_app_was_not_running_counts_against_the_ttl_of_what_it_kept() {
    let server = NodeServer::start(&["--dedup-field", "messageId"]).await;
    let dir = TempDir::new();
    let path = dir.file("outbox.sqlite");
    let clock = TestClock::new();
    let config = |url: &str| durable(url, &path).with_outbox_ttl(Some(Duration::from_secs(86_400)));
    let proxy = offline(&server).await;
    let first = Client::builder(config(&format!("http://{}", proxy.addr())))
        .clock(clock.clone())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    first.emit("ack-echo", json!({"day": 1})).await.unwrap_or_else(|e| panic!("{e}"));
    drop(first);
    clock.sleep(Duration::from_secs(86_400 - 60));
    let second = Client::builder(config(&format!("http://{}", proxy.addr())))
        .clock(clock.clone())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(queued(&second).await, 1, "a minute of the day is left");
    second.emit("ack-echo", json!({"day": 2})).await.unwrap_or_else(|e| panic!("{e}"));
    drop(second);
    clock.sleep(Duration::from_secs(120));
    let third = Client::builder(config(&server.url()))
        .clock(clock)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(queued(&third).await, 1, "the first message expired while the app was away");
    third.connect().await.unwrap_or_else(|e| panic!("{e}"));
    wait::until("the second message", || server.received("ack-echo").len() == 1).await;
    assert_eq!(server.received("ack-echo")[0][0]["day"], 2);
}

// Multi-thread: the dropped client's driver lets go of the file while the next one opens it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_redelivered_after_a_restart_reaches_the_app_once() {
    let mut server = NodeServer::start(&[]).await;
    let dir = TempDir::new();
    let path = dir.file("outbox.sqlite");
    let news = |id: &str| json!({"cmd": "emit", "event": "news", "data": {"messageId": id}});
    let first = build(durable(&server.url(), &path));
    let mut events = first.events();
    first.connect().await.unwrap_or_else(|e| panic!("{e}"));
    server.command(news("srv-1")).await;
    wait::event(&mut events, "srv-1", |e| matches!(e, Event::Message(m) if m.event == "news"))
        .await;
    drop(first);

    let second = build(durable(&server.url(), &path));
    let mut events = second.events();
    second.connect().await.unwrap_or_else(|e| panic!("{e}"));
    server.command(news("srv-1")).await;
    server.command(news("srv-2")).await;
    let delivered =
        wait::event(&mut events, "a news message", |e| matches!(e, Event::Message(_))).await;
    let Event::Message(message) = delivered else { unreachable!() };
    assert_eq!(message.data[0]["messageId"], "srv-2", "srv-1 was seen before the restart");
    assert_eq!(second.stats().await.map(|s| s.duplicates).ok(), Some(1));
}
