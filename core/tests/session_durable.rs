//! The session's side of the durable outbox and the resume probe, on virtual time: what it
//! asks the store to keep and forget, the ids it gives messages, what it takes back after a
//! restart, and (in a seeded random run with kills) that every accepted message reaches the
//! server exactly once, in order, with a store that only ever sees the session's batches.

mod support;

use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};
use support::session_harness::Harness;
use tether_core::{
    AckError, Config, ConnectionState, DisconnectReason, DropReason, Event, Frame, OutgoingMessage,
    OverflowPolicy, SendOptions, StoreBatch, StoredAck, StoredMessage, StoredState,
};

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn durable_config() -> Config {
    Config::new("ws://server.test")
        .with_durable_outbox("/unused/by/the/session.sqlite")
        .with_outbox_limits(10_000, 64 << 20)
        .with_max_pending_acks(20_000)
}

fn empty_state(instance: &str) -> StoredState {
    StoredState {
        instance: instance.to_owned(),
        next_seq: 1,
        messages: Vec::new(),
        dedup_key: (1, 2),
        seen: Vec::new(),
    }
}

/// A harness whose session has a (fresh) durable outbox.
fn durable(config: Config, state: StoredState) -> Harness {
    let mut h = Harness::new(config);
    h.session.restore(state, h.now);
    h
}

fn batch(h: &mut Harness) -> StoreBatch {
    h.session.poll_store().unwrap_or_default()
}

/// `(ack id, event, first argument)` of each Socket.IO event written.
fn events_out(h: &mut Harness) -> Vec<(Option<u64>, String, Value)> {
    h.texts().iter().filter_map(|t| parse_event(t)).collect()
}

fn parse_event(text: &str) -> Option<(Option<u64>, String, Value)> {
    let rest = text.strip_prefix("42")?;
    let digits = rest.find('[')?;
    let ack = rest[..digits].parse().ok();
    let Value::Array(args) = serde_json::from_str(&rest[digits..]).ok()? else { return None };
    Some((ack, args.first()?.as_str()?.to_owned(), args.get(1).cloned().unwrap_or(Value::Null)))
}

fn message_id(payload: &Value) -> Option<&str> {
    payload.get("messageId").and_then(Value::as_str)
}

#[test]
fn an_in_memory_session_never_asks_the_store_nor_touches_payloads() {
    let mut h = Harness::new(Config::new("ws://server.test").with_at_least_once(true));
    let sent = h.session.send(
        OutgoingMessage::new("chat", json!({"n": 1})),
        SendOptions::with_ack(None),
        h.now,
    );
    assert!(sent.is_ok());
    assert!(h.session.poll_store().is_none());
    assert!(!h.session.is_persisting());
    h.connect_socket_io();
    let out = events_out(&mut h);
    assert_eq!(out[0].2, json!({"n": 1}), "no messageId added in memory");
}

#[test]
fn queued_messages_are_kept_with_ids_and_forgotten_once_written() {
    let mut h = durable(durable_config(), empty_state("dev1"));
    let send = |h: &mut Harness, payload: Value| {
        let message = OutgoingMessage::new("chat", payload);
        assert!(h.session.send(message, SendOptions::fire_and_forget(), h.now).is_ok());
    };
    send(&mut h, json!({"n": 1}));
    send(&mut h, json!({"n": 2, "messageId": "app-chose-this"}));
    send(&mut h, json!("not an object"));
    let kept = batch(&mut h);
    assert_eq!(kept.reserved_until, Some(1025), "a block of ids is reserved before any is used");
    let seqs: Vec<u64> = kept.persist.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, vec![1, 2, 3]);
    let payloads: Vec<&Value> = kept.persist.iter().map(|m| &m.message.data[0]).collect();
    assert_eq!(payloads[0], &json!({"n": 1, "messageId": "dev1-1"}));
    assert_eq!(payloads[1], &json!({"n": 2, "messageId": "app-chose-this"}), "the app's id stays");
    assert_eq!(payloads[2], &json!("not an object"), "nowhere to put an id: kept as it is");
    assert!(h.session.poll_store().is_none(), "a batch is handed over once");
    h.connect_socket_io();
    let out = events_out(&mut h);
    assert_eq!(out.len(), 3);
    assert_eq!(message_id(&out[0].2), Some("dev1-1"), "sent with the id it was kept with");
    assert_eq!(batch(&mut h).forget, vec![1, 2, 3], "fire and forget: written, forgotten");
}

