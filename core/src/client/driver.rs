//! The one task per client that does I/O: it owns the connection (a WebSocket, or long-polling
//! whose HTTP requests run in a task of the transport's) and a single timer, feeds the session,
//! and carries out what the session asks. Everything clever lives in the session; this file only
//! moves frames and time, and tells the session what only the transport knows (which transport
//! opened, an upgrade, a measured round trip).

use super::clock::DriverClock;
use super::command::Command;
use super::event_hub::EventHub;
use crate::config::StreamBuffer;
use crate::model::{
    AckError, AckId, AckReply, ConnectionState, Error, Event, Frame, HealthStatus, SendError,
    Token, TokenError, TokenProvider, TransportError,
};
use crate::session::{Action, Session};
use crate::store::Store;
use crate::transport;
use crate::transport::{Connection, Incoming, TransportSettings};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use std::collections::{HashMap, VecDeque};
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch};
use tracing::{debug, info, trace, warn};

/// Frames waiting for the socket before the driver stops taking commands: a fast sender then
/// waits in `send().await` instead of growing a buffer without bound. As many as the send lane
/// holds, so that a burst is taken whole while the socket drains: with room for a quarter of
/// it, the driver and a fast sender handed the lane back and forth every few messages, each
/// hand-off a wake-up of the other task, on another thread, preempting the server on the next
/// core (W2 in BENCHMARKS.md).
const MAX_PENDING_WRITES: usize = 1024;

/// Bytes of those frames past which the driver stops taking commands too (large messages).
const MAX_PENDING_BYTES: usize = 1024 * 1024;

/// How long a closing socket may take to write its last frames before it is simply dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// The outcome of opening a transport (token first, then the socket).
enum Opened {
    Token(url::Url, Result<Option<Token>, TokenError>),
    Socket(Box<Connection>, Option<Token>),
    Failed(TransportError),
}

type Opening = Pin<Box<dyn Future<Output = Opened> + Send>>;

/// A send's answer, held until the batch that keeps the message is written.
type Acceptance =
    (oneshot::Sender<Result<Option<AckId>, SendError>>, Result<Option<AckId>, SendError>);

pub(crate) struct Driver {
    session: Session,
    commands: mpsc::Receiver<Command>,
    /// Everything but sends: always read, so `stats()` or `disconnect()` answer even while
    /// sends wait behind a socket that does not drain.
    control: mpsc::UnboundedReceiver<Command>,
    commands_closed: bool,
    token_provider: Option<Arc<dyn TokenProvider>>,
    settings: TransportSettings,
    hub: Arc<EventHub>,
    state_tx: watch::Sender<ConnectionState>,
    health_tx: watch::Sender<HealthStatus>,
    ack_waiters: HashMap<AckId, oneshot::Sender<Result<AckReply, AckError>>>,
    opening: Option<Opening>,
    sink: Option<SplitSink<Connection, Frame>>,
    stream: Option<SplitStream<Connection>>,
    pending: VecDeque<Frame>,
    /// The bytes in `pending`, for `MAX_PENDING_BYTES`.
    pending_bytes: usize,
    unflushed: bool,
    /// The token of the last connection, handed back to the provider if the server refuses it.
    last_token: Option<Token>,
    clock: DriverClock,
    /// The durable outbox, while it works (`None` in memory, or once it failed).
    store: Option<Store>,
    /// Sends accepted this turn, answered once the store has written them.
    awaiting_commit: Vec<Acceptance>,
}

/// Commands waiting for the driver before `send` waits for room (backpressure on the app).
pub(crate) const COMMAND_CAPACITY: usize = 1024;

/// The handles a client keeps to its driver.
pub(crate) struct DriverHandles {
    pub commands: mpsc::Sender<Command>,
    pub control: mpsc::UnboundedSender<Command>,
    pub state: watch::Receiver<ConnectionState>,
    pub health: watch::Receiver<HealthStatus>,
    pub hub: Arc<EventHub>,
}

