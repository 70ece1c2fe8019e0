//! One test per rule fixture run with that rule alone (ruff's shape): each
//! real strace rule fixture (its `ground-truth.txt` names the rule) and each
//! JSON-lines fixture named by code must give its rule's finding when only that
//! rule runs, in every recorded layout. The all-rules output is pinned by the
//! snapshots (`rule_snapshots`); this pins that no rule depends on another
//! being on (`--select`, `--ignore` and config `off` never hide a bug).

use std::path::{Path, PathBuf};

use handlecheck::analysis::{Options, analyze};
use handlecheck::rules;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The findings of `code` when `code` is the only rule that runs.
fn alone(path: &Path, code: &str) -> usize {
    let rule = rules::find(code).unwrap_or_else(|| panic!("no rule {code}"));
    let options = Options {
        rules: vec![rule],
        ..Default::default()
    };
    let a = analyze(&[path.to_string_lossy().into_owned()], &options)
        .unwrap_or_else(|e| panic!("{}: {}", path.display(), e.report()));
    assert!(
        a.findings.iter().all(|f| f.code == code),
        "{}: only {code} ran, yet {:?}",
        path.display(),
        a.findings.iter().map(|f| f.code).collect::<Vec<_>>()
    );
    a.findings.len()
}

#[test]
fn every_strace_rule_fixture_fires_its_rule_alone_in_every_layout() {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root().join("fixtures/strace/rules"))
        .unwrap()
        .flatten()
        .map(|d| d.path())
        .filter(|p| p.join("ground-truth.txt").exists())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 20, "only {} rule fixtures", dirs.len());
    let mut failures = Vec::new();
    for dir in &dirs {
        let gt = std::fs::read_to_string(dir.join("ground-truth.txt")).unwrap();
        let code = gt
            .lines()
            .find_map(|l| l.strip_prefix("RULE: "))
            .and_then(|r| r.split_whitespace().next())
            .unwrap_or_else(|| panic!("{}: no RULE line", dir.display()));
        for layout in ["trace.log", "trace-k.log", "trace-stderr.log"] {
            let path = dir.join(layout);
            if path.exists() && alone(&path, code) == 0 {
                failures.push(format!("{}: no {code} with {code} alone", path.display()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_jsonl_rule_fixture_fires_its_rule_alone() {
    let mut checked = 0;
    for entry in std::fs::read_dir(root().join("fixtures/jsonl/rules")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        // Fixtures are named by code: hc004_namespace_collision.jsonl.
        let Some(code) = name.split('_').next().filter(|c| c.starts_with("hc")) else {
            continue;
        };
        let code = code.to_ascii_uppercase();
        assert!(
            alone(&path, &code) > 0,
            "{name}: no {code} with {code} alone"
        );
        checked += 1;
    }
    assert!(checked >= 9, "only {checked} JSON-lines rule fixtures");
}
