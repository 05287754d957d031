#!/usr/bin/env bash
# Fuzzes Tether's decoders and session with cargo-fuzz (libFuzzer). See fuzz/README.md.
#
#   scripts/fuzz.sh                  # every target, 10 million executions each, one at a time
#   scripts/fuzz.sh --ci             # every target for 45 s (after replaying fixed crashes)
#   scripts/fuzz.sh --seconds 600 session
#   scripts/fuzz.sh --runs 1000000 engineio_decode socketio_decode
#   scripts/fuzz.sh --asan ...       # with AddressSanitizer (about 3x slower)
#
# Works on the stable toolchain: cargo-fuzz's flags are nightly-only, so the build runs with
# RUSTC_BOOTSTRAP=1 (no nightly needed, nothing downloaded but crates). cargo-fuzz itself is
# installed from crates.io when missing. Without --asan there is no sanitizer: tether-core
# forbids unsafe code, so the fuzzers look for panics, broken invariants, hangs and memory
# blow-ups (-rss_limit_mb), which need none.
#
# Exit status: non-zero if a target crashed, hung or broke an invariant; the input is saved in
# fuzz/artifacts/<target>/ and the log in fuzz/target/logs/<target>.log.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FUZZ="$REPO/fuzz"
ALL_TARGETS=(engineio_decode socketio_decode phoenix session)

mode=runs
runs=10000000
seconds=45
sanitizer=none
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
        --ci) mode=time; seconds=45 ;;
        --seconds) mode=time; seconds="$2"; shift ;;
        --runs) mode=runs; runs="$2"; shift ;;
        --asan) sanitizer=address ;;
        -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
        -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
        *) targets+=("$1") ;;
    esac
    shift
done
[ ${#targets[@]} -gt 0 ] || targets=("${ALL_TARGETS[@]}")

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== Installing cargo-fuzz (crates.io)"
    cargo install cargo-fuzz --locked --quiet
fi

export RUSTC_BOOTSTRAP=1
cd "$FUZZ"
echo "== Building fuzz targets (sanitizer: $sanitizer)"
build_started=$SECONDS
for target in "${targets[@]}"; do
    cargo fuzz build -O -s "$sanitizer" "$target"
done
echo "   built in $((SECONDS - build_started)) s"

BIN="$FUZZ/target/x86_64-unknown-linux-gnu/release"
LOGS="$FUZZ/target/logs"
mkdir -p "$LOGS"
failed=0
summary=()
for target in "${targets[@]}"; do
    corpus="$FUZZ/corpus/$target"
    artifacts="$FUZZ/artifacts/$target"
    mkdir -p "$corpus" "$artifacts"
    # Seeds: the committed corpus the long runs left behind (minimised), for a head start.
    if [ -d "$FUZZ/seeds/$target" ]; then
        cp -n "$FUZZ/seeds/$target"/* "$corpus"/ 2>/dev/null || true
    fi
    # Every crash ever fixed must stay fixed.
    if compgen -G "$FUZZ/regressions/$target/*" >/dev/null; then
        echo "== $target: replaying $(ls "$FUZZ/regressions/$target" | wc -l) fixed crash(es)"
        if ! "$BIN/$target" "$FUZZ/regressions/$target"/* >"$LOGS/$target.regressions.log" 2>&1; then
            echo "fuzz.sh: a fixed crash of $target is back; see $LOGS/$target.regressions.log" >&2
            tail -n 30 "$LOGS/$target.regressions.log" >&2
            failed=1
            continue
        fi
    fi
    if [ "$mode" = time ]; then budget=(-max_total_time="$seconds"); else budget=(-runs="$runs"); fi
    # A session input is a sequence of steps; past 1 KiB they only make each run slower.
    if [ "$target" = session ]; then budget+=(-max_len=1024); fi
    echo "== $target: fuzzing (${budget[*]})"
    started=$SECONDS
    if "$BIN/$target" "${budget[@]}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$artifacts/" "$corpus" >"$LOGS/$target.log" 2>&1; then
        result=ok
    else
        result=FAILED
        failed=1
        grep -E "panicked|ERROR|SUMMARY|Test unit written" "$LOGS/$target.log" | head -n 20 >&2 || true
    fi
    elapsed=$((SECONDS - started))
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$LOGS/$target.log" | tail -n 1)
    cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$LOGS/$target.log" | tail -n 1)
    summary+=("$target: $result, ${execs:-?} executions in ${elapsed} s, ${cov:-no coverage line}")
done

echo "== Fuzzing summary"
printf '   %s\n' "${summary[@]}"
exit "$failed"
