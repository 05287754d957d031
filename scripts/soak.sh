#!/usr/bin/env bash
# The chaos soaks for as long as asked, one after the other, each 10 clients through fault
# proxies under random cuts, resets, blackholes, latency spikes, refusals and server restarts:
#   - core/tests/chaos_soak.rs: to the official Node Socket.IO server, numbered messages sent
#     at-least-once and relayed to a room;
#   - core/tests/chaos_soak_phoenix.rs: the same on a Supabase-shaped Phoenix channel of the
#     Phoenix test server, with crashes of the channel itself among the faults;
#   - core/tests/chaos_soak_reference.rs: to the reference server (examples/reference-server),
#     through the collaboration helpers: rooms, presence, versioned fields, optimistic updates.
# CI runs each for 60 s as part of the tests; this is the long run whose results go into
# BENCHMARKS.md. All use the same seed.
#
#   scripts/soak.sh --minutes 10 [--seed N]
#
# Each prints a one-line JSON summary at the end (episodes, messages or writes, duplicates,
# reconnects, memory samples); the script exits non-zero if any guarantee was broken in any
# (all run even if one fails).
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
exec cargo test -p tether-core --no-fail-fast --test chaos_soak --test chaos_soak_phoenix \
    --test chaos_soak_reference \
    -- --nocapture
