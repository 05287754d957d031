#!/usr/bin/env bash
# Benchmarks Tether against its peers on loopback: socket.io-client (Node) and the rust_socketio
# crate against the official Node Socket.IO server, and a bare tokio-tungstenite client against
# a bare tokio-tungstenite server (the floor), with Tether in raw WebSocket mode against that
# same bare server. Not part of the tests. Workloads and the latest results: BENCHMARKS.md.
#
#   scripts/bench.sh                 # everything (about 10 minutes on 2 cores)
#   scripts/bench.sh --quick         # small sizes, a smoke run
#   scripts/bench.sh --only w1,w2    # some workloads (`polling`: P1-P3, long-polling and the upgrade)
#
# Prints one JSON line per figure, then a table of ratios (Tether / peer); both are also
# written to target/bench/results.jsonl and target/bench/results.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-deps.sh

# W4 opens 1,000 connections from one process (and the server accepts as many).
ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# The release profile is what ships (opt-level "z", LTO): measure that.
cargo build --release -p tether-bench
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), kernel $(uname -r)" >&2
echo "versions: $(rustc --version), node $(node --version), socket.io-client $(node -p "require('./tests/servers/node/node_modules/socket.io-client/package.json').version"), socket.io $(node -p "require('./tests/servers/node/node_modules/socket.io/package.json').version"), rust_socketio $(grep -A1 'name = "rust_socketio"' Cargo.lock | sed -n 's/version = "\(.*\)"/\1/p'), tokio-tungstenite $(grep -A1 'name = "tokio-tungstenite"' Cargo.lock | sed -n 's/version = "\(.*\)"/\1/p' | tr '\n' ' ')" >&2
exec target/release/tether-bench all "$@"
