//! Issue 12 on the CLI: fingerprints, one resolved view for reports and the
//! exit code, many inputs, paths, SARIF details, allowlists per location,
//! colour, explain/rules/completions.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(p: &str) -> String {
    root().join(p).to_string_lossy().into_owned()
}

fn hc() -> Command {
    let mut c = Command::cargo_bin("handlecheck").unwrap();
    for v in [
        "NO_COLOR",
        "CLICOLOR",
        "CLICOLOR_FORCE",
        "FORCE_COLOR",
        "CI",
        "GITHUB_STEP_SUMMARY",
        "COLUMNS",
    ] {
        c.env_remove(v);
    }
    c.env("TERM", "xterm");
    c
}

/// The documented JSON report schema (docs/json-schema.json) accepts `v`.
fn assert_schema(v: &Value) {
    let schema: Value = serde_json::from_str(include_str!("../../docs/json-schema.json")).unwrap();
    let validator = jsonschema::options().build(&schema).unwrap();
    let errors: Vec<String> = validator.iter_errors(v).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
}

fn json_of(args: &[&str]) -> (Value, i32) {
    let out = hc().args(args).output().unwrap();
    let v = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    (v, out.status.code().unwrap_or(-1))
}

/// `(code, fingerprint)` of every finding of one analysis.
fn fingerprints(paths: &[String]) -> Vec<(String, String)> {
    let mut args = vec!["analyze", "-f", "json", "--no-config"];
    args.extend(paths.iter().map(String::as_str));
    let (v, _) = json_of(&args);
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_string(),
                f["fingerprint"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

const DOUBLE: &str = "fixtures/strace/samples/double_close";
const EDITED: &str = "fixtures/strace/fingerprint/double_close_edited";
const CROSS: &str = "fixtures/strace/rules/cross_thread_double_close/trace.log";

#[test]
fn a_bug_keeps_its_fingerprint_across_layouts_recordings_and_code_changes() {
    let one = |p: &str| {
        let f = fingerprints(&[fixture(p)]);
        assert_eq!(f.len(), 1, "{p}: {f:?}");
        assert_eq!(f[0].0, "HC001");
        f[0].1.clone()
    };
    // Two layouts of one recording setup (`-o` with pids, stderr without).
    let plain = one(&format!("{DOUBLE}/trace.log"));
    assert_eq!(plain, one(&format!("{DOUBLE}/trace-stderr.log")));
    // Recorded again, from a program whose code moved (every offset changed).
    assert_eq!(plain, one(&format!("{EDITED}/trace.log")));
    // With stacks: frames by function name only, so the edit keeps it too.
    let stacked = one(&format!("{DOUBLE}/trace-k.log"));
    assert_eq!(stacked, one(&format!("{EDITED}/trace-k.log")));
    // Another program's double close of the same file: never the same.
    let other = fingerprints(&[fixture(CROSS)]);
    assert!(
        other.iter().all(|(_, f)| *f != plain),
        "{other:?} vs {plain}"
    );
}

#[test]
fn repeats_are_numbered_within_their_own_input() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("again.log");
    std::fs::copy(fixture(&format!("{DOUBLE}/trace.log")), &copy).unwrap();
    let alone = fingerprints(&[fixture(&format!("{DOUBLE}/trace.log"))]);
    let together = fingerprints(&[
        fixture(&format!("{DOUBLE}/trace.log")),
        copy.to_string_lossy().into_owned(),
    ]);
    assert_eq!(together.len(), 2);
    // The same bug in two traces: the same fingerprint, no `:2` from the batch.
    assert_eq!(together[0], alone[0]);
    assert_eq!(together[1], alone[0]);
}

/// leak_across_exec has warnings (HC010) and notes (HC006), no error.
const LEAKS: &str = "fixtures/strace/samples/leak_across_exec/trace.log";

#[test]
fn reports_and_the_exit_code_read_one_view() {
    let dir = tempfile::tempdir().unwrap();
    let sarif = dir.path().join("r.sarif");
    let junit = dir.path().join("r.xml");
    let run = |min: &str| {
        let out = hc()
            .args([
                "analyze",
                "--no-config",
                "-f",
                "json",
                "--fail-on",
                "warning",
            ])
            .args(["--min-level", min, "--report"])
            .arg(format!("sarif={}", sarif.display()))
            .arg("--report")
            .arg(format!("junit={}", junit.display()))
            .arg(fixture(LEAKS))
            .output()
            .unwrap();
        let json: Value = serde_json::from_slice(&out.stdout).unwrap();
        let sarif: Value = serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
        let junit = std::fs::read_to_string(&junit).unwrap();
        (out.status.code().unwrap(), json, sarif, junit)
    };
    // Hidden by --min-level: nothing reported, nothing fails.
    let (code, json, sarif, junit) = run("error");
    assert_eq!(json["findings"].as_array().unwrap().len(), 0);
    assert!(
        json["summary"]["hidden"].as_u64().unwrap() >= 2,
        "{}",
        json["summary"]
    );
    assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), 0);
    assert!(junit.contains("failures=\"0\""), "{junit}");
    assert_eq!(code, 0, "an empty report must not fail the run");
    // Shown: reported everywhere, and the run fails.
    let (code, json, sarif, junit) = run("warning");
    let shown = json["findings"].as_array().unwrap().len();
    assert!(shown >= 1);
    assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), shown);
    assert!(junit.contains("<failure "), "{junit}");
    assert_eq!(code, 1);
}

