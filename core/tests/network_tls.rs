//! TLS beyond the trust store, over both transports against the official Node server behind a
//! TLS front made at test time: a pinned key that matches and one that does not, and a server
//! that demands a client certificate.

mod support;
#[path = "support/tls_front.rs"]
mod tls_front;
#[path = "support/tls_server.rs"]
mod tls_server;

use support::node_server::NodeServer;
use support::socketio::round_trip;
use tether_core::{ClientCertificate, Config, ErrorKind, TransportKind, Transports};
use tls_front::TlsFront;
use tls_server::TestPki;

fn config(front: &TlsFront, pki: &TestPki, transports: Transports) -> Config {
    front
        .client_config(transports)
        .with_root_certificate(pki.ca_der.clone())
        .with_builtin_roots(false)
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
        let pinned = config(&front, &pki, transports).with_pinned_key(leaf_pin.clone());
        assert_eq!(
            round_trip(pinned).await.ok(),
            Some(Some(kind)),
            "{transports:?}: the pin matches"
        );
        // A key pinned for another server: the chain is trusted, the pin is not there.
        let wrong = config(&front, &pki, transports).with_pinned_key(other_pin.clone());
        let error =
            round_trip(wrong).await.err().unwrap_or_else(|| panic!("{transports:?}: connected"));
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
        let without = round_trip(config(&front, &pki, transports)).await;
        assert!(without.is_err(), "{transports:?}: no certificate, no entry");
        assert_eq!(front.handshakes(), before, "{transports:?}: TLS refused without one");
        let with = config(&front, &pki, transports).with_client_certificate(certificate.clone());
        round_trip(with).await.unwrap_or_else(|e| panic!("{transports:?}: {e}"));
    }
}
