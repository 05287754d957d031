#!/usr/bin/env bash
# Swift 6.0.3 on Debian 12: Debian trixie's `swiftlang` package in a cached trixie chroot
# (see shared/design/TOOLCHAINS.md, "Swift 6 on Linux").
#
# Usage:
#   scripts/swift-toolchain.sh [ensure]            create the cached chroot if it is missing
#   scripts/swift-toolchain.sh run DIR CMD [ARG...]
#                                                  run CMD inside the chroot, with the host
#                                                  folder DIR at /work (the working directory)
#   scripts/swift-toolchain.sh root                print the chroot folder
#
# Environment:
#   TETHER_SWIFT_ROOT     cache folder of the chroot (default /var/cache/tether/swift-trixie)
#   TETHER_DEBIAN_MIRROR  Debian mirror for debootstrap (default: the one the host's apt
#                         sources name, else http://deb.debian.org/debian)
#   TETHER_SWIFT_PROOT=1  use proot instead of chroot + mount namespaces (automatic when
#                         mounting is refused)
#
# `run` gives CMD a clean environment (PATH, HOME=/root, LANG=C.UTF-8, TERM and CI if set);
# use `env VAR=value CMD...` to pass more, e.g.
#   scripts/swift-toolchain.sh run swift env LD_LIBRARY_PATH=/work/lib swift test
# /proc, /dev and /sys are mounted inside, in a private mount namespace that disappears with
# the command, so nothing stays mounted on the host. Files the command writes under /work
# (e.g. .build) land in DIR on the host.
set -euo pipefail

ROOT="${TETHER_SWIFT_ROOT:-/var/cache/tether/swift-trixie}"
ROOT="${ROOT%/}"
SUITE=trixie
PKGS=(swiftlang libc6-dev)
INNER_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

log() { echo "swift-toolchain: $*" >&2; }
die() { log "error: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root"

# --------------------------------------------------------------------------------------------
# Helpers

# The Debian mirror named by the host's own apt sources (first non-security Debian archive).
detect_mirror() {
    if [ -n "${TETHER_DEBIAN_MIRROR:-}" ]; then echo "$TETHER_DEBIAN_MIRROR"; return; fi
    local files=() f
    [ -f /etc/apt/sources.list ] && files+=(/etc/apt/sources.list)
    for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] && files+=("$f")
    done
    local found=""
    if [ "${#files[@]}" -gt 0 ]; then
        found="$(awk '
            function debian_suite(s,   b) {
                b = s; sub(/[-\/].*$/, "", b)
                if (s ~ /-security$/ || s ~ /\/updates$/) return 0
                return b ~ /^(buster|bullseye|bookworm|trixie|forky|duke|sid|oldoldstable|oldstable|stable|testing|unstable)$/
            }
            function good_uri(u) { return u ~ /^https?:\/\// && u !~ /security/ }
            function flush(   i, j, nu, ns, us, ss) {
                if (types ~ /(^|[ \t])deb([ \t]|$)/ && tolower(enabled) != "no") {
                    nu = split(uris, us, /[ \t]+/); ns = split(suites, ss, /[ \t]+/)
                    for (i = 1; i <= nu; i++) for (j = 1; j <= ns; j++)
                        if (good_uri(us[i]) && debian_suite(ss[j])) { print us[i]; exit }
                }
                types = uris = suites = enabled = ""
            }
            FNR == 1 { if (deb822) flush(); deb822 = (FILENAME ~ /\.sources$/) }
            deb822 {
                if ($0 ~ /^[ \t]*$/) { flush(); next }
                if ($0 ~ /^#/) next
                if ($0 ~ /^Types:/i)   { types = $0;   sub(/^[^:]*:[ \t]*/, "", types) }
                if ($0 ~ /^URIs:/i)    { uris = $0;    sub(/^[^:]*:[ \t]*/, "", uris) }
                if ($0 ~ /^Suites:/i)  { suites = $0;  sub(/^[^:]*:[ \t]*/, "", suites) }
                if ($0 ~ /^Enabled:/i) { enabled = $0; sub(/^[^:]*:[ \t]*/, "", enabled) }
                next
            }
            /^[ \t]*deb[ \t]/ {
                line = $0; sub(/^[ \t]*deb[ \t]+/, "", line)
                if (line ~ /^\[/) sub(/^\[[^]]*\][ \t]*/, "", line)
                split(line, w, /[ \t]+/)
                if (good_uri(w[1]) && debian_suite(w[2])) { print w[1]; exit }
            }
            END { if (deb822) flush() }
        ' "${files[@]}" 2>/dev/null | head -n1)"
    fi
    echo "${found:-http://deb.debian.org/debian}"
}

# Whether this process may create a private mount namespace and mount proc in it.
can_mount() {
    [ "${TETHER_SWIFT_PROOT:-0}" = 1 ] && return 1
    command -v unshare >/dev/null 2>&1 || return 1
    local t; t="$(mktemp -d)"
    if unshare --mount --propagation private sh -c "mount -t proc proc '$t'" 2>/dev/null; then
        rmdir "$t"; return 0
    fi
    rmdir "$t" 2>/dev/null || true
    return 1
}

ensure_host_pkg() {  # ensure_host_pkg COMMAND PACKAGE
    command -v "$1" >/dev/null 2>&1 && return 0
    log "installing $2 on the host"
    local out
    if ! out="$( { DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$2" \
            || { apt-get update -q && DEBIAN_FRONTEND=noninteractive \
                 apt-get install -y -q --no-install-recommends "$2"; }; } 2>&1)"; then
        echo "$out" >&2; die "could not install $2"
    fi
}

