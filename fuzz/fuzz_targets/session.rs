//! The whole sans-IO session fed a random life: the input picks a config, then a sequence of
//! app calls (connect, send with and without acks, join, leave, network and foreground hints,
//! disconnect, config updates), driver reports (transport open, error, close, token errors) and
//! server frames (well-formed Socket.IO packets, acks for issued ids, pongs for real pings, and
//! raw garbage), with a virtual clock moved forward in between, firing every deadline on the
//! way as the driver would.
//!
//! After every step it checks what must always hold:
//! - the outbox stays within its bounds (only at-least-once re-sends, which were accepted
//!   already, may sit above them);
//! - an ack id is settled at most once, only ids handed out are settled, and after the final
//!   `disconnect` every id handed out has been settled exactly once;
//! - every state change is a legal transition, and the reported state matches the session's;
//! - `poll_timeout` is never in the past, and firing it makes progress (no busy loop);
//! - the token never shows in an event, an error or the session's `Debug`;
//! - with a durable outbox (half the configs), the store batches keep each message once and
//!   forget only what they kept; what is kept never exceeds what is queued or awaiting an
//!   answer, and after the final `disconnect` it is exactly the queue (closing keeps it), which
//!   `clear_outbox` then empties.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use serde_json::json;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::{Duration, Instant};
use tether_core::{
    AckId, AckReply, Config, ConnectionState, Event, Frame, OutgoingMessage, OverflowPolicy,
    RawWebSocketConfig, SendOptions, Session, SocketIoConfig, StoredState, Token, TokenError,
    TransportError,
};

const SECRET: &str = "fuzz-s3cr3t-token";
const NAMESPACES: [&str; 3] = ["/", "/admin", "/nope"];
const ROOMS: [&str; 3] = ["a", "b", "c"];
/// `handle_timeout` calls allowed at one instant before it counts as a busy loop.
const MAX_FIRINGS_AT_ONE_INSTANT: usize = 16;
/// Deadlines fired by one `Advance` before it stops short (a 1 ms heartbeat over ten virtual
/// minutes would otherwise take the fuzzer's whole time budget).
const MAX_FIRINGS_PER_ADVANCE: usize = 64;

/// A duration for a config field: mostly small, sometimes zero-ish or enormous (validation
/// must refuse what the session cannot handle, or the session must cope).
fn duration(u: &mut Unstructured<'_>) -> arbitrary::Result<Duration> {
    Ok(match u.int_in_range(0..=15u8)? {
        0 => Duration::from_millis(1),
        1 => Duration::MAX,
        2 => Duration::from_secs(365 * 24 * 3600),
        _ => Duration::from_millis(u.int_in_range(1..=120_000u64)?),
    })
}

fn overflow_policy(u: &mut Unstructured<'_>) -> arbitrary::Result<OverflowPolicy> {
    Ok(*u.choose(&[
        OverflowPolicy::DropOldest,
        OverflowPolicy::DropNewest,
        OverflowPolicy::Reject,
    ])?)
}

fn config(u: &mut Unstructured<'_>) -> arbitrary::Result<Config> {
    let mut config = Config::new("ws://server.test/");
    if u.arbitrary()? {
        config = config.with_fallback_url("ws://fallback.test/");
    }
    if u.arbitrary()? {
        config = config.with_raw_websocket(RawWebSocketConfig { room_messages: u.arbitrary()? });
    } else {
        let namespaces =
            if u.arbitrary()? { vec!["/".into()] } else { vec!["/".into(), "/admin".into()] };
        config = config.with_socket_io(SocketIoConfig {
            namespaces,
            recovery: u.arbitrary()?,
            ..SocketIoConfig::default()
        });
    }
    let min = duration(u)?;
    let max = min.saturating_add(duration(u)?);
    config = config
        .with_reconnect_delays(min, max)
        .with_max_attempts(if u.arbitrary()? { Some(u.int_in_range(1..=5)?) } else { None })
        .with_retry_initial_connect(u.arbitrary()?)
        .with_backoff_reset_after(duration(u)?)
        .with_failover_after(u.int_in_range(1..=3)?)
        .with_connect_timeout(duration(u)?)
        .with_heartbeat(duration(u)?, duration(u)?)
        .with_outbox_limits(u.int_in_range(0..=6)?, u.int_in_range(0..=2048)?)
        .with_overflow_policy(overflow_policy(u)?)
        .with_outbox_ttl(if u.arbitrary()? { Some(duration(u)?) } else { None })
        .with_ack_timeout(duration(u)?)
        .with_at_least_once(u.arbitrary()?)
        .with_max_pending_acks(u.int_in_range(1..=6)?)
        .with_dedup(
            if u.arbitrary()? { Some("messageId".into()) } else { None },
            u.int_in_range(1..=4)?,
        )
        .with_size_limits(u.int_in_range(1..=4096)?, u.int_in_range(1..=4096)?)
        .with_offline_retry_interval(duration(u)?)
        .with_rng_seed(u.arbitrary()?);
    if u.arbitrary()? {
        // The session never opens it: the store's changes come out as batches.
        config = config.with_durable_outbox("/fuzz/outbox.sqlite");
    }
    Ok(config)
}

