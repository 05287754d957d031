//! Phoenix Channels through the session, on virtual time: channels joined with payloads,
//! pushes that wait for their channel's join, rejoins with their own backoff while the socket
//! stays up, heartbeats on topic `phoenix` feeding latency and detecting a dead socket, and the
//! token passed on to joined channels.

use super::harness::*;
use serde_json::Value;
use tether_core::{BackoffPolicy, PhoenixConfig, PostgresChangesFilter, RealtimeChannelConfig};

fn phoenix_config() -> Config {
    Config::new("ws://server.test")
        .with_phoenix(PhoenixConfig::default())
        .with_heartbeat(secs(30), secs(45))
        .with_rejoin_backoff(BackoffPolicy { jitter: Jitter::None, ..phoenix_rejoin() })
}

fn phoenix_rejoin() -> BackoffPolicy {
    Config::default().rejoin_backoff
}

fn connect(h: &mut Harness) {
    h.session.connect(h.now);
    h.open_transport();
    assert_eq!(h.session.state(), &ConnectionState::Connected, "Phoenix has no handshake");
    h.take_events();
}

/// The frames sent, parsed: `[join_ref, ref, topic, event, payload]`.
fn frames(h: &mut Harness) -> Vec<Value> {
    h.texts().iter().map(|t| serde_json::from_str(t).unwrap_or_default()).collect()
}

fn reply(
    h: &mut Harness,
    join_ref: &Value,
    msg_ref: &Value,
    topic: &str,
    status: &str,
    response: Value,
) {
    let frame =
        json!([join_ref, msg_ref, topic, "phx_reply", {"status": status, "response": response}]);
    h.frame_in(&frame.to_string());
}

#[test]
fn a_push_made_before_its_channel_is_joined_waits_for_the_join_with_its_timeout_running() {
    let mut h = Harness::new(phoenix_config());
    connect(&mut h);
    let joined = h.session.join_with("room:a", Some(json!({"color": "blue"})), h.now);
    assert_eq!(joined, Ok(true));
    let sent = frames(&mut h);
    assert_eq!(sent, [json!(["1", "1", "room:a", "phx_join", {"color": "blue"}])]);
    // Pushed at once, held until the join is confirmed.
    let message = OutgoingMessage::new("ping", json!({"n": 1})).in_namespace("room:a");
    let ack = h.session.send(message, SendOptions::with_ack(Some(secs(5))), h.now);
    let Ok(Some(ack)) = ack else { panic!("accepted with an ack: {ack:?}") };
    assert!(frames(&mut h).is_empty(), "nothing goes out before the join reply");
    assert_eq!(h.session.stats(h.now).queued, 1);
    h.advance(secs(1));
    reply(&mut h, &json!("1"), &json!("1"), "room:a", "ok", json!({"welcome": true}));
    let events = h.take_events();
    assert!(events.contains(&Event::RoomJoinReply {
        room: "room:a".into(),
        response: json!({"welcome": true})
    }));
    assert!(events.contains(&Event::RoomJoined { room: "room:a".into() }));
    let sent = frames(&mut h);
    assert_eq!(sent, [json!(["1", "2", "room:a", "ping", {"n": 1}])]);
    reply(&mut h, &json!("1"), &json!("2"), "room:a", "ok", json!({"n": 1}));
    let settled = h.take_events().into_iter().find_map(|e| match e {
        Event::AckSettled { id, result } if id == ack => Some(result),
        _ => None,
    });
    assert_eq!(settled.map(|r| r.map(|reply| reply.data)), Some(Ok(vec![json!({"n": 1})])));

    // A push held for a join that never comes times out after its own 5 s, counted from the
    // push, and is never sent late.
    h.session.join("room:b", h.now).unwrap_or_else(|e| panic!("{e}"));
    frames(&mut h);
    let message = OutgoingMessage::new("late", json!({})).in_namespace("room:b");
    let pushed_at = h.now;
    let Ok(Some(late)) = h.session.send(message, SendOptions::with_ack(Some(secs(5))), h.now)
    else {
        panic!("accepted")
    };
    h.advance(secs(5));
    let timed_out = h.take_events().into_iter().any(
        |e| matches!(e, Event::AckSettled { id, result: Err(AckError::Timeout) } if id == late),
    );
    assert!(timed_out, "the held push timed out {:?} after it was made", h.now - pushed_at);
    assert!(!h.texts().iter().any(|t| t.contains("late")));
}

