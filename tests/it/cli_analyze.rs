//! The `analyze` command end to end: exit codes, stdin, compressed input,
//! determinism across thread counts, errors that name the input.

use std::io::Write;

use assert_cmd::Command;
use predicates::prelude::*;

fn hc() -> Command {
    Command::cargo_bin("handlecheck").unwrap()
}

const STALE: &str = "fixtures/strace/samples/fd_reuse_stale_write/trace.log";
const CLEAN: &str = "fixtures/strace/clean/git_status/trace.log";

#[test]
fn findings_exit_1_clean_exits_0() {
    hc().args(["analyze", "-q", STALE])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("error[HC004]:"));
    hc().args(["analyze", "-q", CLEAN]).assert().code(0);
}

#[test]
fn fail_on_threshold() {
    // The double_close sample is an error (a double release, whatever the
    // threads); the leak at exit in make_j2 is a note.
    let dc = "fixtures/strace/samples/double_close/trace.log";
    hc().args(["analyze", "-q", dc])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("HC001"));
    hc().args(["analyze", "-q", "--fail-on", "never", dc])
        .assert()
        .code(0);
    let note = "fixtures/strace/clean/make_j2/trace.log";
    hc().args(["analyze", "-q", note]).assert().code(0);
    hc().args(["analyze", "-q", "--fail-on", "note", note])
        .assert()
        .code(1);
    hc().args(["analyze", "-q", "--fail-on", "never", STALE])
        .assert()
        .code(0);
}

#[test]
fn output_is_identical_for_any_thread_count() {
    let files = [
        STALE,
        "fixtures/strace/rules/stale_close_kills_other_thread/trace-k.log",
        "fixtures/strace/clean/make_j2/trace.log",
        "fixtures/strace/rules/timerfd_per_worker/trace.log",
    ];
    for f in files {
        let one = hc()
            .args(["analyze", "--format", "json", "--threads", "1", f])
            .output()
            .unwrap()
            .stdout;
        let four = hc()
            .args(["analyze", "--format", "json", "--threads", "4", f])
            .output()
            .unwrap()
            .stdout;
        assert!(!one.is_empty());
        assert_eq!(one, four, "{f}: output differs between --threads 1 and 4");
        let human1 = hc()
            .args(["analyze", "--threads", "1", f])
            .output()
            .unwrap()
            .stdout;
        let human3 = hc()
            .args(["analyze", "--threads", "3", f])
            .output()
            .unwrap()
            .stdout;
        assert_eq!(human1, human3, "{f}: human output differs");
    }
}

#[test]
fn stdin_gives_the_same_findings_and_shows_evidence() {
    let data = std::fs::read(STALE).unwrap();
    let from_file = hc()
        .args(["analyze", "--format", "json", STALE])
        .output()
        .unwrap()
        .stdout;
    let from_pipe = hc()
        .args(["analyze", "--format", "json", "-"])
        .write_stdin(data)
        .output()
        .unwrap()
        .stdout;
    let file: serde_json::Value = serde_json::from_slice(&from_file).unwrap();
    let pipe: serde_json::Value = serde_json::from_slice(&from_pipe).unwrap();
    assert_eq!(
        file["findings"].as_array().unwrap().len(),
        pipe["findings"].as_array().unwrap().len()
    );
    let texts: Vec<&str> = pipe["findings"][0]["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["text"].as_str().unwrap())
        .collect();
    // Evidence lines come back from the spooled stdin.
    assert!(texts.iter().all(|t| t.contains("32374")), "{texts:?}");
}

#[test]
fn gzip_input_is_read_transparently() {
    let data = std::fs::read(STALE).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("trace.log.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    enc.write_all(&data).unwrap();
    enc.finish().unwrap();
    hc().args(["analyze", "-q"])
        .arg(&gz)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("sendto(3"));
}

#[test]
fn empty_and_missing_inputs_exit_2_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.log");
    std::fs::write(&empty, b"").unwrap();
    hc().args(["analyze"])
        .arg(&empty)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("empty").and(predicate::str::contains("2>&1")));
    hc().args(["analyze", "-"])
        .write_stdin("")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("-o /dev/stderr"));
    hc().args(["analyze", "no/such/trace.log"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no/such/trace.log"));
    hc().args(["analyze", "--select", "HC999", STALE])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("HC999"));
    hc().args(["analyze"]).assert().code(2);
}

