//! Memory under a hostile server, measured: the process's resident set before and after a
//! server pushes what would be 256 MiB into a bounded structure. Bounded in count is not enough
//! when each item can be a megabyte; these check the bytes.
//!
//! One test in its own binary, so no other test's allocations blur the numbers (RSS is per
//! process). Linux only (reads /proc/self/statm). The margins are wide: unbounded, each step
//! would grow by about 256 MiB; bounded, by a few MiB.

use serde_json::json;
use std::time::Instant;
use tether_core::session::DedupWindow;
use tether_core::{Config, Frame, Session, Token};

const MIB: usize = 1024 * 1024;
/// Growth allowed per step; unbounded, each step would grow by ~256 MiB.
const ALLOWED_GROWTH: usize = 48 * MIB;

fn resident_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    pages * 4096
}

fn check_growth(step: &str, before: usize) {
    let grown = resident_bytes().saturating_sub(before);
    assert!(grown < ALLOWED_GROWTH, "{step}: resident memory grew by {} MiB", grown / MIB);
    println!("{step}: resident memory grew by {:.1} MiB", grown as f64 / MIB as f64);
}

fn socket_io_session(config: Config) -> (Session, Instant) {
    let now = Instant::now();
    let mut session = Session::new(config, now).unwrap_or_else(|e| panic!("{e}"));
    session.connect(now);
    session.handle_transport_open(Some(&Token::new("t")), now);
    let open = r#"0{"sid":"e","upgrades":[],"pingInterval":25000,"pingTimeout":20000}"#;
    session.handle_frame(Frame::Text(open.to_owned()), now);
    (session, now)
}

fn drain(session: &mut Session) {
    while session.poll_event().is_some() {}
    while session.poll_transmit().is_some() {}
    while session.poll_action().is_some() {}
}

#[test]
fn a_hostile_server_cannot_grow_memory_past_the_bounds() {
    if !std::path::Path::new("/proc/self/statm").exists() {
        println!("no /proc/self/statm: skipped");
        return;
    }

    // 1. The de-duplication window: 2,000 ids of 128 KiB (1,024 remembered would be 256 MiB).
    let before = resident_bytes();
    let mut window = DedupWindow::new(1024);
    for i in 0..2_000 {
        let id = format!("{i:08}{}", "x".repeat(128 * 1024));
        assert!(window.first_sighting(&id));
    }
    assert_eq!(window.len(), 1024);
    check_growth("dedup window of long ids", before);
    drop(window);

    // 2. Events before the CONNECT answer: 2,000 events of 128 KiB (256 MiB if only counted).
    let (mut session, now) = socket_io_session(Config::new("ws://server.test"));
    drain(&mut session);
    let before = resident_bytes();
    let filler = "y".repeat(128 * 1024);
    for i in 0..2_000 {
        let frame = format!(r#"42["flood",{i},"{filler}"]"#);
        session.handle_frame(Frame::Text(frame), now);
        drain(&mut session);
    }
    check_growth("events before CONNECT", before);
    drop(session);

    // 3. Binary attachments: 64 announced, 4 MiB each (256 MiB if collected to the end).
    let (mut session, now) = socket_io_session(Config::new("ws://server.test"));
    session.handle_frame(Frame::Text(r#"40{"sid":"s"}"#.to_owned()), now);
    drain(&mut session);
    let placeholders: Vec<String> =
        (0..64).map(|i| json!({"_placeholder": true, "num": i}).to_string()).collect();
    let header = format!(r#"4564-["files",{}]"#, placeholders.join(","));
    let before = resident_bytes();
    session.handle_frame(Frame::Text(header), now);
    // Measured before the last one: collected to the end, 63 would be held here.
    for _ in 0..63 {
        session.handle_frame(Frame::Binary(vec![7; 4 * MIB]), now);
        drain(&mut session);
    }
    check_growth("binary attachments", before);
    session.handle_frame(Frame::Binary(vec![7; 4 * MIB]), now);
    drain(&mut session);
    assert!(session.state().is_connected());
}
