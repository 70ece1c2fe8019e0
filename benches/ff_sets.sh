#!/usr/bin/env bash
# strace -ff sets against the same run recorded as one file: records the
# bundled autoconf configure (fixtures/strace/clean/autoconf_configure) twice,
# `strace -ff -o ff/t` (one file per task) and `strace -f -o one.log`, then
# times `handlecheck analyze --format json` on each (wall, median of $RUNS)
# and, when valgrind is installed, counts instructions (callgrind), which a
# loaded machine does not change. Goal (issue 11): the set within 1.5x of
# the one file.
#
#   benches/ff_sets.sh            (needs strace and autoconf)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-5}
work=${WORK:-target/bench-ff}
cargo build --release --quiet
bin=$PWD/target/release/handlecheck
rm -rf "$work" && mkdir -p "$work/cfg" "$work/ff"
cp fixtures/strace/clean/autoconf_configure/{configure.ac,Makefile.in} "$work/cfg/"
(cd "$work/cfg" && autoconf && strace -ff -o ../ff/t ./configure > /dev/null 2>&1 \
  && strace -f -o ../one.log ./configure > /dev/null 2>&1) || true
cd "$work"
echo "set: $(ls ff | wc -l) files, $(du -sh ff | cut -f1); one file: $(du -sh one.log | cut -f1)"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for what in set one; do
  if [ $what = set ]; then args=(ff/t.*); else args=(one.log); fi
  wall=$(for _ in $(seq "$runs"); do
    { /usr/bin/time -f %e "$bin" analyze --format json --threads 1 "${args[@]}" 2>&1 >/dev/null || true; } | tail -1
  done | median)
  ir=-
  if command -v valgrind > /dev/null; then
    ir=$({ valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" analyze --format json \
      --threads 1 "${args[@]}" 2>&1 >/dev/null || true; } | sed -n 's/.*Collected : //p')
  fi
  printf '%-4s wall %6s s  instructions %s\n' $what "$wall" "$ir"
done
