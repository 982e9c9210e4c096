#!/usr/bin/env bash
# The demo drawn, and the tuning loop on it: the demo as usual with its picture (docs/demo.svg),
# then the demo in shadow mode with a trace of every request, then that trace replayed through
# the real breaker, which finds the demo's changes and its 4 rejected requests.
# Usage: scripts/demo-svg.sh   (PORT=9090 to use another port)
set -euo pipefail
cd "$(dirname "$0")/.."

mkdir -p docs target
cargo build --release --locked -p breaker-replay

echo "==> the demo, drawn to docs/demo.svg"
bash scripts/demo.sh --svg docs/demo.svg

echo
echo "==> the demo in shadow mode: every request forwarded, each traced"
bash scripts/demo.sh --shadow --trace target/demo-trace.jsonl

echo
echo "==> the trace replayed with the demo's settings"
target/release/breaker-replay run target/demo-trace.jsonl --window 5 --threshold 3
