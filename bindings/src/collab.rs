//! The collaboration helpers ([`tether_core::Collaboration`]): presence rosters, the local
//! cursor, typing and focus, optimistic updates. Like [`crate::client`], every method forwards
//! to the core and converts; rosters and verdicts reach foreign listeners through
//! subscriptions that return a [`TaskHandle`].

use crate::buffer::StreamBufferOptions;
use crate::client::{run_on, Client};
use crate::error::{ListenerError, TetherError};
use crate::json;
use crate::listener::{deliver, LagListener};
use crate::task_handle::TaskHandle;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use tether_core as core_api;
use tokio::runtime::Handle;

/// What a collaboration needs to know; everything else (event names, timeouts, throttles) is
/// the core's default.
#[derive(Debug, Clone, PartialEq, Eq, Default, uniffi::Record)]
pub struct CollabConfig {
    /// The local user's id, when the app knows it: their own roster entry then stays active
    /// while they work.
    #[uniffi(default = None)]
    pub local_user_id: Option<String>,
    /// The bounds of each collaboration subscription's queue (`subscribe_outcomes`). Default
    /// 16,384 items or 16 MiB, dropping the oldest.
    #[uniffi(default)]
    pub stream_buffer: StreamBufferOptions,
}

impl From<CollabConfig> for core_api::CollabConfig {
    fn from(c: CollabConfig) -> Self {
        Self {
            local_user_id: c.local_user_id,
            stream_buffer: c.stream_buffer.into(),
            ..Self::default()
        }
    }
}

/// A member's activity state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PresenceState {
    /// Working in the document.
    Active,
    /// No activity for the inactivity period, or said so.
    Idle,
    /// Said they are away.
    Away,
}

impl From<core_api::PresenceState> for PresenceState {
    fn from(s: core_api::PresenceState) -> Self {
        match s {
            core_api::PresenceState::Active => Self::Active,
            core_api::PresenceState::Idle => Self::Idle,
            core_api::PresenceState::Away => Self::Away,
        }
    }
}

/// One member of a room's roster.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Member {
    /// User id.
    pub user_id: String,
    /// Display name.
    pub name: String,
    /// Effective state: what the member reported, or `Idle` after the inactivity period.
    pub state: PresenceState,
    /// Focused field.
    pub field: Option<String>,
    /// Last cursor position, horizontal (`None` until the member moved it).
    pub cursor_x: Option<f64>,
    /// Last cursor position, vertical.
    pub cursor_y: Option<f64>,
    /// Tool in use.
    pub tool: Option<String>,
    /// Last activity seen from this member, milliseconds since the Unix epoch (this device's
    /// clock).
    pub last_seen_ms: u64,
    /// Everything the server holds about the member, as a JSON array: Phoenix presence metas
    /// (one per connection, each with its `phx_ref`); `[]` for collaboration rosters.
    pub metas_json: String,
}

fn unix_now_ms() -> u64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
}

impl Member {
    /// Converts with the monotonic `last_seen` placed on the wall clock: `now` is `unix_now_ms`.
    fn at(m: core_api::Member, now: Instant, unix_now_ms: u64) -> Self {
        let ago = now.saturating_duration_since(m.last_seen).as_millis();
        Self {
            user_id: m.user_id,
            name: m.name,
            state: m.state.into(),
            field: m.field,
            cursor_x: m.cursor.map(|c| c.x),
            cursor_y: m.cursor.map(|c| c.y),
            tool: m.tool,
            last_seen_ms: unix_now_ms.saturating_sub(u64::try_from(ago).unwrap_or(u64::MAX)),
            metas_json: crate::json::args_to_string(m.metas),
        }
    }
}

impl From<core_api::Member> for Member {
    fn from(m: core_api::Member) -> Self {
        Self::at(m, Instant::now(), unix_now_ms())
    }
}