impl Driver {
    /// Starts the driver of `session` on `runtime`. `store`: the durable outbox, already
    /// loaded into the session (`Ok(None)` in memory; `Err` when it could not be opened, kept
    /// for [`crate::Client::storage_error`]).
    pub(crate) fn spawn(
        session: Session,
        settings: TransportSettings,
        token_provider: Option<Arc<dyn TokenProvider>>,
        runtime: &tokio::runtime::Handle,
        clock: DriverClock,
        store: Result<Option<Store>, Error>,
        stream_buffer: StreamBuffer,
    ) -> DriverHandles {
        let (commands_tx, commands) = mpsc::channel(COMMAND_CAPACITY);
        let (control_tx, control) = mpsc::unbounded_channel();
        let (state_tx, state) = watch::channel(session.state().clone());
        let (health, quality) = session.health();
        let (health_tx, health_rx) = watch::channel(HealthStatus { health, quality });
        let hub = Arc::new(EventHub::new(stream_buffer));
        let store = store.unwrap_or_else(|error| {
            hub.storage_failed(error);
            None
        });
        let mut driver = Driver {
            session,
            commands,
            control,
            commands_closed: false,
            token_provider,
            settings,
            hub: hub.clone(),
            state_tx,
            health_tx,
            ack_waiters: HashMap::new(),
            opening: None,
            sink: None,
            stream: None,
            pending: VecDeque::new(),
            pending_bytes: 0,
            unflushed: false,
            last_token: None,
            clock,
            store,
            awaiting_commit: Vec::new(),
        };
        // `run` borrows the driver instead of taking it: an `async fn` that takes `self` by
        // value keeps two copies of it in its future (the argument and the moved local), and the
        // task is allocated at the future's size. One copy here (W4 in BENCHMARKS.md).
        runtime.spawn(async move { driver.run().await });
        DriverHandles { commands: commands_tx, control: control_tx, state, health: health_rx, hub }
    }

    async fn run(&mut self) {
        // One timer for the driver's life, moved to each new deadline, instead of a new one
        // per turn: a new timer takes the runtime's timer wheel lock to register and again to
        // deregister, twice per wake-up of an idle connection, while moving a registered timer
        // later (the liveness deadline after every frame heard) is one atomic store (W5 in
        // BENCHMARKS.md). A turn without a deadline parks it far off rather than leaving it
        // to wake the driver for nothing.
        let timer = tokio::time::sleep_until(far_off());
        tokio::pin!(timer);
        let mut armed_for = None;
        loop {
            self.carry_out();
            if self.commands_closed && self.session.state().is_terminal() && self.opening.is_none()
            {
                break;
            }
            let deadline = self.session.poll_timeout().map(|at| self.clock.timer(at));
            if deadline != armed_for {
                timer.as_mut().reset(deadline.unwrap_or_else(far_off));
                armed_for = deadline;
            }
            let connected = self.sink.is_some();
            let must_write = connected && (!self.pending.is_empty() || self.unflushed);
            let accepting = !self.commands_closed
                && self.pending.len() < MAX_PENDING_WRITES
                && self.pending_bytes < MAX_PENDING_BYTES;
            self.clock.wake();
            tokio::select! {
                command = self.commands.recv(), if accepting => match command {
                    Some(command) => {
                        self.on_command(command);
                        // Take the rest of a burst now, so that it goes out in one write
                        // instead of one write (and one wake-up) per message.
                        let room = MAX_PENDING_WRITES.saturating_sub(self.pending.len());
                        for _ in 1..room {
                            match self.commands.try_recv() {
                                Ok(command) => self.on_command(command),
                                Err(_) => break,
                            }
                        }
                    }
                    None => self.last_handle_dropped(),
                },
                command = self.control.recv(), if !self.commands_closed => match command {
                    Some(command) => self.on_command(command),
                    None => self.last_handle_dropped(),
                },
                opened = poll_opening(&mut self.opening), if self.opening.is_some() => {
                    self.opening = None;
                    self.on_opened(opened);
                }
                incoming = next_message(&mut self.stream), if self.stream.is_some() => self.on_incoming(incoming),
                written = write_pending(&mut self.sink, &mut self.pending, &mut self.pending_bytes), if must_write => match written {
                    Ok(()) => {
                        self.unflushed = false;
                        // All written: give the buffer back, as the session does with its
                        // queues (an idle connection keeps none; W4 in BENCHMARKS.md).
                        self.pending = VecDeque::new();
                        self.pending_bytes = 0;
                    }
                    Err(error) => {
                        warn!(%error, "write failed");
                        let now = self.clock.now();
                        self.session.handle_transport_error(error, now);
                    }
                },
                () = &mut timer, if deadline.is_some() => {
                    let now = self.clock.now();
                    self.session.handle_timeout(now);
                }
            }
        }
        debug!("driver stopped");
    }

    /// Every client handle is gone: take the sends still queued, close cleanly and stop.
    fn last_handle_dropped(&mut self) {
        debug!("last client handle dropped; closing");
        while let Ok(command) = self.commands.try_recv() {
            self.on_command(command);
        }
        self.commands_closed = true;
        let now = self.clock.now();
        self.session.disconnect(now);
    }

