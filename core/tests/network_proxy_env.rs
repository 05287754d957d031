//! The usual proxy environment variables (`HTTP_PROXY`, `NO_PROXY`), read when a client is
//! built, against a real proxy (tinyproxy). Its own test binary: it sets process-wide variables.

mod support;

use serde_json::json;
use std::time::Duration;
use support::http_proxy::HttpProxy;
use support::node_server::NodeServer;
use tether_core::{Client, Config, Transports};

async fn round_trip(config: Config) {
    let client = Client::new(config.with_connect_timeout(Duration::from_secs(5)))
        .unwrap_or_else(|e| panic!("{e}"));
    client.connect().await.unwrap_or_else(|e| panic!("{e}"));
    client.emit_with_ack("ack-echo", json!(1)).await.unwrap_or_else(|e| panic!("{e}"));
    client.disconnect().await.unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn the_environment_names_the_proxy_and_its_exceptions() {
    let server = NodeServer::start(&[]).await;
    let proxy = HttpProxy::start(None).await;
    for name in [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
    ] {
        std::env::remove_var(name);
    }
    std::env::set_var("http_proxy", proxy.url());
    for transports in [Transports::WebSocket, Transports::Polling] {
        let before = proxy.tunnels_to(server.port());
        round_trip(Config::new(server.url()).with_transports(transports)).await;
        assert!(proxy.tunnels_to(server.port()) > before, "{transports:?}: through the proxy");
    }
    // Opted out: straight to the server.
    let before = proxy.tunnels_to(server.port());
    round_trip(Config::new(server.url()).with_proxy_from_environment(false)).await;
    // NO_PROXY names the host: straight to the server too.
    std::env::set_var("NO_PROXY", "localhost,127.0.0.1");
    round_trip(Config::new(server.url()).with_transports(Transports::Polling)).await;
    assert_eq!(proxy.tunnels_to(server.port()), before, "no tunnel for either");
}
