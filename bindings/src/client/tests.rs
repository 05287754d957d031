use super::*;
use crate::event::Event;
use std::sync::mpsc;

struct Collect(mpsc::Sender<ConnectionState>);

impl StateListener for Collect {
    fn on_state(&self, state: ConnectionState) -> Result<(), ListenerError> {
        let _ = self.0.send(state);
        Ok(())
    }
}

fn offline_client() -> Arc<Client> {
    // Nothing listens on the discard port; the client is never connected in these tests.
    let config = ClientConfig { urls: vec!["ws://127.0.0.1:9".into()], ..ClientConfig::default() };
    Client::new(config, None).expect("a valid config")
}

#[test]
fn a_state_subscription_starts_with_the_state_now_and_stops_when_cancelled() {
    let client = offline_client();
    let (tx, rx) = mpsc::channel();
    let handle = client.subscribe_state(Arc::new(Collect(tx)));
    assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok(ConnectionState::Idle));
    handle.cancel();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !handle.is_finished() && std::time::Instant::now() < deadline {
        std::thread::yield_now();
    }
    assert!(handle.is_finished());
}

/// Records what a batch delivery hands over, in order.
#[derive(Default)]
struct Recorder(std::sync::Mutex<Vec<String>>);

impl Recorder {
    fn push(&self, entry: String) -> Result<(), ListenerError> {
        self.0.lock().map(|mut v| v.push(entry)).unwrap_or_default();
        Ok(())
    }
    fn taken(&self) -> Vec<String> {
        self.0.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

impl MessageBatchListener for Recorder {
    fn on_messages(&self, messages: Vec<IncomingMessage>) -> Result<(), ListenerError> {
        let events: Vec<String> = messages.into_iter().map(|m| m.event).collect();
        self.push(events.join(","))?;
        Err(ListenerError::Failed { reason: "throws every time".into() })
    }
}

impl LagListener for Recorder {
    fn on_lagged(&self, skipped: u64) -> Result<(), ListenerError> {
        self.push(format!("lagged {skipped}"))
    }
}

#[test]
fn a_batch_with_gaps_is_handed_over_in_runs_with_the_gaps_between_them() {
    let message = |event: &str| {
        core_api::SubscriptionItem::Message(core_api::IncomingMessage {
            namespace: "/".into(),
            event: event.into(),
            data: vec![],
            binary: vec![],
            ack_id: None,
            offset: None,
        })
    };
    let lagged = |skipped| core_api::SubscriptionItem::Lagged { skipped };
    let items = vec![lagged(2), message("a"), message("b"), lagged(5), message("c"), lagged(1)];
    let recorder = Recorder::default();
    let outcome = deliver_batch(items, &recorder, Some(&recorder));
    assert_eq!(recorder.taken(), ["lagged 2", "a,b", "lagged 5", "c", "lagged 1"]);
    assert!(outcome.is_err(), "the first throw is reported, after every call was made");
    let silent = Recorder::default();
    assert_eq!(deliver_batch(vec![lagged(3), message("d")], &silent, None).ok(), None);
    assert_eq!(silent.taken(), ["d"], "without a lag listener the gaps are only counted");
}

#[test]
fn a_bad_config_is_refused_with_invalid_config() {
    let config = ClientConfig { urls: vec!["ftp://h".into()], ..ClientConfig::default() };
    assert!(matches!(Client::new(config, None), Err(TetherError::InvalidConfig { .. })));
}

#[tokio::test]
async fn payloads_that_are_not_json_are_refused_before_sending() {
    let client = offline_client();
    let sent = client.emit("e".into(), "{not json".into()).await;
    assert!(matches!(sent, Err(TetherError::Other { .. })), "{sent:?}");
    let queued = client.emit("e".into(), r#"{"ok":1}"#.into()).await;
    assert_eq!(queued, Ok(()), "queued in the outbox while idle");
    assert_eq!(client.stats().await.map(|s| s.queued), Ok(1));
}

#[tokio::test]
async fn try_emit_hands_over_without_waiting_and_refuses_bad_json() {
    let client = offline_client();
    let refused = client.try_emit("e".into(), "{not json".into());
    assert!(matches!(refused, Err(TetherError::Other { .. })), "{refused:?}");
    assert_eq!(client.try_emit("e".into(), r#"{"ok":1}"#.into()), Ok(()));
    // The driver takes it on its next turn and queues it (the client is offline).
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while client.stats().await.map(|s| s.queued) != Ok(1) {
        assert!(std::time::Instant::now() < deadline, "never queued");
        tokio::task::yield_now().await;
    }
    client.disconnect().await.unwrap_or_else(|e| panic!("{e}"));
    let closed = client.try_emit("e".into(), "1".into());
    assert!(matches!(closed, Err(TetherError::Closed { .. })), "{closed:?}");
}

#[tokio::test]
async fn a_batch_with_bad_json_sends_nothing_and_a_good_one_is_handed_over_in_order() {
    let client = offline_client();
    let mixed = vec!["1".to_owned(), "{oops".to_owned(), "3".to_owned()];
    let refused = client.try_emit_batch("e".into(), mixed);
    assert!(
        matches!(&refused, Err(TetherError::Other { message }) if message.contains("payload 1")),
        "{refused:?}"
    );
    let good = (0..10).map(|i| format!(r#"{{"i":{i}}}"#)).collect();
    assert_eq!(client.try_emit_batch("e".into(), good), Ok(10));
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while client.stats().await.map(|s| s.queued) != Ok(10) {
        assert!(std::time::Instant::now() < deadline, "not all queued: nothing of the bad batch");
        tokio::task::yield_now().await;
    }
    client.disconnect().await.unwrap_or_else(|e| panic!("{e}"));
    let closed = client.try_emit_batch("e".into(), vec!["1".into()]);
    assert!(matches!(closed, Err(TetherError::Closed { .. })), "{closed:?}");
}

/// Blocks on its first event until released, then records every event.
struct Stuck {
    release: std::sync::Mutex<Option<mpsc::Receiver<()>>>,
    seen: mpsc::Sender<Event>,
}

impl EventListener for Stuck {
    fn on_event(&self, event: Event) -> Result<(), ListenerError> {
        let gate = self.release.lock().ok().and_then(|mut gate| gate.take());
        if let Some(gate) = gate {
            let _ = gate.recv_timeout(Duration::from_secs(30));
        }
        let _ = self.seen.send(event);
        Ok(())
    }
}

#[test]
fn a_stuck_event_listener_costs_its_bound_and_then_hears_what_it_lost() {
    // A client that keeps failing to connect publishes a steady stream of state events.
    let config = ClientConfig {
        urls: vec!["ws://127.0.0.1:9".into()],
        backoff: crate::config::BackoffOptions {
            min_delay_ms: 1,
            max_delay_ms: 2,
            ..crate::config::BackoffOptions::default()
        },
        stream_buffer: crate::buffer::StreamBufferOptions {
            max_items: 2,
            ..crate::buffer::StreamBufferOptions::default()
        },
        ..ClientConfig::default()
    };
    let client = Client::new(config, None).expect("a valid config");
    let (release, gate) = mpsc::channel();
    let (seen, events) = mpsc::channel();
    let listener = Stuck { release: std::sync::Mutex::new(Some(gate)), seen };
    let handle = client.subscribe_events(Arc::new(listener));
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
    let runtime = runtime.expect("a runtime");
    runtime.block_on(client.start()).expect("starts");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while handle.stream_stats().dropped < 20 {
        assert!(std::time::Instant::now() < deadline, "{:?}", handle.stream_stats());
        std::thread::yield_now();
    }
    let stats = handle.stream_stats();
    assert!(stats.peak_queued <= 2, "the stuck listener's queue stayed at its bound: {stats:?}");
    let _ = release.send(());
    let lagged = events
        .iter()
        .find_map(|event| match event {
            Event::Lagged { skipped } => Some(skipped),
            _ => None,
        })
        .expect("a lag notice");
    assert!(lagged >= 1);
    let client_stats = runtime.block_on(client.stats()).expect("stats");
    assert!(client_stats.stream_dropped >= stats.dropped, "{client_stats:?}");
    handle.cancel();
}
