//! Options of the Socket.IO protocol.

use crate::model::ConfigError;

/// Options of the Socket.IO protocol.
#[derive(Clone, PartialEq)]
pub struct SocketIoConfig {
    /// The Engine.IO path. Default `"/socket.io/"`.
    pub path: String,
    /// Namespaces to connect, each with its own CONNECT. Default `["/"]`. The client counts as
    /// connected when every namespace is.
    pub namespaces: Vec<String>,
    /// Extra fields of the CONNECT auth payload; the token provider's token is added as `token`.
    pub auth: serde_json::Map<String, serde_json::Value>,
    /// Event the engine emits (with an ack) to join a room. Default `"join-room"` (seed 000).
    pub join_event: String,
    /// Event the engine emits to leave a room. Default `"leave-room"`.
    pub leave_event: String,
    /// Field of the join/leave payload that carries the room name. Default `"room"`.
    pub room_field: String,
    /// Ask the server for connection state recovery (send `pid` and `offset` on reconnect).
    /// Default true; harmless against servers without recovery.
    pub recovery: bool,
}

impl std::fmt::Debug for SocketIoConfig {
    // `auth` may hold credentials (an API key): show its field names, never their values.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let auth: Vec<&str> = self.auth.keys().map(String::as_str).collect();
        f.debug_struct("SocketIoConfig")
            .field("path", &self.path)
            .field("namespaces", &self.namespaces)
            .field("auth_fields", &auth)
            .field("join_event", &self.join_event)
            .field("leave_event", &self.leave_event)
            .field("room_field", &self.room_field)
            .field("recovery", &self.recovery)
            .finish()
    }
}

impl Default for SocketIoConfig {
    fn default() -> Self {
        Self {
            path: "/socket.io/".to_owned(),
            namespaces: vec!["/".to_owned()],
            auth: serde_json::Map::new(),
            join_event: "join-room".to_owned(),
            leave_event: "leave-room".to_owned(),
            room_field: "room".to_owned(),
            recovery: true,
        }
    }
}

impl SocketIoConfig {
    /// Checks every value; the error names the first bad field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !self.path.starts_with('/') {
            return Err(ConfigError::new("socket_io.path", "must start with '/'"));
        }
        if self.namespaces.is_empty() {
            return Err(ConfigError::new(
                "socket_io.namespaces",
                "at least one namespace is needed",
            ));
        }
        if let Some(bad) = self.namespaces.iter().find(|n| !n.starts_with('/') || n.contains(',')) {
            return Err(ConfigError::new(
                "socket_io.namespaces",
                format!("{bad:?} must start with '/' and contain no ','"),
            ));
        }
        if self.join_event.is_empty() || self.leave_event.is_empty() || self.room_field.is_empty() {
            return Err(ConfigError::new(
                "socket_io.join_event",
                "join/leave event names and room_field must not be empty",
            ));
        }
        Ok(())
    }
}
