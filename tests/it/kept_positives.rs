//! The true positives found on real software (issue 10) stay found, at their
//! lines, in every recorded layout: each expected line is located in the trace
//! text itself (so re-recording keeps the test exact), then the finding must
//! label it.

use std::io::Read;
use std::path::{Path, PathBuf};

use handlecheck::analysis::{Analysis, Options, analyze};
use handlecheck::model::{Finding, Role};

fn kept_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/strace/kept")
}

fn layouts(name: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(kept_dir().join(name))
        .unwrap()
        .flatten()
        .map(|d| d.path())
        .filter(|p| {
            let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            n.starts_with("trace") && (n.ends_with(".log") || n.ends_with(".log.gz"))
        })
        .collect();
    out.sort();
    assert!(out.len() >= 2, "{name}: layouts {out:?}");
    out
}

fn text(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    if path.extension().is_some_and(|e| e == "gz") {
        let mut s = String::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut s)
            .unwrap();
        s
    } else {
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

fn run(path: &Path) -> Analysis {
    analyze(&[path.to_string_lossy().into_owned()], &Options::default())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// 1-based numbers of the lines containing every one of `parts`.
fn lines_with(text: &str, parts: &[&str]) -> Vec<u32> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| parts.iter().all(|p| l.contains(p)))
        .map(|(i, _)| i as u32 + 1)
        .collect()
}

/// The line where a call that may be `<unfinished ...>` on line `at` completes.
fn completion(text: &str, at: u32) -> u32 {
    let lines: Vec<&str> = text.lines().collect();
    let line = lines[at as usize - 1];
    if !line.contains("<unfinished ...>") {
        return at;
    }
    let task = line.split_whitespace().next().unwrap_or("");
    let task = if line.starts_with("[pid") {
        line.split(']').next().unwrap_or("").to_string() + "]"
    } else {
        task.to_string()
    };
    for (i, l) in lines.iter().enumerate().skip(at as usize) {
        if l.starts_with(task.as_str()) && l.contains("resumed>") {
            return i as u32 + 1;
        }
    }
    at
}

fn hc010(a: &Analysis) -> Vec<&Finding> {
    a.findings.iter().filter(|f| f.code == "HC010").collect()
}

fn has_label(f: &Finding, role: Role, line: u32) -> bool {
    f.labels
        .iter()
        .any(|l| l.role == role && l.event.origin.line == line)
}

/// apt opens /dev/null without O_CLOEXEC in the child it forks for
/// `dpkg --print-foreign-architectures`; the fd goes along into dpkg.
#[test]
fn apt_dev_null_leaks_into_dpkg() {
    for path in layouts("apt_reinstall") {
        let t = text(&path);
        let opens = lines_with(&t, &["openat(", "\"/dev/null\", O_RDWR)"]);
        let execs = lines_with(&t, &["execve(\"/usr/bin/dpkg\""]);
        assert!(!opens.is_empty() && !execs.is_empty(), "{}", path.display());
        let a = run(&path);
        let found = hc010(&a);
        let f = found
            .iter()
            .find(|f| has_label(f, Role::Open, opens[0]))
            .unwrap_or_else(|| {
                panic!(
                    "{}: no HC010 at line {}: {found:#?}",
                    path.display(),
                    opens[0]
                )
            });
        let exec_line = completion(&t, execs[0]);
        assert!(
            has_label(f, Role::Exec, exec_line),
            "{}: exec {exec_line}",
            path.display()
        );
        assert!(
            f.message.contains("/dev/null") && f.message.contains("dpkg"),
            "{}",
            f.message
        );
        // apt does it once per dpkg query: one finding with the count.
        assert_eq!(found.len(), 1, "{}: {found:#?}", path.display());
        assert!(f.count as usize >= execs.len().min(2), "count {}", f.count);
    }
}

/// man-db opens its temporary cat page without O_CLOEXEC and every stage of
/// the formatting pipeline inherits it: one finding listing the execs.
#[test]
fn man_db_temporary_page_goes_into_every_pipeline_stage() {
    for path in layouts("man_cat") {
        let t = text(&path);
        let opens: Vec<u32> = lines_with(&t, &["openat(", "/var/cache/man/cat1/cat"])
            .into_iter()
            .filter(|l| {
                !t.lines()
                    .nth(*l as usize - 1)
                    .unwrap_or("")
                    .contains("O_CLOEXEC")
            })
            .collect();
        assert!(!opens.is_empty(), "{}", path.display());
        let a = run(&path);
        let found = hc010(&a);
        assert_eq!(found.len(), 1, "{}: {found:#?}", path.display());
        let f = found[0];
        assert!(
            has_label(f, Role::Open, opens[0]),
            "{}: {f:#?}",
            path.display()
        );
        let stages = ["preconv", "tbl", "nroff", "groff", "troff", "grotty"];
        for s in stages {
            assert!(
                f.message.contains(s),
                "{}: {s} missing: {}",
                path.display(),
                f.message
            );
        }
        let execs = f.labels.iter().filter(|l| l.role == Role::Exec).count();
        assert!(execs >= 4, "{execs} exec labels");
    }
}

