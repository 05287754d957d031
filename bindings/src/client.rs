//! The object apps hold. Every method forwards to [`tether_core::Client`] and converts; the
//! async ones are `suspend` in Kotlin and `async` in Swift.

use crate::config::ClientConfig;
use crate::error::ListenerError;
use crate::error::TetherError;
use crate::event::{AckReply, Delivery, IncomingMessage, MessageFilter, OutgoingMessage};
use crate::health::HealthStatus;
use crate::json;
use crate::listener::{
    deliver, deliver_ready, EventListener, HealthListener, LagListener, MessageBatchListener,
    MessageListener, StateListener,
};
use crate::runtime;
use crate::state::ConnectionState;
use crate::stats::Stats;
use crate::task_handle::TaskHandle;
use crate::token::{ForeignTokenProvider, TokenProvider};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tether_core as core_api;
use tokio::runtime::Handle;
use tokio::task::JoinHandle;

/// A real-time connection to one server. Create it, subscribe to what you need, `connect`.
/// Closing (Kotlin `close()`, Swift: the last reference going away) disconnects it.
#[derive(uniffi::Object)]
pub struct Client {
    inner: core_api::Client,
    runtime: Handle,
    /// Its id in the JVM fast path's registry, once the Kotlin package asked for one.
    pub(crate) jvm_id: std::sync::OnceLock<u64>,
}