#[test]
fn the_human_summary_counts_what_was_hidden() {
    hc().args([
        "analyze",
        "--no-config",
        "--min-level",
        "warning",
        "--color",
        "never",
    ])
    .arg(fixture(LEAKS))
    .assert()
    .code(0)
    .stdout(
        predicate::str::contains("0 errors, 1 warning, 0 notes (1 hidden by --min-level)")
            .and(predicate::str::contains("no findings").not()),
    );
}

#[test]
fn findings_come_errors_first_with_greppable_headers() {
    let out = hc()
        // -v: the folded notes (open at exit) are shown too.
        .args(["analyze", "--no-config", "--color", "never", "-v"])
        .arg(fixture(LEAKS))
        .arg(fixture("fixtures/strace/samples/use_after_close/trace.log"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let headers: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("error[") || l.starts_with("warning[") || l.starts_with("note["))
        .collect();
    assert!(headers.len() >= 3, "{text}");
    let rank = |h: &str| match h.split('[').next() {
        Some("error") => 0,
        Some("warning") => 1,
        _ => 2,
    };
    let ranks: Vec<i32> = headers.iter().map(|h| rank(h)).collect();
    let mut sorted = ranks.clone();
    sorted.sort();
    assert_eq!(
        ranks, sorted,
        "errors, then warnings, then notes: {headers:?}"
    );
    assert!(headers.iter().any(|h| h.starts_with("warning[HC010]: ")));
}

#[test]
fn unreadable_inputs_are_error_lines_and_the_others_are_analysed() {
    let out = hc()
        .args(["analyze", "--no-config", "-f", "json"])
        .arg(fixture(&format!("{DOUBLE}/trace.log")))
        .arg("/no/such/trace.log")
        .arg(fixture(LEAKS))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["inputs"].as_array().unwrap().len(),
        2,
        "both good inputs analysed"
    );
    let codes: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(
        codes.contains(&"HC001") && codes.contains(&"HC010"),
        "{codes:?}"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.lines()
            .filter(|l| l.starts_with("handlecheck: error: /no/such/trace.log"))
            .count(),
        1,
        "{err}"
    );
    assert_eq!(v["input_errors"].as_array().unwrap().len(), 1);
    assert_schema(&v);
}

/// A scratch repository: `.git/`, `traces/x.log` and a subfolder to run in.
fn repo() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    std::fs::create_dir_all(dir.path().join("traces")).unwrap();
    std::fs::create_dir_all(dir.path().join("sub/deeper")).unwrap();
    std::fs::copy(
        fixture(&format!("{DOUBLE}/trace.log")),
        dir.path().join("traces/x.log"),
    )
    .unwrap();
    let sub = dir.path().join("sub/deeper");
    (dir, sub)
}

