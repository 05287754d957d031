//! The handle apps hold: cheap to clone, every method a message to the driver task. Dropping the
//! last clone closes the connection cleanly.

use super::clock::{DeviceClock, DriverClock, SystemClock};
use super::command::Command;
use super::driver::{Driver, COMMAND_CAPACITY};
use super::event_hub::EventHub;
use super::event_stream::EventStream;
use super::fanout::Filter;
use super::subscription::{Subscription, SubscriptionOptions};
use crate::config::{Config, StreamBuffer};
use crate::model::{
    AckId, AckReply, ConnectionState, Error, ErrorKind, Event, FailureReason, HealthStatus,
    IncomingMessage, OutgoingMessage, SendError, Stats, TokenProvider, TrySendError,
};
use crate::protocol::Protocol;
use crate::session::{SendOptions, Session};
use crate::store::Store;
use crate::transport::TransportSettings;
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::{mpsc, oneshot, watch};

/// Builds a [`Client`] with the optional parts: a token provider, a custom protocol, a runtime,
/// a clock.
pub struct ClientBuilder {
    config: Config,
    token_provider: Option<Arc<dyn TokenProvider>>,
    protocol: Option<Box<dyn Protocol>>,
    runtime: Option<tokio::runtime::Handle>,
    clock: Option<Arc<dyn DeviceClock>>,
}

impl ClientBuilder {
    /// Supplies a token before each connect and reconnect.
    pub fn token_provider(mut self, provider: impl TokenProvider) -> Self {
        self.token_provider = Some(Arc::new(provider));
        self
    }

    /// Same as [`ClientBuilder::token_provider`], for a provider already shared.
    pub fn shared_token_provider(mut self, provider: Arc<dyn TokenProvider>) -> Self {
        self.token_provider = Some(provider);
        self
    }

    /// Speaks a protocol of your own instead of the one the config names.
    pub fn protocol(mut self, protocol: Box<dyn Protocol>) -> Self {
        self.protocol = Some(protocol);
        self
    }

    /// Runs the driver on this runtime (default: the current one).
    pub fn runtime(mut self, handle: tokio::runtime::Handle) -> Self {
        self.runtime = Some(handle);
        self
    }

    /// Tells time suspended and wall time with this clock instead of the platform's
    /// ([`SystemClock`]): for tests that move through a device suspend on virtual time.
    pub fn clock(mut self, clock: Arc<dyn DeviceClock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Validates the config and starts the driver task. Does not connect yet. With a durable
    /// outbox, first opens its file and puts what it kept back into the outbox (a file that
    /// cannot be used is not an error here: the client works in memory, see
    /// [`Client::storage_error`]).
    pub fn build(self) -> Result<Client, Error> {
        let runtime = match self.runtime {
            Some(handle) => handle,
            None => tokio::runtime::Handle::try_current().map_err(|_| {
                Error::new(
                    ErrorKind::InvalidConfig,
                    "a Client must be built inside a tokio runtime (or given one)",
                )
            })?,
        };
        let device = self.clock.unwrap_or_else(|| Arc::new(SystemClock::new()));
        let mut clock = DriverClock::new(device);
        let now = clock.now();
        let stream_buffer = self.config.stream_buffer;
        let settings = TransportSettings::from_config(&self.config)
            .map_err(|e| Error::new(ErrorKind::InvalidConfig, e.to_string()))?;
        let durable = self.config.durable_outbox.clone();
        let mut session = match self.protocol {
            Some(protocol) => Session::with_protocol(self.config, protocol, now)?,
            None => Session::new(self.config, now)?,
        };
        let token_provider = self.token_provider.clone();
        let store = match durable {
            Some(path) => restore(&path, &mut session, clock.wall(), now).map(Some),
            None => Ok(None),
        };
        let handles = Driver::spawn(
            session,
            settings,
            self.token_provider,
            &runtime,
            clock,
            store,
            stream_buffer,
        );
        Ok(Client {
            commands: handles.commands,
            control: handles.control,
            state: handles.state,
            health: handles.health,
            hub: handles.hub,
            token_provider,
        })
    }
}

/// A real-time connection. Clone it freely; all clones drive the same connection.
///
/// ```no_run
/// # async fn demo() -> Result<(), tether_core::Error> {
/// use tether_core::{Client, Config};
/// let client = Client::new(Config::new("wss://example.com"))?;
/// client.connect().await?;
/// client.join("estimate-42").await?;
/// let reply = client.emit_with_ack("pricing-update", serde_json::json!({"amount": 10})).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    /// Sends and ack replies: bounded, the backpressure a fast sender feels.
    commands: mpsc::Sender<Command>,
    /// Everything else, never held up behind sends.
    control: mpsc::UnboundedSender<Command>,
    state: watch::Receiver<ConnectionState>,
    health: watch::Receiver<HealthStatus>,
    pub(super) hub: Arc<EventHub>,
    /// The driver's token provider, for `refresh_token` (asked in the caller's task).
    token_provider: Option<Arc<dyn TokenProvider>>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("state", &*self.state.borrow()).finish_non_exhaustive()
    }
}

