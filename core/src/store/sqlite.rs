//! [`Store`]: the durable outbox in one SQLite file. WAL journal with `synchronous=NORMAL`: a
//! commit is a write to the log, not an fsync, and survives the app being killed at any point
//! (a power loss may lose the last commits, never the file). Exclusive locking mode: one
//! client per file, and no shared-memory index beside it.

use super::codec::{decode_attachments, encode_attachments, millis, remaining, wall_millis};
use super::schema::{self, ACK_AT_LEAST_ONCE, ACK_NONE, ACK_ONCE};
use crate::model::{
    Error, ErrorKind, OutgoingMessage, StoreBatch, StoredAck, StoredMessage, StoredState,
};
use rusqlite::{params, Connection, Row};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// How long opening waits for a file another client holds (a client of the same app being
/// replaced) before giving up and working in memory.
const BUSY_TIMEOUT: Duration = Duration::from_secs(2);

/// The durable outbox's file, open and locked for one client.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Opens (or creates) the store at `path`: checks the file is a healthy SQLite database
    /// with Tether's tables, switches it to WAL, and takes its lock. A corrupt, foreign,
    /// locked or unwritable file is an [`ErrorKind::Storage`] error naming the path.
    pub fn open(path: &Path) -> Result<Self, Error> {
        let fail = |what: &'static str| move |e: rusqlite::Error| storage(path, what, e);
        let mut conn = Connection::open(path).map_err(fail("cannot open"))?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(fail("cannot configure"))?;
        conn.pragma_update(None, "locking_mode", "EXCLUSIVE").map_err(fail("cannot lock"))?;
        let journal: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(fail("cannot read"))?;
        if !journal.eq_ignore_ascii_case("wal") {
            return Err(refused(path, format!("cannot use a WAL journal (got {journal})")));
        }
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(fail("cannot configure"))?;
        let check: String = conn
            .pragma_query_value(None, "quick_check", |row| row.get(0))
            .map_err(fail("cannot check"))?;
        if check != "ok" {
            return Err(refused(path, format!("the file is corrupt ({check})")));
        }
        schema::prepare(&mut conn)
            .map_err(fail("cannot prepare"))?
            .map_err(|why| refused(path, why))?;
        Ok(Self { conn, path: path.to_owned() })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What the store keeps, with every time left measured from `wall_now`: a message saved
    /// with an hour left an hour and a half ago (by the wall clock) comes back with none left.
    pub fn load(&mut self, wall_now: SystemTime) -> Result<StoredState, Error> {
        let fail = |e: rusqlite::Error| storage(&self.path, "cannot read", e);
        let meta = |key: &str| -> rusqlite::Result<rusqlite::types::Value> {
            self.conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        };
        let instance = match meta("instance").map_err(fail)? {
            rusqlite::types::Value::Text(instance) => instance,
            other => return Err(refused(&self.path, format!("bad store id {other:?}"))),
        };
        let int = |key: &str| match meta(key) {
            Ok(rusqlite::types::Value::Integer(n)) => Ok(n),
            Ok(other) => Err(refused(&self.path, format!("bad {key} {other:?}"))),
            Err(e) => Err(fail(e)),
        };
        let mut next_seq = int("next_seq")?;
        let dedup_key = (int("dedup_k0")? as u64, int("dedup_k1")? as u64);
        let now_ms = wall_millis(wall_now);
        let mut statement = self
            .conn
            .prepare(
                "SELECT seq, namespace, event, data, attachments, ack, ack_ms, ttl_ms, saved_at_ms \
                 FROM outbox ORDER BY seq",
            )
            .map_err(fail)?;
        let rows = statement.query_map([], |row| Ok(read_row(row, now_ms))).map_err(fail)?;
        let mut messages = Vec::new();
        for row in rows {
            let message = row.map_err(fail)?.map_err(|why| refused(&self.path, why))?;
            next_seq = next_seq.max(message.seq.saturating_add(1) as i64);
            messages.push(message);
        }
        drop(statement);
        let mut seen = Vec::new();
        let mut statement = self.conn.prepare("SELECT hash FROM seen ORDER BY n").map_err(fail)?;
        for hash in statement.query_map([], |row| row.get::<_, i64>(0)).map_err(fail)? {
            seen.push(hash.map_err(fail)? as u64);
        }
        Ok(StoredState {
            instance,
            next_seq: u64::try_from(next_seq).unwrap_or(1),
            messages,
            dedup_key,
            seen,
        })
    }

    /// Writes a batch in one transaction (all of it or, on an error, none of it). `wall_now`
    /// stamps the rows it adds, from which their times left are counted down after a restart.
    pub fn commit(&mut self, batch: &StoreBatch, wall_now: SystemTime) -> Result<(), Error> {
        let path = self.path.clone();
        let fail = |e: rusqlite::Error| storage(&path, "cannot write", e);
        let tx = self.conn.transaction().map_err(fail)?;
        {
            let saved_at = wall_millis(wall_now);
            let mut insert = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO outbox (seq, namespace, event, data, attachments, \
                     ack, ack_ms, ttl_ms, saved_at_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )
                .map_err(fail)?;
            for kept in &batch.persist {
                let m = &kept.message;
                let data = serde_json::to_string(&m.data)
                    .map_err(|e| refused(&path, format!("message {}: {e}", kept.seq)))?;
                let (ack, ack_ms) = match kept.ack {
                    None => (ACK_NONE, None),
                    Some(StoredAck { at_least_once: false, expires_in }) => {
                        (ACK_ONCE, Some(millis(expires_in)))
                    }
                    Some(StoredAck { at_least_once: true, expires_in }) => {
                        (ACK_AT_LEAST_ONCE, Some(millis(expires_in)))
                    }
                };
                insert
                    .execute(params![
                        seq_value(kept.seq),
                        m.namespace,
                        m.event,
                        data,
                        encode_attachments(&m.binary),
                        ack,
                        ack_ms,
                        kept.expires_in.map(millis),
                        saved_at,
                    ])
                    .map_err(fail)?;
            }
            let mut delete =
                tx.prepare_cached("DELETE FROM outbox WHERE seq = ?1").map_err(fail)?;
            for seq in &batch.forget {
                delete.execute([seq_value(*seq)]).map_err(fail)?;
            }
            if !batch.seen.is_empty() {
                let mut insert =
                    tx.prepare_cached("INSERT INTO seen (hash) VALUES (?1)").map_err(fail)?;
                for hash in &batch.seen {
                    insert.execute([*hash as i64]).map_err(fail)?;
                }
                let window = i64::try_from(batch.seen_window).unwrap_or(i64::MAX);
                tx.prepare_cached("DELETE FROM seen WHERE n <= (SELECT max(n) FROM seen) - ?1")
                    .and_then(|mut trim| trim.execute([window]))
                    .map_err(fail)?;
            }
            if let Some(reserved) = batch.reserved_until {
                tx.prepare_cached("UPDATE meta SET value = ?1 WHERE key = 'next_seq'")
                    .and_then(|mut update| update.execute([seq_value(reserved)]))
                    .map_err(fail)?;
            }
        }
        tx.commit().map_err(fail)
    }
}

