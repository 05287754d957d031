//! Connecting, reconnecting and shutting down: the app's connect and disconnect, the network
//! and foreground hints, the driver's reports on the transport, and the backoff decision after
//! every loss.

use super::machine::{Action, Heartbeat, Phase, Session};
use crate::model::DropReason;
use crate::model::Event;
use crate::model::{
    AckError, ConnectionState, DisconnectReason, Error, ErrorKind, FailureReason, Token,
    TokenError, TransportError, TransportKind,
};
use crate::protocol::{ProtocolOutput, TransportRequest};
use std::time::Instant;
use url::Url;

impl Session {
    /// Starts connecting (from Idle, Closed or Failed); in Reconnecting, tries now.
    pub fn connect(&mut self, now: Instant) {
        match self.state {
            ConnectionState::Idle | ConnectionState::Closed | ConnectionState::Failed { .. } => {
                self.attempt = 0;
                self.auth_retried = false;
                self.failures_on_url = 0;
                self.begin_attempt(now);
            }
            ConnectionState::Reconnecting { .. } => self.retry_now(now),
            ConnectionState::Connecting | ConnectionState::Connected => {}
        }
    }

    /// Closes for good: says goodbye if connected, fails pending acknowledgements, drops the
    /// outbox (reported), and never reconnects until `connect` is called again. With a durable
    /// outbox configured, what is queued stays queued instead (at-least-once messages in flight
    /// go back to it), kept for the next `connect` or the app's next start.
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

    /// The URL and headers to open for an [`Action::OpenTransport`], with the provider's token.
    pub fn transport_request(&self, url: &Url, token: Option<&Token>) -> TransportRequest {
        self.protocol.transport_request(url, token)
    }

    /// The transport opened (the token is the one used for it, for the protocol handshake): a
    /// WebSocket. See [`Session::handle_transport_open_on`] for the others.
    pub fn handle_transport_open(&mut self, token: Option<&Token>, now: Instant) {
        self.handle_transport_open_on(TransportKind::WebSocket, token, now);
    }

    /// The transport `kind` opened (the token is the one used for it, for the protocol
    /// handshake). Over long-polling the engine sends no heartbeat pings of its own.
    pub fn handle_transport_open_on(
        &mut self,
        kind: TransportKind,
        token: Option<&Token>,
        now: Instant,
    ) {
        let Phase::Opening { deadline } = self.phase else { return };
        self.phase = Phase::Handshaking { deadline };
        self.transport = Some(kind);
        self.sent_token = token.is_some();
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
        if error.is_permanent() {
            match error {
                TransportError::InvalidUrl(why) => {
                    self.record_error(Error::new(ErrorKind::Transport, why.clone()), now);
                    self.fail(FailureReason::InvalidUrl(why), now);
                }
                other => self.refused(FailureReason::AuthRejected(other.to_string()), now),
            }
            return;
        }
        self.record_error(Error::from(error.clone()), now);
        self.last_error = error.to_string();
        self.lose_connection(DisconnectReason::TransportClosed(error.to_string()), now);
    }

    /// Whether the token for the next [`Action::OpenTransport`] should replace a refused one:
    /// true once after the server refused the last token (the driver then asks the provider's
    /// `token_after_rejection`). Reading it clears it.
    pub fn take_token_refused(&mut self) -> bool {
        std::mem::take(&mut self.token_refused)
    }

    /// The server (or the upgrade's HTTP status) refused us. An auth refusal of a token is
    /// retried once at once with a token asked for anew (the provider told the last one was
    /// refused), since tokens expire between a refresh and a connect; a second refusal in a
    /// row, or any other refusal, fails. One retry per refusal, never a storm: the flag resets
    /// only once a connection succeeds (or the app connects again).
    pub(super) fn refused(&mut self, reason: FailureReason, now: Instant) {
        self.record_error(Error::new(ErrorKind::AuthRejected, reason.to_string()), now);
        let retry = matches!(reason, FailureReason::AuthRejected(_))
            && self.sent_token
            && !self.auth_retried;
        if !retry {
            self.fail(reason, now);
            return;
        }
        self.auth_retried = true;
        self.token_refused = true;
        self.last_error = reason.to_string();
        self.drop_transport();
        self.fail_in_flight_acks(AckError::ConnectionLost);
        self.begin_attempt(now);
    }

