#!/usr/bin/env bash
# Cost per MB from 10 MB to 1 GB (issue 11: flat within ±15 %): the first
# 10 MB of the e2e file (cut at a line end) repeated 1, 10 and 100 times,
# analysed on one thread; CPU time (user + system, median of $RUNS) per MB, and, with
# CALLGRIND=1, instructions per byte at 10 and 100 MB (valgrind; 1 GB under
# callgrind takes too long), which a loaded machine does not change.
#
#   benches/flat_cost.sh     (needs perf; builds the e2e file first if it is missing)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3}
work=${WORK:-target/bench-e2e}
big="$work/big-1000MB.log"
[ -s "$big" ] || benches/e2e.sh 1000 > /dev/null
cargo build --release --quiet
bin=$PWD/target/release/handlecheck
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf '%-8s %10s %10s %12s\n' size cpu_s ms_per_MB instr/byte
unit="$work/flat-10MB.log"
if [ ! -s "$unit" ]; then
  head -c 10000000 "$big" > "$unit.tmp"
  python3 -c 'import sys
p = sys.argv[1]
with open(p, "r+b") as f:
    d = f.read(); f.truncate(d.rfind(b"\n") + 1)' "$unit.tmp"
  mv "$unit.tmp" "$unit"
fi
for mb in 10 100 1000; do
  # The same 10 MB repeated: every size has the same mix of calls, so a cost
  # per MB that grows with the size is the analyzer's, not the trace's.
  part="$work/flat-${mb}MB.log"
  if [ ! -s "$part" ]; then
    for _ in $(seq $((mb / 10))); do cat "$unit"; done > "$part.tmp"
    mv "$part.tmp" "$part"
  fi
  bytes=$(stat -c %s "$part")
  # CPU time (task-clock, all threads) to the microsecond: `time` rounds to
  # 10 ms, too coarse for 10 MB.
  cpu=$(for _ in $(seq "$runs"); do
    perf stat -x, -e task-clock "$bin" analyze --format json --fail-on never --threads 1 "$part" \
      2>&1 >/dev/null | awk -F, '/task-clock/ {printf "%.4f\n", $1 / 1000}'
  done | median)
  ipb=-
  if [ "${CALLGRIND:-0}" = 1 ] && [ "$mb" -le 100 ] && command -v valgrind > /dev/null; then
    ir=$({ valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" analyze --format json \
      --fail-on never --threads 1 "$part" 2>&1 >/dev/null || true; } | sed -n 's/.*Collected : //p')
    ipb=$(echo "$ir / $bytes" | bc -l | xargs printf '%.2f')
  fi
  printf '%-8s %10.3f %10.3f %12s\n' "${mb}MB" "$cpu" "$(echo "$cpu * 1000000000 / $bytes" | bc -l)" "$ipb"
done
echo "(--threads 1, $runs runs, median; load $(cut -d' ' -f1 /proc/loadavg))"
