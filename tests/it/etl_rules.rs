//! Rules on ETW evidence, over the SYNTHETIC .etl files (real on-disk layout,
//! built by tests/common/etl_builder.rs; no public trace has handle events).

use handlecheck::analysis::{Analysis, Options, analyze};
use handlecheck::model::{Confidence, Level};

fn run(name: &str) -> Analysis {
    let path = format!("fixtures/etl/synthetic/{name}");
    analyze(std::slice::from_ref(&path), &Options::default())
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn codes(a: &Analysis) -> Vec<(&'static str, Level, u32)> {
    a.findings
        .iter()
        .map(|f| {
            (
                f.code,
                f.level,
                f.primary().map(|p| p.event.origin.record).unwrap_or(0),
            )
        })
        .collect()
}

#[test]
fn namespace_collision_from_the_same_closing_stack() {
    let a = run("SYNTHETIC_namespace_collision.etl");
    let f = a
        .findings
        .iter()
        .find(|f| f.code == "HC004")
        .unwrap_or_else(|| panic!("{:?}", codes(&a)));
    assert_eq!(f.level, Level::Error);
    assert_eq!(
        f.confidence,
        Confidence::High,
        "same closing stack is stack evidence"
    );
    assert!(
        f.message.contains("Event") && f.message.contains("file"),
        "{}",
        f.message
    );
    assert!(
        f.notes
            .iter()
            .any(|n| n.contains("ETW records only what succeeded"))
    );
    // Binary evidence: locations carry records, not lines.
    assert!(
        f.labels
            .iter()
            .all(|l| l.event.origin.line == 0 && l.event.origin.record > 0)
    );
}

#[test]
fn worker_event_leak_through_a_gc() {
    let a = run("SYNTHETIC_worker_event_leak.etl");
    let f = a
        .findings
        .iter()
        .find(|f| f.code == "HC005")
        .unwrap_or_else(|| panic!("{:?}", codes(&a)));
    assert!(f.message.starts_with("8 Event handles"), "{}", f.message);
    assert!(
        f.labels
            .iter()
            .any(|l| a.interner.resolve(l.event.call) == "GC/Start")
    );
    // The healthy per-worker File churn is not a leak, and HC005's Events are not reported twice.
    assert!(
        !a.findings
            .iter()
            .any(|f| f.code == "HC006" && f.level >= Level::Warning),
        "{:?}",
        codes(&a)
    );
}

#[test]
fn double_close_and_never_open_value() {
    let a = run("SYNTHETIC_double_close_invalid.etl");
    let got = codes(&a);
    assert!(got.iter().any(|(c, _, _)| *c == "HC001"), "{got:?}");
    let invalid: Vec<_> = a.findings.iter().filter(|f| f.code == "HC008").collect();
    assert_eq!(invalid.len(), 1, "{got:?}");
    assert!(invalid[0].message.contains("0x1234"));
    // 0x60 was listed by the rundown: closing it is fine.
    assert!(
        !a.findings.iter().any(|f| f.message.contains("0x60")),
        "{got:?}"
    );
}

#[test]
fn real_samples_without_handle_events_give_nothing() {
    for f in [
        "perfview_net.4.5.2.x64.etl",
        "perfview_net.4.5.2.x86.etl",
        "perfview_gcevents.etl",
    ] {
        let a = analyze(&[format!("fixtures/etl/{f}")], &Options::default()).unwrap();
        assert!(a.inputs[0].stats.events > 0, "{f}: no events");
        assert!(
            a.findings.iter().all(|x| x.level == Level::Note),
            "{f}: {:?}",
            codes(&a)
        );
    }
}
