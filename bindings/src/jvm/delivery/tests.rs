use super::*;
use crate::event::IncomingMessage;
use std::collections::VecDeque;

fn message(i: usize) -> IncomingMessage {
    IncomingMessage {
        namespace: "/".into(),
        event: "e".into(),
        args_json: format!("[{i}]"),
        binary: Vec::new(),
        ack_id: None,
        room: None,
    }
}

fn encoded(range: std::ops::Range<usize>) -> Vec<u8> {
    let mut out = Vec::new();
    for i in range {
        wire::encode(&Item::Message(message(i)), &mut out);
    }
    out
}

/// Records every burst; panics on the burst numbers in `panic_on`, and reports a throw for
/// every burst (as the Kotlin receiver does when the app's listener throws).
#[derive(Default)]
struct Recorder {
    bursts: Vec<(Vec<u8>, u32)>,
    panic_on: Vec<usize>,
    cancel_after: Option<(usize, Arc<AtomicBool>)>,
}

impl BurstSink for Recorder {
    fn deliver(&mut self, burst: &[u8], count: u32) -> Vec<String> {
        self.bursts.push((burst.to_vec(), count));
        if let Some((after, flag)) = &self.cancel_after {
            if self.bursts.len() == *after {
                flag.store(true, Ordering::Release);
            }
        }
        if self.panic_on.contains(&self.bursts.len()) {
            panic!("a bug in a sink");
        }
        vec!["the listener threw".into()]
    }
}

fn run(total: usize, max: usize, recorder: &mut Recorder, cancelled: &AtomicBool) -> usize {
    let mut source: VecDeque<IncomingMessage> = (1..total).map(message).collect();
    deliver_ready(cancelled, &mut source, VecDeque::pop_front, message(0), max, recorder);
    source.len()
}

#[test]
fn everything_ready_is_delivered_in_order_in_bursts_of_at_most_the_limit() {
    let mut recorder = Recorder::default();
    let left = run(10, 4, &mut recorder, &AtomicBool::new(false));
    assert_eq!(left, 0);
    let counts: Vec<u32> = recorder.bursts.iter().map(|(_, count)| *count).collect();
    assert_eq!(counts, vec![4, 4, 2]);
    let all: Vec<u8> = recorder.bursts.iter().flat_map(|(bytes, _)| bytes.clone()).collect();
    assert_eq!(all, encoded(0..10), "each message once, in order");
    assert_eq!(recorder.bursts[1].0, encoded(4..8));
}

#[test]
fn one_message_per_burst_when_the_limit_is_one() {
    let mut recorder = Recorder::default();
    run(3, 1, &mut recorder, &AtomicBool::new(false));
    let bursts: Vec<(Vec<u8>, u32)> = (0..3).map(|i| (encoded(i..i + 1), 1)).collect();
    assert_eq!(recorder.bursts, bursts);
}

#[test]
fn a_burst_ends_at_the_byte_limit() {
    let big = |i: usize| IncomingMessage {
        args_json: format!("[\"{}\"]", "x".repeat(40_000)),
        ..message(i)
    };
    let mut source: VecDeque<IncomingMessage> = (1..3).map(big).collect();
    let mut recorder = Recorder::default();
    deliver_ready(
        &AtomicBool::new(false),
        &mut source,
        VecDeque::pop_front,
        big(0),
        1024,
        &mut recorder,
    );
    let counts: Vec<u32> = recorder.bursts.iter().map(|(_, count)| *count).collect();
    assert_eq!(counts, vec![2, 1], "the second message passes 64 KiB and closes the first burst");
}

#[test]
fn a_panicking_sink_does_not_stop_delivery() {
    let mut recorder = Recorder { panic_on: vec![1, 2], ..Recorder::default() };
    run(6, 2, &mut recorder, &AtomicBool::new(false));
    let all: Vec<u8> = recorder.bursts.iter().flat_map(|(bytes, _)| bytes.clone()).collect();
    assert_eq!(all, encoded(0..6));
}

#[test]
fn nothing_more_is_handed_over_once_cancelled() {
    let cancelled = Arc::new(AtomicBool::new(false));
    let mut recorder =
        Recorder { cancel_after: Some((2, cancelled.clone())), ..Recorder::default() };
    let left = run(10, 2, &mut recorder, &cancelled);
    assert_eq!(recorder.bursts.len(), 2, "no burst after the one during which it was cancelled");
    assert_eq!(
        left,
        10 - 2 * 2 - 2,
        "the burst read when the cancel was seen is dropped, the rest left"
    );
}

#[test]
fn gaps_travel_in_order_between_the_messages() {
    let mut source: VecDeque<Item> =
        [Item::Lagged(5), Item::Message(message(1))].into_iter().collect();
    let mut recorder = Recorder::default();
    let first = Item::Message(message(0));
    deliver_ready(
        &AtomicBool::new(false),
        &mut source,
        VecDeque::pop_front,
        first,
        8,
        &mut recorder,
    );
    let mut expected = encoded(0..1);
    wire::encode(&Item::Lagged(5), &mut expected);
    expected.extend(encoded(1..2));
    assert_eq!(recorder.bursts, vec![(expected, 3)], "one burst: message, gap, message");
}
