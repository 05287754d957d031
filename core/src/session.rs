//! The connection state machine. Sans-IO: it never touches a socket or a clock. The driver feeds
//! it inputs (`connect`, `send`, `handle_frame`, `handle_timeout`, ... each with `now`) and
//! carries out its outputs (`poll_action`, `poll_transmit`, `poll_event`, `poll_timeout`).
//! Because time is an argument, a test can run an hour of flaky network in milliseconds.

use crate::acks::{AckPurpose, PendingAck, PendingAcks};
use crate::config::{Config, ProtocolConfig};
use crate::connection_state::{ConnectionState, DisconnectReason, FailureReason};
use crate::dedup::DedupWindow;
use crate::error::{AckError, ConfigError, Error, ErrorKind, SendError, TransportError};
use crate::event::Event;
use crate::health::{Health, HealthMonitor, Quality};
use crate::message::{AckId, AckReply, Frame, IncomingMessage, OutgoingMessage};
use crate::outbox::{DropReason, Outbox, OverflowPolicy, PushOutcome, QueuedMessage};
use crate::protocol::{Protocol, ProtocolEvent, ProtocolOutput, TransportRequest};
use crate::raw_websocket::RawWebSocket;
use crate::rooms::RoomSet;
use crate::rtt::RttEstimator;
use crate::socketio_protocol::SocketIo;
use crate::stats::{Counters, Stats};
use crate::token::Token;
use std::collections::VecDeque;
use std::time::{Duration, Instant};
use url::Url;

/// Pings remembered while waiting for their pongs; beyond this the link is dead anyway.
const MAX_OUTSTANDING_PINGS: usize = 8;

/// Something only the driver can do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Get a token, then open a transport to this URL (via [`Session::transport_request`]) and
    /// report back with `handle_transport_open` or `handle_transport_error`.
    OpenTransport {
        /// Which configured URL.
        url: Url,
    },
    /// Write what is pending, then close the transport (or abandon an open in progress).
    CloseTransport,
}

/// How a send should be acknowledged and delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SendOptions {
    /// Ask for an acknowledgement. `Some(None)` uses the configured `ack_timeout`.
    pub ack: Option<Option<Duration>>,
    /// Re-send after a reconnect if the acknowledgement had not come (`None`: the configured
    /// `at_least_once`). Only meaningful with `ack`.
    pub at_least_once: Option<bool>,
    /// Never queue: refused with [`SendError::NotConnected`] unless connected now (Socket.IO's
    /// "volatile"; for cursor positions and other state that is stale by the time it could go).
    pub volatile: bool,
}

impl SendOptions {
    /// No acknowledgement (fire and forget; still queued while offline).
    pub fn fire_and_forget() -> Self {
        Self::default()
    }

    /// An acknowledgement with the configured or the given timeout.
    pub fn with_ack(timeout: Option<Duration>) -> Self {
        Self { ack: Some(timeout), ..Self::default() }
    }

    /// Sent only if connected right now, never queued.
    pub fn volatile() -> Self {
        Self { volatile: true, ..Self::default() }
    }

    /// An acknowledgement, re-sent after reconnects until it comes or times out.
    pub fn at_least_once(timeout: Option<Duration>) -> Self {
        Self { ack: Some(timeout), at_least_once: Some(true), ..Self::default() }
    }
}

/// Where the current connection attempt is (finer than [`ConnectionState`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No transport and no attempt scheduled (Idle, Closed, Failed).
    Down,
    /// Waiting for the driver to open the transport; gives up at the deadline.
    Opening { deadline: Instant },
    /// Transport open, protocol handshake under way.
    Handshaking { deadline: Instant },
    /// Connected.
    Ready { since: Instant },
    /// Waiting out the backoff.
    Waiting { retry_at: Instant },
}

/// Heartbeat bookkeeping for the current connection.
#[derive(Debug, Clone, Default)]
struct Heartbeat {
    next_ping_at: Option<Instant>,
    /// Pings whose pongs we wait for: sequence numbers and when they left. Several, because on
    /// a link slower than the interval the next ping leaves before the last pong is back.
    outstanding: VecDeque<(u64, Instant)>,
    /// The first ping sent since anything was last received: the dead-connection clock.
    first_unanswered_at: Option<Instant>,
    /// Pings sent since anything was last received.
    unanswered: u32,
    sequence: u64,
}

/// The connection state machine. See the module docs.
#[derive(Debug)]
pub struct Session {
    config: Config,
    urls: Vec<Url>,
    url_index: usize,
    failures_on_url: u32,
    protocol: Box<dyn Protocol>,
    rng: fastrand::Rng,
    state: ConnectionState,
    phase: Phase,
    attempt: u32,
    ever_connected: bool,
    network_available: bool,
    last_rx: Instant,
    heartbeat: Heartbeat,
    rtt: RttEstimator,
    health: HealthMonitor,
    current_health: (Health, Quality),
    outbox: Outbox,
    acks: PendingAcks,
    rooms: RoomSet,
    /// Rooms left while offline: sent after a recovered reconnect, where the server kept them.
    pending_leaves: Vec<String>,
    dedup: Option<DedupWindow>,
    counters: Counters,
    last_error: String,
    transmit: VecDeque<Frame>,
    actions: VecDeque<Action>,
    events: VecDeque<Event>,
}

