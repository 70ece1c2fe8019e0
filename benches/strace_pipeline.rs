//! `cargo bench --bench strace_pipeline`: the whole analyze pipeline (read,
//! parse, lifecycle, rules) over a ~200 MB trace built from the bundled real
//! clean traces, repeated. Prints MB/s (best of 5). The shared 61 MB traces are
//! measured by `benches/strace_throughput.sh` instead.

use std::io::Write;
use std::time::Instant;

use handlecheck::analysis::{Options, analyze};

fn main() {
    let sources = [
        "fixtures/strace/clean/make_j2/trace.log",
        "fixtures/strace/clean/python_threads/trace.log",
        "fixtures/strace/clean/git_status/trace.log",
        "fixtures/strace/clean/tcp_loopback/trace.log",
    ];
    let mut one = Vec::new();
    for s in sources {
        one.extend(std::fs::read(s).expect("bundled fixture"));
    }
    let target = 200usize << 20;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("big.log");
    let mut f = std::fs::File::create(&path).expect("create");
    let mut written = 0;
    while written < target {
        f.write_all(&one).expect("write");
        written += one.len();
    }
    drop(f);
    let path = path.to_string_lossy().into_owned();
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        let a = analyze(std::slice::from_ref(&path), &Options::default()).expect("analyze");
        let secs = t.elapsed().as_secs_f64();
        assert!(a.inputs[0].stats.events > 0);
        best = best.min(secs);
    }
    let mb = written as f64 / 1e6;
    println!(
        "strace pipeline: {mb:.0} MB in {best:.3} s = {:.0} MB/s (best of 5)",
        mb / best
    );
}
