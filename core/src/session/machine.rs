//! The connection state machine. Sans-IO: it never touches a socket or a clock. The driver feeds
//! it inputs (`connect`, `send`, `handle_frame`, `handle_timeout`, ... each with `now`) and
//! carries out its outputs (`poll_action`, `poll_transmit`, `poll_event`, `poll_timeout`).
//! Because time is an argument, a test can run an hour of flaky network in milliseconds.
//!
//! This file holds the session's state, its construction, the timers, the outputs the driver
//! polls and what the app reads. The inputs are split by concern into sibling files: `connect`
//! (connecting, reconnecting, shutting down), `send` (sends, acknowledgements, rooms),
//! `heartbeat` (heartbeats and health) and `inbound` (frames, and what the protocol makes of
//! them).

use super::acks::{AckPurpose, PendingAcks};
use super::counters::Counters;
use super::dedup::DedupWindow;
use super::health::HealthMonitor;
use super::outbox::Outbox;
use super::persistence::Persistence;
use super::rooms::RoomSet;
use super::rtt::RttEstimator;
use crate::config::Config;
use crate::model::DisconnectReason;
use crate::model::DropReason;
use crate::model::ErrorKind;
use crate::model::{
    AckError, ConfigError, ConnectionState, Error, Event, Frame, Health, Quality, Stats, Token,
    TransportKind,
};
use crate::protocol::{Protocol, ProtocolOutput};
use std::collections::VecDeque;
use std::time::Instant;
use url::Url;

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

/// Where the current connection attempt is (finer than [`ConnectionState`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
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
pub(super) struct Heartbeat {
    pub(super) next_ping_at: Option<Instant>,
    /// Pings whose pongs we wait for: sequence numbers and when they left. Several, because on
    /// a link slower than the interval the next ping leaves before the last pong is back.
    pub(super) outstanding: VecDeque<(u64, Instant)>,
    /// The first ping sent since anything was last received: the dead-connection clock.
    pub(super) first_unanswered_at: Option<Instant>,
    /// Pings sent since anything was last received.
    pub(super) unanswered: u32,
    pub(super) sequence: u64,
    /// When the last ping left (`None`: none yet on this connection); riding the server's
    /// heartbeat waits until half an interval has passed since.
    pub(super) last_ping_at: Option<Instant>,
    /// When a probe (the app resumed, the network changed) gives up on the connection if
    /// nothing has come back by then: sooner than the heartbeat timeout.
    pub(super) probe_deadline: Option<Instant>,
}

/// The connection state machine. See the module docs.
#[derive(Debug)]
pub struct Session {
    pub(super) config: Config,
    pub(super) urls: Vec<Url>,
    pub(super) url_index: usize,
    pub(super) failures_on_url: u32,
    pub(super) protocol: Box<dyn Protocol>,
    pub(super) rng: fastrand::Rng,
    pub(super) state: ConnectionState,
    pub(super) phase: Phase,
    pub(super) attempt: u32,
    pub(super) ever_connected: bool,
    pub(super) network_available: bool,
    pub(super) last_rx: Instant,
    pub(super) heartbeat: Heartbeat,
    pub(super) rtt: RttEstimator,
    pub(super) health: HealthMonitor,
    pub(super) current_health: (Health, Quality),
    pub(super) outbox: Outbox,
    pub(super) acks: PendingAcks,
    pub(super) rooms: RoomSet,
    /// Rooms left while offline: sent after a recovered reconnect, where the server kept them.
    pub(super) pending_leaves: Vec<String>,
    pub(super) dedup: Option<DedupWindow>,
    /// The durable outbox's bookkeeping, once [`Session::restore`] turned persistence on.
    pub(super) durable: Option<Persistence>,
    pub(super) counters: Counters,
    pub(super) last_error: String,
    /// The transport of the current connection (told by the driver when it opens or upgrades).
    pub(super) transport: Option<TransportKind>,
    /// The server's frame limit as of the last handshake (checked on sends while offline too).
    pub(super) frame_limit: Option<usize>,
    /// The current attempt carried a token (a refusal is then worth one retry with a new one).
    pub(super) sent_token: bool,
    /// A refusal was retried since the last successful connect: the next one fails.
    pub(super) auth_retried: bool,
    /// The next open should ask the provider for a token in place of a refused one.
    pub(super) token_refused: bool,
    pub(super) transmit: VecDeque<Frame>,
    pub(super) actions: VecDeque<Action>,
    pub(super) events: VecDeque<Event>,
}

