use super::*;
use crate::config::StreamOverflow;

fn fanout(items: usize) -> Fanout<u32> {
    Fanout::new(StreamBuffer::new(items, usize::MAX), |_| 4)
}

fn drain(receiver: &Receiver<u32>) -> Vec<QueueItem<u32>> {
    std::iter::from_fn(|| match receiver.try_recv() {
        TryRecv::Ready(item) => Some(item),
        TryRecv::Empty | TryRecv::Closed => None,
    })
    .collect()
}

#[test]
fn a_filter_runs_before_anything_is_queued() {
    let hub = fanout(1000);
    let evens = hub.subscribe(None, Some(Box::new(|n: &u32| n % 2 == 0)));
    let all = hub.subscribe(None, None);
    for n in 0..10 {
        hub.publish(&n);
    }
    assert_eq!(evens.stats().peak_queued, 5, "the odd ones were never queued, not even briefly");
    assert_eq!(evens.stats().queued_bytes, 20);
    assert_eq!(drain(&evens), (0..10).step_by(2).map(QueueItem::Item).collect::<Vec<_>>());
    assert_eq!(drain(&all).len(), 10);
}

#[test]
fn each_stream_is_bounded_on_its_own_and_drops_are_added_up() {
    let hub = fanout(4);
    let slow = hub.subscribe(None, None);
    let newest_first = StreamBuffer::new(2, usize::MAX).with_overflow(StreamOverflow::DropNewest);
    let small = hub.subscribe(Some(newest_first), None);
    for n in 0..10 {
        hub.publish(&n);
    }
    assert_eq!(slow.stats().queued, 4);
    assert_eq!(small.stats().queued, 2);
    let totals = hub.totals();
    assert_eq!(totals, FanoutTotals { streams: 2, queued: 6, queued_bytes: 24, dropped: 6 + 8 });
    assert_eq!(drain(&small), vec![QueueItem::Item(0), QueueItem::Item(1), QueueItem::Lagged(8)]);
    assert_eq!(drain(&slow)[0], QueueItem::Lagged(6));
    hub.set_defaults(StreamBuffer::new(1, usize::MAX));
    let later = hub.subscribe(None, None);
    hub.publish(&1);
    hub.publish(&2);
    assert_eq!(later.stats().queued, 1, "new defaults apply to streams made afterwards");
    assert_eq!(slow.stats().queued, 2, "not to the ones already open");
}

#[test]
fn a_dropped_reader_leaves_at_once_and_frees_its_queue() {
    let hub = fanout(1000);
    let kept = hub.subscribe(None, None);
    let dropped = hub.subscribe(None, None);
    for n in 0..100 {
        hub.publish(&n);
    }
    let meter = dropped.meter();
    assert_eq!(meter.stats().queued, 100);
    drop(dropped);
    assert_eq!(hub.subscribers(), 1, "unregistered by its drop, not by the next publish");
    assert_eq!(meter.stats().queued, 0, "what it held is freed");
    assert_eq!(hub.totals().queued, 100, "only the live stream holds anything");
    drop(kept);
    assert_eq!(hub.subscribers(), 0);
}

#[tokio::test]
async fn a_waiting_reader_is_woken_and_sees_the_end_after_what_was_queued() {
    let hub = fanout(1000);
    let receiver = hub.subscribe(None, None);
    let reader = tokio::spawn(async move {
        let mut seen = Vec::new();
        while let Some(item) = receiver.recv().await {
            seen.push(item);
        }
        seen
    });
    tokio::task::yield_now().await;
    hub.publish(&1);
    hub.publish(&2);
    drop(hub);
    let seen = reader.await.unwrap_or_default();
    assert_eq!(seen, vec![QueueItem::Item(1), QueueItem::Item(2)]);
}

#[test]
fn a_reader_of_a_stopped_fan_out_is_closed_and_can_still_be_dropped() {
    let hub = fanout(10);
    let receiver = hub.subscribe(None, None);
    hub.publish(&7);
    drop(hub);
    assert_eq!(receiver.try_recv(), TryRecv::Ready(QueueItem::Item(7)));
    assert_eq!(receiver.try_recv(), TryRecv::Closed);
    drop(receiver);
}
