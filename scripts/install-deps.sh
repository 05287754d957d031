#!/usr/bin/env bash
# Installs what Tether's tests need beyond the Rust toolchain, on a Debian 12 machine (root).
#
#   - Debian packages: redis-server (Redis for the multi-node Socket.IO tests), tinyproxy (a
#     real HTTP proxy for the proxy tests) and haproxy (the load balancer of the sticky-session
#     tests); the tests start their own instances on free loopback ports with generated
#     configs, so the packages' own services are kept stopped and disabled; debootstrap (for scripts/swift-toolchain.sh) and python3 when
#     missing (swift/generate.sh patches the generated reader with it).
#   - npm dependencies of the Node test servers, the Socket.IO one (tests/servers/node) and the
#     Phoenix Channels one (tests/servers/phoenix), via `npm ci`, each when its node_modules is
#     missing or older than its package-lock.json.
#
# Idempotent, quiet on success, and fast when everything is already present.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NODE_DIR="$REPO/tests/servers/node"
PHOENIX_DIR="$REPO/tests/servers/phoenix"
LOG="$(mktemp)"
trap 'rm -f "$LOG"' EXIT

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO=(sudo); else
        echo "install-deps.sh: must run as root (or with sudo available)" >&2; exit 1
    fi
fi

# Runs a command with its output captured; prints it only if the command fails.
quiet() {
    if ! "$@" >"$LOG" 2>&1; then
        echo "install-deps.sh: failed: $*" >&2
        cat "$LOG" >&2
        exit 1
    fi
}

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

systemd_running() { [ -d /run/systemd/system ]; }

# ---------------------------------------------------------------------------------------------
# Debian packages
PKGS=(redis-server tinyproxy haproxy debootstrap)
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    # Node 20 is expected on the machine; Debian's own nodejs/npm is a working fallback.
    PKGS+=(nodejs npm)
fi
command -v python3 >/dev/null 2>&1 || PKGS+=(python3)

missing=()
for p in "${PKGS[@]}"; do installed "$p" || missing+=("$p"); done

if [ "${#missing[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    # Keep package maintainer scripts from starting services (the redis-server package would
    # otherwise start a Redis on the default port). Only if no policy is already in place.
    POLICY=/usr/sbin/policy-rc.d
    own_policy=0
    if [ ! -e "$POLICY" ]; then
        printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$POLICY" >/dev/null
        "${SUDO[@]}" chmod 755 "$POLICY"
        own_policy=1
    fi
    restore_policy() { if [ "$own_policy" = 1 ]; then "${SUDO[@]}" rm -f "$POLICY"; fi; }
    trap 'restore_policy; rm -f "$LOG"' EXIT
    quiet "${SUDO[@]}" apt-get update -q
    quiet "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
    restore_policy
    own_policy=0
fi

# The packages' own services must not be left running (or start at boot): the tests start
# their own instances on random ports.
stop_service() {
    local service="$1"
    installed "$service" || return 0
    if systemd_running; then
        if systemctl is-enabled --quiet "$service.service" 2>/dev/null \
            || systemctl is-active --quiet "$service.service" 2>/dev/null; then
            quiet "${SUDO[@]}" systemctl disable --now "$service.service"
        fi
    else
        if [ -x "/etc/init.d/$service" ] && "/etc/init.d/$service" status >/dev/null 2>&1; then
            quiet "${SUDO[@]}" "/etc/init.d/$service" stop
        fi
        # No systemd: keep the SysV script from starting it at boot too.
        if ls /etc/rc[2-5].d/S*"$service" >/dev/null 2>&1; then
            quiet "${SUDO[@]}" update-rc.d "$service" disable
        fi
    fi
}
for service in redis-server tinyproxy haproxy; do stop_service "$service"; done

# ---------------------------------------------------------------------------------------------
# npm dependencies of the Node test servers (Socket.IO, Phoenix Channels)
npm_ci_if_stale() {
    local dir="$1"
    local stamp="$dir/node_modules/.package-lock.json"   # written by npm ci / npm install
    if [ ! -f "$stamp" ] || [ "$dir/package-lock.json" -nt "$stamp" ]; then
        (cd "$dir" && quiet npm ci --no-audit --no-fund --loglevel=error)
        touch "$stamp"
    fi
}
npm_ci_if_stale "$NODE_DIR"
npm_ci_if_stale "$PHOENIX_DIR"