#[test]
fn pushes_to_a_channel_the_app_never_joined_are_refused() {
    let mut h = Harness::new(phoenix_config());
    connect(&mut h);
    let message = OutgoingMessage::new("ping", json!({})).in_namespace("room:nowhere");
    assert!(matches!(
        h.session.send(message, SendOptions::default(), h.now),
        Err(SendError::Invalid(why)) if why.contains("join room:nowhere")
    ));
}

#[test]
fn a_crashed_channel_is_rejoined_with_its_own_backoff_while_the_socket_stays_up() {
    let mut h = Harness::new(phoenix_config());
    connect(&mut h);
    h.session.join("room:crash", h.now).unwrap_or_else(|e| panic!("{e}"));
    frames(&mut h);
    reply(&mut h, &json!("1"), &json!("1"), "room:crash", "ok", json!({}));
    h.take_events();
    // The channel process crashes: phx_error with the join ref in both slots.
    h.frame_in(r#"["1","1","room:crash","phx_error",{}]"#);
    let events = h.take_events();
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::RoomError { room, .. } if room == "room:crash")));
    assert_eq!(h.session.state(), &ConnectionState::Connected, "the socket stays up");
    // Rejoins after 1 s, 2 s, 4 s... (no jitter here), each with a new join ref.
    let mut rejoined_at = Vec::new();
    let started = h.now;
    for expected_ref in ["2", "3", "4"] {
        let deadline = h.now + secs(20);
        let join = loop {
            assert!(h.now < deadline, "no rejoin");
            h.advance(ms(100));
            let sent = frames(&mut h);
            if let Some(join) = sent.into_iter().find(|f| f[3] == "phx_join") {
                break join;
            }
        };
        assert_eq!(join[0], json!(expected_ref));
        rejoined_at.push((h.now - started).as_millis() / 100);
        // The server keeps failing the join: it times out after ack_timeout (10 s).
        h.advance(secs(10));
        h.take_events();
    }
    // 1 s, then 10 s (timeout) + 2 s, then 10 s + 4 s, in 100 ms steps.
    assert_eq!(rejoined_at, [10, 10 + 100 + 20, 10 + 100 + 20 + 100 + 40]);
    // A join that works resets the backoff; the room is joined again.
    h.advance(secs(10));
    let join = frames(&mut h).into_iter().find(|f| f[3] == "phx_join");
    let Some(join) = join else { panic!("rejoined again") };
    reply(&mut h, &join[0], &join[1], "room:crash", "ok", json!({}));
    assert!(h.take_events().contains(&Event::RoomJoined { room: "room:crash".into() }));
}

#[test]
fn a_refused_join_is_not_asked_again_until_the_next_connection() {
    let mut h = Harness::new(phoenix_config());
    connect(&mut h);
    h.session.join("room:forbidden", h.now).unwrap_or_else(|e| panic!("{e}"));
    frames(&mut h);
    reply(
        &mut h,
        &json!("1"),
        &json!("1"),
        "room:forbidden",
        "error",
        json!({"reason": "unauthorized"}),
    );
    let events = h.take_events();
    assert!(events.contains(&Event::RoomJoinFailed {
        room: "room:forbidden".into(),
        reason: "unauthorized".into()
    }));
    h.advance(secs(120));
    assert!(!frames(&mut h).iter().any(|f| f[3] == "phx_join"), "no retry storm");
    // The next connection asks again.
    h.cut();
    h.advance(h.retry_at() - h.now);
    h.open_transport();
    assert!(frames(&mut h).iter().any(|f| f[3] == "phx_join" && f[2] == "room:forbidden"));
}

