//! The channels of one Phoenix socket and the refs in flight: which join is current for each
//! topic (messages of an older join are stale and dropped), what each join carries, and which
//! reply answers what.

use super::presence::PresenceSync;
use crate::model::AckId;
use serde_json::Value;
use std::collections::BTreeMap;

/// Replies waited for at most; older ones are forgotten (their acknowledgements timed out in
/// the session long ago). Keeps a server that never replies from growing the map.
const MAX_PENDING_REPLIES: usize = 16_384;

/// One channel (topic) the app joined.
#[derive(Debug, Clone)]
pub(super) struct Channel {
    pub(super) topic: String,
    /// The join payload, sent again on every rejoin (with the current `access_token` when the
    /// config asks for it).
    pub(super) payload: Value,
    /// The ref of the current join (`None` before the first join on this connection).
    pub(super) join_ref: Option<String>,
    /// The server confirmed the current join.
    pub(super) joined: bool,
    /// Supabase `postgres_changes` bindings asked for in the payload, and the ids the server
    /// gave them.
    pub(super) postgres_asked: Vec<Value>,
    pub(super) postgres_ids: Vec<u64>,
    pub(super) presence: PresenceSync,
}

impl Channel {
    fn new(topic: &str, payload: Value) -> Self {
        let postgres_asked = payload
            .pointer("/config/postgres_changes")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        Self {
            topic: topic.to_owned(),
            payload,
            join_ref: None,
            joined: false,
            postgres_asked,
            postgres_ids: Vec::new(),
            presence: PresenceSync::new(),
        }
    }

    /// Whether a message carrying `join_ref` belongs to the current join. Messages without
    /// one (broadcasts, presence diffs) always do; others must name the current join.
    pub(super) fn is_current(&self, join_ref: Option<&str>) -> bool {
        join_ref.is_none_or(|r| self.join_ref.as_deref() == Some(r))
    }
}

/// What a reply answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Awaiting {
    /// A join of this topic; `ack` settles it in the session.
    Join { topic: String, ack: Option<AckId> },
    /// A push to `topic` the session wants acknowledged.
    Push { topic: String, id: AckId },
    /// A heartbeat, by the session's sequence number.
    Heartbeat(u64),
}

/// The channels and the refs of one socket.
#[derive(Debug, Clone, Default)]
pub(super) struct Channels {
    channels: Vec<Channel>,
    awaiting: BTreeMap<u64, Awaiting>,
    next_ref: u64,
}

impl Channels {
    /// A fresh ref (Phoenix refs are decimal strings, counting from 1 per socket).
    pub(super) fn make_ref(&mut self) -> (u64, String) {
        self.next_ref += 1;
        (self.next_ref, self.next_ref.to_string())
    }

    /// Remembers what the reply to `msg_ref` will answer.
    pub(super) fn expect(&mut self, msg_ref: u64, what: Awaiting) {
        if self.awaiting.len() >= MAX_PENDING_REPLIES {
            self.awaiting.pop_first();
        }
        self.awaiting.insert(msg_ref, what);
    }

    /// The server lost `topic`'s channel: replies to pushes made on it can only be Phoenix's
    /// "unmatched topic" errors, which say nothing about the pushes (the session sends
    /// at-least-once ones again after the rejoin), so they are no longer waited for.
    pub(super) fn forget_pushes_to(&mut self, topic: &str) {
        self.awaiting
            .retain(|_, what| !matches!(what, Awaiting::Push { topic: t, .. } if t == topic));
    }

    /// What the reply to `msg_ref` answers, if anything waits for it.
    pub(super) fn answered(&mut self, msg_ref: &str) -> Option<Awaiting> {
        self.awaiting.remove(&msg_ref.parse::<u64>().ok()?)
    }

    /// The channel of `topic`, made with `payload` if new; a new payload replaces the old.
    pub(super) fn upsert(&mut self, topic: &str, payload: Option<Value>) -> &mut Channel {
        let index = match self.channels.iter().position(|c| c.topic == topic) {
            Some(index) => index,
            None => {
                let payload = payload.clone().unwrap_or_else(|| Value::Object(Default::default()));
                self.channels.push(Channel::new(topic, payload));
                self.channels.len() - 1
            }
        };
        let channel = &mut self.channels[index];
        if let Some(payload) = payload {
            if payload != channel.payload {
                *channel =
                    Channel { join_ref: channel.join_ref.take(), ..Channel::new(topic, payload) };
            }
        }
        channel
    }

