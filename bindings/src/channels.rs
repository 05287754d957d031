//! Channels (Phoenix topics, and rooms in general) on the client: joins with a payload that
//! return the server's answer, a fresh token passed on to joined channels, and the presence
//! changes of one channel. Like [`crate::client`], every method forwards to the core and
//! converts. A channel's messages need nothing of their own: `subscribe_messages` with a
//! [`crate::MessageFilter`] whose `room` is the topic.

use crate::client::{run_on, Client};
use crate::error::{ListenerError, TetherError};
use crate::json;
use crate::listener::{deliver_ready, LagListener, PresenceChangeListener};
use crate::task_handle::TaskHandle;
use std::sync::Arc;
use tether_core as core_api;

/// Hands one event of a room's presence stream to the listeners: a change to `listener`, a
/// gap (where changes were dropped) to `lag`. The stream queues nothing else.
fn hand_on(
    event: core_api::Event,
    listener: &dyn PresenceChangeListener,
    lag: Option<&dyn LagListener>,
) -> Result<(), ListenerError> {
    match event {
        core_api::Event::Presence(change) => listener.on_presence_change(change.into()),
        core_api::Event::Lagged { skipped } => lag.map_or(Ok(()), |lag| lag.on_lagged(skipped)),
        _ => Ok(()),
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl Client {
    /// Joins a room with a payload the server reads on every join of it (Phoenix's join
    /// payload, Supabase's channel config from `realtime_channel_join_payload`), as a JSON
    /// object. Connected: returns the server's answer as JSON; offline: `"null"` now, and the
    /// room is joined on connect. Either way it is re-joined with this payload after every
    /// reconnect until `leave`. Throws `Refused` with the server's answer when it refuses the
    /// join; a payload that is not JSON is refused before anything is sent.
    pub async fn join_with(
        &self,
        room: String,
        payload_json: String,
    ) -> Result<String, TetherError> {
        let payload = json::parse_value(&payload_json)?;
        let client = self.core().clone();
        let reply =
            run_on(self.runtime(), async move { client.join_with(&room, payload).await }).await?;
        Ok(reply.to_string())
    }

    /// Asks the token provider for a token now and hands it to the connection: with Supabase's
    /// options it is pushed to every joined channel as `access_token` and used for rejoins.
    /// Call it when the app's session token changes. Without a token provider it does nothing.
    pub async fn refresh_token(&self) -> Result<(), TetherError> {
        let client = self.core().clone();
        run_on(self.runtime(), async move { client.refresh_token().await }).await
    }

    /// Calls `listener` with the presence changes of `room` (a Phoenix channel's topic) from
    /// now on, in order, until the handle is cancelled or dropped. There is no current roster
    /// first: the engine keeps it inside the protocol, out of reach. Subscribe before joining:
    /// every (re)join's presence starts with a `Synced` change carrying the whole roster.
    /// Only this room's changes are queued, bounded by `ClientConfig.stream_buffer`; a listener
    /// that falls that far behind loses changes, and `lag_listener`, if given, is told how many
    /// where they were dropped. A roster built from the changes is stale from there until the
    /// next `Synced` (the next join of the room).
    #[uniffi::method(default(lag_listener = None))]
    pub fn subscribe_presence_changes(
        &self,
        room: String,
        listener: Arc<dyn PresenceChangeListener>,
        lag_listener: Option<Arc<dyn LagListener>>,
    ) -> Arc<TaskHandle> {
        let mut events = self.core().presence_changes(room, None);
        let meter = Some(events.meter());
        TaskHandle::spawn_metered(self.runtime(), meter, move |cancelled| async move {
            while let Some(first) = events.recv().await {
                let (listener, lag_listener) = (listener.clone(), lag_listener.clone());
                let call = move |event| hand_on(event, listener.as_ref(), lag_listener.as_deref());
                let next = core_api::EventStream::try_recv;
                match deliver_ready(&cancelled, "presence", events, first, next, call).await {
                    Some(back) => events = back,
                    None => break,
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ClientConfig;
    use crate::presence::PresenceChange;
    use crate::protocol_options::WireProtocol;

    fn offline_phoenix_client() -> Arc<Client> {
        // Nothing listens on the discard port; the client is never connected in these tests.
        let config = ClientConfig {
            urls: vec!["ws://127.0.0.1:9".into()],
            protocol: Some(WireProtocol::Phoenix),
            ..ClientConfig::default()
        };
        Client::new(config, None).expect("a valid config")
    }

    #[tokio::test]
    async fn a_join_payload_that_is_not_json_is_refused_and_a_good_one_waits_for_the_connection() {
        let client = offline_phoenix_client();
        let refused = client.join_with("room:lobby".into(), "{not json".into()).await;
        assert!(
            matches!(&refused, Err(TetherError::Other { message }) if message.contains("JSON")),
            "{refused:?}"
        );
        let remembered = client.join_with("room:lobby".into(), r#"{"color":"blue"}"#.into()).await;
        assert_eq!(remembered.as_deref(), Ok("null"), "offline: joined on connect");
    }

    #[tokio::test]
    async fn refreshing_without_a_token_provider_does_nothing() {
        assert_eq!(offline_phoenix_client().refresh_token().await, Ok(()));
    }

    /// Records what it is handed.
    #[derive(Default)]
    struct Recorder(std::sync::Mutex<Vec<String>>);

    impl PresenceChangeListener for Recorder {
        fn on_presence_change(&self, change: PresenceChange) -> Result<(), ListenerError> {
            self.0.lock().expect("not poisoned").push(format!("change {}", change_room(&change)));
            Ok(())
        }
    }

    impl LagListener for Recorder {
        fn on_lagged(&self, skipped: u64) -> Result<(), ListenerError> {
            self.0.lock().expect("not poisoned").push(format!("lagged {skipped}"));
            Ok(())
        }
    }

    fn change_room(change: &PresenceChange) -> &str {
        match change {
            PresenceChange::Joined { room, .. }
            | PresenceChange::Left { room, .. }
            | PresenceChange::Updated { room, .. }
            | PresenceChange::Synced { room, .. } => room,
        }
    }

    #[test]
    fn changes_go_to_the_listener_and_gaps_to_the_lag_listener() {
        let recorder = Recorder::default();
        let synced = core_api::PresenceChange::Synced { room: "room:a".into(), members: vec![] };
        let events = [
            core_api::Event::Presence(synced),
            core_api::Event::Lagged { skipped: 4 },
            core_api::Event::RoomJoined { room: "room:a".into() },
        ];
        for event in events.clone() {
            assert_eq!(hand_on(event, &recorder, Some(&recorder)), Ok(()));
        }
        // Without a lag listener a gap is nobody's business but the stats'.
        for event in events {
            assert_eq!(hand_on(event, &recorder, None), Ok(()));
        }
        let seen = recorder.0.lock().expect("not poisoned").clone();
        assert_eq!(seen, ["change room:a", "lagged 4", "change room:a"]);
    }
}
