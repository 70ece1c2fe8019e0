//! CLI cases for the CI side: every subcommand and format, exit codes, config
//! errors, baselines, extra reports, completions and man pages (and that the
//! checked-in copies are current).

use std::path::Path;
use std::process::Command as StdCommand;

use assert_cmd::Command;
use predicates::prelude::*;

/// A fixture with one finding (HC001 double-release: an error, single-threaded).
/// Tests that need a note-level finding lower it with [`NOTE_CONFIG`].
const NOTE_TRACE: &str = "fixtures/strace/samples/double_close/trace-k.log";
/// Config making NOTE_TRACE's finding a note.
const NOTE_CONFIG: &str = "[rules]\ndouble-release = \"note\"\n";
/// A fixture without findings.
const CLEAN_JSONL: &str = "fixtures/jsonl/rules/ok_orphan_close_at_start.jsonl";
/// A fixture with an error-level finding.
const ERROR_JSONL: &str = "fixtures/jsonl/rules/hc004_namespace_collision.jsonl";

fn hc() -> Command {
    let mut c = Command::cargo_bin("handlecheck").unwrap();
    c.env("NO_COLOR", "1")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("CLICOLOR_FORCE")
        .arg("--color")
        .arg("never");
    c
}

fn abs(p: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(p)
        .to_string_lossy()
        .into_owned()
}

/// Runs in an empty temporary directory (no config is discovered).
fn in_temp(dir: &tempfile::TempDir) -> Command {
    let mut c = hc();
    c.current_dir(dir.path());
    c
}

#[test]
fn usage_errors_exit_2() {
    hc().assert().code(2);
    hc().args(["analyze"]).assert().code(2);
    hc().args(["analyze", "--format", "xml", "x"])
        .assert()
        .code(2);
    hc().args(["analyze", "--report", "sarif", "x"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("FORMAT=PATH"));
    hc().args(["analyze", "--report", "pdf=x.pdf", "x"])
        .assert()
        .code(2);
    hc().args(["analyze", "-q", "-v", "x"]).assert().code(2);
    hc().args(["completions", "tcsh"]).assert().code(2);
    // clap knows the rule codes and names (completions offer them).
    hc().args(["explain", "HC999"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid value 'HC999'"));
}

#[test]
fn unreadable_and_empty_inputs_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("empty.log"), "").unwrap();
    in_temp(&dir)
        .args(["analyze", "empty.log"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("empty"));
    in_temp(&dir)
        .args(["analyze", "missing.log"])
        .assert()
        .code(2);
    in_temp(&dir)
        .args(["analyze", "-"])
        .write_stdin("")
        .assert()
        .code(2);
}

#[test]
fn exit_codes_follow_fail_on() {
    let dir = tempfile::tempdir().unwrap();
    in_temp(&dir)
        .args(["analyze", &abs(CLEAN_JSONL)])
        .assert()
        .code(0);
    // HC001 is an error whatever the threads.
    in_temp(&dir)
        .args(["analyze", &abs(NOTE_TRACE)])
        .assert()
        .code(1);
    // A note: clean under the default --fail-on error, failing under --fail-on note.
    std::fs::write(dir.path().join("handlecheck.toml"), NOTE_CONFIG).unwrap();
    in_temp(&dir)
        .args(["analyze", &abs(NOTE_TRACE)])
        .assert()
        .code(0);
    in_temp(&dir)
        .args(["analyze", "--fail-on", "note", &abs(NOTE_TRACE)])
        .assert()
        .code(1);
    in_temp(&dir)
        .args(["analyze", &abs(ERROR_JSONL)])
        .assert()
        .code(1);
    in_temp(&dir)
        .args(["analyze", "--fail-on", "never", &abs(ERROR_JSONL)])
        .assert()
        .code(0);
}

#[test]
fn rules_explain_completions_man() {
    hc().arg("rules")
        .assert()
        .success()
        .stdout(predicate::str::contains("HC011").and(predicate::str::contains("double-release")));
    hc().args(["explain", "double-release", "--format", "markdown"])
        .assert()
        .success()
        .stdout(predicate::str::contains("## How to fix"));
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        hc().args(["completions", shell])
            .assert()
            .success()
            .stdout(predicate::str::contains("analyze"));
    }
    hc().arg("man").assert().success().stdout(
        predicate::str::starts_with(".ie").or(predicate::str::contains(".TH handlecheck 1")),
    );
    let dir = tempfile::tempdir().unwrap();
    hc().args(["man", "--out-dir"])
        .arg(dir.path())
        .assert()
        .success();
    for page in [
        "handlecheck.1",
        "handlecheck-analyze.1",
        "handlecheck-explain.1",
        "handlecheck-man.1",
    ] {
        assert!(dir.path().join(page).is_file(), "{page}");
    }
}

#[test]
fn every_format_on_a_real_trace() {
    let dir = tempfile::tempdir().unwrap();
    let t = abs(NOTE_TRACE);
    let out = in_temp(&dir)
        .args(["analyze", "-f", "sarif", &t])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["runs"][0]["results"][0]["ruleId"], "HC001");
    assert_eq!(
        v["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"],
        284
    );
    let out = in_temp(&dir)
        .args(["analyze", "-f", "json", &t])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["findings"][0]["code"], "HC001");
    let out = in_temp(&dir)
        .args(["analyze", "-f", "junit", &t])
        .output()
        .unwrap();
    let xml = String::from_utf8(out.stdout).unwrap();
    assert!(roxmltree::Document::parse(&xml).is_ok());
    assert!(xml.contains("<testcase name=\"HC001 double-release\""));
    in_temp(&dir)
        .args(["analyze", "-f", "github", &t])
        .assert()
        .code(1)
        .stdout(predicate::str::starts_with("::error file="));
    let out = in_temp(&dir)
        .args(["analyze", "-f", "gitlab", &t])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["check_name"], "HC001");
    assert_eq!(v[0]["location"]["lines"]["begin"], 284);
    in_temp(&dir)
        .args(["analyze", "-f", "human", &t])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("[HC001]:"));
    // Machine formats keep stdout machine-readable: nothing else is printed there.
    let out = in_temp(&dir)
        .args(["analyze", "-f", "gitlab", "-v", &t])
        .output()
        .unwrap();
    assert!(serde_json::from_slice::<serde_json::Value>(&out.stdout).is_ok());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("lines/records") && err.contains("analysed 1 inputs in"),
        "{err}"
    );
}

