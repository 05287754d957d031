//! What the Socket.IO tests do over and over: build a client, wait for a message, ask the server
//! who we are, and one round trip on a fresh client (connect, an acked echo, disconnect).

use super::fault_proxy::{FaultProxy, Mode};
use super::node_server::NodeServer;
use super::wait;
use serde_json::{json, Value};
use tether_core::{Client, Config, Event, EventStream, IncomingMessage, TransportKind};

/// A client for `config` (panics on a bad config: a test bug).
pub fn client(config: Config) -> Client {
    Client::new(config).unwrap_or_else(|e| panic!("{e}"))
}

/// The next message named `name` (others are skipped).
pub async fn message(events: &mut EventStream, name: &str) -> IncomingMessage {
    match wait::event(events, name, |e| matches!(e, Event::Message(m) if m.event == name)).await {
        Event::Message(m) => m,
        _ => unreachable!(),
    }
}

/// The Node server's `whoami` answer: id, rooms, auth, transport in use.
pub async fn whoami(client: &Client) -> Value {
    let reply = client.emit_with_ack("whoami", json!({})).await.unwrap_or_else(|e| panic!("{e}"));
    reply.data[0].clone()
}

/// Waits until the client's connection runs on `kind`.
pub async fn transport(client: &Client, kind: TransportKind) {
    wait::until_async(&format!("the client on {kind}"), || async {
        client.stats().await.ok().and_then(|s| s.transport) == Some(kind)
    })
    .await;
}

/// A fresh client for `config`: connects, gets an `ack-echo` back, disconnects; returns the
/// transport it ran on.
pub async fn round_trip(config: Config) -> Result<Option<TransportKind>, tether_core::Error> {
    let client = Client::new(config)?;
    client.connect().await?;
    let reply = client.emit_with_ack("ack-echo", json!("round trip")).await?;
    assert_eq!(reply.data, vec![json!("round trip")]);
    let kind = client.stats().await?.transport;
    client.disconnect().await?;
    Ok(kind)
}

/// Waits for a recovered connection, then checks the `tick`s `{"n": 1}` to `{"n": count}` the
/// server emitted meanwhile arrive in order, once each; returns them.
pub async fn recovered_ticks(events: &mut EventStream, count: u64) -> Vec<IncomingMessage> {
    wait::event(events, "a recovered connection", |e| {
        matches!(e, Event::Connected { recovered: true })
    })
    .await;
    let mut ticks = Vec::new();
    for n in 1..=count {
        let tick = message(events, "tick").await;
        assert_eq!(tick.data, vec![json!({"n": n})], "missed events in order, offset stripped");
        ticks.push(tick);
    }
    ticks
}

/// An ack with two arguments comes back as sent (`ack-echo`).
pub async fn ack_echo_two_arguments(client: &Client) {
    let reply = client
        .send_with_ack(
            tether_core::OutgoingMessage::with_args("ack-echo", vec![json!("a"), json!({"b": 2})]),
            None,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(reply.data, vec![json!("a"), json!({"b": 2})]);
}

/// The server asks the client (`ask-client`) and gets the client's ack back.
pub async fn answer_the_servers_question(client: &Client, events: &mut EventStream) {
    let asking = client.clone();
    let question = tokio::spawn(async move {
        asking.emit_with_ack("ask-client", json!({"event": "question", "data": {"q": "2+2"}})).await
    });
    let incoming = message(events, "question").await;
    assert!(incoming.ack_id.is_some());
    let reply = tether_core::AckReply { data: vec![json!({"a": 4})], binary: vec![] };
    client.ack(&incoming, reply).await.unwrap_or_else(|e| panic!("{e}"));
    let outcome =
        question.await.unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(outcome.data[0], json!({"ok": true, "reply": [{"a": 4}]}));
}

/// Keeps the client away (the proxy refuses and cuts) until the server has noticed, then has the
/// server emit `tick`s `{"n": 1}` to `{"n": count}` to room `r`; the proxy stays refusing.
pub async fn ticks_while_away(server: &mut NodeServer, proxy: &FaultProxy, count: u64) {
    proxy.set_mode(Mode::Refuse);
    proxy.cut();
    server.wait_for("the server to notice", |r| r.iter().any(|x| x["event"] == "disconnect")).await;
    for n in 1..=count {
        server
            .command(json!({"cmd": "emit", "room": "r", "event": "tick", "data": {"n": n}}))
            .await;
    }
}

/// Connects the client, joins room `r` and receives a first `tick` (`{"n": 0}`) there: a
/// recovery offset exists from then on.
pub async fn connected_in_room_r(
    server: &mut NodeServer,
    client: &Client,
    events: &mut EventStream,
) {
    client.connect().await.unwrap_or_else(|e| panic!("{e}"));
    client.join("r").await.unwrap_or_else(|e| panic!("{e}"));
    server.command(json!({"cmd": "emit", "room": "r", "event": "tick", "data": {"n": 0}})).await;
    assert_eq!(message(events, "tick").await.data, vec![json!({"n": 0})]);
}

/// A binary attachment travels out and back (`echo`), and in an ack (`ack-echo`).
pub async fn binary_both_ways(client: &Client, events: &mut EventStream) {
    use tether_core::OutgoingMessage;
    let bytes: Vec<u8> = (0..=255).collect();
    client
        .send(OutgoingMessage::new("echo", json!({"name": "blob"})).with_attachment(bytes.clone()))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let echoed = message(events, "echo").await;
    assert_eq!(echoed.binary, vec![bytes]);
    assert_eq!(echoed.data[0], json!({"name": "blob"}));
    let reply = client
        .send_with_ack(OutgoingMessage::new("ack-echo", json!(1)).with_attachment(vec![9, 9]), None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(reply.binary, vec![vec![9, 9]], "binary ack");
}
