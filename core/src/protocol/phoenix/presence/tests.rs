use super::*;
use serde_json::json;

fn meta(phx_ref: &str) -> Value {
    json!({"phx_ref": phx_ref, "online_at": 1})
}

fn kinds(changes: &[PresenceChange]) -> Vec<String> {
    changes
        .iter()
        .map(|c| match c {
            PresenceChange::Joined { member, .. } => format!("+{}", member.user_id),
            PresenceChange::Left { user_id, .. } => format!("-{user_id}"),
            PresenceChange::Updated { member, .. } => {
                format!("~{}:{}", member.user_id, member.metas.len())
            }
            PresenceChange::Synced { members, .. } => format!("={}", members.len()),
        })
        .collect()
}

#[test]
fn the_joiners_own_diff_before_the_state_is_held_then_applied_once() {
    // As recorded from a real Phoenix server: the diff with carol arrives before the state.
    let now = Instant::now();
    let mut sync = PresenceSync::new();
    let diff = json!({"joins": {"carol": {"metas": [meta("A")]}}, "leaves": {}});
    assert!(sync.apply_diff("room:lobby", &diff, now).is_empty());
    let state = json!({"carol": {"metas": [meta("A")]}});
    let changes = sync.apply_state("room:lobby", &state, now);
    // carol joins through the state; the held diff only restates her meta: no change.
    assert_eq!(kinds(&changes), ["+carol", "=1"]);
    assert_eq!(sync.members(now).len(), 1);
    assert_eq!(sync.members(now)[0].metas.len(), 1, "the same phx_ref is not counted twice");
}

#[test]
fn diffs_join_and_leave_metas_by_phx_ref() {
    let now = Instant::now();
    let mut sync = PresenceSync::new();
    sync.apply_state("r", &json!({"ann": {"metas": [meta("1")]}}), now);
    // A second connection of ann, and bob.
    let diff = json!({"joins": {"ann": {"metas": [meta("2")]}, "bob": {"metas": [meta("3")]}}});
    assert_eq!(kinds(&sync.apply_diff("r", &diff, now)), ["~ann:2", "+bob"]);
    // ann's first connection leaves: she stays, with one meta.
    let diff = json!({"leaves": {"ann": {"metas": [meta("1")]}}});
    assert_eq!(kinds(&sync.apply_diff("r", &diff, now)), ["~ann:1"]);
    let ann = &sync.members(now)[0];
    assert_eq!(ann.metas, vec![meta("2")]);
    // Her last one leaves: she goes.
    let diff = json!({"leaves": {"ann": {"metas": [meta("2")]}}});
    assert_eq!(kinds(&sync.apply_diff("r", &diff, now)), ["-ann"]);
    assert_eq!(sync.members(now).iter().map(|m| m.user_id.as_str()).collect::<Vec<_>>(), ["bob"]);
}

#[test]
fn a_new_state_after_a_rejoin_replaces_the_roster() {
    let now = Instant::now();
    let mut sync = PresenceSync::new();
    sync.apply_state(
        "r",
        &json!({"ann": {"metas": [meta("1")]}, "bob": {"metas": [meta("2")]}}),
        now,
    );
    sync.rejoined();
    assert!(!sync.is_synced());
    // Diffs of the new join wait for its state.
    assert!(sync
        .apply_diff("r", &json!({"joins": {"cid": {"metas": [meta("9")]}}}), now)
        .is_empty());
    let state = json!({"bob": {"metas": [meta("2")]}, "dan": {"metas": [meta("4")]}});
    let changes = sync.apply_state("r", &state, now);
    assert_eq!(kinds(&changes), ["-ann", "+dan", "+cid", "=3"]);
}

#[test]
fn members_read_conventional_meta_fields() {
    let now = Instant::now();
    let mut sync = PresenceSync::new();
    let state = json!({"u1": {"metas": [
        {"phx_ref": "a", "name": "Ann", "status": "away", "cursor": {"x": 1.5, "y": 2.0}, "tool": "pen"}
    ]}});
    sync.apply_state("r", &state, now);
    let ann = &sync.members(now)[0];
    assert_eq!(ann.name, "Ann");
    assert_eq!(ann.state, PresenceState::Away);
    assert_eq!(ann.cursor, Some(crate::model::Cursor { x: 1.5, y: 2.0 }));
    assert_eq!(ann.tool.as_deref(), Some("pen"));
}

#[test]
fn malformed_presence_payloads_are_skipped_not_fatal() {
    let now = Instant::now();
    let mut sync = PresenceSync::new();
    let state = json!({"ok": {"metas": [meta("1")]}, "bad": {"metas": 3}, "worse": 7});
    assert_eq!(kinds(&sync.apply_state("r", &state, now)), ["+ok", "=1"]);
    assert!(sync.apply_diff("r", &json!("nonsense"), now).is_empty());
    assert!(sync.apply_diff("r", &json!({"joins": [1, 2], "leaves": null}), now).is_empty());
    // Held diffs are bounded.
    let mut waiting = PresenceSync::new();
    for _ in 0..(MAX_HELD_DIFFS + 10) {
        waiting.apply_diff("r", &json!({}), now);
    }
    assert_eq!(waiting.held.len(), MAX_HELD_DIFFS);
}
