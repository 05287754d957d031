//! A `wss://` echo server for the TLS tests: a certificate authority and a server certificate
//! made at test time with rcgen, rustls (ring) on a random loopback port, and tokio-tungstenite
//! on top. Counts TLS handshakes that completed and that failed, so a test can tell "refused by
//! the client" from "never reached the server".
//!
//! Include it with `#[path = "support/tls_server.rs"] mod tls_server;` (it needs nothing else
//! from `support`).
#![allow(dead_code)]

use futures_util::{SinkExt, StreamExt};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::tungstenite::Message;

/// A certificate authority made for one test, and a server certificate it signed.
pub struct TestPki {
    /// The CA certificate (DER): what a client must trust.
    pub ca_der: Vec<u8>,
    /// The server's chain, leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    key: Vec<u8>,
}

impl TestPki {
    /// A fresh CA and a server certificate for `names` (DNS names or IP addresses).
    pub fn new(names: &[&str]) -> Self {
        let mut ca_params = CertificateParams::new(Vec::<String>::new())
            .unwrap_or_else(|e| panic!("CA params: {e}"));
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.distinguished_name.push(DnType::CommonName, "Tether test CA");
        let ca_key = KeyPair::generate().unwrap_or_else(|e| panic!("CA key: {e}"));
        let ca = CertifiedIssuer::self_signed(ca_params, ca_key)
            .unwrap_or_else(|e| panic!("CA cert: {e}"));
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params =
            CertificateParams::new(names).unwrap_or_else(|e| panic!("server params: {e}"));
        params.distinguished_name.push(DnType::CommonName, "tether test server");
        let key = KeyPair::generate().unwrap_or_else(|e| panic!("server key: {e}"));
        let leaf = params.signed_by(&key, &ca).unwrap_or_else(|e| panic!("server cert: {e}"));
        Self {
            ca_der: ca.der().to_vec(),
            chain: vec![leaf.der().clone(), ca.der().clone()],
            key: key.serialize_der(),
        }
    }

    /// The leaf's private key (PKCS#8 DER): for a client certificate made with this.
    pub fn key_der(&self) -> Vec<u8> {
        self.key.clone()
    }

    /// The CA certificate in PEM, for a trust store file (`SSL_CERT_FILE`).
    pub fn ca_pem(&self) -> String {
        use base64::Engine as _;
        let encoded = base64::engine::general_purpose::STANDARD.encode(&self.ca_der);
        let lines: Vec<&str> = encoded
            .as_bytes()
            .chunks(64)
            .map(|chunk| std::str::from_utf8(chunk).unwrap_or_default())
            .collect();
        format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", lines.join("\n"))
    }

    fn server_config(&self) -> rustls::ServerConfig {
        self.server_config_for_clients_of(None)
    }

    /// The server's TLS config; with `client_ca`, clients must present a certificate it signed.
    pub fn server_config_for_clients_of(&self, client_ca: Option<&[u8]>) -> rustls::ServerConfig {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key.clone()));
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap_or_else(|e| panic!("TLS versions: {e}"));
        let builder = match client_ca {
            None => builder.with_no_client_auth(),
            Some(ca) => {
                let mut roots = rustls::RootCertStore::empty();
                roots
                    .add(CertificateDer::from(ca.to_vec()))
                    .unwrap_or_else(|e| panic!("client CA: {e}"));
                let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                    Arc::new(roots),
                    provider,
                )
                .build()
                .unwrap_or_else(|e| panic!("client verifier: {e}"));
                builder.with_client_cert_verifier(verifier)
            }
        };
        builder
            .with_single_cert(self.chain.clone(), key)
            .unwrap_or_else(|e| panic!("server TLS config: {e}"))
    }
}

#[derive(Default)]
struct Counters {
    accepted: AtomicUsize,
    handshakes: AtomicUsize,
    tls_failures: AtomicUsize,
    upgrades: AtomicUsize,
}

/// A running `wss://` echo server; dropping it stops it.
pub struct TlsEchoServer {
    addr: SocketAddr,
    pki: TestPki,
    counters: Arc<Counters>,
    task: JoinHandle<()>,
}

impl TlsEchoServer {
    /// Serves a certificate for `names` (e.g. `["127.0.0.1", "localhost"]`) on `127.0.0.1:0`.
    pub async fn start(names: &[&str]) -> Self {
        let pki = TestPki::new(names);
        let acceptor = TlsAcceptor::from(Arc::new(pki.server_config()));
        let listener =
            TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("bind: {e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let counters = Arc::new(Counters::default());
        let task = tokio::spawn(serve(listener, acceptor, counters.clone()));
        Self { addr, pki, counters, task }
    }

    /// `wss://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("wss://127.0.0.1:{}", self.addr.port())
    }

    /// The same server under another host name (which resolves to loopback, e.g. `localhost`).
    pub fn url_as(&self, host: &str) -> String {
        format!("wss://{host}:{}", self.addr.port())
    }

    /// The CA certificate (DER) that signed the server's certificate.
    pub fn ca_der(&self) -> Vec<u8> {
        self.pki.ca_der.clone()
    }

    /// TCP connections accepted.
    pub fn accepted(&self) -> usize {
        self.counters.accepted.load(Ordering::SeqCst)
    }

    /// TLS handshakes that completed.
    pub fn handshakes(&self) -> usize {
        self.counters.handshakes.load(Ordering::SeqCst)
    }

    /// TLS handshakes that failed (the client refused the certificate, or went away).
    pub fn tls_failures(&self) -> usize {
        self.counters.tls_failures.load(Ordering::SeqCst)
    }

    /// WebSocket upgrades that completed over TLS.
    pub fn upgrades(&self) -> usize {
        self.counters.upgrades.load(Ordering::SeqCst)
    }
}

impl Drop for TlsEchoServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(listener: TcpListener, acceptor: TlsAcceptor, counters: Arc<Counters>) {
    let mut connections = tokio::task::JoinSet::new();
    while let Ok((stream, _)) = listener.accept().await {
        counters.accepted.fetch_add(1, Ordering::SeqCst);
        let acceptor = acceptor.clone();
        let counters = counters.clone();
        connections.spawn(async move {
            let tls = match acceptor.accept(stream).await {
                Ok(tls) => tls,
                Err(_) => {
                    counters.tls_failures.fetch_add(1, Ordering::SeqCst);
                    return;
                }
            };
            counters.handshakes.fetch_add(1, Ordering::SeqCst);
            let Ok(mut socket) = tokio_tungstenite::accept_async(tls).await else { return };
            counters.upgrades.fetch_add(1, Ordering::SeqCst);
            while let Some(Ok(message)) = socket.next().await {
                let reply = match message {
                    Message::Text(_) | Message::Binary(_) => message,
                    Message::Close(_) => break,
                    _ => continue,
                };
                if socket.send(reply).await.is_err() {
                    break;
                }
            }
        });
    }
}