impl Session {
    /// A session for `config`, speaking the protocol the config names. Validates the config.
    pub fn new(config: Config, now: Instant) -> Result<Self, ConfigError> {
        config.validate()?;
        let protocol: Box<dyn Protocol> = match &config.protocol {
            ProtocolConfig::RawWebSocket(options) => Box::new(RawWebSocket::new(options.clone())),
            ProtocolConfig::SocketIo(options) => {
                Box::new(SocketIo::new(options.clone(), config.max_message_bytes))
            }
        };
        Self::with_protocol(config, protocol, now)
    }

    /// A session speaking a protocol of the caller's (the config's `protocol` is ignored).
    pub fn with_protocol(
        config: Config,
        protocol: Box<dyn Protocol>,
        now: Instant,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        let urls = config.parsed_urls()?;
        let rng = config.rng_seed.map_or_else(fastrand::Rng::new, fastrand::Rng::with_seed);
        Ok(Self {
            urls,
            url_index: 0,
            failures_on_url: 0,
            protocol,
            rng,
            state: ConnectionState::Idle,
            phase: Phase::Down,
            attempt: 0,
            ever_connected: false,
            network_available: true,
            last_rx: now,
            heartbeat: Heartbeat::default(),
            rtt: RttEstimator::new(config.latency_window),
            health: HealthMonitor::new(config.health.clone()),
            current_health: (Health::Disconnected, Quality::Offline),
            outbox: Outbox::new(
                config.outbox_max_messages,
                config.outbox_max_bytes,
                config.outbox_overflow,
            ),
            acks: PendingAcks::new(),
            rooms: RoomSet::new(),
            pending_leaves: Vec::new(),
            dedup: config.dedup_field.as_ref().map(|_| DedupWindow::new(config.dedup_window)),
            counters: Counters::default(),
            last_error: String::new(),
            transmit: VecDeque::new(),
            actions: VecDeque::new(),
            events: VecDeque::new(),
            config,
        })
    }

    // ----- what the app asks -----

    /// Starts connecting (from Idle, Closed or Failed); in Reconnecting, tries now.
    pub fn connect(&mut self, now: Instant) {
        match self.state {
            ConnectionState::Idle | ConnectionState::Closed | ConnectionState::Failed { .. } => {
                self.attempt = 0;
                self.failures_on_url = 0;
                self.begin_attempt(now);
            }
            ConnectionState::Reconnecting { .. } => self.retry_now(now),
            ConnectionState::Connecting | ConnectionState::Connected => {}
        }
    }

    /// Closes for good: says goodbye if connected, fails pending acknowledgements, drops the
    /// outbox (reported), and never reconnects until `connect` is called again.
    pub fn disconnect(&mut self, now: Instant) {
        if self.state == ConnectionState::Closed {
            return;
        }
        if matches!(self.phase, Phase::Ready { .. }) {
            let mut out = ProtocolOutput::default();
            self.protocol.encode_goodbye(&mut out);
            self.transmit.extend(out.frames);
        }
        self.shut_down(ConnectionState::Closed, DisconnectReason::ClientRequested, now);
    }

    /// Drops the current connection (if any) and connects again without waiting for backoff.
    pub fn reconnect_now(&mut self, now: Instant) {
        match self.phase {
            Phase::Ready { .. } | Phase::Opening { .. } | Phase::Handshaking { .. } => {
                self.lose_connection(DisconnectReason::ReconnectRequested, now);
                self.retry_now(now);
            }
            Phase::Waiting { .. } => self.retry_now(now),
            Phase::Down => self.connect(now),
        }
    }

    /// The app learned the network went away or came back (OS reachability callbacks).
    /// Back: retry now instead of at the next backoff slot. Gone: stop retrying except every
    /// `offline_retry_interval`; a live connection is probed with a ping at once.
    pub fn network_available(&mut self, available: bool, now: Instant) {
        let was = std::mem::replace(&mut self.network_available, available);
        match (available, self.phase) {
            (true, Phase::Waiting { .. }) if !was => self.retry_now(now),
            (false, Phase::Waiting { .. }) => {
                let attempt = self.attempt;
                self.schedule(attempt, now + self.config.offline_retry_interval);
            }
            (_, Phase::Ready { .. }) => self.probe(now),
            _ => {}
        }
        self.refresh_health(now);
    }

    /// The app came to the foreground or went to the background. Foreground: retry now if
    /// reconnecting, probe the connection if connected (it may have died while suspended).
    pub fn app_foreground(&mut self, foreground: bool, now: Instant) {
        if !foreground {
            return;
        }
        match self.phase {
            Phase::Waiting { .. } if self.network_available => self.retry_now(now),
            Phase::Ready { .. } => self.probe(now),
            _ => {}
        }
        self.refresh_health(now);
    }