/// initdb's single-user backend keeps relation files open without O_CLOEXEC
/// and runs `popen("locale -a")`: sh and locale inherit them.
#[test]
fn postgres_relation_fds_leak_into_locale_a() {
    for path in layouts("initdb_locale") {
        let t = text(&path);
        let sh = lines_with(&t, &["execve(\"/bin/sh\", [\"sh\", \"-c\", \"locale -a\"]"]);
        assert_eq!(sh.len(), 1, "{}", path.display());
        let exec_line = completion(&t, sh[0]);
        let a = run(&path);
        let found = hc010(&a);
        let f = found
            .iter()
            .find(|f| has_label(f, Role::Exec, exec_line))
            .unwrap_or_else(|| panic!("{}: no HC010 at {exec_line}: {found:#?}", path.display()));
        assert!(
            f.message.contains("/bin/sh") && f.message.contains("locale"),
            "{}",
            f.message
        );
        assert!(
            f.message.contains("/base/1/"),
            "relation files: {}",
            f.message
        );
        let opens = f.labels.iter().filter(|l| l.role == Role::Open).count();
        assert!(opens >= 4, "{opens} open labels");
    }
}

/// bash keeps the process-substitution pipe on fd 63 while the loop runs:
/// the loop's own commands inherit it (the shell itself opened /dev/fd/63).
#[test]
fn bash_process_substitution_fd_63_leaks_into_later_children() {
    for path in layouts("bash_procsub") {
        let t = text(&path);
        let dup = lines_with(&t, &["dup2(3<pipe:", ", 63) = 63"]);
        let ls = lines_with(&t, &["execve(\"/bin/ls\""]);
        assert_eq!(dup.len(), 1, "{}", path.display());
        assert_eq!(ls.len(), 2, "{}", path.display());
        let a = run(&path);
        let found = hc010(&a);
        assert_eq!(found.len(), 1, "{}: {found:#?}", path.display());
        let f = found[0];
        assert!(
            has_label(f, Role::Duplicate, dup[0]),
            "{}: {f:#?}",
            path.display()
        );
        for l in &ls {
            assert!(
                has_label(f, Role::Exec, completion(&t, *l)),
                "{}: exec {l}",
                path.display()
            );
        }
        assert!(f.message.contains("fd 63"), "{}", f.message);
        // cat, run after the loop, did not get it: bash closed 63 by then.
        let cat = lines_with(&t, &["execve(\"/bin/cat\""]);
        assert!(
            !cat.iter()
                .any(|l| has_label(f, Role::Exec, completion(&t, *l)))
        );
    }
}

/// A C program opens /etc/hostname without O_CLOEXEC and execs `sleep 3`;
/// strace is stopped after 1 s, while sleep still runs. The leak is real and
/// kept, but the trace cannot show that sleep never uses fd 3: the finding
/// says so and is not of high confidence.
#[test]
fn exec_still_running_at_trace_end() {
    for path in layouts("exec_still_running") {
        let t = text(&path);
        let open = lines_with(&t, &["\"/etc/hostname\", O_RDONLY) = 3"]);
        let exec = lines_with(&t, &["execve(\"/bin/sleep\""]);
        assert_eq!((open.len(), exec.len()), (1, 1), "{}", path.display());
        assert!(
            t.contains("<detached ...>"),
            "{}: the trace must stop mid-call",
            path.display()
        );
        let a = run(&path);
        let found = hc010(&a);
        assert_eq!(found.len(), 1, "{}: {found:#?}", path.display());
        let f = found[0];
        assert!(
            has_label(f, Role::Open, open[0]),
            "{}: {f:#?}",
            path.display()
        );
        assert!(
            has_label(f, Role::Exec, exec[0]),
            "{}: {f:#?}",
            path.display()
        );
        assert_eq!(f.confidence, handlecheck::model::Confidence::Medium);
        assert!(
            f.notes.iter().any(|n| n.contains("when the trace stopped")),
            "{:?}",
            f.notes
        );
        assert!(
            !f.notes.iter().any(|n| n.contains("never used them")),
            "{:?}",
            f.notes
        );
    }
}
