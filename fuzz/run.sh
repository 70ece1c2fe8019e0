#!/bin/sh
# Runs every fuzz target (or those named) for SECONDS each, one at a time,
# with the corpus under fuzz/corpus/<target>/ and crashes kept in
# fuzz/artifacts/<target>/. Needs cargo-fuzz (`cargo install cargo-fuzz`);
# the stable toolchain works with RUSTC_BOOTSTRAP=1.
#
#   fuzz/run.sh 1800                 # 30 minutes per target
#   fuzz/run.sh 120 strace_line lz77 # two targets, 2 minutes each
#
# A crasher found goes to fuzz/regressions/<target>/ (commit it): the replay
# test in tests/it/fuzz_corpus.rs runs it on every `cargo test`.
# MINIMIZE=1 also shrinks each corpus afterwards (cargo fuzz cmin).
# Leak detection is off: the strace readers start threads per input, and
# LeakSanitizer reports glibc's per-thread destructor list as a leak.
set -eu
cd "$(dirname "$0")"
SECONDS_EACH=${1:-60}
[ $# -gt 0 ] && shift
TARGETS=${*:-$(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -v handlecheck-fuzz)}
export RUSTC_BOOTSTRAP=1
cargo fuzz build -O --debug-assertions
status=0
for t in $TARGETS; do
    mkdir -p "corpus/$t" "artifacts/$t"
    echo "== $t: ${SECONDS_EACH}s"
    if ! cargo fuzz run -O --debug-assertions "$t" "corpus/$t" -- \
        -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -timeout=10 \
        -max_len=1048576 -print_final_stats=1 -detect_leaks=0 2>"artifacts/$t.log"; then
        status=1
        echo "!! $t found a crash: see artifacts/$t/ and artifacts/$t.log"
        mkdir -p "regressions/$t"
        cp artifacts/"$t"/crash-* artifacts/"$t"/oom-* artifacts/"$t"/timeout-* \
            "regressions/$t/" 2>/dev/null || true
    fi
    grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss_mb)|cov:' \
        "artifacts/$t.log" | tail -3
    if [ "${MINIMIZE:-0}" = 1 ]; then
        cargo fuzz cmin -O "$t" "corpus/$t" >/dev/null 2>&1 || true
    fi
done
exit $status
