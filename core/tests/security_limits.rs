//! Limits against a hostile server. Each bound the engine promises is pushed past on purpose:
//! on the session directly on virtual time (attachments, pending acks, the de-duplication
//! window, events flooded before CONNECT), and over real sockets against servers that misbehave
//! on purpose (oversized frames and messages, a frame header announcing a terabyte, servers that
//! never finish the handshake). The answer is always an error and, where the connection cannot
//! be trusted any more, a reconnect; never a panic, a hang or unbounded memory.

#[path = "support/hostile_server.rs"]
mod hostile_server;
mod support;

use futures_util::SinkExt;
use hostile_server::{drain, socket_io_handshake, HostileServer, Ws};
use serde_json::json;
use std::time::{Duration, Instant};
use support::wait;
use tether_core::session::DedupWindow;
use tether_core::{
    AckError, AckId, Client, Config, ConnectionState, ErrorKind, Event, Frame, OutgoingMessage,
    SendError, SendOptions, Session, Token,
};
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame as WsFrame;
use tokio_tungstenite::tungstenite::Message;

const OPEN: &str =
    r#"0{"sid":"e1","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A Socket.IO session on a virtual clock, playing both the driver and the server.
struct Machine {
    session: Session,
    now: Instant,
}

impl Machine {
    fn new(config: Config) -> Self {
        let now = Instant::now();
        let session = Session::new(config.with_rng_seed(3), now).unwrap_or_else(|e| panic!("{e}"));
        Self { session, now }
    }

    /// Connected to the main namespace.
    fn connected(config: Config) -> Self {
        let mut m = Self::open(config);
        m.text(OPEN);
        m.text(r#"40{"sid":"s"}"#);
        assert_eq!(m.session.state(), &ConnectionState::Connected);
        m.events();
        m
    }

    /// Transport open, handshake not started.
    fn open(config: Config) -> Self {
        let mut m = Self::new(config);
        m.session.connect(m.now);
        m.session.handle_transport_open(Some(&Token::new("t")), m.now);
        m
    }

    fn text(&mut self, text: &str) {
        self.session.handle_frame(Frame::Text(text.to_owned()), self.now);
    }

    fn binary(&mut self, bytes: Vec<u8>) {
        self.session.handle_frame(Frame::Binary(bytes), self.now);
    }

    fn advance(&mut self, by: Duration) {
        let target = self.now + by;
        while let Some(deadline) = self.session.poll_timeout() {
            if deadline > target {
                break;
            }
            self.now = self.now.max(deadline);
            self.session.handle_timeout(self.now);
        }
        self.now = target;
    }

    fn events(&mut self) -> Vec<Event> {
        while self.session.poll_transmit().is_some() {}
        while self.session.poll_action().is_some() {}
        std::iter::from_fn(|| self.session.poll_event()).collect()
    }

    fn send_with_ack(&mut self, event: &str) -> Result<Option<AckId>, SendError> {
        let message = OutgoingMessage::new(event, json!(1));
        self.session.send(message, SendOptions::with_ack(None), self.now)
    }
}

fn errors(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| if let Event::Error(e) = e { Some(e.message().to_owned()) } else { None })
        .collect()
}

fn messages(events: &[Event]) -> Vec<tether_core::IncomingMessage> {
    events
        .iter()
        .filter_map(|e| if let Event::Message(m) = e { Some(m.clone()) } else { None })
        .collect()
}

