use super::*;

fn message(event: &str, payload: Value) -> IncomingMessage {
    IncomingMessage {
        namespace: "realtime:t".into(),
        event: event.into(),
        data: vec![payload],
        binary: Vec::new(),
        ack_id: None,
        offset: None,
    }
}

#[test]
fn the_join_payload_has_realtime_js_shape() {
    let config = RealtimeChannelConfig {
        broadcast_ack: true,
        presence_key: "user-1".into(),
        postgres_changes: vec![PostgresChangesFilter {
            filter: Some("id=eq.7".into()),
            ..PostgresChangesFilter::table("UPDATE", "public", "todos")
        }],
        ..RealtimeChannelConfig::default()
    };
    assert_eq!(
        config.join_payload(),
        json!({"config": {
            "broadcast": {"ack": true, "self": false},
            "presence": {"key": "user-1", "enabled": false},
            "postgres_changes": [{"event": "UPDATE", "schema": "public", "table": "todos", "filter": "id=eq.7"}],
            "private": false,
        }})
    );
}

#[test]
fn bindings_match_the_servers_answer_in_order_or_not_at_all() {
    let asked = vec![
        json!({"event": "*", "schema": "public", "table": "a"}),
        json!({"event": "INSERT", "schema": "public", "table": "b", "filter": "x=eq.1"}),
    ];
    let answer = json!([
        {"id": 11, "event": "*", "schema": "public", "table": "a", "filter": null},
        {"id": 12, "event": "INSERT", "schema": "public", "table": "b", "filter": "x=eq.1"},
    ]);
    assert_eq!(match_bindings(&asked, Some(&answer)), Ok(vec![11, 12]));
    let swapped = json!([answer[1].clone(), answer[0].clone()]);
    assert!(match_bindings(&asked, Some(&swapped)).is_err());
    assert!(match_bindings(&asked, Some(&json!([answer[0].clone()]))).is_err());
    assert!(match_bindings(&asked, None).is_err());
    let no_id = json!([{"event": "*", "schema": "public", "table": "a"}]);
    assert!(match_bindings(&asked[..1], Some(&no_id)).is_err());
    assert_eq!(match_bindings(&[], None), Ok(vec![]), "no bindings asked: nothing to match");
}

#[test]
fn realtime_events_read_like_realtime_js() {
    let broadcast =
        message("broadcast", json!({"type": "broadcast", "event": "cursor", "payload": {"x": 1}}));
    assert_eq!(
        RealtimeEvent::read(&broadcast),
        Some(RealtimeEvent::Broadcast { event: "cursor".into(), payload: json!({"x": 1}) })
    );
    let update = message(
        "postgres_changes",
        json!({"ids": [11], "data": {
            "schema": "public", "table": "todos", "commit_timestamp": "2026-12-06T10:00:00Z",
            "type": "UPDATE", "record": {"id": 1, "done": true}, "old_record": {"id": 1},
            "columns": [], "errors": null
        }}),
    );
    let Some(RealtimeEvent::PostgresChange(change)) = RealtimeEvent::read(&update) else {
        panic!("an update reads as a change")
    };
    assert_eq!((change.event_type.as_str(), change.ids.as_slice()), ("UPDATE", &[11][..]));
    assert_eq!((change.new, change.old), (json!({"id": 1, "done": true}), json!({"id": 1})));
    let delete = message(
        "postgres_changes",
        json!({"ids": [3], "data": {"type": "DELETE", "old_record": {"id": 9}, "schema": "s", "table": "t"}}),
    );
    let Some(RealtimeEvent::PostgresChange(change)) = RealtimeEvent::read(&delete) else {
        panic!("a delete reads as a change")
    };
    assert_eq!((change.new, change.old), (json!({}), json!({"id": 9})));
    let system = message(
        "system",
        json!({"status": "ok", "message": "Subscribed to PostgreSQL", "extension": "postgres_changes"}),
    );
    assert!(
        matches!(RealtimeEvent::read(&system), Some(RealtimeEvent::System { status, .. }) if status == "ok")
    );
    assert_eq!(RealtimeEvent::read(&message("shout", json!({}))), None);
    assert_eq!(RealtimeEvent::read(&message("broadcast", json!("no event"))), None);
}

#[test]
fn outgoing_helpers_address_the_channel() {
    let track = supabase_track("realtime:t", json!({"online_at": 1}));
    assert_eq!((track.namespace.as_str(), track.event.as_str()), ("realtime:t", "presence"));
    assert_eq!(
        track.data[0],
        json!({"type": "presence", "event": "track", "payload": {"online_at": 1}})
    );
    assert_eq!(supabase_untrack("realtime:t").data[0]["event"], "untrack");
}
