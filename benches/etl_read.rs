//! ETL reader throughput: `cargo bench --bench etl_read`.
//!
//! Prints MB/s of buffer data (inflated record bytes, the work the reader
//! does) and of file bytes, for `stats` and `read`, over the real samples and a
//! larger file made by repeating the x64 sample's data buffers. Target: ≥ 500
//! MB/s of buffer data. No assertions: numbers are for people.

use std::time::{Duration, Instant};

use handlecheck::formats::etl;
use handlecheck::formats::{ReadContext, ReadStats};
use handlecheck::model::{Event, Interner};

/// A real sample of another project, from ../shared/samples/etl (zipped there;
/// unpacked with `unzip -p`). Never copied into this repository.
fn fixture(name: &str) -> Vec<u8> {
    let zip = format!(
        "{}/../shared/samples/etl/{name}.zip",
        env!("CARGO_MANIFEST_DIR")
    );
    let out = std::process::Command::new("unzip")
        .args(["-p", &zip, "*.etl"])
        .output()
        .unwrap_or_else(|e| {
            panic!("unzip {zip}: {e} (the bench needs ../shared/samples and unzip)")
        });
    assert!(
        out.status.success() && !out.stdout.is_empty(),
        "{zip}: not available (the bench needs ../shared/samples)"
    );
    out.stdout
}

/// The x64 sample with its data buffers (all but the header buffer) repeated `times`.
fn enlarged(times: usize) -> Vec<u8> {
    let base = fixture("perfview_net.4.5.2.x64.etl");
    let first = u32::from_le_bytes(base[0..4].try_into().unwrap()) as usize;
    let mut out = base.clone();
    for _ in 1..times {
        out.extend_from_slice(&base[first..]);
    }
    out
}

fn time<F: FnMut()>(mut f: F) -> Duration {
    f(); // warm up (page cache, thread pool)
    let mut best = Duration::MAX;
    let runs = 5;
    for _ in 0..runs {
        let t = Instant::now();
        f();
        best = best.min(t.elapsed());
    }
    best
}

fn main() {
    let inputs = [
        ("x64 sample", fixture("perfview_net.4.5.2.x64.etl")),
        ("x86 sample", fixture("perfview_net.4.5.2.x86.etl")),
        ("x64 sample ×10", enlarged(10)),
    ];
    println!("threads: {}", rayon::current_num_threads());
    for (name, bytes) in &inputs {
        let s = etl::stats(bytes, name).expect("stats");
        let data_mb = s.record_bytes as f64 / 1e6;
        let file_mb = bytes.len() as f64 / 1e6;
        let d = time(|| {
            std::hint::black_box(etl::stats(bytes, name).unwrap());
        });
        println!(
            "{name:16} stats: {:8.2} ms  {:7.0} MB/s buffer data ({data_mb:.1} MB)  {:6.0} MB/s file ({file_mb:.1} MB)",
            d.as_secs_f64() * 1e3,
            data_mb / d.as_secs_f64(),
            file_mb / d.as_secs_f64()
        );
        let d = time(|| {
            let mut interner = Interner::new();
            let mut sink: Vec<Event> = Vec::new();
            let mut stats = ReadStats::default();
            let mut ctx = ReadContext {
                input: 0,
                interner: &mut interner,
                sink: &mut sink,
                stats: &mut stats,
            };
            etl::read(bytes, name, &mut ctx).unwrap();
            std::hint::black_box(sink.len());
        });
        println!(
            "{name:16} read:  {:8.2} ms  {:7.0} MB/s buffer data  {:6.0} MB/s file",
            d.as_secs_f64() * 1e3,
            data_mb / d.as_secs_f64(),
            file_mb / d.as_secs_f64()
        );
    }
}
