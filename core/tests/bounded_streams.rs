//! Streams under a flooding server (issue 15): a slow reader of `events()` under either
//! overflow policy, a subscription that wants one event name among many, and a collaboration
//! stream nobody reads. Every queue stays within its bounds, every drop is counted, and the
//! reader is told exactly where and how many it lost. The unread stream's memory is measured in
//! `bounded_memory.rs`, a binary of its own.

mod support;

use serde_json::json;
use std::time::Duration;
use support::node_server::NodeServer;
use support::wait;
use support::ws_server::WsServer;
use tether_core::{
    Client, CollabConfig, CollabEvent, Collaboration, Config, Event, EventStream,
    RawWebSocketConfig, StreamBuffer, StreamOverflow, SubscriptionItem, SubscriptionOptions,
};

const FLOOD: u64 = 200_000;

fn quiet(config: Config) -> Config {
    // No heartbeat within the test: the only events during a flood are its messages.
    config
        .with_heartbeat(Duration::from_secs(120), Duration::from_secs(120))
        .with_connect_timeout(Duration::from_secs(10))
}

async fn raw_client(server: &WsServer) -> Client {
    let config = quiet(Config::new(server.url()).with_raw_websocket(RawWebSocketConfig::default()));
    let client = Client::new(config).unwrap_or_else(|e| panic!("{e}"));
    client.connect().await.unwrap_or_else(|e| panic!("{e}"));
    client
}

async fn messages_in(client: &Client) -> u64 {
    client.stats().await.map(|s| s.messages_in).unwrap_or_else(|e| panic!("{e}"))
}

/// The index of a flood message from the bare server (`f<i>`).
fn raw_index(event: &Event) -> Option<u64> {
    match event {
        Event::Message(m) => m.payload()?.as_str()?.strip_prefix('f')?.parse().ok(),
        _ => None,
    }
}

/// What a reader saw: messages in order, and every gap announced with its exact size.
#[derive(Debug, Default)]
struct Reading {
    received: u64,
    skipped: u64,
    notices: u64,
    first: Option<u64>,
    last: Option<u64>,
    /// Announced by a lag notice and not yet matched by the next message's index.
    announced: u64,
}

impl Reading {
    fn take(&mut self, event: Event) {
        if let Event::Lagged { skipped } = event {
            assert!(skipped > 0, "an empty lag notice");
            // Two in a row happen when the message after a notice is dropped before the
            // reader takes it: together they count the gap.
            self.announced += skipped;
            self.skipped += skipped;
            self.notices += 1;
            return;
        }
        let index = raw_index(&event).unwrap_or_else(|| panic!("unexpected {event:?}"));
        let expected = self.last.map_or(0, |last| last + 1);
        assert_eq!(
            index - expected,
            self.announced,
            "message {index} after {:?}: the notice before it must count exactly the gap",
            self.last
        );
        self.announced = 0;
        self.first.get_or_insert(index);
        self.last = Some(index);
        self.received += 1;
    }
}

/// A reader that takes 100 events, then waits until 5,000 more came in, while the bare
/// server floods 200,000; then reads what is left.
async fn read_slowly(client: &Client, events: &mut EventStream, bound: usize) -> Reading {
    let mut reading = Reading::default();
    // Whatever the connect still had to publish (its health change) is read first: the echo of
    // this text comes after it.
    let send = |text: String| client.send(tether_core::OutgoingMessage::text(text));
    send("ready".into()).await.unwrap_or_else(|e| panic!("{e}"));
    wait::event(
        events,
        "the echo before the flood",
        |e| matches!(e, Event::Message(m) if m.payload() == Some(&json!("ready"))),
    )
    .await;
    let start = messages_in(client).await;
    send(format!("flood:{FLOOD}")).await.unwrap_or_else(|e| panic!("{e}"));
    loop {
        for _ in 0..100 {
            match events.try_recv() {
                Some(event) => reading.take(event),
                None => break,
            }
        }
        assert!(events.stats().queued <= bound, "{:?}", events.stats());
        let seen = messages_in(client).await;
        if seen >= start + FLOOD {
            break;
        }
        wait::until_async("5,000 more flood messages", || async {
            messages_in(client).await >= (seen + 5_000).min(start + FLOOD)
        })
        .await;
    }
    while let Some(event) = events.try_recv() {
        reading.take(event);
    }
    reading
}