    /// Sends a message now if connected, else queues it in the outbox. Returns the ack id when
    /// an acknowledgement was requested; its answer comes as [`Event::AckSettled`].
    pub fn send(
        &mut self,
        message: OutgoingMessage,
        options: SendOptions,
        now: Instant,
    ) -> Result<Option<AckId>, SendError> {
        if self.state == ConnectionState::Closed {
            return Err(SendError::Closed);
        }
        let size = message.size_hint();
        if size > self.config.max_message_bytes {
            return Err(SendError::TooLarge { size, limit: self.config.max_message_bytes });
        }
        self.protocol.check(&message)?;
        if options.volatile && !matches!(self.phase, Phase::Ready { .. }) {
            return Err(SendError::NotConnected);
        }
        let ack = match options.ack {
            None => None,
            Some(timeout) => {
                if !self.protocol.supports_acks() {
                    return Err(SendError::Unsupported {
                        protocol: self.protocol.name(),
                        what: "acknowledgements",
                    });
                }
                if self.acks.len() >= self.config.max_pending_acks {
                    return Err(SendError::TooManyPendingAcks {
                        limit: self.config.max_pending_acks,
                    });
                }
                // "Never" (`Duration::MAX`) means a year: `now + MAX` would not be an instant.
                let timeout =
                    timeout.unwrap_or(self.config.ack_timeout).min(crate::config::MAX_DURATION);
                let reliable = options.at_least_once.unwrap_or(self.config.at_least_once);
                Some((now + timeout, reliable))
            }
        };
        if matches!(self.phase, Phase::Ready { .. }) {
            let id = ack.map(|(deadline, reliable)| {
                self.register_message_ack(&message, deadline, reliable, true)
            });
            self.counters.messages_sent += 1;
            self.write_message(&message, id, now);
            return Ok(id);
        }
        if self.config.outbox_overflow == OverflowPolicy::Reject
            && self.outbox.len() >= self.config.outbox_max_messages
        {
            return Err(SendError::QueueFull { queued: self.outbox.len() });
        }
        let id = ack.map(|(deadline, reliable)| {
            self.register_message_ack(&message, deadline, reliable, false)
        });
        let expires_at = self.config.outbox_ttl.map(|ttl| now + ttl);
        let queued = QueuedMessage { message, ack: id, expires_at, size };
        match self.outbox.push(queued) {
            PushOutcome::Queued(dropped) => {
                self.counters.messages_sent += 1;
                for old in dropped {
                    self.report_drop(old, DropReason::Overflow);
                }
                Ok(id)
            }
            PushOutcome::NotQueued(item, reason) => {
                if reason == DropReason::TooLarge
                    || self.config.outbox_overflow == OverflowPolicy::Reject
                {
                    // Refused, not accepted: the caller gets the error and nothing is reported.
                    if let Some(id) = item.ack {
                        self.acks.settle(id);
                    }
                    return Err(match reason {
                        DropReason::TooLarge => {
                            SendError::TooLarge { size, limit: self.config.outbox_max_bytes }
                        }
                        _ => SendError::QueueFull { queued: self.outbox.len() },
                    });
                }
                // DropNewest: accepted, then dropped, and reported like every other drop.
                self.counters.messages_sent += 1;
                let ack = item.ack;
                self.report_drop(item, reason);
                Ok(ack)
            }
        }
    }

    /// Answers a server message that asked for an acknowledgement (its `ack_id`).
    pub fn ack(
        &mut self,
        namespace: &str,
        ack_id: u64,
        reply: AckReply,
        _now: Instant,
    ) -> Result<(), SendError> {
        if !matches!(self.phase, Phase::Ready { .. }) {
            return Err(SendError::NotConnected);
        }
        let mut out = ProtocolOutput::default();
        self.protocol.encode_ack_reply(namespace, ack_id, &reply, &mut out)?;
        self.take_frames(out);
        Ok(())
    }

    /// Joins a room: remembered across reconnects and re-joined after each, in join order,
    /// before the outbox flushes. Returns true when a join went out now (so a
    /// [`Event::RoomJoined`] or [`Event::RoomJoinFailed`] will follow); false when the room was
    /// already joined or the client is offline (it is joined on connect).
    pub fn join(&mut self, room: &str, now: Instant) -> Result<bool, SendError> {
        if !self.protocol.supports_rooms() {
            return Err(SendError::Unsupported { protocol: self.protocol.name(), what: "rooms" });
        }
        self.pending_leaves.retain(|r| r != room);
        if self.rooms.insert(room) && matches!(self.phase, Phase::Ready { .. }) {
            self.send_join(room.to_owned(), now);
            return Ok(true);
        }
        Ok(false)
    }

    /// Leaves a room (no longer re-joined).
    pub fn leave(&mut self, room: &str, _now: Instant) -> Result<(), SendError> {
        if !self.protocol.supports_rooms() {
            return Err(SendError::Unsupported { protocol: self.protocol.name(), what: "rooms" });
        }
        if !self.rooms.remove(room) {
            return Ok(());
        }
        if matches!(self.phase, Phase::Ready { .. }) {
            let mut out = ProtocolOutput::default();
            self.protocol.encode_leave(room, None, &mut out)?;
            self.take_frames(out);
        } else {
            self.pending_leaves.push(room.to_owned());
        }
        Ok(())
    }

    /// Empties the outbox; every message is reported dropped (`Cleared`).
    pub fn clear_outbox(&mut self) -> usize {
        let cleared = self.outbox.clear();
        let count = cleared.len();
        for item in cleared {
            self.report_drop(item, DropReason::Cleared);
        }
        count
    }

    /// Messages waiting in the outbox.
    pub fn outbox_len(&self) -> usize {
        self.outbox.len()
    }

