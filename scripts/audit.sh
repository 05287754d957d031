#!/usr/bin/env bash
# Supply-chain checks with cargo-deny (config: deny.toml at the repository root):
#   licenses  every crate's license is on the allow list
#   bans      no rust_socketio, backoff, openssl/native-tls in the graph (benchmarks excluded)
#   sources   crates come from crates.io only
#   advisories  RustSec advisories and yanked crates
#
#   scripts/audit.sh
#
# Installs cargo-deny from crates.io when missing. The advisory database is a git repository on
# GitHub, which some machines (this project's among them) cannot reach. Then the advisories
# check runs offline (--offline) against a copy already in $CARGO_HOME/advisory-dbs if
# there is one (a clone of github.com/rustsec/advisory-db put there by hand works), and is
# SKIPPED with a warning if not. TETHER_REQUIRE_ADVISORIES=1 makes a skipped check an error.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! cargo deny --version >/dev/null 2>&1; then
    echo "== Installing cargo-deny (crates.io)"
    cargo install cargo-deny --locked --quiet
fi

echo "== cargo deny: licenses, bans, sources"
cargo deny --log-level warn check licenses bans sources

echo "== cargo deny: advisories"
# cargo-deny keeps its clone of the database in $CARGO_HOME/advisory-dbs (deny.toml's default).
db_home="${CARGO_HOME:-$HOME/.cargo}/advisory-dbs"
if cargo deny --log-level error fetch db >/dev/null 2>&1; then
    cargo deny --log-level warn --offline check advisories
elif compgen -G "$db_home/*/advisories" >/dev/null; then
    echo "WARNING: the RustSec advisory database (GitHub) is unreachable; checking against the" >&2
    echo "         copy in $db_home, which may be out of date." >&2
    cargo deny --log-level warn --offline check advisories
else
    echo "WARNING: the RustSec advisory database (GitHub) is unreachable from here and there is" >&2
    echo "         no local copy in $db_home: advisories were NOT checked." >&2
    echo "         Licenses, bans and sources were." >&2
    if [ "${TETHER_REQUIRE_ADVISORIES:-0}" = 1 ]; then
        exit 1
    fi
fi
echo "== audit passed"