fn placeholders(count: usize) -> String {
    (0..count).map(|i| format!(r#",{{"_placeholder":true,"num":{i}}}"#)).collect()
}

#[test]
fn a_binary_event_announcing_ten_thousand_attachments_is_rejected_and_the_link_goes_on() {
    let mut m = Machine::connected(Config::new("ws://server.test"));
    m.text(&format!(r#"4510000-["flood"{}]"#, placeholders(3)));
    let events = m.events();
    let errors = errors(&events);
    assert_eq!(errors.len(), 1, "{events:?}");
    assert!(errors[0].contains("more than 64 binary attachments"), "{errors:?}");
    // The frames that follow belong to nothing: each is refused, none is held.
    for _ in 0..100 {
        m.binary(vec![0; 1024]);
    }
    let events = m.events();
    assert_eq!(errors_len(&events), 100);
    assert!(messages(&events).is_empty());
    m.text(r#"42["still-here"]"#);
    let delivered = messages(&m.events());
    assert_eq!(delivered.iter().map(|m| m.event.as_str()).collect::<Vec<_>>(), ["still-here"]);
    assert_eq!(m.session.state(), &ConnectionState::Connected);
}

fn errors_len(events: &[Event]) -> usize {
    errors(events).len()
}

#[test]
fn attachments_past_max_message_bytes_are_refused_as_they_arrive_not_after_the_last() {
    let config = Config::new("ws://server.test").with_size_limits(10_000, 10_000);
    let mut m = Machine::connected(config);
    m.text(&format!(r#"4564-["files"{}]"#, placeholders(64)));
    m.binary(vec![1; 6_000]);
    assert!(m.events().is_empty(), "within the bound: waits for the next attachment");
    m.binary(vec![2; 6_000]);
    let events = m.events();
    assert_eq!(errors(&events).len(), 1, "refused at the second attachment: {events:?}");
    assert!(errors(&events)[0].contains("exceed 10000 bytes"), "{events:?}");
    // The other 62 are not collected.
    for _ in 0..62 {
        m.binary(vec![3; 6_000]);
    }
    let events = m.events();
    assert!(messages(&events).is_empty());
    assert_eq!(errors(&events).len(), 62, "each later frame is an unexpected attachment");
    // A packet within the bound still arrives whole.
    m.text(&format!(r#"452-["small"{}]"#, placeholders(2)));
    m.binary(vec![4; 4_000]);
    m.binary(vec![5; 4_000]);
    let delivered = messages(&m.events());
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].binary, vec![vec![4; 4_000], vec![5; 4_000]]);
}

#[test]
fn pending_acks_stop_at_max_pending_acks_and_free_up_as_they_settle() {
    let config = Config::new("ws://server.test").with_max_pending_acks(3).with_ack_timeout(ms(500));
    let mut m = Machine::connected(config);
    let ids: Vec<AckId> =
        (0..3).map(|_| m.send_with_ack("q").ok().flatten().unwrap_or(AckId(0))).collect();
    assert_eq!(m.send_with_ack("q"), Err(SendError::TooManyPendingAcks { limit: 3 }));
    assert!(
        m.session.send(OutgoingMessage::new("q", json!(1)), SendOptions::default(), m.now).is_ok(),
        "sends without an ack are not limited by it"
    );
    // Answers for ids never issued, and a second answer for an id, change nothing.
    m.text(r#"43999["forged"]"#);
    m.text(&format!(r#"43{}["ok"]"#, ids[0].0));
    m.text(&format!(r#"43{}["again"]"#, ids[0].0));
    let settled: Vec<AckId> = m
        .events()
        .iter()
        .filter_map(|e| if let Event::AckSettled { id, .. } = e { Some(*id) } else { None })
        .collect();
    assert_eq!(settled, vec![ids[0]], "settled once, forgeries ignored");
    assert!(m.send_with_ack("q").is_ok(), "room again after an answer");
    assert_eq!(m.send_with_ack("q"), Err(SendError::TooManyPendingAcks { limit: 3 }));
    // A server that never answers: the acks time out and free their slots.
    m.advance(ms(600));
    let timed_out = m
        .events()
        .iter()
        .filter(|e| matches!(e, Event::AckSettled { result: Err(AckError::Timeout), .. }))
        .count();
    assert_eq!(timed_out, 3);
    assert_eq!(m.session.stats(m.now).pending_acks, 0);
    assert!(m.send_with_ack("q").is_ok());
}

#[test]
fn pending_acks_are_capped_while_offline_too() {
    let config = Config::new("ws://server.test").with_max_pending_acks(2);
    let mut m = Machine::new(config);
    assert!(m.send_with_ack("a").is_ok());
    assert!(m.send_with_ack("b").is_ok());
    assert_eq!(m.send_with_ack("c"), Err(SendError::TooManyPendingAcks { limit: 2 }));
    assert_eq!(m.session.outbox_len(), 2);
}

#[test]
fn the_dedup_window_stays_at_its_size_over_a_million_distinct_ids() {
    let mut window = DedupWindow::new(1024);
    for i in 0..1_000_000u32 {
        assert!(window.first_sighting(&format!("id-{i}")), "id-{i} is new");
        assert!(window.len() <= 1024);
    }
    assert_eq!(window.len(), 1024);
    assert!(!window.first_sighting("id-999999"), "the newest ids are remembered");
    assert!(!window.first_sighting("id-998976"), "all 1024 of them");
    assert!(window.first_sighting("id-0"), "the oldest were forgotten: memory is bounded");
}

#[test]
fn the_session_drops_duplicates_within_its_window_and_only_those() {
    let config = Config::new("ws://server.test").with_dedup(Some("messageId".into()), 16);
    let mut m = Machine::connected(config);
    for i in 0..10_000 {
        m.text(&format!(r#"42["note",{{"messageId":"m{i}"}}]"#));
        if i % 1000 == 0 {
            m.events();
        }
    }
    m.events();
    // The last 16 are remembered, the 17th from the end was forgotten.
    for i in 9_984..10_000 {
        m.text(&format!(r#"42["note",{{"messageId":"m{i}"}}]"#));
    }
    assert!(messages(&m.events()).is_empty(), "re-sends within the window are dropped");
    m.text(r#"42["note",{"messageId":"m9983"}]"#);
    assert_eq!(messages(&m.events()).len(), 1);
    let stats = m.session.stats(m.now);
    assert_eq!((stats.messages_in, stats.duplicates), (10_001, 16));
}

#[test]
fn events_flooded_before_the_connect_answer_are_bounded_in_count() {
    let mut m = Machine::open(Config::new("ws://server.test"));
    m.text(OPEN);
    for i in 0..12_000 {
        m.text(&format!(r#"42["flood",{i}]"#));
    }
    let early = m.events();
    assert!(messages(&early).is_empty(), "nothing is delivered before CONNECT");
    assert_eq!(errors(&early).len(), 2_000, "each event past the bound is reported");
    m.text(r#"40{"sid":"s"}"#);
    let delivered = messages(&m.events());
    assert_eq!(delivered.len(), 10_000, "the first ten thousand are kept, in order");
    assert!(delivered.iter().enumerate().all(|(i, m)| m.data == vec![json!(i)]));
}

#[test]
fn events_flooded_before_the_connect_answer_are_bounded_in_bytes() {
    let mut m = Machine::open(Config::new("ws://server.test"));
    m.text(OPEN);
    let filler = "x".repeat(100_000);
    for i in 0..200 {
        m.text(&format!(r#"42["flood",{i},"{filler}"]"#));
    }
    let early = m.events();
    assert!(!errors(&early).is_empty(), "past 8 MiB the events are dropped and reported");
    m.text(r#"40{"sid":"s"}"#);
    let delivered = messages(&m.events());
    let bytes: usize = delivered.iter().map(|m| m.size_hint()).sum();
    assert!(bytes <= 8 * 1024 * 1024, "{bytes} bytes held before CONNECT");
    assert!(delivered.len() >= 80, "the budget is not too stingy: {}", delivered.len());
}

#[test]
fn a_server_that_opens_but_never_accepts_hits_the_connect_timeout() {
    let mut m = Machine::open(Config::new("ws://server.test").with_connect_timeout(ms(2_000)));
    m.text(OPEN);
    m.advance(ms(1_999));
    assert_eq!(m.session.state(), &ConnectionState::Connecting);
    m.advance(ms(1));
    let events = m.events();
    assert!(errors(&events).iter().any(|e| e.contains("connect timed out")), "{events:?}");
    assert!(matches!(m.session.state(), ConnectionState::Reconnecting { .. }));
}

// ----- over real sockets -----

fn client(config: Config) -> Client {
    Client::new(config).unwrap_or_else(|e| panic!("{e}"))
}

fn quick(url: &str) -> Config {
    Config::new(url).with_reconnect_delays(ms(20), ms(100)).with_connect_timeout(ms(2_000))
}

/// Runs `misbehave` on the first connection after an honest handshake; later connections are
/// honest and stay open.
async fn misbehaving_once<F, Fut>(misbehave: F) -> HostileServer
where
    F: Fn(Ws) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let misbehave = std::sync::Arc::new(misbehave);
    HostileServer::websocket(move |n, mut ws| {
        let misbehave = misbehave.clone();
        async move {
            if !socket_io_handshake(&mut ws).await {
                return;
            }
            if n == 0 {
                misbehave(ws).await;
            } else {
                drain(&mut ws).await;
            }
        }
    })
    .await
}

/// Waits for an error that says `what`, then for the reconnect.
async fn error_then_reconnect(client: &Client, events: &mut tether_core::EventStream, what: &str) {
    let error = wait::event(events, what, |e| matches!(e, Event::Error(_))).await;
    let Event::Error(error) = error else { unreachable!() };
    assert!(error.message().contains(what), "{error}");
    wait::event(events, "the disconnect", |e| {
        matches!(e, Event::Disconnected { will_reconnect: true, .. })
    })
    .await;
    wait::event(events, "the reconnect", |e| matches!(e, Event::Connected { .. })).await;
    let stats = client.stats().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(stats.connect_count, 2);
}

#[tokio::test]
async fn an_oversized_frame_is_an_error_and_a_reconnect() {
    let server = misbehaving_once(|mut ws| async move {
        let huge = format!(r#"42["huge","{}"]"#, "x".repeat(2 * 1024 * 1024));
        let _ = ws.send(Message::text(huge)).await;
        drain(&mut ws).await;
    })
    .await;
    let client = client(quick(&server.url()));
    let mut events = client.events();
    client.connect().await.unwrap_or_else(|e| panic!("{e}"));
    error_then_reconnect(&client, &mut events, "size limit").await;
}

#[tokio::test]
async fn a_frame_header_announcing_a_terabyte_is_refused_before_any_allocation() {
    let server = misbehaving_once(|mut ws| async move {
        // FIN + binary, 64-bit length 2^40, and no payload: only the header is ever sent.
        let header = [0x82, 0x7f, 0, 0, 1, 0, 0, 0, 0, 0];
        let _ = ws.get_mut().write_all(&header).await;
        drain(&mut ws).await;
    })
    .await;
    let client = client(quick(&server.url()));
    let mut events = client.events();
    client.connect().await.unwrap_or_else(|e| panic!("{e}"));
    error_then_reconnect(&client, &mut events, "size limit").await;
}

#[tokio::test]
async fn a_message_split_into_small_frames_is_still_bounded_by_max_message_bytes() {
    let server = misbehaving_once(|mut ws| async move {
        // 100 KB in ten fragments of 10 KB, each under the 16 KiB frame limit.
        let piece = "x".repeat(10_000);
        for i in 0..10 {
            let opcode =
                if i == 0 { OpCode::Data(Data::Text) } else { OpCode::Data(Data::Continue) };
            let frame = WsFrame::message(piece.clone(), opcode, i == 9);
            if ws.send(Message::Frame(frame)).await.is_err() {
                return;
            }
        }
        drain(&mut ws).await;
    })
    .await;
    let config = quick(&server.url()).with_size_limits(64 * 1024, 16 * 1024);
    let client = client(config);
    let mut events = client.events();
    client.connect().await.unwrap_or_else(|e| panic!("{e}"));
    error_then_reconnect(&client, &mut events, "size limit").await;
}

#[tokio::test]
async fn a_server_that_accepts_tcp_but_never_upgrades_hits_the_connect_timeout() {
    let server = HostileServer::tcp(|_, stream| async move {
        // Hold the socket and say nothing.
        tokio::time::sleep(Duration::from_secs(60)).await;
        drop(stream);
    })
    .await;
    let client = client(quick(&server.url()).with_connect_timeout(ms(300)));
    let mut events = client.events();
    let started = tokio::time::Instant::now();
    client.start().await.unwrap_or_else(|e| panic!("{e}"));
    for _ in 0..2 {
        let error = wait::event(&mut events, "a timeout", |e| matches!(e, Event::Error(_))).await;
        let Event::Error(error) = error else { unreachable!() };
        assert_eq!(error.kind(), ErrorKind::Transport);
        assert!(error.message().contains("timed out"), "{error}");
    }
    assert!(started.elapsed() >= ms(600), "each attempt waited out its timeout");
    wait::until("a retry to reach the server", || server.accepted() >= 2).await;
    assert!(!client.state().borrow().is_connected());
}

#[tokio::test]
async fn a_server_that_upgrades_but_never_opens_hits_the_connect_timeout() {
    let server = HostileServer::websocket(|_, mut ws| async move { drain(&mut ws).await }).await;
    let client = client(quick(&server.url()).with_connect_timeout(ms(300)));
    let mut events = client.events();
    client.start().await.unwrap_or_else(|e| panic!("{e}"));
    for _ in 0..2 {
        let error = wait::event(&mut events, "a timeout", |e| matches!(e, Event::Error(_))).await;
        let Event::Error(error) = error else { unreachable!() };
        assert!(error.message().contains("connect timed out"), "{error}");
    }
    wait::until("a retry", || server.accepted() >= 2).await;
    assert!(!client.state().borrow().is_connected());
}
