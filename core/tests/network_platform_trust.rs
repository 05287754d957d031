//! The platform's verifier (rustls-platform-verifier): on Linux it trusts the OS store, which
//! `SSL_CERT_FILE` replaces, so a CA made at test time is trusted through the very path an
//! app's users' CAs take (on Android the user and MDM CAs, on Apple the Keychain). Its own test
//! binary: it sets a process-wide environment variable.

mod support;
#[path = "support/tls_front.rs"]
mod tls_front;
#[path = "support/tls_server.rs"]
mod tls_server;

use support::node_server::NodeServer;
use support::socketio::round_trip;
use tether_core::Transports;
use tls_front::TlsFront;
use tls_server::TestPki;

#[tokio::test]
async fn the_platform_verifier_trusts_the_os_store() {
    let server = NodeServer::start(&[]).await;
    let pki = TestPki::new(&["localhost"]);
    let front = TlsFront::start(server.addr(), &pki, None).await;
    let dir = std::env::temp_dir().join(format!("tether-trust-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let stranger = dir.join("other-ca.pem");
    let ours = dir.join("test-ca.pem");
    std::fs::write(&stranger, TestPki::new(&["x"]).ca_pem()).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&ours, pki.ca_pem()).unwrap_or_else(|e| panic!("{e}"));

    // The OS store (as SSL_CERT_FILE defines it) without our CA: refused, on both transports.
    std::env::set_var("SSL_CERT_FILE", &stranger);
    for transports in [Transports::WebSocket, Transports::Polling] {
        let refused =
            round_trip(front.client_config(transports).with_platform_verifier(true)).await;
        assert!(
            refused.as_ref().is_err_and(|e| e.message().contains("TLS")),
            "{transports:?}: {refused:?}"
        );
    }
    // With it: trusted, on both transports, though the client names no root of its own.
    std::env::set_var("SSL_CERT_FILE", &ours);
    for transports in [Transports::WebSocket, Transports::Polling] {
        round_trip(front.client_config(transports).with_platform_verifier(true))
            .await
            .unwrap_or_else(|e| panic!("{transports:?}: {e}"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
