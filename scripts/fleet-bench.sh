#!/usr/bin/env bash
# Fleet mode's figures (BENCHMARKS.md, "Fleet mode"): admission in fleet mode against plain mode
# (criterion), failure-to-open latency across members and failures published per second
# (examples/fleet_figures.rs), and the requests a fleet of 4 drivers saves a failing service
# against 4 independent breakers. Starts its own redis-server and sum service; stops them on exit.
# Usage: scripts/fleet-bench.sh   (PORT=9091 REDIS_PORT=6391 to use other ports)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/service.sh

port="${PORT:-8081}"
redis_port="${REDIS_PORT:-6391}"
target="${CARGO_TARGET_DIR:-target}"
logs="$target/fleet-bench"

command -v redis-server >/dev/null || { echo "redis-server is required" >&2; exit 1; }
cargo build --release --locked -p sum-service -p driver
cargo build --release --locked -p breaker-redis --example fleet_figures
mkdir -p "$logs"

pids=()
stop() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap stop EXIT
trap 'exit 130' INT TERM

start_redis "$redis_port" "$logs"
pids+=("$REDIS_PID")
"$target/release/sum-service" --port "$port" --host 127.0.0.1 >"$logs/sum-service.log" 2>&1 &
pids+=($!)
wait_port "$!" "$port" sum-service
redis="redis://127.0.0.1:$redis_port/"

echo "== admission: fleet mode against plain mode (criterion)"
cargo bench --locked -p breaker-bench --bench fleet -- --warm-up-time 1 --measurement-time 3 2>&1 |
  grep -E '^fleet_admission|time:' || true

echo
echo "== failure -> open across members, failures published per second"
"$target/release/examples/fleet_figures" "$redis"

# Four drivers, every request a bad sum (the service fails them all), W = 5 s, T = 3, 80
# requests each, 0.1 s apart. The total forwarded is what the failing service had to answer.
run_four() {
  local total=0 out
  for i in 1 2 3 4; do
    "$target/release/driver" "$port" --scenario random --error-rate 1 --requests 80 \
      --interval 0.1 --window 5 --threshold 3 --seed "$i" "$@" >"$logs/driver-$i.txt" 2>&1 &
    pids+=($!)
  done
  wait "${pids[@]:2}" 2>/dev/null || true
  pids=("${pids[@]:0:2}")
  for i in 1 2 3 4; do
    out=$(grep -oE '[0-9]+ forwarded' "$logs/driver-$i.txt" | grep -oE '[0-9]+')
    total=$((total + out))
  done
  echo "$total"
}
echo
echo "== requests a failing service receives from 4 drivers (80 requests each, over 8 s)"
independent=$(run_four)
fleet=$(run_four --redis "$redis" --name "bench-$$")
echo "4 independent breakers: $independent forwarded"
echo "a fleet of 4:           $fleet forwarded"
echo "saved by the fleet:     $((independent - fleet)) of $independent"
