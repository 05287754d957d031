//! The protocol end to end over real Socket.IO v5 WebSockets: handshake, rooms, relays,
//! pricing versions, refusals. Scenario per test; no fixed ports, no sleeps for correctness.

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::{config, server, token, Client, Connected, SECRET};
use tether_reference_server::{encode_claims, Claims, Rate, RateLimits, Role};

const QUIET: Duration = Duration::from_millis(200);

#[tokio::test]
async fn handshake_without_a_valid_token_is_refused_with_unauthorized() {
    let server = server(config()).await;
    let expired = encode_claims(
        SECRET,
        &Claims { sub: "u".into(), name: "U".into(), role: Role::Editor, rooms: None, exp: 1 },
    );
    let cases = [
        (json!({}), "missing token"),
        (json!({"token": "garbage"}), "malformed"),
        (json!({"token": expired}), "expired"),
        (json!({"token": token("u", Role::Editor).replace('.', "x.")}), ""),
        (json!("not an object"), "auth payload"),
    ];
    for (auth, why) in cases {
        match Client::connect(server.addr(), auth.clone()).await {
            Connected::Refused(err) => {
                let message = err["message"].as_str().unwrap_or_default();
                assert!(message.starts_with("unauthorized: "), "{auth}: {message}");
                assert!(message.contains(why), "{auth}: {message}");
            }
            Connected::Ok(_) => panic!("{auth} was accepted"),
        }
    }
    server.shutdown().await;
}

#[tokio::test]
async fn join_acks_the_roster_and_announces_the_newcomer_to_others_only() {
    let server = server(config()).await;
    let mut ana = Client::connect_as(server.addr(), &token("ana", Role::Editor)).await;
    let mut bob = Client::connect_as(server.addr(), &token("bob", Role::Viewer)).await;

    let ack = ana.call("join-room", json!({"room": "doc"})).await;
    assert_eq!(ack["ok"], json!(true));
    assert_eq!(ack["room"], json!("doc"));
    assert_eq!(ack["version"], json!(0));
    assert_eq!(ack["state"], json!({}));
    assert_eq!(ack["members"].as_array().map(Vec::len), Some(1));

    let ack = bob.call("join-room", json!({"room": "doc"})).await;
    let ids: Vec<_> =
        ack["members"].as_array().expect("members").iter().map(|m| m["userId"].clone()).collect();
    assert_eq!(ids, [json!("ana"), json!("bob")]);

    let joined = ana.event("user-joined").await;
    assert_eq!(joined["room"], json!("doc"));
    assert_eq!(joined["user"]["userId"], json!("bob"));
    assert_eq!(joined["user"]["role"], json!("viewer"));
    assert_eq!(joined["user"]["cursor"], Value::Null);
    assert!(bob.drain(QUIET).await.iter().all(|(e, _)| e != "user-joined"), "no echo");
    server.shutdown().await;
}

#[tokio::test]
async fn relays_reach_the_room_but_not_the_sender_in_order() {
    let server = server(config()).await;
    let mut ana = Client::connect_as(server.addr(), &token("ana", Role::Editor)).await;
    let mut bob = Client::connect_as(server.addr(), &token("bob", Role::Editor)).await;
    let mut eve = Client::connect_as(server.addr(), &token("eve", Role::Editor)).await;
    bob.call("join-room", json!({"room": "doc"})).await;
    eve.call("join-room", json!({"room": "elsewhere"})).await;

    // No waiting between join and the relays: the server keeps each connection's order.
    ana.emit("join-room", json!({"room": "doc"})).await;
    ana.emit("cursor-move", json!({"room": "doc", "x": 10, "y": 20.5})).await;
    ana.emit("field-focus", json!({"room": "doc", "field": "labor"})).await;
    ana.emit("typing-start", json!({"room": "doc", "field": "labor"})).await;
    ana.emit("typing-stop", json!({"room": "doc", "field": "labor"})).await;
    ana.emit("field-blur", json!({"room": "doc", "field": "labor"})).await;
    let ack =
        ana.call("presence-update", json!({"room": "doc", "state": "idle", "tool": "pen"})).await;
    assert_eq!(ack, json!({"ok": true}));

    let events: Vec<String> = bob.drain(QUIET).await.into_iter().map(|(event, _)| event).collect();
    assert_eq!(
        events,
        [
            "user-joined",
            "cursor-moved",
            "field-focused",
            "typing-started",
            "typing-stopped",
            "field-blurred",
            "presence-updated"
        ]
    );
    assert!(ana.drain(QUIET).await.is_empty(), "sender gets no echo");
    assert!(eve.drain(QUIET).await.is_empty(), "other rooms hear nothing");

    let roster = bob.call("room-state", json!({"room": "doc"})).await;
    let ana_member = &roster["members"][0];
    assert_eq!(ana_member["cursor"], json!({"x": 10.0, "y": 20.5}));
    assert_eq!(ana_member["state"], json!("idle"));
    assert_eq!(ana_member["tool"], json!("pen"));
    assert_eq!(ana_member["field"], Value::Null);
    server.shutdown().await;
}

