//! The one connection the driver holds, whichever transport carries it: a stream of
//! [`Incoming`] (frames, and what only the transport can measure) and a sink of [`Frame`]s.
//! [`open`] picks the transport the config asks for (with the WebSocket-then-polling fallback).

use super::incoming::Incoming;
use super::polling::{self, PollingConnection};
use super::settings::TransportSettings;
use super::websocket::{self, from_message, map_error, to_message, WebSocket};
use crate::config::Transports;
use crate::model::{Frame, TransportError, TransportKind};
use crate::protocol::TransportRequest;
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tracing::debug;

/// An open connection: a WebSocket, or a long-polling connection (maybe upgraded since).
#[derive(Debug)]
pub struct Connection(Inner);

#[derive(Debug)]
enum Inner {
    WebSocket(Box<WebSocket>),
    Polling(PollingConnection),
}

impl Connection {
    /// The transport the connection opened on.
    pub fn kind(&self) -> TransportKind {
        match self.0 {
            Inner::WebSocket(_) => TransportKind::WebSocket,
            Inner::Polling(_) => TransportKind::Polling,
        }
    }
}

/// Opens a connection for `request` on the transports the settings name, within the connect
/// timeout. With [`Transports::WebSocketThenPolling`], the attempt that reaches the failure
/// count falls back to polling at once, and later attempts start there (upgrading when they
/// can) until a WebSocket works again.
pub async fn open(
    request: &TransportRequest,
    settings: &TransportSettings,
) -> Result<Connection, TransportError> {
    match settings.transports {
        Transports::WebSocket => open_websocket(request, settings).await,
        Transports::Polling => open_polling(request, settings, false).await,
        Transports::PollingThenUpgrade => open_polling(request, settings, true).await,
        Transports::WebSocketThenPolling { after_failures } => {
            if settings.websocket_failures() >= after_failures {
                return open_polling(request, settings, true).await;
            }
            match open_websocket(request, settings).await {
                Err(e) if !e.is_permanent() => {
                    if settings.websocket_failed() < after_failures {
                        return Err(e);
                    }
                    debug!(error = %e, "WebSocket failed {after_failures} times: long-polling");
                    open_polling(request, settings, true).await
                }
                other => other,
            }
        }
    }
}

async fn open_websocket(
    request: &TransportRequest,
    settings: &TransportSettings,
) -> Result<Connection, TransportError> {
    let socket = websocket::open(request, settings).await?;
    settings.websocket_worked();
    Ok(Connection(Inner::WebSocket(Box::new(socket))))
}

async fn open_polling(
    request: &TransportRequest,
    settings: &TransportSettings,
    upgrade: bool,
) -> Result<Connection, TransportError> {
    Ok(Connection(Inner::Polling(polling::open(request, settings, upgrade).await?)))
}

impl Stream for Connection {
    type Item = Result<Incoming, TransportError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match &mut self.get_mut().0 {
            Inner::WebSocket(socket) => loop {
                match ready!(socket.poll_next_unpin(cx)) {
                    None => return Poll::Ready(None),
                    Some(Err(e)) => return Poll::Ready(Some(Err(map_error(e)))),
                    Some(Ok(message)) => {
                        if let Some(frame) = from_message(message) {
                            return Poll::Ready(Some(Ok(Incoming::Frame(frame))));
                        }
                    }
                }
            },
            Inner::Polling(polling) => polling.incoming.poll_recv(cx),
        }
    }
}

fn closed(_: futures_channel::mpsc::SendError) -> TransportError {
    TransportError::Io("the polling connection has stopped".into())
}

impl Sink<Frame> for Connection {
    type Error = TransportError;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        match &mut self.get_mut().0 {
            Inner::WebSocket(socket) => socket.poll_ready_unpin(cx).map_err(map_error),
            Inner::Polling(polling) => polling.outgoing.poll_ready_unpin(cx).map_err(closed),
        }
    }

    fn start_send(self: Pin<&mut Self>, frame: Frame) -> Result<(), Self::Error> {
        match &mut self.get_mut().0 {
            Inner::WebSocket(socket) => {
                socket.start_send_unpin(to_message(frame)).map_err(map_error)
            }
            Inner::Polling(polling) => polling.outgoing.start_send_unpin(frame).map_err(closed),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        match &mut self.get_mut().0 {
            Inner::WebSocket(socket) => socket.poll_flush_unpin(cx).map_err(map_error),
            Inner::Polling(polling) => polling.outgoing.poll_flush_unpin(cx).map_err(closed),
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        match &mut self.get_mut().0 {
            Inner::WebSocket(socket) => socket.poll_close_unpin(cx).map_err(map_error),
            Inner::Polling(polling) => polling.outgoing.poll_close_unpin(cx).map_err(closed),
        }
    }
}
