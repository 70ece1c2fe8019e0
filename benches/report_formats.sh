#!/usr/bin/env bash
# Every output format on one trace with N distinct findings (default 500,000):
# `benches/pathological.py findings N` (SYNTHETIC), then for each format
# `handlecheck analyze --format F --max-results 0 -o OUT`, with wall, user and
# system seconds and peak RSS (/usr/bin/time -v), the output size and the
# findings counted in the output.
#
#   benches/report_formats.sh [N] [FORMAT...]     (default 500000, every format)
#
# `github` writes a few capped annotations: its run is the cost of the
# analysis alone, so "µs/finding" is each format's CPU beyond github's,
# divided by N. HC_BIN=path uses that binary instead of building one.
# THREADS_CHECK=1 also runs `--threads 1` and compares the bytes with the
# default (`--threads 2` on two cores).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-500000}
shift || true
formats=("$@")
[ ${#formats[@]} -gt 0 ] || formats=(github json sarif gitlab junit human html)
work=${WORK:-${CARGO_TARGET_DIR:-target}/bench-reports}
mkdir -p "$work"
if [ -z "${HC_BIN:-}" ]; then
  cargo build --release --quiet --bin handlecheck
  HC_BIN=${CARGO_TARGET_DIR:-$PWD/target}/release/handlecheck
fi
trace="$work/findings-$n.log"
[ -s "$trace" ] || python3 benches/pathological.py findings "$n" > "$trace"

# Findings as each format spells them (one per finding; github: annotations).
count() {
  case $1 in
    json) grep -c '"fingerprint": ' "$2" ;;
    sarif) grep -c '"ruleId": ' "$2" ;;
    gitlab) grep -c '"check_name": ' "$2" ;;
    junit) grep -c '^  fingerprint: ' "$2" ;;
    human) grep -cE '^(error|warning|note|advice)\[HC[0-9]+\]:' "$2" ;;
    html) grep -c '<article class="finding ' "$2" ;;
    github) grep -cE '^::(error|warning|notice) file=' "$2" ;;
  esac
}

printf '%-7s %9s %8s %8s %8s %9s %10s %11s\n' format findings wall_s user_s sys_s rss_MB out_MB us/finding
base_cpu=""
for f in "${formats[@]}"; do
  out="$work/out.$f"
  log="$work/time.$f"
  /usr/bin/time -v "$HC_BIN" analyze --no-config --format "$f" --max-results 0 -o "$out" "$trace" \
    2> "$log" || true
  wall=$(awk -F': ' '/Elapsed/ {n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s}' "$log")
  user=$(awk -F': ' '/User time/ {print $2}' "$log")
  sys=$(awk -F': ' '/System time/ {print $2}' "$log")
  rss=$(awk -F': ' '/Maximum resident/ {printf "%.0f", $2 / 1024}' "$log")
  size=$(awk -v s="$(stat -c %s "$out")" 'BEGIN {printf "%.1f", s / 1e6}')
  cpu=$(echo "$user + $sys" | bc -l)
  [ "$f" = github ] && base_cpu=$cpu
  per="-"
  if [ -n "$base_cpu" ] && [ "$f" != github ]; then
    per=$(echo "($cpu - $base_cpu) * 1000000 / $n" | bc -l | awk '{printf "%.1f", $1}')
  fi
  printf '%-7s %9s %8s %8s %8s %9s %10s %11s\n' "$f" "$(count "$f" "$out")" "$wall" "$user" "$sys" "$rss" "$size" "$per"
  if [ "${THREADS_CHECK:-0}" = 1 ]; then
    "$HC_BIN" analyze --no-config --format "$f" --max-results 0 --threads 1 -o "$out.t1" "$trace" || true
    if cmp -s "$out" "$out.t1"; then echo "  $f: --threads 1 wrote the same bytes"; else echo "  $f: --threads 1 DIFFERS"; fi
    rm -f "$out.t1"
  fi
  rm -f "$out"
done
