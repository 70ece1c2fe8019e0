//! `handlecheck timeline`: one value's generations in order, events assigned
//! to the right generation, findings marked, on every input format.

use assert_cmd::Command;
use predicates::prelude::*;

use crate::common::views::*;
use handlecheck::analysis::Selection;
use handlecheck::report::views::timeline::{self, Timeline};

fn hc() -> Command {
    Command::cargo_bin("handlecheck").unwrap()
}

fn timeline_of(path: &str, sel: Selection) -> Timeline {
    let a = analyze_with(&[path], sel.clone());
    timeline::build(&a, &sel, true).expect("a timeline")
}

/// Rows of every generation, in the order shown.
fn all_rows(t: &Timeline) -> Vec<&timeline::TimelineRow> {
    t.generations.iter().flat_map(|g| &g.rows).collect()
}

#[test]
fn strace_collision_generations_in_order_with_the_stale_close_in_the_new_one() {
    let t = timeline_of(STRACE_HC004, value(3));
    assert_eq!(t.handle, "fd 3");
    // ld.so.cache, libc, /etc/hostname, then the eventfd that took the value.
    let kinds: Vec<&str> = t.generations.iter().map(|g| g.kind.as_str()).collect();
    assert_eq!(kinds, ["file", "file", "file", "eventfd"], "{t:#?}");
    let numbers: Vec<usize> = t.generations.iter().map(|g| g.number).collect();
    assert_eq!(numbers, [1, 2, 3, 4]);
    // Threads 5851 and 5852 act on the table of process 5850.
    assert!(t.generations.iter().all(|g| g.pid == 5850));
    let hostname = &t.generations[2];
    assert!(
        hostname
            .rows
            .iter()
            .all(|r| r.resource.as_deref() == Some("/etc/hostname"))
    );
    assert!(
        hostname
            .rows
            .iter()
            .any(|r| r.at.ends_with(":383") && r.op == "open")
    );
    let eventfd = &t.generations[3];
    let stale = eventfd
        .rows
        .iter()
        .find(|r| r.at.ends_with(":451"))
        .expect("the stale close belongs to the eventfd generation");
    assert_eq!((stale.op, stale.tid), ("close", 5851));
    assert_eq!(stale.findings, ["HC004"]);
    assert!(stale.role.as_deref().unwrap().starts_with("bad-release"));
    let victim = eventfd
        .rows
        .iter()
        .find(|r| r.at.ends_with(":470"))
        .unwrap();
    assert_eq!((victim.result.as_str(), victim.tid), ("EBADF", 5852));
    // The generations the finding spans are marked, the early ones are not.
    assert!(t.generations[0].findings.is_empty());
    assert_eq!(t.generations[2].findings, t.generations[3].findings);
    assert_eq!(t.findings.len(), 1);
    assert_eq!(t.findings[0].code, "HC004");
    let seqs: Vec<u64> = all_rows(&t).iter().map(|r| r.seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "rows in stream order");
}

#[test]
fn tid_filter_keeps_that_threads_events_only() {
    let sel = Selection {
        handle: Some(3),
        tid: Some(5852),
        ..Default::default()
    };
    let t = timeline_of(STRACE_HC004, sel);
    let rows = all_rows(&t);
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|r| r.tid == 5852));
    assert!(rows.iter().any(|r| r.call == "eventfd2"));
}

#[test]
fn every_input_format_gives_a_timeline() {
    // (input, value, generations made, a line/record the finding cites)
    let cases: [(&str, i64, usize, &str); 5] = [
        (STRACE_HC004, 3, 4, "HC004"),
        (ETL_HC004, 0x40, 2, "HC004"),
        (HTRACE_HC004, 0x48, 2, "HC004"),
        (APPVERIF, 1000, 0, "HC008"),
        (JSONL_HC004, 0x60, 2, "HC004"),
    ];
    for (path, v, gens, code) in cases {
        let t = timeline_of(path, value(v));
        let made = t.generations.iter().filter(|g| g.number > 0).count();
        assert_eq!(made, gens, "{path}: {t:#?}");
        assert!(
            all_rows(&t)
                .iter()
                .any(|r| r.findings.iter().any(|c| c == code)),
            "{path}: no row marked {code}"
        );
        assert!(
            all_rows(&t)
                .iter()
                .all(|r| r.handle == v || r.op == "dup" || r.op == "close-range")
        );
    }
}