#[test]
fn several_reports_in_one_run_and_the_step_summary() {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.md");
    std::fs::write(dir.path().join("handlecheck.toml"), NOTE_CONFIG).unwrap();
    in_temp(&dir)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .args([
            "analyze",
            "-f",
            "github",
            "--report",
            "sarif=out.sarif",
            "--report",
            "junit=out.xml",
            "--report",
            "gitlab=gl.json",
            &abs(NOTE_TRACE),
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("::notice"));
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out.sarif")).unwrap())
            .unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    assert!(
        std::fs::read_to_string(dir.path().join("out.xml"))
            .unwrap()
            .contains("<testsuites")
    );
    assert!(
        std::fs::read_to_string(dir.path().join("gl.json"))
            .unwrap()
            .contains("\"check_name\": \"HC001\"")
    );
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(md.contains("| note | `HC001` double-release |"), "{md}");
}

#[test]
fn config_levels_off_and_allowlists() {
    let dir = tempfile::tempdir().unwrap();
    let t = abs(NOTE_TRACE);
    // Lower HC001 (an error) to a note: the run now passes.
    std::fs::write(dir.path().join("handlecheck.toml"), NOTE_CONFIG).unwrap();
    in_temp(&dir)
        .args(["analyze", "-f", "json", &t])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("\"level\": \"note\""));
    // --no-config ignores it.
    in_temp(&dir)
        .args(["analyze", "--no-config", &t])
        .assert()
        .code(1);
    // Found from a subdirectory too.
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    hc().current_dir(dir.path().join("sub"))
        .args(["analyze", &t])
        .assert()
        .code(0);
    // Off removes it.
    std::fs::write(
        dir.path().join("handlecheck.toml"),
        "[rules]\nHC001 = \"off\"\n",
    )
    .unwrap();
    in_temp(&dir)
        .args(["analyze", "-f", "json", "--fail-on", "note", &t])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("\"findings\": []"));
    // Allowed by resource path (the open's /etc/hostname stands in for the undecorated close).
    std::fs::write(
        dir.path().join("handlecheck.toml"),
        "[allow]\npaths = [\"/etc/*\"]\n",
    )
    .unwrap();
    in_temp(&dir)
        .args(["analyze", "--fail-on", "note", &t])
        .assert()
        .code(0);
    // An explicit --config.
    let other = dir.path().join("other.toml");
    std::fs::write(
        &other,
        "[allow]\nframes = [\"double_close(conf_cleanup*\"]\n",
    )
    .unwrap();
    in_temp(&dir)
        .args(["analyze", "--fail-on", "note", "--config"])
        .arg(&other)
        .arg(&t)
        .assert()
        .code(0);
}

#[test]
fn bad_config_is_an_error_with_a_span_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("handlecheck.toml"),
        "[rules]\nHC006 = \"loud\"\n",
    )
    .unwrap();
    in_temp(&dir)
        .args(["analyze", &abs(NOTE_TRACE)])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("`loud` is not a rule level")
                .and(predicate::str::contains("2 │ HC006 = \"loud\"")),
        );
    std::fs::write(dir.path().join("handlecheck.toml"), "[allow]\npathz = []\n").unwrap();
    in_temp(&dir)
        .args(["analyze", &abs(NOTE_TRACE)])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("pathz"));
    std::fs::write(
        dir.path().join("handlecheck.toml"),
        "[thresholds]\nleak_min = 0\n",
    )
    .unwrap();
    in_temp(&dir)
        .args(["analyze", &abs(NOTE_TRACE)])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("leak_min"));
}

