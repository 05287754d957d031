//! Channels (Phoenix topics, and rooms in general) on the client: joins with a payload that
//! return the server's answer, a fresh token passed on to joined channels, and the presence
//! changes of one channel. Like [`crate::client`], every method forwards to the core and
//! converts. A channel's messages need nothing of their own: `subscribe_messages` with a
//! [`crate::MessageFilter`] whose `room` is the topic.

use crate::client::{run_on, Client};
use crate::error::TetherError;
use crate::json;
use crate::listener::{deliver_ready, PresenceChangeListener};
use crate::task_handle::TaskHandle;
use std::sync::Arc;
use tether_core as core_api;

/// The presence changes of one room, read from the client's events.
struct RoomPresence {
    events: core_api::EventStream,
    room: String,
}

impl RoomPresence {
    /// The change `event` carries, if it is one of this room's.
    fn change_in(&self, event: core_api::Event) -> Option<core_api::PresenceChange> {
        match event {
            core_api::Event::Presence(change) if change.room() == self.room => Some(change),
            _ => None,
        }
    }

    /// The next change of this room that is ready, skipping other events.
    fn try_next(&mut self) -> Option<core_api::PresenceChange> {
        while let Some(event) = self.events.try_recv() {
            if let Some(change) = self.change_in(event) {
                return Some(change);
            }
        }
        None
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
    /// now on, in order, none skipped, until the handle is cancelled or dropped. There is no
    /// current roster first: the engine keeps it inside the protocol, out of reach. Subscribe
    /// before joining: every (re)join's presence starts with a `Synced` change carrying the
    /// whole roster.
    pub fn subscribe_presence_changes(
        &self,
        room: String,
        listener: Arc<dyn PresenceChangeListener>,
    ) -> Arc<TaskHandle> {
        let mut source = RoomPresence { events: self.core().events(), room };
        TaskHandle::spawn(self.runtime(), move |cancelled| async move {
            while let Some(event) = source.events.recv().await {
                let Some(first) = source.change_in(event) else { continue };
                let listener = listener.clone();
                let call = move |change: core_api::PresenceChange| {
                    listener.on_presence_change(change.into())
                };
                match deliver_ready(
                    &cancelled,
                    "presence",
                    source,
                    first,
                    RoomPresence::try_next,
                    call,
                )
                .await
                {
                    Some(back) => source = back,
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

    #[test]
    fn only_the_rooms_own_presence_changes_pass() {
        let client = offline_phoenix_client();
        let source = RoomPresence { events: client.core().events(), room: "room:a".into() };
        let synced = |room: &str| core_api::PresenceChange::Synced {
            room: room.into(),
            members: Vec::new(),
        };
        let ours = core_api::Event::Presence(synced("room:a"));
        let theirs = core_api::Event::Presence(synced("room:b"));
        let other = core_api::Event::RoomJoined { room: "room:a".into() };
        assert_eq!(source.change_in(ours), Some(synced("room:a")));
        assert_eq!(source.change_in(theirs), None);
        assert_eq!(source.change_in(other), None);
    }
}
