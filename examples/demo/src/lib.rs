//! # tether-demo
//!
//! Tether in one command (`cargo run -p tether-demo`): the reference server embedded on
//! loopback, two or three simulated collaborators editing one estimate through Tether clients
//! and the collaboration helpers, and a terminal dashboard to watch them, with a key that
//! restarts the server. `--headless --seconds N` runs the same scene without a UI and exits 0
//! only when everything converged; the tests use it.
//!
//! ## Modules, from the command line inwards
//! - [`args`]: the command line.
//! - [`dashboard`]: the interactive loop (keys, terminal); [`dashboard_render`]: one frame.
//! - [`headless`]: the non-interactive run; [`summary`]: its report and convergence verdict.
//! - [`simulation`]: the scene (server + collaborators) both modes drive.
//! - [`collaborator`]: one simulated person on a Tether client; [`script`]: what they do.
//! - [`server`]: the embedded reference server, restartable on the same port.
//! - [`ledger`], [`latency_history`], [`activity_log`]: the books kept along the way.
//! - [`persona`]: who the collaborators are; [`error`]: what can go wrong.

pub mod activity_log;
pub mod args;
pub mod collaborator;
pub mod dashboard;
pub mod dashboard_render;
pub mod error;
pub mod headless;
pub mod latency_history;
pub mod ledger;
pub mod persona;
pub mod script;
pub mod server;
pub mod simulation;
pub mod summary;

pub use args::{Command, Mode, Options};
pub use error::DemoError;
pub use summary::Summary;