#[test]
fn garbage_is_refused_and_strict_turns_skips_into_errors() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.txt");
    std::fs::write(&junk, b"hello world\nthis is not a trace\n").unwrap();
    hc().args(["analyze"])
        .arg(&junk)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("junk.txt"));
    // A real trace with the program's own stderr mixed in: usable, skips counted.
    let mixed = "fixtures/strace/samples/double_close/trace-stderr.log";
    let out = hc()
        .args(["analyze", "--format", "json", mixed])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let skipped = v["inputs"][0]["skipped"].as_u64().unwrap();
    if skipped > 0 {
        hc().args(["analyze", "--strict", mixed])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("--strict"));
    }
}

#[test]
fn control_characters_from_a_trace_never_reach_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let evil = dir.path().join("evil.log");
    let trace = "100   openat(AT_FDCWD, \"/tmp/x\", O_RDONLY) = 3</tmp/\x1b[31mred\x07>\n\
                 100   close(3</tmp/\x1b[31mred\x07>) = 0\n\
                 100   close(3) = -1 EBADF (Bad file descriptor)\n\
                 100   +++ exited with 0 +++\n";
    std::fs::write(&evil, trace).unwrap();
    let out = hc()
        .args(["analyze", "--color", "never"])
        .arg(&evil)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("HC001"), "{text}");
    assert!(
        !text.contains('\x1b') && !text.contains('\x07'),
        "raw control characters in output"
    );
}

#[test]
fn explain_and_rules() {
    hc().args(["explain", "HC004", "--format", "markdown"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("## What it finds")
                .and(predicate::str::contains("## How to fix")),
        );
    hc().args(["explain", "double-release"])
        .assert()
        .success()
        .stdout(predicate::str::contains("HC001"));
    hc().args(["explain", "HC999"]).assert().code(2);
    let out = hc().args(["rules"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for code in ["HC001", "HC005", "HC011"] {
        assert!(text.contains(code));
    }
}

#[test]
fn config_leak_threshold_reaches_the_leak_rule() {
    let trace = "fixtures/strace/rules/growing_leak/trace.log";
    let default = hc()
        .args(["analyze", "--format", "json", "--no-config", trace])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&default.stdout).unwrap();
    let warned = |v: &serde_json::Value| {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "HC006" && f["level"] == "warning")
    };
    assert!(warned(&v), "the growing leak is a warning by default");
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("handlecheck.toml");
    std::fs::write(&cfg, "[thresholds]\nleak_min = 100000\n").unwrap();
    let raised = hc()
        .args(["analyze", "--format", "json", "--config"])
        .arg(&cfg)
        .arg(trace)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&raised.stdout).unwrap();
    assert!(!warned(&v), "leak_min = 100000 silences it");
}

/// `run` records with the real strace (installed by .ci/run) and analyzes.
#[test]
fn run_records_with_strace_and_analyzes() {
    let dir = tempfile::tempdir().unwrap();
    let kept = dir.path().join("kept.log");
    let script = "exec 3</etc/hostname; exec 3<&-; exec 3<&-; true";
    hc().args(["run", "-q", "--fail-on", "note", "--keep-trace"])
        .arg(&kept)
        .args(["--", "bash", "-c", script])
        .assert()
        .code(1)
        // The report goes to stderr: the command keeps stdout.
        .stderr(predicate::str::contains("[HC001]:").and(predicate::str::contains("close(3)")));
    let trace = std::fs::read_to_string(&kept).unwrap();
    assert!(
        trace.contains("close(3) ") && trace.contains("EBADF"),
        "the kept trace is the real recording"
    );
    // strace cannot start the program: nothing to analyze, exit 2 with a reason.
    hc().args(["run", "--", "/no/such/program"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("/no/such/program"));
}
