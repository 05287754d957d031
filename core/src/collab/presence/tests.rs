use super::*;

const MINUTE: Duration = Duration::from_secs(60);

fn info(id: &str) -> MemberInfo {
    MemberInfo { user_id: id.into(), name: id.to_uppercase(), ..MemberInfo::default() }
}

fn ids(r: &Roster) -> Vec<String> {
    r.members().into_iter().map(|m| m.user_id).collect()
}

fn drain(r: &mut Roster) -> Vec<PresenceChange> {
    std::iter::from_fn(|| r.poll_change()).collect()
}

#[test]
fn joins_and_leaves_apply_in_arrival_order() {
    let t0 = Instant::now();
    let mut r = Roster::new("doc", MINUTE);
    r.member_joined(info("a"), t0);
    r.member_joined(info("b"), t0);
    r.member_left("a", LeaveReason::Left);
    r.member_joined(info("a"), t0);
    r.member_left("b", LeaveReason::Disconnected);
    assert_eq!(ids(&r), ["a"]);
    let changes = drain(&mut r);
    assert_eq!(changes.len(), 5);
    let PresenceChange::Left { user_id, reason, .. } = &changes[4] else {
        panic!("{:?}", changes[4])
    };
    assert_eq!((user_id.as_str(), *reason), ("b", LeaveReason::Disconnected));
}

#[test]
fn a_second_join_of_the_same_user_updates_instead_of_duplicating() {
    let t0 = Instant::now();
    let mut r = Roster::new("doc", MINUTE);
    r.member_joined(info("a"), t0);
    r.member_joined(MemberInfo { name: "Ana".into(), ..info("a") }, t0);
    assert_eq!(r.len(), 1);
    assert_eq!(r.member("a").map(|m| m.name.as_str()), Some("Ana"));
}

#[test]
fn leaving_twice_or_unknown_users_is_harmless() {
    let mut r = Roster::new("doc", MINUTE);
    r.member_left("ghost", LeaveReason::Left);
    assert!(drain(&mut r).is_empty());
}

#[test]
fn snapshot_removes_ghosts_and_adds_newcomers() {
    let t0 = Instant::now();
    let mut r = Roster::new("doc", MINUTE);
    r.apply_snapshot(vec![info("a"), info("b")], t0, 0);
    drain(&mut r);
    r.mark_unsynced();
    assert!(!r.is_synced());
    // While offline, b left and c came; the snapshot after the reconnect says so.
    r.apply_snapshot(vec![info("a"), info("c")], t0, 0);
    assert!(r.is_synced());
    assert_eq!(ids(&r), ["a", "c"]);
    let changes = drain(&mut r);
    let left = |c: &PresenceChange| match c {
        PresenceChange::Left { user_id, reason, .. } => Some((user_id.clone(), *reason)),
        _ => None,
    };
    let joined = |c: &PresenceChange| match c {
        PresenceChange::Joined { member, .. } => Some(member.user_id.clone()),
        _ => None,
    };
    let lefts: Vec<_> = changes.iter().filter_map(left).collect();
    assert_eq!(lefts, [("b".to_owned(), LeaveReason::NotInSnapshot)]);
    assert_eq!(changes.iter().filter_map(joined).collect::<Vec<_>>(), ["c"]);
    let Some(PresenceChange::Synced { members, .. }) = changes.last() else {
        panic!("{changes:?}")
    };
    assert_eq!(members.len(), 2);
}

