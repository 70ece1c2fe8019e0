//! Hostile names and hostile surroundings: a trace file name holding ESC,
//! BEL, U+202E, quotes, `<`, `&` and a newline, escaped correctly in every
//! output format; closed stdout/stderr; atomic report files; `--threads`
//! bounds; FIFOs and process substitution (evidence never re-opened by path).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Stdio};

use assert_cmd::Command;

const TRACE: &str = "fixtures/strace/samples/double_close/trace-k.log";
const HOSTILE: &str = "evil\u{1b}[31m\u{7}\u{202e}\"<&>'\nname.log";

fn hc() -> Command {
    let mut c = Command::cargo_bin("handlecheck").unwrap();
    c.env("NO_COLOR", "1")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("CLICOLOR_FORCE")
        .args(["--color", "never"]);
    c
}

fn fixture(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

/// A temp dir holding the HC001 trace under the hostile name.
fn hostile_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixture(TRACE), dir.path().join(HOSTILE)).unwrap();
    dir
}

fn run(dir: &tempfile::TempDir, format: &str) -> (String, String) {
    let out = hc()
        .current_dir(dir.path())
        .args(["analyze", "--no-config", "--fail-on", "never", "-f", format])
        .arg(HOSTILE)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{format}: {out:?}");
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn no_raw_controls(what: &str, text: &str) {
    for c in text.chars() {
        let bad = (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        assert!(!bad, "{what}: raw {c:?} in {text:?}");
    }
}

fn strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        serde_json::Value::Object(o) => o.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

#[test]
fn human_output_neutralises_the_name() {
    let dir = hostile_dir();
    let (out, err) = run(&dir, "human");
    no_raw_controls("stdout", &out);
    no_raw_controls("stderr", &err);
    assert!(out.contains("evil\u{FFFD}[31m"), "{out}");
    assert!(out.contains("HC001"), "{out}");
}

#[test]
fn json_and_gitlab_keep_the_exact_name() {
    let dir = hostile_dir();
    for format in ["json", "gitlab"] {
        let (out, _) = run(&dir, format);
        // JSON escapes every C0 control character; the name round-trips exactly.
        assert!(!out.chars().any(|c| c.is_control() && c != '\n'), "{out}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let mut all = Vec::new();
        strings(&v, &mut all);
        assert!(all.iter().any(|s| s == HOSTILE), "{format}: {all:?}");
    }
}

#[test]
fn sarif_uri_is_percent_encoded() {
    let dir = hostile_dir();
    let (out, _) = run(&dir, "sarif");
    no_raw_controls("sarif", &out);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let uri =
        v["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .to_string();
    assert_eq!(uri, "evil%1B%5B31m%07%E2%80%AE%22%3C&%3E'%0Aname.log");
}

#[test]
fn junit_is_well_formed_xml() {
    let dir = hostile_dir();
    let (out, _) = run(&dir, "junit");
    no_raw_controls("junit", &out);
    let doc = roxmltree::Document::parse(&out).expect("well-formed XML");
    // The markup characters survive as text; ESC and BEL cannot exist in XML 1.0.
    let texts: String = doc
        .descendants()
        .flat_map(|n| {
            n.attributes()
                .map(|a| a.value().to_string())
                .chain(n.text().map(str::to_string))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(texts.contains("\"<&>'\nname.log"), "{texts}");
}

#[test]
fn github_commands_stay_one_line_each() {
    let dir = hostile_dir();
    let summary = dir.path().join("summary.md");
    let out = hc()
        .current_dir(dir.path())
        .env("GITHUB_STEP_SUMMARY", &summary)
        .args([
            "analyze",
            "--no-config",
            "--fail-on",
            "never",
            "-f",
            "github",
        ])
        .arg(HOSTILE)
        .output()
        .unwrap();
    let out = String::from_utf8(out.stdout).unwrap();
    no_raw_controls("github", &out);
    let commands: Vec<&str> = out.lines().filter(|l| l.starts_with("::")).collect();
    assert!(!commands.is_empty(), "{out}");
    for c in &commands {
        // The newline of the name is escaped in the file= property, so the
        // command cannot end early or inject a second one.
        assert!(c.contains("file=evil"), "{c}");
        assert!(c.contains("%0Aname.log"), "{c}");
    }
    // The job summary (Markdown with HTML) escapes markup.
    let md = std::fs::read_to_string(&summary).unwrap();
    no_raw_controls("summary", &md);
    assert!(!md.contains("\"<&>"), "{md}");
    assert!(md.contains("&lt;&amp;&gt;"), "{md}");
}

#[test]
fn error_messages_neutralise_the_name() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(HOSTILE), b"\x00\x01 not a trace\n").unwrap();
    let out = hc()
        .current_dir(dir.path())
        .args(["analyze", "--no-config"])
        .arg(HOSTILE)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    no_raw_controls("stderr", &err);
    assert!(err.contains("evil\u{FFFD}[31m"), "{err}");
}

#[test]
fn config_errors_neutralise_the_snippet() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("handlecheck.toml"),
        "[rules]\nHC001 = \"\u{1b}]0;pwned\u{7}\u{202e}\"\n",
    )
    .unwrap();
    let out = hc()
        .current_dir(dir.path())
        .arg("analyze")
        .arg(fixture(TRACE))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    no_raw_controls("stderr", &err);
    assert!(err.contains("]0;pwned"), "{err}");
}

#[test]
fn baseline_errors_and_stale_entries_neutralise_their_text() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bad.json"),
        "{\"version\":1,\"tool\":\"\\u001b[2J\",\"entries\":[]}",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("stale.json"),
        "{\"version\":1,\"tool\":\"handlecheck\",\"entries\":[{\"fingerprint\":\"\\u001b[2Jx\u{202e}\",\"code\":\"HC001\"}]}",
    )
    .unwrap();
    // The trace's double close is an error (exit 1) once the baseline loads.
    for (name, code) in [("bad.json", 2), ("stale.json", 1)] {
        let out = hc()
            .current_dir(dir.path())
            .args(["analyze", "--no-config", "--baseline", name])
            .arg(fixture(TRACE))
            .output()
            .unwrap();
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(code), "{name}: {err}");
        no_raw_controls(name, &err);
        assert!(err.contains("[2J"), "{name}: {err}");
    }
}

