#!/usr/bin/env bash
# Benchmark (issue 11): the 100,000-finding `evaluate` of bench-evaluate.sh, all six reports,
# with and without a full CISA KEV catalog (1,400 entries) and a full EPSS file (300,000 rows,
# gzip) plus --fail-on-epss. Prints the median wall time of each and their ratio (target ≤ 1.5).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
data="$root/target/bench-data"
risk="$root/target/bench-risk"
total=${BENCH_FINDINGS:-100000}
runs=${BENCH_RUNS:-7}
if [ ! -f "$data/basic.json" ] || [ "$(cat "$data/.total" 2>/dev/null)" != "$total" ]; then
  python3 scripts/gen-large-fixture.py "$data" "$total"
  echo "$total" > "$data/.total"
fi
# Regenerated daily: the EPSS file carries today's score_date, as a fresh download would.
if [ ! -f "$risk/epss_scores.csv.gz" ] || [ "$(cat "$risk/.date" 2>/dev/null)" != "$(date -u +%F)" ]; then
  python3 scripts/gen-risk-data.py "$risk"
  date -u +%F > "$risk/.date"
fi
cargo build --release --quiet
[ -x /usr/bin/time ] || apt-get install -y -qq time >/dev/null
bin="$root/target/release/ecr-scan-gate"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "findings: $total; KEV: $(du -h "$risk/known_exploited_vulnerabilities.json" | cut -f1)," \
  "EPSS: $(du -h "$risk/epss_scores.csv.gz" | cut -f1) gzip, $(zcat "$risk/epss_scores.csv.gz" | wc -l) lines"

# Prints "median_wall peak_rss_mib" of $runs runs of evaluate with the given extra flags.
measure() {
  local walls=() rss=0 wall r
  for _ in $(seq "$runs"); do
    /usr/bin/time -f "%e %M" -o "$out/time" "$bin" evaluate "$data/basic.json" "$data/enhanced.json" -q "$@" \
      -o console="$out/report.txt" -o json="$out/report.json" -o sarif="$out/report.sarif" \
      -o junit="$out/report.xml" -o markdown="$out/report.md" -o gitlab="$out/gl.json" || [ $? -eq 1 ]
    read -r wall r < <(tail -n 1 "$out/time")
    walls+=("$wall")
    [ "$r" -gt "$rss" ] && rss=$r
  done
  printf '%s %s\n' "$(printf '%s\n' "${walls[@]}" | sort -n | sed -n "$(( (runs + 1) / 2 ))p")" "$((rss / 1024))"
}

read -r plain plain_rss < <(measure)
read -r with with_rss < <(measure --kev "$risk/known_exploited_vulnerabilities.json" \
  --epss "$risk/epss_scores.csv.gz" --fail-on-epss 0.1)
violations=$(python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(sum(1 for i in r['images'] for f in i['findings'] if f['kev'] or (f['epss'] or 0) >= 0.1))" "$out/report.json")
echo "without KEV/EPSS: median ${plain}s, peak RSS ${plain_rss} MiB"
echo "with KEV/EPSS:    median ${with}s, peak RSS ${with_rss} MiB ($violations findings escalated by KEV or EPSS)"
awk -v a="$with" -v b="$plain" 'BEGIN { printf "ratio: %.2f (target <= 1.5)\n", a / b }'
