//! Precision on real software (issue 10): every clean real recording, in every
//! recorded layout (plain and `.gz`), gives no warning and no error — except
//! the true double closes of the shells that really make them, and those
//! grouped (one finding per site, with its count). The stderr layout of chatty
//! programs loses no call to the program's own output.

use std::path::{Path, PathBuf};

use handlecheck::analysis::{Analysis, Options, analyze};
use handlecheck::model::{Finding, Level};

fn clean_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/strace/clean")
}

fn run(path: &Path) -> Analysis {
    analyze(&[path.to_string_lossy().into_owned()], &Options::default())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every `trace*.log` / `trace*.log.gz` of every clean fixture.
fn clean_traces() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(clean_dir())
        .unwrap()
        .flatten()
        .map(|d| d.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|d| d.path())
            .filter(|p| {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                name.starts_with("trace") && (name.ends_with(".log") || name.ends_with(".log.gz"))
            })
            .collect();
        files.sort();
        out.extend(files);
    }
    out
}

/// The program a finding is in: the first field of its site.
fn program(f: &Finding) -> &str {
    f.site.split('|').next().unwrap_or("")
}

/// The true double closes real shells make (bash and dash close a pipeline's
/// pipe end twice: `close(4) = 0`, then `close(4) = -1 EBADF`), seen in
/// configure (a `#!/bin/sh` script) and in bash: HC001 by one task, nothing
/// else in the finding.
fn shell_double_close(f: &Finding) -> bool {
    let shells = ["bash", "sh", "dash", "configure"];
    f.code == "HC001"
        && shells.contains(&program(f))
        // The first occurrence (open, first release, release again) is one
        // task's; a grouped finding adds the first repeats of other shells.
        && f.labels
            .iter()
            .take(3)
            .collect::<Vec<_>>()
            .windows(2)
            .all(|w| w[0].event.tid == w[1].event.tid)
}

fn describe(path: &Path, a: &Analysis, bad: &[&Finding]) -> String {
    let mut s = format!("{}:\n", path.display());
    for f in bad {
        let lines: Vec<u32> = f.labels.iter().map(|l| l.event.origin.line).collect();
        s.push_str(&format!(
            "  {} {:?} [{}] {} lines {:?}\n",
            f.code,
            f.level,
            program(f),
            f.message,
            lines
        ));
    }
    s.push_str(&format!(
        "  ({} events, {} skipped)\n",
        a.inputs[0].stats.events, a.inputs[0].stats.skipped
    ));
    s
}

#[test]
fn every_clean_recording_is_quiet_in_every_layout() {
    let traces = clean_traces();
    assert!(
        traces.len() >= 40,
        "only {} clean traces found",
        traces.len()
    );
    let mut failures = Vec::new();
    for path in &traces {
        let a = run(path);
        assert!(
            a.inputs[0].stats.events > 10,
            "{}: too few events",
            path.display()
        );
        let loud: Vec<&Finding> = a
            .findings
            .iter()
            .filter(|f| f.level >= Level::Warning)
            .collect();
        let bad: Vec<&Finding> = loud
            .into_iter()
            .filter(|f| !shell_double_close(f))
            .collect();
        if !bad.is_empty() {
            failures.push(describe(path, &a, &bad));
        }
        // One defect, one finding: a shell's double close repeated at one
        // site is one finding, so a whole configure run has only a few.
        let all_shell: Vec<&Finding> = a
            .findings
            .iter()
            .filter(|f| shell_double_close(f))
            .collect();
        if all_shell.len() > 3 {
            failures.push(format!(
                "{}: {} shell double-close findings, expected them grouped by site",
                path.display(),
                all_shell.len()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "false positives:\n\n{}",
        failures.join("\n")
    );
    // Sanity: the shells' double closes are still found (as notes or errors).
    let configure = run(&clean_dir().join("autoconf_configure/trace.log.gz"));
    let f = configure
        .findings
        .iter()
        .find(|f| f.code == "HC001")
        .expect("configure's dash double close is a real HC001");
    assert!(f.count > 10, "configure repeats it: count {}", f.count);
    assert!(f.message.contains("times"), "{}", f.message);
}

/// The traced program writing to the same stderr cuts strace's call line:
/// the call is rejoined with its result, none is skipped as unparseable.
#[test]
fn stderr_layout_rejoins_calls_cut_by_program_output() {
    let mut rejoined = 0;
    for path in clean_traces()
        .into_iter()
        .filter(|p| p.to_string_lossy().contains("trace-stderr.log"))
    {
        let a = run(&path);
        let stats = &a.inputs[0].stats;
        assert!(
            !stats.skipped_by_reason.contains_key("unparseable call"),
            "{}: {:?}",
            path.display(),
            stats.skipped_by_reason
        );
        rejoined += stats
            .counters
            .get("calls rejoined after program output")
            .copied()
            .unwrap_or(0);
    }
    // http.server's 20 access-log lines and postgres's log lines cut their writes.
    assert!(rejoined >= 30, "only {rejoined} calls rejoined");
}

/// `[allow] programs` accepts a system tool's findings without hiding others.
/// configure re-executes itself as `/bin/bash ./configure`: its shell's real
/// double close is bash's finding.
#[test]
fn allow_programs_accepts_the_tools_own_findings() {
    let dir = std::env::temp_dir().join(format!("hc-allow-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = dir.join("handlecheck.toml");
    std::fs::write(&cfg, "[allow]\nprograms = [\"bash\"]\n").unwrap();
    let config = handlecheck::config::load(&cfg).unwrap_or_else(|e| panic!("{e:?}"));
    let mut a = run(&clean_dir().join("autoconf_configure/trace.log.gz"));
    assert!(a.findings.iter().any(|f| f.code == "HC001"));
    let removed = config.apply(&mut a.findings, &a.interner);
    assert!(removed > 0);
    assert!(!a.findings.iter().any(|f| program(f) == "bash"));
    // Findings of other programs stay.
    let mut b = run(&clean_dir().join("make_j2/trace.log"));
    let before = b.findings.len();
    assert!(before > 0, "make_j2 has notes to keep");
    config.apply(&mut b.findings, &b.interner);
    assert_eq!(b.findings.len(), before, "make's findings are not bash's");
    std::fs::remove_dir_all(&dir).ok();
}

/// Noise notes are folded in human output, counted in the summary with how
/// to see them, shown with `-v`, and kept in JSON at note level.
#[test]
fn noise_notes_are_folded_in_human_output() {
    #[allow(deprecated)]
    let hc = || assert_cmd::Command::cargo_bin("handlecheck").unwrap();
    let trace = clean_dir().join("postgres_pgbench/trace.log");
    let out = hc()
        .args(["analyze", "--color", "never"])
        .arg(&trace)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let human = String::from_utf8_lossy(&out.stdout);
    assert!(!human.contains("still open at exit"), "{human}");
    assert!(
        human.contains("folded") && human.contains("-v shows them"),
        "{human}"
    );
    let out = hc()
        .args(["analyze", "--color", "never", "-v"])
        .arg(&trace)
        .output()
        .unwrap();
    let verbose = String::from_utf8_lossy(&out.stdout);
    assert!(verbose.contains("still open at exit"), "{verbose}");
    let out = hc()
        .args(["analyze", "--format", "json"])
        .arg(&trace)
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let folded: Vec<&serde_json::Value> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["folded"] == true)
        .collect();
    assert!(!folded.is_empty());
    assert!(folded.iter().all(|f| f["level"] == "note"));
}
