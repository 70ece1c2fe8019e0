//! Snapshots (insta) of every rule's human and JSON output on its real fixture:
//! a change in what a diagnostic says or where it points shows up in review.

use handlecheck::analysis::{Options, analyze};
use handlecheck::report::human::{HumanOptions, render_finding};
use handlecheck::report::json;

fn snapshot_dir(dir: &str, file: &str) {
    let path = format!("{dir}/{file}");
    let a = analyze(std::slice::from_ref(&path), &Options::default())
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    let opts = HumanOptions {
        color: false,
        width: 110,
        quiet: false,
        show_folded: true,
    };
    let mut human = String::new();
    for f in &a.findings {
        human.push_str(&render_finding(&a, f, &opts));
        human.push('\n');
    }
    let shown: Vec<_> = a.findings.iter().collect();
    let json = json::render(&a, &shown);
    let name = path.replace('/', "__");
    insta::assert_snapshot!(format!("{name}__human"), human);
    insta::assert_snapshot!(format!("{name}__json"), json);
}

#[test]
fn strace_rule_fixtures() {
    let mut dirs: Vec<String> = std::fs::read_dir("fixtures/strace/rules")
        .unwrap()
        .flatten()
        .map(|d| format!("fixtures/strace/rules/{}", d.file_name().to_string_lossy()))
        .collect();
    dirs.sort();
    for d in &dirs {
        snapshot_dir(d, "trace.log");
    }
    for d in [
        "double_close",
        "use_after_close",
        "fd_reuse_stale_write",
        "leak_across_exec",
        "thread_eventfd_leak",
    ] {
        snapshot_dir(&format!("fixtures/strace/samples/{d}"), "trace-k.log");
    }
}

#[test]
fn jsonl_rule_fixtures() {
    let mut files: Vec<String> = std::fs::read_dir("fixtures/jsonl/rules")
        .unwrap()
        .flatten()
        .map(|d| d.file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    for f in &files {
        snapshot_dir("fixtures/jsonl/rules", f);
    }
}
