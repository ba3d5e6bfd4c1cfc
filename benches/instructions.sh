#!/usr/bin/env bash
# Instruction counts of one answer save through the whole service and of one report render,
# with valgrind's callgrind. A measure runs each program twice, with LOW and HIGH repetitions,
# and divides the difference by HIGH - LOW, so that start-up cancels out. Counts do not depend
# on what else the machine is doing, as wall-clock times (which vary by twenty per cent) do.
#
# The save's count still moves by up to about 3 % between runs of one build (timers driven by
# the wall clock, which valgrind slows down), so the script repeats each measure RUNS times and
# prints the median and the range.
#
#   benches/instructions.sh                        # 10 and 110 repetitions, 3 runs; a Markdown table
#   LOW=1 HIGH=2 RUNS=1 benches/instructions.sh    # a smoke run (.ci/run)
set -euo pipefail
cd "$(dirname "$0")/.."
LOW=${LOW:-10}
HIGH=${HIGH:-110}
RUNS=${RUNS:-3}
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "RUNS must be a positive whole number, not '$RUNS'" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "valgrind is missing (apt-get install valgrind)" >&2; exit 1; }

bin=$(cargo bench --locked --bench instructions --no-run --message-format=json 2>/dev/null |
  python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "instructions" and m.get("executable"):
        print(m["executable"])' | tail -1)
[ -x "$bin" ] || { echo "the instructions benchmark did not build" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

count() { # kind repetitions -> instructions of the whole run
  local file="$out/$1-$2"
  valgrind --tool=callgrind --callgrind-out-file="$file.out" "$bin" "$1" "$2" >"$file.log" 2>&1 ||
    { cat "$file.log" >&2; return 1; }
  awk '/^(summary|totals):/ { print $2; exit }' "$file.out"
}

echo "| operation | instructions per operation (median) | range over $RUNS runs |"
echo "|---|---:|---|"
for kind in save report; do
  pers=()
  for _ in $(seq 1 "$RUNS"); do
    low=$(count "$kind" "$LOW")
    high=$(count "$kind" "$HIGH")
    pers+=($(( (high - low) / (HIGH - LOW) )))
  done
  sorted=($(printf '%s\n' "${pers[@]}" | sort -n))
  n=${#sorted[@]}
  # The middle value, or the mean of the two middle values for an even number of runs.
  median=$(( (sorted[(n - 1) / 2] + sorted[n / 2]) / 2 ))
  label=$([ "$kind" = save ] && echo "answer save (HTTP, SQLite)" || echo "report render (59 criteria)")
  fmt() { printf "%'d" "$1" 2>/dev/null || echo "$1"; }
  printf '| %s | %s | %s – %s |\n' "$label" "$(fmt "$median")" "$(fmt "${sorted[0]}")" \
    "$(fmt "${sorted[n - 1]}")"
done