#[test]
fn paths_are_relative_to_the_repository_root() {
    let (dir, sub) = repo();
    let sarif_path = dir.path().join("out.sarif");
    let out = hc()
        .current_dir(&sub)
        .args(["analyze", "--no-config", "-f", "json", "--report"])
        .arg(format!("sarif={}", sarif_path.display()))
        .arg("../../traces/x.log")
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["inputs"][0]["path"], "traces/x.log");
    assert_eq!(v["findings"][0]["locations"][0]["path"], "traces/x.log");
    let s: Value = serde_json::from_str(&std::fs::read_to_string(&sarif_path).unwrap()).unwrap();
    let run = &s["runs"][0];
    let loc = &run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"];
    assert_eq!(loc["uri"], "traces/x.log");
    assert_eq!(loc["uriBaseId"], "%SRCROOT%");
    let base = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
        .as_str()
        .unwrap();
    let top = std::fs::canonicalize(dir.path()).unwrap();
    assert!(
        base.starts_with("file:///") && base.ends_with('/'),
        "{base}"
    );
    assert!(
        base.contains(top.file_name().unwrap().to_str().unwrap()),
        "{base} names the repository root"
    );
    // --base-dir overrides the git top level; the same path from the root.
    let (v, _) = json_of(&[
        "analyze",
        "--no-config",
        "-f",
        "json",
        "--base-dir",
        &dir.path().join("traces").to_string_lossy(),
        &dir.path().join("traces/x.log").to_string_lossy(),
    ]);
    assert_eq!(v["inputs"][0]["path"], "x.log");
}

#[test]
fn stdin_can_be_named() {
    let trace = std::fs::read(fixture(&format!("{DOUBLE}/trace.log"))).unwrap();
    let out = hc()
        .args([
            "analyze",
            "--no-config",
            "-f",
            "json",
            "--stdin-filename",
            "traces/piped.log",
            "-",
        ])
        .write_stdin(trace)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["inputs"][0]["path"], "traces/piped.log");
    assert_eq!(v["findings"][0]["locations"][0]["path"], "traces/piped.log");
}

#[test]
fn strace_ff_sets_get_stable_junit_names() {
    let dir = fixture("fixtures/strace/rules/cross_thread_double_close/ff");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert!(files.len() >= 2);
    let out = hc()
        .args(["analyze", "--no-config", "-f", "junit"])
        .args(&files)
        .output()
        .unwrap();
    let xml = String::from_utf8_lossy(&out.stdout);
    let suites: Vec<&str> = xml.lines().filter(|l| l.contains("<testsuite ")).collect();
    assert_eq!(suites.len(), 1, "one suite for the -ff set: {xml}");
    assert!(
        suites[0].contains("name=\"fixtures/strace/rules/cross_thread_double_close/ff/trace\""),
        "{}",
        suites[0]
    );
}

#[test]
fn sarif_caps_results_and_says_so() {
    let run = |cap: &str| -> Value {
        let out = hc()
            .args([
                "analyze",
                "--no-config",
                "-f",
                "sarif",
                "--max-results",
                cap,
            ])
            .arg(fixture(LEAKS))
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let capped = run("1");
    let r = &capped["runs"][0];
    assert_eq!(r["results"].as_array().unwrap().len(), 1);
    let note = r["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"]
        .as_str()
        .unwrap();
    assert!(note.contains("not shown"), "{note}");
    let all = run("0");
    assert!(all["runs"][0]["results"].as_array().unwrap().len() >= 2);
    assert!(
        all["runs"][0]
            .get("properties")
            .is_none_or(|p| p.get("truncated").is_none())
    );
    let d = &all["runs"][0]["tool"]["driver"];
    assert_eq!(d["version"], env!("CARGO_PKG_VERSION"));
    assert!(
        d["informationUri"]
            .as_str()
            .unwrap()
            .starts_with("https://")
    );
    assert_eq!(all["runs"][0]["automationDetails"]["id"], "handlecheck/");
    // The default cap is GitHub's 25,000.
    hc().args(["analyze", "--help"])
        .assert()
        .stdout(predicate::str::contains("25000"));
}

fn with_config(toml: &str, trace: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("handlecheck.toml");
    std::fs::write(&cfg, toml).unwrap();
    let out = hc()
        .args(["analyze", "-f", "json", "--config"])
        .arg(&cfg)
        .arg(fixture(trace))
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

fn finding<'a>(v: &'a Value, code: &str) -> Option<&'a Value> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == code)
}

