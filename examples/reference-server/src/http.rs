//! Plain HTTP endpoints beside Socket.IO (seed 000): `GET /health` and `GET /stats`.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

use crate::hub::Hub;

/// `GET /health` body: `{status: "ok", uptime: <seconds>, connections: <n>}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Health {
    /// Always `"ok"` while the server answers.
    pub status: &'static str,
    /// Seconds since start.
    pub uptime: u64,
    /// Open Socket.IO connections on this node.
    pub connections: u64,
}

/// `GET /stats` body: `{connectedUsers, activeRooms, totalConnections}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatsBody {
    /// Distinct users connected to this node.
    pub connected_users: u64,
    /// Rooms with at least one member on this node.
    pub active_rooms: u64,
    /// Connections accepted since start.
    pub total_connections: u64,
}

/// The HTTP routes, to be layered with the Socket.IO service.
pub fn routes(hub: Arc<Hub>) -> Router {
    Router::new().route("/health", get(health)).route("/stats", get(stats)).with_state(hub)
}

async fn health(State(hub): State<Arc<Hub>>) -> Json<Health> {
    let stats = hub.stats(Instant::now());
    Json(Health { status: "ok", uptime: stats.uptime_secs, connections: stats.connections })
}

async fn stats(State(hub): State<Arc<Hub>>) -> Json<StatsBody> {
    let stats = hub.stats(Instant::now());
    Json(StatsBody {
        connected_users: stats.connected_users,
        active_rooms: stats.active_rooms,
        total_connections: stats.total_connections,
    })
}
