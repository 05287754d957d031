use super::Store;
use crate::model::{ErrorKind, OutgoingMessage, StoreBatch, StoredAck, StoredMessage, StoredState};
use serde_json::json;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// A fresh folder under the system's temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("tether-store-{:016x}", fastrand::u64(..)));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{dir:?}: {e}"));
        Self(dir)
    }

    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn open(path: &std::path::Path) -> Store {
    Store::open(path).unwrap_or_else(|e| panic!("open: {e}"))
}

fn load(store: &mut Store, at: SystemTime) -> StoredState {
    store.load(at).unwrap_or_else(|e| panic!("load: {e}"))
}

fn commit(store: &mut Store, batch: &StoreBatch, at: SystemTime) {
    store.commit(batch, at).unwrap_or_else(|e| panic!("commit: {e}"));
}

fn kept(seq: u64, ack: Option<StoredAck>, ttl: Option<Duration>) -> StoredMessage {
    StoredMessage {
        seq,
        message: OutgoingMessage::new("chat", json!({"n": seq, "messageId": format!("m{seq}")}))
            .with_attachment(vec![0, 1, 2, seq as u8]),
        ack,
        expires_in: ttl,
    }
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[test]
fn a_new_store_starts_empty_with_its_own_id_and_key() {
    let dir = TempDir::new();
    let (a, b) = (
        load(&mut open(&dir.file("a")), SystemTime::now()),
        load(&mut open(&dir.file("b")), SystemTime::now()),
    );
    assert!(a.messages.is_empty() && a.seen.is_empty());
    assert_eq!(a.next_seq, 1);
    assert_eq!(a.instance.len(), 16);
    assert_ne!(a.instance, b.instance, "two stores never share message ids");
    assert_ne!(a.dedup_key, b.dedup_key);
}

#[test]
fn what_was_committed_comes_back_in_order_after_reopening() {
    let dir = TempDir::new();
    let path = dir.file("outbox.sqlite");
    let t0 = SystemTime::now();
    let ack = StoredAck { at_least_once: true, expires_in: secs(600) };
    let first = {
        let mut store = open(&path);
        let first = load(&mut store, t0);
        let batch = StoreBatch {
            persist: vec![
                kept(3, Some(ack), Some(secs(3600))),
                kept(2, None, None),
                kept(5, None, None),
            ],
            forget: vec![5],
            seen: vec![11, 12, 13],
            seen_window: 2,
            reserved_until: Some(1025),
        };
        commit(&mut store, &batch, t0);
        first
    };
    let mut store = open(&path);
    let state = load(&mut store, t0 + secs(60));
    assert_eq!(state.instance, first.instance, "the id is the store's for life");
    assert_eq!(state.dedup_key, first.dedup_key);
    assert_eq!(state.next_seq, 1025, "a restart never reuses a reserved sequence number");
    assert_eq!(state.seen, vec![12, 13], "only the newest `seen_window` keys are kept");
    let seqs: Vec<u64> = state.messages.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, vec![2, 3], "in seq order; 5 was forgotten in the same batch");
    let restored = &state.messages[1];
    assert_eq!(restored.message, kept(3, None, None).message, "attachments included");
    assert_eq!(restored.ack, Some(StoredAck { at_least_once: true, expires_in: secs(540) }));
    assert_eq!(restored.expires_in, Some(secs(3540)), "the wall-clock minute counts");
    assert_eq!(state.messages[0].ack, None);
    assert_eq!(state.messages[0].expires_in, None);
}

#[test]
fn time_left_runs_out_across_a_restart_but_a_clock_set_back_adds_none() {
    let dir = TempDir::new();
    let path = dir.file("ttl");
    let t0 = SystemTime::now();
    let mut store = open(&path);
    load(&mut store, t0);
    let batch =
        StoreBatch { persist: vec![kept(1, None, Some(secs(86_400)))], ..StoreBatch::default() };
    commit(&mut store, &batch, t0);
    let after_a_day = load(&mut store, t0 + secs(86_400 + 1));
    assert_eq!(after_a_day.messages[0].expires_in, Some(Duration::ZERO));
    let earlier = t0.checked_sub(secs(3600)).unwrap_or(t0);
    let clock_back = load(&mut store, earlier);
    assert_eq!(clock_back.messages[0].expires_in, Some(secs(86_400)));
}

#[test]
fn a_corrupt_file_is_a_storage_error_naming_it_and_is_left_alone() {
    let dir = TempDir::new();
    let path = dir.file("garbage.sqlite");
    let junk = b"this is not a database, just bytes that an app left here ".repeat(200);
    std::fs::write(&path, &junk).unwrap_or_else(|e| panic!("{e}"));
    let error = Store::open(&path).err().unwrap_or_else(|| panic!("a corrupt file opened"));
    assert_eq!(error.kind(), ErrorKind::Storage);
    assert!(error.message().contains("garbage.sqlite"), "{error}");
    assert_eq!(std::fs::read(&path).ok(), Some(junk), "the file is not overwritten");
}

#[test]
fn an_unwritable_place_is_a_storage_error() {
    let dir = TempDir::new();
    let error = Store::open(&dir.file("no/such/folder/outbox.sqlite")).err();
    assert_eq!(error.map(|e| e.kind()), Some(ErrorKind::Storage));
}

#[test]
fn another_programs_database_is_not_taken_over() {
    let dir = TempDir::new();
    let path = dir.file("app.sqlite");
    {
        let conn = rusqlite::Connection::open(&path).unwrap_or_else(|e| panic!("{e}"));
        conn.execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('hi');")
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let error = Store::open(&path).err().unwrap_or_else(|| panic!("opened a foreign database"));
    assert!(error.message().contains("another program"), "{error}");
}

#[test]
fn a_second_client_on_the_same_file_is_refused_while_the_first_holds_it() {
    let dir = TempDir::new();
    let path = dir.file("shared");
    let first = open(&path);
    let second = Store::open(&path).err();
    assert_eq!(second.map(|e| e.kind()), Some(ErrorKind::Storage));
    drop(first);
    assert!(Store::open(&path).is_ok(), "free again once the first client is gone");
}

#[test]
fn a_damaged_row_is_reported_not_skipped() {
    let dir = TempDir::new();
    let path = dir.file("row");
    {
        let mut store = open(&path);
        load(&mut store, SystemTime::now());
        commit(
            &mut store,
            &StoreBatch { persist: vec![kept(1, None, None)], ..StoreBatch::default() },
            SystemTime::now(),
        );
    }
    {
        let conn = rusqlite::Connection::open(&path).unwrap_or_else(|e| panic!("{e}"));
        conn.execute("UPDATE outbox SET data = '{not json'", []).unwrap_or_else(|e| panic!("{e}"));
    }
    let error = open(&path).load(SystemTime::now()).err();
    assert!(
        error.is_some_and(|e| e.kind() == ErrorKind::Storage && e.message().contains("bad JSON"))
    );
}