/// Opens the durable outbox at `path` and puts what it kept into `session`.
fn restore(
    path: &Path,
    session: &mut Session,
    wall: SystemTime,
    now: Instant,
) -> Result<Store, Error> {
    let mut store = Store::open(path)?;
    let state = store.load(wall)?;
    tracing::debug!(path = %path.display(), kept = state.messages.len(), "durable outbox opened");
    session.restore(state, now);
    Ok(store)
}

fn closed() -> Error {
    Error::new(ErrorKind::Closed, "the client's driver has stopped")
}

impl Client {
    /// A client for `config` on the current tokio runtime. Does not connect yet.
    pub fn new(config: Config) -> Result<Self, Error> {
        Self::builder(config).build()
    }

    /// A builder for the optional parts.
    pub fn builder(config: Config) -> ClientBuilder {
        ClientBuilder { config, token_provider: None, protocol: None, runtime: None, clock: None }
    }

    async fn request<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, Error> {
        let (tx, rx) = oneshot::channel();
        self.tell(make(tx)).await?;
        rx.await.map_err(|_| closed())
    }

    async fn tell(&self, command: Command) -> Result<(), Error> {
        match command {
            Command::Send { .. } | Command::Ack { .. } => {
                self.commands.send(command).await.map_err(|_| closed())
            }
            other => self.control.send(other).map_err(|_| closed()),
        }
    }

    /// Connects and waits until connected. Fails at once on what retrying cannot fix (auth
    /// rejected, bad URL, attempts exhausted); while the engine retries, it keeps waiting (wrap
    /// it in a timeout if the app must not wait). Use [`Client::start`] not to wait at all.
    pub async fn connect(&self) -> Result<(), Error> {
        let mut state = self.state.clone();
        self.request(|done| Command::Connect { done }).await?;
        state.mark_changed();
        let result = state
            .wait_for(|s| {
                matches!(
                    s,
                    ConnectionState::Connected
                        | ConnectionState::Closed
                        | ConnectionState::Failed { .. }
                )
            })
            .await
            .map_err(|_| closed())?
            .clone();
        match result {
            ConnectionState::Connected => Ok(()),
            ConnectionState::Failed { reason } => Err(failure_error(&reason)),
            _ => Err(Error::new(ErrorKind::Closed, "the client was closed while connecting")),
        }
    }

    /// Starts connecting without waiting.
    pub async fn start(&self) -> Result<(), Error> {
        self.request(|done| Command::Connect { done }).await
    }

    /// Closes the connection for good (until `connect` is called again).
    pub async fn disconnect(&self) -> Result<(), Error> {
        self.request(|done| Command::Disconnect { done }).await
    }

    /// Drops the connection and connects again at once, skipping the backoff.
    pub async fn reconnect_now(&self) -> Result<(), Error> {
        self.tell(Command::ReconnectNow).await
    }

    /// The app's network reachability changed (connect at once when it comes back).
    pub async fn network_available(&self, available: bool) -> Result<(), Error> {
        self.tell(Command::NetworkAvailable(available)).await
    }

    /// The app moved to the foreground (probe or reconnect at once) or the background.
    pub async fn app_foreground(&self, foreground: bool) -> Result<(), Error> {
        self.tell(Command::AppForeground(foreground)).await
    }

    /// Sends a message (queued while offline) and returns once the engine accepted it: a
    /// refusal (too large, unsupported by the protocol, outbox full under
    /// [`crate::OverflowPolicy::Reject`]) is this call's error. With a durable outbox
    /// ([`Config::durable_outbox`]), "accepted" means written: if the message is to be kept
    /// (queued, or at-least-once), it is in the file when this returns, and survives the app
    /// being killed from then on.
    pub async fn send(&self, message: OutgoingMessage) -> Result<(), Error> {
        self.send_with(message, SendOptions::fire_and_forget()).await.map(|_| ())
    }

    /// Sends `event` with one JSON argument (see [`Client::send`]).
    pub async fn emit(&self, event: &str, payload: Value) -> Result<(), Error> {
        self.send(OutgoingMessage::new(event, payload)).await
    }