    /// Applies a new config at run time (seed 000's `updateConfig`). Backoff, heartbeat, health,
    /// outbox, ack and size settings take effect at once; URLs at the next connect. The protocol
    /// cannot change on a live client.
    pub fn update_config(&mut self, config: Config, now: Instant) -> Result<(), ConfigError> {
        config.validate()?;
        if std::mem::discriminant(&config.protocol) != std::mem::discriminant(&self.config.protocol)
        {
            return Err(ConfigError::new(
                "protocol",
                "cannot change on a running client; create a new client",
            ));
        }
        let urls = config.parsed_urls()?;
        if urls != self.urls {
            self.urls = urls;
            self.url_index = 0;
            self.failures_on_url = 0;
        }
        self.rtt.set_window_size(config.latency_window);
        self.health.set_thresholds(config.health.clone());
        for item in self.outbox.set_limits(
            config.outbox_max_messages,
            config.outbox_max_bytes,
            config.outbox_overflow,
        ) {
            self.report_drop(item, DropReason::Overflow);
        }
        if config.dedup_field != self.config.dedup_field
            || config.dedup_window != self.config.dedup_window
        {
            self.dedup = config.dedup_field.as_ref().map(|_| DedupWindow::new(config.dedup_window));
        }
        if let Some(seed) = config.rng_seed.filter(|s| Some(*s) != self.config.rng_seed) {
            self.rng = fastrand::Rng::with_seed(seed);
        }
        if let (Phase::Ready { .. }, Some(next)) = (self.phase, self.heartbeat.next_ping_at) {
            self.heartbeat.next_ping_at = Some(next.min(now + config.heartbeat_interval));
        }
        self.config = config;
        self.refresh_health(now);
        Ok(())
    }

    // ----- what the driver reports -----

    /// The URL and headers to open for an [`Action::OpenTransport`], with the provider's token.
    pub fn transport_request(&self, url: &Url, token: Option<&Token>) -> TransportRequest {
        self.protocol.transport_request(url, token)
    }

    /// The transport opened (the token is the one used for it, for the protocol handshake).
    pub fn handle_transport_open(&mut self, token: Option<&Token>, now: Instant) {
        let Phase::Opening { deadline } = self.phase else { return };
        self.phase = Phase::Handshaking { deadline };
        self.last_rx = now;
        let mut out = ProtocolOutput::default();
        self.protocol.on_open(token, now, &mut out);
        self.absorb(out, now);
        self.refresh_health(now);
    }

    /// Opening the transport, or the open transport, failed.
    pub fn handle_transport_error(&mut self, error: TransportError, now: Instant) {
        if matches!(self.phase, Phase::Down | Phase::Waiting { .. }) {
            return;
        }
        self.record_error(Error::from(error.clone()), now);
        if error.is_permanent() {
            let reason = match error {
                TransportError::InvalidUrl(why) => FailureReason::InvalidUrl(why),
                other => FailureReason::AuthRejected(other.to_string()),
            };
            self.fail(reason, now);
            return;
        }
        self.last_error = error.to_string();
        self.lose_connection(DisconnectReason::TransportClosed(error.to_string()), now);
    }

    /// The token provider failed instead of giving a token.
    pub fn handle_token_error(&mut self, error: crate::TokenError, now: Instant) {
        if !matches!(self.phase, Phase::Opening { .. }) {
            return;
        }
        self.record_error(Error::new(ErrorKind::AuthRejected, error.to_string()), now);
        match error {
            crate::TokenError::Unauthorized(why) => {
                self.fail(FailureReason::AuthRejected(why), now)
            }
            crate::TokenError::Unavailable(why) => {
                self.last_error = format!("token unavailable: {why}");
                self.lose_connection(
                    DisconnectReason::TransportClosed(self.last_error.clone()),
                    now,
                );
            }
        }
    }

    /// The transport closed (EOF or close frame) without an error.
    pub fn handle_transport_closed(&mut self, now: Instant) {
        if matches!(self.phase, Phase::Down | Phase::Waiting { .. }) {
            return;
        }
        self.last_error = "connection closed by peer".to_owned();
        self.lose_connection(DisconnectReason::TransportClosed(self.last_error.clone()), now);
    }

    /// A frame arrived.
    pub fn handle_frame(&mut self, frame: Frame, now: Instant) {
        if !matches!(self.phase, Phase::Handshaking { .. } | Phase::Ready { .. }) {
            return;
        }
        self.last_rx = now;
        self.counters.bytes_in += frame.len() as u64;
        // Anything from the server proves the path is alive, pong or not.
        self.heartbeat.first_unanswered_at = None;
        self.heartbeat.unanswered = 0;
        match frame {
            Frame::Pong(payload) => {
                let answered = self
                    .heartbeat
                    .outstanding
                    .iter()
                    .position(|(seq, _)| payload == seq.to_be_bytes());
                if let Some(index) = answered {
                    if let Some((_, sent_at)) = self.heartbeat.outstanding.get(index) {
                        self.rtt.record(now.saturating_duration_since(*sent_at));
                    }
                    // Pongs come back in order: older pings will never be answered now.
                    self.heartbeat.outstanding.drain(..=index);
                }
            }
            // The WebSocket library answers pings itself.
            Frame::Ping(_) => {}
            other => {
                let mut out = ProtocolOutput::default();
                self.protocol.on_frame(other, now, &mut out);
                self.absorb(out, now);
            }
        }
        self.refresh_health(now);
    }

