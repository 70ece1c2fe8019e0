#!/usr/bin/env bash
# Times handlecheck's ETL `stats` (examples/etl_stats.rs) against the pure-Python
# etl-parser from PyPI (airbus-cert, `pip install etl-parser`) counting records
# of the same file, and prints the ratio.
#
# etl-parser cannot inflate compressed buffers, so by default the comparison
# uses the uncompressed samples; a compressed file makes the Python side fail
# (reported, no ratio). Our time includes process start and mmap; Python's is the
# parse alone, so the ratio understates our advantage on small files.
#
# usage: benches/etl_vs_python.sh [file.etl ...]
set -euo pipefail
cd "$(dirname "$0")/.."
files=("$@")
python3 -c 'import etl.etl' 2>/dev/null || pip install --quiet etl-parser
cargo build --quiet --release --example etl_stats
bin=target/release/examples/etl_stats
if [ ${#files[@]} -eq 0 ]; then
  # The real samples of other projects live in ../shared/samples (zipped);
  # the big one is also stored uncompressed so that etl-parser can read it.
  tmp=${TMPDIR:-/tmp}
  unzip -p ../shared/samples/etl/perfview_net.4.5.2.x64.etl.zip '*.etl' >"$tmp/net.4.5.2.x64.etl"
  unzip -p ../shared/samples/etl/perfview_gcevents.etl.zip '*.etl' >"$tmp/gcevents.etl"
  plain=$tmp/net.4.5.2.x64.uncompressed.etl
  "$bin" --inflate "$tmp/net.4.5.2.x64.etl" "$plain"
  files=("$plain" "$tmp/gcevents.etl" "$tmp/net.4.5.2.x64.etl")
fi

py_count='
import sys, time
from etl.etl import build_from_stream, IEtlFileObserver
class Count(IEtlFileObserver):
    n = 0
    def on_event_record(self, e): self.n += 1
    def on_trace_record(self, e): self.n += 1
    def on_perfinfo_trace(self, e): self.n += 1
    def on_system_trace(self, e): self.n += 1
    def on_win_trace(self, e): self.n += 1
data = open(sys.argv[1], "rb").read()
obs = Count()
t = time.perf_counter()
build_from_stream(data).parse(obs)
print(obs.n, time.perf_counter() - t)
'

now() { date +%s.%N; }
for f in "${files[@]}"; do
  runs=5
  t0=$(now); for _ in $(seq $runs); do "$bin" "$f" >/dev/null; done; t1=$(now)
  rust=$(echo "($t1 - $t0) / $runs" | bc -l)
  ours=$("$bin" "$f" | python3 -c 'import json,sys; print(json.load(sys.stdin)["records"])')
  # Python time is measured inside the interpreter (parse only, imports excluded).
  if out=$(python3 -c "$py_count" "$f" 2>/tmp/etl_vs_python.err); then
    read -r theirs py <<<"$out"
    if [ "$theirs" = 0 ]; then
      printf '%-48s records ours %7s | python read 0 records (compressed buffers are not supported by etl-parser): no ratio\n' "$f" "$ours"
      continue
    fi
    printf '%-48s records ours %7s python %7s | ours %8.4f s  python %8.3f s  ratio %6.0fx\n' \
      "$f" "$ours" "$theirs" "$rust" "$py" "$(echo "$py / $rust" | bc -l)"
  else
    printf '%-48s records ours %7s | ours %8.4f s  python failed: %s\n' "$f" "$ours" "$rust" "$(tail -1 /tmp/etl_vs_python.err)"
  fi
done