fn resources(f: &Value) -> Vec<String> {
    f["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["message"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn allowlists_act_on_each_location() {
    // The HC010 finding groups four fds: /etc/hostname, /etc/passwd and a pipe's two ends.
    let all = with_config("", LEAKS);
    let hc010 = finding(&all, "HC010").expect("HC010 without a config");
    assert!(resources(hc010).iter().any(|r| r.contains("pipe:[")));
    // Allowing the pipe keeps the finding about the files, without the pipe.
    let v = with_config("[allow]\npaths = [\"pipe:*\"]\n", LEAKS);
    let shrunk = finding(&v, "HC010").expect("the files still leak");
    let labels = resources(shrunk);
    assert!(labels.iter().all(|r| !r.contains("pipe:[")), "{labels:?}");
    assert!(
        labels.iter().any(|r| r.contains("/etc/hostname")),
        "{labels:?}"
    );
    assert!(
        shrunk["message"]
            .as_str()
            .unwrap()
            .ends_with("; 2 of them allowed by the config: pipe:[59631], pipe:[59631]"),
        "{}",
        shrunk["message"]
    );
    // Allowing one file does not remove the other three.
    let v = with_config("[allow]\npaths = [\"/etc/hostname\"]\n", LEAKS);
    assert!(finding(&v, "HC010").is_some());
    // Allowing everything it groups removes it.
    let v = with_config(
        "[allow]\npaths = [\"/etc/hostname\", \"/etc/passwd\", \"pipe:[*]\"]\n",
        LEAKS,
    );
    assert!(finding(&v, "HC010").is_none(), "{v}");
    assert_eq!(
        v["summary"]["allowed"].as_u64(),
        Some(2),
        "{}",
        v["summary"]
    );
    // A finding about one resource goes with it.
    let v = with_config(
        "[allow]\npaths = [\"/etc/host*\"]\n",
        &format!("{DOUBLE}/trace.log"),
    );
    assert!(finding(&v, "HC001").is_none());
}

#[test]
fn colour_is_decided_once_from_flag_and_environment() {
    let t = fixture(&format!("{DOUBLE}/trace.log"));
    let colored = |envs: &[(&str, &str)], flag: &str| {
        let mut c = hc();
        for (k, v) in envs {
            c.env(k, v);
        }
        let out = c
            .args(["analyze", "--no-config", "--color", flag, &t])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).contains('\x1b')
    };
    // Not a terminal: plain unless forced.
    assert!(!colored(&[], "auto"));
    assert!(colored(&[("FORCE_COLOR", "1")], "auto"));
    assert!(colored(&[("CLICOLOR_FORCE", "1")], "auto"));
    assert!(!colored(&[("FORCE_COLOR", "1"), ("NO_COLOR", "1")], "auto"));
    assert!(!colored(&[("FORCE_COLOR", "0")], "auto"));
    assert!(colored(&[("NO_COLOR", "1")], "always"));
    assert!(!colored(&[("FORCE_COLOR", "1")], "never"));
}