async fn slow_reader_under(overflow: StreamOverflow) -> Reading {
    let server = WsServer::start().await;
    let client = raw_client(&server).await;
    let bound = 512;
    let mut events = client.events_with(StreamBuffer::new(bound, 1 << 20).with_overflow(overflow));
    let reading = read_slowly(&client, &mut events, bound).await;
    let stream = events.stats();
    println!("{overflow:?}: {reading:?}, {stream:?}");
    assert_eq!(reading.received + reading.skipped, FLOOD, "every message read or announced");
    assert!(reading.skipped > 0 && reading.notices > 0, "the reader was slow: {reading:?}");
    assert_eq!(stream.dropped, reading.skipped, "the stream counted what it announced");
    assert!(stream.peak_queued <= bound, "{stream:?}");
    assert_eq!(stream.queued, 0);
    let stats = client.stats().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stats.stream_dropped, reading.skipped, "and so did the client's stats");
    reading
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_reader_dropping_the_oldest_gets_the_newest_and_every_gap_announced() {
    let reading = slow_reader_under(StreamOverflow::DropOldest).await;
    assert_eq!(reading.last, Some(FLOOD - 1), "the newest is always kept");
    assert_eq!(reading.announced, 0, "no gap after the last message");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_reader_dropping_the_newest_gets_the_oldest_and_every_gap_announced() {
    let reading = slow_reader_under(StreamOverflow::DropNewest).await;
    assert_eq!(reading.first, Some(0), "the oldest is always kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_for_one_name_never_queues_the_others() {
    let mut server = NodeServer::start(&[]).await;
    let client = Client::new(quiet(Config::new(server.url()))).unwrap_or_else(|e| panic!("{e}"));
    client.connect().await.unwrap_or_else(|e| panic!("{e}"));
    let mut prices = client.subscribe(SubscriptionOptions::event("price"));
    let names = ["tick", "price", "cursor", "typing", "presence"];
    let command = server.command(json!({"cmd": "flood", "events": names, "count": FLOOD}));
    let all_in = wait::until_async("the whole flood to reach the client", || async {
        messages_in(&client).await >= FLOOD
    });
    tokio::join!(command, all_in);

    let bound = StreamBuffer::DEFAULT_MAX_ITEMS as u64;
    let price_count = FLOOD / names.len() as u64;
    let stream = prices.stats();
    assert_eq!(stream.peak_queued as u64, bound, "{stream:?}");
    assert_eq!(stream.dropped, price_count - bound, "only prices were queued, so only dropped");
    let stats = client.stats().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stats.streams, 1);
    assert_eq!(
        stats.stream_dropped,
        price_count - bound,
        "the other 160,000 messages were never queued anywhere"
    );
    assert_eq!(
        prices.recv_item().await,
        Some(SubscriptionItem::Lagged { skipped: price_count - bound }),
        "told first how many it lost"
    );
    // Then the newest prices, consecutive: the i-th price is flood message 5i + 1.
    for i in (price_count - bound)..price_count {
        let price = prices.try_recv().unwrap_or_else(|| panic!("price {i} missing"));
        assert_eq!(price.event, "price");
        assert_eq!(price.payload().map(|p| p["n"].clone()), Some(json!(i * 5 + 1)));
    }
    assert!(prices.try_recv_item().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unread_collaboration_stream_is_bounded_and_its_drops_counted() {
    let mut server = NodeServer::start(&[]).await;
    let client = Client::new(quiet(Config::new(server.url()))).unwrap_or_else(|e| panic!("{e}"));
    client.connect().await.unwrap_or_else(|e| panic!("{e}"));
    let bound = 64;
    let config = CollabConfig {
        stream_buffer: StreamBuffer::new(bound, 1 << 20),
        ..CollabConfig::default()
    };
    let collab = Collaboration::new(&client, config).unwrap_or_else(|e| panic!("{e}"));
    collab.join("r").await.unwrap_or_else(|e| panic!("{e}"));
    let mut events = collab.events();
    let outcomes = collab.outcomes();
    let count = 5_000u64;
    let update = json!({"room": "r", "field": "labor", "value": "$n", "version": "$n"});
    server
        .command(json!({
            "cmd": "flood", "room": "r", "events": ["pricing-updated"], "count": count, "data": update
        }))
        .await;
    wait::until("the last version to be applied", || {
        collab.field("r", "labor").is_some_and(|f| f.version == count - 1)
    })
    .await;

    let stream = events.stats();
    assert_eq!(stream.peak_queued, bound, "{stream:?}");
    assert!(stream.dropped >= count - bound as u64, "{stream:?}");
    let stats = collab.stats().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stats.stream_dropped, stream.dropped, "counted in the collaboration's stats");
    assert_eq!(events.try_recv(), Some(CollabEvent::Lagged { skipped: stream.dropped }));
    let Some(CollabEvent::FieldUpdated { value, .. }) = events.try_recv() else {
        panic!("the oldest kept update follows the notice");
    };
    assert_eq!(value.version, count - bound as u64);
    assert_eq!(outcomes.stats().peak_queued, 0, "a stream of verdicts queues no field updates");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collaboration_that_falls_behind_the_clients_events_asks_for_its_rooms_again() {
    let mut server = NodeServer::start(&[]).await;
    // The helpers' own stream of client events holds a single event: a burst overruns it.
    let config = quiet(Config::new(server.url())).with_stream_buffer(StreamBuffer::new(1, 1 << 20));
    let client = Client::new(config).unwrap_or_else(|e| panic!("{e}"));
    client.connect().await.unwrap_or_else(|e| panic!("{e}"));
    // The test server never answers a snapshot request; with this timeout its retry cannot
    // come within the test, so a second request can only be the resync.
    let config =
        CollabConfig { optimistic_timeout: Duration::from_secs(600), ..CollabConfig::default() };
    let collab = Collaboration::new(&client, config).unwrap_or_else(|e| panic!("{e}"));
    collab.join("r").await.unwrap_or_else(|e| panic!("{e}"));
    // At least one: on a loaded machine the join's own events (a health change beside the
    // join) can already overrun a stream of one and ask again; what the flood must add is
    // counted from here.
    wait::until("the snapshot request after the join", || {
        !server.received("room-state").is_empty()
    })
    .await;
    let missed_before = collab.stats().await.map_or(0, |s| s.missed_client_events);
    let requests_before = server.received("room-state").len();

    let update = json!({"room": "r", "field": "labor", "value": "$n", "version": "$n"});
    server
        .command(json!({
            "cmd": "flood", "room": "r", "events": ["pricing-updated"], "count": 2_000, "data": update
        }))
        .await;
    wait::until_async("the helpers to notice they fell behind", || async {
        collab.stats().await.is_ok_and(|s| s.missed_client_events > missed_before)
    })
    .await;
    wait::until("a snapshot request for the room again", || {
        server.received("room-state").len() > requests_before
    })
    .await;
    assert_eq!(server.received("room-state")[requests_before][0]["room"], "r");
}
