//! Dialing a server: TCP (Nagle off), through the HTTP proxy's `CONNECT` tunnel when there is
//! one, then TLS (rustls) when the URL asks for it. Both transports get their socket here, so a
//! proxy, a pinned key or a client certificate works the same for a WebSocket and for polling.

use super::endpoint::Endpoint;
use super::proxy::{self, Proxy};
use super::settings::TransportSettings;
use crate::model::TransportError;
use rustls_pki_types::ServerName;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// A connected byte stream: plain TCP, or TLS over another stream (a server behind a proxy
/// reached over TLS is TLS inside TLS).
#[derive(Debug)]
pub(crate) enum NetStream {
    /// TCP, to the server or tunnelled through a plain proxy.
    Tcp(TcpStream),
    /// TLS over a stream.
    Tls(Box<tokio_rustls::client::TlsStream<NetStream>>),
}

/// Connects to `endpoint` (through the proxy the settings choose for it), TLS included.
pub(crate) async fn dial(
    endpoint: &Endpoint,
    settings: &TransportSettings,
) -> Result<NetStream, TransportError> {
    let stream = match settings.proxy_for(endpoint) {
        Some(proxy) => tunnel(proxy, endpoint, settings).await?,
        None => NetStream::Tcp(tcp(&endpoint.host, endpoint.port).await?),
    };
    if endpoint.tls {
        return tls(stream, &endpoint.host, settings).await;
    }
    Ok(stream)
}

async fn tcp(host: &str, port: u16) -> Result<TcpStream, TransportError> {
    let socket =
        TcpStream::connect((host, port)).await.map_err(|e| TransportError::Io(e.to_string()))?;
    socket.set_nodelay(true).map_err(|e| TransportError::Io(e.to_string()))?;
    Ok(socket)
}

async fn tunnel(
    proxy: &Proxy,
    target: &Endpoint,
    settings: &TransportSettings,
) -> Result<NetStream, TransportError> {
    let unreachable = |e: TransportError| TransportError::Proxy(format!("{}: {e}", proxy.shown()));
    let socket = tcp(&proxy.endpoint.host, proxy.endpoint.port).await.map_err(unreachable)?;
    let mut stream = NetStream::Tcp(socket);
    if proxy.endpoint.tls {
        stream = tls(stream, &proxy.endpoint.host, settings).await?;
    }
    proxy::connect_tunnel(&mut stream, proxy, target).await?;
    Ok(stream)
}

async fn tls(
    stream: NetStream,
    host: &str,
    settings: &TransportSettings,
) -> Result<NetStream, TransportError> {
    let name = ServerName::try_from(host.to_owned())
        .map_err(|e| TransportError::InvalidUrl(format!("{host} is not a TLS server name: {e}")))?;
    let connector = tokio_rustls::TlsConnector::from(settings.tls.clone());
    let tls = connector.connect(name, stream).await.map_err(tls_error)?;
    Ok(NetStream::Tls(Box::new(tls)))
}

/// rustls reports through the I/O error: a refused certificate is a TLS error the app must be
/// able to tell from a dropped connection.
pub(crate) fn tls_error(e: io::Error) -> TransportError {
    match e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
        Some(tls) => TransportError::Tls(tls.to_string()),
        None => TransportError::Io(e.to_string()),
    }
}

impl AsyncRead for NetStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for NetStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Tcp(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Self::Tcp(s) => s.is_write_vectored(),
            Self::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Tcp(s) => Pin::new(s).poll_flush(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
