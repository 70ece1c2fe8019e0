#!/usr/bin/env bash
# Byte-identical outputs before and after a change: every bundled fixture and
# shared sample trace, in every format, written by one binary into a folder;
# then the same with another binary, and the two folders compared.
#
#   benches/same_outputs.sh save BINARY DIR      write DIR/<trace>.<format> (stdout, stderr, exit code)
#   benches/same_outputs.sh compare DIR_A DIR_B  count the comparisons, list every difference
#
# Inputs: every trace-like file under fixtures/ (.log .txt .perf .jsonl .gz
# .etl .xml; a file that is no trace is compared too: its error and exit code)
# and ../shared/samples/{strace,strace-big,windbg} when that folder exists,
# and each bundled `-ff` set (PREFIX.TID files) as one run.
# Run from any directory: paths are taken relative to the project root, so
# both runs print the same paths.
set -euo pipefail
cd "$(dirname "$0")/.."
formats=(json sarif human junit github gitlab html)

inputs() {
  find fixtures -type f \( -name '*.log' -o -name '*.txt' -o -name '*.perf' -o -name '*.jsonl' \
    -o -name '*.gz' -o -name '*.etl' -o -name '*.xml' \) | sort
  # The prefixes of the bundled `-ff` sets (files named PREFIX.TID).
  find fixtures -type f -regex '.*\.[0-9]+$' | sed 's/\.[0-9]*$//' | sort -u
  for d in strace strace-big windbg; do
    [ -d "../shared/samples/$d" ] && find "../shared/samples/$d" -type f ! -name '*.md' | sort
  done
  return 0
}

case ${1:-} in
  save)
    bin=$(realpath "$2")
    out=$3
    mkdir -p "$out"
    n=0
    while read -r trace; do
      name=$(echo "$trace" | sed 's|^\.\./||; s|/|__|g')
      for f in "${formats[@]}"; do
        rc=0
        # A `-ff` set (PREFIX.TID files) is named by its prefix and read as one job.
        if [ -e "$trace" ]; then set -- "$trace"; else set -- "$trace".*; fi
        "$bin" analyze --no-config --format "$f" "$@" > "$out/$name.$f" 2> "$out/$name.$f.err" || rc=$?
        echo "$rc" > "$out/$name.$f.rc"
        n=$((n + 1))
      done
    done < <(inputs)
    echo "$n runs written to $out"
    ;;
  compare)
    a=$2; b=$3
    total=0
    differ=0
    for fa in "$a"/*; do
      total=$((total + 1))
      fb="$b/$(basename "$fa")"
      if ! cmp -s "$fa" "$fb"; then
        differ=$((differ + 1))
        echo "DIFFERS: $(basename "$fa")"
      fi
    done
    nb=$(find "$b" -maxdepth 1 -type f | wc -l)
    [ "$nb" -eq "$total" ] || { echo "file counts differ: $total in $a, $nb in $b"; differ=$((differ + 1)); }
    echo "$total files compared (stdout, stderr and exit code of $((total / 3)) runs), $differ differ"
    [ "$differ" -eq 0 ]
    ;;
  *)
    echo "usage: $0 save BINARY DIR | compare DIR_A DIR_B" >&2
    exit 2
    ;;
esac
