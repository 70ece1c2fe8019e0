//! `--pid`, `--handle`, `--program` on analyze, and the promise that keeping
//! what the views need never changes what the rules find.

use assert_cmd::Command;

use crate::common::views::*;
use handlecheck::analysis::{self, Options, Selection};

fn hc() -> Command {
    Command::cargo_bin("handlecheck").unwrap()
}

const EXEC: &str = "fixtures/strace/samples/leak_across_exec/trace.log";

fn codes(args: &[&str]) -> Vec<(String, u64)> {
    let out = hc().args(args).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap().to_string(),
                f["pid"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn pid_and_program_narrow_findings_to_one_process() {
    let all = codes(&["analyze", "-q", "-f", "json", EXEC]);
    // Errors first, then warnings, then notes: the HC010 warning, the HC006 note.
    assert_eq!(all, [("HC010".into(), 32411), ("HC006".into(), 32410)]);
    let child = codes(&["analyze", "-q", "-f", "json", "--pid", "32411", EXEC]);
    assert_eq!(child, [("HC010".to_string(), 32411)]);
    let parent = codes(&["analyze", "-q", "-f", "json", "--pid", "32410", EXEC]);
    assert_eq!(parent, [("HC006".to_string(), 32410)]);
    // The child exec'd /bin/ls: by file name or full path.
    let ls = codes(&["analyze", "-q", "-f", "json", "--program", "ls", EXEC]);
    assert_eq!(ls, [("HC010".to_string(), 32411)]);
    let ls = codes(&["analyze", "-q", "-f", "json", "--program", "/bin/ls", EXEC]);
    assert_eq!(ls, [("HC010".to_string(), 32411)]);
    let none = codes(&["analyze", "-q", "-f", "json", "--program", "lsof", EXEC]);
    assert!(none.is_empty());
    // A narrowed run exits by what it kept.
    hc().args(["analyze", "-q", "--pid", "1", EXEC])
        .assert()
        .code(0);
}

#[test]
fn handle_narrows_to_findings_about_that_value() {
    let a = analyze_with(&[EXEC], Selection::default());
    let h010 = a.findings.iter().find(|f| f.code == "HC010").unwrap();
    let value = h010.primary().unwrap().event.handle;
    let kept = codes(&[
        "analyze",
        "-q",
        "-f",
        "json",
        "--handle",
        &value.to_string(),
        EXEC,
    ]);
    assert!(kept.iter().any(|(c, _)| c == "HC010"), "{kept:?}");
    let kept = codes(&["analyze", "-q", "-f", "json", "--handle", "9999", EXEC]);
    assert!(kept.is_empty());
}

fn every_rule_fixture() -> Vec<String> {
    let mut out = Vec::new();
    for dir in ["fixtures/strace/rules", "fixtures/strace/samples"] {
        for e in std::fs::read_dir(format!("{}/{dir}", root())).unwrap() {
            let p = e.unwrap().path().join("trace.log");
            if p.exists() {
                out.push(p.display().to_string());
            }
        }
    }
    for e in std::fs::read_dir(fixture("jsonl/rules")).unwrap() {
        out.push(e.unwrap().path().display().to_string());
    }
    for f in [
        ETL_HC004,
        HTRACE_HC004,
        APPVERIF,
        "fixtures/etl/synthetic/SYNTHETIC_worker_event_leak.etl",
    ] {
        out.push(format!("{}/{f}", root()));
    }
    out.sort();
    out
}

fn fingerprints(path: &str, options: &Options) -> Vec<String> {
    let a = analysis::analyze(&[path.to_string()], options).unwrap();
    a.findings
        .iter()
        .map(|f| format!("{} {} {}", f.code, f.fingerprint, f.message))
        .collect()
}

#[test]
fn keeping_history_never_changes_the_findings() {
    let plain = Options::default();
    for path in every_rule_fixture() {
        let base = fingerprints(&path, &plain);
        let kept = Options {
            keep_graphs: true,
            ..Default::default()
        };
        assert_eq!(fingerprints(&path, &kept), base, "{path}");
        // Keeping every generation of one value (the timeline) must not
        // change what the rules see about it either.
        let a = analysis::analyze(std::slice::from_ref(&path), &plain).unwrap();
        let mut values: Vec<i64> = a
            .findings
            .iter()
            .filter_map(|f| f.primary().map(|l| l.event.handle))
            .collect();
        values.sort_unstable();
        values.dedup();
        for v in values {
            let sel = value(v);
            let want: Vec<String> = a
                .findings
                .iter()
                .filter(|f| sel.keeps(f))
                .map(|f| format!("{} {} {}", f.code, f.fingerprint, f.message))
                .collect();
            let narrowed = Options {
                keep_graphs: true,
                selection: sel,
                ..Default::default()
            };
            assert_eq!(fingerprints(&path, &narrowed), want, "{path} --handle {v}");
        }
    }
}
