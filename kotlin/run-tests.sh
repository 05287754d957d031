#!/usr/bin/env bash
# Runs the Kotlin tests on the JVM against the official Socket.IO test server and the Phoenix
# Channels test server (tests/servers/node, tests/servers/phoenix; the tests start them):
#
#   1. installs the test servers' npm packages if they are missing (scripts/install-deps.sh);
#   2. builds libtether_ffi.so (debug) and generates the Kotlin bindings into kotlin/generated
#      (bindings/generate.sh, gitignored);
#   3. runs `mvn test` with -Dtether.lib.dir pointing at the built library (Maven downloads
#      its own dependencies on first use).
#
#   kotlin/run-tests.sh                                  every test
#   kotlin/run-tests.sh -Dtest='TetherClientTest#join*'  extra arguments go to Maven
#
# Needs cargo, node, java (17+) and mvn on the PATH.
set -euo pipefail

KOTLIN_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$KOTLIN_DIR/.." && pwd)"
started=$SECONDS

log() { echo "run-tests.sh: $*" >&2; }

for tool in cargo node java mvn; do
    command -v "$tool" >/dev/null 2>&1 || { log "error: $tool is not on the PATH"; exit 1; }
done

if [ ! -d "$REPO/tests/servers/node/node_modules" ] \
    || [ ! -d "$REPO/tests/servers/phoenix/node_modules" ]; then
    log "installing the test servers' dependencies"
    bash "$REPO/scripts/install-deps.sh"
fi

log "building the Rust library and generating the Kotlin bindings"
lib_dir="$("$REPO/bindings/generate.sh" kotlin "$KOTLIN_DIR/generated" | tail -n 1)"
[ -f "$lib_dir/libtether_ffi.so" ] || { log "error: no libtether_ffi.so in $lib_dir"; exit 1; }

log "running the tests (mvn test)"
cd "$KOTLIN_DIR"
# clean: the Kotlin compiler leaves classes of deleted sources behind (it recompiles all anyway).
mvn -q -B clean test "-Dtether.lib.dir=$lib_dir" "$@"

# Surefire's reports hold the counts; -q keeps Maven quiet on success.
summary="$(cat target/surefire-reports/TEST-*.xml 2>/dev/null \
    | grep -o '<testsuite [^>]*' \
    | sed -E 's/.*name="([^"]*)".*time="([^"]*)".*tests="([0-9]+)".*errors="([0-9]+)".*skipped="([0-9]+)".*failures="([0-9]+)".*/\1: \3 tests, \6 failures, \4 errors, \5 skipped in \2 s/' || true)"
[ -n "$summary" ] && log "$summary"
log "done in $((SECONDS - started)) s"
