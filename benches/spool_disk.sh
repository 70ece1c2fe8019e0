#!/usr/bin/env bash
# The evidence spool of a pipe: peak disk in $TMPDIR, peak RSS and wall time
# of `cat BIG | handlecheck analyze --format json --threads T -`, with the
# bounded spool (default) and with the whole stream kept
# (HANDLECHECK_SPOOL_SEGMENT=0, the spool as it was before segments), on the
# 1 GB file of benches/e2e.sh. The outputs must be identical.
#
#   benches/spool_disk.sh [BIG_FILE]    (default target/bench-e2e/big-1000MB.log)
#
# Disk is measured two ways: the spool's own high-water mark
# (HANDLECHECK_SPOOL_STATS=1 prints it on stderr) and a poll of the private
# $TMPDIR every 50 ms (what the file system saw). RUNS runs each (default 1).
set -euo pipefail
cd "$(dirname "$0")/.."
big=${1:-target/bench-e2e/big-1000MB.log}
runs=${RUNS:-1}
[ -s "$big" ] || { echo "no $big: run benches/e2e.sh 1000 first" >&2; exit 2; }
cargo build --release --quiet
bin=$PWD/target/release/handlecheck
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cat "$big" > /dev/null # warm the page cache

printf '| spool | threads | wall s | peak RSS MB | peak disk (spool) MB | peak disk (poll of $TMPDIR) MB |\n|---|---|---|---|---|---|\n'
for mode in full bounded; do
  for t in 1 2; do
    for r in $(seq "$runs"); do
      tmp="$out/tmp-$mode-$t"; mkdir -p "$tmp"
      seg=""; [ "$mode" = full ] && seg=0
      # Poll the temp dir while the run lasts.
      ( peak=0; while :; do
          n=$(du -sb "$tmp" 2>/dev/null | cut -f1); [ "${n:-0}" -gt "$peak" ] && peak=$n
          echo "$peak" > "$out/poll"; sleep 0.05
        done ) & poller=$!
      s=$(date +%s.%N)
      cat "$big" | env TMPDIR="$tmp" HANDLECHECK_SPOOL_STATS=1 ${seg:+HANDLECHECK_SPOOL_SEGMENT=$seg} \
        /usr/bin/time -v "$bin" analyze --format json --threads "$t" - \
        > "$out/out-$mode-$t.json" 2> "$out/err" || true
      e=$(date +%s.%N)
      kill "$poller"; wait "$poller" 2>/dev/null || true
      rss=$(awk -F: '/Maximum resident/ {printf "%.0f", $2/1024}' "$out/err")
      spool=$(sed -n 's/.*peak disk \([0-9]*\) bytes.*/\1/p' "$out/err" | awk '{printf "%.1f", $1/1e6}')
      poll=$(awk '{printf "%.1f", $1/1e6}' "$out/poll")
      printf '| %s | %s | %.2f | %s | %s | %s |\n' "$mode" "$t" "$(echo "$e - $s" | bc -l)" "$rss" "$spool" "$poll"
      grep 'evidence spool' "$out/err" | sed 's/^/    /' >&2
      rm -rf "$tmp"
    done
  done
done
for t in 1 2; do
  cmp -s "$out/out-full-$t.json" "$out/out-bounded-$t.json" \
    && echo "output identical, --threads $t" \
    || { echo "OUTPUT DIFFERS, --threads $t"; exit 1; }
done
