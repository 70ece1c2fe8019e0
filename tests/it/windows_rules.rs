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

// ---- issue 13: Windows evidence as engineers paste it ----

fn finding<'a>(a: &'a Analysis, code: &str) -> &'a handlecheck::model::Finding {
    a.findings
        .iter()
        .find(|f| f.code == code)
        .unwrap_or_else(|| {
            panic!(
                "no {code}: {:?}",
                a.findings
                    .iter()
                    .map(|f| (f.code, &f.message))
                    .collect::<Vec<_>>()
            )
        })
}

#[test]
fn user_mode_bad_reference_by_closehandle_after_close_is_a_double_release() {
    let a = run("fixtures/htrace/bad_reference_double_close.txt");
    let f = finding(&a, "HC001");
    assert_eq!(f.level, Level::Error);
    assert_eq!(
        f.primary().unwrap().event.origin.line,
        19,
        "the BAD REFERENCE record"
    );
    assert!(
        f.labels.iter().any(|l| l.event.origin.line == 28),
        "first close"
    );
    // The first-chance exception above the dump is that same BAD REFERENCE: one finding.
    assert_eq!(a.findings.iter().filter(|f| f.code != "HC006").count(), 1);
    assert!(!a.findings.iter().any(|f| f.code == "HC008"));
}

#[test]
fn user_mode_bad_reference_by_a_use_after_close_is_use_after_close() {
    let a = run("fixtures/htrace/bad_reference_use_after_close.txt");
    let f = finding(&a, "HC002");
    assert_eq!(f.primary().unwrap().event.origin.line, 3);
    assert!(f.message.contains("NtSetEvent"), "{}", f.message);
    assert!(!a.findings.iter().any(|f| f.code == "HC001"));
}

#[test]
fn markdown_quoted_debugger_text_reads_like_the_original() {
    let plain = run("fixtures/htrace/bad_reference_double_close.txt");
    let quoted = run("fixtures/htrace/markdown_quoted_double_close.txt");
    let codes = |a: &Analysis| {
        a.findings
            .iter()
            .map(|f| (f.code, f.level, f.primary().unwrap().event.origin.line))
            .collect::<Vec<_>>()
    };
    assert_eq!(codes(&plain), codes(&quoted));
    assert!(codes(&quoted).iter().any(|c| c.0 == "HC001"));
    // Also when the format is named.
    let opts = Options {
        input_format: Some(handlecheck::formats::Format::Htrace),
        ..Options::default()
    };
    let named = analyze(
        &["fixtures/htrace/markdown_quoted_double_close.txt".to_string()],
        &opts,
    )
    .unwrap();
    assert_eq!(codes(&named), codes(&plain));
}

#[test]
fn first_chance_invalid_handle_alone_is_an_invalid_handle_of_unknown_value() {
    let a = run("fixtures/htrace/first_chance_invalid_handle_only.txt");
    let f = finding(&a, "HC008");
    assert_eq!(f.level, Level::Warning);
    assert_eq!(f.primary().unwrap().event.origin.line, 2);
    assert!(
        f.message.starts_with("release of an invalid handle"),
        "{}",
        f.message
    );
    assert!(!f.message.contains("-1"), "{}", f.message);
    assert!(f.notes.iter().any(|n| n.contains("!htrace <handle>")));
    // First and second chance of one exception: one finding.
    assert_eq!(a.findings.len(), 1, "{:?}", a.findings);
}

#[test]
fn first_chance_invalid_handle_with_its_htrace_is_a_double_release() {
    let a = run("fixtures/htrace/first_chance_invalid_handle_with_htrace.txt");
    let f = finding(&a, "HC001");
    assert_eq!(f.primary().unwrap().event.origin.line, 1, "the exception");
    assert!(f.labels.iter().any(|l| l.event.origin.line == 17));
    assert!(!a.findings.iter().any(|f| f.code == "HC008"));
}

#[test]
fn live_process_dump_is_not_open_at_exit_and_blames_the_program_frame() {
    let a = run("fixtures/htrace/live_process_crt_threads.txt");
    let f = finding(&a, "HC006");
    assert!(!f.message.contains("at exit"), "{}", f.message);
    assert!(f.message.contains("had not exited"), "{}", f.message);
    assert!(
        f.labels
            .iter()
            .all(|l| l.text.contains("by pool!StartWorkers+0x4b")),
        "{:?}",
        f.labels
    );
    assert!(
        !f.labels.iter().any(|l| l.text.contains("ucrtbase")),
        "{:?}",
        f.labels
    );
}

#[test]
fn verifier_stop_0x300_does_not_print_handle_minus_one() {
    let a = run("fixtures/appverif/trippy1443_handles_0x300.xml");
    let f = finding(&a, "HC008");
    let text = format!("{} {:?} {:?}", f.message, f.notes, f.labels);
    assert!(!text.contains("handle -1"), "{text}");
    assert!(!text.contains("INVALID_HANDLE_VALUE"), "{text}");
}

fn assert_kb2973904(f: &handlecheck::model::Finding) {
    let notes = f.notes.join("\n");
    for needle in [
        "KB 2973904",
        "clr!Thread::AllocHandles",
        "ThreadpoolMgr::CreateWorkerThread",
        ".NET Framework 4.5 or later",
        "GC.Collect()",
        "only when a garbage collection runs",
    ] {
        assert!(notes.contains(needle), "{needle} missing from {notes}");
    }
}

#[test]
fn clr_thread_pool_event_leak_is_recognised_from_its_stack() {
    let path = "fixtures/htrace/clr_threadpool_event_leak_kb2973904.txt";
    let a = run(path);
    let f = finding(&a, "HC005");
    assert_kb2973904(f);
    assert_eq!(
        f.confidence,
        Confidence::High,
        "the stack is the defect's signature"
    );
    // One record is enough: the stack shape is the evidence.
    let text = std::fs::read_to_string(path).unwrap();
    let second = text.find("Handle = 0x0000000000000a28").unwrap();
    let end = text.find("Parsed 0x2").unwrap();
    let one = format!("{}{}", &text[..second], &text[end..]);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("one.txt");
    std::fs::write(&p, one).unwrap();
    let a = run(p.to_str().unwrap());
    assert_kb2973904(finding(&a, "HC005"));
}

#[test]
fn print_layer_handle_stops_map_to_rules() {
    let a = run("fixtures/appverif/print_layer_handle_stops.txt");
    let got: Vec<(&str, u32)> = a
        .findings
        .iter()
        .map(|f| (f.code, f.primary().unwrap().event.origin.line))
        .collect();
    // A00E use of a closed PrintTicket provider, A01B spool file closed twice,
    // A00F close of an unknown provider, A012 leaked at exit.
    assert_eq!(
        got,
        vec![("HC002", 2), ("HC001", 24), ("HC008", 42), ("HC006", 69)]
    );
    let notices = &a.inputs[0].stats.notices;
    assert!(
        notices
            .iter()
            .any(|n| n.contains("0xA00D") && n.contains("512")),
        "{notices:?}"
    );
}
