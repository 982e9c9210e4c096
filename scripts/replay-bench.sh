#!/usr/bin/env bash
# breaker-replay's figures (BENCHMARKS.md, "Replay"): records per second of `check` (reading and
# parsing alone) and `run` (the same, through the breaker) on jsonl and on an nginx access log,
# the breaker's share of a run's time, a 100-setting sweep against one run, peak memory on ten
# times as many records, and Python's json.loads over the same lines.
#
# Every figure is the best of 3 runs: wall time and peak RSS of a child process, read with
# getrusage(RUSAGE_CHILDREN) in a fresh Python process around it, so that each peak is that
# child's. A child forked from Python starts with Python's own RSS, which is then a floor under
# that peak: the floor is measured too (the same around `true`), and where GNU time is installed
# it also reports the child's own peak, from a parent of a megabyte. The logs are made here
# (examples/make_traffic.rs, then converted to jsonl) in a temporary directory removed on exit.
#
# Usage: scripts/replay-bench.sh   (REPLAY_BENCH_RECORDS=100000 for a quick try: that many
# records, and ten times as many for the memory figures; default 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."

records="${REPLAY_BENCH_RECORDS:-1000000}"
[[ "$records" =~ ^[1-9][0-9]*$ ]] || {
  echo "REPLAY_BENCH_RECORDS must be a positive number of records" >&2
  exit 2
}
big=$((records * 10))
target="${CARGO_TARGET_DIR:-target}"

cargo build --release --locked -p breaker-replay --bin breaker-replay --example make_traffic
bin="$target/release/breaker-replay"

work="$(mktemp -d "${TMPDIR:-/tmp}/replay-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

# The access log's calls as jsonl: the logged time is the call's end (to the second) and the
# last field its request time, so the start is the one less the other, in whole milliseconds.
cat >"$work/to_jsonl.py" <<'EOF'
import calendar
import sys