# Runs a command inside chroot $1 with /proc, /dev and /sys mounted, in a private mount
# namespace (or under proot). Optional bind: BIND_SRC (host dir) at BIND_DST (inside).
# Working directory inside: WORKDIR (default /).
in_root() {
    local r="$1"; shift
    local workdir="${WORKDIR:-/}"
    local envs=(PATH="$INNER_PATH" HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive)
    [ -n "${TERM:-}" ] && envs+=(TERM="$TERM")
    [ -n "${CI:-}" ] && envs+=(CI="$CI")
    if [ "$USE_PROOT" = 1 ]; then
        local pargs=(-0 -r "$r" -b /proc -b /dev -b /sys -w "$workdir")
        [ -n "${BIND_SRC:-}" ] && pargs+=(-b "$BIND_SRC:$BIND_DST")
        env -i "${envs[@]}" proot "${pargs[@]}" "$@"
    else
        # shellcheck disable=SC2016
        unshare --mount --propagation private /bin/sh -c '
            set -e
            r="$1"; workdir="$2"; src="$3"; dst="$4"; shift 4
            mount -t proc proc "$r/proc"
            mount --rbind /dev "$r/dev"
            mount --rbind /sys "$r/sys"
            if [ -n "$src" ]; then mkdir -p "$r$dst"; mount --bind "$src" "$r$dst"; fi
            exec chroot "$r" /bin/sh -c "cd \"\$0\" && exec \"\$@\"" "$workdir" "$@"
        ' sh "$r" "$workdir" "${BIND_SRC:-}" "${BIND_DST:-}" env -i "${envs[@]}" "$@"
    fi
}

