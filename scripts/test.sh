#!/usr/bin/env bash
# Every test of the workspace: `cargo test --workspace`. Tests that need redis-server, `ip` or
# root say `skipped: ...` where those are missing, unless BREAKER_REQUIRE_SERVERS=1, which CI
# sets: then this script installs redis-server and iproute2 from Debian's packages (as root)
# and a missing one fails its tests.
# Usage: scripts/test.sh [cargo test options]   (BREAKER_REQUIRE_SERVERS=1 to require them)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/service.sh

if [ "${BREAKER_REQUIRE_SERVERS:-}" = 1 ]; then
  # The fleet-mode tests (crates breaker-redis and driver) start redis-server processes of their
  # own; the partition test makes network namespaces with `ip`.
  need redis-server redis-server
  need ip iproute2
  redis-server --version
fi
cargo test --workspace --locked "$@"
