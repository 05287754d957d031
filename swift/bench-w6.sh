#!/usr/bin/env bash
# W6 of BENCHMARKS.md from Swift: emits per second through the bindings and server messages
# per second delivered to Swift listeners. Run by `scripts/bench.sh` (tether-bench passes the
# bare WebSocket bench server's URL); by hand:
#
#   swift/bench-w6.sh --raw-url ws://127.0.0.1:PORT --n 200000
#
# Builds the release library (what ships) and the bindings from it, builds the TetherBenchW6
# executable in release mode in the Swift chroot (scripts/swift-toolchain.sh), and runs it
# there (the chroot shares the host's network). Build output goes to stderr; stdout carries only
# the JSON figure lines.
# Environment: TETHER_SWIFT_BENCH_WORK  work folder (default target/swift-bench)
set -euo pipefail

SWIFT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$SWIFT_DIR/.." && pwd)"
WORK="${TETHER_SWIFT_BENCH_WORK:-$REPO/target/swift-bench}"
TOOLCHAIN="$REPO/scripts/swift-toolchain.sh"

lib_dir="$(PROFILE=release "$SWIFT_DIR/generate.sh" | tail -n 1)"
[ -f "$lib_dir/libtether_ffi.so" ] || { echo "bench-w6.sh: no libtether_ffi.so in $lib_dir" >&2; exit 1; }
bash "$TOOLCHAIN" ensure >&2

mkdir -p "$WORK/package" "$WORK/lib"
find "$WORK/package" -mindepth 1 -maxdepth 1 ! -name .build -exec rm -rf {} +
tar -C "$SWIFT_DIR" --exclude=./.build --exclude=./.swiftpm --exclude=./dist -cf - . \
    | tar -C "$WORK/package" -xf -
cp -f "$lib_dir/libtether_ffi.so" "$WORK/lib/"

bash "$TOOLCHAIN" run "$WORK" swift build -c release --package-path /work/package \
    --product TetherBenchW6 -Xlinker -L/work/lib >&2
exec bash "$TOOLCHAIN" run "$WORK" env LD_LIBRARY_PATH=/work/lib \
    /work/package/.build/release/TetherBenchW6 "$@"
