#!/usr/bin/env bash
# The chaos soak (core/tests/chaos_soak.rs) for as long as asked: 10 clients through fault
# proxies to the official Node Socket.IO server under random cuts, resets, blackholes, latency
# spikes, refusals and server restarts. CI runs it for 60 s as part of the tests; this is the
# long run whose result goes into BENCHMARKS.md.
#
#   scripts/soak.sh --minutes 10 [--seed N]
#
# Prints a one-line JSON summary at the end (episodes, messages, duplicates suppressed,
# reconnects, memory samples); exits non-zero if any guarantee was broken.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

minutes=1
seed=""
while [ $# -gt 0 ]; do
    case "$1" in
        --minutes) minutes="$2"; shift 2 ;;
        --minutes=*) minutes="${1#*=}"; shift ;;
        --seed) seed="$2"; shift 2 ;;
        --seed=*) seed="${1#*=}"; shift ;;
        *) echo "usage: scripts/soak.sh [--minutes N] [--seed N]" >&2; exit 2 ;;
    esac
done
case "$minutes" in ''|*[!0-9]*) echo "soak.sh: --minutes needs a whole number" >&2; exit 2 ;; esac

bash scripts/install-deps.sh
export TETHER_SOAK_SECONDS=$((minutes * 60))
if [ -n "$seed" ]; then export TETHER_SOAK_SEED="$seed"; fi
exec cargo test -p tether-core --test chaos_soak -- --nocapture
