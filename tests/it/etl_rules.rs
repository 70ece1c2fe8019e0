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
fn a_double_close_etw_did_not_log_gives_no_finding() {
    // The second close failed, so ETW wrote nothing: no HC001 and no HC008 can
    // be claimed from the trace, and the rundown-seeded 0x60 closes fine.
    let a = run("SYNTHETIC_double_close_not_logged.etl");
    assert!(
        a.findings.iter().all(|f| f.level == Level::Note),
        "{:?}",
        codes(&a)
    );
    assert!(!a.findings.iter().any(|f| f.message.contains("0x60")));
    assert!(a.inputs[0].stats.notices.is_empty(), "it has handle events");
}

#[test]
fn real_samples_without_handle_events_say_so() {
    for rel in [
        "etl/perfview_net.4.5.2.x64.etl.zip",
        "etl/perfview_net.4.5.2.x86.etl.zip",
        "etl/perfview_gcevents.etl.zip",
        "etl-more/attackhost_trace_wpr_merged.etl",
    ] {
        let Some((_dir, path)) = crate::common::shared::sample_file(rel) else {
            return;
        };
        let a = analyze(&[path], &Options::default()).unwrap();
        assert!(
            a.findings.iter().all(|x| x.level == Level::Note),
            "{rel}: {:?}",
            codes(&a)
        );
        let notices = &a.inputs[0].stats.notices;
        assert!(
            notices.iter().any(|n| n.contains("no handle events")
                && n.contains("wpr -start Handle")
                && n.contains("OB_HANDLE")
                && n.contains("HandleCreate+HandleClose+HandleDuplicate")),
            "{rel}: {notices:?}"
        );
    }
}

/// The notice reaches the user: human summary and JSON, from the CLI.
#[test]
fn no_handle_events_notice_in_human_and_json_output() {
    let Some((_dir, path)) = crate::common::shared::sample_file("etl-more/krabsetw_powershell.etl")
    else {
        return;
    };
    let bin = assert_cmd::cargo::cargo_bin("handlecheck");
    let human = std::process::Command::new(&bin)
        .args(["analyze", "--color", "never", &path])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        text.contains("notice: this trace has no handle events"),
        "{text}"
    );
    let json = std::process::Command::new(&bin)
        .args(["analyze", "--format", "json", &path])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let notices = v["inputs"][0]["notices"].as_array().expect("notices");
    assert!(notices[0].as_str().unwrap().contains("wpr -start Handle"));
}

/// Classic-header kernel-class events (Image, Process by class GUID) feed the
/// model: the module map is built and process ends are events.
#[test]
fn classic_header_kernel_class_events_feed_the_model() {
    use crate::common::{reader, shared};
    use handlecheck::formats::etl;
    let Some(image) = shared::sample("etl-more/syzygy_sawbuck/log_lib_image_data_64_v2.etl") else {
        return;
    };
    let c = reader::collect(0, |ctx| etl::read(&image, "image.etl", ctx));
    c.result.unwrap();
    // 24 DCStart + 1 Load (the Unload removes one).
    assert_eq!(c.stats.counters["etl modules mapped (Image events)"], 25);
    for v in [
        "log_lib_image_data_32_v0.etl",
        "log_lib_image_data_32_v1.etl",
    ] {
        let bytes = shared::sample(&format!("etl-more/syzygy_sawbuck/{v}")).unwrap();
        let c = reader::collect(0, |ctx| etl::read(&bytes, v, ctx));
        c.result.unwrap();
        assert_eq!(
            c.stats.counters["etl modules mapped (Image events)"], 25,
            "{v}"
        );
    }
    let s = etl::stats(&image, "image.etl").unwrap();
    assert_eq!(s.by_event["Image/DCStart"], 24);
    assert_eq!(s.by_event["Image/Load"], 1);
    let process = shared::sample("etl-more/syzygy_sawbuck/log_lib_process_data_64_v3.etl").unwrap();
    let c = reader::collect(0, |ctx| etl::read(&process, "process.etl", ctx));
    c.result.unwrap();
    assert_eq!(
        c.events
            .iter()
            .filter(|e| e.op == handlecheck::model::Op::ProcessExit)
            .count(),
        1,
        "Process/End by class GUID"
    );
    // SysConfig (KernelTraceControl's class) is counted by name.
    let merged = shared::sample("etl-more/attackhost_trace_wpr_merged.etl").unwrap();
    let s = etl::stats(&merged, "merged.etl").unwrap();
    assert_eq!(s.by_event["SysConfig/BuildInfo"], 1);
    assert_eq!(s.by_event["SysConfig/VolumeMapping"], 8);
}
