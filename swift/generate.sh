#!/usr/bin/env bash
# Generates the uniffi Swift bindings of tether-ffi and puts them where Package.swift expects
# them (both folders are gitignored; never commit generated code):
#
#   Sources/TetherFFI/TetherFFI.h         the C declarations of the Rust library
#   Sources/TetherFFI/module.modulemap    the C module `TetherFFI`, linking libtether_ffi
#   Sources/TetherBindings/Tether.swift   the generated Swift: module `TetherBindings`, which
#                                         the `Tether` module re-exports under its sugar
#
#   swift/generate.sh                     debug build of the Rust library (what the tests use)
#   PROFILE=release swift/generate.sh     release build
#
# Builds the library first (through bindings/generate.sh). Prints the folder of the built
# library on the last line of stdout (for -Xlinker -L and LD_LIBRARY_PATH).
set -euo pipefail

SWIFT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$SWIFT_DIR/.." && pwd)"
# The cdylib's name (bindings/Cargo.toml [lib] name, uniffi.toml cdylib_name).
LINK_NAME=tether_ffi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

lib_dir="$("$REPO/bindings/generate.sh" swift "$tmp/out" | tail -n 1)"

shopt -s nullglob
headers=("$tmp"/out/*.h)
modulemaps=("$tmp"/out/*.modulemap)
sources=("$tmp"/out/*.swift)
shopt -u nullglob
if [ "${#headers[@]}" -ne 1 ] || [ "${#modulemaps[@]}" -ne 1 ] || [ "${#sources[@]}" -lt 1 ]; then
    echo "generate.sh: unexpected uniffi-bindgen output in $tmp/out:" >&2
    ls -l "$tmp/out" >&2
    exit 1
fi

ffi_dir="$SWIFT_DIR/Sources/TetherFFI"
gen_dir="$SWIFT_DIR/Sources/TetherBindings"
rm -rf "$ffi_dir" "$gen_dir"
mkdir -p "$ffi_dir" "$gen_dir"

cp "${headers[0]}" "$ffi_dir/"
# SwiftPM wants a system library's module map named module.modulemap; `link` makes every
# client of the module link the Rust library (-ltether_ffi; pass its folder with -L).
awk -v lib="$LINK_NAME" '
    { print }
    /^[[:space:]]*header[[:space:]]/ && !done { print "    link \"" lib "\""; done = 1 }
' "${modulemaps[0]}" >"$ffi_dir/module.modulemap"
grep -q "link \"$LINK_NAME\"" "$ffi_dir/module.modulemap" \
    || { echo "generate.sh: no header line in ${modulemaps[0]}" >&2; exit 1; }

cp "${sources[@]}" "$gen_dir/"
# A faster copy in the generated reader (why: in the script).
for source in "$gen_dir"/*.swift; do
    python3 "$SWIFT_DIR/scripts/fast-reader.py" "$source"
done
echo "generate.sh: wrote Sources/TetherFFI and Sources/TetherBindings" >&2
echo "$lib_dir"
