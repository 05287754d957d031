//! One polling connection: a task that keeps a GET pending for the server's packets, POSTs the
//! client's in batches no larger than the server's `maxPayload` (the POST's round trip is the
//! latency sample), and, when an upgrade was probed, pauses polling, sends `5` on the
//! WebSocket and carries on there. The driver sees frames in and out either way, through two
//! bounded channels: when it does not take frames the task stops polling, and when the task
//! falls behind the driver's sends wait.

use super::super::incoming::Incoming;
use super::super::settings::TransportSettings;
use super::super::websocket::{from_message, map_error, to_message, WebSocket};
use super::http::Lane;
use super::upgrade::probe_websocket;
use crate::model::{Frame, TransportError, TransportKind};
use crate::protocol::socketio::polling::{
    decode_payload, encode_packet, is_noop, join_packets, open_info, polling_url, upgrade,
};
use crate::protocol::TransportRequest;
use futures_util::future::BoxFuture;
use futures_util::{FutureExt, SinkExt, StreamExt};
use std::collections::VecDeque;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tracing::debug;
use url::Url;

/// Frames the driver may hand over before the task takes them.
const OUTGOING_FRAMES: usize = 64;
/// Items the task may deliver before the driver takes them (it then stops polling).
const INCOMING_ITEMS: usize = 1024;
/// How long a closing connection may take to send its last packets.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// A long-polling connection (maybe upgraded to a WebSocket by now), as the driver holds it.
#[derive(Debug)]
pub struct PollingConnection {
    pub(in crate::transport) outgoing: futures_channel::mpsc::Sender<Frame>,
    pub(in crate::transport) incoming: mpsc::Receiver<Result<Incoming, TransportError>>,
}

/// Does the Engine.IO handshake over polling (within the connect timeout) and starts the task.
/// The handshake's frames (the open packet first) are the connection's first frames, so the
/// protocol sees what it would see on a WebSocket.
pub async fn open(
    request: &TransportRequest,
    settings: &TransportSettings,
    upgrade_allowed: bool,
) -> Result<PollingConnection, TransportError> {
    let handshaking = handshake(request, settings, upgrade_allowed);
    tokio::time::timeout(settings.connect_timeout, handshaking)
        .await
        .unwrap_or(Err(TransportError::Timeout))
}

async fn handshake(
    request: &TransportRequest,
    settings: &TransportSettings,
    upgrade_allowed: bool,
) -> Result<PollingConnection, TransportError> {
    let settings = settings.with_headers(&request.headers);
    let mut get = Lane::default();
    let body = get.request(&polling_url(&request.url, None, 0), None, &settings).await?;
    let frames =
        decode_payload(&body).map_err(|e| TransportError::Protocol(format!("handshake: {e}")))?;
    let info = frames.first().and_then(open_info).ok_or_else(|| {
        TransportError::Protocol("the polling handshake did not start with an open packet".into())
    })?;
    let (outgoing, from_driver) = futures_channel::mpsc::channel(OUTGOING_FRAMES);
    let (to_driver, incoming) = mpsc::channel(INCOMING_ITEMS.max(frames.len()));
    for frame in frames {
        let _ = to_driver.try_send(Ok(Incoming::Frame(frame)));
    }
    let upgrade = upgrade_allowed && info.upgrades.iter().any(|u| u == "websocket");
    let engine = Engine {
        websocket_url: request.url.clone(),
        headers: request.headers.clone(),
        sid: info.sid,
        max_payload: usize::try_from(info.max_payload).unwrap_or(usize::MAX).max(1),
        settings,
        requests: 0,
        to_driver,
    };
    tokio::spawn(engine.run(get, from_driver, upgrade));
    Ok(PollingConnection { outgoing, incoming })
}

struct Engine {
    websocket_url: Url,
    headers: Vec<(String, String)>,
    sid: String,
    max_payload: usize,
    settings: TransportSettings,
    /// Requests made, for the `t` query parameter.
    requests: u64,
    to_driver: mpsc::Sender<Result<Incoming, TransportError>>,
}

