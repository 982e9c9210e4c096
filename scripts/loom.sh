#!/usr/bin/env bash
# The loom models of breaker's concurrent core (crates/breaker/tests/loom.rs): every interleaving
# of their threads, explored under `--cfg loom`.
# Usage: scripts/loom.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# A target directory of its own: `--cfg loom` rebuilds every crate, and the main build stays as
# it is. No default features: reqwest's networking does not build under `--cfg loom`.
RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}/loom" \
  cargo test -p breaker --release --no-default-features --test loom --locked
