//! One simulated collaborator: a Tether [`Client`] with its own JWT, the collaboration helpers
//! on top, and a task that plays its [`Script`] (cursor, focus, typing, pricing updates) while
//! keeping books on what came back (verdicts, conflicts, latency, connection news).

use crate::activity_log::{ActivityLog, EntryKind};
use crate::error::DemoError;
use crate::latency_history::LatencyHistory;
use crate::ledger::{Ledger, LedgerCounts};
use crate::persona::Persona;
use crate::script::{Action, Script};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tether_core::{
    Client, CollabConfig, CollabEvent, CollabEventStream, CollabEvents, CollabStats, Collaboration,
    Config, ConflictOutcome, ConnectionState, Event, EventStream, HealthStatus, OptimisticId,
    OptimisticOutcome, RoomState, Stats, Token, Verdict,
};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{interval, Instant, MissedTickBehavior};

/// How often the script runs: mouse moves at ~30 Hz, faster than the 20 Hz the helper lets out.
const SCRIPT_TICK: Duration = Duration::from_millis(33);

/// How often the client's latency and outbox are sampled.
const SAMPLE_TICK: Duration = Duration::from_millis(250);

/// Heartbeats every second so the latency chart moves (the SDK default is 25 s).
const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(1);

/// A heartbeat unanswered this long means the path is dead.
const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(3);

/// Reconnect delays: quick, so a restart is over in a second or two.
const RECONNECT_DELAYS: (Duration, Duration) = (Duration::from_millis(250), Duration::from_secs(1));

/// How long the first connect and join may take.
const STARTUP_PATIENCE: Duration = Duration::from_secs(10);

/// How long the task may take to take up a new activity (it is between two ticks at worst).
const ACTIVITY_PATIENCE: Duration = Duration::from_secs(2);

/// What the collaborator's task is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    /// Playing the script.
    Working,
    /// Hands off the keyboard: typing stopped, field left, cursor still. Updates in flight
    /// still get their verdicts.
    Resting,
    /// The task ends.
    Stopped,
}

/// What the task records for the views.
#[derive(Debug, Default)]
struct Books {
    ledger: Ledger,
    latency: LatencyHistory,
    conflicts: u64,
    action_errors: u64,
    peak_queued: usize,
}

type SharedBooks = Arc<Mutex<Books>>;

fn lock(books: &SharedBooks) -> MutexGuard<'_, Books> {
    // A panicked writer leaves plain counters behind; they are still worth showing.
    books.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Everything the dashboard and the summary show about one collaborator.
#[derive(Debug, Clone)]
pub struct ClientView {
    /// Who.
    pub persona: Persona,
    /// Connection state now.
    pub state: ConnectionState,
    /// Health and quality now.
    pub health: HealthStatus,
    /// The client's counters.
    pub stats: Stats,
    /// The helpers' counters.
    pub collab: CollabStats,
    /// The estimate room as this client sees it (roster, sync, fields).
    pub room: Option<RoomState>,
    /// Recent heartbeat round trips, oldest first, in microseconds.
    pub latency_micros: Vec<u64>,
    /// Optimistic updates issued and settled.
    pub ledger: LedgerCounts,
    /// Conflicts met by versioned writes.
    pub conflicts: u64,
    /// Helper calls that were refused (closed client, full outbox).
    pub action_errors: u64,
    /// The most messages seen waiting in the outbox at once (sampled), e.g. while the server
    /// was down.
    pub peak_queued: usize,
}

/// A running collaborator.
pub struct Collaborator {
    persona: Persona,
    room: String,
    client: Client,
    collab: Collaboration,
    books: SharedBooks,
    activity: watch::Sender<Activity>,
    /// What the task has taken up: after `Resting` shows here, it issues nothing new.
    applied: watch::Receiver<Activity>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for Collaborator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Collaborator").field("persona", &self.persona.name).finish_non_exhaustive()
    }
}

