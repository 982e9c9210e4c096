#!/usr/bin/env bash
# Fleet mode, natively: a redis-server and the sum service in the background, then two drivers
# side by side sharing one circuit through Redis. One sends only bad sums, the other only good
# ones: the good one's circuit opens on the other's failures.
# Usage: scripts/fleet-demo.sh   (PORT=9090 REDIS_PORT=6390 to use other ports)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/service.sh

port="${PORT:-8080}"
redis_port="${REDIS_PORT:-6389}"
target="${CARGO_TARGET_DIR:-target}"
logs="$target/fleet-demo"

command -v redis-server >/dev/null || {
  echo "redis-server is required (Debian/Ubuntu: apt-get install redis-server)" >&2
  exit 1
}
cargo build --release --locked -p sum-service -p driver
mkdir -p "$logs"

pids=()
stop() {
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
}
trap stop EXIT
trap 'exit 130' INT TERM

start_redis "$redis_port" "$logs"
pids+=("$REDIS_PID")

"$target/release/sum-service" --port "$port" --host 127.0.0.1 >"$logs/sum-service.log" 2>&1 &
pids+=($!)
wait_port "$!" "$port" sum-service "$logs/sum-service.log"

redis="redis://127.0.0.1:$redis_port/"
common=(--redis "$redis" --name sum-service --scenario random --window 5 --threshold 3)
echo "Two drivers share the circuit \`sum-service\` through $redis (W = 5 s, T = 3)."
echo "[good] sends only good sums; [bad ] starts a second later and sends only bad ones."
echo
"$target/release/driver" "$port" "${common[@]}" --requests 26 --error-rate 0 --interval 0.3 --seed 1 \
  > >(sed -u 's/^/[good] /') 2>&1 &
good=$!
pids+=("$good")
sleep 1
"$target/release/driver" "$port" "${common[@]}" --requests 8 --error-rate 1 --interval 0.3 --seed 2 \
  > >(sed -u 's/^/[bad ] /') 2>&1 &
bad=$!
pids+=("$bad")
wait "$bad" || true
wait "$good" || true
sleep 0.2
echo
echo "The good driver sent no bad sum, yet its circuit opened (reason \`remote\`): the bad one's"
echo "failures tripped the circuit they share."
