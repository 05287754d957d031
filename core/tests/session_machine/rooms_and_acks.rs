//! Rooms and acknowledgements, on virtual time.

use super::harness::*;

#[test]
fn rooms_are_rejoined_in_order_before_the_outbox_flushes() {
    let mut h = Harness::raw();
    h.connect_raw();
    h.session.join("b", h.now).unwrap_or_else(|e| panic!("{e}"));
    h.session.join("a", h.now).unwrap_or_else(|e| panic!("{e}"));
    h.take_sent();
    h.cut();
    h.session.send(text(1), SendOptions::default(), h.now).unwrap_or_else(|e| panic!("{e}"));
    h.session.join("c", h.now).unwrap_or_else(|e| panic!("{e}"));
    h.session.leave("a", h.now).unwrap_or_else(|e| panic!("{e}"));
    let wait = h.retry_at() - h.now;
    h.advance(wait);
    h.open_transport();
    assert_eq!(
        h.texts(),
        vec![r#"{"room":"b","type":"join"}"#, r#"{"room":"c","type":"join"}"#, "m1"]
    );
}

#[test]
fn socket_io_joins_use_the_join_event_with_an_ack() {
    let mut h = Harness::socket_io();
    h.connect_socket_io();
    h.take_sent();
    h.session.join("estimate-1", h.now).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(h.texts(), vec![r#"421["join-room",{"room":"estimate-1"}]"#]);
    h.frame_in(r#"431[{"ok":true}]"#);
    assert!(h.take_events().contains(&Event::RoomJoined { room: "estimate-1".into() }));
    h.session.join("secret", h.now).unwrap_or_else(|e| panic!("{e}"));
    h.take_sent();
    h.frame_in(r#"432[{"ok":false,"error":"forbidden"}]"#);
    assert!(h
        .take_events()
        .contains(&Event::RoomJoinFailed { room: "secret".into(), reason: "forbidden".into() }));
}

#[test]
fn a_recovered_connection_does_not_rejoin_but_sends_leaves_made_offline() {
    let mut h = Harness::socket_io();
    h.connect_socket_io();
    h.session.join("a", h.now).unwrap_or_else(|e| panic!("{e}"));
    h.session.join("b", h.now).unwrap_or_else(|e| panic!("{e}"));
    h.cut();
    h.session.leave("b", h.now).unwrap_or_else(|e| panic!("{e}"));
    let wait = h.retry_at() - h.now;
    h.advance(wait);
    h.take_sent();
    h.socket_io_handshake("p1");
    let sent = h.texts();
    assert!(sent.iter().any(|t| t.contains(r#""pid":"p1""#)), "asks for recovery: {sent:?}");
    assert!(
        sent.iter()
            .any(|t| t.starts_with("42") && t.contains("leave-room") && t.contains(r#""b""#)),
        "{sent:?}"
    );
    assert!(!sent.iter().any(|t| t.contains("join-room")), "the server kept the rooms: {sent:?}");
    assert!(h.take_events().contains(&Event::Connected { recovered: true }));
}

// ----- acks -----

#[test]
fn ack_ids_are_monotonic_and_answers_settle_once() {
    let mut h = Harness::socket_io();
    h.connect_socket_io();
    let a = h.session.send(OutgoingMessage::new("x", json!(1)), SendOptions::with_ack(None), h.now);
    let b = h.session.send(OutgoingMessage::new("x", json!(2)), SendOptions::with_ack(None), h.now);
    let (Ok(Some(a)), Ok(Some(b))) = (a, b) else { panic!("acks not registered") };
    assert!(b > a);
    h.frame_in(&format!(r#"43{}["ok"]"#, a.0));
    h.frame_in(&format!(r#"43{}["again"]"#, a.0));
    let settled: Vec<AckId> = h
        .take_events()
        .into_iter()
        .filter_map(|e| if let Event::AckSettled { id, .. } = e { Some(id) } else { None })
        .collect();
    assert_eq!(settled, vec![a]);
    assert_eq!(h.session.stats(h.now).acked, 1);
}

#[test]
fn ack_timeout_fails_the_ack_once() {
    let mut h = Harness::socket_io();
    h.connect_socket_io();
    let id = h.session.send(
        OutgoingMessage::new("x", json!(1)),
        SendOptions::with_ack(Some(secs(5))),
        h.now,
    );
    let Ok(Some(id)) = id else { panic!("no ack id") };
    h.frame_in("2");
    h.advance(secs(5));
    h.frame_in(&format!(r#"43{}["late"]"#, id.0));
    let results: Vec<_> = h
        .take_events()
        .into_iter()
        .filter_map(|e| {
            if let Event::AckSettled { id, result } = e {
                Some((id, result))
            } else {
                None
            }
        })
        .collect();
    assert_eq!(results, vec![(id, Err(AckError::Timeout))]);
}

#[test]
fn a_queued_message_that_times_out_is_not_sent_later() {
    let mut h = Harness::socket_io();
    let id = h.session.send(
        OutgoingMessage::new("x", json!(1)),
        SendOptions::with_ack(Some(secs(5))),
        h.now,
    );
    assert!(matches!(id, Ok(Some(_))));
    h.advance(secs(6));
    assert_eq!(h.session.outbox_len(), 0);
    h.connect_socket_io();
    assert!(!h.texts().iter().any(|t| t.contains(r#"["x",1]"#)));
}

#[test]
fn connection_loss_fails_in_flight_acks() {
    let mut h = Harness::socket_io();
    h.connect_socket_io();
    let id =
        h.session.send(OutgoingMessage::new("x", json!(1)), SendOptions::with_ack(None), h.now);
    let Ok(Some(id)) = id else { panic!("no ack id") };
    h.cut();
    assert!(h
        .take_events()
        .contains(&Event::AckSettled { id, result: Err(AckError::ConnectionLost) }));
}

#[test]
fn at_least_once_resends_with_the_same_id_after_reconnect() {
    let mut h = Harness::socket_io();
    h.connect_socket_io();
    let id = h.session.send(
        OutgoingMessage::new("x", json!(1)),
        SendOptions::at_least_once(Some(secs(60))),
        h.now,
    );
    let Ok(Some(id)) = id else { panic!("no ack id") };
    let first = h.texts();
    assert!(first.contains(&format!(r#"42{}["x",1]"#, id.0)), "{first:?}");
    h.cut();
    assert!(!h.take_events().iter().any(|e| matches!(e, Event::AckSettled { .. })), "not failed");
    let wait = h.retry_at() - h.now;
    h.advance(wait);
    h.socket_io_handshake("p2");
    assert!(h.texts().contains(&format!(r#"42{}["x",1]"#, id.0)), "same id again");
    h.frame_in(&format!(r#"43{}["ok"]"#, id.0));
    let settled = h
        .take_events()
        .into_iter()
        .filter(|e| matches!(e, Event::AckSettled { result: Ok(_), .. }))
        .count();
    assert_eq!(settled, 1);
}

#[test]
fn acks_are_refused_beyond_the_pending_limit() {
    let mut h = Harness::new(Config::new("ws://server.test").with_max_pending_acks(2));
    h.connect_socket_io();
    for _ in 0..2 {
        assert!(h
            .session
            .send(OutgoingMessage::new("x", json!(1)), SendOptions::with_ack(None), h.now)
            .is_ok());
    }
    assert_eq!(
        h.session.send(OutgoingMessage::new("x", json!(1)), SendOptions::with_ack(None), h.now),
        Err(SendError::TooManyPendingAcks { limit: 2 })
    );
}

#[test]
fn raw_websocket_refuses_acks() {
    let mut h = Harness::raw();
    assert!(matches!(
        h.session.send(text(1), SendOptions::with_ack(None), h.now),
        Err(SendError::Unsupported { .. })
    ));
}
