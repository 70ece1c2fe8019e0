//! Replays every committed fuzz corpus file and every crash regression
//! (`fuzz/corpus/<target>/`, `fuzz/regressions/<target>/`) through the same
//! library entry functions the `cargo fuzz` targets call. Each entry function
//! asserts its own invariants (skip accounting adds up, machine reports parse,
//! terminal text is clean), so a regression panics here.

use std::path::Path;

use handlecheck::fuzzing;

fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn replay(kind: &str) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(kind);
    let mut n = 0;
    for dir in files_and_dirs(&root) {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let f = fuzzing::target(&name)
            .unwrap_or_else(|| panic!("fuzz/{kind}/{name}: no such fuzz target"));
        for file in files(&dir) {
            // A running fuzzer may replace corpus files under us.
            let Ok(data) = std::fs::read(&file) else {
                continue;
            };
            let r = std::panic::catch_unwind(|| f(&data));
            assert!(r.is_ok(), "{} panicked", file.display());
            n += 1;
        }
    }
    n
}

fn files_and_dirs(root: &Path) -> Vec<std::path::PathBuf> {
    let mut out: Vec<_> = std::fs::read_dir(root)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[test]
fn every_target_has_a_corpus_and_a_fuzz_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    for (name, _) in fuzzing::TARGETS {
        assert!(
            root.join("fuzz_targets")
                .join(format!("{name}.rs"))
                .is_file(),
            "no fuzz/fuzz_targets/{name}.rs"
        );
        assert!(
            !files(&root.join("corpus").join(name)).is_empty(),
            "empty corpus for {name}"
        );
    }
}

#[test]
fn corpora_replay_clean() {
    assert!(replay("corpus") > 100);
}

#[test]
fn crash_regressions_replay_clean() {
    replay("regressions");
}
