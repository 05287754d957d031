//! Both transports through a real HTTP proxy (Debian's tinyproxy, started on a random loopback
//! port), with and without basic auth, in front of the official Node server.

mod support;

use std::time::Duration;
use support::http_proxy::HttpProxy;
use support::node_server::NodeServer;
use support::socketio::round_trip;
use tether_core::{Client, Config, ProxyConfig, Transports};

fn config(server: &NodeServer, transports: Transports, proxy: ProxyConfig) -> Config {
    Config::new(server.url())
        .with_transports(transports)
        .with_proxy(proxy)
        .with_retry_initial_connect(false)
        .with_connect_timeout(Duration::from_secs(5))
}

#[tokio::test]
async fn every_transport_tunnels_through_a_real_proxy() {
    let server = NodeServer::start(&[]).await;
    let proxy = HttpProxy::start(None).await;
    for transports in [Transports::WebSocket, Transports::Polling] {
        let before = proxy.tunnels_to(server.port());
        let kind = round_trip(config(&server, transports, ProxyConfig::new(proxy.url())))
            .await
            .unwrap_or_else(|e| panic!("{transports:?}: {e}"));
        assert!(kind.is_some());
        assert!(proxy.tunnels_to(server.port()) > before, "{transports:?} went through the proxy");
    }
    // Polling, then the upgrade: the WebSocket goes through the proxy too.
    let client =
        Client::new(config(&server, Transports::PollingThenUpgrade, ProxyConfig::new(proxy.url())))
            .unwrap_or_else(|e| panic!("{e}"));
    client.connect().await.unwrap_or_else(|e| panic!("{e}"));
    server.wait_for("the upgrade", |r| r.iter().any(|x| x["event"] == "upgrade")).await;
}

#[tokio::test]
async fn a_proxy_that_wants_credentials_gets_them() {
    let server = NodeServer::start(&[]).await;
    let proxy = HttpProxy::start(Some(("tether", "s3cret"))).await;
    for transports in [Transports::WebSocket, Transports::Polling] {
        let anonymous =
            round_trip(config(&server, transports, ProxyConfig::new(proxy.url()))).await;
        let error = anonymous.err().unwrap_or_else(|| panic!("{transports:?}: got through"));
        assert!(error.message().contains("407"), "{transports:?}: {error}");
        assert!(!error.message().contains("s3cret"));

        let with_auth = ProxyConfig::new(proxy.url()).with_basic_auth("tether", "s3cret");
        round_trip(config(&server, transports, with_auth))
            .await
            .unwrap_or_else(|e| panic!("{transports:?}: {e}"));
        let in_url = ProxyConfig::new(proxy.url().replace("http://", "http://tether:s3cret@"));
        round_trip(config(&server, transports, in_url))
            .await
            .unwrap_or_else(|e| panic!("{transports:?}: {e}"));
    }
    assert!(proxy.tunnels_to(server.port()) >= 4);
}