#[test]
fn explain_renders_for_a_terminal_or_as_markdown() {
    let out = hc().args(["explain", "hc004"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("HC004 namespace-collision"), "{text}");
    assert!(
        text.contains("WHAT IT FINDS") && text.contains("HOW TO FIX"),
        "{text}"
    );
    assert!(!text.contains("## ") && !text.contains("```"), "{text}");
    assert!(text.lines().all(|l| l.chars().count() <= 100), "{text}");
    let md = hc()
        .args(["explain", "namespace-collision", "--format", "markdown"])
        .output()
        .unwrap();
    let md = String::from_utf8_lossy(&md.stdout);
    assert!(md.starts_with("# HC004 namespace-collision"), "{md}");
    assert!(md.contains("## How to fix") && md.contains("```"), "{md}");
}

#[test]
fn rules_as_json() {
    let (v, code) = json_of(&["rules", "--format", "json"]);
    assert_eq!(code, 0);
    let list = v.as_array().unwrap();
    assert_eq!(list.len(), handlecheck::rules::registry().len());
    assert_eq!(list[0]["code"], "HC001");
    assert_eq!(list[0]["name"], "double-release");
    for r in list {
        for k in ["code", "name", "level", "summary"] {
            assert!(r[k].as_str().is_some_and(|s| !s.is_empty()), "{r}");
        }
    }
}

#[test]
fn completions_offer_rule_codes_and_output_format_is_an_alias() {
    let bash = hc().args(["completions", "bash"]).output().unwrap();
    let script = String::from_utf8_lossy(&bash.stdout);
    assert!(script.contains("HC001") && script.contains("namespace-collision"));
    let fish = hc().args(["completions", "fish"]).output().unwrap();
    assert!(String::from_utf8_lossy(&fish.stdout).contains("HC011"));
    // A user who types --output-format gets --format.
    let (v, _) = json_of(&[
        "analyze",
        "--no-config",
        "--output-format",
        "json",
        &fixture(&format!("{DOUBLE}/trace.log")),
    ]);
    assert_eq!(v["version"], 1);
}

#[test]
fn an_evidence_line_that_cannot_be_read_is_a_warning() {
    use handlecheck::analysis::{Options, analyze};
    use handlecheck::report::CiContext;
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("t.log");
    std::fs::copy(fixture(&format!("{DOUBLE}/trace.log")), &copy).unwrap();
    let a = analyze(&[copy.to_string_lossy().into_owned()], &Options::default()).unwrap();
    assert!(!a.findings.is_empty());
    // The input goes away after the analysis read it.
    std::fs::remove_file(&copy).unwrap();
    let cx = CiContext::new(&a, a.findings.iter().collect());
    assert_eq!(cx.evidence.warnings.len(), 1, "{:?}", cx.evidence.warnings);
    assert!(cx.evidence.warnings[0].contains("t.log"));
    let json = handlecheck::report::json::render_view(&cx);
    assert!(!json.contains("not available"), "{json}");
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["warnings"].as_array().map(Vec::len), Some(1), "{json}");
    assert_schema(&v);
    assert_eq!(v["findings"][0]["locations"][0]["text"], "");
}

#[test]
fn stats_reads_through_the_pipeline_stdin_included() {
    let path = fixture(&format!("{DOUBLE}/trace.log"));
    let (doc, code) = json_of(&["stats", "-f", "json", &path]);
    let file = &doc["inputs"][0];
    assert_eq!(code, 0);
    // stdin is read once: the sniffed head is not lost.
    let out = hc()
        .args(["stats", "-f", "json", "-"])
        .write_stdin(std::fs::read(&path).unwrap())
        .output()
        .unwrap();
    let piped_doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let piped = &piped_doc["inputs"][0];
    assert_eq!(piped["units"], file["units"]);
    assert_eq!(piped["events"], file["events"]);
    hc().args(["stats", "/no/such/file"]).assert().code(2);
    let etl = root().join("../shared/samples/etl/perfview_SelfDescribingSingleEvent.etl");
    if !etl.exists() {
        eprintln!("SKIP: ../shared/samples/etl is not here");
        return;
    }
    let (doc, code) = json_of(&["stats", "-f", "json", &etl.to_string_lossy()]);
    let v = &doc["inputs"][0];
    assert_eq!(code, 0);
    assert_eq!(v["format"], "etl");
    assert_eq!(v["counters"]["EventTrace/Header"], 1);
    assert!(v["units"].as_u64().unwrap() > 0);
}

#[test]
fn readme_says_how_to_install_and_run_in_ci() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let cargo = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let msrv = cargo
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = "))
        .expect("Cargo.toml declares rust-version")
        .trim_matches('"');
    assert!(
        readme.contains(&format!("Rust {msrv} or newer")),
        "README states the MSRV {msrv}"
    );
    for needle in [
        "cargo install --path .",
        "github/codeql-action/upload-sarif",
        "codequality: gl-code-quality.json",
        "junit: handles.xml",
        "handlecheck completions bash >",
        "handlecheck man --out-dir",
        "--exit-from",
    ] {
        assert!(readme.contains(needle), "README lacks {needle}");
    }
}