    /// The token provider failed instead of giving a token.
    pub fn handle_token_error(&mut self, error: TokenError, now: Instant) {
        if !matches!(self.phase, Phase::Opening { .. }) {
            return;
        }
        self.record_error(Error::new(ErrorKind::AuthRejected, error.to_string()), now);
        match error {
            TokenError::Unauthorized(why) => self.fail(FailureReason::AuthRejected(why), now),
            TokenError::Unavailable(why) => {
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

    pub(super) fn begin_attempt(&mut self, now: Instant) {
        let Some(url) = self.urls.get(self.url_index).or_else(|| self.urls.first()).cloned() else {
            self.fail(FailureReason::InvalidUrl("no URL configured".into()), now);
            return;
        };
        self.phase = Phase::Opening { deadline: now + self.config.connect_timeout };
        self.set_state(ConnectionState::Connecting);
        self.actions.push_back(Action::OpenTransport { url });
    }

    pub(super) fn retry_now(&mut self, now: Instant) {
        self.counters.reconnect_attempts += 1;
        self.begin_attempt(now);
    }

    pub(super) fn schedule(&mut self, attempt: u32, retry_at: Instant) {
        self.phase = Phase::Waiting { retry_at };
        self.set_state(ConnectionState::Reconnecting { attempt, retry_at });
    }

    /// The connection (or the attempt) is gone; decide whether and when to try again.
    pub(super) fn lose_connection(&mut self, reason: DisconnectReason, now: Instant) {
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
        self.fail_in_flight_acks(AckError::ConnectionLost);
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
    pub(super) fn drop_transport(&mut self) {
        self.actions.push_back(Action::CloseTransport);
        self.protocol.on_close();
        self.rooms.connection_lost();
        self.transport = None;
        // Frames not yet written die with the socket, like bytes in a dead TCP buffer; acked
        // ones are failed or re-sent below.
        self.transmit.clear();
        self.heartbeat = Heartbeat { sequence: self.heartbeat.sequence, ..Heartbeat::default() };
    }

    pub(super) fn fail(&mut self, reason: FailureReason, now: Instant) {
        let disconnect = DisconnectReason::TransportClosed(reason.to_string());
        self.shut_down(ConnectionState::Failed { reason }, disconnect, now);
    }

    /// Ends the connection without retrying: `Closed` (drops the outbox) or `Failed` (keeps it
    /// for the app's next `connect`).
    pub(super) fn shut_down(
        &mut self,
        state: ConnectionState,
        reason: DisconnectReason,
        now: Instant,
    ) {
        let was_up = !matches!(self.phase, Phase::Down | Phase::Waiting { .. });
        let was_ready = matches!(self.phase, Phase::Ready { .. });
        if was_up {
            self.actions.push_back(Action::CloseTransport);
            self.protocol.on_close();
            self.rooms.connection_lost();
            self.heartbeat =
                Heartbeat { sequence: self.heartbeat.sequence, ..Heartbeat::default() };
        }
        self.phase = Phase::Down;
        let closing = state == ConnectionState::Closed;
        if closing && self.config.durable_outbox.is_none() {
            // Queued messages first: they count as dropped; then what was in flight fails.
            for item in self.outbox.clear() {
                self.report_drop(item, DropReason::Closed);
            }
            for (id, ack) in self.acks.drain() {
                self.settle_failed(id, ack, AckError::Closed);
            }
        } else if closing {
            self.fail_in_flight_acks(AckError::Closed);
        } else {
            self.fail_in_flight_acks(AckError::ConnectionLost);
        }
        if was_ready {
            self.events.push_back(Event::Disconnected { reason, will_reconnect: false });
        }
        self.set_state(state);
        self.refresh_health(now);
    }
}