pub(crate) fn members(list: Vec<core_api::Member>) -> Vec<Member> {
    let (now, unix_now) = (Instant::now(), unix_now_ms());
    list.into_iter().map(|m| Member::at(m, now, unix_now)).collect()
}

/// The verdict on an optimistic update: exactly one per id.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct OptimisticOutcome {
    /// The id `update_optimistic` returned.
    pub id: String,
    /// Its room.
    pub room: String,
    /// Its event name.
    pub event: String,
    /// True: the server accepted it. False: undo it.
    pub confirmed: bool,
    /// Why it was rolled back (empty when confirmed).
    pub reason: String,
    /// The payload that was sent, as JSON (what to roll back).
    pub payload_json: String,
}

impl From<core_api::OptimisticOutcome> for OptimisticOutcome {
    fn from(o: core_api::OptimisticOutcome) -> Self {
        let (confirmed, reason) = match o.verdict {
            core_api::Verdict::Confirmed { .. } => (true, String::new()),
            core_api::Verdict::RolledBack { reason } => (false, reason.to_string()),
        };
        Self {
            id: o.id.0,
            room: o.room,
            event: o.event,
            confirmed,
            reason,
            payload_json: o.payload.to_string(),
        }
    }
}

/// Receives the roster of each joined room at once, then each room's roster whenever it
/// changes (an empty roster once the room was left). Changes faster than the listener returns
/// are conflated to the latest.
#[uniffi::export(foreign)]
pub trait PresenceListener: Send + Sync {
    /// The members of `room` now.
    fn on_roster(&self, room: String, members: Vec<Member>) -> Result<(), ListenerError>;
}

/// Receives the verdict on every optimistic update from the moment of subscribing.
#[uniffi::export(foreign)]
pub trait OutcomeListener: Send + Sync {
    /// The next verdict.
    fn on_outcome(&self, outcome: OptimisticOutcome) -> Result<(), ListenerError>;
}

/// Collaboration helpers on one client. They stop when this object is closed (Kotlin
/// `close()`, Swift: the last reference going away); the client lives on.
#[derive(Debug, uniffi::Object)]
pub struct Collaboration {
    inner: core_api::Collaboration,
    runtime: Handle,
}

