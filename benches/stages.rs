//! Criterion, per stage of the strace pipeline: `cargo bench --bench stages`.
//!
//! Input: the bundled real `-f -o` traces (fixtures/strace/clean/*/trace.log)
//! concatenated and repeated to about 16 MB, so the numbers do not depend on
//! ../shared. Stages: read (block reads and line splitting), parse (lines to
//! events), lifecycle (events to the handle graph), rules (graph to findings),
//! report (findings to JSON), and the pathological shapes of
//! benches/pathological.py at full size through the whole pipeline
//! (`HC_BENCH_PATHOLOGICAL=1 cargo bench --bench stages`, slow: minutes).
//! Throughput is reported in bytes of trace.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput};
use handlecheck::analysis::{Options, analyze};
use handlecheck::formats::strace::StraceParser;
use handlecheck::formats::{EventSink, ReadContext, ReadStats};
use handlecheck::input::lines;
use handlecheck::lifecycle::LifecycleBuilder;
use handlecheck::model::{Event, Interner, Origin};
use handlecheck::rules::{self, HandleStyle, RuleContext};

const TARGET: usize = 16 << 20;

fn trace_bytes() -> Vec<u8> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/strace/clean");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("fixtures")
        .map(|e| e.expect("entry").path())
        .collect();
    dirs.sort();
    let mut unit = Vec::new();
    for d in dirs {
        if let Ok(b) = std::fs::read(d.join("trace.log")) {
            unit.extend(b);
        }
    }
    let mut out = Vec::with_capacity(TARGET + unit.len());
    while out.len() < TARGET {
        out.extend_from_slice(&unit);
    }
    out
}

fn parse(bytes: &[u8], interner: &mut Interner) -> Vec<Event> {
    let mut events: Vec<Event> = Vec::new();
    let mut stats = ReadStats::default();
    let mut parser = StraceParser::new();
    let mut ctx = ReadContext {
        input: 0,
        interner,
        sink: &mut events,
        stats: &mut stats,
    };
    lines::for_each_line(&mut &bytes[..], None, |l| {
        parser.line(l.bytes, Origin::line(0, l.number, l.offset), None, &mut ctx)
    })
    .expect("in memory");
    parser.finish(&mut ctx);
    events
}

fn stages(c: &mut Criterion) {
    let bytes = trace_bytes();
    let mut g = c.benchmark_group("strace");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(8))
        .throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("read", |b| {
        b.iter(|| {
            let mut n = 0u64;
            lines::for_each_line(&mut &bytes[..], None, |l| n += l.bytes.len() as u64)
                .expect("in memory");
            n
        })
    });
    g.bench_function("parse", |b| {
        b.iter(|| parse(&bytes, &mut Interner::new()).len())
    });
    let mut interner = Interner::new();
    let events = parse(&bytes, &mut interner);
    g.bench_function("lifecycle", |b| {
        // One interner across runs: the builder only adds folded site names.
        b.iter(|| {
            let mut builder = LifecycleBuilder::new(&mut interner);
            for ev in &events {
                builder.event(*ev);
            }
            builder.finish().gens.len()
        })
    });
    let graph = {
        let mut builder = LifecycleBuilder::new(&mut interner);
        for ev in &events {
            builder.event(*ev);
        }
        builder.finish()
    };
    g.bench_function("rules", |b| {
        let active: Vec<&'static str> = rules::registry().iter().map(|r| r.meta().code).collect();
        let cx = RuleContext {
            graph: &graph,
            interner: &interner,
            style: HandleStyle::Fd,
            thresholds: rules::Thresholds::default(),
            active: &active,
        };
        b.iter(|| rules::run(&cx, rules::registry()).len())
    });
    g.finish();

    // Report: a trace with many findings (one close_range double close per
    // three lines), so that the cost is the reporter's.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("findings.log");
    {
        let mut f = std::fs::File::create(&path).expect("create");
        for _ in 0..20_000 {
            f.write_all(
                b"1000 openat(AT_FDCWD, \"/etc/hostname\", O_RDONLY) = 3\n\
                  1000 close_range(3, 3, 0) = 0\n1000 close_range(3, 3, 0) = 0\n",
            )
            .expect("write");
        }
    }
    let path = path.to_string_lossy().into_owned();
    let analysis = analyze(std::slice::from_ref(&path), &Options::default()).expect("analyze");
    let findings: Vec<_> = analysis.findings.iter().collect();
    let mut g = c.benchmark_group("report");
    g.sample_size(10)
        .throughput(Throughput::Elements(findings.len() as u64));
    g.bench_function("json", |b| {
        b.iter(|| handlecheck::report::json::render(&analysis, &findings).len())
    });
    g.finish();
}

/// The pathological shapes at the sizes the issue names, written by
/// benches/pathological.py (needs python3).
fn pathological(c: &mut Criterion) {
    let cases: &[(&str, u64)] = &[
        ("open_close", 10_000_000),
        ("threads", 100_000),
        ("live_fds", 1_000_000),
        ("forks", 400),
        ("short_procs", 80_000),
        ("close_range", 100_000),
        ("long_line", 100_000_000),
        ("bad_close", 1_000_000),
    ];
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/pathological.py");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut g = c.benchmark_group("pathological");
    g.sample_size(10).measurement_time(Duration::from_secs(30));
    for (case, n) in cases {
        let path = dir.path().join(format!("{case}.log"));
        let out = std::fs::File::create(&path).expect("create");
        let ok = std::process::Command::new("python3")
            .arg(&script)
            .arg(case)
            .arg(n.to_string())
            .stdout(out)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("skipping {case}: benches/pathological.py failed (python3 missing?)");
            continue;
        }
        let p = path.to_string_lossy().into_owned();
        g.bench_with_input(BenchmarkId::new(*case, n), &p, |b, p| {
            b.iter(|| {
                analyze(std::slice::from_ref(p), &Options::default())
                    .expect("analyze")
                    .findings
                    .len()
            })
        });
        let _ = std::fs::remove_file(&path);
    }
    g.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    if std::env::var_os("HC_BENCH_PATHOLOGICAL").is_some() {
        pathological(&mut c);
    } else {
        stages(&mut c);
    }
    c.final_summary();
}
