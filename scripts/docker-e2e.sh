#!/usr/bin/env bash
# The Docker demo end to end: builds both images, starts the service container, runs the driver
# container against it with a 1 s window under each command line people type, and checks every
# line it prints and the requests the service answered.
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

# What the demo prints with W = 1 s, request for request, the waits written as S: the original's
# requests and values, whatever the command line.
expected="$(cat <<'EOF'
CIRCUIT CLOSED: Requests will be forwarded to the microservice.
Number summator healthy.
CIRCUIT CLOSED: Requests will be forwarded to the microservice.
The value is: 57
CIRCUIT CLOSED: Requests will be forwarded to the microservice.
There was a problem with your request. Please resubmit your request.
CIRCUIT CLOSED: Requests will be forwarded to the microservice.
There was a problem with your request. Please resubmit your request.
CIRCUIT CLOSED: Requests will be forwarded to the microservice.
There was a problem with your request. Please resubmit your request.
CIRCUIT CLOSED: Requests will be forwarded to the microservice.
There was a problem with your request. Please resubmit your request.
CIRCUIT OPEN: Please wait S seconds to try again.
Service unavailable, please try again later.
CIRCUIT OPEN: Please wait S seconds to try again.
Service unavailable, please try again later.
CIRCUIT OPEN: Please wait S seconds to try again.
Service unavailable, please try again later.
CIRCUIT CLOSED: Requests will be forwarded to the microservice.
There was a problem with your request. Please resubmit your request.
CIRCUIT CLOSED: Requests will be forwarded to the microservice.
The value is: 133
CIRCUIT CLOSED: Requests will be forwarded to the microservice.
The value is: 68
CIRCUIT CLOSED: Requests will be forwarded to the microservice.
There was a problem with your request. Please resubmit your request.
CIRCUIT CLOSED: Requests will be forwarded to the microservice.
There was a problem with your request. Please resubmit your request.
CIRCUIT CLOSED: Requests will be forwarded to the microservice.
There was a problem with your request. Please resubmit your request.
CIRCUIT OPEN: Please wait S seconds to try again.
Service unavailable, please try again later.

Summary: 16 requests: 12 forwarded (4 succeeded, 8 failed), 4 rejected.
Rules: more than 3 failures in 1 s.
State changes:
closed -> open  (failure_count)
open -> closed  (window_emptied)
closed -> open  (failure_count)
EOF
)"

answered() { docker logs sum-service 2>&1 | grep -Ec '^(GET|POST) ' || true; }

# Runs one command line of the driver's image (the words after `docker run`) with a 1 s window,
# and checks what it printed, and that the service answered the 12 requests it forwarded and no
# others.
check() {
  local before after got
  before="$(answered)"
  echo "--- docker run $* --window 1"
  timeout 60 docker run --rm --name "$driver_name" "$@" --window 1 >"$out" 2>&1 ||
    fail "'$*' exited with status $?"
  cat "$out"
  # Without colour and carriage returns (a `-t` run has both), the waits as S, the times of the
  # state changes left out.
  got="$(sed -e 's/\x1b\[[0-9;]*m//g' -e 's/\r$//' \
    -e 's/^CIRCUIT OPEN: Please wait [0-9]*\.[0-9][0-9] seconds/CIRCUIT OPEN: Please wait S seconds/' \
    -e 's/^ *[0-9]*\.[0-9]*s  //' "$out")"
  [ "$got" = "$expected" ] ||
    fail "'$*' printed other lines than the demo's: $(diff <(echo "$expected") <(echo "$got") || true)"
  after="$(answered)"
  [ "$((after - before))" = 12 ] ||
    fail "'$*': the service answered $((after - before)) requests, not the 12 forwarded"
}

# The command lines people type: this project's own, the brief's, and the original demo's.
check -t --net=host circuitbreaker driver "$port"
check --net=host circuitbreaker python-free driver "$port"
check -t --net=host circuitbreaker:latest python main.py "$port"

# A leading word the image does not know is a clear error, not a silent default.
if docker run --rm --net=host circuitbreaker ruby main.rb "$port" >"$out" 2>&1; then
  fail "an unknown command line was accepted"
fi
grep -q '^driver: reading the command line: `ruby` is neither a port nor a command' "$out" ||
  fail "no clear error for an unknown command line"
[ "$(answered)" = 36 ] || fail "the service answered $(answered) requests in all, not 36"

log="$(docker logs sum-service 2>&1)"
grep -q ' 500 ' <<<"$log" || fail "no 500 in the service log"
grep -q ' 200 ' <<<"$log" || fail "no 200 in the service log"

user="$(docker image inspect --format '{{.Config.User}}' sum-service)"
[ -n "$user" ] && [ "${user%%:*}" != 0 ] || fail "sum-service runs as root"
user="$(docker image inspect --format '{{.Config.User}}' circuitbreaker)"
[ -n "$user" ] && [ "${user%%:*}" != 0 ] || fail "circuitbreaker runs as root"

echo "docker-e2e: ok (three command lines, each the demo's 16 requests; the service answered $(answered))"
