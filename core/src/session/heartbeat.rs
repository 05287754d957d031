//! Heartbeats and health: a ping every `heartbeat_interval`, its pong's round trip as a latency
//! sample, a connection declared dead after `heartbeat_timeout` without an answer (or the
//! protocol's own silence rule), and the health level judged from all of it. Where the server
//! has a heartbeat of its own (Engine.IO's ping), our ping rides along with the answer to it
//! instead of going out on a timer of its own (`ride_server_heartbeat`).
//!
//! Over long-polling there are no WebSocket pings: no heartbeat is sent, liveness is the
//! protocol's own rule (Engine.IO: nothing heard for `pingInterval + pingTimeout`), and latency
//! samples are the round trips of the polling requests, which the driver reports.

use super::machine::{Heartbeat, Phase, Session};
use crate::model::{DisconnectReason, Error, ErrorKind, Event, Frame, TransportKind};
use crate::protocol::ProtocolOutput;
use std::time::{Duration, Instant};

/// Pings remembered while waiting for their pongs; beyond this the link is dead anyway.
const MAX_OUTSTANDING_PINGS: usize = 8;

/// After a ping that rode the server's heartbeat, our own timer waits `interval / 4` longer
/// than the interval, so that the server's next heartbeat (same period, some jitter) wins.
const RIDE_SLACK_DIVISOR: u32 = 4;

