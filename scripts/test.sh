#!/usr/bin/env bash
# Runs every test of the project: the Rust workspace (unit, virtual-time session, end-to-end
# against real servers, the two 60 s chaos soaks, doc tests), then the Kotlin tests on the JVM and the
# Swift tests in the Linux toolchain chroot, both through the uniffi bindings. This is the
# README's test command and what CI runs after installing dependencies. Ends with one line
# "tests: N passed, M failed" over all three languages.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-deps.sh

log="$(mktemp)"
trap 'rm -f "$log"' EXIT

echo "== Rust"
# The bench crate pulls in peers (rust_socketio, openssl) that are benchmark-only.
cargo test --workspace --exclude tether-bench 2>&1 | tee -a "$log"

echo "== Kotlin"
bash kotlin/run-tests.sh 2>&1 | tee -a "$log"

echo "== Swift"
bash swift/run-tests.sh 2>&1 | tee -a "$log"

# One total over the three runners' own summaries (cargo's "test result", the Kotlin script's
# "N tests, M failures", XCTest's "Executed N tests, with M failures" for the whole suite).
python3 - "$log" <<'PY'
import re, sys
text = open(sys.argv[1], errors="replace").read()
passed = failed = 0
for p, f in re.findall(r"test result: \w+\. (\d+) passed; (\d+) failed", text):
    passed += int(p); failed += int(f)
for n, f in re.findall(r": (\d+) tests, (\d+) failures", text):
    passed += int(n) - int(f); failed += int(f)
swift = re.findall(r"Executed (\d+) tests?, with (\d+) failures", text)
if swift:
    n, f = max(swift, key=lambda t: int(t[0]))
    passed += int(n) - int(f); failed += int(f)
print(f"tests: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