/// A child whose stdout (or stderr) is a pipe whose reader has gone.
fn with_closed(stream: &str, args: &[&str]) -> (Option<i32>, String) {
    let bin = assert_cmd::cargo::cargo_bin("handlecheck");
    let mut cmd = StdCommand::new(bin);
    cmd.args(args).env("NO_COLOR", "1");
    let (r, w) = std::io::pipe().unwrap();
    drop(r);
    let mut other = String::new();
    let status = if stream == "stdout" {
        let mut child = cmd.stdout(w).stderr(Stdio::piped()).spawn().unwrap();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut other)
            .unwrap();
        child.wait().unwrap()
    } else {
        let mut child = cmd.stderr(w).stdout(Stdio::piped()).spawn().unwrap();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut other)
            .unwrap();
        child.wait().unwrap()
    };
    (status.code(), other)
}

#[test]
fn closed_stdout_ends_quietly_with_0() {
    for args in [
        vec!["rules"],
        vec!["explain", "HC001"],
        vec!["completions", "bash"],
    ] {
        let (code, err) = with_closed("stdout", &args);
        assert_eq!(code, Some(0), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    let trace = fixture(TRACE);
    let (code, err) = with_closed(
        "stdout",
        &[
            "analyze",
            "--no-config",
            "--fail-on",
            "never",
            trace.to_str().unwrap(),
        ],
    );
    assert_eq!(code, Some(0), "{err}");
}

#[test]
fn closed_stderr_still_exits_2_on_an_error() {
    let (code, out) = with_closed("stderr", &["analyze", "/nonexistent/trace.log"]);
    assert_eq!(code, Some(2), "{out}");
    let (code, _) = with_closed("stderr", &["explain", "HC999"]);
    assert_eq!(code, Some(2));
}

#[test]
fn reports_are_replaced_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("r.sarif");
    let extra = dir.path().join("r.json");
    std::fs::write(&report, "old").unwrap();
    hc().current_dir(dir.path())
        .args([
            "analyze",
            "--no-config",
            "--fail-on",
            "never",
            "-f",
            "sarif",
            "-o",
        ])
        .arg(&report)
        .arg("--report")
        .arg(format!("json={}", extra.display()))
        .arg(fixture(TRACE))
        .assert()
        .code(0);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(v["version"], "2.1.0");
    serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(&extra).unwrap()).unwrap();
    // Nothing but the two reports is left in the directory (no temp files).
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["r.json", "r.sarif"]);
    // A report that cannot be written leaves the old file untouched.
    let locked = dir.path().join("sub");
    std::fs::create_dir(&locked).unwrap();
    hc().current_dir(dir.path())
        .args(["analyze", "--no-config", "-o"])
        .arg(locked.join("missing-dir").join("x.txt"))
        .arg(fixture(TRACE))
        .assert()
        .code(2);
    // `-o /dev/null` writes in place and does not replace the device.
    hc().args([
        "analyze",
        "--no-config",
        "--fail-on",
        "never",
        "-o",
        "/dev/null",
    ])
    .arg(fixture(TRACE))
    .assert()
    .code(0);
    assert!(!Path::new("/dev/null").is_file());
}