impl Drop for Client {
    fn drop(&mut self) {
        if let Some(id) = self.jvm_id.get() {
            crate::jvm::registry::forget(*id);
        }
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}

fn timeout(ms: Option<u64>) -> Option<Duration> {
    ms.map(Duration::from_millis)
}

/// A task of the shared runtime that is aborted when its waiter goes away (a cancelled
/// coroutine or Swift `Task`).
pub(crate) struct AbortOnDrop<T>(pub(crate) JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl<T> Future for AbortOnDrop<T> {
    type Output = Result<T, tokio::task::JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}

/// Runs a core call as a task of the shared runtime and waits for it (cancelled with its waiter).
/// The core's wake-ups then land in that task, and uniffi's call into the foreign executor (which
/// resumes the Swift or Kotlin caller) happens there too, never inside the engine's driver.
pub(crate) async fn run_on<T, F>(runtime: &Handle, call: F) -> Result<T, TetherError>
where
    T: Send + 'static,
    F: Future<Output = Result<T, core_api::Error>> + Send + 'static,
{
    match AbortOnDrop(runtime.spawn(call)).await {
        Ok(result) => Ok(result?),
        Err(join) => Err(TetherError::Other { message: format!("internal error: {join}") }),
    }
}

impl Client {
    /// The core client (for the collaboration helpers).
    pub(crate) fn core(&self) -> &core_api::Client {
        &self.inner
    }

    /// The shared runtime this client runs on.
    pub(crate) fn runtime(&self) -> &Handle {
        &self.runtime
    }

    /// A core call on a clone of this client, through [`run_on`].
    async fn run<T, F>(&self, call: impl FnOnce(core_api::Client) -> F) -> Result<T, TetherError>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, core_api::Error>> + Send + 'static,
    {
        run_on(&self.runtime, call(self.inner.clone())).await
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl Client {
    /// A client for `config` (validated here: errors are `InvalidConfig`). It does not
    /// connect until `connect` or `start`. The token provider, if any, is asked before every
    /// connect and reconnect.
    #[uniffi::constructor(default(token_provider = None))]
    pub fn new(
        config: ClientConfig,
        token_provider: Option<Arc<dyn TokenProvider>>,
    ) -> Result<Arc<Self>, TetherError> {
        let config = core_api::Config::try_from(config)?;
        let runtime = runtime::handle()?;
        let mut builder = core_api::Client::builder(config).runtime(runtime.clone());
        if let Some(provider) = token_provider {
            builder = builder.token_provider(ForeignTokenProvider(provider));
        }
        Ok(Arc::new(Self { inner: builder.build()?, runtime, jvm_id: Default::default() }))
    }

    /// Connects and waits until connected. Throws at once on what retrying cannot fix
    /// (`AuthRejected`, `InvalidConfig` for a bad URL, attempts exhausted); while the engine
    /// retries it keeps waiting (cancel it or use `start` not to wait).
    pub async fn connect(&self) -> Result<(), TetherError> {
        self.run(|c| async move { c.connect().await }).await
    }

    /// Starts connecting without waiting.
    pub async fn start(&self) -> Result<(), TetherError> {
        self.run(|c| async move { c.start().await }).await
    }

    /// Closes the connection (until `connect` is called again).
    pub async fn disconnect(&self) -> Result<(), TetherError> {
        self.run(|c| async move { c.disconnect().await }).await
    }

    /// Drops the connection and connects again at once, skipping the backoff.
    pub async fn reconnect_now(&self) -> Result<(), TetherError> {
        self.run(|c| async move { c.reconnect_now().await }).await
    }

    /// The device's network reachability changed (back: reconnect at once).
    pub async fn network_available(&self, available: bool) -> Result<(), TetherError> {
        self.run(move |c| async move { c.network_available(available).await }).await
    }

    /// The app moved to the foreground (probe or reconnect at once) or the background.
    pub async fn app_foreground(&self, foreground: bool) -> Result<(), TetherError> {
        self.run(move |c| async move { c.app_foreground(foreground).await }).await
    }

    /// Sends `event` with one JSON argument (queued while offline). Returns once the engine
    /// accepted it.
    pub async fn emit(&self, event: String, payload_json: String) -> Result<(), TetherError> {
        let payload = json::parse_value(&payload_json)?;
        self.run(|c| async move { c.emit(&event, payload).await }).await
    }

    /// Hands `event` with one JSON argument to the engine without waiting (not `suspend` /
    /// `async`: callable from any thread, a UI callback included). Throws `QueueFull` when the
    /// engine's send lane is full (nothing was sent: retry shortly, or use `emit`), `Closed`
    /// after `disconnect`. A refusal by the engine afterwards (too large, outbox full under
    /// `Reject`) arrives as an error event. For high-rate streams: one call costs a few
    /// hundred nanoseconds where `emit` costs two task switches.
    pub fn try_emit(&self, event: String, payload_json: String) -> Result<(), TetherError> {
        let message = core_api::OutgoingMessage::new(event, json::parse_value(&payload_json)?);
        self.inner.try_send(message).map_err(|refused| refused.error().clone().into())
    }

    /// `try_emit` for many payloads in one call (one foreign call instead of one per message,
    /// which is what the bindings' per-call cost makes worth it for high-rate streams). Every
    /// payload is checked first: bad JSON throws and sends nothing. Then they are handed over in
    /// order until the engine's send lane is full; returns how many were (a prefix of
    /// `payloads_json`: send the rest again shortly). Throws `Closed` after `disconnect`.
    pub fn try_emit_batch(
        &self,
        event: String,
        payloads_json: Vec<String>,
    ) -> Result<u32, TetherError> {
        let payloads = payloads_json
            .iter()
            .enumerate()
            .map(|(i, payload)| {
                json::parse_value(payload).map_err(|e| TetherError::Other {
                    message: format!("payload {i} is not JSON: {e}"),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut accepted: u32 = 0;
        for payload in payloads {
            match self.inner.try_send(core_api::OutgoingMessage::new(event.clone(), payload)) {
                Ok(()) => accepted = accepted.saturating_add(1),
                Err(refused) if refused.error().kind() == core_api::ErrorKind::QueueFull => break,
                Err(_) if accepted > 0 => break,
                Err(refused) => return Err(refused.error().clone().into()),
            }
        }
        Ok(accepted)
    }

    /// Sends `event` with one JSON argument and waits for the acknowledgement; returns its
    /// arguments as a JSON array. `timeout_ms` `None`: the configured ack timeout.
    #[uniffi::method(default(timeout_ms = None))]
    pub async fn emit_with_ack(
        &self,
        event: String,
        payload_json: String,
        timeout_ms: Option<u64>,
    ) -> Result<String, TetherError> {
        let message = core_api::OutgoingMessage::new(event, json::parse_value(&payload_json)?);
        let timeout = timeout(timeout_ms);
        let reply = self.run(|c| async move { c.send_with_ack(message, timeout).await }).await?;
        Ok(json::args_to_string(reply.data))
    }

    /// Sends at-least-once: re-sent with the same id after reconnects until acknowledged or
    /// timed out. Returns the acknowledgement's arguments as a JSON array.
    #[uniffi::method(default(timeout_ms = None))]
    pub async fn send_reliable(
        &self,
        event: String,
        payload_json: String,
        timeout_ms: Option<u64>,
    ) -> Result<String, TetherError> {
        let message = core_api::OutgoingMessage::new(event, json::parse_value(&payload_json)?);
        let timeout = timeout(timeout_ms);
        let reply = self.run(|c| async move { c.send_reliable(message, timeout).await }).await?;
        Ok(json::args_to_string(reply.data))
    }

    /// Sends any message (several arguments, binary attachments, another namespace) and waits
    /// as `delivery` says; without an acknowledgement the reply is empty (`"[]"`).
    pub async fn send(
        &self,
        message: OutgoingMessage,
        delivery: Delivery,
    ) -> Result<AckReply, TetherError> {
        let message = core_api::OutgoingMessage::try_from(message)?;
        let options = delivery.into();
        let reply =
            self.run(|c| async move { c.send_with(message, options).await?.wait().await }).await?;
        Ok(reply.into())
    }

    /// Hands a message to the engine and returns once it accepted it, without waiting for the
    /// acknowledgement: with a durable outbox, once the message is on disk (from then on it
    /// survives the app being killed). Returns the acknowledgement id (`None` when `delivery`
    /// asks for none); the answer comes as an `AckSettled` event with that id. For apps that
    /// send at least once and follow delivery through events.
    pub async fn enqueue(
        &self,
        message: OutgoingMessage,
        delivery: Delivery,
    ) -> Result<Option<u64>, TetherError> {
        let message = core_api::OutgoingMessage::try_from(message)?;
        let options = delivery.into();
        let pending = self.run(|c| async move { c.send_with(message, options).await }).await?;
        Ok(pending.id().map(|id| id.0))
    }

    /// Answers a server message that asked for an acknowledgement, with the arguments in
    /// `args_json` (a JSON array).
    pub async fn ack(
        &self,
        message: IncomingMessage,
        args_json: String,
    ) -> Result<(), TetherError> {
        let message = core_api::IncomingMessage::try_from(message)?;
        let reply = core_api::AckReply { data: json::parse_args(&args_json)?, binary: Vec::new() };
        self.run(|c| async move { c.ack(&message, reply).await }).await
    }

    /// Joins a room: waits for the server's confirmation when connected, remembers it when not;
    /// re-joined after every reconnect until `leave`.
    pub async fn join(&self, room: String) -> Result<(), TetherError> {
        self.run(|c| async move { c.join(&room).await }).await
    }

    /// Leaves a room.
    pub async fn leave(&self, room: String) -> Result<(), TetherError> {
        self.run(|c| async move { c.leave(&room).await }).await
    }

    /// Empties the outbox; returns how many messages were dropped.
    pub async fn clear_outbox(&self) -> Result<u64, TetherError> {
        let dropped = self.run(|c| async move { c.clear_outbox().await }).await?;
        Ok(u64::try_from(dropped).unwrap_or(u64::MAX))
    }

    /// A snapshot of the counters.
    pub async fn stats(&self) -> Result<Stats, TetherError> {
        Ok(self.run(|c| async move { c.stats().await }).await?.into())
    }

    /// Applies a new config to the running client (the protocol cannot change).
    pub async fn update_config(&self, config: ClientConfig) -> Result<(), TetherError> {
        let config = core_api::Config::try_from(config)?;
        self.run(|c| async move { c.update_config(config).await }).await
    }

    /// The connection state now.
    pub fn state(&self) -> ConnectionState {
        self.inner.state().borrow().clone().into()
    }

    /// Health and quality now.
    pub fn health(&self) -> HealthStatus {
        (*self.inner.health().borrow()).into()
    }

    /// Why the durable outbox (`durable_outbox_path`) fell back to memory, if it did: the file
    /// could not be opened (corrupt, in use by another client, not writable) or a write failed
    /// later (also an error event of kind `Storage`). `None` while it works, and without one.
    pub fn storage_error(&self) -> Option<String> {
        self.inner.storage_error().map(|e| e.message().to_owned())
    }

    /// Calls `listener` with the state now, then with each change, until the handle is
    /// cancelled or dropped.
    pub fn subscribe_state(&self, listener: Arc<dyn StateListener>) -> Arc<TaskHandle> {
        let mut state = self.inner.state();
        TaskHandle::spawn(&self.runtime, move |cancelled| async move {
            loop {
                let now: ConnectionState = state.borrow_and_update().clone().into();
                let listener = listener.clone();
                deliver(&cancelled, "state", move || listener.on_state(now)).await;
                if state.changed().await.is_err() {
                    break;
                }
            }
        })
    }

    /// Calls `listener` with health and quality now, then with each change.
    pub fn subscribe_health(&self, listener: Arc<dyn HealthListener>) -> Arc<TaskHandle> {
        let mut health = self.inner.health();
        TaskHandle::spawn(&self.runtime, move |cancelled| async move {
            loop {
                let now: HealthStatus = (*health.borrow_and_update()).into();
                let listener = listener.clone();
                deliver(&cancelled, "health", move || listener.on_health(now)).await;
                if health.changed().await.is_err() {
                    break;
                }
            }
        })
    }

    /// Calls `listener` with every event from now on, in order; where it fell behind the
    /// subscription's bounds (`ClientConfig.stream_buffer`), an `Event::Lagged` says how many
    /// were dropped there.
    pub fn subscribe_events(&self, listener: Arc<dyn EventListener>) -> Arc<TaskHandle> {
        let mut events = self.inner.events();
        let meter = Some(events.meter());
        TaskHandle::spawn_metered(&self.runtime, meter, move |cancelled| async move {
            while let Some(first) = events.recv().await {
                let listener = listener.clone();
                let call = move |event: core_api::Event| listener.on_event(event.into());
                let next = core_api::EventStream::try_recv;
                match deliver_ready(&cancelled, "events", events, first, next, call).await {
                    Some(back) => events = back,
                    None => break,
                }
            }
        })
    }

    /// Calls `listener` with the server messages that match `filter`, paced by its rate and
    /// bounded by its buffer (else `ClientConfig.stream_buffer`); `lag_listener`, if given, is
    /// told where messages were dropped because `listener` fell behind.
    #[uniffi::method(default(lag_listener = None))]
    pub fn subscribe_messages(
        &self,
        filter: MessageFilter,
        listener: Arc<dyn MessageListener>,
        lag_listener: Option<Arc<dyn LagListener>>,
    ) -> Arc<TaskHandle> {
        let mut messages = self.inner.subscribe(filter.into());
        let meter = Some(messages.meter());
        TaskHandle::spawn_metered(&self.runtime, meter, move |cancelled| async move {
            while let Some(first) = messages.recv_item().await {
                let (listener, lag_listener) = (listener.clone(), lag_listener.clone());
                let call = move |item: core_api::SubscriptionItem| match item {
                    core_api::SubscriptionItem::Message(message) => {
                        listener.on_message(message.into())
                    }
                    core_api::SubscriptionItem::Lagged { skipped } => {
                        lag_listener.as_ref().map_or(Ok(()), |lag| lag.on_lagged(skipped))
                    }
                };
                let next = core_api::Subscription::try_recv_item;
                match deliver_ready(&cancelled, "messages", messages, first, next, call).await {
                    Some(back) => messages = back,
                    None => break,
                }
            }
        })
    }

    /// Like `subscribe_messages`, but hands the listener every matching message that is ready,
    /// up to `max_batch` (at least 1) per call, in order: one foreign call per burst instead of
    /// one per message, for streams of thousands of messages a second. A batch never spans a
    /// gap: `lag_listener` is told between the batches before and after it.
    #[uniffi::method(default(lag_listener = None))]
    pub fn subscribe_message_batches(
        &self,
        filter: MessageFilter,
        max_batch: u32,
        listener: Arc<dyn MessageBatchListener>,
        lag_listener: Option<Arc<dyn LagListener>>,
    ) -> Arc<TaskHandle> {
        let mut messages = self.inner.subscribe(filter.into());
        let meter = Some(messages.meter());
        let max_batch = usize::try_from(max_batch.max(1)).unwrap_or(usize::MAX);
        TaskHandle::spawn_metered(&self.runtime, meter, move |cancelled| async move {
            loop {
                let items = messages.recv_item_batch(max_batch).await;
                if items.is_empty() {
                    break;
                }
                let (listener, lag_listener) = (listener.clone(), lag_listener.clone());
                deliver(&cancelled, "message batches", move || {
                    deliver_batch(items, listener.as_ref(), lag_listener.as_deref())
                })
                .await;
            }
        })
    }
}

/// Hands `items` over in order: each run of messages in one call, each gap to `lag` between
/// them. Every call is made even if one throws; the first error is returned (and logged).
fn deliver_batch(
    items: Vec<core_api::SubscriptionItem>,
    listener: &dyn MessageBatchListener,
    lag: Option<&dyn LagListener>,
) -> Result<(), ListenerError> {
    let mut outcome = Ok(());
    let mut run: Vec<IncomingMessage> = Vec::new();
    let mut keep_first_error = |result: Result<(), ListenerError>| {
        if outcome.is_ok() {
            outcome = result;
        }
    };
    for item in items {
        match item {
            core_api::SubscriptionItem::Message(message) => run.push(message.into()),
            core_api::SubscriptionItem::Lagged { skipped } => {
                if !run.is_empty() {
                    keep_first_error(listener.on_messages(std::mem::take(&mut run)));
                }
                if let Some(lag) = lag {
                    keep_first_error(lag.on_lagged(skipped));
                }
            }
        }
    }
    if !run.is_empty() {
        keep_first_error(listener.on_messages(run));
    }
    outcome
}

#[cfg(test)]
mod tests;
