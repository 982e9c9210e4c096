#!/usr/bin/env bash
# A soak on loopback: the driver's random scenario against the sum service for about SECONDS
# (default 600), one request every 50 ms, 3 % of them bad sums: about 3 in each window of 5 s,
# so that the circuit opens and closes all along. Then the counts must add up: the driver
# decided once per request sent (its status lines), forwarded + rejected = sent (its summary
# against the scenario's length and its own lines), and the service logged exactly the
# requests the driver forwarded, with no log line dropped. Prints the counts, the state
# changes, and the memory of both programs; exits 1 if a count does not add up. Stops by itself.
# Usage: scripts/soak.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/service.sh

seconds="${1:-600}"
interval=0.05
requests=$((seconds * 20))
need curl curl

cargo build --release --locked -p sum-service -p driver
mkdir -p target/reliability
log=target/reliability/soak-sum-service.log
out=target/reliability/soak-driver.txt

start_service "$log"
before=$(rss_kib VmRSS)

# The driver's own peak memory, from GNU time when it is there.
timer=()
if [ -x /usr/bin/time ]; then
  timer=(/usr/bin/time -f 'driver peak RSS: %M KiB')
fi
status=0
started=$SECONDS
timeout $((seconds * 2 + 60)) "${timer[@]}" target/release/driver "$SERVICE_PORT" \
  --scenario random --requests "$requests" --interval "$interval" --error-rate 0.03 \
  --seed 2026 --color never >"$out" 2>target/reliability/soak-driver.err || status=$?

elapsed=$((SECONDS - started))
# Counted before GET /metrics, which the service logs too.
logged=$(grep -cE '^(GET|POST|HEAD) ' "$log" || true)
after=$(rss_kib VmRSS)
peak=$(rss_kib VmHWM)
dropped=$(metric sum_service_log_lines_dropped_total)

summary=$(grep '^Summary:' "$out") || {
  echo "the driver printed no summary (exit $status):" >&2
  tail -5 "$out" target/reliability/soak-driver.err >&2
  exit 1
}
read -r sent forwarded rejected < <(sed -E \
  's/^Summary: ([0-9]+) requests: ([0-9]+) forwarded.*, ([0-9]+) rejected\.$/\1 \2 \3/' <<<"$summary")
decided=$(grep -cE '^CIRCUIT ' "$out" || true)
rejected_lines=$(grep -cE '^CIRCUIT (FORCED )?OPEN' "$out" || true)
changes=$(grep -cE '^  .* -> ' "$out" || true)
opened=$(grep -cE '^  .*-> open' "$out" || true)

echo "Soak: ${seconds} s planned, $requests requests $interval s apart, seed 2026: the driver ran $elapsed s, exit code $status."
echo "$summary"
echo "Driver's status lines: $decided, of them $rejected_lines rejections."
echo "State changes: $changes ($opened times opened)."
echo "Service: $logged requests logged, $dropped log lines dropped; RSS before $((before / 1024)) MiB, after $((after / 1024)) MiB, peak $((peak / 1024)) MiB."
grep -h 'driver peak RSS' target/reliability/soak-driver.err || true

ok=1
if [ "$sent" -ne "$requests" ] || [ "$decided" -ne "$requests" ] ||
  [ "$((forwarded + rejected))" -ne "$requests" ] || [ "$rejected_lines" -ne "$rejected" ]; then
  echo "MISMATCH: $requests sent, $decided decisions printed ($rejected_lines rejections), summary: $forwarded forwarded + $rejected rejected = $sent" >&2
  ok=0
fi
if [ "$logged" -ne "$forwarded" ] || [ "$dropped" != 0 ]; then
  echo "MISMATCH: the service logged $logged (dropped $dropped), the driver forwarded $forwarded" >&2
  ok=0
fi
[ "$ok" = 1 ] && echo "Counts add up: forwarded + rejected = sent, and logged = forwarded."
[ "$ok" = 1 ]
