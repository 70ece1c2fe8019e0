//! Helpers for the views tests: analyses that keep their graphs, fixture paths.
#![allow(dead_code)]

use handlecheck::analysis::{self, Analysis, Options, Selection};

pub fn root() -> &'static str {
    env!("CARGO_MANIFEST_DIR")
}

pub fn fixture(rel: &str) -> String {
    format!("{}/fixtures/{rel}", root())
}

/// A fixture path relative to the crate root, as the CLI tests pass it.
pub const STRACE_HC004: &str = "fixtures/strace/rules/stale_close_kills_other_thread/trace-k.log";
pub const ETL_HC004: &str = "fixtures/etl/synthetic/SYNTHETIC_namespace_collision.etl";
pub const HTRACE_HC004: &str = "fixtures/htrace/namespace_collision_synthetic.txt";
pub const APPVERIF: &str = "fixtures/appverif/verifier_stops_handles.txt";
pub const JSONL_HC004: &str = "fixtures/jsonl/rules/hc004_namespace_collision.jsonl";
pub const JSONL_HC006: &str = "fixtures/jsonl/rules/hc006_handle_leak.jsonl";

/// One fixture of every input format the views must handle.
pub const EVERY_FORMAT: [&str; 5] = [STRACE_HC004, ETL_HC004, HTRACE_HC004, APPVERIF, JSONL_HC004];

pub fn analyze_with(paths: &[&str], selection: Selection) -> Analysis {
    let options = Options {
        keep_graphs: true,
        selection,
        ..Default::default()
    };
    let paths: Vec<String> = paths
        .iter()
        .map(|p| {
            if p.starts_with('/') {
                p.to_string()
            } else {
                format!("{}/{p}", root())
            }
        })
        .collect();
    analysis::analyze(&paths, &options).expect("analysis")
}

pub fn value(handle: i64) -> Selection {
    Selection {
        handle: Some(handle),
        ..Default::default()
    }
}

/// A trace in a temporary file.
pub fn temp_trace(name: &str, text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    let s = p.display().to_string();
    (dir, s)
}