    /// Hands a message to the engine without waiting for its answer, as async-nats's `publish`
    /// does: for high-rate streams, where waiting would cost two task switches per message and
    /// cap throughput at a fraction of the socket's (W2 in BENCHMARKS.md). Errors only if the
    /// client is closed; a message the engine refuses later is reported as [`Event::Error`].
    /// Control calls (`disconnect`, `join`, ...) travel apart from sends so they are never held
    /// up behind them: one made right after `send_nowait` may overtake it. With a durable
    /// outbox it does not wait for the write either: a message handed over this way is kept
    /// once the driver's next batch is written (a moment later, with the next ones), and a kill
    /// before that loses it; use [`Client::send`] where the app must know.
    pub async fn send_nowait(&self, message: OutgoingMessage) -> Result<(), Error> {
        if *self.state.borrow() == ConnectionState::Closed {
            return Err(Error::from(crate::SendError::Closed));
        }
        self.tell(Command::Send {
            message: Box::new(message),
            options: SendOptions::fire_and_forget(),
            accepted: None,
            ack: None,
        })
        .await
    }

    /// Sends `event` with one JSON argument without waiting (see [`Client::send_nowait`]).
    pub async fn emit_nowait(&self, event: &str, payload: Value) -> Result<(), Error> {
        self.send_nowait(OutgoingMessage::new(event, payload)).await
    }

    /// Hands a message to the engine without waiting at all, from any thread, async or not:
    /// for callers that cannot await (the Swift and Kotlin bindings' `tryEmit`, UI callbacks).
    /// When the send lane is full (the driver has not yet taken the sends before this one),
    /// the message comes back in the error ([`ErrorKind::QueueFull`]) instead of being
    /// dropped; retry it shortly. Like [`Client::send_nowait`], a refusal by the engine
    /// afterwards (too large, outbox full under `Reject`) is reported as [`Event::Error`], and
    /// with a durable outbox the message is on disk only once the driver's next batch is
    /// written (a kill before that loses it).
    ///
    /// ```no_run
    /// # fn demo(client: &tether_core::Client) {
    /// use tether_core::{ErrorKind, OutgoingMessage};
    /// let mut message = OutgoingMessage::new("tick", serde_json::json!({ "n": 1 }));
    /// loop {
    ///     match client.try_send(message) {
    ///         Ok(()) => break,
    ///         Err(busy) if busy.error().kind() == ErrorKind::QueueFull => {
    ///             message = busy.into_message();
    ///             std::thread::yield_now();
    ///         }
    ///         Err(closed) => panic!("{closed}"),
    ///     }
    /// }
    /// # }
    /// ```
    pub fn try_send(&self, message: OutgoingMessage) -> Result<(), TrySendError> {
        if *self.state.borrow() == ConnectionState::Closed {
            return Err(TrySendError::new(Error::from(SendError::Closed), message));
        }
        // Reserve first, so that on a full lane the message is still ours to give back.
        match self.commands.try_reserve() {
            Ok(permit) => {
                permit.send(Command::Send {
                    message: Box::new(message),
                    options: SendOptions::fire_and_forget(),
                    accepted: None,
                    ack: None,
                });
                Ok(())
            }
            Err(mpsc::error::TrySendError::Full(())) => {
                let busy = SendError::Busy { waiting: COMMAND_CAPACITY };
                Err(TrySendError::new(Error::from(busy), message))
            }
            Err(mpsc::error::TrySendError::Closed(())) => Err(TrySendError::new(closed(), message)),
        }
    }

    /// Sends and waits for the acknowledgement (configured `ack_timeout`).
    pub async fn send_with_ack(
        &self,
        message: OutgoingMessage,
        timeout: Option<Duration>,
    ) -> Result<AckReply, Error> {
        let ack = self.send_with(message, SendOptions::with_ack(timeout)).await?;
        ack.wait().await
    }

    /// Sends `event` with one JSON argument and waits for the acknowledgement.
    pub async fn emit_with_ack(&self, event: &str, payload: Value) -> Result<AckReply, Error> {
        self.send_with_ack(OutgoingMessage::new(event, payload), None).await
    }

    /// Sends at-least-once: re-sent with the same id after reconnects until acknowledged or
    /// timed out. Pair with a `messageId` field so receivers can drop duplicates.
    pub async fn send_reliable(
        &self,
        message: OutgoingMessage,
        timeout: Option<Duration>,
    ) -> Result<AckReply, Error> {
        let ack = self.send_with(message, SendOptions::at_least_once(timeout)).await?;
        ack.wait().await
    }

