#!/usr/bin/env bash
# Builds the Rust library for Apple platforms into TetherFFI.xcframework and assembles a binary
# Swift package around it. NEEDS macOS WITH XCODE; it has never run on the project's Linux
# machines (no Apple SDKs there), so treat its first run as the test.
#
#   swift/build-xcframework.sh            -> swift/dist/Tether/            the package
#                                            swift/dist/TetherFFI.xcframework.zip + .checksum
#
# Slices (static libraries, release profile):
#   ios-arm64                 aarch64-apple-ios
#   ios-arm64_x86_64-simulator aarch64-apple-ios-sim + x86_64-apple-ios (lipo)
#   macos-arm64_x86_64        aarch64-apple-darwin + x86_64-apple-darwin (lipo)
#
# The package in dist/Tether is Package.binary.swift (as its Package.swift), the sugar
# (Sources/Tether), the generated Swift (Sources/TetherBindings) and the XCFramework. Publish
# it as its own repository, or switch its binaryTarget to the zip's URL and checksum.
#
# Environment:
#   IPHONEOS_DEPLOYMENT_TARGET  default 13.0  (keep in line with Package.swift's platforms)
#   MACOSX_DEPLOYMENT_TARGET    default 10.15
#   TETHER_XCF_FLAT_HEADERS=1   put module.modulemap at Headers/ instead of
#                               Headers/TetherFFI/ (see the note at the headers step)
set -euo pipefail

SWIFT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$SWIFT_DIR/.." && pwd)"
DIST="$SWIFT_DIR/dist"
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
LIB=libtether_ffi.a

log() { echo "build-xcframework.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

[ "$(uname -s)" = Darwin ] || die "needs macOS with Xcode (xcodebuild, lipo, the Apple SDKs)"
for tool in cargo xcodebuild lipo zip swift; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found"
done

export IPHONEOS_DEPLOYMENT_TARGET="${IPHONEOS_DEPLOYMENT_TARGET:-13.0}"
export MACOSX_DEPLOYMENT_TARGET="${MACOSX_DEPLOYMENT_TARGET:-10.15}"

TARGETS=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios aarch64-apple-darwin x86_64-apple-darwin)
if command -v rustup >/dev/null 2>&1; then
    rustup target add "${TARGETS[@]}"
fi

cd "$REPO"
for target in "${TARGETS[@]}"; do
    log "cargo build --release --target $target"
    cargo build -p tether-ffi --release --target "$target"
done

# The generated Swift and header come from the host's release build (library mode reads the
# exported API from the built library; it is the same for every target).
log "generating the Swift bindings"
PROFILE=release "$SWIFT_DIR/generate.sh" >/dev/null

rm -rf "$DIST"
work="$DIST/.work"
mkdir -p "$work/ios-simulator" "$work/macos"

lipo -create \
    "$TARGET_DIR/aarch64-apple-ios-sim/release/$LIB" \
    "$TARGET_DIR/x86_64-apple-ios/release/$LIB" \
    -output "$work/ios-simulator/$LIB"
lipo -create \
    "$TARGET_DIR/aarch64-apple-darwin/release/$LIB" \
    "$TARGET_DIR/x86_64-apple-darwin/release/$LIB" \
    -output "$work/macos/$LIB"

# Headers: the C header and a module map without `link` (SwiftPM links a binary target's
# library itself). By default both sit in Headers/TetherFFI/: Xcode copies every static
# XCFramework's Headers/ into one shared include/ folder, so two XCFrameworks that each ship
# Headers/module.modulemap collide ("Multiple commands produce .../include/module.modulemap");
# clang finds the module map in the subfolder named after the module. Some Xcode versions'
# explicit-module scanners only look at Headers/module.modulemap: TETHER_XCF_FLAT_HEADERS=1.
headers="$work/headers"
if [ "${TETHER_XCF_FLAT_HEADERS:-0}" = 1 ]; then module_dir="$headers"; else module_dir="$headers/TetherFFI"; fi
mkdir -p "$module_dir"
cp "$SWIFT_DIR/Sources/TetherFFI/TetherFFI.h" "$module_dir/"
grep -v '^[[:space:]]*link[[:space:]]' "$SWIFT_DIR/Sources/TetherFFI/module.modulemap" >"$module_dir/module.modulemap"

log "xcodebuild -create-xcframework"
package="$DIST/Tether"
mkdir -p "$package/Sources"
xcodebuild -create-xcframework \
    -library "$TARGET_DIR/aarch64-apple-ios/release/$LIB" -headers "$headers" \
    -library "$work/ios-simulator/$LIB" -headers "$headers" \
    -library "$work/macos/$LIB" -headers "$headers" \
    -output "$package/TetherFFI.xcframework"

cp "$SWIFT_DIR/Package.binary.swift" "$package/Package.swift"
cp -R "$SWIFT_DIR/Sources/Tether" "$SWIFT_DIR/Sources/TetherBindings" "$package/Sources/"
cp "$SWIFT_DIR/README.md" "$package/README.md"

(cd "$package" && zip -qry "$DIST/TetherFFI.xcframework.zip" TetherFFI.xcframework)
(cd "$package" && swift package compute-checksum "$DIST/TetherFFI.xcframework.zip") >"$DIST/TetherFFI.xcframework.zip.checksum"
rm -rf "$work"

log "building the binary package for macOS as a check"
(cd "$package" && swift build)

log "done: $package ($(du -sh "$package/TetherFFI.xcframework" | cut -f1) XCFramework)," \
    "zip checksum $(cat "$DIST/TetherFFI.xcframework.zip.checksum")"