#[derive(Debug, Arbitrary)]
enum Op {
    Connect,
    Disconnect,
    ReconnectNow,
    Network(bool),
    Foreground(bool),
    Send {
        namespace: u8,
        size: u16,
        ack: u8,
        timeout_ms: u16,
        reliable: Option<bool>,
        binary: u8,
    },
    AnswerServer {
        namespace: u8,
        id: u8,
    },
    Join(u8),
    Leave(u8),
    ClearOutbox,
    /// New outbox and ack limits at run time.
    UpdateLimits {
        max_messages: u8,
        max_bytes: u16,
        policy: u8,
        max_pending_acks: u8,
    },
    TransportOpen {
        with_token: bool,
    },
    TransportError(u8),
    TransportClosed,
    TokenError {
        unauthorized: bool,
    },
    Server(ServerFrame),
    Advance(u32),
    TimeoutEarly,
}

#[derive(Debug, Arbitrary)]
enum ServerFrame {
    Text(String),
    Binary(Vec<u8>),
    /// The pong for one of the pings the session sent (or for a made-up one).
    Pong {
        pick: u8,
        made_up: bool,
    },
    Ping,
    Close,
    Open {
        ping_interval_ms: u16,
        ping_timeout_ms: u16,
    },
    Connect {
        namespace: u8,
        pid: u8,
    },
    ConnectError {
        invalid_namespace: bool,
    },
    Disconnect {
        namespace: u8,
    },
    Event {
        namespace: u8,
        ack_id: Option<u8>,
        message_id: Option<u8>,
        offset: Option<u8>,
    },
    /// An ack for an id near the ones issued, maybe a join refusal, maybe binary.
    Ack {
        id: u8,
        refuse: bool,
        binary: bool,
    },
    BinaryEvent {
        attachments: u8,
    },
    EnginePing,
    EngineClose,
}

