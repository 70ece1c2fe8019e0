#!/usr/bin/env bash
# Recording overhead on a syscall-heavy workload: plain vs `strace -f` vs `perf trace`.
#
#   benches/record_overhead.sh            # 20,000 open/read/close in python3, 5 runs each
#   N=50000 RUNS=3 benches/record_overhead.sh
#
# The workload: python3 opening, reading and closing /etc/hostname N times (3 syscalls
# per iteration plus the interpreter's start). Each recorder writes to a file in a temp
# directory, with the options handlecheck uses:
#   strace -f -tt -T -y -o FILE   (handlecheck run, default recorder)
#   perf trace -m 8192 -o FILE     (handlecheck run --recorder perf; 8192 pages/CPU)
#   perf trace -o FILE             (perf's default buffer, for comparison: it loses events)
# Prints the median wall time of each, its ratio to plain, the lines each trace has, and
# the LOST events perf reported. Needs python3, strace, perf (root or perf_event_paranoid -1).
set -euo pipefail
N=${N:-20000}
RUNS=${RUNS:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/loop.py" <<PY
import os
for _ in range($N):
    fd = os.open("/etc/hostname", os.O_RDONLY)
    os.read(fd, 100)
    os.close(fd)
PY
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
time_of() { # label, command... -> median seconds; keeps the last trace in $work/LABEL
  local label=$1; shift
  for _ in $(seq "$RUNS"); do
    rm -f "$work/$label"
    local s e
    s=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s.%N)
    echo "$e - $s" | bc -l
  done | median
}
plain=$(time_of plain python3 "$work/loop.py")
strace_t=$(time_of strace strace -f -tt -T -y -o "$work/strace" python3 "$work/loop.py")
perf_t=$(time_of perf perf trace -m 8192 -o "$work/perf" -- python3 "$work/loop.py")
perfd_t=$(time_of perfdefault perf trace -o "$work/perfdefault" -- python3 "$work/loop.py")
lines() { [ -f "$1" ] && wc -l < "$1" || echo 0; }
lost() { [ -f "$1" ] && { grep '^LOST ' "$1" | awk '{s+=$2} END {print s+0}'; } || echo 0; }
echo "workload: python3, $N x open/read/close of /etc/hostname; median of $RUNS runs"
echo "perf: $(perf --version 2>/dev/null)  strace: $(strace -V 2>/dev/null | head -1)"
printf '%-34s %9s %8s %10s %8s\n' recorder seconds ratio lines lost
printf '%-34s %9.3f %8s %10s %8s\n' "plain" "$plain" "1.00" "-" "-"
printf '%-34s %9.3f %8.2f %10s %8s\n' "strace -f -tt -T -y" "$strace_t" "$(echo "$strace_t / $plain" | bc -l)" "$(lines "$work/strace")" "-"
printf '%-34s %9.3f %8.2f %10s %8s\n' "perf trace -m 8192" "$perf_t" "$(echo "$perf_t / $plain" | bc -l)" "$(lines "$work/perf")" "$(lost "$work/perf")"
printf '%-34s %9.3f %8.2f %10s %8s\n' "perf trace (default buffer)" "$perfd_t" "$(echo "$perfd_t / $plain" | bc -l)" "$(lines "$work/perfdefault")" "$(lost "$work/perfdefault")"
printf 'strace/perf: %.2f\n' "$(echo "$strace_t / $perf_t" | bc -l)"