#[test]
fn threads_are_bounded() {
    let out = hc()
        .args(["analyze", "--threads", "100000"])
        .arg(fixture(TRACE))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("at most 256 worker threads"),
        "{out:?}"
    );
    hc().args([
        "analyze",
        "--no-config",
        "--fail-on",
        "never",
        "--threads",
        "256",
    ])
    .arg(fixture(TRACE))
    .assert()
    .code(0);
}

/// Runs `analyze` on a FIFO fed by a writer thread; returns stdout.
fn analyze_fifo(data: Vec<u8>, format: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("trace.fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let writer_path = fifo.clone();
    let writer = std::thread::spawn(move || {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(writer_path)
            .unwrap();
        std::io::Write::write_all(&mut f, &data).unwrap();
    });
    let out = hc()
        .args(["analyze", "--no-config", "--fail-on", "never", "-f", format])
        .arg(&fifo)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    writer.join().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_fifo_is_read_once_and_its_evidence_kept() {
    let strace = std::fs::read(fixture(TRACE)).unwrap();
    let out = analyze_fifo(strace, "human");
    assert!(out.contains("HC001"), "{out}");
    assert!(out.contains("close("), "{out}");
    assert!(!out.contains("<line not available>"), "{out}");
    // A whole-buffer format (JSON lines) through a FIFO, too.
    let jsonl = std::fs::read(fixture(
        "fixtures/jsonl/rules/hc004_namespace_collision.jsonl",
    ))
    .unwrap();
    let out = analyze_fifo(jsonl, "human");
    assert!(out.contains("HC004"), "{out}");
    assert!(!out.contains("<line not available>"), "{out}");
}

#[test]
fn process_substitution_shows_its_evidence() {
    if StdCommand::new("bash")
        .arg("-c")
        .arg("true")
        .status()
        .is_err()
    {
        eprintln!("skipped: no bash for <(...)");
        return;
    }
    let bin = assert_cmd::cargo::cargo_bin("handlecheck");
    let out = StdCommand::new("bash")
        .arg("-c")
        .arg(format!(
            "NO_COLOR=1 timeout 60 '{}' analyze --no-config --fail-on never <(cat '{}')",
            bin.display(),
            fixture(TRACE).display()
        ))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let out = String::from_utf8(out.stdout).unwrap();
    assert!(out.contains("HC001"), "{out}");
    assert!(!out.contains("<line not available>"), "{out}");
}
