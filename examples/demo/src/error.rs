//! What can stop the demo, as errors a caller can print and act on.

use tether_reference_server::ServerError;

/// Why the demo could not run. Convergence failures are not errors: they are a
/// [`crate::Summary`] whose verdict says why.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The command line could not be read.
    #[error("{0}")]
    Args(String),
    /// The embedded reference server did not start (or restart).
    #[error("embedded server: {0}")]
    Server(#[from] ServerError),
    /// A collaborator's Tether client refused something it needs to run.
    #[error("collaborator {name}: {source}")]
    Client {
        /// The collaborator's display name.
        name: String,
        /// What the client said.
        #[source]
        source: tether_core::Error,
    },
    /// The terminal could not be set up, drawn on or read.
    #[error("terminal: {0}")]
    Terminal(#[from] std::io::Error),
    /// The run could not go as planned (e.g. the server was not up when its restart was due).
    #[error("{0}")]
    Scenario(String),
    /// The operating system gave no randomness for the JWT secret.
    #[error("no randomness for the server secret: {0}")]
    Entropy(String),
}

impl DemoError {
    /// Wraps a client error with the collaborator's name.
    pub fn client(name: &str, source: tether_core::Error) -> Self {
        Self::Client { name: name.to_owned(), source }
    }
}
