//! `handlecheck run` with the real strace: exit status (`--exit-from`), the
//! report kept out of the command's stdout, SIGINT, and clear errors for a
//! missing program, a missing strace and ptrace not permitted.

use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use assert_cmd::cargo::CommandCargoExt;
use predicates::prelude::*;

fn have_strace() -> bool {
    let ok = std::process::Command::new("strace")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("SKIP: strace is not installed");
    }
    ok
}

fn hc() -> Command {
    let mut c = Command::cargo_bin("handlecheck").unwrap();
    c.env("NO_COLOR", "1").env_remove("GITHUB_STEP_SUMMARY");
    c
}

/// Closes fd 3 twice: one HC001 (a note in a single-threaded program).
const DOUBLE_CLOSE: &str = "exec 3</etc/hostname; exec 3<&-; exec 3<&-; true";

#[test]
fn run_exits_with_the_commands_status_unless_the_analysis_fails() {
    if !have_strace() {
        return;
    }
    // Nothing at --fail-on: the command's own status.
    hc().args(["run", "-q", "--", "sh", "-c", "exit 3"])
        .assert()
        .code(3);
    hc().args(["run", "-q", "--", "true"]).assert().code(0);
    // --exit-from analysis: the analysis only.
    hc().args([
        "run",
        "-q",
        "--exit-from",
        "analysis",
        "--",
        "sh",
        "-c",
        "exit 3",
    ])
    .assert()
    .code(0);
    // A finding at --fail-on: 1, whatever the command returned ...
    hc().args([
        "run",
        "-q",
        "--fail-on",
        "note",
        "--",
        "bash",
        "-c",
        DOUBLE_CLOSE,
    ])
    .assert()
    .code(1);
    // ... unless --exit-from child.
    hc().args(["run", "-q", "--fail-on", "note", "--exit-from", "child"])
        .args(["--", "bash", "-c", &format!("{DOUBLE_CLOSE}; exit 4")])
        .assert()
        .code(4);
    // Killed by a signal: 128 + N, as a shell reports it.
    hc().args(["run", "-q", "--", "sh", "-c", "kill -TERM $$"])
        .assert()
        .code(128 + 15);
}

#[test]
fn the_report_never_mixes_with_the_commands_stdout() {
    if !have_strace() {
        return;
    }
    let out = hc()
        .args(["run", "-f", "json", "--fail-on", "never", "--"])
        .args([
            "bash",
            "-c",
            &format!("echo from-the-command; {DOUBLE_CLOSE}"),
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "from-the-command\n");
    let err = String::from_utf8_lossy(&out.stderr);
    let json_start = err.find("{\n").expect("the json report is on stderr");
    let v: serde_json::Value = serde_json::Deserializer::from_str(&err[json_start..])
        .into_iter()
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(v["findings"][0]["code"], "HC001");
    // The temporary trace has a stable name in reports.
    assert_eq!(v["inputs"][0]["path"], "handlecheck-run/bash.strace");
    // -o: the report in the file, stderr free of it.
    let dir = tempfile::tempdir().unwrap();
    let o = dir.path().join("r.json");
    let out = hc()
        .args(["run", "-q", "-f", "json", "--fail-on", "never", "-o"])
        .arg(&o)
        .args(["--", "echo", "hi"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hi\n");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&o).unwrap()).unwrap();
    assert_eq!(v["version"], 1);
}

#[test]
fn clear_errors_for_a_missing_program_strace_or_ptrace() {
    if !have_strace() {
        return;
    }
    hc().args(["run", "--", "no-such-program-hc"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("`no-such-program-hc`: not found in PATH")
                .and(predicate::str::contains("2>&1").not()),
        );
    hc().args(["run", "--", "/no/such/program"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("/no/such/program"));
    // No strace in PATH (the program is named by its full path).
    hc().env("PATH", "/nonexistent")
        .args(["run", "--", "/bin/true"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("strace is not installed"));
    // ptrace refused: a process already traced (by an outer strace -f) cannot be traced again.
    let bin = assert_cmd::cargo::cargo_bin("handlecheck");
    let out = std::process::Command::new("strace")
        .args(["-f", "-o", "/dev/null"])
        .arg(&bin)
        .args(["run", "--", "/bin/true"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("ptrace is not permitted"), "{err}");
}

/// Starts `run -- sleep 60` in its own process group, waits until strace
/// records the sleep, sends SIGINT (to the group, as a terminal's Ctrl-C, or to
/// handlecheck alone) and returns (status, stderr, files left in TMPDIR).
fn interrupt(group: bool) -> (Option<i32>, String, usize) {
    let tmp = tempfile::tempdir().unwrap();
    let mut cmd = std::process::Command::cargo_bin("handlecheck").unwrap();
    cmd.env("NO_COLOR", "1")
        .env("TMPDIR", tmp.path())
        .args(["run", "-f", "json", "--", "sleep", "60"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    // A foreground job's dispositions, even when the tests run as a
    // background job (which ignores SIGINT and SIGQUIT).
    // SAFETY: signal(2) only, between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            libc::signal(libc::SIGQUIT, libc::SIG_DFL);
            Ok(())
        });
    }
    let child = cmd.spawn().unwrap();
    let started = Instant::now();
    loop {
        let recording = std::fs::read_dir(tmp.path()).unwrap().any(|e| {
            let t = e.unwrap().path().join("trace.log");
            std::fs::read_to_string(t).is_ok_and(|s| s.contains("nanosleep"))
        });
        if recording {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "strace never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = child.id() as i32;
    // SAFETY: kill(2) on the process (group) we just created.
    unsafe {
        libc::kill(if group { -pid } else { pid }, libc::SIGINT);
    }
    let out = child.wait_with_output().unwrap();
    let left = std::fs::read_dir(tmp.path()).unwrap().count();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        left,
    )
}

#[test]
fn sigint_stops_the_command_and_the_recording_is_analysed() {
    if !have_strace() {
        return;
    }
    for group in [true, false] {
        let (code, err, left) = interrupt(group);
        // The command died of SIGINT (130 = 128 + 2), not of old age.
        assert_eq!(code, Some(128 + 2), "group={group}: {err}");
        assert!(err.contains("interrupted"), "{err}");
        assert!(
            err.contains("\"findings\""),
            "the recording was analysed: {err}"
        );
        assert!(err.contains("--keep-trace"), "{err}");
        assert_eq!(left, 0, "no trace left behind in TMPDIR");
    }
}
