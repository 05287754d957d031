//! The whole scene: the embedded server and the collaborators editing one estimate room. The
//! dashboard and the headless run both drive a [`Simulation`]; they differ only in what they
//! show and when they restart the server.

use crate::activity_log::{ActivityLog, EntryKind};
use crate::collaborator::{Activity, ClientView, Collaborator};
use crate::error::DemoError;
use crate::persona::{cast, Persona};
use crate::server::{EmbeddedServer, ServerStatus};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;
use tether_core::FieldVersion;

/// The room everyone edits.
pub const ROOM: &str = "estimate-42";

/// Everything on screen at one moment.
#[derive(Debug, Clone)]
pub struct SimulationView {
    /// The server's URL.
    pub url: String,
    /// The room.
    pub room: &'static str,
    /// Up, restarting or down.
    pub server: ServerStatus,
    /// How often the server was restarted.
    pub restarts: u32,
    /// One view per collaborator, in cast order.
    pub clients: Vec<ClientView>,
}

/// One field of the estimate, as the server has it according to the newest news any client
/// has.
#[derive(Debug, Clone, PartialEq)]
pub struct EstimateField {
    /// The field.
    pub field: String,
    /// Its value.
    pub value: Value,
    /// Its version.
    pub version: u64,
    /// Who wrote it, if known.
    pub updated_by: Option<String>,
}

impl SimulationView {
    /// The user ids that should be in every roster: all collaborators (none ever leaves).
    pub fn live_user_ids(&self) -> Vec<String> {
        self.clients.iter().map(|c| c.persona.user_id.to_owned()).collect()
    }

    /// The estimate: for each field, the highest version any client knows.
    pub fn estimate(&self) -> Vec<EstimateField> {
        newest_fields(self.clients.iter().filter_map(|client| {
            let room = client.room.as_ref()?;
            Some((client.persona.user_id, &room.fields))
        }))
    }
}

/// Merges what each client (by user id) knows of the fields, keeping the newest version of
/// each. A client learns its own accepted writes from the acknowledgement, which names no
/// author: that author is the client itself.
fn newest_fields<'a>(
    known: impl Iterator<Item = (&'a str, &'a BTreeMap<String, FieldVersion>)>,
) -> Vec<EstimateField> {
    let mut newest: BTreeMap<&str, EstimateField> = BTreeMap::new();
    for (user_id, fields) in known {
        for (name, field) in fields {
            if newest.get(name.as_str()).is_some_and(|f| f.version >= field.version) {
                continue;
            }
            let updated_by = field.updated_by.clone().unwrap_or_else(|| user_id.to_owned());
            let merged = EstimateField {
                field: name.clone(),
                value: field.value.clone(),
                version: field.version,
                updated_by: Some(updated_by),
            };
            newest.insert(name, merged);
        }
    }
    newest.into_values().collect()
}

/// A running simulation.
#[derive(Debug)]
pub struct Simulation {
    server: EmbeddedServer,
    collaborators: Vec<Collaborator>,
    log: ActivityLog,
}

impl Simulation {
    /// Starts the server and `collaborators` collaborators (2 or 3), each connected and in
    /// [`ROOM`]. `seed` makes their behaviour reproducible.
    pub async fn start(collaborators: usize, seed: u64) -> Result<Self, DemoError> {
        let server = EmbeddedServer::start().await?;
        let log = ActivityLog::new();
        log.push("server", EntryKind::Connection, format!("listening on {}", server.url()));
        let mut started = Vec::new();
        for (index, persona) in cast(collaborators).iter().enumerate() {
            let token = server.token_for(persona);
            let seed = seed.wrapping_add(index as u64);
            let result =
                Collaborator::start(persona.clone(), &server.url(), token, ROOM, seed, log.clone())
                    .await;
            match result {
                Ok(collaborator) => started.push(collaborator),
                Err(error) => {
                    close_all(started).await;
                    server.shutdown().await;
                    return Err(error);
                }
            }
        }
        Ok(Self { server, collaborators: started, log })
    }

    /// The server, to restart it.
    pub fn server(&self) -> &EmbeddedServer {
        &self.server
    }

    /// The activity log.
    pub fn log(&self) -> &ActivityLog {
        &self.log
    }

    /// The collaborators.
    pub fn personas(&self) -> Vec<Persona> {
        self.collaborators.iter().map(|c| c.persona().clone()).collect()
    }

    /// Restarts the server (see [`EmbeddedServer::restart`]), with a line in the log.
    pub async fn restart_server(&self, downtime: Duration) -> Result<bool, DemoError> {
        restart_logged(&self.server, &self.log, downtime).await
    }

    /// Lets everyone work, or makes everyone rest; returns once they all took it up.
    pub async fn set_activity(&self, activity: Activity) {
        for collaborator in &self.collaborators {
            collaborator.set_activity(activity).await;
        }
    }

    /// A snapshot of everything.
    pub async fn view(&self) -> Result<SimulationView, DemoError> {
        let mut clients = Vec::with_capacity(self.collaborators.len());
        for collaborator in &self.collaborators {
            clients.push(collaborator.view().await?);
        }
        Ok(SimulationView {
            url: self.server.url(),
            room: ROOM,
            server: self.server.status(),
            restarts: self.server.restarts(),
            clients,
        })
    }

    /// Disconnects everyone, then stops the server.
    pub async fn shutdown(self) {
        close_all(self.collaborators).await;
        self.server.shutdown().await;
    }
}

/// Restarts `server`, telling `log` when it goes down and when it is back.
pub async fn restart_logged(
    server: &EmbeddedServer,
    log: &ActivityLog,
    downtime: Duration,
) -> Result<bool, DemoError> {
    if server.status() != ServerStatus::Up {
        return Ok(false);
    }
    let text = format!("shutting down; back in {:.1} s on the same port", downtime.as_secs_f64());
    log.push("server", EntryKind::Connection, text);
    let result = server.restart(downtime).await;
    match &result {
        Ok(true) => log.push("server", EntryKind::Connection, "back up"),
        Ok(false) => {}
        Err(error) => log.push("server", EntryKind::Connection, format!("restart failed: {error}")),
    }
    result
}

async fn close_all(collaborators: Vec<Collaborator>) {
    for collaborator in collaborators {
        collaborator.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn version(value: i64, version: u64, by: Option<&str>) -> FieldVersion {
        FieldVersion {
            value: json!(value),
            version,
            updated_by: by.map(str::to_owned),
            timestamp_ms: None,
        }
    }

    #[test]
    fn the_estimate_keeps_the_newest_version_and_names_own_writes_after_their_writer() {
        let ana = BTreeMap::from([
            ("labor".to_owned(), version(1200, 3, None)),
            ("margin".to_owned(), version(15, 1, Some("ben"))),
        ]);
        let ben = BTreeMap::from([
            ("labor".to_owned(), version(1100, 2, Some("ben"))),
            ("margin".to_owned(), version(16, 2, None)),
        ]);
        let merged = newest_fields([("ana", &ana), ("ben", &ben)].into_iter());
        let summary: Vec<_> =
            merged.iter().map(|f| (f.field.as_str(), f.version, f.updated_by.as_deref())).collect();
        assert_eq!(summary, vec![("labor", 3, Some("ana")), ("margin", 2, Some("ben"))]);
    }
}
