//! The session on virtual time: no sockets, no sleeps. Each test drives the state machine with
//! inputs and a clock it moves by hand, and checks the outputs.
//!
//! One module per concern; `harness` plays the driver and the server.

#[path = "../support/session_harness.rs"]
mod harness;
mod heartbeat;
mod hints_and_outbox;
mod phoenix;
mod receiving_and_config;
mod rooms_and_acks;
mod state_and_backoff;
mod transports;
