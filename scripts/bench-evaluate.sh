#!/usr/bin/env bash
# Benchmark (issue 3): `evaluate` over 100,000 findings (50,000 basic + 50,000 enhanced) writing
# all six reports. Prints wall time and peak RSS of the release binary.
# Target on the 2-core machine: < 1 s and < 100 MB.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
data="$root/target/bench-data"
total=${BENCH_FINDINGS:-100000}
if [ ! -f "$data/basic.json" ] || [ "$(cat "$data/.total" 2>/dev/null)" != "$total" ]; then
  python3 scripts/gen-large-fixture.py "$data" "$total"
  echo "$total" > "$data/.total"
fi
cargo build --release --quiet
[ -x /usr/bin/time ] || apt-get install -y -qq time >/dev/null
bin="$root/target/release/ecr-scan-gate"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "input: $(du -sh "$data/basic.json" | cut -f1) basic + $(du -sh "$data/enhanced.json" | cut -f1) enhanced, $total findings"
best=""
walls=()
for run in 1 2 3 4 5; do
  # GNU time: %e wall seconds, %M peak RSS in KiB. Exit 1 (policy violation) is expected.
  /usr/bin/time -f "%e %M" -o "$out/time" "$bin" evaluate "$data/basic.json" "$data/enhanced.json" -q \
    -o console="$out/report.txt" -o json="$out/report.json" -o sarif="$out/report.sarif" \
    -o junit="$out/report.xml" -o markdown="$out/report.md" -o gitlab="$out/gl.json" || [ $? -eq 1 ]
  read -r wall rss < <(tail -n 1 "$out/time")
  echo "run $run: wall ${wall}s, peak RSS $((rss / 1024)) MiB"
  walls+=("$wall")
  if [ -z "$best" ] || awk "BEGIN{exit !($wall < ${best%% *})}"; then best="$wall $rss"; fi
done
median=$(printf '%s\n' "${walls[@]}" | sort -n | sed -n 3p)
read -r wall rss <<< "$best"
echo "best: wall ${wall}s (median ${median}s), peak RSS $((rss / 1024)) MiB (reports: $(du -sh "$out" | cut -f1))"
