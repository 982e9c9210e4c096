#!/usr/bin/env bash
# Coverage-guided fuzzing (cargo-fuzz, libFuzzer) of the sum service's body parsers, of the
# breaker against its reference model, and of breaker-replay's readers and replay: each target
# runs for a bounded time with one worker, then its figures are printed. Fails, with the crash
# input's path, if any target crashed.
#
# Usage: scripts/fuzz.sh [seconds-per-target] [target...]   (default: 120 s, every target)
#
# cargo-fuzz needs nightly compiler flags; RUSTC_BOOTSTRAP=1 lets the stable toolchain take them.
# No sanitizer (`-s none`): every crate here forbids `unsafe`, so AddressSanitizer would cost
# speed and find nothing safe Rust does not already check. Debug assertions and overflow checks
# stay on (cargo-fuzz's default). FUZZ_TARGET_DIR sets the build directory (default fuzz/target).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-120}"
shift || true
targets=("$@")
case "$seconds" in
  '' | *[!0-9]*) echo "seconds-per-target must be a whole number, not '$seconds'" >&2; exit 2 ;;
esac

export RUSTC_BOOTSTRAP=1
if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
# Every target: the fuzz crate's binaries, as fuzz/Cargo.toml lists them.
if [ "${#targets[@]}" -eq 0 ]; then
  list="$(cargo fuzz list)"
  mapfile -t targets <<<"$list"
fi

target_dir="${FUZZ_TARGET_DIR:-fuzz/target}"
logs="$target_dir/logs"
mkdir -p "$logs"
fuzz=(-s none --target-dir "$target_dir")

for t in "${targets[@]}"; do
  cargo fuzz build "${fuzz[@]}" "$t"
done

# The dictionary of each target, if it has one.
dict_of() {
  case "$1" in
    sum_form) echo fuzz/dicts/form.dict ;;
    sum_json) echo fuzz/dicts/json.dict ;;
    replay_read) echo fuzz/dicts/replay_read.dict ;;
  esac
}

# The value of `name` in libFuzzer's final stats (`-print_final_stats=1`).
stat() {
  sed -n "s/^stat::$1: *\([0-9]*\).*/\1/p" "$2" | tail -n 1
}

failed=()
rows=()
for t in "${targets[@]}"; do
  corpus="fuzz/corpus/$t"
  mkdir -p "$corpus" "fuzz/artifacts/$t"
  log="$logs/$t.log"
  args=(-max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048)
  # A few hand-written seeds, read but never written to.
  seeds=()
  if [ -d "fuzz/seeds/$t" ]; then
    seeds=("fuzz/seeds/$t")
  fi
  dict="$(dict_of "$t")"
  if [ -n "$dict" ]; then
    args+=(-dict="$dict")
  fi
  echo "fuzzing $t for ${seconds}s (log: $log)"
  started=$(date +%s)
  status=0
  # -max_total_time stops libFuzzer; the outer timeout is only a guard against a hang.
  timeout -k 30 $((seconds + 300)) \
    cargo fuzz run "${fuzz[@]}" --jobs 1 "$t" "$corpus" "${seeds[@]}" -- "${args[@]}" >"$log" 2>&1 || status=$?
  took=$(($(date +%s) - started))

  execs="$(stat number_of_executed_units "$log")"
  rate="$(stat average_exec_per_sec "$log")"
  # The last status line: "#N DONE cov: C ft: F corp: U/S ..." (or the last one before a crash).
  last="$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)"
  cov="$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")"
  ft="$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")"
  units="$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' <<<"$last")"
  files="$(find "$corpus" -type f | wc -l)"
  crash="$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)"
  crashes=0
  if [ "$status" -ne 0 ] || [ -n "$crash" ]; then
    crashes=1
    failed+=("$t: ${crash:-exit status $status, see $log}")
    tail -n 40 "$log" >&2
  fi
  rows+=("$(printf '%-14s %6ss %12s %9s %8s %8s %6s %7s %7s' "$t" "$took" "${execs:-?}" \
    "${rate:-?}" "$files" "${units:-?}" "${cov:-?}" "${ft:-?}" "$crashes")")
done

echo
# corpus: files in fuzz/corpus/<target>; units: libFuzzer's corpus at the end (seeds included).
printf '%-14s %7s %12s %9s %8s %8s %6s %7s %7s\n' \
  target time executions exec/s corpus units cov ft crashes
for row in "${rows[@]}"; do
  echo "$row"
done
if [ "${#failed[@]}" -gt 0 ]; then
  echo >&2
  for f in "${failed[@]}"; do
    echo "crash: $f" >&2
  done
  exit 1
fi
