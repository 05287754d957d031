//! Test support: servers started on random loopback ports and stopped on drop, a fault proxy,
//! and waiting for conditions (never for fixed times).
#![allow(dead_code)]

pub mod fault_proxy;
pub mod haproxy;
pub mod http_proxy;
pub mod memory;
pub mod node_server;
pub mod process;
pub mod session_harness;
pub mod socketio;
pub mod temp_dir;
pub mod wait;
pub mod ws_server;