#[test]
fn heartbeats_go_on_topic_phoenix_measure_latency_and_a_missed_one_reconnects() {
    let mut h = Harness::new(phoenix_config());
    connect(&mut h);
    h.advance(secs(30));
    let sent = frames(&mut h);
    assert_eq!(sent, [json!([null, "1", "phoenix", "heartbeat", {}])]);
    h.advance(ms(80));
    reply(&mut h, &Value::Null, &json!("1"), "phoenix", "ok", json!({}));
    let latency = h.session.stats(h.now).latency;
    assert_eq!(latency.last, Some(ms(80)));
    assert!(h.session.stats(h.now).latency.samples == 1);
    // The server goes silent: the next heartbeat is not answered. Declared dead within
    // interval + timeout of the last sign of life, and not before the timeout passed.
    let last_answer = h.now;
    let dead_after = loop {
        h.advance(ms(100));
        let events = h.take_events();
        if events.iter().any(|e| {
            matches!(
                e,
                Event::Disconnected {
                    reason: DisconnectReason::HeartbeatTimeout,
                    will_reconnect: true
                }
            )
        }) {
            break h.now - last_answer;
        }
        assert!(h.now - last_answer <= secs(120), "never declared dead");
    };
    assert!(dead_after >= secs(45) && dead_after <= secs(30 + 45), "{dead_after:?}");
    assert!(matches!(h.session.state(), ConnectionState::Reconnecting { .. }));
}

#[test]
fn a_closed_channel_leaves_the_set_and_its_waiting_pushes_are_dropped() {
    let mut h = Harness::new(phoenix_config());
    connect(&mut h);
    h.session.join("room:close", h.now).unwrap_or_else(|e| panic!("{e}"));
    frames(&mut h);
    // A push waiting for the join, then the server closes the channel instead.
    let waiting = OutgoingMessage::new("hello", json!({})).in_namespace("room:close");
    h.session.send(waiting, SendOptions::default(), h.now).unwrap_or_else(|e| panic!("{e}"));
    h.frame_in(r#"["1","1","room:close","phx_close",{}]"#);
    let events = h.take_events();
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::RoomClosed { room, .. } if room == "room:close")));
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::Dropped { reason: DropReason::RoomClosed, .. })));
    assert_eq!(h.session.rooms().count(), 0);
    assert_eq!(h.session.stats(h.now).queued, 0);
    // Not rejoined after a reconnect either.
    h.cut();
    h.advance(h.retry_at() - h.now);
    h.open_transport();
    assert!(!frames(&mut h).iter().any(|f| f[3] == "phx_join"));
}

#[test]
fn after_a_reconnect_every_channel_is_rejoined_with_its_payload_before_its_pushes_go() {
    let mut h = Harness::new(phoenix_config());
    connect(&mut h);
    h.session.join_with("room:a", Some(json!({"v": 1})), h.now).unwrap_or_else(|e| panic!("{e}"));
    h.session.join("room:b", h.now).unwrap_or_else(|e| panic!("{e}"));
    frames(&mut h);
    reply(&mut h, &json!("1"), &json!("1"), "room:a", "ok", json!({}));
    reply(&mut h, &json!("2"), &json!("2"), "room:b", "ok", json!({}));
    h.cut();
    // Offline sends to both channels wait in the outbox.
    for (topic, n) in [("room:a", 1), ("room:b", 2), ("room:a", 3)] {
        let m = OutgoingMessage::new("n", json!(n)).in_namespace(topic);
        h.session.send(m, SendOptions::default(), h.now).unwrap_or_else(|e| panic!("{e}"));
    }
    h.advance(h.retry_at() - h.now);
    h.open_transport();
    let sent = frames(&mut h);
    assert_eq!(
        sent,
        [
            json!(["1", "1", "room:a", "phx_join", {"v": 1}]),
            json!(["2", "2", "room:b", "phx_join", {}]),
        ],
        "joins first, pushes wait for them"
    );
    reply(&mut h, &json!("2"), &json!("2"), "room:b", "ok", json!({}));
    assert_eq!(frames(&mut h), [json!(["2", "3", "room:b", "n", 2])]);
    reply(&mut h, &json!("1"), &json!("1"), "room:a", "ok", json!({}));
    assert_eq!(
        frames(&mut h),
        [json!(["1", "4", "room:a", "n", 1]), json!(["1", "5", "room:a", "n", 3])],
        "in order per channel"
    );
}

