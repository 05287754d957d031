//! The chaos soak against the official Node Socket.IO server (tests/servers/node/server.js,
//! connection state recovery on): 10 clients through fault proxies, random faults and server
//! restarts, every message sent at-least-once (`send_reliable`, `messageId`) to a room and
//! relayed by the server (`broadcast`). What is checked is in `soak/harness.rs`.
//!
//! Duration: `TETHER_SOAK_SECONDS` (default 60); seed: `TETHER_SOAK_SEED` (printed). The long
//! run is `scripts/soak.sh --minutes 10`.

#[path = "soak/harness.rs"]
mod harness;
#[path = "support/soak_node.rs"]
mod soak_node;
mod support;

use harness::{ms, Fault, Flavor};
use serde_json::{json, Value};
use soak_node::ServerKind;
use std::time::Duration;
use support::fault_proxy::FaultProxy;
use support::node_server::SOCKET_IO_SERVER;
use tether_core::{Config, IncomingMessage, OutgoingMessage};

const ROOM: &str = "soak";

static SOCKET_IO: Flavor = Flavor {
    name: "socket.io",
    server: ServerKind {
        script: SOCKET_IO_SERVER,
        connection_report: "connection",
        chat_of: relayed_at_server,
    },
    server_args: &["--recovery-ms", "5000", "--ping-interval", "1000", "--ping-timeout", "2000"],
    room: ROOM,
    join_payload: no_join_payload,
    config,
    chat,
    chat_of,
    probe_command,
    probe_of,
    pick_fault,
};

fn config(proxy: &FaultProxy, seed: u64) -> Config {
    Config::new(format!("http://{}", proxy.addr()))
        .with_reconnect_delays(ms(50), ms(1000))
        .with_connect_timeout(Duration::from_secs(3))
        .with_heartbeat(Duration::from_secs(1), Duration::from_secs(3))
        .with_rng_seed(seed)
}

fn no_join_payload() -> Option<Value> {
    None
}

fn chat(from: usize, seq: u64) -> OutgoingMessage {
    OutgoingMessage::new(
        "broadcast",
        json!({"room": ROOM, "event": "chat",
               "data": {"messageId": format!("{from}-{seq}"), "from": from, "seq": seq}}),
    )
}

fn chat_of(message: &IncomingMessage) -> Option<&Value> {
    (message.event == "chat").then(|| message.payload()).flatten()
}

/// The server's `received` report of a sender's `broadcast` request.
fn relayed_at_server(report: &Value) -> Option<&Value> {
    (report["name"] == "broadcast").then(|| &report["args"][0]["data"])
}

fn probe_command(probe: u64) -> Value {
    json!({"cmd": "emit", "room": ROOM, "event": "probe", "data": {"probe": probe}})
}

fn probe_of(message: &IncomingMessage) -> Option<u64> {
    (message.event == "probe").then(|| message.payload()?["probe"].as_u64()).flatten()
}

fn pick_fault(rng: &mut fastrand::Rng) -> Fault {
    match rng.u8(0..20) {
        0..=3 => Fault::Cut,
        4..=5 => Fault::Reset,
        6..=8 => Fault::Blackhole,
        9..=11 => Fault::LatencySpike,
        12..=14 => Fault::SlowThenCut,
        15..=17 => Fault::Refuse,
        _ => Fault::ServerRestart,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_clients_keep_their_guarantees_through_random_faults_and_restarts() {
    harness::run(&SOCKET_IO).await;
}