impl Session {
    /// A session for `config`, speaking the protocol the config names (built through
    /// [`crate::protocol::ProtocolConfig::build`], the one place protocols are registered).
    /// Validates the config.
    pub fn new(config: Config, now: Instant) -> Result<Self, ConfigError> {
        config.validate()?;
        let protocol = config.protocol.build(config.max_message_bytes);
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
            durable: None,
            counters: Counters::default(),
            last_error: String::new(),
            transport: None,
            frame_limit: None,
            sent_token: false,
            auth_retried: false,
            token_refused: false,
            transmit: VecDeque::new(),
            actions: VecDeque::new(),
            events: VecDeque::new(),
            config,
        })
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
        if config.durable_outbox != self.config.durable_outbox {
            return Err(ConfigError::new(
                "durable_outbox",
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
            // A durable window keeps its key: the hashes the store keeps must still match.
            let key = self.dedup.as_ref().map(DedupWindow::key).filter(|_| self.durable.is_some());
            self.dedup = config.dedup_field.as_ref().map(|_| match key {
                Some(key) => DedupWindow::with_key(config.dedup_window, key),
                None => DedupWindow::new(config.dedup_window),
            });
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

    /// The app has a fresh token while connected (see `Client::refresh_token`). Protocols that
    /// carry the token per room pass it on (Supabase's `access_token` push to every joined
    /// channel) and use it for later rejoins; every protocol uses the provider's token again on
    /// the next connect.
    pub fn refresh_token(&mut self, token: &Token, now: Instant) {
        if matches!(self.phase, Phase::Ready { .. }) {
            let mut out = ProtocolOutput::default();
            self.protocol.on_token_refresh(token, &mut out);
            self.absorb(out, now);
        }
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
        self.expire_due(now);
        self.refresh_health(now);
    }

    /// Acknowledgements past their deadline time out (a queued message goes with its ack);
    /// queued messages past their TTL are dropped.
    pub(super) fn expire_due(&mut self, now: Instant) {
        for (id, ack) in self.acks.expire(now) {
            if let Some(item) = self.outbox.remove_by_ack(id) {
                self.forget_stored(item.stored);
            }
            if let AckPurpose::Join(room) = &ack.purpose {
                // An unanswered join is asked again after the rejoin backoff.
                let room = room.clone();
                self.schedule_rejoin(&room, now);
            }
            self.settle_failed(id, ack, AckError::Timeout);
        }
        if matches!(self.phase, Phase::Ready { .. }) {
            self.rejoin_due(now);
        }
        for item in self.outbox.expire(now) {
            self.report_drop(item, DropReason::Expired);
        }
    }

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
                let rejoin_at = self.rooms.next_retry();
                let probe = self.heartbeat.probe_deadline;
                [self.heartbeat.next_ping_at, dead_at, late_at, silent_at, rejoin_at, probe]
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
            transport: self.transport.filter(|_| matches!(self.phase, Phase::Ready { .. })),
            // The streams belong to the client, which fills these in.
            streams: 0,
            stream_queued: 0,
            stream_queued_bytes: 0,
            stream_dropped: 0,
        }
    }

    pub(super) fn record_error(&mut self, error: Error, now: Instant) {
        self.counters.error_count += 1;
        self.health.record_error(now);
        self.events.push_back(Event::Error(error));
    }

    pub(super) fn set_state(&mut self, state: ConnectionState) {
        if self.state != state {
            self.state = state.clone();
            self.events.push_back(Event::StateChanged(state));
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