#[test]
fn at_least_once_messages_stay_kept_through_a_reconnect_until_their_answer() {
    let mut h = durable(durable_config(), empty_state("dev1"));
    h.connect_socket_io();
    let reliable = SendOptions::at_least_once(Some(secs(600)));
    let id = h.session.send(OutgoingMessage::new("pay", json!({"n": 1})), reliable, h.now);
    let Ok(Some(id)) = id else { panic!("no ack id: {id:?}") };
    let plain = h.session.send(
        OutgoingMessage::new("ping", json!({})),
        SendOptions::fire_and_forget(),
        h.now,
    );
    assert!(plain.is_ok());
    let kept = batch(&mut h);
    assert_eq!(kept.persist.len(), 1, "only the at-least-once message is kept when connected");
    assert_eq!(kept.persist[0].ack, Some(StoredAck { at_least_once: true, expires_in: secs(600) }));
    let first = events_out(&mut h);
    h.cut();
    h.advance(h.retry_at() - h.now);
    h.socket_io_handshake("p2");
    assert!(h.session.poll_store().is_none(), "a reconnect forgets nothing");
    let again = events_out(&mut h);
    assert_eq!(message_id(&again[0].2), message_id(&first[0].2), "same messageId after reconnect");
    h.frame_in(&format!(r#"43{}["ok"]"#, id.0));
    assert_eq!(batch(&mut h).forget, vec![kept.persist[0].seq]);
}

#[test]
fn closing_keeps_the_durable_queue_and_clearing_forgets_it() {
    let mut h = durable(durable_config(), empty_state("dev1"));
    h.connect_socket_io();
    let reliable = SendOptions::at_least_once(Some(secs(600)));
    assert!(h.session.send(OutgoingMessage::new("pay", json!({"n": 1})), reliable, h.now).is_ok());
    h.cut();
    assert!(h.session.send(OutgoingMessage::new("pay", json!({"n": 2})), reliable, h.now).is_ok());
    batch(&mut h);
    h.session.disconnect(h.now);
    let events = h.take_events();
    assert!(
        !events.iter().any(|e| matches!(e, Event::Dropped { .. } | Event::AckSettled { .. })),
        "{events:?}"
    );
    assert_eq!(h.session.outbox_len(), 2, "the queue waits for the next connect or start");
    assert!(h.session.poll_store().is_none(), "and stays in the store");
    assert_eq!(h.session.clear_outbox(), 2);
    let forgotten = batch(&mut h).forget;
    assert_eq!(forgotten.len(), 2, "{forgotten:?}");
}

#[test]
fn closing_an_in_memory_client_still_drops_its_queue() {
    let mut h = Harness::new(Config::new("ws://server.test"));
    assert!(h
        .session
        .send(OutgoingMessage::new("x", json!(1)), SendOptions::fire_and_forget(), h.now)
        .is_ok());
    h.session.disconnect(h.now);
    assert_eq!(h.session.outbox_len(), 0);
    assert!(h
        .take_events()
        .iter()
        .any(|e| matches!(e, Event::Dropped { reason: DropReason::Closed, .. })));
}

fn stored(seq: u64, n: u64, ack: Option<StoredAck>, expires_in: Option<Duration>) -> StoredMessage {
    StoredMessage {
        seq,
        message: OutgoingMessage::new("chat", json!({"n": n, "messageId": format!("old-{seq}")})),
        ack,
        expires_in,
    }
}

#[test]
fn a_restored_queue_goes_out_first_in_order_with_its_ids_and_new_ids_follow_on() {
    let reliable = StoredAck { at_least_once: true, expires_in: secs(600) };
    let state = StoredState {
        next_seq: 2048,
        messages: vec![stored(5, 1, Some(reliable), None), stored(9, 2, None, Some(secs(60)))],
        ..empty_state("dev1")
    };
    let mut h = durable(durable_config(), state);
    assert_eq!(h.session.outbox_len(), 2);
    let fresh = OutgoingMessage::new("chat", json!({"n": 3}));
    assert!(h.session.send(fresh, SendOptions::fire_and_forget(), h.now).is_ok());
    let kept = batch(&mut h);
    assert_eq!(kept.persist[0].seq, 2048, "new ids start after the restored store's");
    assert_eq!(message_id(&kept.persist[0].message.data[0]), Some("dev1-2048"));
    h.connect_socket_io();
    let out = events_out(&mut h);
    let ns: Vec<Value> = out.iter().map(|(_, _, p)| p["n"].clone()).collect();
    assert_eq!(ns, vec![json!(1), json!(2), json!(3)]);
    assert_eq!(message_id(&out[0].2), Some("old-5"));
    let Some(ack) = out[0].0 else { panic!("the at-least-once message asks for an ack again") };
    assert_eq!(batch(&mut h).forget, vec![9, 2048], "the others were fire and forget");
    h.frame_in(&format!(r#"43{ack}["ok"]"#));
    assert_eq!(batch(&mut h).forget, vec![5]);
}

#[test]
fn what_expired_while_the_app_was_not_running_is_dropped_and_forgotten_on_restore() {
    let timed_out = StoredAck { at_least_once: true, expires_in: Duration::ZERO };
    let state = StoredState {
        messages: vec![
            stored(1, 1, None, Some(Duration::ZERO)),
            stored(2, 2, Some(timed_out), None),
            stored(3, 3, None, Some(secs(30))),
        ],
        ..empty_state("dev1")
    };
    let mut h = durable(durable_config(), state);
    let events = h.take_events();
    assert!(events.iter().any(|e| matches!(e, Event::Dropped { reason: DropReason::Expired, .. })));
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::AckSettled { result: Err(AckError::Timeout), .. })));
    let mut forgotten = batch(&mut h).forget;
    forgotten.sort_unstable();
    assert_eq!(forgotten, vec![1, 2]);
    assert_eq!(h.session.outbox_len(), 1);
    h.advance(secs(30));
    assert_eq!(batch(&mut h).forget, vec![3], "the TTL keeps counting after the restart");
}

#[test]
fn the_outbox_bounds_apply_to_the_restored_queue() {
    let state = StoredState {
        messages: (1..=5).map(|seq| stored(seq, seq, None, None)).collect(),
        ..empty_state("dev1")
    };
    let config = durable_config()
        .with_outbox_limits(3, 1 << 20)
        .with_overflow_policy(OverflowPolicy::DropOldest);
    let mut h = durable(config, state);
    assert_eq!(h.session.outbox_len(), 3);
    assert_eq!(batch(&mut h).forget, vec![1, 2], "the oldest went, and are forgotten");
}

#[test]
fn an_incoming_duplicate_is_recognised_after_a_restart() {
    let mut before = durable(durable_config(), empty_state("dev1"));
    before.connect_socket_io();
    before.frame_in(r#"42["news",{"messageId":"srv-7","text":"hi"}]"#);
    let seen = batch(&mut before).seen;
    assert_eq!(seen.len(), 1);
    let state = StoredState { seen, ..empty_state("dev1") };
    let mut after = durable(durable_config(), state);
    after.connect_socket_io();
    after.take_events();
    after.frame_in(r#"42["news",{"messageId":"srv-7","text":"hi"}]"#);
    after.frame_in(r#"42["news",{"messageId":"srv-8","text":"new"}]"#);
    let delivered: Vec<Value> = after
        .take_events()
        .into_iter()
        .filter_map(|e| if let Event::Message(m) = e { m.data.first().cloned() } else { None })
        .collect();
    assert_eq!(delivered, vec![json!({"messageId": "srv-8", "text": "new"})]);
    assert_eq!(after.session.stats(after.now).duplicates, 1);
}

#[test]
fn a_resume_probe_gives_up_after_the_probe_timeout_not_the_heartbeat_timeout() {
    let mut h = Harness::new(Config::new("ws://server.test").with_probe_timeout(secs(3)));
    h.connect_socket_io();
    h.take_events();
    h.session.app_foreground(true, h.now);
    assert!(h.take_sent().iter().any(|f| matches!(f, Frame::Ping(_))), "a probe goes out at once");
    h.advance(secs(3) - Duration::from_millis(1));
    assert_eq!(h.session.state(), &ConnectionState::Connected);
    h.advance(Duration::from_millis(1));
    let lost = h.take_events().into_iter().find_map(|e| match e {
        Event::Disconnected { reason, .. } => Some(reason),
        _ => None,
    });
    assert_eq!(
        lost,
        Some(DisconnectReason::HeartbeatTimeout),
        "3 s, not the 20 s heartbeat timeout"
    );
}

#[test]
fn an_answered_probe_keeps_the_connection() {
    let mut h = Harness::new(Config::new("ws://server.test").with_probe_timeout(secs(3)));
    h.connect_socket_io();
    h.session.network_available(true, h.now);
    let ping =
        h.take_sent().into_iter().find_map(|f| if let Frame::Ping(p) = f { Some(p) } else { None });
    h.advance(secs(1));
    h.session.handle_frame(Frame::Pong(ping.unwrap_or_default()), h.now);
    h.advance(secs(10));
    assert_eq!(h.session.state(), &ConnectionState::Connected);
}

/// A store that keeps what the session's batches say, as the SQLite store would.
#[derive(Default)]
struct ModelStore {
    instance: String,
    next_seq: u64,
    messages: BTreeMap<u64, (StoredMessage, Instant)>,
    seen: Vec<u64>,
}

impl ModelStore {
    fn commit(&mut self, batch: StoreBatch, now: Instant) {
        for kept in batch.persist {
            self.messages.insert(kept.seq, (kept, now));
        }
        for seq in batch.forget {
            self.messages.remove(&seq);
        }
        self.seen.extend(batch.seen);
        if let Some(reserved) = batch.reserved_until {
            self.next_seq = reserved;
        }
    }

    fn state(&self, now: Instant) -> StoredState {
        let messages = self
            .messages
            .values()
            .map(|(m, at)| {
                let elapsed = now - *at;
                let mut m = m.clone();
                m.expires_in = m.expires_in.map(|d| d.saturating_sub(elapsed));
                if let Some(ack) = m.ack.as_mut() {
                    ack.expires_in = ack.expires_in.saturating_sub(elapsed);
                }
                m
            })
            .collect();
        StoredState {
            instance: self.instance.clone(),
            next_seq: self.next_seq,
            messages,
            dedup_key: (3, 4),
            seen: self.seen.clone(),
        }
    }
}

/// The server of the random run: it sees what the client writes (all of it, or on a cut only
/// what got through), remembers each messageId's first sighting, and holds the acks it owes on
/// the current connection.
#[derive(Default)]
struct LedgerServer {
    first_seen: Vec<String>,
    seen: HashSet<String>,
    duplicates: usize,
    owed: Vec<u64>,
}

impl LedgerServer {
    /// Takes what the client wrote; with `lose_after`, only that many events get through and
    /// the connection is cut.
    fn receive(&mut self, h: &mut Harness, lose_after: Option<usize>) {
        let written = events_out(h);
        let through = lose_after.unwrap_or(written.len()).min(written.len());
        for (ack, _, payload) in written.into_iter().take(through) {
            if let Some(id) = message_id(&payload) {
                if self.seen.insert(id.to_owned()) {
                    self.first_seen.push(id.to_owned());
                } else {
                    self.duplicates += 1;
                }
            }
            self.owed.extend(ack);
        }
        if lose_after.is_some() {
            self.connection_gone();
            h.cut();
        }
    }

    /// Acks owed on a connection that is gone are never answered.
    fn connection_gone(&mut self) {
        self.owed.clear();
    }

    fn answer(&mut self, h: &mut Harness, count: usize) {
        let count = count.min(self.owed.len());
        for id in self.owed.drain(..count).collect::<Vec<_>>() {
            h.frame_in(&format!(r#"43{id}["ok"]"#));
        }
    }
}

/// A harness whose session was restored from `store` at `now` (a restart after a kill).
fn restart(store: &ModelStore, now: Instant, seed: u64) -> Harness {
    let mut h = Harness::new(durable_config().with_rng_seed(seed));
    h.now = now;
    h.session.restore(store.state(now), now);
    h
}

fn connect_now(h: &mut Harness) {
    match h.session.state() {
        ConnectionState::Idle | ConnectionState::Closed => h.session.connect(h.now),
        ConnectionState::Reconnecting { .. } => h.advance(h.retry_at() - h.now),
        _ => {}
    }
    if h.session.state() == &ConnectionState::Connecting {
        h.socket_io_handshake("p");
    }
}

/// A seeded run of sends, cuts (some losing what was in flight), acks, suspends and kills (a
/// new session restored from the model store, as after the app was killed, sometimes before
/// the last batch was written). Then the client heals and drains. The server's first sightings
/// of each messageId must be every accepted message, once each, in the order it was accepted.
#[test]
fn random_kills_and_cuts_lose_nothing_and_duplicate_nothing() {
    let mut rng = fastrand::Rng::with_seed(20_241_206);
    let mut store = ModelStore { instance: "dev1".into(), next_seq: 1, ..ModelStore::default() };
    let mut h = restart(&store, Instant::now(), 0);
    let mut server = LedgerServer::default();
    let mut accepted: Vec<String> = Vec::new();
    let mut kills = 0;
    for step in 0..4_000u64 {
        match rng.u32(0..100) {
            0..=44 => {
                let n = accepted.len();
                let message = OutgoingMessage::new("op", json!({"n": n}));
                let options = SendOptions::at_least_once(Some(secs(86_400)));
                if h.session.send(message, options, h.now).is_ok() {
                    // The driver writes the turn's batch before `send` returns.
                    let b = h.session.poll_store().unwrap_or_default();
                    let ids = b.persist.iter().filter_map(|m| message_id(&m.message.data[0]));
                    accepted.extend(ids.map(str::to_owned));
                    store.commit(b, h.now);
                }
            }
            45..=59 => connect_now(&mut h),
            60..=64 => {
                server.connection_gone();
                h.cut();
            }
            65..=79 => server.answer(&mut h, rng.usize(1..=5)),
            80..=89 => h.advance(Duration::from_millis(rng.u64(1..5_000))),
            90..=94 => {
                let lost = rng.usize(0..3);
                server.receive(&mut h, Some(lost));
            }
            _ => {
                kills += 1;
                if rng.bool() {
                    // Killed after the last write: nothing of this turn is lost.
                    if let Some(b) = h.session.poll_store() {
                        store.commit(b, h.now);
                    }
                }
                server.connection_gone();
                h = restart(&store, h.now, step);
            }
        }
        server.receive(&mut h, None);
        // Most turns end with the write; some are still unwritten when the next input comes.
        if rng.u32(0..10) < 7 {
            if let Some(b) = h.session.poll_store() {
                store.commit(b, h.now);
            }
            let stats = h.session.stats(h.now);
            assert_eq!(
                store.messages.len(),
                stats.queued + stats.in_flight,
                "step {step}: the store keeps the queue and the messages awaiting an answer"
            );
        }
    }
    for _ in 0..1_000 {
        if let Some(b) = h.session.poll_store() {
            store.commit(b, h.now);
        }
        if store.messages.is_empty() {
            break;
        }
        connect_now(&mut h);
        server.receive(&mut h, None);
        server.answer(&mut h, usize::MAX);
    }
    assert!(store.messages.is_empty(), "{} messages never drained", store.messages.len());
    assert!(kills > 50, "kills: {kills}");
    assert!(server.duplicates > 0, "re-sends after cuts and kills must happen in this run");
    assert_eq!(server.first_seen, accepted, "every accepted message once, in the order accepted");
}
