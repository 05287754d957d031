use super::*;
use serde_json::json;

fn id(s: &str) -> OptimisticId {
    OptimisticId(s.to_owned())
}

fn conflict_reply(value: Value, version: u64) -> Value {
    json!({
        "ok": false, "error": "conflict", "message": "stale",
        "serverValue": value, "serverVersion": version,
    })
}

fn remote(value: Value, version: u64, at: u64) -> FieldVersion {
    FieldVersion { value, version, updated_by: Some("bob".into()), timestamp_ms: Some(at) }
}

#[test]
fn writes_carry_the_known_version_and_learn_the_new_one() {
    let mut v = VersionedFields::new(ConflictPolicy::default(), 3);
    let w = v.write(id("1"), "doc", "total", json!(100), 1_000);
    assert_eq!(w.base_version, 0);
    let r = v.on_reply(&id("1"), Some(&json!({"ok": true, "version": 1, "value": 100})));
    assert_eq!(r, WriteResult::Accepted { version: 1 });
    assert_eq!(v.field("doc", "total").map(|f| f.version), Some(1));
    let w = v.write(id("2"), "doc", "total", json!(110), 2_000);
    assert_eq!(w.base_version, 1);
}

#[test]
fn two_writes_in_flight_do_not_conflict_with_each_other() {
    let mut v = VersionedFields::new(ConflictPolicy::default(), 3);
    assert_eq!(v.write(id("1"), "doc", "total", json!(1), 1).base_version, 0);
    assert_eq!(v.write(id("2"), "doc", "total", json!(2), 2).base_version, 1);
    assert_eq!(v.write(id("3"), "doc", "other", json!(3), 3).base_version, 0);
}

#[test]
fn last_write_wins_resends_the_local_value_on_the_servers_version() {
    let mut v = VersionedFields::new(ConflictPolicy::LastWriteWins, 3);
    v.write(id("1"), "doc", "total", json!(90), 5_000);
    // Bob's write was made earlier (t=4000) but reached the server first.
    v.apply_remote("doc", "total", remote(json!(100), 1, 4_000));
    let r = v.on_reply(&id("1"), Some(&conflict_reply(json!(100), 1)));
    let WriteResult::Conflict { conflict, resend: Some(resend) } = r else {
        panic!("local wins: {r:?}")
    };
    assert_eq!(conflict.local, json!(90));
    assert_eq!(conflict.server, json!(100));
    assert_eq!(conflict.resolved, json!(90));
    assert_eq!(conflict.outcome, ConflictOutcome::Resent);
    assert_eq!(resend.base_version, 1);
    assert_eq!(resend.value, json!(90));
    let r = v.on_reply(&id("1"), Some(&json!({"ok": true, "version": 2, "value": 90})));
    assert_eq!(r, WriteResult::Accepted { version: 2 });
    assert_eq!(v.field("doc", "total").map(|f| f.value.clone()), Some(json!(90)));
}

#[test]
fn last_write_wins_keeps_a_server_value_written_after_the_local_edit() {
    let mut v = VersionedFields::new(ConflictPolicy::LastWriteWins, 3);
    // Edited offline at t=1000; Bob wrote at t=9000; the queued edit arrives after.
    v.write(id("1"), "doc", "total", json!(90), 1_000);
    v.apply_remote("doc", "total", remote(json!(100), 1, 9_000));
    let r = v.on_reply(&id("1"), Some(&conflict_reply(json!(100), 1)));
    let WriteResult::Conflict { conflict, resend: None } = r else { panic!("{r:?}") };
    assert_eq!(conflict.outcome, ConflictOutcome::ServerKept);
    assert_eq!(conflict.resolved, json!(100));
    assert!(!v.is_in_flight(&id("1")));
}

#[test]
fn a_server_timestamp_in_the_conflict_reply_decides_last_write_wins() {
    let mut v = VersionedFields::new(ConflictPolicy::LastWriteWins, 3);
    v.write(id("1"), "doc", "total", json!(90), 1_000);
    let mut reply = conflict_reply(json!(100), 1);
    reply["serverTimestamp"] = json!(2_000);
    let r = v.on_reply(&id("1"), Some(&reply));
    assert!(matches!(r, WriteResult::Conflict { resend: None, .. }), "{r:?}");
    v.write(id("2"), "doc", "total", json!(80), 3_000);
    let mut reply = conflict_reply(json!(100), 2);
    reply["serverTimestamp"] = json!(2_500);
    let r = v.on_reply(&id("2"), Some(&reply));
    assert!(matches!(r, WriteResult::Conflict { resend: Some(_), .. }), "{r:?}");
}

#[test]
fn unknown_server_time_counts_the_local_write_as_the_last() {
    let mut v = VersionedFields::new(ConflictPolicy::LastWriteWins, 3);
    v.write(id("1"), "doc", "total", json!(90), 1_000);
    let r = v.on_reply(&id("1"), Some(&conflict_reply(json!(100), 4)));
    assert!(matches!(
        r,
        WriteResult::Conflict { resend: Some(VersionedWrite { base_version: 4, .. }), .. }
    ));
}

