//! Opening the WebSocket: the socket from `net_stream` (TCP, a proxy's tunnel, TLS), the HTTP
//! upgrade with the configured headers and cookies, with a timeout and small buffers; and the
//! mapping between tungstenite's messages and our [`Frame`]s.

use super::burst_reader::BurstReader;
use super::endpoint::Endpoint;
use super::net_stream::{dial, tls_error, NetStream};
use super::settings::TransportSettings;
use super::upgrade_stream::UpgradeStream;
use crate::model::{Frame, TransportError};
use crate::protocol::TransportRequest;
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Request;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::WebSocketStream;

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
    /// `wss://` (TLS over TCP), or anything through an HTTPS proxy.
    Tls(Box<WebSocketStream<NetStream>>),
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

/// Opens the WebSocket described by `request` within the connect timeout: through the proxy
/// the settings choose, with the configured headers and the client's cookies.
pub async fn open(
    request: &TransportRequest,
    settings: &TransportSettings,
) -> Result<WebSocket, TransportError> {
    let mut http_request = request
        .url
        .as_str()
        .into_client_request()
        .map_err(|e| TransportError::InvalidUrl(e.to_string()))?;
    let configured = settings.headers.iter().map(|(n, v)| (n.as_str(), v.as_str()));
    let cookie = settings.cookie_header(&request.url);
    let cookie = cookie.as_deref().map(|c| ("Cookie", c));
    let protocol = request.headers.iter().map(|(n, v)| (n.as_str(), v.as_str()));
    for (name, value) in protocol.chain(configured).chain(cookie) {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| TransportError::InvalidUrl(format!("header name: {e}")))?;
        // Never put the value in the error: it may be a token.
        let value = HeaderValue::from_str(value).map_err(|_| {
            TransportError::InvalidUrl(format!("header {name} has an invalid value"))
        })?;
        http_request.headers_mut().insert(name, value);
    }
    let connecting = connect(http_request, &request.url, settings);
    match tokio::time::timeout(settings.connect_timeout, connecting).await {
        Err(_) => Err(TransportError::Timeout),
        Ok(result) => result,
    }
}

/// The socket (TCP, the proxy's tunnel, TLS: `net_stream`), then the upgrade, keeping a plain
/// TCP socket plain (see [`WebSocket`]) and the cookies the response sets.
async fn connect(
    request: Request,
    url: &url::Url,
    settings: &TransportSettings,
) -> Result<WebSocket, TransportError> {
    let endpoint = Endpoint::of(url)?;
    let config = Some(settings.websocket);
    let (socket, response) = match dial(&endpoint, settings).await? {
        NetStream::Tcp(socket) => {
            // The upgrade reads the response head only, so the socket's next byte is the
            // server's first frame and the WebSocket can start with a read buffer of the
            // configured size (see `upgrade_stream`).
            let (upgraded, response) = tokio_tungstenite::client_async_with_config(
                request,
                UpgradeStream::new(socket),
                config,
            )
            .await
            .map_err(map_error)?;
            let socket = BurstReader::new(upgraded.into_inner().into_inner());
            let socket = WebSocketStream::from_raw_socket(socket, Role::Client, config).await;
            (WebSocket(Socket::Plain(socket)), response)
        }
        tls => {
            // Boxed: the handshake's future is large, and every attempt would allocate it.
            let (socket, response) =
                Box::pin(tokio_tungstenite::client_async_with_config(request, tls, config))
                    .await
                    .map_err(map_error)?;
            (WebSocket(Socket::Tls(Box::new(socket))), response)
        }
    };
    let set_cookies = response.headers().get_all("set-cookie").iter();
    settings.keep_cookies(url, set_cookies.filter_map(|v| v.to_str().ok()));
    Ok(socket)
}

/// Maps tungstenite's error to ours, keeping what a caller can act on.
pub fn map_error(error: tungstenite::Error) -> TransportError {
    use tungstenite::Error as E;
    match error {
        E::Http(response) => TransportError::Http { status: response.status().as_u16() },
        E::Io(e) => tls_error(e),
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