    /// Sends with explicit options; the returned [`PendingAck`] resolves when the answer comes
    /// (at once with `None` data if no acknowledgement was asked for).
    pub async fn send_with(
        &self,
        message: OutgoingMessage,
        options: SendOptions,
    ) -> Result<PendingAck, Error> {
        let (ack_tx, ack_rx) = oneshot::channel();
        let wants_ack = options.ack.is_some();
        let accepted = self
            .request(|accepted| Command::Send {
                message: Box::new(message),
                options,
                accepted: Some(accepted),
                ack: wants_ack.then_some(ack_tx),
            })
            .await?;
        let id = accepted?;
        Ok(PendingAck { id, receiver: wants_ack.then_some(ack_rx) })
    }

    /// Answers a server message that asked for an acknowledgement.
    pub async fn ack(&self, message: &IncomingMessage, reply: AckReply) -> Result<(), Error> {
        let ack_id = message.ack_id.ok_or_else(|| {
            Error::new(ErrorKind::Protocol, "this message did not ask for an acknowledgement")
        })?;
        let namespace = message.namespace.clone();
        self.request(|done| Command::Ack { namespace, ack_id, reply: Box::new(reply), done })
            .await?
            .map_err(Error::from)
    }

    /// Joins a room. Connected: waits for the server's confirmation (error if refused or timed
    /// out). Offline: remembered and joined on connect. Either way it is re-joined after every
    /// reconnect until [`Client::leave`].
    pub async fn join(&self, room: &str) -> Result<(), Error> {
        self.join_room(room, None).await.map(|_| ())
    }

    /// Joins a room with a payload the server reads on every join of it: Phoenix's join
    /// payload (credentials, parameters), Supabase's channel config
    /// ([`crate::RealtimeChannelConfig::join_payload`]). Connected: returns the server's
    /// answer to the join; offline: `Value::Null` now, and the room is joined on connect.
    /// Either way it is re-joined (with this payload) after every reconnect until
    /// [`Client::leave`].
    ///
    /// ```no_run
    /// # async fn demo(client: tether_core::Client) -> Result<(), tether_core::Error> {
    /// let reply = client.join_with("room:lobby", serde_json::json!({"color": "blue"})).await?;
    /// println!("the channel answered {reply}");
    /// # Ok(()) }
    /// ```
    pub async fn join_with(&self, room: &str, payload: Value) -> Result<Value, Error> {
        self.join_room(room, Some(Box::new(payload))).await
    }

    async fn join_room(&self, room: &str, payload: Option<Box<Value>>) -> Result<Value, Error> {
        // Subscribe before asking, so the confirmation cannot slip past; only the events this
        // waits for are queued.
        let answers: Filter<Event> = Box::new(|event| {
            matches!(
                event,
                Event::RoomJoinReply { .. }
                    | Event::RoomJoined { .. }
                    | Event::RoomJoinFailed { .. }
                    | Event::Disconnected { .. }
            )
        });
        let mut events = EventStream::new(self.hub.subscribe(None, Some(answers)));
        let owned = room.to_owned();
        let sent = self.request(|done| Command::Join { room: owned, payload, done }).await??;
        if !sent {
            // Already joined, or offline: joined (again) on connect.
            return Ok(Value::Null);
        }
        let mut response = Value::Null;
        while let Some(event) = events.recv().await {
            match event {
                Event::RoomJoinReply { room: r, response: answer } if r == room => {
                    response = answer
                }
                Event::RoomJoined { room: r } if r == room => return Ok(response),
                Event::RoomJoinFailed { room: r, reason } if r == room => {
                    let message = format!("joining {room} failed: {reason}");
                    return Err(if response.is_null() {
                        Error::new(ErrorKind::Protocol, message)
                    } else {
                        Error::new(ErrorKind::Refused, message).with_response(response)
                    });
                }
                // The connection dropped before the answer: the join is re-sent after reconnect.
                // Or answers were dropped unread (thousands of them: not this call's): the
                // room stays joined and a refusal is still reported as an event.
                Event::Disconnected { .. } | Event::Lagged { .. } => return Ok(Value::Null),
                _ => {}
            }
        }
        Err(closed())
    }

    /// Asks the token provider for a token now and hands it to the connection: protocols that
    /// carry the token per channel (Supabase Realtime's `access_token`) send it to every joined
    /// channel and use it for rejoins. Call it when the app's session token changes. Without a
    /// token provider this does nothing.
    pub async fn refresh_token(&self) -> Result<(), Error> {
        let Some(provider) = &self.token_provider else { return Ok(()) };
        let token = provider
            .token()
            .await
            .map_err(|e| Error::new(ErrorKind::AuthRejected, e.to_string()))?;
        self.control.send(Command::RefreshToken { token }).map_err(|_| closed())
    }

