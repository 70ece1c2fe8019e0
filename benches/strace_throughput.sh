#!/usr/bin/env bash
# Throughput and peak memory of `handlecheck analyze` on real strace traces,
# against `grep -c 'close('` on the same bytes in the same run.
#
#   benches/strace_throughput.sh [TRACE.log.gz ...]
#
# Default inputs: the 61 MB of clean real traces in ../shared/samples/strace-big
# (not needed by the tests). Prints, per input and for all inputs concatenated:
# MB/s of handlecheck (file and pipe), MB/s of grep, the ratio, and peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
inputs=("$@")
if [ ${#inputs[@]} -eq 0 ]; then
  inputs=(../shared/samples/strace-big/*.log.gz)
fi
cargo build --release --quiet
bin=target/release/handlecheck
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
files=()
for gz in "${inputs[@]}"; do
  out="$work/$(basename "${gz%.gz}")"
  case "$gz" in *.gz) gzip -dc "$gz" > "$out" ;; *) cp "$gz" "$out" ;; esac
  files+=("$out")
done
cat "${files[@]}" > "$work/all.log"
files+=("$work/all.log")

runs=${RUNS:-5}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
secs() { # command... -> seconds (median of $runs)
  for _ in $(seq "$runs"); do
    local s e
    s=$(date +%s.%N); "$@" > /dev/null 2>&1 || true; e=$(date +%s.%N)
    echo "$e - $s" | bc -l
  done | median
}
rss() { # command... -> peak RSS in MB
  /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -1 | awk '{printf "%.1f", $1/1024}'
}
printf '%-28s %8s %10s %10s %10s %7s %9s %9s\n' input MB hc_file hc_pipe grep ratio rss_file rss_pipe
for f in "${files[@]}"; do
  cat "$f" > /dev/null
  mb=$(echo "$(stat -c %s "$f") / 1000000" | bc -l)
  t_file=$(secs "$bin" analyze -q --fail-on never "$f")
  t_pipe=$(secs sh -c "cat '$f' | '$bin' analyze -q --fail-on never -")
  t_grep=$(secs env LC_ALL=C grep -c 'close(' "$f")
  r_file=$(rss "$bin" analyze -q --fail-on never "$f")
  r_pipe=$(rss sh -c "cat '$f' | '$bin' analyze -q --fail-on never -")
  printf '%-28s %8.1f %10.0f %10.0f %10.0f %7.2f %9s %9s\n' "$(basename "$f")" "$mb" \
    "$(echo "$mb / $t_file" | bc -l)" "$(echo "$mb / $t_pipe" | bc -l)" "$(echo "$mb / $t_grep" | bc -l)" \
    "$(echo "$t_file / $t_grep" | bc -l)" "$r_file" "$r_pipe"
done
echo "(MB/s columns; ratio = handlecheck time / grep time on the file; rss in MB; $runs runs, median)"
