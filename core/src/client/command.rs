//! What a [`crate::Client`] asks its driver: one enum, sent on one of two lanes (sends on a
//! bounded channel the driver stops reading under backpressure, everything else on a lane that
//! is always read).

use crate::config::Config;
use crate::model::{
    AckError, AckId, AckReply, ConfigError, OutgoingMessage, SendError, Stats, Token,
};
use crate::session::SendOptions;
use serde_json::Value;
use tokio::sync::oneshot;

/// What a [`crate::Client`] asks its driver.
pub(crate) enum Command {
    Connect {
        done: oneshot::Sender<()>,
    },
    Disconnect {
        done: oneshot::Sender<()>,
    },
    ReconnectNow,
    // Boxed: the command channel allocates room for 32 commands per client up front, sized by
    // the largest variant (W4 in BENCHMARKS.md: memory per idle connection).
    Send {
        message: Box<OutgoingMessage>,
        options: SendOptions,
        /// `None`: nobody waits for the answer ([`crate::Client::send`]); a refusal is then
        /// published as [`Event::Error`].
        accepted: Option<oneshot::Sender<Result<Option<AckId>, SendError>>>,
        ack: Option<oneshot::Sender<Result<AckReply, AckError>>>,
    },
    Ack {
        namespace: String,
        ack_id: u64,
        reply: Box<AckReply>,
        done: oneshot::Sender<Result<(), SendError>>,
    },
    Join {
        room: String,
        /// The join payload, for protocols that carry one (Phoenix).
        payload: Option<Box<Value>>,
        done: oneshot::Sender<Result<bool, SendError>>,
    },
    RefreshToken {
        token: Token,
    },
    Leave {
        room: String,
        done: oneshot::Sender<Result<(), SendError>>,
    },
    NetworkAvailable(bool),
    AppForeground(bool),
    UpdateConfig {
        config: Box<Config>,
        done: oneshot::Sender<Result<(), ConfigError>>,
    },
    ClearOutbox {
        done: oneshot::Sender<usize>,
    },
    Stats {
        reply: oneshot::Sender<Stats>,
    },
}
