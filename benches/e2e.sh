#!/usr/bin/env bash
# End to end: `handlecheck analyze` on a ~1 GB strace file built
# deterministically from the bundled real traces, against
# `grep -c 'close(' FILE > out` on the same file in the same run (output to a
# file: with /dev/null GNU grep stops at the first match). File and pipe,
# --threads 1 and 2, wall time (median of $RUNS) and peak RSS
# (/usr/bin/time -v).
#
#   benches/e2e.sh [SIZE_MB]        (default 1000)
#
# The big file is the real `-f -o` traces (fixtures/strace/clean/*/trace.log
# and ../shared/samples/strace-big/*.log.gz when that folder exists)
# concatenated in a fixed order and repeated until SIZE_MB, cut at a line end.
# It is kept in $WORK (default target/bench-e2e) between runs.
set -euo pipefail
cd "$(dirname "$0")/.."
size_mb=${1:-1000}
runs=${RUNS:-3}
work=${WORK:-target/bench-e2e}
mkdir -p "$work"
cargo build --release --quiet
bin=$PWD/target/release/handlecheck

big="$work/big-${size_mb}MB.log"
if [ ! -s "$big" ]; then
  unit="$work/unit.log"
  : > "$unit"
  for f in fixtures/strace/clean/*/trace.log; do cat "$f" >> "$unit"; done
  for gz in ../shared/samples/strace-big/*.log.gz; do
    [ -e "$gz" ] && gzip -dc "$gz" >> "$unit"
  done
  target=$((size_mb * 1000000))
  unit_size=$(stat -c %s "$unit")
  reps=$(( (target + unit_size - 1) / unit_size ))
  # (head closes the pipe early: the writer's SIGPIPE is expected.)
  { for _ in $(seq "$reps"); do cat "$unit"; done | head -c "$target" > "$big.part"; } || true
  # Cut at the last line end so that no line is half written.
  python3 -c 'import sys
p = sys.argv[1]
with open(p, "r+b") as f:
    f.seek(0, 2); size = f.tell(); back = min(size, 1 << 20)
    f.seek(size - back); tail = f.read()
    f.truncate(size - back + tail.rfind(b"\n") + 1)' "$big.part"
  mv "$big.part" "$big"
  rm -f "$unit"
fi
mb=$(echo "$(stat -c %s "$big") / 1000000" | bc -l)
cat "$big" > /dev/null # warm the page cache

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
secs() { # command string -> median wall seconds
  for _ in $(seq "$runs"); do
    local s e
    s=$(date +%s.%N); sh -c "$1" || true; e=$(date +%s.%N)
    echo "$e - $s" | bc -l
  done | median
}
rss() { # command string -> peak RSS of the slowest process in MB
  /usr/bin/time -v sh -c "$1" 2>&1 >/dev/null | awk -F: '/Maximum resident/ {printf "%.0f", $2/1024}'
}
hc="'$bin' analyze --format json --fail-on never"
printf '%-34s %8s %9s %9s %8s\n' what seconds MB/s vs_grep rss_MB
t_grep=$(secs "LC_ALL=C grep -c 'close(' '$big' > '$work/grep.out'")
printf '%-34s %8.3f %9.0f %9s %8s\n' "grep -c 'close(' (file)" "$t_grep" "$(echo "$mb / $t_grep" | bc -l)" 1.00 \
  "$(rss "LC_ALL=C grep -c 'close(' '$big' > '$work/grep.out'")"
for threads in 1 2; do
  cmd="$hc --threads $threads '$big' > '$work/out-file-$threads.json'"
  t=$(secs "$cmd")
  printf '%-34s %8.3f %9.0f %9.2f %8s\n' "handlecheck file --threads $threads" "$t" \
    "$(echo "$mb / $t" | bc -l)" "$(echo "$t / $t_grep" | bc -l)" "$(rss "$cmd")"
  cmd="cat '$big' | $hc --threads $threads - > '$work/out-pipe-$threads.json'"
  t=$(secs "$cmd")
  printf '%-34s %8.3f %9.0f %9.2f %8s\n' "handlecheck pipe --threads $threads" "$t" \
    "$(echo "$mb / $t" | bc -l)" "$(echo "$t / $t_grep" | bc -l)" "$(rss "$cmd")"
done
for how in file pipe; do
  if cmp -s "$work/out-$how-1.json" "$work/out-$how-2.json"; then
    echo "$how: output identical for --threads 1 and 2"
  else
    echo "$how: OUTPUT DIFFERS between --threads 1 and 2"
  fi
done
echo "($(printf %.0f "$mb") MB, $runs runs, median; machine: $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg))"