/// Sequence numbers start at 1 and grow by one per message: far below `i64::MAX`.
fn seq_value(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

/// One `outbox` row as a kept message, its times left counted down to `now_ms`. The outer
/// result is SQLite's, the inner one a row that does not decode (a corrupt record).
fn read_row(row: &Row<'_>, now_ms: i64) -> Result<StoredMessage, String> {
    let get = |e: rusqlite::Error| format!("unreadable row: {e}");
    let seq: i64 = row.get(0).map_err(get)?;
    let data: String = row.get(3).map_err(get)?;
    let data: Vec<serde_json::Value> =
        serde_json::from_str(&data).map_err(|e| format!("message {seq}: bad JSON: {e}"))?;
    let attachments: Option<Vec<u8>> = row.get(4).map_err(get)?;
    let binary = decode_attachments(attachments.as_deref())
        .map_err(|why| format!("message {seq}: {why}"))?;
    let saved_at: i64 = row.get(8).map_err(get)?;
    let elapsed = now_ms.saturating_sub(saved_at);
    let ack_kind: i64 = row.get(5).map_err(get)?;
    let ack_ms: Option<i64> = row.get(6).map_err(get)?;
    let ack = match (ack_kind, ack_ms) {
        (ACK_NONE, _) => None,
        (kind @ (ACK_ONCE | ACK_AT_LEAST_ONCE), Some(left)) => Some(StoredAck {
            at_least_once: kind == ACK_AT_LEAST_ONCE,
            expires_in: remaining(left, elapsed),
        }),
        (kind, left) => return Err(format!("message {seq}: bad acknowledgement {kind}/{left:?}")),
    };
    let ttl_ms: Option<i64> = row.get(7).map_err(get)?;
    Ok(StoredMessage {
        seq: u64::try_from(seq).map_err(|_| format!("bad seq {seq}"))?,
        message: OutgoingMessage {
            namespace: row.get(1).map_err(get)?,
            event: row.get(2).map_err(get)?,
            data,
            binary,
        },
        ack,
        expires_in: ttl_ms.map(|left| remaining(left, elapsed)),
    })
}

fn storage(path: &Path, what: &str, error: rusqlite::Error) -> Error {
    refused(path, format!("{what}: {error}"))
}

fn refused(path: &Path, why: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Storage, format!("durable outbox {}: {why}", path.display()))
}
