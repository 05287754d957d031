use super::*;
use crate::client::event_hub::EventHub;
use crate::config::StreamOverflow;
use serde_json::json;
use std::time::Duration;

fn message(event: &str, room: &str, n: u64) -> Event {
    Event::Message(IncomingMessage {
        namespace: "/".into(),
        event: event.into(),
        data: vec![json!({"room": room, "n": n})],
        binary: vec![],
        ack_id: None,
        offset: None,
    })
}

fn n(m: &IncomingMessage) -> u64 {
    m.payload().and_then(|p| p["n"].as_u64()).unwrap_or(u64::MAX)
}

fn hub() -> EventHub {
    EventHub::new(StreamBuffer::default())
}

#[tokio::test(start_paused = true)]
async fn filters_by_event_name_and_room() {
    let hub = hub();
    let mut sub = Subscription::new(&hub, SubscriptionOptions::event("price").in_room("a"));
    for e in [message("cursor", "a", 1), message("price", "b", 2), message("price", "a", 3)] {
        hub.publish(&e);
    }
    assert_eq!(sub.stats().peak_queued, 1, "what does not match is never queued");
    drop(hub);
    assert_eq!(sub.recv().await.map(|m| n(&m)), Some(3));
    assert!(sub.recv().await.is_none());
}

#[tokio::test(start_paused = true)]
async fn a_batch_takes_what_is_ready_in_order_up_to_its_size() {
    let hub = hub();
    let mut sub = Subscription::new(&hub, SubscriptionOptions::event("price"));
    for i in 0..5 {
        hub.publish(&message("price", "a", i));
        hub.publish(&message("cursor", "a", 100 + i));
    }
    let first: Vec<u64> = sub.recv_batch(3).await.iter().map(n).collect();
    assert_eq!(first, vec![0, 1, 2], "filtered, in order, at most three");
    let rest: Vec<u64> = sub.recv_batch(10).await.iter().map(n).collect();
    assert_eq!(rest, vec![3, 4], "only what was ready; it does not wait to fill up");
    assert_eq!(sub.try_recv().map(|m| n(&m)), None, "nothing ready");
    hub.publish(&message("price", "a", 5));
    drop(hub);
    assert_eq!(sub.try_recv().map(|m| n(&m)), Some(5));
    assert!(sub.recv_batch(10).await.is_empty(), "ended");
}

/// A subscription throttled to one cursor per 100 ms, and a burst of ten published to it.
fn throttled_burst() -> (EventHub, Subscription) {
    let hub = hub();
    let rate = RateLimit::Throttle(Duration::from_millis(100));
    let sub = Subscription::new(&hub, SubscriptionOptions::event("cursor").with_rate(rate));
    for i in 0..10 {
        hub.publish(&message("cursor", "a", i));
    }
    (hub, sub)
}

#[tokio::test(start_paused = true)]
async fn a_batch_respects_the_throttle() {
    let (_hub, mut sub) = throttled_burst();
    let first: Vec<u64> = sub.recv_batch(10).await.iter().map(n).collect();
    assert_eq!(first, vec![0], "the rest of the burst is held for the period");
    let second: Vec<u64> = sub.recv_batch(10).await.iter().map(n).collect();
    assert_eq!(second, vec![9], "then the latest");
}

#[tokio::test(start_paused = true)]
async fn throttle_delivers_the_first_then_the_latest_per_period() {
    let (_hub, mut sub) = throttled_burst();
    assert_eq!(sub.recv().await.map(|m| n(&m)), Some(0));
    let started = tokio::time::Instant::now();
    assert_eq!(sub.recv().await.map(|m| n(&m)), Some(9), "the burst collapses to its latest");
    assert_eq!(started.elapsed(), Duration::from_millis(100), "after one period of virtual time");
}

#[tokio::test(start_paused = true)]
async fn debounce_waits_for_quiet_and_flushes_on_close() {
    let hub = hub();
    let rate = RateLimit::Debounce(Duration::from_millis(300));
    let mut sub = Subscription::new(&hub, SubscriptionOptions::default().with_rate(rate));
    hub.publish(&message("typing", "a", 1));
    hub.publish(&message("typing", "a", 2));
    let started = tokio::time::Instant::now();
    assert_eq!(sub.recv().await.map(|m| n(&m)), Some(2));
    assert_eq!(started.elapsed(), Duration::from_millis(300));
    hub.publish(&message("typing", "a", 3));
    drop(hub);
    assert_eq!(
        sub.recv().await.map(|m| n(&m)),
        Some(3),
        "held item delivered when the client stops"
    );
}

#[tokio::test(start_paused = true)]
async fn a_reader_behind_its_bound_is_told_where_messages_were_dropped() {
    let hub = hub();
    let buffer = StreamBuffer::new(3, usize::MAX);
    let mut newest = Subscription::new(&hub, SubscriptionOptions::event("p").with_buffer(buffer));
    let oldest_first = buffer.with_overflow(StreamOverflow::DropNewest);
    let mut oldest =
        Subscription::new(&hub, SubscriptionOptions::event("p").with_buffer(oldest_first));
    for i in 0..10 {
        hub.publish(&message("p", "a", i));
        hub.publish(&message("other", "a", i));
    }
    let show = |items: Vec<SubscriptionItem>| -> Vec<String> {
        items
            .iter()
            .map(|item| match item {
                SubscriptionItem::Message(m) => n(m).to_string(),
                SubscriptionItem::Lagged { skipped } => format!("lagged {skipped}"),
            })
            .collect()
    };
    assert_eq!(show(newest.recv_item_batch(100).await), ["lagged 7", "7", "8", "9"]);
    assert_eq!(show(oldest.recv_item_batch(100).await), ["0", "1", "2", "lagged 7"]);
    assert_eq!(newest.stats().dropped, 7, "only messages that matched count");
    hub.publish(&message("p", "a", 10));
    hub.publish(&message("p", "a", 11));
    hub.publish(&message("p", "a", 12));
    hub.publish(&message("p", "a", 13));
    let skipped_silently: Vec<u64> = newest.recv_batch(10).await.iter().map(n).collect();
    assert_eq!(skipped_silently, vec![11, 12, 13], "recv and recv_batch skip the notices");
    assert_eq!(newest.stats().dropped, 8);
}