    /// Does everything the session asked for since the last input.
    fn carry_out(&mut self) {
        while let Some(action) = self.session.poll_action() {
            match action {
                Action::OpenTransport { url } => {
                    self.close_socket();
                    debug!(url = %url, "opening transport");
                    // First the token (the request may depend on it), then the socket. After a
                    // refusal the provider hears which token was refused.
                    let provider = self.token_provider.clone();
                    let refused = self.session.take_token_refused();
                    let rejected = self.last_token.take().filter(|_| refused);
                    self.opening = Some(Box::pin(async move {
                        let token = match (provider, rejected) {
                            (Some(provider), Some(rejected)) => {
                                provider.token_after_rejection(rejected).await.map(Some)
                            }
                            (Some(provider), None) => provider.token().await.map(Some),
                            (None, _) => Ok(None),
                        };
                        Opened::Token(url, token)
                    }));
                }
                Action::CloseTransport => {
                    self.opening = None;
                    self.close_socket();
                }
            }
        }
        self.persist();
        if self.sink.is_some() {
            while let Some(frame) = self.session.poll_transmit() {
                trace!(len = frame.len(), "frame out");
                self.pending_bytes += frame.len();
                self.pending.push_back(frame);
            }
        }
        while let Some(event) = self.session.poll_event() {
            match &event {
                Event::StateChanged(state) => {
                    info!(state = %state, "connection state");
                    self.state_tx.send_replace(state.clone());
                }
                Event::HealthChanged { health, quality } => {
                    debug!(%health, %quality, "health");
                    self.health_tx
                        .send_replace(HealthStatus { health: *health, quality: *quality });
                }
                Event::AckSettled { id, result } => {
                    if let Some(waiter) = self.ack_waiters.remove(id) {
                        let _ = waiter.send(result.clone());
                    }
                }
                Event::Error(error) => warn!(%error, "connection error"),
                Event::Dropped { reason, .. } => debug!(%reason, "message dropped"),
                _ => {}
            }
            self.hub.publish(&event);
        }
    }

    /// Writes what the session asked to keep or forget since the last turn, in one transaction,
    /// then answers the sends of the turn: before their frames go out and before any event of
    /// the turn reaches the app. A failed write turns the store off for good: the session goes
    /// on in memory and the app hears why.
    fn persist(&mut self) {
        if let Some(batch) = self.session.poll_store() {
            if let Some(store) = self.store.as_mut() {
                if let Err(error) = store.commit(&batch, self.clock.wall()) {
                    warn!(%error, "the durable outbox failed; going on in memory");
                    self.store = None;
                    self.session.stop_persisting();
                    self.hub.storage_failed(error);
                }
            }
        }
        for (waiter, result) in self.awaiting_commit.drain(..) {
            let _ = waiter.send(result);
        }
    }

    /// Hands the socket to a short-lived task that writes what is pending (goodbye frames) and a
    /// close frame, bounded by a grace period, so closing never stalls the driver.
    fn close_socket(&mut self) {
        self.stream = None;
        let pending = std::mem::take(&mut self.pending);
        self.pending_bytes = 0;
        self.unflushed = false;
        if let Some(mut sink) = self.sink.take() {
            tokio::spawn(async move {
                let goodbye = async {
                    for message in pending {
                        sink.feed(message).await?;
                    }
                    sink.send(Frame::Close).await
                };
                let _ = tokio::time::timeout(CLOSE_GRACE, goodbye).await;
            });
        }
    }

    fn on_opened(&mut self, opened: Opened) {
        let now = self.clock.now();
        match opened {
            Opened::Socket(socket, token) => {
                let kind = socket.kind();
                debug!(%kind, "transport open");
                let (sink, stream) = (*socket).split();
                self.sink = Some(sink);
                self.stream = Some(stream);
                self.session.handle_transport_open_on(kind, token.as_ref(), now);
                self.last_token = token;
            }
            Opened::Token(_, Err(error)) => {
                warn!(%error, "token provider failed");
                self.session.handle_token_error(error, now);
            }
            Opened::Token(url, Ok(token)) => {
                let request = self.session.transport_request(&url, token.as_ref());
                let settings = self.settings.clone();
                self.opening = Some(Box::pin(async move {
                    match transport::open(&request, &settings).await {
                        Ok(socket) => Opened::Socket(Box::new(socket), token),
                        Err(e) => Opened::Failed(e),
                    }
                }));
            }
            Opened::Failed(error) => {
                debug!(%error, "transport open failed");
                self.session.handle_transport_error(error, now);
            }
        }
    }

