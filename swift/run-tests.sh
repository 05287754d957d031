#!/usr/bin/env bash
# Runs the Swift package's XCTest suite on this Linux machine:
#
#   1. builds the Rust library and generates the Swift bindings (swift/generate.sh);
#   2. installs what the tests need (scripts/install-deps.sh: the Node server's npm packages)
#      and the Swift 6.0.3 toolchain, a cached Debian trixie chroot (scripts/swift-toolchain.sh);
#   3. copies the package and libtether_ffi.so into a work folder the chroot sees at /work;
#   4. builds the package and its tests inside the chroot;
#   5. starts the official Socket.IO test server and the Phoenix Channels test server on the
#      HOST (Node is not in the chroot; the chroot shares the host's network), each through
#      swift/scripts/test-server.js, which relays commands the tests append to a file and
#      writes the server's reports to another (protocol in that script's header);
#   6. runs `swift test` inside the chroot, told where the servers and their control folders
#      are (TETHER_TEST_SERVER_URL, TETHER_TEST_CONTROL, TETHER_TEST_PHOENIX_URL,
#      TETHER_TEST_PHOENIX_CONTROL, and the token both require, TETHER_TEST_TOKEN).
#
#   swift/run-tests.sh                                 every test
#   swift/run-tests.sh --filter TetherTests.RoomTests  extra arguments go to `swift test`
#
# The servers (and their supervisors) are stopped when this script exits, however it exits.
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
# under way (a process group of its own) and the server supervisors.
group_pid=""
supervisor_pids=()
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
    local pid
    for pid in ${supervisor_pids[@]+"${supervisor_pids[@]}"}; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    supervisor_pids=()
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Runs CMD inside the chroot, in a process group of its own and in the background, so that an
# interrupt stops it (and everything it started) at once instead of after it finishes. It does
# not get the supervisors' stdin pipes (fds 7 and 8, below): only this shell holds them.
in_chroot() {
    setsid bash "$TOOLCHAIN" run "$WORK" "$@" 7>&- 8>&- &
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
# The server supervisors, on the host. Each one's stdin is a pipe whose write end only this
# shell holds (fd 7 or 8): if this script dies, even by SIGKILL, the supervisor sees EOF and
# stops its server.

TOKEN="swift-test-$RANDOM$RANDOM"

# Becomes the supervisor of server $1 (node or phoenix) with control folder $2 (run as the
# reader of a pipe: `exec 7> >(supervise ...)`).
supervise() {
    exec node "$SWIFT_DIR/scripts/test-server.js" --server "$1" --control "$2" -- --token "$TOKEN" \
        >/dev/null 2>>"$WORK/test-server-$1.log"
}

# Waits until the supervisor $1 of server $2 wrote the URL into control folder $3; prints it.
await_url() {
    local pid="$1" server="$2" control="$3"
    for _ in $(seq 1 200); do
        [ -s "$control/url" ] && break
        kill -0 "$pid" 2>/dev/null \
            || die "the $server test server did not start; see $WORK/test-server-$server.log and $control/server.log"
        sleep 0.1
    done
    [ -s "$control/url" ] || die "the $server test server did not listen within 20 s"
    cat "$control/url"
}

CONTROL="$WORK/control"
PHOENIX_CONTROL="$WORK/control-phoenix"
rm -rf "$CONTROL" "$PHOENIX_CONTROL"
exec 7> >(supervise node "$CONTROL")
supervisor_pids+=("$!")
exec 8> >(supervise phoenix "$PHOENIX_CONTROL")
supervisor_pids+=("$!")
url="$(await_url "${supervisor_pids[0]}" node "$CONTROL")"
log "Socket.IO test server at $url"
phoenix_url="$(await_url "${supervisor_pids[1]}" phoenix "$PHOENIX_CONTROL")"
log "Phoenix test server at $phoenix_url"

# ---------------------------------------------------------------------------------------------
log "running swift test in the chroot"
test_started=$SECONDS
status=0
in_chroot env \
    LD_LIBRARY_PATH=/work/lib \
    TETHER_TEST_SERVER_URL="$url" \
    TETHER_TEST_TOKEN="$TOKEN" \
    TETHER_TEST_CONTROL=/work/control \
    TETHER_TEST_PHOENIX_URL="$phoenix_url" \
    TETHER_TEST_PHOENIX_CONTROL=/work/control-phoenix \
    swift test --package-path /work/package -Xlinker -L/work/lib "$@" || status=$?
log "swift test exited with $status after $((SECONDS - test_started)) s" \
    "(whole run $((SECONDS - started)) s)"
exit "$status"
