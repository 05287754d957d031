use crate::config::{Config, StreamBuffer, StreamOverflow};
use crate::model::{Event, LeaveReason, PresenceChange};
use crate::Client;

/// A client that is never connected (nothing listens on the discard port).
fn offline_client() -> Client {
    Client::new(Config::new("ws://127.0.0.1:9")).expect("a valid config")
}

fn left(room: &str, user: usize) -> Event {
    Event::Presence(PresenceChange::Left {
        room: room.into(),
        user_id: format!("user-{user}"),
        reason: LeaveReason::Left,
    })
}

fn user_left(event: Option<Event>) -> Option<String> {
    match event {
        Some(Event::Presence(PresenceChange::Left { user_id, .. })) => Some(user_id),
        _ => None,
    }
}

#[tokio::test]
async fn only_the_rooms_changes_are_queued() {
    let client = offline_client();
    let mut lobby = client.presence_changes("room:lobby", None);
    client.hub.publish(&left("room:other", 1));
    client.hub.publish(&Event::Lagged { skipped: 9 });
    client.hub.publish(&left("room:lobby", 2));

    assert_eq!(lobby.stats().peak_queued, 1, "the other room's change is never stored");
    assert_eq!(user_left(lobby.try_recv()).as_deref(), Some("user-2"));
    assert!(lobby.try_recv().is_none());
}

#[tokio::test]
async fn a_reader_that_falls_behind_the_bound_gets_a_lag_notice_then_the_newest() {
    let client = offline_client();
    let bound = StreamBuffer::new(2, 1 << 20).with_overflow(StreamOverflow::DropOldest);
    let mut lobby = client.presence_changes("room:lobby", Some(bound));
    for user in 0..5 {
        client.hub.publish(&left("room:lobby", user));
        client.hub.publish(&left("room:other", user));
    }

    assert!(lobby.stats().peak_queued <= 2, "bounded: {:?}", lobby.stats());
    assert_eq!(lobby.stats().dropped, 3, "the drops are counted");
    assert!(matches!(lobby.try_recv(), Some(Event::Lagged { skipped: 3 })));
    assert_eq!(user_left(lobby.try_recv()).as_deref(), Some("user-3"));
    assert_eq!(user_left(lobby.try_recv()).as_deref(), Some("user-4"));
    assert!(lobby.try_recv().is_none());
}
