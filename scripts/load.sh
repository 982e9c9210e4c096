#!/usr/bin/env bash
# A bounded load test of the sum service on loopback: wrk against POST /sum (a good form sum)
# and GET /health, each for SECONDS (default 20) with CONNECTIONS (default 64) connections on
# 2 threads. Prints, per route: requests/s, p50 and p99 latency, errors (socket errors and
# statuses other than 200), and the service's memory before and after. Stops by itself.
# Usage: scripts/load.sh [SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/service.sh

seconds="${1:-20}"
connections="${2:-64}"
need wrk wrk
need curl curl

cargo build --release --locked -p sum-service
mkdir -p target/reliability
log=target/reliability/load-sum-service.log
script=target/reliability/load.lua

# wrk's script: the request to send, and a last line of figures in a fixed form to read back.
# Latency is kept by wrk in microseconds.
cat >"$script" <<'LUA'
local body = os.getenv("LOAD_BODY")
if body ~= nil and body ~= "" then
  wrk.method = "POST"
  wrk.body = body
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "FIGURES requests=%d seconds=%.2f p50_us=%d p99_us=%d max_us=%d status_errors=%d socket_errors=%d\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(99),
    latency.max, e.status, e.connect + e.read + e.write + e.timeout))
end
LUA

start_service "$log"
before=$(rss_kib VmRSS)

rows=()
run() { # run NAME PATH BODY
  local out figures
  out=$(LOAD_BODY="$3" timeout $((seconds + 30)) \
    wrk -t2 -c"$connections" -d"${seconds}s" --timeout 5s -s "$script" \
    "http://127.0.0.1:$SERVICE_PORT$2")
  figures=$(grep '^FIGURES' <<<"$out") || {
    echo "wrk gave no figures:" >&2
    echo "$out" >&2
    exit 1
  }
  # shellcheck disable=SC2086 # the figures are words of the form key=value
  local $(sed 's/^FIGURES //' <<<"$figures")
  rows+=("$(awk -v name="$1" -v r="$requests" -v s="$seconds" -v p50="$p50_us" -v p99="$p99_us" \
    -v mx="$max_us" -v se="$status_errors" -v so="$socket_errors" 'BEGIN {
      printf "| %s | %d | %.0f | %.2f | %.2f | %.2f | %d |", name, r, r / s, p50 / 1000, p99 / 1000,
        mx / 1000, se + so }')")
}

run "POST /sum" /sum "value1=44&value2=13"
run "GET /health" /health ""

after=$(rss_kib VmRSS)
peak=$(rss_kib VmHWM)
healthy=$(curl -s -m 5 "http://127.0.0.1:$SERVICE_PORT/health" || true)
dropped=$(metric sum_service_log_lines_dropped_total)

echo
echo "Load: ${seconds} s a route, $connections connections, wrk on 2 threads, same machine (loopback)."
echo
echo "| route | requests | requests/s | p50 ms | p99 ms | max ms | errors |"
echo "|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
echo "Memory of the service (RSS): before $((before / 1024)) MiB, after $((after / 1024)) MiB, peak $((peak / 1024)) MiB."
echo "Request-log lines dropped under load: $dropped. GET /health afterwards: ${healthy:-no answer}"
[ -n "$healthy" ]