    fn on_incoming(&mut self, incoming: Option<Result<Incoming, TransportError>>) {
        let now = self.clock.now();
        match incoming {
            Some(Ok(Incoming::Frame(frame))) => {
                trace!(len = frame.len(), "frame in");
                self.session.handle_frame(frame, now);
            }
            Some(Ok(Incoming::RoundTrip(rtt))) => self.session.handle_round_trip(rtt, now),
            Some(Ok(Incoming::Upgraded(kind))) => {
                debug!(%kind, "transport upgraded");
                self.session.handle_transport_upgraded(kind, now);
            }
            Some(Err(error)) => {
                debug!(%error, "read failed");
                self.session.handle_transport_error(error, now);
            }
            None => self.session.handle_transport_closed(now),
        }
    }

    fn on_command(&mut self, command: Command) {
        let now = self.clock.now();
        match command {
            Command::Connect { done } => {
                self.session.connect(now);
                self.carry_out();
                let _ = done.send(());
            }
            Command::Disconnect { done } => {
                self.session.disconnect(now);
                self.carry_out();
                let _ = done.send(());
            }
            Command::ReconnectNow => self.session.reconnect_now(now),
            Command::Send { message, options, accepted, ack } => {
                let result = self.session.send(*message, options, now);
                if let (Ok(Some(id)), Some(waiter)) = (&result, ack) {
                    self.ack_waiters.insert(*id, waiter);
                }
                match accepted {
                    // Durable: `send` returns once the message is written (see `persist`).
                    Some(accepted) if self.store.is_some() && result.is_ok() => {
                        self.awaiting_commit.push((accepted, result));
                    }
                    Some(accepted) => {
                        let _ = accepted.send(result);
                    }
                    None => {
                        if let Err(refused) = result {
                            warn!(error = %refused, "message refused");
                            self.hub.publish(&Event::Error(refused.into()));
                        }
                    }
                }
            }
            Command::Ack { namespace, ack_id, reply, done } => {
                let _ = done.send(self.session.ack(&namespace, ack_id, *reply, now));
            }
            Command::Join { room, payload, done } => {
                let _ = done.send(self.session.join_with(&room, payload.map(|p| *p), now));
            }
            Command::RefreshToken { token } => self.session.refresh_token(&token, now),
            Command::Leave { room, done } => {
                let _ = done.send(self.session.leave(&room, now));
            }
            Command::NetworkAvailable(available) => self.session.network_available(available, now),
            Command::AppForeground(foreground) => self.session.app_foreground(foreground, now),
            Command::UpdateConfig { config, done } => {
                let stream_buffer = config.stream_buffer;
                let result = self.session.update_config(*config, now);
                if result.is_ok() {
                    self.hub.set_defaults(stream_buffer);
                }
                let _ = done.send(result);
            }
            Command::ClearOutbox { done } => {
                let _ = done.send(self.session.clear_outbox());
            }
            Command::Stats { reply } => {
                let mut stats = self.session.stats(now);
                let streams = self.hub.totals();
                stats.streams = streams.streams;
                stats.stream_queued = streams.queued;
                stats.stream_queued_bytes = streams.queued_bytes;
                stats.stream_dropped = streams.dropped;
                let _ = reply.send(stats);
            }
        }
    }
}

async fn poll_opening(opening: &mut Option<Opening>) -> Opened {
    match opening {
        Some(future) => future.await,
        None => std::future::pending().await,
    }
}

async fn next_message(
    stream: &mut Option<SplitStream<Connection>>,
) -> Option<Result<Incoming, TransportError>> {
    match stream {
        Some(stream) => stream.next().await,
        None => std::future::pending().await,
    }
}

/// Writes pending messages and flushes. Cancel-safe: a message leaves `pending` only once the
/// sink has accepted it, so losing the `select!` race never loses a frame.
async fn write_pending(
    sink: &mut Option<SplitSink<Connection, Frame>>,
    pending: &mut VecDeque<Frame>,
    pending_bytes: &mut usize,
) -> Result<(), TransportError> {
    let Some(sink) = sink else { return std::future::pending().await };
    poll_fn(|cx| {
        while !pending.is_empty() {
            match sink.poll_ready_unpin(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
            if let Some(message) = pending.pop_front() {
                *pending_bytes = pending_bytes.saturating_sub(message.len());
                sink.start_send_unpin(message)?;
            }
        }
        sink.poll_flush_unpin(cx)
    })
    .await
}

/// Where the driver's timer waits while the session has no deadline: later than any session
/// deadline, and within the range of tokio's timer wheel (about two years).
fn far_off() -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_secs(365 * 24 * 3600)
}
