//! The usual proxy environment variables (`HTTP_PROXY`, `NO_PROXY`), read when a client is
//! built, against a real proxy (tinyproxy). Its own test binary: it sets process-wide variables.

mod support;

use std::time::Duration;
use support::http_proxy::HttpProxy;
use support::node_server::NodeServer;
use support::socketio::round_trip;
use tether_core::{Config, Transports};

async fn through(config: Config) {
    let config = config.with_connect_timeout(Duration::from_secs(5));
    round_trip(config).await.unwrap_or_else(|e| panic!("{e}"));
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
        through(Config::new(server.url()).with_transports(transports)).await;
        assert!(proxy.tunnels_to(server.port()) > before, "{transports:?}: through the proxy");
    }
    // Opted out: straight to the server.
    let before = proxy.tunnels_to(server.port());
    through(Config::new(server.url()).with_proxy_from_environment(false)).await;
    // NO_PROXY names the host: straight to the server too.
    std::env::set_var("NO_PROXY", "localhost,127.0.0.1");
    through(Config::new(server.url()).with_transports(Transports::Polling)).await;
    assert_eq!(proxy.tunnels_to(server.port()), before, "no tunnel for either");
}