#[tokio::test]
async fn cursor_relay_has_the_documented_shape() {
    let server = server(config()).await;
    let mut ana = Client::connect_as(server.addr(), &token("ana", Role::Editor)).await;
    let mut bob = Client::connect_as(server.addr(), &token("bob", Role::Editor)).await;
    ana.call("join-room", json!({"room": "doc"})).await;
    bob.call("join-room", json!({"room": "doc"})).await;
    ana.emit("cursor-move", json!({"room": "doc", "x": 1, "y": 2})).await;
    let moved = bob.event("cursor-moved").await;
    assert_eq!(moved, json!({"room": "doc", "userId": "ana", "x": 1.0, "y": 2.0}));
    server.shutdown().await;
}

#[tokio::test]
async fn pricing_updates_are_versioned_and_stale_ones_conflict() {
    let server = server(config()).await;
    let mut ana = Client::connect_as(server.addr(), &token("ana", Role::Editor)).await;
    let mut bob = Client::connect_as(server.addr(), &token("bob", Role::Owner)).await;
    ana.call("join-room", json!({"room": "doc"})).await;
    bob.call("join-room", json!({"room": "doc"})).await;

    let update = json!({"room": "doc", "field": "labor", "value": 120, "baseVersion": 0, "optimisticId": "o-1"});
    let ack = ana.call("pricing-update", update).await;
    assert_eq!(ack, json!({"ok": true, "version": 1, "value": 120}));
    let updated = bob.event("pricing-updated").await;
    assert_eq!(updated["field"], json!("labor"));
    assert_eq!(updated["version"], json!(1));
    assert_eq!(updated["updatedBy"], json!("ana"));
    assert_eq!(updated["optimisticId"], json!("o-1"));
    assert!(updated["timestamp"].as_u64().is_some_and(|t| t > 1_600_000_000_000));

    let stale = json!({"room": "doc", "field": "labor", "value": 99, "baseVersion": 0, "optimisticId": "o-2"});
    let ack = bob.call("pricing-update", stale).await;
    assert_eq!(ack["ok"], json!(false));
    assert_eq!(ack["error"], json!("conflict"));
    assert_eq!(ack["serverValue"], json!(120));
    assert_eq!(ack["serverVersion"], json!(1));
    let heard: Vec<_> = ana.drain(QUIET).await.into_iter().map(|(e, _)| e).collect();
    assert_eq!(heard, ["user-joined"], "a conflict broadcasts nothing");

    let rebased = json!({"room": "doc", "field": "labor", "value": 99, "baseVersion": 1, "optimisticId": "o-3"});
    assert_eq!(bob.call("pricing-update", rebased).await["version"], json!(2));
    let snapshot = ana.call("room-state", json!({"room": "doc"})).await;
    assert_eq!(snapshot["version"], json!(2));
    assert_eq!(snapshot["state"]["labor"]["value"], json!(99));
    assert_eq!(snapshot["state"]["labor"]["updatedBy"], json!("bob"));
    server.shutdown().await;
}

