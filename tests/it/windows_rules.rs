//! Rules on WinDbg / Application Verifier / MDA evidence.

use handlecheck::analysis::{Analysis, Options, analyze};
use handlecheck::model::{Confidence, Level};

fn run(path: &str) -> Analysis {
    analyze(&[path.to_string()], &Options::default()).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn htrace_event_closing_path_kills_a_file() {
    let a = run("fixtures/htrace/namespace_collision_synthetic.txt");
    let f = a
        .findings
        .iter()
        .find(|f| f.code == "HC004")
        .expect("HC004");
    assert_eq!(f.confidence, Confidence::High);
    assert_eq!(
        f.primary().unwrap().event.origin.line,
        14,
        "the stale close, newest-first record at line 14"
    );
    assert!(
        f.message.contains("Event") && f.message.contains("file"),
        "{}",
        f.message
    );
    // The victim's own close is part of the chain, not a separate double release.
    assert!(!a.findings.iter().any(|f| f.code == "HC001"));
    assert!(
        f.notes
            .iter()
            .any(|n| n.contains("!htrace keeps a bounded history"))
    );
}

#[test]
fn htrace_diff_outstanding_handles_are_leaks_with_the_culprit_frame() {
    let a = run("fixtures/htrace/cppresourceleaks_x86_session.txt");
    let named = a.findings.iter().filter(|f| f.code == "HC006").any(|f| {
        f.labels
            .iter()
            .any(|l| l.text.contains("by CppResourceLeaks!LeakFileHandle"))
    });
    assert!(named, "the culprit frame is named on the open labels");
    let diff = run("fixtures/htrace/diff_wow64_appverif_windowdemo.txt");
    assert!(diff.findings.iter().any(|f| f.code == "HC006"
        && f.level == Level::Warning
        && f.message.contains("outstanding")));
}

#[test]
fn htrace_bad_reference_after_close_is_use_after_close() {
    let a = run("fixtures/htrace/x64_and_x86_issue_excerpts.txt");
    assert!(
        a.findings
            .iter()
            .any(|f| f.code == "HC002" && f.message.contains("STATUS_INVALID_HANDLE"))
    );
}

#[test]
fn verifier_invalid_handle_stops_and_mda_messages() {
    let v = run("fixtures/appverif/trippy1443_handles_0x300.xml");
    let f = v
        .findings
        .iter()
        .find(|f| f.code == "HC008")
        .expect("HC008 from stop 0x300");
    assert_eq!(
        f.level,
        Level::Warning,
        "an invalid handle on Windows is never harmless"
    );
    let m = run("fixtures/mda/vs_x64_globalmousekeyhook.txt");
    let f = m
        .findings
        .iter()
        .find(|f| f.code == "HC007")
        .expect("HC007 from releaseHandleFailed");
    assert!(
        f.message.contains("HookProcedureHandle") && f.message.contains("0x3e0901af"),
        "{}",
        f.message
    );
}