impl ServerFrame {
    fn frame(self, pings: &[Vec<u8>]) -> Frame {
        let ns = |n: u8| match NAMESPACES[usize::from(n) % NAMESPACES.len()] {
            "/" => String::new(),
            other => format!("{other},"),
        };
        let text = match self {
            Self::Text(text) => return Frame::Text(text),
            Self::Binary(bytes) => return Frame::Binary(bytes),
            Self::Pong { pick, made_up } => {
                let payload = if made_up || pings.is_empty() {
                    u64::from(pick).to_be_bytes().to_vec()
                } else {
                    pings[usize::from(pick) % pings.len()].clone()
                };
                return Frame::Pong(payload);
            }
            Self::Ping => return Frame::Ping(Vec::new()),
            Self::Close => return Frame::Close,
            Self::Open { ping_interval_ms, ping_timeout_ms } => format!(
                r#"0{{"sid":"s","upgrades":[],"pingInterval":{ping_interval_ms},"pingTimeout":{ping_timeout_ms}}}"#
            ),
            Self::Connect { namespace, pid } => {
                format!(r#"40{}{{"sid":"x","pid":"p{}"}}"#, ns(namespace), pid % 3)
            }
            Self::ConnectError { invalid_namespace } => {
                let why = if invalid_namespace { "Invalid namespace" } else { "unauthorized" };
                format!(r#"44{{"message":"{why}"}}"#)
            }
            Self::Disconnect { namespace } => format!("41{}", ns(namespace)),
            Self::Event { namespace, ack_id, message_id, offset } => {
                let id = ack_id.map(|i| i.to_string()).unwrap_or_default();
                let arg = match message_id {
                    Some(m) => json!({ "messageId": format!("m{}", m % 8) }),
                    None => json!({ "x": 1 }),
                };
                let offset = offset.map(|o| format!(r#","o{o}""#)).unwrap_or_default();
                format!(r#"42{}{id}["ev",{arg}{offset}]"#, ns(namespace))
            }
            Self::Ack { id, refuse, binary } => {
                let reply = if refuse { r#"{"ok":false,"error":"no"}"# } else { r#"{"ok":true}"# };
                if binary {
                    format!(r#"461-{id}[{reply},{{"_placeholder":true,"num":0}}]"#)
                } else {
                    format!("43{id}[{reply}]")
                }
            }
            Self::BinaryEvent { attachments } => {
                let n = usize::from(attachments % 70);
                let placeholders: String =
                    (0..n).map(|i| format!(r#",{{"_placeholder":true,"num":{i}}}"#)).collect();
                format!(r#"45{n}-["bin"{placeholders}]"#)
            }
            Self::EnginePing => "2".to_owned(),
            Self::EngineClose => "1".to_owned(),
        };
        Frame::Text(text)
    }
}

fn transport_error(kind: u8) -> TransportError {
    match kind % 7 {
        0 => TransportError::Timeout,
        1 => TransportError::Io("connection reset".into()),
        2 => TransportError::Tls("bad certificate".into()),
        3 => TransportError::Http { status: 401 },
        4 => TransportError::Http { status: 503 },
        5 => TransportError::InvalidUrl("nope".into()),
        _ => TransportError::Protocol("over a size limit".into()),
    }
}

/// The driver's and the app's view of one session, with the invariants checked after each step.
struct Run {
    session: Session,
    now: Instant,
    state: ConnectionState,
    /// Ack ids handed out by `send`, and whether they were at-least-once.
    issued: HashMap<AckId, bool>,
    settled: HashSet<AckId>,
    pings: Vec<Vec<u8>>,
    steps: usize,
    /// What the durable outbox's batches keep now (by `seq`), and every `seq` ever kept.
    kept: BTreeSet<u64>,
    ever_kept: HashSet<u64>,
}

impl Run {
    fn new(config: Config) -> Option<Self> {
        let now = Instant::now();
        // An invalid config is refused, never a panic.
        let durable = config.durable_outbox.is_some();
        let mut session = Session::new(config, now).ok()?;
        if durable {
            let empty = StoredState {
                instance: "fuzz".into(),
                next_seq: 1,
                messages: Vec::new(),
                dedup_key: (1, 2),
                seen: Vec::new(),
            };
            session.restore(empty, now);
        }
        let state = session.state().clone();
        Some(Self {
            session,
            now,
            state,
            issued: HashMap::new(),
            settled: HashSet::new(),
            pings: Vec::new(),
            steps: 0,
            kept: BTreeSet::new(),
            ever_kept: HashSet::new(),
        })
    }

    fn step(&mut self, op: Op) {
        let now = self.now;
        let s = &mut self.session;
        match op {
            Op::Connect => s.connect(now),
            Op::Disconnect => s.disconnect(now),
            Op::ReconnectNow => s.reconnect_now(now),
            Op::Network(up) => s.network_available(up, now),
            Op::Foreground(fg) => s.app_foreground(fg, now),
            Op::Send { namespace, size, ack, timeout_ms, reliable, binary } => {
                let ns = NAMESPACES[usize::from(namespace) % NAMESPACES.len()];
                let mut message =
                    OutgoingMessage::new("m", json!("x".repeat(usize::from(size % 4096))))
                        .in_namespace(ns);
                for i in 0..binary % 3 {
                    message = message.with_attachment(vec![i; usize::from(i) * 7]);
                }
                let timeout = match timeout_ms % 8 {
                    0 => None,
                    // "Never time out", as an app might say it.
                    1 => Some(Duration::MAX),
                    _ => Some(Duration::from_millis(u64::from(timeout_ms))),
                };
                let options = match ack % 4 {
                    0 => SendOptions::fire_and_forget(),
                    1 => SendOptions::volatile(),
                    _ => SendOptions {
                        ack: Some(timeout),
                        at_least_once: reliable,
                        volatile: ack % 8 == 7,
                    },
                };
                let is_reliable = reliable.unwrap_or(s.config().at_least_once);
                if let Ok(Some(id)) = s.send(message, options, now) {
                    assert!(options.ack.is_some(), "an ack id for a send without an ack");
                    let fresh = self.issued.insert(id, is_reliable).is_none();
                    assert!(fresh, "ack id {id} handed out twice");
                }
            }
            Op::AnswerServer { namespace, id } => {
                let ns = NAMESPACES[usize::from(namespace) % NAMESPACES.len()];
                let _ = s.ack(
                    ns,
                    u64::from(id),
                    AckReply { data: vec![json!(1)], binary: Vec::new() },
                    now,
                );
            }
            Op::Join(room) => {
                let _ = s.join(ROOMS[usize::from(room) % ROOMS.len()], now);
            }
            Op::Leave(room) => {
                let _ = s.leave(ROOMS[usize::from(room) % ROOMS.len()], now);
            }
            Op::ClearOutbox => {
                s.clear_outbox();
            }
            Op::UpdateLimits { max_messages, max_bytes, policy, max_pending_acks } => {
                let policy = [
                    OverflowPolicy::DropOldest,
                    OverflowPolicy::DropNewest,
                    OverflowPolicy::Reject,
                ][usize::from(policy % 3)];
                let config = s
                    .config()
                    .clone()
                    .with_outbox_limits(
                        usize::from(max_messages % 8),
                        usize::from(max_bytes % 4096),
                    )
                    .with_overflow_policy(policy)
                    .with_max_pending_acks(usize::from(max_pending_acks % 8).max(1));
                if let Err(e) = s.update_config(config, now) {
                    panic!("a valid config update was refused: {e}");
                }
            }
            Op::TransportOpen { with_token } => {
                let token = Token::new(SECRET);
                s.handle_transport_open(with_token.then_some(&token), now);
            }
            Op::TransportError(kind) => s.handle_transport_error(transport_error(kind), now),
            Op::TransportClosed => s.handle_transport_closed(now),
            Op::TokenError { unauthorized } => {
                let error = if unauthorized {
                    TokenError::Unauthorized("signed out".into())
                } else {
                    TokenError::Unavailable("offline".into())
                };
                s.handle_token_error(error, now);
            }
            Op::Server(frame) => s.handle_frame(frame.frame(&self.pings), now),
            Op::Advance(ms) => {
                self.advance(Duration::from_millis(u64::from(ms % 600_000)));
                return self.check();
            }
            Op::TimeoutEarly => s.handle_timeout(now),
        }
        self.check();
        if let Some(deadline) = self.session.poll_timeout() {
            assert!(deadline >= self.now, "poll_timeout is in the past after an input");
        }
    }

    /// Moves the clock forward, firing every deadline on the way in order, as the driver does.
    fn advance(&mut self, by: Duration) {
        let mut target = self.now + by;
        let mut firings_here = 0;
        let mut firings = 0;
        while let Some(deadline) = self.session.poll_timeout() {
            if deadline > target {
                break;
            }
            firings += 1;
            if firings > MAX_FIRINGS_PER_ADVANCE && deadline > self.now {
                // Stop here rather than skip deadlines: time only moves as far as fired.
                target = self.now;
                break;
            }
            if deadline <= self.now {
                firings_here += 1;
                assert!(
                    firings_here <= MAX_FIRINGS_AT_ONE_INSTANT,
                    "busy loop: poll_timeout stays at or before now after handle_timeout"
                );
            } else {
                firings_here = 0;
                self.now = deadline;
            }
            self.session.handle_timeout(self.now);
            self.drain();
        }
        self.now = target;
    }

    /// Drains the outputs and checks every invariant.
    fn check(&mut self) {
        self.drain();
        self.check_bounds();
    }

    /// Takes every output, checking the events one by one.
    fn drain(&mut self) {
        while self.session.poll_action().is_some() {}
        while let Some(batch) = self.session.poll_store() {
            for kept in batch.persist {
                assert!(self.ever_kept.insert(kept.seq), "seq {} kept twice", kept.seq);
                self.kept.insert(kept.seq);
            }
            for seq in batch.forget {
                assert!(self.kept.remove(&seq), "forgot seq {seq}, which is not kept");
            }
        }
        while let Some(frame) = self.session.poll_transmit() {
            if let Frame::Ping(payload) = frame {
                self.pings.push(payload);
                if self.pings.len() > 16 {
                    self.pings.remove(0);
                }
            }
        }
        while let Some(event) = self.session.poll_event() {
            // Only these carry text the engine wrote (the rest is what the server or app sent).
            if matches!(
                event,
                Event::Error(_) | Event::StateChanged(_) | Event::Disconnected { .. }
            ) {
                let shown = format!("{event:?}");
                assert!(!shown.contains(SECRET), "the token leaked into an event: {shown}");
            }
            match event {
                Event::StateChanged(next) => {
                    assert!(
                        legal(&self.state, &next),
                        "illegal transition {:?} -> {next:?}",
                        self.state
                    );
                    self.state = next;
                }
                Event::AckSettled { id, .. } => {
                    assert!(
                        self.issued.contains_key(&id),
                        "settled {id}, which was never handed out"
                    );
                    assert!(self.settled.insert(id), "{id} settled twice");
                }
                Event::Connected { .. } => {
                    assert_eq!(
                        self.state,
                        ConnectionState::Connected,
                        "Connected event in another state"
                    );
                }
                _ => {}
            }
        }
        assert_eq!(&self.state, self.session.state(), "the reported state lags the session's");
    }

    /// The outbox and ack-table bounds.
    fn check_bounds(&self) {
        let stats = self.session.stats(self.now);
        let config = self.session.config();
        // At-least-once messages re-queued after a drop were accepted already and may exceed
        // the bounds; nothing else may.
        let requeued = self
            .issued
            .iter()
            .filter(|(id, reliable)| **reliable && !self.settled.contains(id))
            .count();
        assert!(
            stats.queued <= config.outbox_max_messages + requeued,
            "outbox holds {} messages, bound {} (+{requeued} re-sends)",
            stats.queued,
            config.outbox_max_messages
        );
        assert!(
            stats.queued_bytes
                <= config.outbox_max_bytes + requeued * (config.max_message_bytes + 64),
            "outbox holds {} bytes, bound {} (+{requeued} re-sends)",
            stats.queued_bytes,
            config.outbox_max_bytes
        );
        let unsettled_messages = self.issued.len() - self.settled.len();
        assert!(stats.pending_acks >= unsettled_messages, "an ack vanished without being settled");
        assert_eq!(stats.connected, self.state.is_connected());
        assert!(
            self.kept.len() <= stats.queued + stats.pending_acks,
            "the store keeps {} messages; {} queued, {} awaiting an answer",
            self.kept.len(),
            stats.queued,
            stats.pending_acks
        );
    }

    fn finish(mut self) {
        // The session's own Debug (large, so not formatted on every input) is checked for the
        // token on a sample of the inputs.
        if self.steps.is_multiple_of(16) {
            let shown = format!("{:?}", self.session);
            assert!(!shown.contains(SECRET), "the token leaked into the session's Debug");
        }
        self.session.disconnect(self.now);
        self.check();
        assert_eq!(self.session.state(), &ConnectionState::Closed);
        if self.session.is_persisting() {
            // A durable queue outlives closing (for the next start); every queued message is
            // kept, and nothing else is. Emptying it settles what waited in it.
            assert_eq!(self.kept.len(), self.session.stats(self.now).queued, "kept vs queued");
            self.session.clear_outbox();
            self.check();
            assert!(self.kept.is_empty(), "cleared, but {} still kept", self.kept.len());
        }
        for id in self.issued.keys() {
            assert!(self.settled.contains(id), "{id} was never settled");
        }
        let stats = self.session.stats(self.now);
        assert_eq!((stats.queued, stats.queued_bytes, stats.pending_acks), (0, 0, 0));
        let shown = format!("{:?}", self.session);
        assert!(!shown.contains(SECRET), "the token leaked into the session's Debug");
    }
}

/// The transitions `ConnectionState` documents.
fn legal(from: &ConnectionState, to: &ConnectionState) -> bool {
    use ConnectionState as S;
    match (from, to) {
        (S::Idle | S::Closed | S::Failed { .. }, S::Connecting) => true,
        (
            S::Idle | S::Connecting | S::Connected | S::Reconnecting { .. } | S::Failed { .. },
            S::Closed,
        ) => true,
        (S::Connecting, S::Connected | S::Reconnecting { .. } | S::Failed { .. }) => true,
        (S::Connected, S::Reconnecting { .. } | S::Connecting | S::Failed { .. }) => true,
        // A network hint reschedules the next attempt.
        (S::Reconnecting { .. }, S::Connecting | S::Reconnecting { .. }) => true,
        _ => false,
    }
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(config) = config(&mut u) else { return };
    let Some(mut run) = Run::new(config) else { return };
    let mut steps = 0;
    while !u.is_empty() && steps < 200 {
        let Ok(op) = u.arbitrary::<Op>() else { break };
        run.step(op);
        steps += 1;
        run.steps = steps;
    }
    run.finish();
});