#[test]
fn a_custom_resolver_decides_and_its_value_is_resent() {
    let policy = ConflictPolicy::custom(|c| {
        json!(c.local.as_i64().unwrap_or(0) + c.server.as_i64().unwrap_or(0))
    });
    let mut v = VersionedFields::new(policy, 3);
    v.write(id("1"), "doc", "total", json!(5), 1);
    let r = v.on_reply(&id("1"), Some(&conflict_reply(json!(100), 1)));
    let WriteResult::Conflict { conflict, resend: Some(resend) } = r else { panic!("{r:?}") };
    assert_eq!(conflict.resolved, json!(105));
    assert_eq!(resend.value, json!(105));
}

#[test]
fn a_resolver_that_picks_the_server_value_rolls_back_without_resending() {
    let mut v = VersionedFields::new(ConflictPolicy::custom(|c| c.server.clone()), 3);
    v.write(id("1"), "doc", "total", json!(5), 1);
    let r = v.on_reply(&id("1"), Some(&conflict_reply(json!(100), 1)));
    assert!(matches!(r, WriteResult::Conflict { resend: None, .. }));
    assert_eq!(v.field("doc", "total").map(|f| f.value.clone()), Some(json!(100)));
}

#[test]
fn server_wins_policy_never_resends() {
    let mut v = VersionedFields::new(ConflictPolicy::ServerWins, 3);
    v.write(id("1"), "doc", "total", json!(5), 10);
    let r = v.on_reply(&id("1"), Some(&conflict_reply(json!(100), 1)));
    assert!(matches!(r, WriteResult::Conflict { resend: None, .. }));
}

#[test]
fn repeated_conflicts_give_up_after_the_retry_limit() {
    let mut v = VersionedFields::new(ConflictPolicy::LastWriteWins, 2);
    v.write(id("1"), "doc", "total", json!(5), 10);
    let mut resent = 0;
    for version in 1..10 {
        match v.on_reply(&id("1"), Some(&conflict_reply(json!(version), version))) {
            WriteResult::Conflict { resend: Some(_), .. } => resent += 1,
            WriteResult::Conflict { resend: None, conflict } => {
                assert_eq!(conflict.outcome, ConflictOutcome::ServerKept);
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(resent, 2);
    assert!(!v.is_in_flight(&id("1")));
}

#[test]
fn other_refusals_and_bad_replies_never_panic() {
    let mut v = VersionedFields::new(ConflictPolicy::default(), 3);
    v.write(id("1"), "doc", "total", json!(5), 10);
    assert_eq!(
        v.on_reply(&id("1"), Some(&json!({"ok": false, "error": "forbidden"}))),
        WriteResult::Refused
    );
    v.write(id("2"), "doc", "total", json!(5), 10);
    // A conflict without the server's version cannot be resolved: a plain refusal.
    assert_eq!(
        v.on_reply(
            &id("2"),
            Some(&json!({"ok": false, "error": "conflict", "serverVersion": "x"}))
        ),
        WriteResult::Refused
    );
    assert_eq!(v.on_reply(&id("nope"), None), WriteResult::Unknown);
}

#[test]
fn after_a_reconnect_the_servers_answer_beats_old_knowledge() {
    let mut v = VersionedFields::new(ConflictPolicy::ServerWins, 3);
    v.apply_remote("r", "price", remote(json!(10), 5, 1));
    v.connection_lost();
    // The server restarted: it has version 1 of the field now.
    let id = id("w");
    let write = v.write(id.clone(), "r", "price", json!(12), 1);
    assert_eq!(write.base_version, 5);
    match v.on_reply(&id, Some(&conflict_reply(json!(11), 1))) {
        WriteResult::Conflict { conflict, .. } => {
            assert_eq!((conflict.server.clone(), conflict.server_version), (json!(11), 1));
        }
        other => panic!("{other:?}"),
    }
    assert!(v.apply_remote("r", "price", remote(json!(13), 2, 2)), "version 2 is news again");
}

#[test]
fn a_conflict_where_the_server_already_has_our_value_is_a_confirmation() {
    let mut v = VersionedFields::new(ConflictPolicy::LastWriteWins, 3);
    let id = id("same");
    v.write(id.clone(), "r", "price", json!(15), 1);
    assert!(matches!(
        v.on_reply(&id, Some(&conflict_reply(json!(15), 3))),
        WriteResult::Accepted { version: 3 }
    ));
}

#[test]
fn remote_updates_only_move_versions_forward() {
    let mut v = VersionedFields::new(ConflictPolicy::default(), 3);
    assert!(v.apply_remote("doc", "total", remote(json!(1), 2, 0)));
    assert!(!v.apply_remote("doc", "total", remote(json!(0), 1, 0)), "stale broadcast");
    assert_eq!(v.field("doc", "total").map(|f| f.version), Some(2));
}

#[test]
fn a_snapshot_replaces_fields_and_reports_what_changed() {
    let mut v = VersionedFields::new(ConflictPolicy::default(), 3);
    v.apply_remote("doc", "a", remote(json!(1), 1, 0));
    v.apply_remote("doc", "b", remote(json!(2), 1, 0));
    let mut snap = BTreeMap::new();
    snap.insert("a".to_owned(), remote(json!(1), 1, 0));
    snap.insert("b".to_owned(), remote(json!(3), 2, 0));
    let changed = v.apply_snapshot("doc", snap);
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].0, "b");
}
