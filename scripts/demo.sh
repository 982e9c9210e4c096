#!/usr/bin/env bash
# The demo without Docker: the sum service in the background, the driver in front of it.
# Usage: scripts/demo.sh [driver options]   (PORT=9090 scripts/demo.sh to use another port)
set -euo pipefail
cd "$(dirname "$0")/.."

port="${PORT:-8080}"
log="target/demo-sum-service.log"

cargo build --release --locked -p sum-service -p driver

mkdir -p target
target/release/sum-service --port "$port" --host 127.0.0.1 >"$log" 2>&1 &
service=$!
stop() {
  if kill -0 "$service" 2>/dev/null; then
    kill -TERM "$service" 2>/dev/null || true
    wait "$service" 2>/dev/null || true
  fi
}
trap stop EXIT
trap 'exit 130' INT TERM

# Wait until the service answers (at most 10 s), or stop if it could not start.
for _ in $(seq 100); do
  if ! kill -0 "$service" 2>/dev/null; then
    echo "sum-service did not start (is port $port in use? try PORT=9090 make demo):" >&2
    cat "$log" >&2
    exit 1
  fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    break
  fi
  sleep 0.1
done

target/release/driver "$port" "$@"

stop
echo
echo "sum-service's log of the same run:"
cat "$log"