impl Collaborator {
    /// Connects `persona` to `url` with `token`, joins `room`, and starts playing a script
    /// seeded with `seed`. News goes to `log`.
    pub async fn start(
        persona: Persona,
        url: &str,
        token: String,
        room: &str,
        seed: u64,
        log: ActivityLog,
    ) -> Result<Self, DemoError> {
        let name = persona.name;
        let config = Config::new(url)
            .with_reconnect_delays(RECONNECT_DELAYS.0, RECONNECT_DELAYS.1)
            .with_heartbeat(HEARTBEAT_INTERVAL, HEARTBEAT_TIMEOUT);
        let client = Client::builder(config)
            .token_provider(move || {
                let token = Token::new(token.clone());
                async move { Ok(token) }
            })
            .build()
            .map_err(|e| DemoError::client(name, e))?;
        let collab_config =
            CollabConfig { local_user_id: Some(persona.user_id.to_owned()), ..Default::default() };
        let collab =
            Collaboration::new(&client, collab_config).map_err(|e| DemoError::client(name, e))?;
        // Subscribe before connecting, so the first connection is counted like the others.
        let collab_events = collab.events();
        let client_events = client.events();
        let startup = async {
            client.connect().await?;
            collab.join(room).await
        };
        match tokio::time::timeout(STARTUP_PATIENCE, startup).await {
            Ok(result) => result.map_err(|e| DemoError::client(name, e))?,
            Err(_) => {
                let error = tether_core::Error::new(
                    tether_core::ErrorKind::Transport,
                    format!("not connected and joined within {STARTUP_PATIENCE:?}"),
                );
                return Err(DemoError::client(name, error));
            }
        }
        let books = SharedBooks::default();
        let (activity, activity_rx) = watch::channel(Activity::Working);
        let (applied_tx, applied) = watch::channel(Activity::Working);
        let worker = Worker {
            persona: persona.clone(),
            room: room.to_owned(),
            client: client.clone(),
            collab: collab.clone(),
            script: Script::new(seed, persona.can_write()),
            books: Arc::clone(&books),
            log,
            stale_writes: BTreeSet::new(),
            connects: 0,
        };
        let task = tokio::spawn(worker.run(activity_rx, applied_tx, collab_events, client_events));
        Ok(Self { persona, room: room.to_owned(), client, collab, books, activity, applied, task })
    }

    /// Who this is.
    pub fn persona(&self) -> &Persona {
        &self.persona
    }

    /// Switches between working and resting, and waits (boundedly) until the task took it
    /// up: once resting, every update it issued is in the books and no new one follows.
    pub async fn set_activity(&self, activity: Activity) {
        self.activity.send_replace(activity);
        let mut applied = self.applied.clone();
        // A task that ended or is stuck cannot issue anything either; the views will show it.
        let _ = tokio::time::timeout(ACTIVITY_PATIENCE, applied.wait_for(|a| *a == activity)).await;
    }

    /// A snapshot for the dashboard and the summary.
    pub async fn view(&self) -> Result<ClientView, DemoError> {
        let name = self.persona.name;
        let stats = self.client.stats().await.map_err(|e| DemoError::client(name, e))?;
        let collab = self.collab.stats().await.map_err(|e| DemoError::client(name, e))?;
        let room = self.collab.state().borrow().rooms.get(&self.room).cloned();
        let books = lock(&self.books);
        let peak_queued = books.peak_queued.max(stats.queued);
        Ok(ClientView {
            persona: self.persona.clone(),
            state: self.client.state().borrow().clone(),
            health: *self.client.health().borrow(),
            stats,
            collab,
            room,
            latency_micros: books.latency.micros(),
            ledger: books.ledger.counts(),
            conflicts: books.conflicts,
            action_errors: books.action_errors,
            peak_queued,
        })
    }

    /// Stops the script and closes the connection (the room hears `user-disconnected`).
    pub async fn close(self) {
        self.activity.send_replace(Activity::Stopped);
        let mut task = self.task;
        if tokio::time::timeout(Duration::from_secs(2), &mut task).await.is_err() {
            task.abort();
        }
        // The client may already be closed; there is nothing left to do then.
        let _ = self.client.disconnect().await;
    }
}

/// The task behind a [`Collaborator`].
struct Worker {
    persona: Persona,
    room: String,
    client: Client,
    collab: Collaboration,
    script: Script,
    books: SharedBooks,
    log: ActivityLog,
    /// Deliberately stale writes, so their rollback is labelled as intended.
    stale_writes: BTreeSet<OptimisticId>,
    connects: u64,
}

