//! Opening the WebSocket: TCP, TLS (rustls) for `wss://`, the HTTP upgrade, with a timeout and
//! small buffers; and the mapping between tungstenite's messages and our [`Frame`]s. Used only by
//! the driver.

use super::burst_reader::BurstReader;
use super::settings::TransportSettings;
use super::upgrade_stream::UpgradeStream;
use crate::model::{Frame, TransportError};
use crate::protocol::TransportRequest;
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::{uri_mode, IntoClientRequest};
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::stream::Mode;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

/// An open WebSocket: a stream of [`Message`]s and a sink for them.
///
/// Not tokio-tungstenite's `MaybeTlsStream`: that enum holds rustls's connection state inline,
/// so a `ws://` socket would carry 1,112 bytes of it unused. Here the TLS socket is boxed and a
/// plain one is a TCP stream (W4 in BENCHMARKS.md: memory per idle connection).
pub struct WebSocket(Socket);

// The plain variant is the larger one on purpose: boxing it too would only add an allocation.
#[allow(clippy::large_enum_variant)]
enum Socket {
    /// `ws://`: TCP, read in bursts when data streams in.
    Plain(WebSocketStream<BurstReader>),
    /// `wss://`: TLS (rustls) over TCP.
    Tls(Box<WebSocketStream<MaybeTlsStream<TcpStream>>>),
}

impl std::fmt::Debug for WebSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0 {
            Socket::Plain(_) => "WebSocket(ws)",
            Socket::Tls(_) => "WebSocket(wss)",
        })
    }
}

impl Stream for WebSocket {
    type Item = Result<Message, tungstenite::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match &mut self.get_mut().0 {
            Socket::Plain(socket) => socket.poll_next_unpin(cx),
            Socket::Tls(socket) => socket.poll_next_unpin(cx),
        }
    }
}

impl Sink<Message> for WebSocket {
    type Error = tungstenite::Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        match &mut self.get_mut().0 {
            Socket::Plain(socket) => socket.poll_ready_unpin(cx),
            Socket::Tls(socket) => socket.poll_ready_unpin(cx),
        }
    }

    fn start_send(self: Pin<&mut Self>, message: Message) -> Result<(), Self::Error> {
        match &mut self.get_mut().0 {
            Socket::Plain(socket) => socket.start_send_unpin(message),
            Socket::Tls(socket) => socket.start_send_unpin(message),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        match &mut self.get_mut().0 {
            Socket::Plain(socket) => socket.poll_flush_unpin(cx),
            Socket::Tls(socket) => socket.poll_flush_unpin(cx),
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        match &mut self.get_mut().0 {
            Socket::Plain(socket) => socket.poll_close_unpin(cx),
            Socket::Tls(socket) => socket.poll_close_unpin(cx),
        }
    }
}

/// Opens the WebSocket described by `request` within the connect timeout.
pub async fn open(
    request: &TransportRequest,
    settings: &TransportSettings,
) -> Result<WebSocket, TransportError> {
    let mut http_request = request
        .url
        .as_str()
        .into_client_request()
        .map_err(|e| TransportError::InvalidUrl(e.to_string()))?;
    for (name, value) in &request.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| TransportError::InvalidUrl(format!("header name: {e}")))?;
        // Never put the value in the error: it may be a token.
        let value = HeaderValue::from_str(value).map_err(|_| {
            TransportError::InvalidUrl(format!("header {name} has an invalid value"))
        })?;
        http_request.headers_mut().insert(name, value);
    }
    match tokio::time::timeout(settings.connect_timeout, connect(http_request, settings)).await {
        Err(_) => Err(TransportError::Timeout),
        Ok(result) => result.map_err(map_error),
    }
}

/// TCP (Nagle off), then TLS for `wss://`, then the upgrade: what tokio-tungstenite's
/// `connect_async_tls_with_config` does, but keeping a plain socket plain (see [`WebSocket`]).
async fn connect(
    request: Request,
    settings: &TransportSettings,
) -> Result<WebSocket, tungstenite::Error> {
    use tungstenite::error::UrlError;
    let mode = uri_mode(request.uri())?;
    let host = request.uri().host().ok_or(tungstenite::Error::Url(UrlError::NoHostName))?;
    // An IPv6 literal comes bracketed in the URL, and without brackets as an address.
    let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    let port = request.uri().port_u16().unwrap_or(match mode {
        Mode::Plain => 80,
        Mode::Tls => 443,
    });
    let socket = TcpStream::connect((host, port)).await?;
    socket.set_nodelay(true)?;
    let config = Some(settings.websocket);
    Ok(match mode {
        Mode::Plain => {
            // The upgrade reads the response head only, so the socket's next byte is the
            // server's first frame and the WebSocket can start with a read buffer of the
            // configured size (see `upgrade_stream`).
            let (upgraded, _response) = tokio_tungstenite::client_async_with_config(
                request,
                UpgradeStream::new(socket),
                config,
            )
            .await?;
            let socket = upgraded.into_inner().into_inner();
            let socket = BurstReader::new(socket);
            WebSocket(Socket::Plain(
                WebSocketStream::from_raw_socket(socket, Role::Client, config).await,
            ))
        }
        Mode::Tls => {
            let connector = Some(Connector::Rustls(settings.tls.clone()));
            // Boxed: the TLS handshake's future is most of the connect future's size, which
            // every connection attempt, plain ones too, would otherwise allocate.
            let (socket, _response) = Box::pin(tokio_tungstenite::client_async_tls_with_config(
                request, socket, config, connector,
            ))
            .await?;
            WebSocket(Socket::Tls(Box::new(socket)))
        }
    })
}

/// Maps tungstenite's error to ours, keeping what a caller can act on.
pub fn map_error(error: tungstenite::Error) -> TransportError {
    use tungstenite::Error as E;
    match error {
        E::Http(response) => TransportError::Http { status: response.status().as_u16() },
        // rustls reports through the I/O error (tokio-rustls): a refused certificate is a TLS
        // error the app must be able to tell from a dropped connection.
        E::Io(e) => match e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
            Some(tls) => TransportError::Tls(tls.to_string()),
            None => TransportError::Io(e.to_string()),
        },
        E::Tls(e) => TransportError::Tls(e.to_string()),
        E::Url(e) => TransportError::InvalidUrl(e.to_string()),
        E::Capacity(e) => TransportError::Protocol(format!("over a size limit: {e}")),
        E::ConnectionClosed | E::AlreadyClosed => TransportError::Io("connection closed".into()),
        other => TransportError::Protocol(other.to_string()),
    }
}

/// Our frame as a tungstenite message.
pub fn to_message(frame: Frame) -> Message {
    match frame {
        Frame::Text(text) => Message::text(text),
        Frame::Binary(bytes) => Message::binary(bytes),
        Frame::Ping(bytes) => Message::Ping(bytes.into()),
        Frame::Pong(bytes) => Message::Pong(bytes.into()),
        Frame::Close => Message::Close(None),
    }
}

/// A tungstenite message as our frame (`None` for raw frames, which the reader never yields).
pub fn from_message(message: Message) -> Option<Frame> {
    Some(match message {
        Message::Text(text) => Frame::Text(text.as_str().to_owned()),
        Message::Binary(bytes) => Frame::Binary(bytes.to_vec()),
        Message::Ping(bytes) => Frame::Ping(bytes.to_vec()),
        Message::Pong(bytes) => Frame::Pong(bytes.to_vec()),
        Message::Close(_) => Frame::Close,
        Message::Frame(_) => return None,
    })
}