#[test]
fn member_goes_idle_after_inactivity_and_back_on_activity() {
    let t0 = Instant::now();
    let mut r = Roster::new("doc", MINUTE);
    r.member_joined(info("a"), t0);
    assert_eq!(r.poll_timeout(), Some(t0 + MINUTE));
    r.handle_timeout(t0 + Duration::from_secs(59));
    assert_eq!(r.member("a").map(|m| m.state), Some(PresenceState::Active));
    drain(&mut r);
    r.handle_timeout(t0 + MINUTE);
    assert_eq!(r.member("a").map(|m| m.state), Some(PresenceState::Idle));
    assert!(matches!(
        drain(&mut r).as_slice(),
        [PresenceChange::Updated { change: MemberChange::State, .. }]
    ));
    assert_eq!(r.poll_timeout(), None, "nobody left to turn idle");
    assert!(r.cursor_moved("a", Cursor { x: 1.0, y: 2.0 }, t0 + 2 * MINUTE));
    let a = r.member("a").cloned().expect("a");
    assert_eq!(a.state, PresenceState::Active);
    assert_eq!(a.cursor, Some(Cursor { x: 1.0, y: 2.0 }));
    assert_eq!(r.poll_timeout(), Some(t0 + 3 * MINUTE));
}

#[test]
fn inactivity_period_is_configurable() {
    let t0 = Instant::now();
    let mut r = Roster::new("doc", Duration::from_secs(5));
    r.member_joined(info("a"), t0);
    r.handle_timeout(t0 + Duration::from_secs(5));
    assert_eq!(r.member("a").map(|m| m.state), Some(PresenceState::Idle));
}

#[test]
fn away_is_kept_until_the_member_says_otherwise() {
    let t0 = Instant::now();
    let mut r = Roster::new("doc", MINUTE);
    r.member_joined(info("a"), t0);
    r.presence_updated("a", PresenceState::Away, Some("pen".into()), t0);
    r.cursor_moved("a", Cursor::default(), t0);
    let a = r.member("a").cloned().expect("a");
    assert_eq!(a.state, PresenceState::Away);
    assert_eq!(a.tool.as_deref(), Some("pen"));
    r.presence_updated("a", PresenceState::Active, None, t0);
    assert_eq!(r.member("a").map(|m| m.state), Some(PresenceState::Active));
    assert_eq!(r.member("a").and_then(|m| m.tool.clone()).as_deref(), Some("pen"));
}

#[test]
fn snapshot_ages_last_seen_from_the_server_clock() {
    let t0 = Instant::now() + 10 * MINUTE;
    let mut r = Roster::new("doc", MINUTE);
    let stale = MemberInfo { last_seen_ms: Some(1_000), ..info("a") };
    let fresh = MemberInfo { last_seen_ms: Some(100_000), ..info("b") };
    r.apply_snapshot(vec![stale, fresh], t0, 100_000);
    assert_eq!(r.member("a").map(|m| m.state), Some(PresenceState::Idle));
    assert_eq!(r.member("b").map(|m| m.state), Some(PresenceState::Active));
}

#[test]
fn activity_from_someone_not_in_the_roster_does_not_make_a_ghost() {
    let t0 = Instant::now();
    let mut r = Roster::new("doc", MINUTE);
    r.member_joined(info("a"), t0);
    r.member_left("a", LeaveReason::Left);
    assert!(!r.cursor_moved("a", Cursor::default(), t0));
    assert!(!r.typing_started("a", "total", t0));
    assert!(r.is_empty());
}

#[test]
fn focus_blur_and_typing_track_fields() {
    let t0 = Instant::now();
    let mut r = Roster::new("doc", MINUTE);
    r.member_joined(info("a"), t0);
    r.field_focused("a", "labor", t0);
    r.typing_started("a", "labor", t0);
    assert_eq!(r.member("a").and_then(|m| m.typing_in.clone()).as_deref(), Some("labor"));
    r.field_blurred("a", "labor", t0);
    let a = r.member("a").cloned().expect("a");
    assert_eq!(a.field, None);
    assert_eq!(a.typing_in, None, "blur ends typing in that field");
}

#[test]
fn touch_keeps_the_local_user_active() {
    let t0 = Instant::now();
    let mut r = Roster::new("doc", MINUTE);
    r.member_joined(info("me"), t0);
    r.touch("me", t0 + Duration::from_secs(50));
    r.handle_timeout(t0 + Duration::from_secs(70));
    assert_eq!(r.member("me").map(|m| m.state), Some(PresenceState::Active));
}
