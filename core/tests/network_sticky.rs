//! Long-polling behind a load balancer: HAProxy (Debian's) round-robins over two Node servers
//! joined by the Redis adapter, with cookie-based stickiness. A polling client's requests must
//! all reach the node that holds its Engine.IO session, which only the sticky cookie kept and
//! sent back by the client achieves; when that node dies, the client fails over to the other.

mod support;

use serde_json::json;
use std::time::Duration;
use support::haproxy::HaProxy;
use support::node_server::{NodeServer, RedisServer};
use support::wait;
use tether_core::{Client, Config, Event, Transports};

fn config(url: &str) -> Config {
    Config::new(url)
        .with_transports(Transports::Polling)
        .with_reconnect_delays(Duration::from_millis(50), Duration::from_millis(300))
        .with_connect_timeout(Duration::from_secs(5))
        .with_proxy_from_environment(false)
}

#[tokio::test]
async fn a_polling_client_stays_on_its_node_and_fails_over_when_it_dies() {
    let redis = RedisServer::start().await;
    let node_a = NodeServer::start(&["--redis", &redis.url()]).await;
    let node_b = NodeServer::start(&["--redis", &redis.url()]).await;
    let balancer = HaProxy::start(&[node_a.port(), node_b.port()]).await;

    let unknown_sessions = |node: &NodeServer| {
        node.reports_of("engine_error").iter().filter(|e| e["code"] == 1).count()
    };
    // Without cookies, round robin scatters one session's requests over both nodes.
    let scattered =
        Client::new(config(&balancer.url()).with_cookies(false).with_retry_initial_connect(false))
            .unwrap_or_else(|e| panic!("{e}"));
    let refused = scattered.connect().await;
    assert!(refused.is_err(), "a session cannot live on two nodes");
    drop(scattered);
    wait::until("a node to refuse a scattered request", || {
        unknown_sessions(&node_a) + unknown_sessions(&node_b) > 0
    })
    .await;

    let client = Client::new(config(&balancer.url())).unwrap_or_else(|e| panic!("{e}"));
    let mut events = client.events();
    client.connect().await.unwrap_or_else(|e| panic!("{e}"));
    client.join("company-1").await.unwrap_or_else(|e| panic!("{e}"));
    for n in 0..10 {
        let reply =
            client.emit_with_ack("ack-echo", json!(n)).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(reply.data, vec![json!(n)]);
    }
    let me = client.emit_with_ack("whoami", json!({})).await.unwrap_or_else(|e| panic!("{e}"));
    let id = me.data[0]["id"].clone();
    let holds = |node: &NodeServer| node.reports_of("connection").iter().any(|c| c["id"] == id);
    wait::until("a node to report the connection", || holds(&node_a) || holds(&node_b)).await;
    assert!(holds(&node_a) != holds(&node_b), "exactly one node holds the session");
    let (home, mut other) = if holds(&node_a) { (node_a, node_b) } else { (node_b, node_a) };

    // A broadcast from the other node reaches the client through Redis.
    other.command(json!({"cmd": "emit", "room": "company-1", "event": "stock", "data": 1})).await;
    wait::event(
        &mut events,
        "the broadcast",
        |e| matches!(e, Event::Message(m) if m.event == "stock"),
    )
    .await;
    // A request that reached the wrong node would have been refused (400, unknown session) and
    // cost the client its connection: one connect, no error, is every request on its node.
    let stats = client.stats().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((stats.connect_count, stats.error_count), (1, 0), "{stats:?}");

    // Its node dies: HAProxy sends the next requests to the survivor, a new session starts
    // there and the room is joined again.
    home.stop().await;
    wait::event(&mut events, "connected to the survivor", |e| matches!(e, Event::Connected { .. }))
        .await;
    other
        .wait_for("the room re-joined on the survivor", |r| {
            r.iter().any(|x| x["name"] == "join-room")
        })
        .await;
    other.command(json!({"cmd": "emit", "room": "company-1", "event": "stock", "data": 2})).await;
    let update = wait::event(
        &mut events,
        "the broadcast after failover",
        |e| matches!(e, Event::Message(m) if m.event == "stock"),
    )
    .await;
    assert!(matches!(update, Event::Message(m) if m.data == vec![json!(2)]));
}