    /// The channel of `topic`.
    pub(super) fn get(&self, topic: &str) -> Option<&Channel> {
        self.channels.iter().find(|c| c.topic == topic)
    }

    /// The channel of `topic`, to change it.
    pub(super) fn get_mut(&mut self, topic: &str) -> Option<&mut Channel> {
        self.channels.iter_mut().find(|c| c.topic == topic)
    }

    /// Forgets `topic` (left, or closed by the server).
    pub(super) fn remove(&mut self, topic: &str) -> Option<Channel> {
        let index = self.channels.iter().position(|c| c.topic == topic)?;
        Some(self.channels.remove(index))
    }

    /// Every channel.
    pub(super) fn iter_mut(&mut self) -> impl Iterator<Item = &mut Channel> {
        self.channels.iter_mut()
    }

    /// The socket closed: no join is current and no reply will come; payloads are kept for the
    /// rejoins.
    pub(super) fn socket_closed(&mut self) {
        self.awaiting.clear();
        self.next_ref = 0;
        for channel in &mut self.channels {
            channel.join_ref = None;
            channel.joined = false;
            channel.postgres_ids.clear();
            channel.presence.rejoined();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn refs_count_per_socket_and_replies_are_matched_once() {
        let mut channels = Channels::default();
        let (n, text) = channels.make_ref();
        assert_eq!((n, text.as_str()), (1, "1"));
        let push = Awaiting::Push { topic: "t".into(), id: AckId(7) };
        channels.expect(n, push.clone());
        assert_eq!(channels.answered("1"), Some(push));
        assert_eq!(channels.answered("1"), None);
        assert_eq!(channels.answered("not a number"), None);
        channels.socket_closed();
        assert_eq!(channels.make_ref().0, 1, "refs start again on a new socket");
    }

    #[test]
    fn a_lost_channel_forgets_the_replies_of_its_pushes_only() {
        let mut channels = Channels::default();
        channels.expect(1, Awaiting::Push { topic: "a".into(), id: AckId(1) });
        channels.expect(2, Awaiting::Push { topic: "b".into(), id: AckId(2) });
        channels.expect(3, Awaiting::Heartbeat(1));
        channels.forget_pushes_to("a");
        assert_eq!(channels.answered("1"), None);
        assert!(channels.answered("2").is_some() && channels.answered("3").is_some());
    }

    #[test]
    fn the_replies_waited_for_are_bounded() {
        let mut channels = Channels::default();
        for n in 0..(MAX_PENDING_REPLIES as u64 + 5) {
            channels.expect(n, Awaiting::Heartbeat(n));
        }
        assert_eq!(channels.awaiting.len(), MAX_PENDING_REPLIES);
        assert_eq!(channels.answered("0"), None, "the oldest went first");
    }

    #[test]
    fn a_channel_reads_its_postgres_bindings_and_keeps_its_join_across_payload_updates() {
        let mut channels = Channels::default();
        let payload = json!({"config": {"postgres_changes": [{"event": "*", "schema": "public"}]}});
        let channel = channels.upsert("realtime:a", Some(payload));
        assert_eq!(channel.postgres_asked.len(), 1);
        channel.join_ref = Some("3".into());
        assert!(channel.is_current(Some("3")) && channel.is_current(None));
        assert!(!channel.is_current(Some("2")));
        let channel = channels.upsert("realtime:a", Some(json!({"config": {}})));
        assert_eq!(channel.join_ref.as_deref(), Some("3"));
        assert!(channel.postgres_asked.is_empty());
        assert!(channels.upsert("realtime:a", None).payload == json!({"config": {}}));
        channels.socket_closed();
        assert_eq!(channels.get("realtime:a").and_then(|c| c.join_ref.clone()), None);
        assert!(channels.remove("realtime:a").is_some() && channels.get("realtime:a").is_none());
    }
}