#[test]
fn baseline_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let t = abs(ERROR_JSONL);
    in_temp(&dir)
        .args(["analyze", "--write-baseline", "base.json", &t])
        .assert()
        .code(0);
    let b: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("base.json")).unwrap())
            .unwrap();
    assert_eq!(b["version"], 1);
    assert_eq!(b["entries"][0]["code"], "HC004");
    // Known findings no longer fail the build.
    in_temp(&dir)
        .args(["analyze", "--baseline", "base.json", "-f", "json", &t])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("\"suppressed\": "));
    // A fixed finding shows up as stale: on stderr, and in json and sarif.
    in_temp(&dir)
        .args(["analyze", "--baseline", "base.json", &abs(CLEAN_JSONL)])
        .assert()
        .code(0)
        .stderr(predicate::str::contains("stale entries"));
    let out = in_temp(&dir)
        .args([
            "analyze",
            "--baseline",
            "base.json",
            "-f",
            "sarif",
            &abs(CLEAN_JSONL),
        ])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["runs"][0]["properties"]["baseline"]["stale"][0]["code"],
        "HC004"
    );
    // A broken baseline is an error.
    std::fs::write(dir.path().join("bad.json"), "{").unwrap();
    in_temp(&dir)
        .args(["analyze", "--baseline", "bad.json", &t])
        .assert()
        .code(2);
}

#[test]
fn checked_in_completions_and_man_pages_are_current() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bless = std::env::var_os("HANDLECHECK_BLESS").is_some();
    let mut stale = Vec::new();
    let mut check = |path: std::path::PathBuf, want: &[u8]| {
        if bless {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, want).unwrap();
        } else if std::fs::read(&path).ok().as_deref() != Some(want) {
            stale.push(path.display().to_string());
        }
    };
    // The binary generates them (clap lives only there).
    for (shell, name) in [
        ("bash", "handlecheck.bash"),
        ("zsh", "_handlecheck"),
        ("fish", "handlecheck.fish"),
        ("powershell", "_handlecheck.ps1"),
        ("elvish", "handlecheck.elv"),
    ] {
        let out = hc().args(["completions", shell]).output().unwrap();
        assert!(out.status.success());
        check(root.join("completions").join(name), &out.stdout);
    }
    let pages = man_pages();
    assert!(pages.len() >= 8);
    for (name, text) in &pages {
        check(root.join("man").join(name), text);
    }
    assert!(
        stale.is_empty(),
        "stale generated files (run `HANDLECHECK_BLESS=1 cargo test --test it checked_in`): {stale:?}"
    );
}

#[test]
fn bash_completion_completes_subcommands_and_formats() {
    if StdCommand::new("bash").arg("--version").output().is_err() {
        eprintln!("SKIP: bash is not installed");
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("completions/handlecheck.bash");
    let run = |words: &str, cword: usize, cur: &str, prev: &str| {
        let cmd = format!(
            "source '{}'; COMP_WORDS=({words}); COMP_CWORD={cword}; _handlecheck handlecheck '{cur}' '{prev}'; echo \"${{COMPREPLY[@]}}\"",
            script.display()
        );
        let out = StdCommand::new("bash").arg("-c").arg(cmd).output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let subs = run("handlecheck an", 1, "an", "handlecheck");
    assert!(subs.split_whitespace().any(|w| w == "analyze"), "{subs}");
    let formats = run("handlecheck analyze --format s", 3, "s", "--format");
    assert!(
        formats.split_whitespace().any(|w| w == "sarif"),
        "{formats}"
    );
    // Rule codes and names, not file names.
    let rules = run("handlecheck analyze --select HC00", 3, "HC00", "--select");
    assert!(rules.split_whitespace().any(|w| w == "HC004"), "{rules}");
    let names = run("handlecheck explain namespace", 2, "namespace", "explain");
    assert!(
        names.split_whitespace().any(|w| w == "namespace-collision"),
        "{names}"
    );
}

#[test]
fn man_pages_render_without_warnings() {
    let man_ok = StdCommand::new("man")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let groff_ok = StdCommand::new("groff")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !man_ok && !groff_ok {
        eprintln!("SKIP: neither man (man-db) nor groff (groff-base) is installed");
        return;
    }
    for (name, text) in man_pages() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(&name);
        std::fs::write(&path, &text).unwrap();
        let out = if man_ok {
            StdCommand::new("man")
                .env("MANWIDTH", "80")
                .args(["-l", "--warnings"])
                .arg(&path)
                .output()
                .unwrap()
        } else {
            StdCommand::new("groff")
                .args(["-man", "-ww", "-z"])
                .arg(&path)
                .output()
                .unwrap()
        };
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && err.trim().is_empty(),
            "{name}: {err}"
        );
        if man_ok {
            let page = String::from_utf8_lossy(&out.stdout);
            assert!(page.contains("SYNOPSIS"), "{name} rendered: {page}");
        }
    }
}

/// Every man page the binary writes with `man --out-dir`, by file name.
fn man_pages() -> Vec<(String, Vec<u8>)> {
    let dir = tempfile::tempdir().unwrap();
    let out = hc()
        .args(["man", "--out-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let mut pages: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    pages.sort();
    pages
}