    /// A deadline from [`Session::poll_timeout`] passed (calling it early is harmless).
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.phase {
            Phase::Opening { deadline } | Phase::Handshaking { deadline } if now >= deadline => {
                self.last_error = "connect timed out".to_owned();
                self.record_error(Error::new(ErrorKind::Transport, "connect timed out"), now);
                self.lose_connection(DisconnectReason::ConnectTimeout, now);
            }
            Phase::Waiting { retry_at } if now >= retry_at => {
                self.counters.reconnect_attempts += 1;
                self.begin_attempt(now);
            }
            Phase::Ready { .. } => self.heartbeat_tick(now),
            _ => {}
        }
        for (id, ack) in self.acks.expire(now) {
            self.outbox.remove_by_ack(id);
            self.settle_failed(id, ack, AckError::Timeout);
        }
        for item in self.outbox.expire(now) {
            self.report_drop(item, DropReason::Expired);
        }
        self.refresh_health(now);
    }

    // ----- what the driver does -----

    /// The next thing only the driver can do.
    pub fn poll_action(&mut self) -> Option<Action> {
        pop_or_release(&mut self.actions)
    }

    /// The next frame to write.
    pub fn poll_transmit(&mut self) -> Option<Frame> {
        pop_or_release(&mut self.transmit)
    }

    /// The next event for the app.
    pub fn poll_event(&mut self) -> Option<Event> {
        pop_or_release(&mut self.events)
    }

    /// When `handle_timeout` must be called next (`None`: only on input).
    pub fn poll_timeout(&self) -> Option<Instant> {
        let heartbeat_timeout = self.config.heartbeat_timeout;
        let phase_deadline = match self.phase {
            Phase::Opening { deadline } | Phase::Handshaking { deadline } => Some(deadline),
            Phase::Waiting { retry_at } => Some(retry_at),
            Phase::Ready { .. } => {
                let dead_at = self.heartbeat.first_unanswered_at.map(|t| t + heartbeat_timeout);
                let late_at = self
                    .heartbeat
                    .first_unanswered_at
                    .filter(|_| self.heartbeat.unanswered == 1)
                    .map(|t| t + heartbeat_timeout / 2);
                let silent_at = self.protocol.liveness_timeout().map(|t| self.last_rx + t);
                [self.heartbeat.next_ping_at, dead_at, late_at, silent_at]
                    .into_iter()
                    .flatten()
                    .min()
            }
            Phase::Down => None,
        };
        [
            phase_deadline,
            self.acks.next_deadline(),
            self.outbox.next_expiry(),
            self.health.next_expiry(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    // ----- what the app reads -----

    /// The connection state.
    pub fn state(&self) -> &ConnectionState {
        &self.state
    }

    /// Health and quality now.
    pub fn health(&self) -> (Health, Quality) {
        self.current_health
    }

    /// The rooms joined, in join order.
    pub fn rooms(&self) -> impl Iterator<Item = &str> {
        self.rooms.iter()
    }

    /// The config in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// A snapshot of every counter.
    pub fn stats(&self, now: Instant) -> Stats {
        let c = &self.counters;
        let uptime = match self.phase {
            Phase::Ready { since } => Some(now.saturating_duration_since(since)),
            _ => None,
        };
        Stats {
            connected: self.state.is_connected(),
            state: self.state.clone(),
            health: self.current_health.0,
            quality: self.current_health.1,
            uptime,
            connect_count: c.connect_count,
            reconnect_attempts: c.reconnect_attempts,
            error_count: c.error_count,
            latency: self.rtt.stats(),
            messages_sent: c.messages_sent,
            messages_out: c.messages_out,
            messages_in: c.messages_in,
            bytes_out: c.bytes_out,
            bytes_in: c.bytes_in,
            queued: self.outbox.len(),
            queued_bytes: self.outbox.bytes(),
            dropped: c.dropped,
            duplicates: c.duplicates,
            acked: c.acked,
            ack_failed: c.ack_failed,
            pending_acks: self.acks.len(),
            in_flight: self.acks.messages_in_flight(),
            rooms: self.rooms.len(),
        }
    }

    // ----- internals -----

    fn begin_attempt(&mut self, now: Instant) {
        let Some(url) = self.urls.get(self.url_index).or_else(|| self.urls.first()).cloned() else {
            self.fail(FailureReason::InvalidUrl("no URL configured".into()), now);
            return;
        };
        self.phase = Phase::Opening { deadline: now + self.config.connect_timeout };
        self.set_state(ConnectionState::Connecting);
        self.actions.push_back(Action::OpenTransport { url });
    }

    fn retry_now(&mut self, now: Instant) {
        self.counters.reconnect_attempts += 1;
        self.begin_attempt(now);
    }

    fn schedule(&mut self, attempt: u32, retry_at: Instant) {
        self.phase = Phase::Waiting { retry_at };
        self.set_state(ConnectionState::Reconnecting { attempt, retry_at });
    }

    /// The connection (or the attempt) is gone; decide whether and when to try again.
    fn lose_connection(&mut self, reason: DisconnectReason, now: Instant) {
        let was_ready = match self.phase {
            Phase::Ready { since } => {
                if now.saturating_duration_since(since) >= self.config.backoff_reset_after {
                    self.attempt = 0;
                }
                true
            }
            Phase::Down | Phase::Waiting { .. } => return,
            Phase::Opening { .. } | Phase::Handshaking { .. } => false,
        };
        self.drop_transport();
        self.fail_in_flight_acks();
        if was_ready {
            self.events
                .push_back(Event::Disconnected { reason: reason.clone(), will_reconnect: true });
        }
        if reason == DisconnectReason::ReconnectRequested {
            self.phase = Phase::Down;
            return;
        }
        self.failures_on_url += 1;
        if self.failures_on_url >= self.config.failover_after && self.urls.len() > 1 {
            self.url_index = (self.url_index + 1) % self.urls.len();
            self.failures_on_url = 0;
        }
        if !self.ever_connected && !self.config.retry_initial_connect {
            self.fail(FailureReason::InitialConnectFailed(self.last_error.clone()), now);
            return;
        }
        self.attempt = self.attempt.saturating_add(1);
        if let Some(max) = self.config.backoff.max_attempts {
            if self.attempt > max {
                let reason = FailureReason::AttemptsExhausted {
                    attempts: max,
                    last_error: self.last_error.clone(),
                };
                self.fail(reason, now);
                return;
            }
        }
        let delay = if self.network_available {
            self.config.backoff.delay(self.attempt, &mut self.rng)
        } else {
            self.config.offline_retry_interval
        };
        self.schedule(self.attempt, now + delay);
    }

    /// Close the transport and forget everything that belonged to it.
    fn drop_transport(&mut self) {
        self.actions.push_back(Action::CloseTransport);
        self.protocol.on_close();
        // Frames not yet written die with the socket, like bytes in a dead TCP buffer; acked
        // ones are failed or re-sent below.
        self.transmit.clear();
        self.heartbeat = Heartbeat { sequence: self.heartbeat.sequence, ..Heartbeat::default() };
    }

    fn fail_in_flight_acks(&mut self) {
        let loss = self.acks.connection_lost();
        for (id, ack) in loss.failed {
            self.settle_failed(id, ack, AckError::ConnectionLost);
        }
        let resend: Vec<QueuedMessage> = loss
            .resend
            .into_iter()
            .map(|(id, message, deadline)| {
                let size = message.size_hint();
                QueuedMessage { message, ack: Some(id), expires_at: deadline, size }
            })
            .collect();
        self.outbox.push_front_all(resend);
    }

    fn fail(&mut self, reason: FailureReason, now: Instant) {
        let disconnect = DisconnectReason::TransportClosed(reason.to_string());
        self.shut_down(ConnectionState::Failed { reason }, disconnect, now);
    }

    /// Ends the connection without retrying: `Closed` (drops the outbox) or `Failed` (keeps it
    /// for the app's next `connect`).
    fn shut_down(&mut self, state: ConnectionState, reason: DisconnectReason, now: Instant) {
        let was_up = !matches!(self.phase, Phase::Down | Phase::Waiting { .. });
        let was_ready = matches!(self.phase, Phase::Ready { .. });
        if was_up {
            self.actions.push_back(Action::CloseTransport);
            self.protocol.on_close();
            self.heartbeat =
                Heartbeat { sequence: self.heartbeat.sequence, ..Heartbeat::default() };
        }
        self.phase = Phase::Down;
        let closing = state == ConnectionState::Closed;
        if closing {
            // Queued messages first: they count as dropped; then what was in flight fails.
            for item in self.outbox.clear() {
                self.report_drop(item, DropReason::Closed);
            }
            for (id, ack) in self.acks.drain() {
                self.settle_failed(id, ack, AckError::Closed);
            }
        } else {
            self.fail_in_flight_acks();
        }
        if was_ready {
            self.events.push_back(Event::Disconnected { reason, will_reconnect: false });
        }
        self.set_state(state);
        self.refresh_health(now);
    }

    fn absorb(&mut self, out: ProtocolOutput, now: Instant) {
        let ProtocolOutput { frames, events } = out;
        self.take_frames(ProtocolOutput { frames, events: VecDeque::new() });
        for event in events {
            self.on_protocol_event(event, now);
        }
    }

    fn take_frames(&mut self, out: ProtocolOutput) {
        for frame in out.frames {
            self.counters.bytes_out += frame.len() as u64;
            self.transmit.push_back(frame);
        }
    }

    fn on_protocol_event(&mut self, event: ProtocolEvent, now: Instant) {
        match event {
            ProtocolEvent::Ready { recovered } => self.on_ready(recovered, now),
            ProtocolEvent::Message(message) => self.on_message(message, now),
            ProtocolEvent::Ack { id, reply } => self.on_ack(id, reply),
            ProtocolEvent::NamespaceConnected { namespace, recovered } => {
                self.events.push_back(Event::NamespaceConnected { namespace, recovered });
            }
            ProtocolEvent::NamespaceDisconnected { namespace } => {
                self.events.push_back(Event::NamespaceDisconnected { namespace });
            }
            ProtocolEvent::Rejected(reason) => {
                self.record_error(Error::new(ErrorKind::AuthRejected, reason.to_string()), now);
                self.fail(reason, now);
            }
            ProtocolEvent::ServerClosed(why) => {
                self.shut_down(
                    ConnectionState::Closed,
                    DisconnectReason::ServerRequested(why),
                    now,
                );
            }
            ProtocolEvent::ConnectionLost(why) => {
                self.last_error = why.clone();
                self.lose_connection(DisconnectReason::TransportClosed(why), now);
            }
            ProtocolEvent::Malformed(why) => {
                self.record_error(Error::new(ErrorKind::Protocol, why), now);
            }
        }
    }

    fn on_ready(&mut self, recovered: bool, now: Instant) {
        if !matches!(self.phase, Phase::Handshaking { .. }) {
            return;
        }
        self.phase = Phase::Ready { since: now };
        self.ever_connected = true;
        self.failures_on_url = 0;
        self.counters.connect_count += 1;
        self.heartbeat.next_ping_at = Some(now + self.config.heartbeat_interval);
        self.set_state(ConnectionState::Connected);
        self.events.push_back(Event::Connected { recovered });
        if recovered {
            // The server kept our rooms; it only needs to hear about rooms left while away.
            for room in std::mem::take(&mut self.pending_leaves) {
                let mut out = ProtocolOutput::default();
                if self.protocol.encode_leave(&room, None, &mut out).is_ok() {
                    self.take_frames(out);
                }
            }
        } else {
            self.pending_leaves.clear();
            let rooms: Vec<String> = self.rooms.iter().map(str::to_owned).collect();
            for room in rooms {
                self.send_join(room, now);
            }
        }
        while let Some(item) = self.outbox.pop_front() {
            if let Some(id) = item.ack {
                self.acks.mark_in_flight(id);
            }
            self.write_message(&item.message, item.ack, now);
        }
    }

    fn on_message(&mut self, message: IncomingMessage, now: Instant) {
        let size = message.size_hint();
        if size > self.config.max_message_bytes {
            self.record_error(
                Error::new(
                    ErrorKind::TooLarge,
                    format!(
                        "dropped a {size}-byte message from the server: over max_message_bytes"
                    ),
                ),
                now,
            );
            return;
        }
        if let (Some(window), Some(field)) =
            (self.dedup.as_mut(), self.config.dedup_field.as_deref())
        {
            if let Some(id) = message.string_field(field) {
                let key = format!("{}\u{0}{}\u{0}{}", message.namespace, message.event, id);
                if !window.first_sighting(&key) {
                    self.counters.duplicates += 1;
                    return;
                }
            }
        }
        self.counters.messages_in += 1;
        self.events.push_back(Event::Message(message));
    }

    fn on_ack(&mut self, id: AckId, reply: AckReply) {
        let Some(ack) = self.acks.settle(id) else { return };
        match ack.purpose {
            AckPurpose::Message { .. } => {
                self.counters.acked += 1;
                self.events.push_back(Event::AckSettled { id, result: Ok(reply) });
            }
            AckPurpose::Join(room) => match join_refusal(&reply) {
                None => self.events.push_back(Event::RoomJoined { room }),
                Some(reason) => self.events.push_back(Event::RoomJoinFailed { room, reason }),
            },
            AckPurpose::Leave(_) => {}
        }
    }

    fn send_join(&mut self, room: String, now: Instant) {
        let ack = self.protocol.supports_acks().then(|| {
            self.acks.register(PendingAck {
                deadline: Some(now + self.config.ack_timeout),
                purpose: AckPurpose::Join(room.clone()),
                in_flight: true,
            })
        });
        let mut out = ProtocolOutput::default();
        match self.protocol.encode_join(&room, ack, &mut out) {
            Ok(()) => {
                self.take_frames(out);
                if ack.is_none() {
                    self.events.push_back(Event::RoomJoined { room });
                }
            }
            Err(e) => {
                if let Some(id) = ack {
                    self.acks.settle(id);
                }
                self.events.push_back(Event::RoomJoinFailed { room, reason: e.to_string() });
            }
        }
    }

    fn register_message_ack(
        &mut self,
        message: &OutgoingMessage,
        deadline: Instant,
        reliable: bool,
        in_flight: bool,
    ) -> AckId {
        self.acks.register(PendingAck {
            deadline: Some(deadline),
            purpose: AckPurpose::Message { resend: reliable.then(|| message.clone()) },
            in_flight,
        })
    }

    fn write_message(&mut self, message: &OutgoingMessage, ack: Option<AckId>, now: Instant) {
        let mut out = ProtocolOutput::default();
        match self.protocol.encode_message(message, ack, &mut out) {
            Ok(()) => {
                self.counters.messages_out += 1;
                self.take_frames(out);
            }
            Err(e) => {
                // `check` passed when the message was accepted, so this is a protocol bug or a
                // namespace that went away; report it rather than lose the message silently.
                self.record_error(Error::from(e), now);
                if let Some(id) = ack {
                    if let Some(pending) = self.acks.settle(id) {
                        self.settle_failed(id, pending, AckError::Dropped(DropReason::Closed));
                    }
                }
                self.counters.dropped += 1;
                self.events.push_back(Event::Dropped {
                    message: message.clone(),
                    reason: DropReason::Closed,
                });
            }
        }
    }

    fn settle_failed(&mut self, id: AckId, ack: PendingAck, error: AckError) {
        match ack.purpose {
            AckPurpose::Message { .. } => {
                // A dropped message is counted once, in `dropped` (see the stats docs).
                if !matches!(error, AckError::Dropped(_)) {
                    self.counters.ack_failed += 1;
                }
                self.events.push_back(Event::AckSettled { id, result: Err(error) });
            }
            AckPurpose::Join(room) if error == AckError::Timeout => {
                self.events.push_back(Event::RoomJoinFailed { room, reason: error.to_string() });
            }
            AckPurpose::Join(_) | AckPurpose::Leave(_) => {}
        }
    }

    fn report_drop(&mut self, item: QueuedMessage, reason: DropReason) {
        self.counters.dropped += 1;
        if let Some(id) = item.ack {
            if let Some(ack) = self.acks.settle(id) {
                self.settle_failed(id, ack, AckError::Dropped(reason));
            }
        }
        self.events.push_back(Event::Dropped { message: item.message, reason });
    }

    fn heartbeat_tick(&mut self, now: Instant) {
        let timeout = self.config.heartbeat_timeout;
        if self.heartbeat.first_unanswered_at.is_some_and(|t| now >= t + timeout) {
            self.last_error = "heartbeat timeout".to_owned();
            self.record_error(
                Error::new(ErrorKind::Transport, "no answer within the heartbeat timeout"),
                now,
            );
            self.lose_connection(DisconnectReason::HeartbeatTimeout, now);
            return;
        }
        if let Some(silence) = self.protocol.liveness_timeout() {
            if now >= self.last_rx + silence {
                self.last_error = "server silent past its ping timeout".to_owned();
                self.record_error(
                    Error::new(
                        ErrorKind::Transport,
                        "the server sent nothing within its ping interval + timeout",
                    ),
                    now,
                );
                self.lose_connection(DisconnectReason::HeartbeatTimeout, now);
                return;
            }
        }
        if self.heartbeat.first_unanswered_at.is_some_and(|t| now >= t + timeout / 2)
            && self.heartbeat.unanswered == 1
        {
            // Half the timeout without an answer counts as one missed heartbeat for health.
            self.heartbeat.unanswered = 2;
        }
        if self.heartbeat.next_ping_at.is_some_and(|t| now >= t) {
            self.send_ping(now);
        }
    }

    fn send_ping(&mut self, now: Instant) {
        self.heartbeat.sequence += 1;
        let sequence = self.heartbeat.sequence;
        self.transmit.push_back(Frame::Ping(sequence.to_be_bytes().to_vec()));
        if self.heartbeat.outstanding.len() == MAX_OUTSTANDING_PINGS {
            self.heartbeat.outstanding.pop_front();
        }
        self.heartbeat.outstanding.push_back((sequence, now));
        self.heartbeat.first_unanswered_at.get_or_insert(now);
        self.heartbeat.unanswered = self.heartbeat.unanswered.saturating_add(1);
        self.heartbeat.next_ping_at = Some(now + self.config.heartbeat_interval);
    }

    /// A ping right now, to find out quickly whether a connection survived (network change,
    /// app resumed).
    fn probe(&mut self, now: Instant) {
        if self.heartbeat.first_unanswered_at.is_none() {
            self.send_ping(now);
        }
    }

    fn missed_heartbeats(&self) -> u32 {
        // The first unanswered ping is normal (its pong is on the way) until half the timeout.
        self.heartbeat.unanswered.saturating_sub(1)
    }

    fn record_error(&mut self, error: Error, now: Instant) {
        self.counters.error_count += 1;
        self.health.record_error(now);
        self.events.push_back(Event::Error(error));
    }

    fn set_state(&mut self, state: ConnectionState) {
        if self.state != state {
            self.state = state.clone();
            self.events.push_back(Event::StateChanged(state));
        }
    }

    fn refresh_health(&mut self, now: Instant) {
        self.health.expire_errors(now);
        let connected = matches!(self.phase, Phase::Ready { .. });
        let judged = self.health.judge(connected, self.rtt.smoothed(), self.missed_heartbeats());
        if judged != self.current_health {
            self.current_health = judged;
            self.events.push_back(Event::HealthChanged { health: judged.0, quality: judged.1 });
        }
    }
}

/// The next item of an output queue; once it is drained, its buffer is given back. The queues
/// are empty between bursts, and an idle connection holding four slots of each (more than a
/// kilobyte for the three) is what W4 in BENCHMARKS.md counts; a busy one allocates again once
/// per burst, not per item.
fn pop_or_release<T>(queue: &mut VecDeque<T>) -> Option<T> {
    let item = queue.pop_front();
    if item.is_none() && queue.capacity() > 0 {
        *queue = VecDeque::new();
    }
    item
}

/// Reads a join acknowledgement: `{ok: false, error/message}` (the reference server's and seed
/// 000's convention) is a refusal; anything else is success.
fn join_refusal(reply: &AckReply) -> Option<String> {
    let first = reply.data.first()?;
    if first.get("ok").and_then(serde_json::Value::as_bool) == Some(false) {
        let why =
            first.get("message").or_else(|| first.get("error")).and_then(serde_json::Value::as_str);
        return Some(why.unwrap_or("refused by the server").to_owned());
    }
    None
}