impl Session {
    pub(super) fn heartbeat_tick(&mut self, now: Instant) {
        let timeout = self.config.heartbeat_timeout;
        let silent_for = self.protocol.liveness_timeout();
        let dead = if self.heartbeat.first_unanswered_at.is_some_and(|t| now >= t + timeout) {
            Some(("heartbeat timeout", "no answer within the heartbeat timeout"))
        } else if self.heartbeat.probe_deadline.is_some_and(|t| now >= t) {
            Some((
                "no answer to the probe",
                "no answer to the resume probe within the probe timeout",
            ))
        } else if silent_for.is_some_and(|silence| now >= self.last_rx + silence) {
            Some((
                "server silent past its ping timeout",
                "the server sent nothing within its ping interval + timeout",
            ))
        } else {
            None
        };
        if let Some((last_error, detail)) = dead {
            self.last_error = last_error.to_owned();
            self.record_error(Error::new(ErrorKind::Transport, detail), now);
            self.lose_connection(DisconnectReason::HeartbeatTimeout, now);
            return;
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

    pub(super) fn send_ping(&mut self, now: Instant) {
        self.heartbeat.sequence += 1;
        let sequence = self.heartbeat.sequence;
        // The protocol's own heartbeat where it has one (Phoenix: the server closes sockets
        // that send none); a WebSocket ping otherwise.
        let mut out = ProtocolOutput::default();
        if self.protocol.encode_heartbeat(sequence, &mut out) {
            self.take_frames(out);
        } else {
            self.transmit.push_back(Frame::Ping(sequence.to_be_bytes().to_vec()));
        }
        if self.heartbeat.outstanding.len() == MAX_OUTSTANDING_PINGS {
            self.heartbeat.outstanding.pop_front();
        }
        self.heartbeat.outstanding.push_back((sequence, now));
        self.heartbeat.first_unanswered_at.get_or_insert(now);
        self.heartbeat.unanswered = self.heartbeat.unanswered.saturating_add(1);
        self.heartbeat.next_ping_at = Some(now + self.config.heartbeat_interval);
        self.heartbeat.last_ping_at = Some(now);
    }

    /// The server's own heartbeat arrived (Engine.IO pings every `pingInterval`) and its answer
    /// is about to be written: our latency ping goes out in the same write when at least half
    /// an interval has passed since the last one, and our own timer is pushed back so that the
    /// server's next heartbeat comes first. An idle connection then wakes up twice per server
    /// heartbeat (its ping, our pong) instead of three times, and latency is still sampled
    /// every `heartbeat_interval` (at most 1.75 times that while the two schedules align). If
    /// the server's heartbeats stop or are slower, the timer pings on its own.
    pub(super) fn ride_server_heartbeat(&mut self, now: Instant) {
        if !self.pings()
            || !matches!(self.phase, Phase::Ready { .. })
            || !self.heartbeat.outstanding.is_empty()
        {
            return;
        }
        let interval = self.config.heartbeat_interval;
        let since_last =
            self.heartbeat.last_ping_at.map_or(interval, |at| now.saturating_duration_since(at));
        // Just after the server's next heartbeat, should it not come.
        let after_next = now + interval + interval / RIDE_SLACK_DIVISOR;
        if since_last >= interval / 2 {
            self.send_ping(now);
            self.heartbeat.next_ping_at = Some(after_next);
        } else {
            // Too soon for another sample: wait for the server's next heartbeat rather than
            // wake up for a ping of our own in between.
            self.heartbeat.next_ping_at = self.heartbeat.next_ping_at.map(|at| at.max(after_next));
        }
    }

    /// A ping right now, to find out quickly whether a connection survived (network change,
    /// app resumed), with a deadline of its own (`probe_timeout`, seconds) instead of the
    /// heartbeat timeout: a socket that died while the app was suspended is found at once.
    /// Anything received clears the deadline.
    pub(super) fn probe(&mut self, now: Instant) {
        if self.pings() && self.heartbeat.first_unanswered_at.is_none() {
            self.send_ping(now);
        }
        let deadline = now + self.config.probe_timeout;
        let earliest = self.heartbeat.probe_deadline.map_or(deadline, |d| d.min(deadline));
        self.heartbeat.probe_deadline = Some(earliest);
    }

    /// Whether this connection has a heartbeat of ours (WebSocket pings); polling has none.
    pub(super) fn pings(&self) -> bool {
        self.transport != Some(TransportKind::Polling)
    }

    /// The transport changed under a live connection (long-polling upgraded to a WebSocket):
    /// the heartbeat starts (or stops) accordingly.
    pub fn handle_transport_upgraded(&mut self, kind: TransportKind, now: Instant) {
        if !matches!(self.phase, Phase::Handshaking { .. } | Phase::Ready { .. }) {
            return;
        }
        self.transport = Some(kind);
        self.heartbeat = Heartbeat { sequence: self.heartbeat.sequence, ..Heartbeat::default() };
        if self.pings() && matches!(self.phase, Phase::Ready { .. }) {
            self.heartbeat.next_ping_at = Some(now + self.config.heartbeat_interval);
        }
    }

    /// A round trip the transport measured itself (a polling request and its answer): a latency
    /// sample where there are no pings.
    pub fn handle_round_trip(&mut self, rtt: Duration, now: Instant) {
        if !matches!(self.phase, Phase::Handshaking { .. } | Phase::Ready { .. }) {
            return;
        }
        self.rtt.record(rtt);
        self.refresh_health(now);
    }

    pub(super) fn missed_heartbeats(&self) -> u32 {
        // The first unanswered ping is normal (its pong is on the way) until half the timeout.
        self.heartbeat.unanswered.saturating_sub(1)
    }

    pub(super) fn refresh_health(&mut self, now: Instant) {
        self.health.expire_errors(now);
        let connected = matches!(self.phase, Phase::Ready { .. });
        let judged = self.health.judge(connected, self.rtt.smoothed(), self.missed_heartbeats());
        if judged != self.current_health {
            self.current_health = judged;
            self.events.push_back(Event::HealthChanged { health: judged.0, quality: judged.1 });
        }
    }

    /// A pong came back: its round trip is a latency sample.
    pub(super) fn on_pong(&mut self, payload: &[u8], now: Instant) {
        let answered =
            self.heartbeat.outstanding.iter().position(|(seq, _)| payload == seq.to_be_bytes());
        if let Some(index) = answered {
            if let Some((_, sent_at)) = self.heartbeat.outstanding.get(index) {
                self.rtt.record(now.saturating_duration_since(*sent_at));
            }
            // Pongs come back in order: older pings will never be answered now.
            self.heartbeat.outstanding.drain(..=index);
        }
    }
}
