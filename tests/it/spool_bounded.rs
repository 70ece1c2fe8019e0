//! The evidence spool of a pipe keeps only what can still be cited: every
//! strace fixture and sample piped through stdin, plain and gzip-compressed,
//! with segments so small that dozens are dropped on each trace, gives the
//! very output (json, sarif, human with its evidence lines, junit, github,
//! gitlab, stderr, exit code) of the spool that keeps the whole stream, with
//! one and two threads.

use std::io::Write;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

use crate::common::shared::sample_path;

/// Hidden knob of the spool: segment length in bytes; `0` keeps the whole
/// stream (the reference).
const SEGMENT_ENV: &str = "HANDLECHECK_SPOOL_SEGMENT";

/// What one run produced.
#[derive(PartialEq, Eq)]
struct Outputs {
    code: Option<i32>,
    human: Vec<u8>,
    stderr: Vec<u8>,
    json: Vec<u8>,
    sarif: Vec<u8>,
    /// junit, github and gitlab, one after the other.
    ci: Vec<u8>,
}

fn run(stdin: &[u8], threads: u32, segment: u64, dir: &Path) -> Outputs {
    let json = dir.join("out.json");
    let sarif = dir.join("out.sarif");
    let ci = ["junit", "github", "gitlab"].map(|f| dir.join(format!("out.{f}")));
    let out = Command::cargo_bin("handlecheck")
        .unwrap()
        .current_dir(dir)
        .env(SEGMENT_ENV, segment.to_string())
        .env_remove("HANDLECHECK_SPOOL_STATS")
        .args([
            "analyze",
            "--no-config",
            "--color",
            "never",
            "--format",
            "human",
        ])
        .arg(format!("--threads={threads}"))
        .arg(format!("--report=json={}", json.display()))
        .arg(format!("--report=sarif={}", sarif.display()))
        .arg(format!("--report=junit={}", ci[0].display()))
        .arg(format!("--report=github={}", ci[1].display()))
        .arg(format!("--report=gitlab={}", ci[2].display()))
        .arg("-")
        .write_stdin(stdin.to_vec())
        .output()
        .unwrap();
    Outputs {
        code: out.status.code(),
        human: out.stdout,
        stderr: out.stderr,
        json: std::fs::read(&json).unwrap_or_default(),
        sarif: std::fs::read(&sarif).unwrap_or_default(),
        ci: ci
            .iter()
            .flat_map(|p| std::fs::read(p).unwrap_or_default())
            .collect(),
    }
}

/// The first differing line of two outputs, for the failure message.
fn first_difference(a: &[u8], b: &[u8]) -> String {
    let a = String::from_utf8_lossy(a);
    let b = String::from_utf8_lossy(b);
    for (i, (x, y)) in a.lines().zip(b.lines()).enumerate() {
        if x != y {
            return format!("line {}:\n  full spool: {x}\n  bounded:    {y}", i + 1);
        }
    }
    format!("lengths {} and {}", a.len(), b.len())
}

fn assert_same(name: &str, what: &str, want: &Outputs, got: &Outputs) {
    for (part, w, g) in [
        ("human", &want.human, &got.human),
        ("stderr", &want.stderr, &got.stderr),
        ("json", &want.json, &got.json),
        ("sarif", &want.sarif, &got.sarif),
        ("junit, github, gitlab", &want.ci, &got.ci),
    ] {
        assert!(
            w == g,
            "{name} ({what}): {part} differs from the full spool's: {}",
            first_difference(w, g)
        );
    }
    assert_eq!(want.code, got.code, "{name} ({what}): exit code");
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(bytes), &mut out).unwrap();
    out
}

/// Trace files (`.log`, `.log.gz`) under `dir`, sorted.
fn traces_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            traces_under(&p, out);
        } else if p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with(".log") || n.ends_with(".log.gz"))
        {
            out.push(p);
        }
    }
}

/// A segment length that drops dozens of segments of this trace, and cuts
/// lines anywhere (odd, not a power of two).
fn tiny_segment(len: usize) -> u64 {
    ((len / 64).max(97) | 1) as u64
}

fn check(path: &Path, dir: &Path) -> usize {
    let raw = std::fs::read(path).unwrap();
    let plain = if raw.starts_with(&[0x1f, 0x8b]) {
        gunzip(&raw)
    } else {
        raw
    };
    let name = path.display().to_string();
    let segment = tiny_segment(plain.len());
    let gz = gzip(&plain);
    // Output is the same for every thread count (tested elsewhere): one
    // reference serves both.
    let reference = run(&plain, 1, 0, dir);
    assert!(
        !reference.human.is_empty() || reference.code == Some(2),
        "{name}: no output"
    );
    let mut compared = 0;
    for threads in [1, 2] {
        for (what, input) in [("stdin", &plain), ("gzip stdin", &gz)] {
            let got = run(input, threads, segment, dir);
            let label = format!("{what}, --threads {threads}, segments of {segment} bytes");
            assert_same(&name, &label, &reference, &got);
            compared += 1;
        }
    }
    compared
}

