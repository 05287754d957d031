//! A TLS terminator in front of a plain server (the Node Socket.IO server): rustls with a
//! certificate made at test time, on a random loopback port, forwarding the decrypted bytes, so
//! `wss://` and `https://` long-polling reach the official server. Optionally demands a client
//! certificate. Include it beside `tls_server.rs`.
#![allow(dead_code)]

use super::tls_server::TestPki;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tether_core::{Config, Transports};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

/// A running TLS front; dropping it stops it.
pub struct TlsFront {
    addr: SocketAddr,
    handshakes: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl TlsFront {
    /// Terminates TLS with `pki`'s server certificate and forwards to `upstream`; with
    /// `client_ca`, only clients with a certificate that CA signed get through.
    pub async fn start(upstream: SocketAddr, pki: &TestPki, client_ca: Option<&[u8]>) -> Self {
        let acceptor = TlsAcceptor::from(Arc::new(pki.server_config_for_clients_of(client_ca)));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("{e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let handshakes = Arc::new(AtomicUsize::new(0));
        let counted = handshakes.clone();
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                let (acceptor, counted) = (acceptor.clone(), counted.clone());
                connections.spawn(async move {
                    let Ok(mut tls) = acceptor.accept(stream).await else { return };
                    counted.fetch_add(1, Ordering::SeqCst);
                    let Ok(mut plain) = TcpStream::connect(upstream).await else { return };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                });
            }
        });
        Self { addr, handshakes, task }
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// A client config for this front (`wss://localhost:<port>`, which long-polling reaches as
    /// `https://`): `transports`, a first connect that fails fast, no proxy from the environment.
    /// The test adds the trust.
    pub fn client_config(&self, transports: Transports) -> Config {
        Config::new(format!("wss://localhost:{}", self.addr.port()))
            .with_transports(transports)
            .with_retry_initial_connect(false)
            .with_connect_timeout(Duration::from_secs(5))
            .with_proxy_from_environment(false)
    }

    /// TLS handshakes that completed.
    pub fn handshakes(&self) -> usize {
        self.handshakes.load(Ordering::SeqCst)
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.task.abort();
    }
}