#[test]
fn etl_timeline_recycled_value_and_stale_release() {
    let t = timeline_of(ETL_HC004, value(0x40));
    assert_eq!(t.handle, "handle 0x40");
    assert_eq!(t.generations[0].kind, "Event");
    assert_eq!(t.generations[1].kind, "file");
    let stale = t.generations[1]
        .rows
        .iter()
        .find(|r| {
            r.role
                .as_deref()
                .is_some_and(|x| x.starts_with("bad-release"))
        })
        .expect("stale release in the file generation");
    assert!(stale.at.ends_with("record 6"), "{}", stale.at);
    assert!(stale.time.is_some(), "ETL events have times");
    assert!(!stale.stack.is_empty(), "ETL stacks are kept");
}

#[test]
fn cli_human_table_separates_generations_and_marks_findings() {
    hc().args(["timeline", STRACE_HC004, "--handle", "3"])
        .assert()
        .success()
        .stdout(predicate::str::contains("fd 3: 4 generations"))
        .stdout(predicate::str::contains(
            "── generation 4 · pid 5850 (./stale_close_kills_other_thread) · opened · eventfd · findings: HC004",
        ))
        .stdout(predicate::str::contains("◀ HC004 victim"));
    // -v: stacks under the rows (strace -k).
    hc().args(["timeline", STRACE_HC004, "--handle", "3", "-v"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "stale_close_kills_other_thread(cfg_close+0x11)",
        ));
}

#[test]
fn cli_json_and_hex_values() {
    let out = hc()
        .args([
            "timeline",
            HTRACE_HC004,
            "--handle",
            "0x48",
            "--format",
            "json",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["handle"], "handle 0x48");
    assert_eq!(v["generations"].as_array().unwrap().len(), 2);
    assert_eq!(v["findings"][0]["code"], "HC004");
    // JSON rows carry the trace line itself.
    let first = &v["generations"][0]["rows"][0];
    assert!(
        first["evidence"]
            .as_str()
            .unwrap()
            .contains("0x0000000000000048 - OPEN"),
        "{first}"
    );
    hc().args(["timeline", HTRACE_HC004, "--handle", "zz"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "expected a handle value like 3 or 0x1a4",
        ));
}

#[test]
fn a_value_never_seen_says_so() {
    hc().args(["timeline", STRACE_HC004, "--handle", "999"])
        .assert()
        .success()
        .stdout(predicate::str::contains("fd 999: 0 generations, 0 events"))
        .stdout(predicate::str::contains("no event on this value"));
}

#[test]
fn pruned_generations_are_kept_for_the_selected_value_only() {
    // The graph (what rules read) keeps every generation of the selected value...
    let a = analyze_with(&[STRACE_HC004], value(3));
    let fd3 = a.graphs[0].gens.iter().filter(|g| g.handle == 3).count();
    assert_eq!(fd3, 4);
    // ...while without a selection the builder still drops old clean generations.
    let plain = analyze_with(&[STRACE_HC004], Selection::default());
    let fd3 = plain.graphs[0]
        .gens
        .iter()
        .filter(|g| g.handle == 3)
        .count();
    assert!(
        fd3 < 4,
        "default memory behaviour changed: {fd3} generations kept"
    );
}

#[test]
fn strace_ff_files_merge_into_one_timeline() {
    let dir = "fixtures/strace/rules/stale_close_kills_other_thread/ff";
    let files: Vec<String> = ["trace.5865", "trace.5866", "trace.5867"]
        .iter()
        .map(|f| format!("{dir}/{f}"))
        .collect();
    let refs: Vec<&str> = files.iter().map(String::as_str).collect();
    let a = analyze_with(&refs, value(3));
    let t = timeline::build(&a, &value(3), true).unwrap();
    let last = t.generations.last().unwrap();
    assert_eq!((last.kind.as_str(), last.pid), ("eventfd", 5865));
    // The stale close comes from thread 5866's own file, the victim from 5867's.
    let stale = last
        .rows
        .iter()
        .find(|r| r.findings.iter().any(|c| c == "HC004") && r.op == "close");
    assert!(stale.is_some_and(|r| r.tid == 5866 && r.at.contains("trace.5866:")));
    assert!(
        last.rows
            .iter()
            .any(|r| r.result == "EBADF" && r.at.contains("trace.5867:"))
    );
}
