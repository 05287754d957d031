//! What a connection yields to the driver besides errors: frames, and what only the transport
//! can tell (a measured round trip, a change of transport).

use crate::model::{Frame, TransportKind};
use std::time::Duration;

/// What a connection yields besides errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// A frame from the server.
    Frame(Frame),
    /// A request's round trip the transport measured (a polling POST and its answer): a latency
    /// sample where there are no WebSocket pings.
    RoundTrip(Duration),
    /// The connection now runs on another transport (long-polling upgraded to a WebSocket).
    Upgraded(TransportKind),
}