    /// Leaves a room.
    pub async fn leave(&self, room: &str) -> Result<(), Error> {
        let room = room.to_owned();
        self.request(|done| Command::Leave { room, done }).await?.map_err(Error::from)
    }

    /// Applies a new config at run time (see [`Session::update_config`]).
    pub async fn update_config(&self, config: Config) -> Result<(), Error> {
        self.request(|done| Command::UpdateConfig { config: Box::new(config), done })
            .await?
            .map_err(Error::from)
    }

    /// Empties the outbox; returns how many messages were dropped (each reported).
    pub async fn clear_outbox(&self) -> Result<usize, Error> {
        self.request(|done| Command::ClearOutbox { done }).await
    }

    /// A snapshot of the counters.
    pub async fn stats(&self) -> Result<Stats, Error> {
        self.request(|reply| Command::Stats { reply }).await
    }

    /// Why the durable outbox (`Config::durable_outbox`) fell back to memory, if it did: the
    /// file could not be opened when the client was built (corrupt, locked by another client,
    /// unwritable), or a write failed later (also reported as an [`Event::Error`] of kind
    /// [`ErrorKind::Storage`]). `None` while it works, and without one.
    pub fn storage_error(&self) -> Option<Error> {
        self.hub.storage_error()
    }

    /// The connection state: `borrow()` for now, `changed()` / `wait_for` for changes.
    pub fn state(&self) -> watch::Receiver<ConnectionState> {
        self.state.clone()
    }

    /// Health and quality, as a watch.
    pub fn health(&self) -> watch::Receiver<HealthStatus> {
        self.health.clone()
    }

    /// Every event from now on, bounded by `Config::stream_buffer`: a reader that falls
    /// behind gets [`Event::Lagged`] where events were dropped.
    pub fn events(&self) -> EventStream {
        EventStream::new(self.hub.subscribe(None, None))
    }

    /// Every event from now on, bounded by `buffer` instead of the config's.
    ///
    /// ```no_run
    /// # fn demo(client: &tether_core::Client) {
    /// use tether_core::{StreamBuffer, StreamOverflow};
    /// // A log that keeps the first 100,000 events a slow writer has not taken yet.
    /// let log = client.events_with(StreamBuffer::new(100_000, 64 << 20).with_overflow(StreamOverflow::DropNewest));
    /// # }
    /// ```
    pub fn events_with(&self, buffer: StreamBuffer) -> EventStream {
        EventStream::new(self.hub.subscribe(Some(buffer), None))
    }

    /// The events `wanted` takes, from now on: the others are never queued.
    pub(crate) fn events_where(
        &self,
        buffer: Option<StreamBuffer>,
        wanted: Filter<Event>,
    ) -> EventStream {
        EventStream::new(self.hub.subscribe(buffer, Some(wanted)))
    }

    /// Server messages matching `options` (event names, room), paced by its rate limit and
    /// bounded by its buffer (else `Config::stream_buffer`). Only matching messages are queued.
    pub fn subscribe(&self, options: SubscriptionOptions) -> Subscription {
        Subscription::new(&self.hub, options)
    }
}

/// An acknowledgement on its way.
#[derive(Debug)]
pub struct PendingAck {
    id: Option<AckId>,
    receiver: Option<oneshot::Receiver<Result<AckReply, crate::AckError>>>,
}

impl PendingAck {
    /// The acknowledgement id (`None` if none was requested): the id its
    /// [`Event::AckSettled`] will carry.
    pub fn id(&self) -> Option<AckId> {
        self.id
    }

    /// Waits for the answer (an empty reply if none was requested).
    pub async fn wait(self) -> Result<AckReply, Error> {
        match self.receiver {
            None => Ok(AckReply::default()),
            Some(receiver) => receiver.await.map_err(|_| closed())?.map_err(Error::from),
        }
    }
}

fn failure_error(reason: &FailureReason) -> Error {
    let kind = match reason {
        FailureReason::AuthRejected(_) => ErrorKind::AuthRejected,
        FailureReason::InvalidUrl(_) => ErrorKind::InvalidConfig,
        FailureReason::ProtocolMismatch(_) => ErrorKind::Protocol,
        FailureReason::AttemptsExhausted { .. } | FailureReason::InitialConnectFailed(_) => {
            ErrorKind::Transport
        }
    };
    Error::new(kind, reason.to_string())
}
