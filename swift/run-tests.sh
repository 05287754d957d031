#!/usr/bin/env bash
# Runs the Swift package's XCTest suite on this Linux machine:
#
#   1. builds the Rust library and generates the Swift bindings (swift/generate.sh);
#   2. installs what the tests need (scripts/install-deps.sh: the Node server's npm packages)
#      and the Swift 6.0.3 toolchain, a cached Debian trixie chroot (scripts/swift-toolchain.sh);
#   3. copies the package and libtether_ffi.so into a work folder the chroot sees at /work;
#   4. builds the package and its tests inside the chroot;
#   5. starts the official Socket.IO test server on the HOST (Node is not in the chroot; the
#      chroot shares the host's network) through swift/scripts/test-server.js, which relays
#      commands the tests append to a file and writes the server's reports to another
#      (protocol in that script's header);
#   6. runs `swift test` inside the chroot, told where the server and the control folder are
#      (TETHER_TEST_SERVER_URL, TETHER_TEST_TOKEN, TETHER_TEST_CONTROL).
#
#   swift/run-tests.sh                                 every test
#   swift/run-tests.sh --filter TetherTests.RoomTests  extra arguments go to `swift test`
#
# The server (and its supervisor) are stopped when this script exits, however it exits.
# Environment: TETHER_SWIFT_WORK  work folder (default target/swift-tests; keeps .build
#                                 between runs for incremental builds)
set -euo pipefail

SWIFT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$SWIFT_DIR/.." && pwd)"
WORK="${TETHER_SWIFT_WORK:-$REPO/target/swift-tests}"
TOOLCHAIN="$REPO/scripts/swift-toolchain.sh"
started=$SECONDS

log() { echo "run-tests.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

# ---------------------------------------------------------------------------------------------
log "building the Rust library and generating the bindings"
lib_dir="$("$SWIFT_DIR/generate.sh" | tail -n 1)"
[ -f "$lib_dir/libtether_ffi.so" ] || die "no libtether_ffi.so in $lib_dir"

log "checking test dependencies and the Swift toolchain"
bash "$REPO/scripts/install-deps.sh"
bash "$TOOLCHAIN" ensure

# ---------------------------------------------------------------------------------------------
mkdir -p "$WORK/package" "$WORK/lib"
# A fresh copy of the package, keeping .build (SwiftPM rebuilds what changed).
find "$WORK/package" -mindepth 1 -maxdepth 1 ! -name .build -exec rm -rf {} +
tar -C "$SWIFT_DIR" --exclude=./.build --exclude=./.swiftpm --exclude=./dist -cf - . \
    | tar -C "$WORK/package" -xf -
cp -f "$lib_dir/libtether_ffi.so" "$WORK/lib/"

# What this script started and must stop on the way out, however it exits: the chroot command
# under way (a process group of its own) and the server supervisor.
group_pid=""
supervisor_pid=""
# Whether process $1 runs (a zombie waiting to be reaped does not).
# shellcheck disable=SC2317  # called from cleanup
running() {
    local stat
    stat="$(ps -o stat= -p "$1" 2>/dev/null)" || return 1
    [ "${stat:0:1}" != Z ]
}
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
    if [ -n "$group_pid" ]; then
        # SIGINT, like Ctrl-C: `swift test` then stops the test process it started in a
        # process group of its own.
        kill -INT -- "-$group_pid" 2>/dev/null || true
        for _ in $(seq 1 100); do running "$group_pid" || break; sleep 0.1; done
        kill -KILL -- "-$group_pid" 2>/dev/null || true
        wait "$group_pid" 2>/dev/null || true
        group_pid=""
    fi
    if [ -n "$supervisor_pid" ]; then
        kill "$supervisor_pid" 2>/dev/null || true
        wait "$supervisor_pid" 2>/dev/null || true
        supervisor_pid=""
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Runs CMD inside the chroot, in a process group of its own and in the background, so that an
# interrupt stops it (and everything it started) at once instead of after it finishes.
in_chroot() {
    setsid bash "$TOOLCHAIN" run "$WORK" "$@" &
    group_pid=$!
    local status=0
    wait "$group_pid" || status=$?
    group_pid=""
    return "$status"
}

log "building the package in the chroot (swift build)"
build_started=$SECONDS
in_chroot swift build --package-path /work/package --build-tests -Xlinker -L/work/lib
log "built in $((SECONDS - build_started)) s"

# ---------------------------------------------------------------------------------------------
# The server supervisor, on the host. Its stdin is a pipe held by this shell: if this script
# dies, even by SIGKILL, the supervisor sees EOF and stops the server.

CONTROL="$WORK/control"
rm -rf "$CONTROL"
TOKEN="swift-test-$RANDOM$RANDOM"
# shellcheck disable=SC2034  # the coproc's fds: held open, never used
coproc SUPERVISOR {
    exec node "$SWIFT_DIR/scripts/test-server.js" --control "$CONTROL" -- --token "$TOKEN" \
        >/dev/null 2>>"$WORK/test-server.log"
}
# shellcheck disable=SC2153  # set by coproc; bash unsets it once it reaps the coproc
supervisor_pid=$SUPERVISOR_PID

for _ in $(seq 1 200); do
    [ -s "$CONTROL/url" ] && break
    kill -0 "$supervisor_pid" 2>/dev/null \
        || die "the test server did not start; see $WORK/test-server.log and $CONTROL/server.log"
    sleep 0.1
done
[ -s "$CONTROL/url" ] || die "the test server did not listen within 20 s"
url="$(cat "$CONTROL/url")"
log "Socket.IO test server at $url"

# ---------------------------------------------------------------------------------------------
log "running swift test in the chroot"
test_started=$SECONDS
status=0
in_chroot env \
    LD_LIBRARY_PATH=/work/lib \
    TETHER_TEST_SERVER_URL="$url" \
    TETHER_TEST_TOKEN="$TOKEN" \
    TETHER_TEST_CONTROL=/work/control \
    swift test --package-path /work/package -Xlinker -L/work/lib "$@" || status=$?
log "swift test exited with $status after $((SECONDS - test_started)) s" \
    "(whole run $((SECONDS - started)) s)"
exit "$status"
