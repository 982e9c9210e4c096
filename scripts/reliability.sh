#!/usr/bin/env bash
# Every reliability check of RELIABILITY.md, one after the other, each bounded: the fault and
# hostile-peer tests, the loom models, the fuzzers, the load test and the soak. About 20 minutes
# with the defaults. Shorter runs: FUZZ_SECONDS (a target, default 60), LOAD_SECONDS (a route,
# default 20), SOAK_SECONDS (default 600).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "fault and hostile-peer tests"
cargo test --locked -p breaker --features reqwest --test http --test core -- faults:: regression:: concurrency::
cargo test --locked -p driver --test all -- faults::
cargo test --locked -p sum-service --test api --test bodies --test binary --test http1

step "loom models of the concurrent core"
bash scripts/loom.sh

step "fuzzing, ${FUZZ_SECONDS:-60} s a target"
bash scripts/fuzz.sh "${FUZZ_SECONDS:-60}"

step "load, ${LOAD_SECONDS:-20} s a route"
bash scripts/load.sh "${LOAD_SECONDS:-20}"

step "soak, ${SOAK_SECONDS:-600} s"
bash scripts/soak.sh "${SOAK_SECONDS:-600}"
