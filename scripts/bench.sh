#!/usr/bin/env bash
# Benchmarks Tether against its peers on loopback: socket.io-client (Node) and the rust_socketio
# crate against the official Node Socket.IO server, and a bare tokio-tungstenite client against
# a bare tokio-tungstenite server (the floor), with Tether in raw WebSocket mode against that
# same bare server. Not part of the tests. Workloads and the latest results: BENCHMARKS.md.
#
#   scripts/bench.sh                 # everything, 3 passes (about 55 minutes on 2 cores)
#   scripts/bench.sh --passes 5      # more passes: every workload runs each client once a pass
#   scripts/bench.sh --quick         # small sizes, a smoke run
#   scripts/bench.sh --only w1,w2    # some workloads (`polling`: long-polling and the upgrade;
#                                    # `phoenix`: Phoenix Channels against the phoenix JS client;
#                                    # `fleet`: 1,000 clients' reconnects as the server sees them)
#
# Prints one JSON line per figure and pass, then the report: each figure's median over the
# passes with their range, Tether / peer per pass and whether a verdict flipped, reconnect time
# distributions; also written to target/bench/results.jsonl and target/bench/results.md.
#
# On a shared machine the benchmark's processes wait for a CPU behind other people's builds;
# run as root, they get a scheduling group of their own (a new session, so a new autogroup)
# weighted as nice -10 (TETHER_BENCH_NICE, 0 to turn it off): less waiting, steadier passes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-deps.sh

# W4 and the W3 fleet open 1,000 connections from one process (and the server accepts as many).
ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# The release profile is what ships (opt-level "z", LTO): measure that.
cargo build --release -p tether-bench
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r)" >&2
echo "versions: $(rustc --version), node $(node --version), socket.io-client $(node -p "require('./tests/servers/node/node_modules/socket.io-client/package.json').version"), socket.io $(node -p "require('./tests/servers/node/node_modules/socket.io/package.json').version"), phoenix $(node -p "require('./tests/servers/phoenix/node_modules/phoenix/package.json').version"), rust_socketio $(grep -A1 'name = "rust_socketio"' Cargo.lock | sed -n 's/version = "\(.*\)"/\1/p'), tokio-tungstenite $(grep -A1 'name = "tokio-tungstenite"' Cargo.lock | sed -n 's/version = "\(.*\)"/\1/p' | tr '\n' ' ')" >&2
echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
nice_level="${TETHER_BENCH_NICE:--10}"
if [ "$(id -u)" = 0 ] && [ "$nice_level" != 0 ] && [ -e /proc/self/autogroup ] && command -v setsid >/dev/null; then
    exec setsid --wait bash -c 'echo "$0" > /proc/self/autogroup && exec target/release/tether-bench all "$@"' "$nice_level" "$@"
fi
exec target/release/tether-bench all "$@"