#[test]
fn a_refused_push_settles_its_ack_with_the_servers_error() {
    let mut h = Harness::new(phoenix_config());
    connect(&mut h);
    h.session.join("room:a", h.now).unwrap_or_else(|e| panic!("{e}"));
    frames(&mut h);
    reply(&mut h, &json!("1"), &json!("1"), "room:a", "ok", json!({}));
    let m = OutgoingMessage::new("nack", json!({"why": "no"})).in_namespace("room:a");
    let Ok(Some(id)) = h.session.send(m, SendOptions::with_ack(None), h.now) else { panic!() };
    frames(&mut h);
    h.take_events();
    reply(&mut h, &json!("1"), &json!("2"), "room:a", "error", json!({"why": "no"}));
    let events = h.take_events();
    assert!(events
        .contains(&Event::AckSettled { id, result: Err(AckError::Refused(json!({"why": "no"}))) }));
    assert_eq!(h.session.stats(h.now).ack_failed, 1);
}

#[test]
fn supabase_channels_get_the_refreshed_token_and_rejoin_with_it() {
    let config = Config::new("ws://server.test").with_phoenix(PhoenixConfig::supabase("anon"));
    let mut h = Harness::new(config);
    connect(&mut h);
    let channel = RealtimeChannelConfig {
        postgres_changes: vec![PostgresChangesFilter::table("*", "public", "todos")],
        ..RealtimeChannelConfig::default()
    };
    h.session
        .join_with("realtime:db", Some(channel.join_payload()), h.now)
        .unwrap_or_else(|e| panic!("{e}"));
    let join = frames(&mut h).remove(0);
    assert_eq!(join[4]["access_token"], "tok", "the provider's token of this connection");
    let ids = json!({"postgres_changes": [{"id": 5, "event": "*", "schema": "public", "table": "todos"}]});
    reply(&mut h, &json!("1"), &json!("1"), "realtime:db", "ok", ids);
    assert!(h.take_events().contains(&Event::RoomJoined { room: "realtime:db".into() }));
    h.session.refresh_token(&Token::new("fresh"), h.now);
    assert_eq!(
        frames(&mut h),
        [json!(["1", "2", "realtime:db", "access_token", {"access_token": "fresh"}])]
    );
}

#[test]
fn pushes_in_flight_when_their_channel_crashes_are_sent_again_after_the_rejoin() {
    let mut h = Harness::new(phoenix_config());
    connect(&mut h);
    h.session.join("room:a", h.now).unwrap_or_else(|e| panic!("{e}"));
    frames(&mut h);
    reply(&mut h, &json!("1"), &json!("1"), "room:a", "ok", json!({}));
    let reliable = OutgoingMessage::new("save", json!({"v": 1})).in_namespace("room:a");
    let Ok(Some(kept)) = h.session.send(reliable, SendOptions::at_least_once(None), h.now) else {
        panic!("accepted")
    };
    let plain = OutgoingMessage::new("save", json!({"v": 2})).in_namespace("room:a");
    let Ok(Some(lost)) = h.session.send(plain, SendOptions::with_ack(None), h.now) else {
        panic!("accepted")
    };
    assert_eq!(frames(&mut h).len(), 2, "both written");
    h.take_events();
    // The channel crashes before either is answered: neither answer can come now.
    h.frame_in(r#"["1","1","room:a","phx_error",{}]"#);
    let events = h.take_events();
    assert!(events.contains(&Event::AckSettled { id: lost, result: Err(AckError::ConnectionLost) }));
    assert!(!events.iter().any(|e| matches!(e, Event::AckSettled { id, .. } if *id == kept)));
    // The at-least-once push waits for the rejoin, then goes out on the new join.
    let rejoin = loop {
        h.advance(ms(100));
        if let Some(join) = frames(&mut h).into_iter().find(|f| f[3] == "phx_join") {
            break join;
        }
    };
    reply(&mut h, &rejoin[0], &rejoin[1], "room:a", "ok", json!({}));
    let sent = frames(&mut h);
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (sent[0][0].clone(), sent[0][3].clone(), sent[0][4].clone()),
        (rejoin[0].clone(), json!("save"), json!({"v": 1}))
    );
    reply(&mut h, &rejoin[0], &sent[0][1], "room:a", "ok", json!({}));
    assert!(h
        .take_events()
        .iter()
        .any(|e| matches!(e, Event::AckSettled { id, result: Ok(_) } if *id == kept)));
}
