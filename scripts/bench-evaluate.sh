#!/usr/bin/env bash
# Benchmark (issues 3 and 19): `evaluate` writing all six reports, in three cases:
#   mixed          100,000 findings: 50,000 basic + 50,000 enhanced, two images
#   basic-only     100,000 basic findings, one image
#   enhanced-only  100,000 enhanced findings, one image
# Prints wall time and peak RSS of each (best of 5 runs, and the median wall time).
# Targets on the 2-core machine: < 1 s; peak RSS < 64 MB (mixed, basic-only), < 96 MB
# (enhanced-only).
# BENCH_FINDINGS sets the size of every case (default 100000). BENCH_BIN runs a binary already
# built (e.g. target/profiling/ecr-scan-gate from `cargo build --profile profiling`) instead of
# building the release one.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
total=${BENCH_FINDINGS:-100000}
# gen-large-fixture.py writes half its total as basic.json and half as enhanced.json: the mixed
# case is one set of TOTAL, the single-kind cases are the two files of a set of twice that.
mixed="$root/target/bench-data"
single="$root/target/bench-data-single"
generate() {
  if [ ! -f "$1/basic.json" ] || [ "$(cat "$1/.total" 2>/dev/null)" != "$2" ]; then
    python3 scripts/gen-large-fixture.py "$1" "$2"
    echo "$2" > "$1/.total"
  fi
}
generate "$mixed" "$total"
generate "$single" $((total * 2))
if [ -n "${BENCH_BIN:-}" ]; then
  bin=$BENCH_BIN
else
  cargo build --release --quiet
  bin="$root/target/release/ecr-scan-gate"
fi
[ -x /usr/bin/time ] || apt-get install -y -qq time >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

bench() {
  local name=$1
  shift
  echo "$name: $(du -ch "$@" | tail -n 1 | cut -f1) of input"
  local best="" walls=() wall rss run
  for run in 1 2 3 4 5; do
    # GNU time: %e wall seconds, %M peak RSS in KiB. Exit 1 (policy violation) is expected.
    /usr/bin/time -f "%e %M" -o "$out/time" "$bin" evaluate "$@" -q \
      -o console="$out/report.txt" -o json="$out/report.json" -o sarif="$out/report.sarif" \
      -o junit="$out/report.xml" -o markdown="$out/report.md" -o gitlab="$out/gl.json" || [ $? -eq 1 ]
    read -r wall rss < <(tail -n 1 "$out/time")
    echo "  run $run: wall ${wall}s, peak RSS $((rss / 1024)) MiB"
    walls+=("$wall")
    if [ -z "$best" ] || awk "BEGIN{exit !($wall < ${best%% *})}"; then best="$wall $rss"; fi
  done
  local median
  median=$(printf '%s\n' "${walls[@]}" | sort -n | sed -n 3p)
  read -r wall rss <<< "$best"
  summary+=("$name: best wall ${wall}s (median ${median}s), peak RSS $((rss / 1024)) MiB (reports: $(du -sh "$out" | cut -f1))")
}

summary=()
bench "mixed ($total findings)" "$mixed/basic.json" "$mixed/enhanced.json"
bench "basic-only ($total findings)" "$single/basic.json"
bench "enhanced-only ($total findings)" "$single/enhanced.json"
printf '%s\n' "${summary[@]}"