# Whether chroot $1 has a usable swift (usr/bin/swift is an absolute symlink into the chroot).
have_swift() {
    local f="$1/usr/bin/swift" t
    if [ -L "$f" ]; then
        t="$(readlink "$f")"
        case "$t" in
            /*) [ -e "$1$t" ] ;;
            *) [ -e "$f" ] ;;
        esac
    else
        [ -x "$f" ]
    fi
}

# --------------------------------------------------------------------------------------------
# ensure: build the chroot once, into a staging folder renamed into place when complete.

ensure() {
    have_swift "$ROOT" && return 0

    mkdir -p "$(dirname "$ROOT")"
    exec 9>"$ROOT.lock"
    flock 9
    have_swift "$ROOT" && return 0   # built by a concurrent run meanwhile

    local start=$SECONDS stage="$ROOT.partial" mirror
    mirror="$(detect_mirror)"
    if [ -e "$ROOT" ]; then die "$ROOT exists but has no usr/bin/swift; remove it and rerun"; fi
    if [ "$USE_PROOT" = 1 ]; then ensure_host_pkg proot proot; fi
    ensure_host_pkg debootstrap debootstrap

    local keyring=()
    [ -f /usr/share/keyrings/debian-archive-keyring.gpg ] \
        && keyring=(--keyring=/usr/share/keyrings/debian-archive-keyring.gpg)

    if [ ! -f "$stage/.tether-debootstrap-done" ]; then
        if [ -e "$stage" ]; then
            mountpoint -q "$stage/proc" && die "$stage/proc is mounted; unmount it first"
            rm -rf --one-file-system "$stage"
        fi
        log "debootstrap $SUITE from $mirror into $stage (first run only; a few minutes)"
        local dlog="$stage.debootstrap.log"
        if [ "$USE_PROOT" = 1 ]; then
            # No mounts allowed: unpack only, then run the second stage under proot.
            # (In containers the first stage leaves proc as a symlink to /proc, which proot
            # cannot bind over; and the second stage must be told where its files are.)
            if ! debootstrap --variant=minbase --foreign "${keyring[@]}" "$SUITE" "$stage" "$mirror" >"$dlog" 2>&1 \
               || ! { if [ -L "$stage/proc" ]; then rm "$stage/proc"; mkdir "$stage/proc"; fi; } \
               || ! env -i PATH="$INNER_PATH" HOME=/root LANG=C.UTF-8 DEBOOTSTRAP_DIR=/debootstrap \
                    proot -0 -w / -r "$stage" -b /proc -b /dev -b /sys \
                    /debootstrap/debootstrap --second-stage >>"$dlog" 2>&1; then
                tail -n 30 "$dlog" >&2; die "debootstrap failed (log: $dlog)"
            fi
        else
            # In a private mount namespace, so debootstrap's own mounts (/proc, /sys, /dev in
            # containers) can never be left behind on the host if it fails midway.
            if ! unshare --mount --propagation private \
                    debootstrap --variant=minbase "${keyring[@]}" "$SUITE" "$stage" "$mirror" >"$dlog" 2>&1; then
                tail -n 30 "$dlog" >&2; die "debootstrap failed (log: $dlog)"
            fi
        fi
        rm -f "$dlog"
        touch "$stage/.tether-debootstrap-done"
    fi

    cp -L /etc/resolv.conf "$stage/etc/resolv.conf" 2>/dev/null || true
    # Nothing installed in the chroot may start a service.
    printf '#!/bin/sh\nexit 101\n' >"$stage/usr/sbin/policy-rc.d"
    chmod 755 "$stage/usr/sbin/policy-rc.d"

    log "installing ${PKGS[*]} in the chroot"
    local alog="$stage.apt.log"
    if ! ( WORKDIR=/ in_root "$stage" apt-get update -q \
           && WORKDIR=/ in_root "$stage" apt-get install -y -q --no-install-recommends "${PKGS[@]}" \
           && WORKDIR=/ in_root "$stage" apt-get clean ) >"$alog" 2>&1; then
        tail -n 30 "$alog" >&2; die "apt-get in the chroot failed (log: $alog)"
    fi
    rm -f "$alog"
    have_swift "$stage" || die "swiftlang installed but $stage/usr/bin/swift is missing"
    mkdir -p "$stage/work"

    mv "$stage" "$ROOT"
    log "ready in $((SECONDS - start)) s: $ROOT ($(du -sh --one-file-system "$ROOT" | cut -f1))"
}

# --------------------------------------------------------------------------------------------

USE_PROOT=0
if ! can_mount; then
    USE_PROOT=1
    [ "${TETHER_SWIFT_PROOT:-0}" = 1 ] || log "mounting refused here; using proot"
    ensure_host_pkg proot proot
fi

cmd="${1:-ensure}"
case "$cmd" in
    ensure)
        ensure
        ;;
    root)
        echo "$ROOT"
        ;;
    run)
        [ $# -ge 3 ] || die "usage: $0 run DIR CMD [ARG...]"
        dir="$(cd "$2" && pwd)" || die "no such folder: $2"
        shift 2
        ensure
        BIND_SRC="$dir" BIND_DST=/work WORKDIR=/work in_root "$ROOT" "$@"
        ;;
    -h|--help|help)
        sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
        ;;
    *)
        die "unknown subcommand: $cmd (ensure | run DIR CMD... | root)"
        ;;
esac
