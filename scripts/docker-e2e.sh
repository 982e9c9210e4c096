#!/usr/bin/env bash
# The Docker demo end to end: builds both images, starts the service container, runs the driver
# container against it with a 1 s window, and checks the circuit's transitions in its output.
# Every container it starts is removed, whatever happens. Loopback only; bounded in time.
set -euo pipefail
cd "$(dirname "$0")/.."

port="${E2E_PORT:-8080}"
driver_name="circuitbreaker-e2e-$$"
out="$(mktemp)"

cleanup() {
  docker rm -f "$driver_name" >/dev/null 2>&1 || true
  bash setup_script.sh --stop >/dev/null 2>&1 || true
  rm -f "$out"
}
trap cleanup EXIT

fail() {
  echo "docker-e2e: FAILED: $*" >&2
  echo "--- driver output ---" >&2
  cat "$out" >&2 || true
  echo "--- service log ---" >&2
  docker logs sum-service >&2 || true
  exit 1
}

bash setup_script.sh --detach --port "$port" "$@"

# Wait for the service (at most 10 s).
for _ in $(seq 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    break
  fi
  sleep 0.1
done

timeout 60 docker run --rm --name "$driver_name" --net=host circuitbreaker \
  driver "$port" --window 1 >"$out" 2>&1 || fail "the driver exited with status $?"
cat "$out"

grep -q '^CIRCUIT CLOSED: Requests will be forwarded to the microservice\.$' "$out" ||
  fail "no closed line"
grep -q '^CIRCUIT OPEN: Please wait [0-9.]* seconds to try again\.$' "$out" ||
  fail "no open line"
grep -q '^Summary: 16 requests: 12 forwarded (4 succeeded, 8 failed), 4 rejected\.$' "$out" ||
  fail "unexpected summary"
transitions="$(grep -Eo '(closed|open) -> (closed|open)' "$out" | tr '\n' ',')"
[ "$transitions" = "closed -> open,open -> closed,closed -> open," ] ||
  fail "unexpected transitions: $transitions"

log="$(docker logs sum-service 2>&1)"
answered="$(grep -Ec '^(GET|POST) ' <<<"$log" || true)"
[ "$answered" = 12 ] || fail "the service answered $answered requests, not the 12 forwarded"
grep -q ' 500 ' <<<"$log" || fail "no 500 in the service log"
grep -q ' 200 ' <<<"$log" || fail "no 200 in the service log"

user="$(docker image inspect --format '{{.Config.User}}' sum-service)"
[ -n "$user" ] && [ "${user%%:*}" != 0 ] || fail "sum-service runs as root"
user="$(docker image inspect --format '{{.Config.User}}' circuitbreaker)"
[ -n "$user" ] && [ "${user%%:*}" != 0 ] || fail "circuitbreaker runs as root"

echo "docker-e2e: ok (transitions: $transitions; the service answered $answered requests)"
