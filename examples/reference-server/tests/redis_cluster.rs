//! Two server nodes joined through the socketioxide Redis adapter. Needs a `redis-server`
//! binary (Redis >= 7 for RESP3), which `scripts/install-deps.sh` installs; without one the
//! tests fail rather than pass vacuously.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::json;
use support::{config, server, token, Client};
use tether_reference_server::{Role, RunningServer};

/// A `redis-server` on a free port, killed on drop.
struct RedisServer {
    child: Child,
    port: u16,
}

impl RedisServer {
    async fn start() -> Option<RedisServer> {
        let port = std::net::TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let redis = RedisServer { child, port };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return Some(redis);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn two_nodes() -> Option<(RedisServer, RunningServer, RunningServer)> {
    let Some(redis) = RedisServer::start().await else {
        panic!("no redis-server binary on PATH: run scripts/install-deps.sh");
    };
    let a = server(config().with_redis_url(redis.url())).await;
    let b = server(config().with_redis_url(redis.url())).await;
    Some((redis, a, b))
}

#[tokio::test]
async fn relays_and_presence_cross_nodes() {
    let Some((_redis, a, b)) = two_nodes().await else { return };
    let mut ana = Client::connect_as(a.addr(), &token("ana", Role::Editor)).await;
    let mut bob = Client::connect_as(b.addr(), &token("bob", Role::Editor)).await;
    ana.call("join-room", json!({"room": "doc"})).await;
    let ack = bob.call("join-room", json!({"room": "doc"})).await;
    let ids: Vec<_> =
        ack["members"].as_array().expect("members").iter().map(|m| m["userId"].clone()).collect();
    assert_eq!(ids, [json!("ana"), json!("bob")], "the roster spans nodes");
    assert_eq!(ana.event("user-joined").await["user"]["userId"], json!("bob"));

    ana.emit("cursor-move", json!({"room": "doc", "x": 3, "y": 4})).await;
    assert_eq!(bob.event("cursor-moved").await["userId"], json!("ana"));

    bob.close().await;
    assert_eq!(ana.event("user-disconnected").await, json!({"room": "doc", "userId": "bob"}));
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn pricing_versions_are_shared_between_nodes() {
    let Some((_redis, a, b)) = two_nodes().await else { return };
    let mut ana = Client::connect_as(a.addr(), &token("ana", Role::Editor)).await;
    let mut bob = Client::connect_as(b.addr(), &token("bob", Role::Editor)).await;
    ana.call("join-room", json!({"room": "doc"})).await;
    bob.call("join-room", json!({"room": "doc"})).await;

    let first = json!({"room": "doc", "field": "labor", "value": 1, "baseVersion": 0});
    assert_eq!(ana.call("pricing-update", first).await["version"], json!(1));
    assert_eq!(bob.event("pricing-updated").await["value"], json!(1));
    let stale = json!({"room": "doc", "field": "labor", "value": 2, "baseVersion": 0});
    let ack = bob.call("pricing-update", stale).await;
    assert_eq!(ack["error"], json!("conflict"));
    assert_eq!(ack["serverVersion"], json!(1));
    let snapshot = bob.call("room-state", json!({"room": "doc"})).await;
    assert_eq!(snapshot["state"]["labor"]["value"], json!(1));
    a.shutdown().await;
    b.shutdown().await;
}
