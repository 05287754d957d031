//! TLS beyond the trust store, over both transports against the official Node server behind a
//! TLS front made at test time: a pinned key that matches and one that does not, and a server
//! that demands a client certificate.

mod support;
#[path = "support/tls_front.rs"]
mod tls_front;
#[path = "support/tls_server.rs"]
mod tls_server;

use serde_json::json;
use std::time::Duration;
use support::node_server::NodeServer;
use tether_core::{Client, ClientCertificate, Config, ErrorKind, TransportKind, Transports};
use tls_front::TlsFront;
use tls_server::TestPki;

fn config(port: u16, pki: &TestPki, transports: Transports) -> Config {
    Config::new(format!("wss://localhost:{port}"))
        .with_transports(transports)
        .with_root_certificate(pki.ca_der.clone())
        .with_builtin_roots(false)
        .with_retry_initial_connect(false)
        .with_connect_timeout(Duration::from_secs(5))
        .with_proxy_from_environment(false)
}

async fn connects(config: Config) -> Result<TransportKind, tether_core::Error> {
    let client = Client::new(config)?;
    client.connect().await?;
    let reply = client.emit_with_ack("ack-echo", json!("over TLS")).await?;
    assert_eq!(reply.data, vec![json!("over TLS")]);
    let kind = client.stats().await?.transport;
    client.disconnect().await?;
    Ok(kind.unwrap_or(TransportKind::WebSocket))
}

#[tokio::test]
async fn a_pinned_key_must_match_on_both_transports() {
    let server = NodeServer::start(&[]).await;
    let pki = TestPki::new(&["localhost"]);
    let front = TlsFront::start(server.addr(), &pki, None).await;
    let leaf_pin = tether_core::transport::spki_pin(&pki.chain[0]).unwrap_or_default();
    let other_pin =
        tether_core::transport::spki_pin(TestPki::new(&["localhost"]).chain[0].as_ref())
            .unwrap_or_default();
    for (transports, kind) in [
        (Transports::WebSocket, TransportKind::WebSocket),
        (Transports::Polling, TransportKind::Polling),
    ] {
        let pinned = config(front.port(), &pki, transports).with_pinned_key(leaf_pin.clone());
        assert_eq!(connects(pinned).await.ok(), Some(kind), "{transports:?}: the pin matches");
        // A key pinned for another server: the chain is trusted, the pin is not there.
        let wrong = config(front.port(), &pki, transports).with_pinned_key(other_pin.clone());
        let error =
            connects(wrong).await.err().unwrap_or_else(|| panic!("{transports:?}: connected"));
        assert_eq!(error.kind(), ErrorKind::Transport, "{error}");
        assert!(error.message().contains("pinning"), "{transports:?}: {error}");
    }
    assert!(server.reports_of("received").len() <= 2, "nothing got through a wrong pin");
}

#[tokio::test]
async fn a_client_certificate_opens_a_server_that_demands_one() {
    let server = NodeServer::start(&[]).await;
    let pki = TestPki::new(&["localhost"]);
    let client_pki = TestPki::new(&["tether-client"]);
    let front = TlsFront::start(server.addr(), &pki, Some(&client_pki.ca_der)).await;
    let certificate = ClientCertificate {
        chain: client_pki.chain.iter().map(|c| c.to_vec()).collect(),
        private_key: client_pki.key_der(),
    };
    for transports in [Transports::WebSocket, Transports::Polling] {
        let before = front.handshakes();
        let without = connects(config(front.port(), &pki, transports)).await;
        assert!(without.is_err(), "{transports:?}: no certificate, no entry");
        assert_eq!(front.handshakes(), before, "{transports:?}: TLS refused without one");
        let with =
            config(front.port(), &pki, transports).with_client_certificate(certificate.clone());
        connects(with).await.unwrap_or_else(|e| panic!("{transports:?}: {e}"));
    }
}
