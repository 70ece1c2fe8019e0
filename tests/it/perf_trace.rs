//! The perf-trace reader on real `perf trace` recordings (fixtures/perf/, made by
//! fixtures/perf/record.sh from the strace fixtures' programs): each rule fixture
//! gives the strace fixture's findings at its own ground-truth lines, clean
//! programs stay quiet, LOST notices are reported and lower confidence. Tests that
//! read checked-in fixtures always run; tests that record skip, saying why, when
//! perf trace is not permitted here.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command as Std;

use assert_cmd::Command;
use handlecheck::analysis::{Analysis, Options, analyze};
use handlecheck::formats::Format;
use handlecheck::model::{Confidence, Level, Role};
use predicates::prelude::*;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(path: &Path) -> Analysis {
    analyze(&[path.to_string_lossy().into_owned()], &Options::default())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn hc() -> Command {
    Command::cargo_bin("handlecheck").unwrap()
}

/// (code, level) of every finding.
fn kinds(a: &Analysis) -> BTreeSet<(String, Level)> {
    a.findings
        .iter()
        .map(|f| (f.code.to_string(), f.level))
        .collect()
}

fn describe(a: &Analysis) -> String {
    a.findings
        .iter()
        .map(|f| {
            let lines: Vec<u32> = f.labels.iter().map(|l| l.event.origin.line).collect();
            format!("{} {:?} {} lines {lines:?}", f.code, f.level, f.message)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn field<'a>(gt: &'a str, name: &str) -> Option<&'a str> {
    gt.lines().find_map(|l| l.strip_prefix(name))
}

/// Lines of every event in the COMPACT line of `file`.
fn ground_truth_lines(gt: &str, file: &str) -> BTreeSet<u32> {
    let prefix = format!("{file}:");
    let line = gt
        .lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .unwrap_or_else(|| panic!("COMPACT line for {file}"));
    line.split_whitespace()
        .filter_map(|i| i.split_once('=').map(|(_, v)| v))
        .flat_map(|v| v.split('+').filter_map(|n| n.parse().ok()))
        .collect()
}

fn level_of(word: &str) -> Level {
    match word {
        "error" => Level::Error,
        "warning" => Level::Warning,
        _ => Level::Note,
    }
}

#[test]
fn every_perf_rule_fixture_gives_the_strace_findings_at_its_own_lines() {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root().join("fixtures/perf/rules"))
        .unwrap()
        .flatten()
        .map(|d| d.path())
        .collect();
    dirs.sort();
    let mut failures = Vec::new();
    let mut same = 0;
    for dir in &dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let gt = std::fs::read_to_string(dir.join("ground-truth.txt")).unwrap();
        let strace = run(&root().join(format!("fixtures/strace/rules/{name}/trace.log")));
        // Live `perf trace -o` and `perf trace record` + `perf trace -i` (what `run` does).
        for file in ["trace.perf", "trace-record.perf"] {
            let perf = run(&dir.join(file));
            let name = format!("{name}/{file}");
            assert_eq!(perf.inputs[0].format, Format::PerfTrace, "{name}: sniffed");
            let got = kinds(&perf);
            if let Some(differs) = field(&gt, "PERF-DIFFERS: ") {
                // Where perf cannot show what strace does, the ground truth says what it gives.
                let (head, _) = differs.split_once(':').unwrap();
                let expected: BTreeSet<(String, Level)> =
                    match head.split_whitespace().collect::<Vec<_>>()[..] {
                        ["none"] => BTreeSet::new(),
                        [code, level] => [(code.to_string(), level_of(level))].into(),
                        _ => panic!("{name}: PERF-DIFFERS `{head}`"),
                    };
                if got != expected {
                    failures.push(format!(
                        "{name}: PERF-DIFFERS says {expected:?}, got:\n{}",
                        describe(&perf)
                    ));
                }
                continue;
            }
            let want = kinds(&strace);
            if got != want {
                failures.push(format!(
                    "{name}: strace gives {want:?}, perf gives:\n{}",
                    describe(&perf)
                ));
                continue;
            }
            let code = field(&gt, "RULE: ")
                .and_then(|r| r.split_whitespace().next())
                .unwrap();
            let lines = ground_truth_lines(&gt, file);
            // The finding points at a ground-truth line. HC006 groups handles by site, and
            // without paths every file openat of a program is one site, so its first label
            // is the program's first open (ld.so's): there, one of its labels must be.
            let at_line = perf.findings.iter().any(|f| {
                f.code == code
                    && if code == "HC006" {
                        f.labels
                            .iter()
                            .any(|l| lines.contains(&l.event.origin.line))
                    } else {
                        f.primary()
                            .is_some_and(|p| lines.contains(&p.event.origin.line))
                    }
            });
            if !at_line {
                failures.push(format!(
                    "{name}: {code} not at a ground-truth line {lines:?}:\n{}",
                    describe(&perf)
                ));
            }
            same += 1;
        }
    }
    assert!(dirs.len() >= 14, "only {} perf rule fixtures", dirs.len());
    assert!(same >= 24, "only {same} traces match strace");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn clean_programs_recorded_with_perf_stay_quiet() {
    let mut checked = 0;
    for entry in std::fs::read_dir(root().join("fixtures/perf/clean")).unwrap() {
        let path = entry.unwrap().path().join("trace.perf");
        let a = run(&path);
        assert!(
            a.inputs[0].stats.events > 20,
            "{}: events read",
            path.display()
        );
        // bash really closes a pipeline's pipe twice (close(4) = 0, then close(4) =
        // -1 EBADF): a true double release, kept as an error (issue 10), the same
        // finding the strace recording of the same command gives. Anything else
        // at warning or above is a false alarm.
        let loud: Vec<_> = a
            .findings
            .iter()
            .filter(|f| f.level >= Level::Warning)
            .filter(|f| !(f.code == "HC001" && f.message.contains("(pipe) released twice")))
            .collect();
        assert!(loud.is_empty(), "{}:\n{}", path.display(), describe(&a));
        checked += 1;
    }
    assert!(checked >= 3, "only {checked} clean perf traces");
}

#[test]
fn pipe_fds_are_inferred_only_where_the_table_is_known() {
    // close_while_blocked: pipe2's fds are a pointer in perf; the HC009 finding needs
    // them, and says they were inferred.
    let a = run(&root().join("fixtures/perf/rules/close_while_blocked/trace.perf"));
    let f = a
        .findings
        .iter()
        .find(|f| f.code == "HC009")
        .expect("HC009");
    assert!(
        f.notes.iter().any(|n| n.contains("inferred")),
        "{:?}",
        f.notes
    );
    assert_eq!(
        a.inputs[0]
            .stats
            .counters
            .get("perf: pipe/socketpair fds inferred"),
        Some(&2)
    );
    // A trace that lost events infers nothing.
    let lost = run(&root().join("fixtures/perf/lost/growing_leak/trace.perf"));
    assert!(
        !lost.inputs[0]
            .stats
            .counters
            .contains_key("perf: pipe/socketpair fds inferred")
    );
}

#[test]
fn clone3_children_are_judged_by_what_they_do_and_findings_say_so() {
    // Threads (exit(), no execve) share the table: thread B's close finds A's close.
    let a = run(&root().join("fixtures/perf/rules/cross_thread_double_close/trace.perf"));
    let stats = &a.inputs[0].stats;
    assert_eq!(
        stats.counters.get("perf: clone3 children taken as threads"),
        Some(&2)
    );
    let f = a
        .findings
        .iter()
        .find(|f| f.code == "HC001")
        .expect("HC001");
    assert!(
        f.notes
            .iter()
            .any(|n| n.starts_with("clone3 hides its flags")),
        "{:?}",
        f.notes
    );
    let first = f
        .labels
        .iter()
        .find(|l| l.role == handlecheck::model::Role::FirstRelease)
        .unwrap();
    let second = f.primary().unwrap();
    assert!(first.event.time < second.event.time && first.event.tid != second.event.tid);
}

/// The tid of a perf line (`comm/TID name(`), if it is a call line.
fn tid_of(line: &str) -> Option<&str> {
    let rest = line.split_once("): ")?.1;
    let slash = rest.find('/')?;
    rest[slash + 1..].split(' ').next()
}

#[test]
fn findings_come_from_time_order_not_file_order() {
    // Regroup each trace's lines task by task (each task's own lines keep their
    // order, as perf writes them): the file order then has nothing to do with time.
    for name in [
        "cross_thread_double_close",
        "stale_close_kills_other_thread",
        "stale_thread_write",
        "close_while_blocked",
        "clone_files_close",
    ] {
        for file in ["trace.perf", "trace-record.perf"] {
            let path = root().join(format!("fixtures/perf/rules/{name}/{file}"));
            let text = std::fs::read_to_string(&path).unwrap();
            let mut lines: Vec<&str> = text.lines().collect();
            lines.sort_by_key(|l| tid_of(l).and_then(|t| t.parse::<u32>().ok()).unwrap_or(0));
            let dir = tempfile::tempdir().unwrap();
            let regrouped = dir.path().join("regrouped.perf");
            std::fs::write(&regrouped, lines.join("\n")).unwrap();
            let (a, b) = (run(&path), run(&regrouped));
            assert_eq!(
                kinds(&a),
                kinds(&b),
                "{name}/{file}:\n{}\n--\n{}",
                describe(&a),
                describe(&b)
            );
            assert!(!a.findings.is_empty());
        }
    }
}

#[test]
fn lost_events_are_reported_everywhere_and_lower_confidence() {
    let path = "fixtures/perf/lost/growing_leak/trace.perf";
    let a = run(&root().join(path));
    let lost = a.inputs[0].stats.lost.values().sum::<u64>();
    assert!(lost > 0, "the fixture has LOST notices");
    assert!(!a.findings.is_empty());
    for f in &a.findings {
        assert_eq!(f.confidence, Confidence::Low, "{}", f.message);
        assert!(f.notes.iter().any(|n| n.contains("lost")), "{:?}", f.notes);
        if f.code == "HC006" {
            assert_eq!(f.level, Level::Note, "a close not recorded is not a leak");
        }
    }
    // The same program without losses: the leak is a warning.
    let full = run(&root().join("fixtures/perf/rules/growing_leak/trace.perf"));
    assert!(
        full.findings
            .iter()
            .any(|f| f.code == "HC006" && f.level == Level::Warning)
    );
    // Every report says so.
    hc().args(["analyze", "--color", "never", path])
        .assert()
        .stdout(predicate::str::contains(format!(
            "the tracer lost {lost} events"
        )));
    let json = hc().args(["analyze", "-f", "json", path]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert!(
        v["inputs"][0]["lost"]
            .as_object()
            .unwrap()
            .values()
            .any(|n| n.as_u64() == Some(lost))
    );
    for format in ["sarif", "github", "junit", "gitlab"] {
        hc().args(["analyze", "-f", format, path])
            .assert()
            .stdout(predicate::str::contains("lost"));
    }
}

#[test]
fn stderr_of_perf_on_a_pipe_reads_like_the_file() {
    // perf trace without -o writes to stderr; piped in, it reads the same.
    let path = root().join("fixtures/perf/rules/read_after_close/trace.perf");
    let bytes = std::fs::read(&path).unwrap();
    let out = hc()
        .args(["analyze", "-f", "json", "-"])
        .write_stdin(bytes)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["inputs"][0]["format"], "perf-trace");
    assert_eq!(v["findings"][0]["code"], "HC002");
}

#[test]
fn damaged_lines_are_skipped_and_counted_never_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let src =
        std::fs::read_to_string(root().join("fixtures/perf/rules/read_after_close/trace.perf"))
            .unwrap();
    let mut lines: Vec<&str> = src.lines().collect();
    lines.insert(40, "     1.000 ( 0.010 ms): x/1 close(fd: 3");
    lines.insert(41, "\u{1b}[31mgarbage \u{7} line");
    let cut = dir.path().join("cut.perf");
    std::fs::write(&cut, lines.join("\n")).unwrap();
    let a = run(&cut);
    assert_eq!(a.inputs[0].stats.skipped, 2);
    assert!(a.findings.iter().any(|f| f.code == "HC002"));
    hc().args(["analyze", "--strict"])
        .arg(&cut)
        .assert()
        .code(2);
    // Not perf at all, named as perf: a clear error.
    let junk = dir.path().join("junk.txt");
    std::fs::write(&junk, "hello\nworld\n").unwrap();
    hc().args(["analyze", "--input-format", "perf-trace"])
        .arg(&junk)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no perf trace syscall lines"));
}