MONTHS = {m: i + 1 for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split())}
seen = (None, 0)
write = sys.stdout.write
for line in sys.stdin:
    open_bracket = line.index("[")
    stamp = line[open_bracket + 1 : open_bracket + 21]  # 07/Dec/2026:10:00:00
    if stamp != seen[0]:
        day, month, rest = stamp.split("/")
        year, hour, minute, second = rest.split(":")
        end = calendar.timegm((int(year), MONTHS[month], int(day), int(hour), int(minute), int(second)))
        seen = (stamp, end)
    request_end = line.index('"', line.index('"') + 1)
    status = line[request_end + 2 : request_end + 5]
    took = line.rsplit(" ", 1)[1].strip()
    whole, millis = took.split(".")
    start = seen[1] * 1000 - (int(whole) * 1000 + int(millis))
    write('{"t":%d.%03d,"status":%s,"duration":%s}\n' % (start // 1000, start % 1000, status, took))
EOF

echo "== making $records and $big records"
cargo run --release --locked -q -p breaker-replay --example make_traffic "$records" >"$work/calls.log"
python3 "$work/to_jsonl.py" <"$work/calls.log" >"$work/calls.jsonl"
cargo run --release --locked -q -p breaker-replay --example make_traffic "$big" |
  python3 "$work/to_jsonl.py" >"$work/big.jsonl"

# One child, timed: prints its wall time (s), CPU time (s), peak RSS (KiB) by getrusage and,
# with GNU time, by GNU time, as one JSON line.
cat >"$work/measure.py" <<'EOF'
import json
import os
import resource
import subprocess
import sys
import time

command = sys.argv[1:]
gnu_time = os.environ.get("GNU_TIME")
peak_file = os.path.join(os.environ["WORK"], "peak.txt")
if gnu_time:
    command = [gnu_time, "-f", "%M", "-o", peak_file] + command
began = time.perf_counter()
done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
wall = time.perf_counter() - began
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
if done.returncode != 0:
    sys.exit("%s failed (%d): %s" % (" ".join(command), done.returncode, done.stderr.decode()))
own = None
if gnu_time:
    with open(peak_file) as f:
        own = int(f.read().split()[-1])
print(json.dumps({"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_kib": usage.ru_maxrss, "own_kib": own}))
EOF

# Python's own JSON parser over the same lines, the file read as ours reads it.
cat >"$work/json_loads.py" <<'EOF'
import json
import sys
import time

began = time.perf_counter()
lines = 0
with open(sys.argv[1], "rb") as f:
    for line in f:
        json.loads(line)
        lines += 1
print(json.dumps({"wall": time.perf_counter() - began, "lines": lines}))
EOF

cat >"$work/bench.py" <<'EOF'
import json
import os
import platform
import subprocess
import sys

work, binary, records, big = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
REPEATS = 3
WINDOWS = "1,2,5,10,15,20,30,45,60,120"
THRESHOLDS = "1,2,3,5,10,20,50,100,200,500"


def best(command):
    """The best wall time of REPEATS runs with that run's CPU time, and the lowest peak RSS."""
    runs = []
    for _ in range(REPEATS):
        done = subprocess.run(
            [sys.executable, os.path.join(work, "measure.py")] + command,
            capture_output=True, text=True,
        )
        if done.returncode != 0:
            sys.exit(done.stderr)
        runs.append(json.loads(done.stdout))
    fastest = min(runs, key=lambda r: r["wall"])
    own = [r["own_kib"] for r in runs if r["own_kib"] is not None]
    return {
        "wall": fastest["wall"],
        "cpu": fastest["cpu"],
        "rss_mib": min(r["rss_kib"] for r in runs) / 1024,
        "own_mib": min(own) / 1024 if own else None,
    }


def peak(f):
    """The peak as the table shows it: GNU time's when there is one, else getrusage's."""
    return f["own_mib"] if f["own_mib"] is not None else f["rss_mib"]


def path(name):
    return os.path.join(work, name)


run_flags = ["--window", "5", "--threshold", "3", "--json"]
sweep_flags = ["--window", WINDOWS, "--threshold", THRESHOLDS, "--json"]
figures = {"floor": best(["true"])}
for fmt, name in (("jsonl", "calls.jsonl"), ("clf", "calls.log")):
    figures["check " + fmt] = best([binary, "check", path(name), "--format", fmt, "--json"])
    figures["run " + fmt] = best([binary, "run", path(name), "--format", fmt] + run_flags)
figures["sweep jsonl"] = best([binary, "sweep", path("calls.jsonl")] + sweep_flags)
figures["run big"] = best([binary, "run", path("big.jsonl")] + run_flags)
figures["sweep big"] = best([binary, "sweep", path("big.jsonl")] + sweep_flags)
loads = []
for _ in range(REPEATS):
    out = subprocess.run(
        [sys.executable, os.path.join(work, "json_loads.py"), path("calls.jsonl")],
        check=True, capture_output=True, text=True,
    ).stdout
    loads.append(json.loads(out))
python = min(loads, key=lambda r: r["wall"])
assert python["lines"] == records, python


def per_second(n, seconds):
    return "%.2f M/s" % (n / seconds / 1e6)


def verdict(ok):
    return "yes" if ok else "no"


rows = []
for fmt in ("jsonl", "clf"):
    for command in ("check", "run"):
        f = figures[command + " " + fmt]
        rows.append((
            "%s %s, records/s" % (command, fmt),
            "%s  (%.3f s, cpu %.3f s, peak %.1f MiB)" % (per_second(records, f["wall"]), f["wall"], f["cpu"], peak(f)),
            "",
        ))
for fmt in ("jsonl", "clf"):
    check, run = figures["check " + fmt], figures["run " + fmt]
    rows.append((
        "breaker's share of run, %s" % fmt,
        "%.0f %% of wall time (1 - check/run); %.0f %% of cpu time" % (100 * (1 - check["wall"] / run["wall"]), 100 * (1 - check["cpu"] / run["cpu"])),
        "",
    ))
sweep, run = figures["sweep jsonl"], figures["run jsonl"]
ratio = sweep["wall"] / run["wall"]
rows.append((
    "sweep of 100 settings / one run, jsonl",
    "%.2fx  (%.3f s against %.3f s; cpu %.3f s)" % (ratio, sweep["wall"], run["wall"], sweep["cpu"]),
    "at most 3x: %s" % verdict(ratio <= 3),
))
floor = figures["floor"]["rss_mib"]
for command in ("run", "sweep"):
    f = figures[command + " big"]
    by = "GNU time; getrusage %.1f MiB" % f["rss_mib"] if f["own_mib"] is not None else "getrusage"
    rows.append((
        "peak RSS of %s, %d records" % (command, big),
        "%.1f MiB by %s  (%.2f s, %s)" % (peak(f), by, f["wall"], per_second(big, f["wall"])),
        "under 100 MiB: %s" % verdict(max(peak(f), f["rss_mib"]) < 100),
    ))
rows.append(("getrusage's floor (around `true`)", "%.1f MiB  (Python's RSS, which a forked child starts with)" % floor, ""))
python_rate = records / python["wall"]
rows.append(("python3 json.loads, lines/s", "%s  (%.3f s)" % (per_second(records, python["wall"]), python["wall"]), ""))
for command in ("check", "run"):
    ours = records / figures[command + " jsonl"]["wall"]
    rows.append((
        "%s jsonl / json.loads" % command,
        "%.1fx" % (ours / python_rate),
        "at least 5x: %s" % verdict(ours / python_rate >= 5),
    ))

print()
print("breaker-replay, %d records (best of %d), %s, python %s" % (records, REPEATS, platform.machine(), platform.python_version()))
print()
width = [max(len(r[i]) for r in rows) for i in range(3)]
header = ("figure", "measured", "target")
print("| " + " | ".join(h.ljust(w) for h, w in zip(header, width)) + " |")
print("|" + "|".join("-" * (w + 2) for w in width) + "|")
for row in rows:
    print("| " + " | ".join(c.ljust(w) for c, w in zip(row, width)) + " |")
EOF

echo "== machine"
grep -m1 'model name' /proc/cpuinfo 2>/dev/null || true
echo "cores: $(nproc 2>/dev/null || echo '?')"
echo "before: $(uptime)"
gnu_time=""
if /usr/bin/time --version 2>&1 | grep -q GNU; then gnu_time=/usr/bin/time; fi
GNU_TIME="$gnu_time" WORK="$work" python3 "$work/bench.py" "$work" "$bin" "$records" "$big"
echo
echo "after: $(uptime)"