impl Worker {
    async fn run(
        mut self,
        mut activity: watch::Receiver<Activity>,
        applied: watch::Sender<Activity>,
        mut collab_events: CollabEventStream,
        mut client_events: EventStream,
    ) {
        let started = Instant::now();
        let mut script_tick = interval(SCRIPT_TICK);
        script_tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
        let mut sample_tick = interval(SAMPLE_TICK);
        sample_tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = script_tick.tick() => {
                    if *activity.borrow() == Activity::Working {
                        for action in self.script.step(started.elapsed()) {
                            self.perform(action).await;
                        }
                    }
                }
                Some(event) = collab_events.recv() => self.on_collab_event(event),
                Some(event) = client_events.recv() => self.on_client_event(event),
                _ = sample_tick.tick() => self.sample().await,
                changed = activity.changed() => {
                    let now = *activity.borrow_and_update();
                    match (changed, now) {
                        (Err(_), _) | (Ok(()), Activity::Stopped) => break,
                        (Ok(()), Activity::Resting) => self.rest(),
                        (Ok(()), Activity::Working) => {}
                    }
                    applied.send_replace(now);
                }
            }
        }
    }

    async fn perform(&mut self, action: Action) {
        let room = self.room.as_str();
        let result = match action {
            Action::MoveCursor { x, y } => self.collab.update_cursor(room, x, y),
            Action::Focus(field) => self.collab.focus_field(room, field),
            Action::Type(field) => self.collab.start_typing(room, field),
            Action::Blur(field) => self.collab.blur_field(room, field),
            Action::Commit { field, value } => {
                self.collab.update_field(room, field, json!(value)).await.map(|id| self.issued(id))
            }
            Action::StaleWrite { field, value } => self.stale_write(field, value).await,
        };
        if result.is_err() {
            lock(&self.books).action_errors += 1;
        }
    }

    /// Writes `field` based on a version older than the one known: the server must answer
    /// with a conflict, and the plain optimistic update (no resolver) rolls back.
    async fn stale_write(&mut self, field: &str, value: i64) -> Result<(), tether_core::Error> {
        let Some(known) = self.collab.field(&self.room, field).filter(|f| f.version > 0) else {
            return Ok(()); // never written: nothing to be stale against
        };
        let payload = json!({
            "room": self.room,
            "field": field,
            "value": value,
            "baseVersion": known.version - 1,
        });
        let event = CollabEvents::default().field_update;
        let id = self.collab.update_optimistic(&self.room, &event, payload).await?;
        self.stale_writes.insert(id.clone());
        self.issued(id);
        Ok(())
    }

    fn issued(&self, id: OptimisticId) {
        lock(&self.books).ledger.issued(id);
    }

    fn rest(&mut self) {
        // Failures here only mean the helpers stopped; the books say so elsewhere.
        let _ = self.collab.stop_typing(&self.room);
        if let Some(field) = self.script.focused() {
            let _ = self.collab.blur_field(&self.room, field);
        }
    }

    /// Samples the latency for the sparkline and the outbox for its peak.
    async fn sample(&mut self) {
        if let Ok(stats) = self.client.stats().await {
            let mut books = lock(&self.books);
            books.latency.observe(stats.latency.last, stats.latency.samples);
            books.peak_queued = books.peak_queued.max(stats.queued);
        }
    }

    fn on_collab_event(&mut self, event: CollabEvent) {
        let who = self.persona.name;
        match event {
            CollabEvent::Outcome(outcome) => {
                lock(&self.books).ledger.settled(&outcome);
                let stale = self.stale_writes.remove(&outcome.id);
                let (kind, text) = describe_outcome(&outcome, stale);
                self.log.push(who, kind, text);
            }
            CollabEvent::Conflict(conflict) => {
                lock(&self.books).conflicts += 1;
                let what = match conflict.outcome {
                    ConflictOutcome::Resent => {
                        format!("last write wins: re-sending {}", show(&conflict.resolved))
                    }
                    ConflictOutcome::ServerKept => "the server's value stands".to_owned(),
                };
                let text = format!(
                    "{} conflict: wrote {}, server had {} (v{}); {what}",
                    conflict.field,
                    show(&conflict.local),
                    show(&conflict.server),
                    conflict.server_version,
                );
                self.log.push(who, EntryKind::Conflict, text);
            }
            CollabEvent::Presence(_) | CollabEvent::FieldUpdated { .. } => {}
            CollabEvent::BadPayload(bad) => {
                self.log.push(who, EntryKind::Connection, format!("ignored a bad event: {bad}"));
            }
            CollabEvent::Lagged { skipped } => {
                let text = format!("fell behind: {skipped} collaboration events skipped");
                self.log.push(who, EntryKind::Connection, text);
            }
        }
    }

    fn on_client_event(&mut self, event: Event) {
        let who = self.persona.name;
        match event {
            Event::Connected { .. } => {
                self.connects += 1;
                if self.connects > 1 {
                    let text = format!("reconnected (connection #{}), re-joining", self.connects);
                    self.log.push(who, EntryKind::Connection, text);
                }
            }
            Event::Disconnected { reason, will_reconnect } => {
                let next = if will_reconnect { "will reconnect" } else { "not reconnecting" };
                self.log.push(who, EntryKind::Connection, format!("lost: {reason}; {next}"));
            }
            Event::Dropped { message, reason } => {
                let text = format!("outbox dropped {}: {reason:?}", message.event);
                self.log.push(who, EntryKind::Connection, text);
            }
            _ => {}
        }
    }
}

/// A log line for a verdict.
fn describe_outcome(outcome: &OptimisticOutcome, stale: bool) -> (EntryKind, String) {
    let field = outcome.payload.get("field").and_then(Value::as_str).unwrap_or("?");
    let value = outcome.payload.get("value").map_or_else(|| "?".to_owned(), show);
    let label = if stale { " (stale on purpose)" } else { "" };
    match &outcome.verdict {
        Verdict::Confirmed { reply } => {
            let version = reply.get("version").and_then(Value::as_u64);
            let at = version.map(|v| format!(" at v{v}")).unwrap_or_default();
            (EntryKind::Confirmed, format!("{field} = {value}{label} confirmed{at}"))
        }
        Verdict::RolledBack { reason } => {
            (EntryKind::RolledBack, format!("{field} = {value}{label} rolled back: {reason}"))
        }
    }
}

/// A JSON value for people: numbers and strings bare.
fn show(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "nothing".to_owned(),
        other => other.to_string(),
    }
}
