//! Memory under a flooding server, measured (issue 15): the official Socket.IO server floods
//! 200,000 small events at a client holding an `events()` stream it never reads. Unbounded,
//! the process grew by about 920 bytes per event (about 175 MiB) and kept it after the stream
//! was dropped; bounded (the default `StreamBuffer`), the stream holds its 16,384 newest
//! events, tells the reader how many it dropped, counts them, and frees them when dropped.
//!
//! One test in its own binary: RSS is per process, and no other test may allocate meanwhile.
//! Linux only (reads /proc/self/status).

mod support;

use serde_json::json;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;
use support::memory::rss_bytes;
use support::node_server::NodeServer;
use support::wait;
use tether_core::{Client, Config, Event, StreamBuffer};

const MIB: u64 = 1024 * 1024;
const FLOOD: u64 = 200_000;
/// What the peak may add to the baseline. Unbounded, the flood added about 175 MiB. Bounded,
/// the stream holds 16,384 events of about 920 bytes: +14.6 to +14.7 MiB measured over runs.
const PEAK_ALLOWED: u64 = 24 * MIB;
/// What may stay after the stream is dropped. Unbounded, all of it stayed. Bounded, the queue's
/// events are freed, but glibc keeps the pages of small freed allocations (scattered among live
/// ones) for the process to reuse rather than returning them: +12.2 to +12.3 MiB measured over
/// runs, the cost of the bound itself; a 4,096-event bound leaves +3.0 MiB.
const SETTLED_ALLOWED: u64 = 20 * MIB;
/// What a second flood may add to the first one's peak: nothing accumulates. Mostly the freed
/// memory is reused (+0.8 to +2.6 MiB measured), but the driver may run on the other worker
/// thread this time, whose allocator arena does not reuse the first one's free pages (+7.8 MiB
/// seen on a loaded machine): at most one more bound's worth. Unbounded: another 175 MiB.
const REUSE_ALLOWED: u64 = PEAK_ALLOWED;

fn mib(bytes: u64) -> f64 {
    bytes as f64 / MIB as f64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unread_stream_under_a_flood_stays_bounded_and_gives_its_memory_back() {
    if rss_bytes() == 0 {
        println!("no /proc/self/status: skipped");
        return;
    }
    let mut server = NodeServer::start(&[]).await;
    let config = Config::new(server.url())
        .with_heartbeat(Duration::from_secs(120), Duration::from_secs(120))
        .with_connect_timeout(Duration::from_secs(10));
    let client = Client::new(config).unwrap_or_else(|e| panic!("{e}"));
    client.connect().await.unwrap_or_else(|e| panic!("{e}"));
    // One small flood read to the end first, so the code paths and the parser's buffers are
    // in the baseline (and only what the unread stream costs is measured).
    let mut warm = client.events();
    server.command(json!({"cmd": "flood", "events": ["tick"], "count": 100})).await;
    wait::event(
        &mut warm,
        "the warm-up's last event",
        |e| matches!(e, Event::Message(m) if m.payload().is_some_and(|p| p["n"] == 99)),
    )
    .await;
    drop(warm);

    let baseline = rss_bytes();
    let unread = client.events();
    let bound = StreamBuffer::DEFAULT_MAX_ITEMS;
    let (peak, most_queued) = flood(&mut server, &client, 100 + FLOOD).await;

    // The bound held, the drops were counted, on the stream and in the client's stats.
    let stream = unread.stats();
    assert_eq!(stream.peak_queued, bound, "filled to its bound, never past it");
    assert_eq!(stream.queued, bound);
    assert_eq!(stream.dropped, FLOOD - bound as u64);
    assert!(stream.peak_bytes <= StreamBuffer::DEFAULT_MAX_BYTES, "{stream:?}");
    assert!(most_queued <= bound, "sampled while the flood came in");
    let stats = client.stats().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((stats.streams, stats.stream_queued), (1, bound));
    assert_eq!(stats.stream_dropped, FLOOD - bound as u64);

    // The reader is told first how many it lost, then gets the newest, in order.
    let mut unread = unread;
    assert_eq!(unread.try_recv(), Some(Event::Lagged { skipped: FLOOD - bound as u64 }));
    match unread.try_recv() {
        Some(Event::Message(m)) => {
            assert_eq!(m.payload().map(|p| p["n"].clone()), Some(json!(FLOOD - bound as u64)));
        }
        other => panic!("expected the oldest kept message, got {other:?}"),
    }

    // Dropped with 4,095 events still queued: it leaves at once and its memory goes back.
    drop(unread);
    let stats = client.stats().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((stats.streams, stats.stream_queued), (0, 0), "unregistered by the drop itself");
    let settled = rss_bytes();
    println!(
        "200,000 events, unread stream: baseline {:.1} MiB, peak {:.1} MiB (+{:.1}), \
         settled after drop {:.1} MiB (+{:.1})",
        mib(baseline),
        mib(peak),
        mib(peak.saturating_sub(baseline)),
        mib(settled),
        mib(settled.saturating_sub(baseline)),
    );
    assert!(
        peak.saturating_sub(baseline) < PEAK_ALLOWED,
        "peak grew by {:.1} MiB",
        mib(peak - baseline)
    );
    assert!(
        settled.saturating_sub(baseline) < SETTLED_ALLOWED,
        "{:.1} MiB stayed after the stream was dropped",
        mib(settled - baseline)
    );

    // What stayed is the allocator's to reuse: the same flood at a new unread stream does not
    // add up to the first.
    let again = client.events();
    let (peak_again, _) = flood(&mut server, &client, 100 + 2 * FLOOD).await;
    assert_eq!(again.stats().dropped, FLOOD - bound as u64);
    drop(again);
    println!(
        "the same flood again: peak {:.1} MiB (+{:.1} over the first peak)",
        mib(peak_again),
        mib(peak_again.saturating_sub(peak))
    );
    assert!(
        peak_again.saturating_sub(peak) < REUSE_ALLOWED,
        "a second flood grew memory by {:.1} MiB more",
        mib(peak_again - peak)
    );
}

/// Has the server flood `FLOOD` events and waits until the client has `messages_in` of them in
/// all; returns the peak RSS and the most events the client's streams held, sampled meanwhile.
async fn flood(server: &mut NodeServer, client: &Client, messages_in: u64) -> (u64, usize) {
    let names = ["tick", "price", "cursor", "typing", "presence"];
    let (peak, most_queued) = (AtomicU64::new(rss_bytes()), AtomicUsize::new(0));
    let command = server.command(json!({"cmd": "flood", "events": names, "count": FLOOD}));
    let watched = (&peak, &most_queued, client);
    let all_in = wait::until_async("the whole flood to reach the client", move || async move {
        let (peak, most_queued, client) = watched;
        peak.fetch_max(rss_bytes(), Ordering::Relaxed);
        let stats = client.stats().await.unwrap_or_else(|e| panic!("{e}"));
        most_queued.fetch_max(stats.stream_queued, Ordering::Relaxed);
        stats.messages_in >= messages_in
    });
    tokio::join!(command, all_in);
    (peak.load(Ordering::Relaxed).max(rss_bytes()), most_queued.load(Ordering::Relaxed))
}
