#!/usr/bin/env bash
# Generates the Swift or Kotlin bindings of tether-ffi in library mode: builds the library,
# then runs the workspace's uniffi-bindgen on it. Generated code is never committed.
#
#   bindings/generate.sh kotlin kotlin/generated            # debug build (what tests use)
#   PROFILE=release bindings/generate.sh swift out/swift    # release build
#   UNIFFI_CONFIG=bindings/uniffi-android.toml bindings/generate.sh kotlin out  # Android flavour
#
# Prints the directory of the built library on the last line (for -Djna.library.path, -L).
set -euo pipefail

usage() { echo "usage: $0 <swift|kotlin> <out-dir>" >&2; exit 2; }
[ $# -eq 2 ] || usage
LANGUAGE="$1"
OUT_DIR="$2"
case "$LANGUAGE" in swift|kotlin) ;; *) usage ;; esac

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PROFILE="${PROFILE:-debug}"
CARGO_PROFILE_FLAG=()
[ "$PROFILE" = release ] && CARGO_PROFILE_FLAG=(--release)
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"

case "$(uname -s)" in
    Darwin) LIB_FILE=libtether_ffi.dylib ;;
    *) LIB_FILE=libtether_ffi.so ;;
esac

# Paths given relative to the caller's folder stay so after the cd below.
mkdir -p "$OUT_DIR"
OUT_DIR="$(cd "$OUT_DIR" && pwd)"
CONFIG_FLAG=()
if [ -n "${UNIFFI_CONFIG:-}" ]; then
    CONFIG_FLAG=(--config "$(cd "$(dirname "$UNIFFI_CONFIG")" && pwd)/$(basename "$UNIFFI_CONFIG")")
fi

cd "$REPO"
cargo build -p tether-ffi ${CARGO_PROFILE_FLAG[@]+"${CARGO_PROFILE_FLAG[@]}"}
cargo build -p uniffi-bindgen ${CARGO_PROFILE_FLAG[@]+"${CARGO_PROFILE_FLAG[@]}"}

LIB_DIR="$TARGET_DIR/$PROFILE"
# Start clean so a renamed type never leaves a stale file behind; but only in an empty folder
# or one this script filled before (marked), never in a folder of hand-written code.
MARKER="$OUT_DIR/.uniffi-generated"
if [ -n "$(ls -A "$OUT_DIR")" ] && [ ! -f "$MARKER" ]; then
    echo "generate.sh: $OUT_DIR is not empty and was not made by this script; refusing to clean it" >&2
    exit 1
fi
find "$OUT_DIR" -mindepth 1 -delete
"$LIB_DIR/uniffi-bindgen" generate \
    --library "$LIB_DIR/$LIB_FILE" \
    ${CONFIG_FLAG[@]+"${CONFIG_FLAG[@]}"} \
    --language "$LANGUAGE" \
    --out-dir "$OUT_DIR" \
    --no-format
echo "made by bindings/generate.sh; regenerated (wiped) on every run" >"$MARKER"
echo "$LIB_DIR"
