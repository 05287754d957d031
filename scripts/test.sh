#!/usr/bin/env bash
# Runs every test of the project: the Rust workspace (unit, virtual-time session, end-to-end
# against real servers, the two 60 s chaos soaks, doc tests), the Phoenix Channels test server's
# own checks (node:test, against the recorded Phoenix frames and the official JS clients), then
# the Kotlin tests on the JVM and the Swift tests in the Linux toolchain chroot, both through the
# uniffi bindings. This is the README's test command and what CI runs after installing
# dependencies. Ends with one line "tests: N passed, M failed" over all of them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/install-deps.sh

log="$(mktemp)"
trap 'rm -f "$log"' EXIT

echo "== Rust"
# The bench crate pulls in peers (rust_socketio, openssl) that are benchmark-only: only its own
# unit tests run (the pass medians, ranges and verdicts the report is built from).
cargo test --workspace --exclude tether-bench 2>&1 | tee -a "$log"
cargo test -p tether-bench --bin tether-bench 2>&1 | tee -a "$log"

echo "== Phoenix server checks"
# A failing check is counted by the summary below (node:test's "# fail M"); the exit status is
# kept too, so that a run that dies before its summary still fails the script.
phoenix_status=0
node --test tests/servers/phoenix/test/ 2>&1 | tee -a "$log" || phoenix_status=$?

echo "== Kotlin"
bash kotlin/run-tests.sh 2>&1 | tee -a "$log"

echo "== Swift"
bash swift/run-tests.sh 2>&1 | tee -a "$log"

# One total over the runners' own summaries (cargo's "test result", node:test's final "# pass N"
# and "# fail M", the Kotlin script's "N tests, M failures", XCTest's "Executed N tests, with M
# failures" for the whole suite).
status=0
python3 - "$log" <<'PY' || status=$?
import re, sys
text = open(sys.argv[1], errors="replace").read()
passed = failed = 0
for p, f in re.findall(r"test result: \w+\. (\d+) passed; (\d+) failed", text):
    passed += int(p); failed += int(f)
for p in re.findall(r"^(?:# |\u2139 )pass (\d+)$", text, re.M):
    passed += int(p)
for f in re.findall(r"^(?:# |\u2139 )fail (\d+)$", text, re.M):
    failed += int(f)
for n, f in re.findall(r": (\d+) tests, (\d+) failures", text):
    passed += int(n) - int(f); failed += int(f)
swift = re.findall(r"Executed (\d+) tests?, with (\d+) failures", text)
if swift:
    n, f = max(swift, key=lambda t: int(t[0]))
    passed += int(n) - int(f); failed += int(f)
print(f"tests: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
if [ "$phoenix_status" -ne 0 ] && [ "$status" -eq 0 ]; then
    echo "test.sh: the Phoenix server checks exited with status $phoenix_status" >&2
    status=1
fi
exit "$status"
