#!/usr/bin/env bash
# Builds the Android library (AAR) of Tether:
#
#   1. libtether_ffi.so for arm64-v8a, armeabi-v7a and x86_64 with cargo-ndk (release profile:
#      size-optimised, see the workspace Cargo.toml) into src/main/jniLibs/<abi>/;
#   2. the Kotlin bindings, Android flavour (bindings/uniffi-android.toml), into generated/;
#   3. the AAR with Gradle: build/outputs/aar/tether-android-release.aar.
#
# Needs: the Android SDK (ANDROID_HOME) with an NDK (ANDROID_NDK_HOME, r26+), the Rust targets
# (rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android),
# cargo-ndk (cargo install cargo-ndk), and Gradle 8.9+ (`gradle`, or a wrapper made with
# `gradle wrapper`). The project's own machines have no SDK or NDK: this script is untested
# there; the same Kotlin code is tested on the JVM (kotlin/run-tests.sh).
set -euo pipefail

ANDROID_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$ANDROID_DIR/../.." && pwd)"
ABIS=(arm64-v8a armeabi-v7a x86_64)
# Android 7.0; keep in step with minSdk in build.gradle.kts.
API_LEVEL=24

die() { echo "build-aar.sh: $*" >&2; exit 1; }

[ -n "${ANDROID_NDK_HOME:-}" ] || die "set ANDROID_NDK_HOME to an Android NDK"
command -v cargo-ndk >/dev/null 2>&1 || die "cargo-ndk missing: cargo install cargo-ndk"

echo "== libtether_ffi.so for ${ABIS[*]}"
abi_flags=()
for abi in "${ABIS[@]}"; do abi_flags+=(-t "$abi"); done
rm -rf "$ANDROID_DIR/src/main/jniLibs"
(cd "$REPO" && cargo ndk "${abi_flags[@]}" -P "$API_LEVEL" \
    -o "$ANDROID_DIR/src/main/jniLibs" build -p tether-ffi --release)

echo "== Kotlin bindings (Android flavour)"
# Library mode reads the interface from a host build of the same crate (same metadata).
PROFILE=release UNIFFI_CONFIG="$REPO/bindings/uniffi-android.toml" \
    "$REPO/bindings/generate.sh" kotlin "$ANDROID_DIR/generated" >/dev/null

echo "== AAR"
cd "$ANDROID_DIR"
if [ -x ./gradlew ]; then GRADLE=./gradlew; else GRADLE=gradle; fi
command -v "$GRADLE" >/dev/null 2>&1 || die "Gradle missing (install Gradle 8.9+ or add a wrapper)"
"$GRADLE" --no-daemon assembleRelease
ls -l build/outputs/aar/
