//! Network and foreground hints, and the outbox, on virtual time.

use super::harness::*;

#[test]
fn network_back_retries_now_instead_of_at_the_backoff_slot() {
    let mut h = Harness::new(raw_config().with_reconnect_delays(secs(10), secs(30)));
    h.connect_raw();
    h.session.network_available(false, h.now);
    h.cut();
    assert_eq!(h.retry_at() - h.now, secs(60), "offline: only the long fallback timer");
    h.take_actions();
    h.advance(secs(2));
    h.session.network_available(true, h.now);
    assert_eq!(h.session.state(), &ConnectionState::Connecting);
    assert!(h.take_actions().iter().any(|a| matches!(a, Action::OpenTransport { .. })));
}

#[test]
fn foreground_probes_a_live_connection() {
    let mut h = Harness::new(raw_config().with_heartbeat(secs(30), secs(5)));
    h.connect_raw();
    h.take_sent();
    h.session.app_foreground(true, h.now);
    assert!(h.take_sent().iter().any(|f| matches!(f, Frame::Ping(_))), "a ping at once");
    h.advance(secs(5));
    assert!(
        matches!(h.session.state(), ConnectionState::Reconnecting { .. }),
        "a dead link is found in 5 s, not 35"
    );
}

// ----- outbox -----

#[test]
fn sends_while_offline_flush_in_order_before_new_sends() {
    let mut h = Harness::raw();
    for n in 0..5 {
        assert_eq!(h.session.send(text(n), SendOptions::default(), h.now), Ok(None));
    }
    assert_eq!(h.session.outbox_len(), 5);
    h.connect_raw();
    h.session.send(text(5), SendOptions::default(), h.now).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(h.texts(), (0..6).map(|n| format!("m{n}")).collect::<Vec<_>>());
    assert_eq!(h.session.outbox_len(), 0);
}

#[test]
fn outbox_overflow_drop_oldest_reports_each_drop() {
    let mut h = Harness::new(raw_config().with_outbox_limits(3, 1 << 20));
    for n in 0..5 {
        h.session.send(text(n), SendOptions::default(), h.now).unwrap_or_else(|e| panic!("{e}"));
    }
    let dropped: Vec<OutgoingMessage> = h
        .take_events()
        .into_iter()
        .filter_map(|e| {
            if let Event::Dropped { message, reason: DropReason::Overflow } = e {
                Some(message)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(dropped, vec![text(0), text(1)]);
    assert_eq!(h.session.stats(h.now).dropped, 2);
    h.connect_raw();
    assert_eq!(h.texts(), vec!["m2", "m3", "m4"]);
}

#[test]
fn outbox_overflow_drop_newest_keeps_the_queue() {
    let mut h = Harness::new(
        raw_config()
            .with_outbox_limits(2, 1 << 20)
            .with_overflow_policy(OverflowPolicy::DropNewest),
    );
    for n in 0..4 {
        assert_eq!(h.session.send(text(n), SendOptions::default(), h.now), Ok(None));
    }
    let dropped =
        h.take_events().into_iter().filter(|e| matches!(e, Event::Dropped { .. })).count();
    assert_eq!(dropped, 2);
    h.connect_raw();
    assert_eq!(h.texts(), vec!["m0", "m1"]);
}

#[test]
fn outbox_overflow_reject_returns_queue_full() {
    let mut h = Harness::new(
        raw_config().with_outbox_limits(2, 1 << 20).with_overflow_policy(OverflowPolicy::Reject),
    );
    h.session.send(text(0), SendOptions::default(), h.now).unwrap_or_else(|e| panic!("{e}"));
    h.session.send(text(1), SendOptions::default(), h.now).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        h.session.send(text(2), SendOptions::default(), h.now),
        Err(SendError::QueueFull { queued: 2 })
    );
    assert!(
        !h.take_events().iter().any(|e| matches!(e, Event::Dropped { .. })),
        "refused, not dropped"
    );
    assert_eq!(h.session.stats(h.now).messages_sent, 2);
}

#[test]
fn outbox_byte_bound_counts_bytes() {
    let mut h = Harness::new(raw_config().with_outbox_limits(100, 100));
    let big = OutgoingMessage::text("x".repeat(60));
    h.session.send(big.clone(), SendOptions::default(), h.now).unwrap_or_else(|e| panic!("{e}"));
    h.session.send(big, SendOptions::default(), h.now).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(h.session.outbox_len(), 1, "the second pushed the first out");
    let too_big = OutgoingMessage::text("x".repeat(200));
    assert!(matches!(
        h.session.send(too_big, SendOptions::default(), h.now),
        Err(SendError::TooLarge { .. })
    ));
}

#[test]
fn outbox_ttl_expires_old_messages() {
    let mut h = Harness::new(raw_config().with_outbox_ttl(Some(secs(30))));
    h.session.send(text(0), SendOptions::default(), h.now).unwrap_or_else(|e| panic!("{e}"));
    h.advance(secs(20));
    h.session.send(text(1), SendOptions::default(), h.now).unwrap_or_else(|e| panic!("{e}"));
    h.advance(secs(15));
    assert!(h
        .take_events()
        .contains(&Event::Dropped { message: text(0), reason: DropReason::Expired }));
    h.connect_raw();
    assert_eq!(h.texts(), vec!["m1"]);
}

#[test]
fn clear_outbox_reports_every_message() {
    let mut h = Harness::raw();
    for n in 0..3 {
        h.session.send(text(n), SendOptions::default(), h.now).unwrap_or_else(|e| panic!("{e}"));
    }
    assert_eq!(h.session.clear_outbox(), 3);
    let cleared = h
        .take_events()
        .into_iter()
        .filter(|e| matches!(e, Event::Dropped { reason: DropReason::Cleared, .. }))
        .count();
    assert_eq!(cleared, 3);
    assert_eq!(h.session.outbox_len(), 0);
}