/// Whether `perf trace` can record here (installed and permitted), else why not.
fn perf_usable() -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let out = Std::new("perf")
        .args(["trace", "-o"])
        .arg(dir.path().join("t"))
        .args(["--", "true"])
        .output()
        .map_err(|e| format!("perf not runnable: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr)
            .lines()
            .take(2)
            .collect::<Vec<_>>()
            .join(" / "))
    }
}

#[test]
fn run_records_with_perf_and_analyzes() {
    if let Err(why) = perf_usable() {
        eprintln!(
            "SKIPPED run_records_with_perf_and_analyzes: perf trace cannot record here: {why}"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let kept = dir.path().join("kept.perf");
    let script = "exec 3</etc/hostname; exec 3<&-; exec 3<&-; true";
    let out = hc()
        .args([
            "run",
            "--recorder",
            "perf",
            "-f",
            "json",
            "--fail-on",
            "note",
            "--keep-trace",
        ])
        .arg(&kept)
        .args(["--", "bash", "-c", script])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // `run` writes its report to stderr: the command keeps stdout.
    let report = String::from_utf8_lossy(&out.stderr);
    let json = &report[report.find("{\n").expect("a JSON report on stderr")..];
    let v: serde_json::Value = serde_json::Deserializer::from_str(json)
        .into_iter::<serde_json::Value>()
        .next()
        .expect("one JSON document")
        .unwrap();
    assert_eq!(v["inputs"][0]["format"], "perf-trace");
    assert!(
        v["inputs"][0]["lost"].as_object().unwrap().is_empty(),
        "the default buffer lost nothing"
    );
    let codes: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["code"].as_str())
        .collect();
    assert!(codes.contains(&"HC001"), "{codes:?}");
    let trace = std::fs::read_to_string(&kept).unwrap();
    assert!(
        trace.contains("close(fd: 3)") && trace.contains("EBADF"),
        "the kept trace is perf's"
    );
    // The command does not inherit perf's output file: bash's own first open is fd 3.
    let first_open = trace
        .lines()
        .find(|l| l.contains(" bash/") && l.contains("openat(") && !l.contains("= -1 "))
        .expect("bash opens files");
    assert!(first_open.trim_end().ends_with("= 3"), "{first_open}");
}

#[test]
fn a_recording_that_lost_events_says_so() {
    if let Err(why) = perf_usable() {
        eprintln!(
            "SKIPPED a_recording_that_lost_events_says_so: perf trace cannot record here: {why}"
        );
        return;
    }
    // One page per CPU cannot hold 20,000 iterations of open+close.
    let out = hc()
        .args([
            "run",
            "--recorder",
            "perf",
            "--perf-pages",
            "1",
            "-f",
            "json",
            "--fail-on",
            "never",
            "--",
        ])
        .args([
            "bash",
            "-c",
            "for i in $(seq 20000); do : < /etc/hostname; done",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("perf lost") && stderr.contains("--perf-pages"),
        "{stderr}"
    );
    // `run` writes its report to stderr (the command keeps stdout).
    let json = &stderr[stderr.find("{\n").expect("a JSON report on stderr")..];
    let v: serde_json::Value = serde_json::Deserializer::from_str(json)
        .into_iter::<serde_json::Value>()
        .next()
        .expect("one JSON document")
        .unwrap();
    let lost: u64 = v["inputs"][0]["lost"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(|n| n.as_u64())
        .sum();
    assert!(lost > 0, "the data file's LOST records reach the trace");
}

#[test]
fn record_system_traces_every_process_and_analyzes_per_process() {
    if let Err(why) = perf_usable() {
        eprintln!(
            "SKIPPED record_system_traces_every_process: perf trace cannot record here: {why}"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("system.perf");
    // Processes started and ended while recording, outside handlecheck's own tree:
    // each double-closes fd 3.
    let mut loop_ = Std::new("bash")
        .args([
            "-c",
            "for i in $(seq 60); do bash -c 'exec 3</etc/hostname; exec 3<&-; exec 3<&-'; sleep 0.2; done",
        ])
        .spawn()
        .unwrap();
    let result = hc()
        .args([
            "record",
            "--system",
            "--duration",
            "3s",
            "--color",
            "never",
            "-o",
        ])
        .arg(&out)
        .output()
        .unwrap();
    let _ = loop_.kill();
    let _ = loop_.wait();
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(result.status.code().is_some_and(|c| c <= 1), "{stderr}");
    let a = run(&out);
    assert_eq!(a.inputs[0].format, Format::PerfTrace);
    let doubles: Vec<_> = a.findings.iter().filter(|f| f.code == "HC001").collect();
    assert!(
        !doubles.is_empty(),
        "HC001 of the short-lived bash processes:
{}",
        describe(&a)
    );
    // Each bash process among the machine's has its own table: the first
    // occurrence (first release, release again) is one process's. The same
    // defect of the same program is one finding (one defect, one finding);
    // the later occurrences add their release-again labels, from other pids.
    let mut pids = BTreeSet::new();
    for f in &doubles {
        let bad: Vec<u32> = f
            .labels
            .iter()
            .filter(|l| l.role == Role::BadRelease)
            .map(|l| l.event.pid)
            .collect();
        let first = f
            .labels
            .iter()
            .find(|l| l.role == Role::FirstRelease)
            .unwrap_or_else(|| panic!("{}: no first release", f.message));
        assert_eq!(bad.first(), Some(&first.event.pid), "{}", f.message);
        pids.extend(bad);
    }
    assert!(pids.len() >= 2, "several of the bash processes: {pids:?}");
    assert!(
        String::from_utf8_lossy(&result.stdout).contains("HC001"),
        "record analyzed the trace"
    );
}

#[test]
fn missing_or_forbidden_perf_gives_clear_errors_and_run_falls_back_to_strace() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    // A PATH with strace and bash but no perf.
    for tool in ["strace", "bash", "true"] {
        if let Ok(p) = which(tool) {
            std::os::unix::fs::symlink(p, bin.join(tool)).unwrap();
        }
    }
    let path = bin.to_string_lossy().into_owned();
    hc().env("PATH", &path)
        .args(["record", "--system", "--duration", "1s", "-o"])
        .arg(dir.path().join("x.perf"))
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("perf is not installed")
                .and(predicate::str::contains("linux-perf")),
        );
    if which("strace").is_ok() {
        hc().env("PATH", &path)
            .args([
                "run",
                "--recorder",
                "perf",
                "-q",
                "--",
                "bash",
                "-c",
                "true",
            ])
            .assert()
            .code(0)
            .stderr(predicate::str::contains("recording with strace instead"));
    }
    // A perf that refuses, as with kernel.perf_event_paranoid = 3 and no privilege.
    let fake = bin.join("perf");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho 'Error: No permissions to read /sys/kernel/tracing/events/raw_syscalls/sys_(enter|exit)' >&2\necho 'Hint: Try '\"'\"'sudo mount -o remount,mode=755 /sys/kernel/tracing/'\"'\"'' >&2\nexit 255\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    hc().env("PATH", &path)
        .env("HANDLECHECK_PERF_EVENT_PARANOID", "3")
        .args(["record", "--system", "--duration", "1s", "-o"])
        .arg(dir.path().join("y.perf"))
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("perf trace is not permitted")
                .and(predicate::str::contains("perf_event_paranoid is 3"))
                .and(predicate::str::contains("No permissions")),
        );
}

fn which(tool: &str) -> Result<PathBuf, ()> {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
        .ok_or(())
}
