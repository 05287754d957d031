//! The session on virtual time: a [`Harness`] that plays the driver and the server around a
//! sans-IO [`Session`], with a clock the test moves by hand. Used by `session_machine/` (which
//! takes its names through the re-exports below) and `session_durable.rs`.

// The re-exports serve session_machine's modules; other test binaries use the harness alone.
#![allow(unused_imports)]

pub use serde_json::json;
pub use std::time::{Duration, Instant};
pub use tether_core::{
    AckError, AckId, Action, Config, ConnectionState, DisconnectReason, DropReason, Event,
    FailureReason, Frame, Health, Jitter, OutgoingMessage, OverflowPolicy, Quality,
    RawWebSocketConfig, SendError, SendOptions, Session, Token, TokenError, TransportError,
    TransportKind,
};

pub const OPEN: &str =
    r#"0{"sid":"e1","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;

pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A session and its clock, with helpers that play the driver and the server.
pub struct Harness {
    pub session: Session,
    pub now: Instant,
    pub events: Vec<Event>,
    pub sent: Vec<Frame>,
    pub actions: Vec<Action>,
}

impl Harness {
    pub fn new(config: Config) -> Self {
        let now = Instant::now();
        let session =
            Session::new(config.with_rng_seed(7), now).unwrap_or_else(|e| panic!("config: {e}"));
        Self { session, now, events: Vec::new(), sent: Vec::new(), actions: Vec::new() }
    }

    pub fn raw() -> Self {
        Self::new(raw_config())
    }

    pub fn socket_io() -> Self {
        Self::new(Config::new("ws://server.test"))
    }

    /// Collects every output produced so far.
    pub fn drain(&mut self) {
        while let Some(a) = self.session.poll_action() {
            self.actions.push(a);
        }
        while let Some(f) = self.session.poll_transmit() {
            self.sent.push(f);
        }
        while let Some(e) = self.session.poll_event() {
            self.events.push(e);
        }
    }

    pub fn take_events(&mut self) -> Vec<Event> {
        self.drain();
        std::mem::take(&mut self.events)
    }

    pub fn take_sent(&mut self) -> Vec<Frame> {
        self.drain();
        std::mem::take(&mut self.sent)
    }

    pub fn take_actions(&mut self) -> Vec<Action> {
        self.drain();
        std::mem::take(&mut self.actions)
    }

    pub fn states(&mut self) -> Vec<ConnectionState> {
        self.take_events()
            .into_iter()
            .filter_map(|e| if let Event::StateChanged(s) = e { Some(s) } else { None })
            .collect()
    }

    /// Moves the clock to `now + by`, firing every deadline on the way, in order.
    pub fn advance(&mut self, by: Duration) {
        let target = self.now + by;
        while let Some(deadline) = self.session.poll_timeout() {
            if deadline > target {
                break;
            }
            self.now = self.now.max(deadline);
            self.session.handle_timeout(self.now);
            self.drain();
        }
        self.now = target;
    }

    /// The driver opened the transport it was asked for.
    pub fn open_transport(&mut self) {
        let opens = self
            .take_actions()
            .into_iter()
            .filter(|a| matches!(a, Action::OpenTransport { .. }))
            .count();
        assert!(opens >= 1, "the session did not ask to open a transport");
        self.session.handle_transport_open(Some(&Token::new("tok")), self.now);
        self.drain();
    }

    /// Completes a Socket.IO handshake for the main namespace.
    pub fn socket_io_handshake(&mut self, pid: &str) {
        self.open_transport();
        self.server_handshake(pid);
    }

    /// The server's side of the handshake, on an open transport.
    pub fn server_handshake(&mut self, pid: &str) {
        self.frame_in(OPEN);
        self.frame_in(&format!(r#"40{{"sid":"s","pid":"{pid}"}}"#));
    }

    pub fn connect_raw(&mut self) {
        self.session.connect(self.now);
        self.open_transport();
        assert_eq!(self.session.state(), &ConnectionState::Connected);
    }

    pub fn connect_socket_io(&mut self) {
        self.session.connect(self.now);
        self.socket_io_handshake("p1");
        assert_eq!(self.session.state(), &ConnectionState::Connected);
    }

    pub fn frame_in(&mut self, text: &str) {
        self.session.handle_frame(Frame::Text(text.to_owned()), self.now);
        self.drain();
    }

    pub fn cut(&mut self) {
        self.session
            .handle_transport_error(TransportError::Io("connection reset".into()), self.now);
        self.drain();
    }

    pub fn retry_at(&self) -> Instant {
        match self.session.state() {
            ConnectionState::Reconnecting { retry_at, .. } => *retry_at,
            other => panic!("not reconnecting: {other:?}"),
        }
    }

    pub fn texts(&mut self) -> Vec<String> {
        self.take_sent()
            .into_iter()
            .filter_map(|f| if let Frame::Text(t) = f { Some(t) } else { None })
            .collect()
    }
}

pub fn raw_config() -> Config {
    Config::new("ws://server.test").with_raw_websocket(RawWebSocketConfig { room_messages: true })
}

pub fn text(n: u64) -> OutgoingMessage {
    OutgoingMessage::text(format!("m{n}"))
}
