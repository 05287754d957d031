//! What the server keeps per connection: the verified token claims and the event order.
//! Stored in the socket's extensions by the auth middleware, before the client can send events.

use std::sync::Arc;

use socketioxide::adapter::Adapter;
use socketioxide::handler::{FromConnectParts, FromDisconnectParts, FromMessageParts, Value};
use socketioxide::socket::{DisconnectReason, Socket};

use crate::auth::Claims;
use crate::ordering::{Ticket, Turnstile};

/// Per-connection state.
#[derive(Debug)]
pub struct Session {
    /// Claims of the handshake token.
    pub claims: Claims,
    turnstile: Arc<Turnstile>,
}

impl Session {
    /// A session for a connection authenticated with `claims`.
    pub fn new(claims: Claims) -> Arc<Self> {
        Arc::new(Self { claims, turnstile: Turnstile::new() })
    }
}

/// Extractor: the connection's [`Session`] and this event's place in the connection's order.
/// Handlers call `turn.wait().await` before touching shared state.
#[derive(Debug)]
pub struct InTurn {
    /// The connection's session.
    pub session: Arc<Session>,
    /// Dropping it lets the connection's next event run.
    pub turn: Ticket,
}

/// The socket has no [`Session`]: it did not pass the auth middleware (cannot happen for
/// connected sockets; the handler is skipped and socketioxide logs this).
#[derive(Debug, thiserror::Error)]
#[error("socket has no session")]
pub struct NoSession;

impl InTurn {
    fn take<A: Adapter>(socket: &Socket<A>) -> Result<Self, NoSession> {
        let session = socket.extensions.get::<Arc<Session>>().ok_or(NoSession)?;
        let turn = session.turnstile.ticket();
        Ok(Self { session, turn })
    }
}

impl<A: Adapter> FromMessageParts<A> for InTurn {
    type Error = NoSession;
    fn from_message_parts(
        socket: &Arc<Socket<A>>,
        _: &mut Value,
        _: &Option<i64>,
    ) -> Result<Self, NoSession> {
        Self::take(socket)
    }
}

impl<A: Adapter> FromConnectParts<A> for InTurn {
    type Error = NoSession;
    fn from_connect_parts(socket: &Arc<Socket<A>>, _: &Option<Value>) -> Result<Self, NoSession> {
        Self::take(socket)
    }
}

impl<A: Adapter> FromDisconnectParts<A> for InTurn {
    type Error = NoSession;
    fn from_disconnect_parts(
        socket: &Arc<Socket<A>>,
        _: DisconnectReason,
    ) -> Result<Self, NoSession> {
        Self::take(socket)
    }
}
