//! The options of each wire protocol, and the one place that turns the chosen protocol and its
//! options into the core's [`tether_core::ProtocolConfig`].

use crate::error::TetherError;
use serde_json::{Map, Value};
use tether_core as core_api;

/// Which wire protocol a client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum WireProtocol {
    /// Socket.IO v5 over Engine.IO v4 (WebSocket or long-polling). The default.
    SocketIo,
    /// Plain WebSocket frames.
    RawWebSocket,
    /// Phoenix Channels v2 (Phoenix apps, Supabase Realtime).
    Phoenix,
}

/// Options of the Socket.IO protocol.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct SocketIoOptions {
    /// The Engine.IO path. Default `"/socket.io/"`.
    #[uniffi(default = "/socket.io/")]
    pub path: String,
    /// Namespaces to connect. Empty (the default) means just the main namespace `"/"`.
    #[uniffi(default = [])]
    pub namespaces: Vec<String>,
    /// Extra fields of the CONNECT auth payload, as a JSON object; the token provider's token
    /// is added as `token`. Default `"{}"`.
    #[uniffi(default = "{}")]
    pub auth_json: String,
    /// Event emitted (with an ack) to join a room. Default `"join-room"`.
    #[uniffi(default = "join-room")]
    pub join_event: String,
    /// Event emitted to leave a room. Default `"leave-room"`.
    #[uniffi(default = "leave-room")]
    pub leave_event: String,
    /// Field of the join/leave payload carrying the room name. Default `"room"`.
    #[uniffi(default = "room")]
    pub room_field: String,
    /// Ask the server for connection state recovery. Default true.
    #[uniffi(default = true)]
    pub recovery: bool,
}

/// Options of the raw WebSocket protocol.
#[derive(Debug, Clone, PartialEq, Eq, Default, uniffi::Record)]
pub struct RawWebSocketOptions {
    /// Send joins and leaves as `{"type":"join","room":...}` text frames. Default false.
    #[uniffi(default = false)]
    pub room_messages: bool,
}

impl Default for SocketIoOptions {
    fn default() -> Self {
        Self {
            path: "/socket.io/".to_owned(),
            namespaces: Vec::new(),
            auth_json: "{}".to_owned(),
            join_event: "join-room".to_owned(),
            leave_event: "leave-room".to_owned(),
            room_field: "room".to_owned(),
            recovery: true,
        }
    }
}

impl TryFrom<SocketIoOptions> for core_api::SocketIoConfig {
    type Error = TetherError;

    fn try_from(o: SocketIoOptions) -> Result<Self, TetherError> {
        let auth = json_object("socket_io.auth_json", &o.auth_json)?;
        let defaults = core_api::SocketIoConfig::default();
        Ok(Self {
            path: o.path,
            namespaces: if o.namespaces.is_empty() { defaults.namespaces } else { o.namespaces },
            auth,
            join_event: o.join_event,
            leave_event: o.leave_event,
            room_field: o.room_field,
            recovery: o.recovery,
        })
    }
}

/// Options of the Phoenix Channels protocol.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PhoenixOptions {
    /// The socket's endpoint path; `/websocket` is appended. Default `"/socket"`.
    #[uniffi(default = "/socket")]
    pub path: String,
    /// Connect params, as a JSON object, sent as query parameters. Default `"{}"`.
    #[uniffi(default = "{}")]
    pub params_json: String,
    /// The query parameter carrying the token provider's token. Default `"token"`; `None`
    /// sends no token in the URL.
    #[uniffi(default = Some("token"))]
    pub token_param: Option<String>,
    /// Put the token in every join payload as `access_token` and push it to joined channels
    /// when it is refreshed (Supabase Realtime). Default false.
    #[uniffi(default = false)]
    pub access_token_in_joins: bool,
}

impl Default for PhoenixOptions {
    fn default() -> Self {
        Self {
            path: "/socket".to_owned(),
            params_json: "{}".to_owned(),
            token_param: Some("token".to_owned()),
            access_token_in_joins: false,
        }
    }
}

/// The options Supabase Realtime expects, for a project's API key (path `/realtime/v1`, the key
/// as the `apikey` param, the user's token as each channel's `access_token`).
#[uniffi::export]
pub fn supabase_phoenix_options(api_key: String) -> PhoenixOptions {
    PhoenixOptions::from(core_api::PhoenixConfig::supabase(api_key))
}

impl From<core_api::PhoenixConfig> for PhoenixOptions {
    fn from(c: core_api::PhoenixConfig) -> Self {
        Self {
            path: c.path,
            params_json: Value::Object(c.params).to_string(),
            token_param: c.token_param,
            access_token_in_joins: c.access_token_in_joins,
        }
    }
}

impl TryFrom<PhoenixOptions> for core_api::PhoenixConfig {
    type Error = TetherError;

    fn try_from(o: PhoenixOptions) -> Result<Self, TetherError> {
        Ok(Self {
            path: o.path,
            params: json_object("phoenix.params_json", &o.params_json)?,
            token_param: o.token_param,
            access_token_in_joins: o.access_token_in_joins,
        })
    }
}

/// The protocol a config names, with its options.
pub(crate) fn protocol_config(
    protocol: Option<WireProtocol>,
    socket_io: SocketIoOptions,
    raw_websocket: RawWebSocketOptions,
    phoenix: PhoenixOptions,
) -> Result<core_api::ProtocolConfig, TetherError> {
    Ok(match protocol.unwrap_or(WireProtocol::SocketIo) {
        WireProtocol::SocketIo => core_api::ProtocolConfig::SocketIo(socket_io.try_into()?),
        WireProtocol::RawWebSocket => {
            core_api::ProtocolConfig::RawWebSocket(core_api::RawWebSocketConfig {
                room_messages: raw_websocket.room_messages,
            })
        }
        WireProtocol::Phoenix => core_api::ProtocolConfig::Phoenix(phoenix.try_into()?),
    })
}

/// A JSON object from a config field, or an error naming the field.
fn json_object(field: &str, text: &str) -> Result<Map<String, Value>, TetherError> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(TetherError::InvalidConfig {
            message: format!("invalid config `{field}`: must be a JSON object, got {other}"),
        }),
        Err(e) => {
            Err(TetherError::InvalidConfig { message: format!("invalid config `{field}`: {e}") })
        }
    }
}
