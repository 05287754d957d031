//! Layer 3 (beside the session and the transport): the durable outbox's file. [`Store`] keeps
//! in SQLite (bundled, WAL, one transaction per batch) what the session says must survive the
//! app being killed: queued and unacknowledged messages, and the de-duplication window of
//! incoming ones. It decides nothing; the session says what to keep and forget
//! ([`crate::model::StoreBatch`]), and the driver carries it out and loads the kept state into
//! the session when a client starts.
//!
//! `schema` (the tables, created or checked on open), `codec` (attachments and times in
//! columns), `sqlite` (the [`Store`]: open, load, commit).
//!
//! May use: `model`. Never the session, the transport or the client.

mod codec;
mod schema;
mod sqlite;

pub use sqlite::Store;

#[cfg(test)]
mod tests;
