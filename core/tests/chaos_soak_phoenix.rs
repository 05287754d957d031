//! The chaos soak against the Phoenix Channels test server (tests/servers/phoenix/server.js),
//! on a Supabase-shaped `realtime:*` channel: 10 clients through fault proxies, random faults,
//! server restarts and crashes of the channel itself (`phx_error` on every client), every
//! message a broadcast sent at-least-once with the server's ack and `self` (so the server
//! relays it to everyone, sender included). What is checked is in `soak/harness.rs`; here the
//! rooms are channels, rejoined after every reconnect and, after a crash, with their own
//! backoff on the live socket, and pushes in flight on a crashed channel are sent again once it
//! is rejoined.
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
use support::node_server::PHOENIX_SERVER;
use tether_core::{
    supabase_broadcast, BackoffPolicy, Config, IncomingMessage, OutgoingMessage, PhoenixConfig,
    RealtimeChannelConfig,
};

const TOPIC: &str = "realtime:soak";

static PHOENIX: Flavor = Flavor {
    name: "phoenix",
    server: ServerKind {
        script: PHOENIX_SERVER,
        connection_report: "connect",
        chat_of: relayed_at_server,
    },
    server_args: &["--heartbeat-timeout-ms", "10000"],
    room: TOPIC,
    join_payload,
    config,
    chat,
    chat_of,
    probe_command,
    probe_of,
    pick_fault,
};

fn config(proxy: &FaultProxy, seed: u64) -> Config {
    Config::new(format!("ws://{}", proxy.addr()))
        .with_phoenix(PhoenixConfig::supabase("soak"))
        .with_reconnect_delays(ms(50), ms(1000))
        .with_rejoin_backoff(BackoffPolicy {
            min_delay: ms(50),
            max_delay: ms(1000),
            ..BackoffPolicy::default()
        })
        .with_connect_timeout(Duration::from_secs(3))
        .with_heartbeat(Duration::from_secs(1), Duration::from_secs(3))
        .with_rng_seed(seed)
}

fn join_payload() -> Option<Value> {
    let channel =
        RealtimeChannelConfig { broadcast_ack: true, broadcast_self: true, ..Default::default() };
    Some(channel.join_payload())
}

fn chat(from: usize, seq: u64) -> OutgoingMessage {
    let data = json!({"messageId": format!("{from}-{seq}"), "from": from, "seq": seq});
    supabase_broadcast(TOPIC, "chat", data)
}

fn chat_of(message: &IncomingMessage) -> Option<&Value> {
    let envelope = message.payload()?;
    (message.event == "broadcast" && envelope["event"] == "chat").then(|| &envelope["payload"])
}

/// The server's `received` report of a sender's broadcast push.
fn relayed_at_server(report: &Value) -> Option<&Value> {
    let pushed = &report["payload"];
    (report["name"] == "broadcast" && pushed["event"] == "chat").then(|| &pushed["payload"])
}

fn probe_command(probe: u64) -> Value {
    json!({"cmd": "broadcast", "topic": TOPIC, "event": "broadcast",
           "payload": {"type": "broadcast", "event": "probe", "payload": {"probe": probe}}})
}

fn probe_of(message: &IncomingMessage) -> Option<u64> {
    let envelope = message.payload()?;
    (message.event == "broadcast" && envelope["event"] == "probe")
        .then(|| envelope["payload"]["probe"].as_u64())
        .flatten()
}

fn pick_fault(rng: &mut fastrand::Rng) -> Fault {
    match rng.u8(0..20) {
        0..=3 => Fault::Cut,
        4 => Fault::Reset,
        5..=7 => Fault::Blackhole,
        8..=9 => Fault::LatencySpike,
        10..=12 => Fault::SlowThenCut,
        13..=14 => Fault::Refuse,
        15..=17 => Fault::RoomCrash,
        _ => Fault::ServerRestart,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_phoenix_clients_keep_their_guarantees_through_faults_crashes_and_restarts() {
    harness::run(&PHOENIX).await;
}
