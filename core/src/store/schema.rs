//! The store's tables, and creating or checking them when a file is opened.
//!
//! - `meta`: the store's random `instance` id (prefix of the message ids the engine assigns),
//!   `next_seq` (sequence numbers below it are taken), `dedup_k0`/`dedup_k1` (the key of the
//!   de-duplication hash).
//! - `outbox`: one row per kept message; times are milliseconds left when the row was written
//!   (`ack_ms`, `ttl_ms`) and the wall clock then (`saved_at_ms`).
//! - `seen`: the de-duplication window, oldest first by `n`.
//!
//! `PRAGMA user_version` is the schema version: a file from a newer Tether is refused rather
//! than misread, and a file that holds other tables is not taken for an empty one.

use rusqlite::{Connection, TransactionBehavior};

/// The schema this code writes.
pub(super) const VERSION: i64 = 1;

const CREATE: &str = "
    CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value NOT NULL) WITHOUT ROWID;
    CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY NOT NULL,
        namespace TEXT NOT NULL,
        event TEXT NOT NULL,
        data TEXT NOT NULL,
        attachments BLOB,
        ack INTEGER NOT NULL,
        ack_ms INTEGER,
        ttl_ms INTEGER,
        saved_at_ms INTEGER NOT NULL
    );
    CREATE TABLE seen (n INTEGER PRIMARY KEY AUTOINCREMENT, hash INTEGER NOT NULL);
";

/// `outbox.ack`: no acknowledgement asked.
pub(super) const ACK_NONE: i64 = 0;
/// `outbox.ack`: an acknowledgement, at most once.
pub(super) const ACK_ONCE: i64 = 1;
/// `outbox.ack`: an acknowledgement, at least once.
pub(super) const ACK_AT_LEAST_ONCE: i64 = 2;

/// Creates the tables in a new file or checks an existing one's version, in a write
/// transaction: with the connection in exclusive locking mode, this takes the file's lock for
/// as long as the client lives (a second client on the same file fails here, not later).
/// `Ok(Err(why))` for a file that is not (or not yet) ours to use.
pub(super) fn prepare(conn: &mut Connection) -> rusqlite::Result<Result<(), String>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
    match version {
        0 => {
            let tables: i64 =
                tx.query_row("SELECT count(*) FROM sqlite_master", [], |row| row.get(0))?;
            if tables > 0 {
                return Ok(Err("the file holds another program's tables".to_owned()));
            }
            tx.execute_batch(CREATE)?;
            let instance = format!("{:016x}", fastrand::u64(..));
            let mut insert = tx.prepare("INSERT INTO meta (key, value) VALUES (?1, ?2)")?;
            insert.execute(rusqlite::params!["instance", instance])?;
            insert.execute(rusqlite::params!["next_seq", 1_i64])?;
            insert.execute(rusqlite::params!["dedup_k0", fastrand::i64(..)])?;
            insert.execute(rusqlite::params!["dedup_k1", fastrand::i64(..)])?;
            drop(insert);
            tx.pragma_update(None, "user_version", VERSION)?;
        }
        VERSION => {}
        newer if newer > VERSION => {
            return Ok(Err(format!(
                "written by a newer version of Tether (schema {newer}, this one reads {VERSION})"
            )))
        }
        other => return Ok(Err(format!("schema version {other} is not Tether's"))),
    }
    tx.commit()?;
    Ok(Ok(()))
}
