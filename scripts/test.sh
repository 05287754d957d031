#!/usr/bin/env bash
# Runs every test of the project: the Rust workspace (unit, virtual-time session, end-to-end
# against real servers, doc tests), then the Kotlin tests on the JVM and the Swift tests in the
# Linux toolchain chroot, both through the uniffi bindings. This is the README's test command
# and what CI runs after installing dependencies.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-deps.sh

echo "== Rust"
# The bench crate pulls in peers (rust_socketio, openssl) that are benchmark-only.
cargo test --workspace --exclude tether-bench

echo "== Kotlin"
bash kotlin/run-tests.sh

echo "== Swift"
bash swift/run-tests.sh

echo "== all tests passed"
