#!/usr/bin/env bash
# Recording overhead on a syscall-heavy workload: plain vs `strace -f` vs `perf trace`.
#
#   benches/record_overhead.sh            # 20,000 open/read/close in python3, 5 runs each
#   N=50000 RUNS=3 benches/record_overhead.sh
#
# The workload: python3 opening, reading and closing /etc/hostname N times (3 syscalls
# per iteration plus the interpreter's start). Each recorder writes to a file in a temp
# directory, with the options handlecheck uses:
#   strace -f -tt -T -y -o FILE              (handlecheck run, default recorder)
#   perf trace record -m 8192 -o DATA, then perf trace -i DATA -o FILE
#                                            (handlecheck run --recorder perf; 8192 pages/CPU)
#   perf trace -m 8192 -o FILE               (live perf trace, for comparison)
#   perf trace -o FILE                       (live, perf's default buffer: it may lose events)
# Prints, for each, the median of: the loop's own time as the program measures it (how
# much the traced program is slowed) and the wall time of the whole command (perf also
# formats its buffer, after the program ended too); ratios to plain; the lines of the
# trace and the LOST events perf reported. On a loaded machine perf's formatting competes
# for the CPU: run it on an idle one. Needs python3, strace, perf (root or perf_event_paranoid -1).
set -euo pipefail
N=${N:-20000}
RUNS=${RUNS:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/loop.py" <<PY
import os, sys, time
t = time.monotonic()
for _ in range($N):
    fd = os.open("/etc/hostname", os.O_RDONLY)
    os.read(fd, 100)
    os.close(fd)
with open(sys.argv[1], "a") as out:
    out.write("%f\\n" % (time.monotonic() - t))
PY
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# label, command... (the command gets the loop-time file as its last argument):
# sets WALL and LOOP to the medians; keeps the last trace in $work/LABEL
measure() {
  local label=$1; shift
  rm -f "$work/$label.loop"
  for _ in $(seq "$RUNS"); do
    rm -f "$work/$label"
    local s e
    s=$(date +%s.%N); "$@" "$work/$label.loop" >/dev/null 2>&1 || true; e=$(date +%s.%N)
    echo "$e - $s" | bc -l
  done > "$work/$label.wall"
  WALL=$(median < "$work/$label.wall")
  LOOP=$(median < "$work/$label.loop")
}
measure plain python3 "$work/loop.py"; pw=$WALL; pl=$LOOP
measure strace strace -f -tt -T -y -o "$work/strace" python3 "$work/loop.py"; sw=$WALL; sl=$LOOP
record_then_format() { # the trace ends up in $work/record
  perf trace record -q -m 8192 -o "$work/record.data" -- "$@" && perf trace -i "$work/record.data" -o "$work/record"
}
measure record record_then_format python3 "$work/loop.py"; rw=$WALL; rl=$LOOP
measure perf perf trace -m 8192 -o "$work/perf" -- python3 "$work/loop.py"; fw=$WALL; fl=$LOOP
measure perfdefault perf trace -o "$work/perfdefault" -- python3 "$work/loop.py"; dw=$WALL; dl=$LOOP
lines() { if [ -f "$1" ]; then wc -l < "$1"; else echo 0; fi; }
lost() { if [ -f "$1" ]; then awk '/^LOST /{s+=$2} END {print s+0}' "$1"; else echo 0; fi; }
ratio() { echo "$1 / $2" | bc -l; }
echo "workload: python3, $N x open/read/close of /etc/hostname; median of $RUNS runs; load: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
echo "perf: $(perf --version 2>/dev/null)   strace: $(strace -V 2>/dev/null | head -1)"
printf '%-30s %9s %7s %9s %7s %9s %8s\n' recorder loop-s ratio wall-s ratio lines lost
printf '%-30s %9.3f %7s %9.3f %7s %9s %8s\n' "plain" "$pl" "1.00" "$pw" "1.00" "-" "-"
row() { printf '%-30s %9.3f %7.2f %9.3f %7.2f %9s %8s\n' "$1" "$2" "$(ratio "$2" "$pl")" "$3" "$(ratio "$3" "$pw")" "$4" "$5"; }
row "strace -f -tt -T -y" "$sl" "$sw" "$(lines "$work/strace")" "-"
row "perf trace record + -i" "$rl" "$rw" "$(lines "$work/record")" "$(perf script -i "$work/record.data" --show-lost-events -F time 2>/dev/null | awk '/PERF_RECORD_LOST/{s+=$NF} END {print s+0}')"
row "perf trace -m 8192 (live)" "$fl" "$fw" "$(lines "$work/perf")" "$(lost "$work/perf")"
row "perf trace (live, default -m)" "$dl" "$dw" "$(lines "$work/perfdefault")" "$(lost "$work/perfdefault")"
printf 'strace / perf trace record: loop %.2f, wall %.2f\n' "$(ratio "$sl" "$rl")" "$(ratio "$sw" "$rw")"