type Poll = BoxFuture<'static, (Lane, Result<String, TransportError>)>;
type Post = BoxFuture<'static, (Lane, Result<Duration, TransportError>)>;
type Probe = BoxFuture<'static, Result<WebSocket, TransportError>>;

impl Engine {
    fn next_url(&mut self) -> Url {
        self.requests += 1;
        polling_url(&self.websocket_url, Some(&self.sid), self.requests)
    }

    fn poll(&mut self, mut lane: Lane) -> Poll {
        let (url, settings) = (self.next_url(), self.settings.clone());
        async move {
            let result = lane.request(&url, None, &settings).await;
            (lane, result)
        }
        .boxed()
    }

    /// POSTs the first pending frames, as many as fit in `maxPayload` (at least one); takes
    /// their bytes off `pending_bytes`.
    fn post(
        &mut self,
        mut lane: Lane,
        pending: &mut VecDeque<Frame>,
        pending_bytes: &mut usize,
    ) -> Post {
        let mut batch = Vec::new();
        let mut size = 0;
        while let Some(frame) = pending.front() {
            let len = TransportKind::Polling.wire_len(frame);
            let grown = size + len + usize::from(!batch.is_empty());
            if !batch.is_empty() && grown > self.max_payload {
                break;
            }
            size = grown;
            *pending_bytes = pending_bytes.saturating_sub(len);
            batch.extend(pending.pop_front().as_ref().and_then(encode_packet));
        }
        let (url, settings) = (self.next_url(), self.settings.clone());
        async move {
            let started = Instant::now();
            let result = lane.request(&url, Some(join_packets(&batch)), &settings).await;
            (lane, result.map(|_| started.elapsed()))
        }
        .boxed()
    }

    async fn deliver(&self, item: Result<Incoming, TransportError>) {
        // The driver may have let go already (closing): what it does not read is lost with it.
        let _ = self.to_driver.send(item).await;
    }

    async fn run(
        mut self,
        get: Lane,
        mut from_driver: futures_channel::mpsc::Receiver<Frame>,
        upgrade: bool,
    ) {
        let mut polling: Option<Poll> = Some(self.poll(get));
        let mut posting: Option<Post> = None;
        let mut spare_post = Some(Lane::default());
        let mut probing: Option<Probe> = upgrade.then(|| {
            let (url, sid, headers) =
                (self.websocket_url.clone(), self.sid.clone(), self.headers.clone());
            let settings = self.settings.clone();
            async move { probe_websocket(&url, &sid, &headers, &settings).await }.boxed()
        });
        let mut probed: Option<WebSocket> = None;
        // Frames not yet sent, as frames: an upgrade sends them on the WebSocket instead.
        let mut pending: VecDeque<Frame> = VecDeque::new();
        let mut pending_bytes = 0;
        let mut closing_at: Option<tokio::time::Instant> = None;
        loop {
            if let Some(socket) = probed.take() {
                if polling.is_none() && posting.is_none() {
                    // Paused: nothing in flight either way. The WebSocket takes over.
                    return self.run_upgraded(socket, pending, from_driver).await;
                }
                probed = Some(socket);
            }
            if posting.is_none() && probed.is_none() && !pending.is_empty() {
                if let Some(lane) = spare_post.take() {
                    posting = Some(self.post(lane, &mut pending, &mut pending_bytes));
                }
            }
            if closing_at.is_some() && posting.is_none() && pending.is_empty() {
                return;
            }
            let accepting = closing_at.is_none() && pending_bytes < self.max_payload;
            tokio::select! {
                Some((lane, result)) = maybe(&mut polling) => {
                    polling = None;
                    match result {
                        Ok(body) => {
                            match decode_payload(&body) {
                                Ok(frames) => {
                                    for frame in frames.into_iter().filter(|f| !is_noop(f)) {
                                        self.deliver(Ok(Incoming::Frame(frame))).await;
                                    }
                                }
                                Err(e) => {
                                    self.deliver(Err(TransportError::Protocol(e.to_string()))).await;
                                    return;
                                }
                            }
                            if probed.is_none() && closing_at.is_none() {
                                polling = Some(self.poll(lane));
                            }
                        }
                        Err(e) => {
                            if closing_at.is_none() {
                                self.deliver(Err(e)).await;
                            }
                            return;
                        }
                    }
                }
                Some((lane, result)) = maybe(&mut posting) => {
                    posting = None;
                    spare_post = Some(lane);
                    match result {
                        Ok(round_trip) => self.deliver(Ok(Incoming::RoundTrip(round_trip))).await,
                        Err(e) => {
                            if closing_at.is_none() {
                                self.deliver(Err(e)).await;
                            }
                            return;
                        }
                    }
                }
                Some(result) = maybe(&mut probing) => {
                    probing = None;
                    match result {
                        Ok(socket) => probed = Some(socket),
                        Err(e) => debug!(error = %e, "upgrade probe failed; staying on polling"),
                    }
                }
                frame = from_driver.next(), if accepting => match frame {
                    Some(Frame::Close) | None => {
                        // Goodbye packets came before; send them, then stop.
                        polling = None;
                        probing = None;
                        probed = None;
                        closing_at = Some(tokio::time::Instant::now() + CLOSE_GRACE);
                    }
                    Some(frame @ (Frame::Text(_) | Frame::Binary(_))) => {
                        pending_bytes += TransportKind::Polling.wire_len(&frame);
                        pending.push_back(frame);
                    }
                    // No WebSocket here to ping: the session does not send these over polling.
                    Some(Frame::Ping(_) | Frame::Pong(_)) => {}
                },
                () = sleep_until(closing_at) => return,
            }
        }
    }