impl Collaboration {
    /// Runs a core call as a task of the shared runtime and waits for it (as `Client` does).
    async fn run<T, F>(
        &self,
        call: impl FnOnce(core_api::Collaboration) -> F,
    ) -> Result<T, TetherError>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, core_api::Error>> + Send + 'static,
    {
        run_on(&self.runtime, call(self.inner.clone())).await
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl Collaboration {
    /// Starts the helpers on `client` (errors: `InvalidConfig`). Join rooms through the
    /// collaboration, not the client, so their rosters fill.
    #[uniffi::constructor]
    pub fn new(client: Arc<Client>, config: CollabConfig) -> Result<Arc<Self>, TetherError> {
        let runtime = client.runtime().clone();
        let inner = {
            let _entered = runtime.enter();
            core_api::Collaboration::new(client.core(), config.into())?
        };
        Ok(Arc::new(Self { inner, runtime }))
    }

    /// Joins a room through the client and starts its roster.
    pub async fn join(&self, room: String) -> Result<(), TetherError> {
        self.run(|c| async move { c.join(&room).await }).await
    }

    /// Retracts focus and typing in the room, forgets its roster, and leaves it.
    pub async fn leave(&self, room: String) -> Result<(), TetherError> {
        self.run(|c| async move { c.leave(&room).await }).await
    }

    /// The local cursor is at (`x`, `y`). Call it at any rate: it is throttled per room.
    pub async fn update_cursor(&self, room: String, x: f64, y: f64) -> Result<(), TetherError> {
        self.run(move |c| async move { c.update_cursor(&room, x, y) }).await
    }

    /// The local user typed in `field`; call it on every keystroke.
    pub async fn start_typing(&self, room: String, field: String) -> Result<(), TetherError> {
        self.run(|c| async move { c.start_typing(&room, &field) }).await
    }

    /// The local user stopped typing in `room`.
    pub async fn stop_typing(&self, room: String) -> Result<(), TetherError> {
        self.run(|c| async move { c.stop_typing(&room) }).await
    }

    /// The local user focused `field`.
    pub async fn focus_field(&self, room: String, field: String) -> Result<(), TetherError> {
        self.run(|c| async move { c.focus_field(&room, &field) }).await
    }

    /// The local user left `field`; typing in it stops too.
    pub async fn blur_field(&self, room: String, field: String) -> Result<(), TetherError> {
        self.run(|c| async move { c.blur_field(&room, &field) }).await
    }

    /// Sends `payload_json` as `event` with an acknowledgement and returns the update's id at
    /// once; exactly one verdict for it reaches `subscribe_outcomes` later.
    pub async fn update_optimistic(
        &self,
        room: String,
        event: String,
        payload_json: String,
    ) -> Result<String, TetherError> {
        let payload = json::parse_value(&payload_json)?;
        let id =
            self.run(|c| async move { c.update_optimistic(&room, &event, payload).await }).await?;
        Ok(id.0)
    }

    /// The current roster of `room` (empty if not joined).
    pub fn roster(&self, room: String) -> Vec<Member> {
        members(self.inner.roster(&room).unwrap_or_default())
    }

    /// Calls `listener` with the roster of each joined room now, then with each room whose
    /// roster changed, until the handle is cancelled or dropped.
    pub fn subscribe_presence(&self, listener: Arc<dyn PresenceListener>) -> Arc<TaskHandle> {
        let mut state = self.inner.state();
        TaskHandle::spawn(&self.runtime, move |cancelled| async move {
            let mut delivered: BTreeMap<String, Vec<core_api::Member>> = BTreeMap::new();
            loop {
                let now: BTreeMap<String, Vec<core_api::Member>> = state
                    .borrow_and_update()
                    .rooms
                    .iter()
                    .map(|(room, r)| (room.clone(), r.members.clone()))
                    .collect();
                let gone: Vec<String> =
                    delivered.keys().filter(|room| !now.contains_key(*room)).cloned().collect();
                for room in gone {
                    delivered.remove(&room);
                    let listener = listener.clone();
                    deliver(&cancelled, "presence", move || listener.on_roster(room, Vec::new()))
                        .await;
                }
                for (room, list) in now {
                    if delivered.get(&room) == Some(&list) {
                        continue;
                    }
                    delivered.insert(room.clone(), list.clone());
                    let listener = listener.clone();
                    let list = members(list);
                    deliver(&cancelled, "presence", move || listener.on_roster(room, list)).await;
                }
                if state.changed().await.is_err() {
                    break;
                }
            }
        })
    }

    /// Calls `listener` with the verdict on every optimistic update from now on, in order;
    /// `lag_listener`, if given, is told where verdicts were dropped because `listener` fell
    /// behind the subscription's bounds (`CollabConfig.stream_buffer`).
    #[uniffi::method(default(lag_listener = None))]
    pub fn subscribe_outcomes(
        &self,
        listener: Arc<dyn OutcomeListener>,
        lag_listener: Option<Arc<dyn LagListener>>,
    ) -> Arc<TaskHandle> {
        let mut outcomes = self.inner.outcomes();
        let meter = Some(outcomes.meter());
        TaskHandle::spawn_metered(&self.runtime, meter, move |cancelled| async move {
            while let Some(event) = outcomes.recv().await {
                let (listener, lag_listener) = (listener.clone(), lag_listener.clone());
                match event {
                    core_api::CollabEvent::Outcome(outcome) => {
                        let call = move || listener.on_outcome(outcome.into());
                        deliver(&cancelled, "outcomes", call).await;
                    }
                    core_api::CollabEvent::Lagged { skipped } => {
                        if let Some(lag) = lag_listener {
                            deliver(&cancelled, "outcomes", move || lag.on_lagged(skipped)).await;
                        }
                    }
                    _ => {}
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn members_keep_their_fields_and_last_seen_lands_on_the_wall_clock() {
        let now = Instant::now();
        let core = core_api::Member {
            user_id: "u1".into(),
            name: "Ada".into(),
            role: Some("editor".into()),
            state: core_api::PresenceState::Idle,
            field: Some("labor".into()),
            typing_in: None,
            cursor: Some(core_api::Cursor { x: 1.5, y: 2.0 }),
            tool: Some("pen".into()),
            last_seen: now.checked_sub(Duration::from_millis(250)).unwrap_or(now),
            metas: vec![serde_json::json!({"phx_ref": "a"})],
        };
        let member = Member::at(core.clone(), now, 10_000);
        assert_eq!(
            member,
            Member {
                user_id: "u1".into(),
                name: "Ada".into(),
                state: PresenceState::Idle,
                field: Some("labor".into()),
                cursor_x: Some(1.5),
                cursor_y: Some(2.0),
                tool: Some("pen".into()),
                last_seen_ms: 9_750,
                metas_json: r#"[{"phx_ref":"a"}]"#.into(),
            }
        );
        let no_cursor = Member::at(core_api::Member { cursor: None, ..core }, now, 10_000);
        assert_eq!((no_cursor.cursor_x, no_cursor.cursor_y), (None, None));
        assert_eq!(PresenceState::from(core_api::PresenceState::Away), PresenceState::Away);
        assert_eq!(PresenceState::from(core_api::PresenceState::Active), PresenceState::Active);
    }

    #[test]
    fn outcomes_say_confirmed_or_why_they_rolled_back() {
        let outcome = |verdict| core_api::OptimisticOutcome {
            id: core_api::OptimisticId("c-1".into()),
            room: "r".into(),
            event: "e".into(),
            payload: serde_json::json!({"n": 1}),
            verdict,
        };
        let confirmed: OptimisticOutcome =
            outcome(core_api::Verdict::Confirmed { reply: serde_json::Value::Null }).into();
        assert_eq!(
            confirmed,
            OptimisticOutcome {
                id: "c-1".into(),
                room: "r".into(),
                event: "e".into(),
                confirmed: true,
                reason: String::new(),
                payload_json: r#"{"n":1}"#.into(),
            }
        );
        let nack = core_api::RollbackReason::Nack { code: "forbidden".into(), message: "".into() };
        let rolled: OptimisticOutcome =
            outcome(core_api::Verdict::RolledBack { reason: nack }).into();
        assert!(!rolled.confirmed);
        assert_eq!(rolled.reason, "refused: forbidden");
        assert_eq!(rolled.payload_json, r#"{"n":1}"#);
    }

    #[test]
    fn the_config_keeps_the_core_defaults_but_the_local_user() {
        let config: core_api::CollabConfig =
            CollabConfig { local_user_id: Some("me".into()), ..CollabConfig::default() }.into();
        assert_eq!(config.local_user_id.as_deref(), Some("me"));
        assert_eq!(config.optimistic_timeout, core_api::CollabConfig::default().optimistic_timeout);
        assert_eq!(config.stream_buffer, core_api::StreamBuffer::default());
    }

    #[test]
    fn a_collaboration_on_an_offline_client_has_no_roster_and_refuses_bad_json() {
        let config = crate::ClientConfig {
            urls: vec!["ws://127.0.0.1:9".into()],
            ..crate::ClientConfig::default()
        };
        let client = Client::new(config, None).expect("a valid config");
        let collab = Collaboration::new(client, CollabConfig::default()).expect("starts");
        assert!(collab.roster("nowhere".into()).is_empty());
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
        let sent = runtime.expect("a runtime").block_on(collab.update_optimistic(
            "r".into(),
            "e".into(),
            "{not json".into(),
        ));
        assert!(matches!(sent, Err(TetherError::Other { .. })), "{sent:?}");
    }
}