#[tokio::test]
async fn refusals_get_error_acks_with_codes() {
    let rooms = Some(vec!["doc".to_owned()]);
    let server =
        server(config().with_max_payload_bytes(1024).with_known_rooms(["doc", "other"])).await;
    let mut vic = Client::connect_as(server.addr(), &token("vic", Role::Viewer)).await;
    let limited = tether_reference_server::issue_token(
        SECRET,
        "lim",
        "Lim",
        Role::Editor,
        rooms,
        Duration::from_secs(60),
    );
    let mut lim = Client::connect_as(server.addr(), &limited).await;

    let code = |ack: Value| ack["error"].as_str().unwrap_or("<none>").to_owned();
    let update = json!({"room": "doc", "field": "f", "value": 1, "baseVersion": 0});
    assert_eq!(code(vic.call("pricing-update", update.clone()).await), "not_joined");
    vic.call("join-room", json!({"room": "doc"})).await;
    assert_eq!(code(vic.call("pricing-update", update).await), "forbidden");
    assert_eq!(code(vic.call("join-room", json!({"room": "missing"})).await), "unknown_room");
    assert_eq!(code(lim.call("join-room", json!({"room": "other"})).await), "forbidden");
    assert_eq!(code(vic.call("join-room", json!({"room": 5})).await), "bad_request");
    assert_eq!(code(vic.call("join-room", json!({})).await), "bad_request");
    assert_eq!(code(vic.call("join-room", json!({"room": ""})).await), "bad_request");
    assert_eq!(
        code(vic.call("cursor-move", json!({"room": "doc", "x": "left", "y": 1})).await),
        "bad_request"
    );
    assert_eq!(
        code(vic.call("presence-update", json!({"room": "doc", "state": "asleep"})).await),
        "bad_request"
    );
    assert_eq!(code(vic.call("leave-room", json!({"room": "other"})).await), "not_joined");
    assert_eq!(code(vic.call("no-such-event", json!({})).await), "bad_request");
    let huge = json!({"room": "doc", "x": 1, "y": 2, "pad": "x".repeat(2048)});
    assert_eq!(code(vic.call("cursor-move", huge).await), "too_large");
    let id = vic.emit_raw_with_ack(r#"["join-room"]"#).await;
    assert_eq!(code(vic.ack(id).await), "bad_request");
    let id = vic.emit_raw_with_ack(r#"["join-room","doc"]"#).await;
    assert_eq!(code(vic.ack(id).await), "bad_request");

    // The connection survived all of it.
    assert_eq!(vic.call("room-state", json!({"room": "doc"})).await["ok"], json!(true));
    server.shutdown().await;
}

#[tokio::test]
async fn rate_limits_refuse_acked_events_and_drop_others() {
    // Slow refill, so a loaded machine cannot earn extra tokens during the test.
    let limits = RateLimits {
        pricing: Rate { per_second: 1, burst: 2 },
        cursor: Rate { per_second: 1, burst: 3 },
        ..RateLimits::default()
    };
    let server = server(config().with_rate_limits(limits)).await;
    let mut ana = Client::connect_as(server.addr(), &token("ana", Role::Editor)).await;
    let mut bob = Client::connect_as(server.addr(), &token("bob", Role::Editor)).await;
    ana.call("join-room", json!({"room": "doc"})).await;
    bob.call("join-room", json!({"room": "doc"})).await;

    let mut codes = Vec::new();
    for version in 0..4 {
        let update = json!({"room": "doc", "field": "f", "value": version, "baseVersion": version});
        let ack = ana.call("pricing-update", update).await;
        codes.push(ack["error"].as_str().map_or("ok".to_owned(), str::to_owned));
    }
    assert_eq!(codes, ["ok", "ok", "rate_limited", "rate_limited"]);

    for x in 0..10 {
        ana.emit("cursor-move", json!({"room": "doc", "x": x, "y": 0})).await;
    }
    let moved = bob.drain(QUIET).await.into_iter().filter(|(e, _)| e == "cursor-moved").count();
    assert!((3..10).contains(&moved), "moved {moved}");
    server.shutdown().await;
}

#[tokio::test]
async fn leaving_and_disconnecting_are_announced_once_per_user() {
    let server = server(config()).await;
    let mut ana = Client::connect_as(server.addr(), &token("ana", Role::Editor)).await;
    let mut bob = Client::connect_as(server.addr(), &token("bob", Role::Editor)).await;
    let mut bob_tab2 = Client::connect_as(server.addr(), &token("bob", Role::Editor)).await;
    ana.call("join-room", json!({"room": "doc"})).await;
    bob.call("join-room", json!({"room": "doc"})).await;
    bob_tab2.call("join-room", json!({"room": "doc"})).await;
    assert_eq!(ana.event("user-joined").await["user"]["userId"], json!("bob"));

    assert_eq!(
        bob.call("leave-room", json!({"room": "doc"})).await,
        json!({"ok": true, "room": "doc"})
    );
    bob_tab2.close().await;
    assert_eq!(ana.event("user-disconnected").await, json!({"room": "doc", "userId": "bob"}));
    let events: Vec<_> = ana.drain(QUIET).await.into_iter().map(|(e, _)| e).collect();
    assert!(events.is_empty(), "bob was announced once: {events:?}");

    bob.call("join-room", json!({"room": "doc"})).await;
    assert_eq!(ana.event("user-joined").await["user"]["userId"], json!("bob"));
    bob.call("leave-room", json!({"room": "doc"})).await;
    assert_eq!(ana.event("user-left").await, json!({"room": "doc", "userId": "bob"}));
    server.shutdown().await;
}

#[tokio::test]
async fn shutdown_disconnects_clients_and_frees_the_port() {
    let server = server(config()).await;
    let addr = server.addr();
    let mut ana = Client::connect_as(addr, &token("ana", Role::Editor)).await;
    ana.call("join-room", json!({"room": "doc"})).await;
    tokio::time::timeout(Duration::from_secs(10), server.shutdown())
        .await
        .expect("prompt shutdown");
    assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "nothing listens any more");
}