#[test]
fn bounded_spool_output_is_the_full_spools_for_every_strace_fixture_and_sample() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut traces = Vec::new();
    traces_under(&root.join("fixtures/strace"), &mut traces);
    assert!(traces.len() > 100, "fixtures not found");
    for sub in ["strace", "strace-big"] {
        let dir = sample_path(sub);
        if dir.is_dir() {
            traces_under(&dir, &mut traces);
        } else {
            eprintln!(
                "skipping the shared samples in {}: not available",
                dir.display()
            );
        }
    }
    let work = tempfile::tempdir().unwrap();
    let mut compared = 0;
    let mut with_findings = 0;
    for path in &traces {
        compared += check(path, work.path());
        if std::fs::read(work.path().join("out.json"))
            .ok()
            .is_some_and(|j| String::from_utf8_lossy(&j).contains("\"code\": \"HC"))
        {
            with_findings += 1;
        }
    }
    // The comparison would prove nothing on traces with no evidence shown.
    assert!(
        with_findings > 20,
        "only {with_findings} traces with findings"
    );
    eprintln!("{} traces, {compared} comparisons", traces.len());
}

/// The spool really drops what it is meant to: on a trace of many
/// short-lived fds, the disk high-water mark with small segments is a
/// fraction of the stream, and the evidence lines still come back.
#[test]
fn disk_use_follows_what_can_be_cited_not_the_stream_length() {
    let mut trace = String::new();
    // 400,000 opens and closes of fd 3 (37 MB), then one double close.
    for i in 0..400_000u32 {
        trace.push_str(&format!(
            "100 openat(AT_FDCWD, \"/tmp/f{i}\", O_RDONLY) = 3\n100 read(3, \"\", 4096) = 0\n100 close(3) = 0\n"
        ));
    }
    trace.push_str("100 close(3) = -1 EBADF (Bad file descriptor)\n100 +++ exited with 0 +++\n");
    for threads in ["1", "2"] {
        let out = Command::cargo_bin("handlecheck")
            .unwrap()
            .env(SEGMENT_ENV, "65536")
            .env("HANDLECHECK_SPOOL_STATS", "1")
            .args([
                "analyze",
                "--no-config",
                "--format",
                "json",
                "--threads",
                threads,
                "-",
            ])
            .write_stdin(trace.clone())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let peak: u64 = stderr
            .split("peak disk ")
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no spool statistics in {stderr}"));
        // What is written before a segment can go is bounded by the read
        // ahead (the line reader's reads of up to 1 MiB from a pipe; the
        // parallel reader's window of 1 MiB blocks), not by the 37 MB of the
        // stream (measured: 1.1 MB and 12.6 MB, the same for 187 MB).
        let bound = if threads == "1" { 3 << 20 } else { 16 << 20 };
        assert!(
            peak < bound,
            "--threads {threads}: peak disk {peak} of {} bytes",
            trace.len()
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let texts: Vec<&str> = json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|f| f["locations"].as_array().unwrap())
            .filter_map(|l| l["text"].as_str())
            .collect();
        assert!(
            texts.iter().any(|t| t.contains("close(3) = -1 EBADF")),
            "{texts:?}"
        );
        assert!(
            texts.iter().all(|t| !t.is_empty()),
            "a label without its line: {texts:?}"
        );
    }
}

/// The fuzzers' kept strace inputs (hostile, cut, binary, `-k` frames cut
/// off, calls cut by program output) piped with 13-byte segments, so that
/// nearly every line is dropped or kept on its own, give the full spool's
/// output too.
#[test]
fn bounded_spool_output_is_the_full_spools_for_the_fuzzers_kept_inputs() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut inputs = Vec::new();
    for sub in [
        "corpus/end_to_end",
        "corpus/strace_stream",
        "regressions/strace_stream",
        "regressions/strace_line",
    ] {
        let Ok(entries) = std::fs::read_dir(root.join(sub)) else {
            continue;
        };
        let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        files.sort();
        inputs.extend(files.into_iter().filter(|p| p.is_file()));
    }
    assert!(
        inputs.len() > 100,
        "fuzz inputs not found: {}",
        inputs.len()
    );
    let work = tempfile::tempdir().unwrap();
    let mut with_findings = 0;
    for path in &inputs {
        let bytes = std::fs::read(path).unwrap();
        let reference = run(&bytes, 1, 0, work.path());
        with_findings +=
            usize::from(String::from_utf8_lossy(&reference.json).contains("\"code\": \"HC"));
        for threads in [1, 2] {
            let got = run(&bytes, threads, 13, work.path());
            let what = format!("--threads {threads}, segments of 13 bytes");
            assert_same(&path.display().to_string(), &what, &reference, &got);
        }
    }
    assert!(
        with_findings > 20,
        "only {with_findings} inputs with findings"
    );
}
