#!/usr/bin/env bash
# W6 of BENCHMARKS.md from Kotlin: emits per second through the bindings and server messages
# per second delivered to Kotlin listeners. Run by `scripts/bench.sh` (tether-bench passes the
# bare WebSocket bench server's URL); by hand:
#
#   kotlin/bench-w6.sh --raw-url ws://127.0.0.1:PORT --n 200000
#
# Builds the release library (what ships), regenerates the bindings from it, compiles with
# Maven, then runs dev.tether.bench.W6Kt. Build output goes to stderr; stdout carries only the
# JSON figure lines.
set -euo pipefail

KOTLIN_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$KOTLIN_DIR/.." && pwd)"

lib_dir="$(PROFILE=release "$REPO/bindings/generate.sh" kotlin "$KOTLIN_DIR/generated" | tail -n 1)"
[ -f "$lib_dir/libtether_ffi.so" ] || { echo "bench-w6.sh: no libtether_ffi.so in $lib_dir" >&2; exit 1; }

cd "$KOTLIN_DIR"
mvn -q -B test-compile "-Dtether.lib.dir=$lib_dir" >&2
mvn -q -B dependency:build-classpath -Dmdep.includeScope=runtime \
    -Dmdep.outputFile=target/bench-classpath.txt >&2
exec java -Djna.library.path="$lib_dir" \
    -cp "target/classes:target/test-classes:$(cat target/bench-classpath.txt)" \
    dev.tether.bench.W6Kt "$@"
