//! `GET /health` and `GET /stats` over real HTTP against a server on a free port.

mod support;

use serde_json::json;
use support::{config, http_get, server, token, Client};
use tether_reference_server::Role;

#[tokio::test]
async fn health_reports_ok_uptime_and_connections() {
    let server = server(config()).await;
    let (status, body) = http_get(server.addr(), "/health").await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], json!("ok"));
    assert!(body["uptime"].is_u64(), "{body}");
    assert_eq!(body["connections"], json!(0));
    server.shutdown().await;
}

#[tokio::test]
async fn stats_count_users_rooms_and_connections() {
    let server = server(config()).await;
    let (status, body) = http_get(server.addr(), "/stats").await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"connectedUsers": 0, "activeRooms": 0, "totalConnections": 0}));

    let mut ana = Client::connect_as(server.addr(), &token("ana", Role::Editor)).await;
    let mut ana_tab2 = Client::connect_as(server.addr(), &token("ana", Role::Editor)).await;
    let ack = ana.call("join-room", json!({"room": "doc-1"})).await;
    assert_eq!(ack["ok"], json!(true));
    // Any acked event proves the connection has been counted (events run after connect).
    let ack = ana_tab2.call("room-state", json!({"room": "doc-1"})).await;
    assert_eq!(ack["error"], json!("not_joined"));

    let (_, body) = http_get(server.addr(), "/stats").await;
    assert_eq!(body, json!({"connectedUsers": 1, "activeRooms": 1, "totalConnections": 2}));
    let (_, health) = http_get(server.addr(), "/health").await;
    assert_eq!(health["connections"], json!(2));
    ana.close().await;
    ana_tab2.close().await;
    server.shutdown().await;
}

#[tokio::test]
async fn unknown_paths_are_not_found() {
    let server = server(config()).await;
    let (status, _) = http_get(server.addr(), "/nope").await;
    assert_eq!(status, 404);
    server.shutdown().await;
}