    /// After the upgrade: `5` on the WebSocket, then what waited, then frames both ways.
    async fn run_upgraded(
        self,
        socket: WebSocket,
        pending: VecDeque<Frame>,
        mut from_driver: futures_channel::mpsc::Receiver<Frame>,
    ) {
        let (mut sink, mut stream) = socket.split();
        let mut first = vec![upgrade()];
        first.extend(pending);
        for frame in first {
            if let Err(e) = sink.feed(to_message(frame)).await {
                self.deliver(Err(map_error(e))).await;
                return;
            }
        }
        if let Err(e) = sink.flush().await {
            self.deliver(Err(map_error(e))).await;
            return;
        }
        debug!("upgraded to a WebSocket");
        self.settings.websocket_worked();
        self.deliver(Ok(Incoming::Upgraded(TransportKind::WebSocket))).await;
        loop {
            tokio::select! {
                frame = from_driver.next() => match frame {
                    Some(Frame::Close) | None => {
                        let _ = tokio::time::timeout(CLOSE_GRACE, sink.close()).await;
                        return;
                    }
                    Some(frame) => {
                        let mut written = sink.feed(to_message(frame)).await;
                        // A burst goes out in one write.
                        while let (Ok(()), Ok(next)) = (&written, from_driver.try_recv()) {
                            written = sink.feed(to_message(next)).await;
                        }
                        if let Err(e) = written.and(sink.flush().await) {
                            self.deliver(Err(map_error(e))).await;
                            return;
                        }
                    }
                },
                message = stream.next() => match message {
                    Some(Ok(message)) => {
                        if let Some(frame) = from_message(message) {
                            self.deliver(Ok(Incoming::Frame(frame))).await;
                        }
                    }
                    Some(Err(e)) => {
                        self.deliver(Err(map_error(e))).await;
                        return;
                    }
                    None => return,
                },
            }
        }
    }
}

/// The output of an optional future (pending forever when there is none).
async fn maybe<T>(future: &mut Option<BoxFuture<'static, T>>) -> Option<T> {
    match future {
        Some(future) => Some(future.await),
        None => std::future::pending().await,
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
