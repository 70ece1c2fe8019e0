//! Ownership attribution (issue 9): every real ownership fixture is found by
//! its own rule at its root-cause line, with its chain, in all three strace
//! layouts (with and without -k); the look-alikes stay quiet; rules stay
//! independent under --select / --ignore; ETW and JSON-lines collisions without
//! a victim event are HC004 on their own (SYNTHETIC, built from the documented
//! layouts); random interleavings never give HC003/HC004 without a stale holder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use handlecheck::analysis::{Analysis, Options, analyze};
use handlecheck::model::{Confidence, Finding, Level, Role};
use handlecheck::rules;

use crate::common::etl_builder::EtlBuilder;

const LAYOUTS: [&str; 3] = ["trace.log", "trace-k.log", "trace-stderr.log"];

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/strace/rules")
        .join(name)
}

fn run_with(path: &Path, rules: Vec<&'static dyn rules::Rule>) -> Analysis {
    let options = Options {
        rules,
        ..Options::default()
    };
    analyze(&[path.to_string_lossy().into_owned()], &options)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn run(path: &Path) -> Analysis {
    run_with(path, rules::registry().to_vec())
}

fn without(codes: &[&str]) -> Vec<&'static dyn rules::Rule> {
    rules::registry()
        .iter()
        .copied()
        .filter(|r| !codes.contains(&r.meta().code))
        .collect()
}

fn only(codes: &[&str]) -> Vec<&'static dyn rules::Rule> {
    rules::registry()
        .iter()
        .copied()
        .filter(|r| codes.contains(&r.meta().code))
        .collect()
}

/// Ground-truth lines per event key for one layout (COMPACT section).
fn truth(name: &str, file: &str) -> BTreeMap<String, Vec<u32>> {
    let gt = std::fs::read_to_string(fixture(name).join("ground-truth.txt")).unwrap();
    let prefix = format!("{file}:");
    let line = gt
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("{name}: no COMPACT line for {file}"));
    line[prefix.len()..]
        .split_whitespace()
        .filter_map(|item| item.split_once('='))
        .map(|(k, v)| {
            (
                k.to_string(),
                v.split('+').filter_map(|n| n.parse().ok()).collect(),
            )
        })
        .collect()
}

fn describe(a: &Analysis) -> String {
    a.findings
        .iter()
        .map(|f| {
            let lines: Vec<(u32, &str)> = f
                .labels
                .iter()
                .map(|l| (l.event.origin.line, l.role.as_str()))
                .collect();
            format!(
                "{} {:?} {:?} {} {:?}",
                f.code, f.level, f.confidence, f.message, lines
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The one finding of `code`, whose primary label is at the `key` event.
fn finding_at<'a>(
    a: &'a Analysis,
    code: &str,
    t: &BTreeMap<String, Vec<u32>>,
    key: &str,
) -> &'a Finding {
    let want = &t[key];
    let of_code: Vec<&Finding> = a.findings.iter().filter(|f| f.code == code).collect();
    assert_eq!(of_code.len(), 1, "one {code} expected:\n{}", describe(a));
    let f = of_code[0];
    let p = f.primary().expect("a primary label");
    assert!(
        want.contains(&p.event.origin.line),
        "{code} primary at line {} but the {key} event is at {want:?}:\n{}",
        p.event.origin.line,
        describe(a)
    );
    f
}

fn has_label(f: &Finding, t: &BTreeMap<String, Vec<u32>>, key: &str, role: Role) -> bool {
    f.labels
        .iter()
        .any(|l| l.role == role && t[key].contains(&l.event.origin.line))
}

fn no_errors_or_warnings_besides(a: &Analysis, code: &str) {
    let other: Vec<&Finding> = a
        .findings
        .iter()
        .filter(|f| f.code != code && f.level >= Level::Warning)
        .collect();
    assert!(other.is_empty(), "unexpected:\n{}", describe(a));
}

#[test]
fn fdsan_three_thread_cascade_is_one_hc004_at_the_first_stale_close() {
    for file in LAYOUTS {
        let t = truth("fdsan_cascade", file);
        let a = run(&fixture("fdsan_cascade").join(file));
        let f = finding_at(&a, "HC004", &t, "stale-close");
        assert_eq!(f.level, Level::Error);
        let want = if file == "trace-k.log" {
            Confidence::High
        } else {
            Confidence::Medium
        };
        assert_eq!(f.confidence, want, "{file}: {}", describe(&a));
        for (key, role) in [
            ("first-release", Role::FirstRelease),
            ("reuse", Role::Recycle),
            ("reuse-2", Role::Recycle),
            ("collateral", Role::Collateral),
            ("victim-read", Role::Victim),
            ("perror-dup", Role::Duplicate),
            ("victim-close", Role::Victim),
        ] {
            assert!(
                has_label(f, &t, key, role),
                "{file}: no {key} label:\n{}",
                describe(&a)
            );
        }
        assert!(f.message.contains("cascade"), "{}", f.message);
        assert!(f.notes.iter().any(|n| n.contains("evidence (holder")));
        assert!(f.notes.iter().any(|n| n.contains("transient")));
        // Not an HC001 on the bystander, not an HC002 on the victim.
        no_errors_or_warnings_besides(&a, "HC004");
    }
}

#[test]
fn cascade_without_ebadf_ends_in_the_victims_silent_write() {
    for file in LAYOUTS {
        let t = truth("cascade_silent", file);
        let a = run(&fixture("cascade_silent").join(file));
        let f = finding_at(&a, "HC004", &t, "stale-close");
        assert_eq!(f.level, Level::Error);
        assert!(f.confidence >= Confidence::Medium);
        for (key, role) in [
            ("first-release", Role::FirstRelease),
            ("reuse", Role::Recycle),
            ("reuse-2", Role::Recycle),
            ("collateral", Role::Collateral),
            ("reuse-3", Role::Recycle),
            ("victim-misuse", Role::Victim),
        ] {
            assert!(
                has_label(f, &t, key, role),
                "{file}: no {key} label:\n{}",
                describe(&a)
            );
        }
        assert!(f.message.contains("silently"), "{}", f.message);
        no_errors_or_warnings_besides(&a, "HC004");
    }
}

#[test]
fn stale_holders_releasing_recycled_values() {
    for (name, victim) in [
        ("raii_double_close", "victim-send"),
        ("scm_rights_stale", "victim-write"),
        ("stale_close_kills_other_thread", "victim-write"),
        ("epoll_stale_registration", "victim-write"),
    ] {
        for file in LAYOUTS {
            let t = truth(name, file);
            let a = run(&fixture(name).join(file));
            let f = finding_at(&a, "HC004", &t, "stale-close");
            assert_eq!(f.level, Level::Error, "{name}/{file}");
            assert!(f.confidence >= Confidence::Medium, "{name}/{file}");
            if file == "trace-k.log" {
                assert_eq!(
                    f.confidence,
                    Confidence::High,
                    "{name}/{file}: {}",
                    describe(&a)
                );
                // The loop's teardown path is not the path that closed the
                // socket: the epoll registration is its evidence instead.
                if name != "epoll_stale_registration" {
                    assert!(f.notes.iter().any(|n| n.contains("code path")), "{name}");
                }
            }
            assert!(has_label(f, &t, "first-release", Role::FirstRelease));
            assert!(has_label(f, &t, "reuse", Role::Recycle));
            assert!(
                has_label(f, &t, victim, Role::Victim),
                "{name}/{file}:\n{}",
                describe(&a)
            );
            no_errors_or_warnings_besides(&a, "HC004");
        }
    }
}

/// The event loop's registration left behind by close-without-EPOLL_CTL_DEL is
/// resource evidence: high confidence without stacks.
#[test]
fn epoll_registration_left_behind_drives_the_teardown() {
    for file in LAYOUTS {
        let t = truth("epoll_stale_registration", file);
        let a = run(&fixture("epoll_stale_registration").join(file));
        let f = finding_at(&a, "HC004", &t, "stale-close");
        assert_eq!(f.confidence, Confidence::High, "{file}: {}", describe(&a));
        assert!(
            f.notes
                .iter()
                .any(|n| n.contains("registered in an epoll set")),
            "{:?}",
            f.notes
        );
    }
}

#[test]
fn stale_uses_of_recycled_values() {
    for (name, min) in [
        ("pool_stale_use", Confidence::Medium),
        ("stdout_reuse", Confidence::Medium),
        ("stale_thread_write", Confidence::Medium),
    ] {
        for file in LAYOUTS {
            let t = truth(name, file);
            let a = run(&fixture(name).join(file));
            let f = finding_at(&a, "HC003", &t, "stale-write");
            assert!(f.confidence >= min, "{name}/{file}: {}", describe(&a));
            assert_eq!(f.level, Level::Error);
            assert!(has_label(f, &t, "release", Role::Release));
            assert!(has_label(f, &t, "reuse", Role::Recycle));
            // Success is not innocence: the stale write succeeded.
            assert!(f.message.contains("succeeds"), "{}", f.message);
            assert!(f.notes.iter().any(|n| n.starts_with("evidence (holder")));
            no_errors_or_warnings_besides(&a, "HC003");
        }
    }
    // With -k, the code path makes the pool's stale use certain.
    let a = run(&fixture("pool_stale_use").join("trace-k.log"));
    let f = a.findings.iter().find(|f| f.code == "HC003").unwrap();
    assert_eq!(f.confidence, Confidence::High, "{}", describe(&a));
}

#[test]
fn look_alikes_stay_quiet() {
    let clean = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/strace/clean");
    for name in [
        "accept_loop_workers",
        "dup2_retarget",
        "own_close_after_other",
        "close_sweep_threads",
        "perlio_probe",
        "fork_child_close",
        "close_all",
        "tcp_loopback",
        "python_threads",
    ] {
        for file in LAYOUTS {
            let path = clean.join(name).join(file);
            if !path.exists() {
                continue;
            }
            let a = run(&path);
            let loud: Vec<&Finding> = a
                .findings
                .iter()
                .filter(|f| f.level >= Level::Warning || matches!(f.code, "HC003" | "HC004"))
                .collect();
            assert!(loud.is_empty(), "{name}/{file}:\n{}", describe(&a));
        }
    }
}

/// --ignore / --select / config off never make a bug disappear: the next rule
/// that applies reports it, at the same root-cause line.
#[test]
fn switching_the_owning_rule_off_hands_the_bug_to_the_next_rule() {
    for file in LAYOUTS {
        let t = truth("fdsan_cascade", file);
        let path = fixture("fdsan_cascade").join(file);
        // --ignore HC004: HC001 reports the stale (second) release, with the chain.
        let a = run_with(&path, without(&["HC004"]));
        let f = finding_at(&a, "HC001", &t, "stale-close");
        assert_eq!(f.level, Level::Error);
        assert!(has_label(f, &t, "collateral", Role::Collateral));
        // --select HC001: the same.
        let a = run_with(&path, only(&["HC001"]));
        finding_at(&a, "HC001", &t, "stale-close");
        // --select HC002: the victim's failure, saying who killed its handle.
        let a = run_with(&path, only(&["HC002"]));
        assert!(
            a.findings
                .iter()
                .any(|f| f.code == "HC002" && f.notes.iter().any(|n| n.contains("stale release"))),
            "{file}:\n{}",
            describe(&a)
        );
    }
    for file in LAYOUTS {
        let t = truth("pool_stale_use", file);
        let path = fixture("pool_stale_use").join(file);
        // --ignore HC003: HC002 reports the stale use at the same line.
        let a = run_with(&path, without(&["HC003"]));
        finding_at(&a, "HC002", &t, "stale-write");
    }
    // The old blind spot: a stale close killing another thread's fd, HC004 ignored.
    let t = truth("stale_close_kills_other_thread", "trace.log");
    let a = run_with(
        &fixture("stale_close_kills_other_thread").join("trace.log"),
        without(&["HC004"]),
    );
    finding_at(&a, "HC001", &t, "stale-close");
}

#[test]
fn double_release_is_an_error_whatever_the_threads() {
    let single = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/strace/samples/double_close/trace.log");
    let a = run(&single);
    let f = a.findings.iter().find(|f| f.code == "HC001").unwrap();
    assert_eq!(f.level, Level::Error);
    assert!(
        f.notes
            .iter()
            .any(|n| n.contains("nothing could have taken the value")),
        "{:?}",
        f.notes
    );
    let cross = fixture("cross_thread_double_close").join("trace.log");
    let a = run(&cross);
    let f = a.findings.iter().find(|f| f.code == "HC001").unwrap();
    assert_eq!(f.level, Level::Error);
    assert!(
        f.notes.iter().any(|n| n.contains("could have been handed")),
        "{:?}",
        f.notes
    );
}

// ----- SYNTHETIC scenarios (ETW, JSON lines) ---------------------------------

const EVENT: u16 = 16;

/// SYNTHETIC ETW: thread 11 creates Event A (0x40) and closes it from
/// `app+0x2200`; thread 12 creates Event B, which gets the recycled 0x40;
/// thread 11 closes 0x40 again from the same code path (object B's pointer).
/// ETW logs only successes: there is no victim event at all.
fn etw_collision_without_victim() -> Vec<u8> {
    const PID: u32 = 3000;
    const APP: u64 = 0x7ff6_5000_0000;
    const K32: u64 = 0x7ffa_6000_0000;
    let mut b = EtlBuilder::new(8).compressed(false).buffer_size(0x400);
    b.type_dc_start(0, 1, EVENT, "Event");
    b.image_load(
        0,
        2,
        PID,
        APP,
        0x10_0000,
        "\\Device\\HarddiskVolume2\\svc\\events.exe",
    );
    b.image_load(
        0,
        3,
        PID,
        K32,
        0x10_0000,
        "\\Device\\HarddiskVolume2\\Windows\\System32\\KernelBase.dll",
    );
    b.create_handle(0, 1000, PID, 11, 0xffff_c283_0000_1000, 0x40, EVENT);
    b.stack(0, 1001, 1000, PID, 11, &[K32 + 0x3300, APP + 0x1100]);
    b.close_handle(0, 2000, PID, 11, 0xffff_c283_0000_1000, 0x40, EVENT, "");
    b.stack(
        0,
        2001,
        2000,
        PID,
        11,
        &[K32 + 0x3400, APP + 0x2200, APP + 0x9000],
    );
    b.create_handle(1, 3000, PID, 12, 0xffff_c283_0000_2000, 0x40, EVENT);
    b.stack(1, 3001, 3000, PID, 12, &[K32 + 0x3300, APP + 0x5500]);
    b.close_handle(0, 4000, PID, 11, 0xffff_c283_0000_2000, 0x40, EVENT, "");
    b.stack(
        0,
        4001,
        4000,
        PID,
        11,
        &[K32 + 0x3400, APP + 0x2200, APP + 0x9000],
    );
    b.process_end(0, 9000, PID);
    b.build()
}

#[test]
fn etw_collision_without_a_victim_event_is_hc004_high() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("SYNTHETIC_collision_no_victim.etl");
    std::fs::write(&path, etw_collision_without_victim()).unwrap();
    let a = run(&path);
    let f = a
        .findings
        .iter()
        .find(|f| f.code == "HC004")
        .unwrap_or_else(|| panic!("{}", describe(&a)));
    assert_eq!(f.level, Level::Error);
    assert_eq!(f.confidence, Confidence::High, "{}", describe(&a));
    let p = f.primary().unwrap();
    assert_eq!(p.role, Role::BadRelease);
    assert_eq!(p.event.tid, 11);
    assert!(
        f.notes
            .iter()
            .any(|n| n.contains("evidence (holder, code path)"))
    );
    assert!(
        !a.findings.iter().any(|f| f.code == "HC001"),
        "{}",
        describe(&a)
    );
    // The control: the same stream where thread 12 closes its own Event is quiet.
}

/// SYNTHETIC JSON lines (docs/jsonl-schema.md): the same collision, no victim:
/// thread 11's Dispose runs twice (same code path, another line of Dispose),
/// the second time on thread 13's recycled Event.
const JSONL_NO_VICTIM: &str = r#"{"v":1,"ts":1000,"pid":10,"tid":11,"op":"open","handle":"0x60","type":"Event","stack":["ntdll!NtCreateEvent+0x14","app!Cache.Open+0x10"]}
{"v":1,"ts":2000,"pid":10,"tid":11,"op":"close","handle":"0x60","stack":["ntdll!NtClose+0x14","app!Cache.Release+0x10","app!Cache.Dispose+0x20"]}
{"v":1,"ts":3000,"pid":10,"tid":13,"op":"open","handle":"0x60","type":"Event","stack":["ntdll!NtCreateEvent+0x14","app!Signal.ctor+0x10"]}
{"v":1,"ts":4000,"pid":10,"tid":11,"op":"close","handle":"0x60","stack":["ntdll!NtClose+0x14","app!Cache.Release+0x10","app!Cache.Dispose+0x48"]}
"#;

/// The control: thread 13 closes its own Event; thread 11 only its own.
const JSONL_OWN_CLOSES: &str = r#"{"v":1,"ts":1000,"pid":10,"tid":11,"op":"open","handle":"0x60","type":"Event","stack":["ntdll!NtCreateEvent+0x14","app!Cache.Open+0x10"]}
{"v":1,"ts":2000,"pid":10,"tid":11,"op":"close","handle":"0x60","stack":["ntdll!NtClose+0x14","app!Cache.Release+0x10","app!Cache.Dispose+0x20"]}
{"v":1,"ts":3000,"pid":10,"tid":13,"op":"open","handle":"0x60","type":"Event","stack":["ntdll!NtCreateEvent+0x14","app!Signal.ctor+0x10"]}
{"v":1,"ts":4000,"pid":10,"tid":13,"op":"close","handle":"0x60","stack":["ntdll!NtClose+0x14","app!Signal.Dispose+0x10"]}
"#;

fn run_jsonl(text: &str) -> Analysis {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("SYNTHETIC.jsonl");
    std::fs::write(&path, text).unwrap();
    run(&path)
}

#[test]
fn jsonl_collision_without_a_victim_is_hc004_and_own_closes_are_quiet() {
    let a = run_jsonl(JSONL_NO_VICTIM);
    let f = a
        .findings
        .iter()
        .find(|f| f.code == "HC004")
        .unwrap_or_else(|| panic!("{}", describe(&a)));
    assert_eq!(f.confidence, Confidence::High);
    assert_eq!(f.primary().unwrap().event.origin.line, 4);
    let a = run_jsonl(JSONL_OWN_CLOSES);
    assert!(
        a.findings.iter().all(|f| f.level < Level::Warning),
        "{}",
        describe(&a)
    );
}

/// SYNTHETIC `!htrace` dump (the layout of fixtures/htrace/, newest first):
/// thread 0x1a2c's EventHolder::Dispose closes its Event 0x48, thread 0x1b00's
/// CreateFileW gets 0x48, the same Dispose path closes 0x48 again. No victim record.
const HTRACE_NO_VICTIM: &str = "0:000> !htrace
--------------------------------------
Handle = 0x0000000000000048 - CLOSE
Thread ID = 0x0000000000001a2c, Process ID = 0x0000000000002f10

0x00007ffd1c08f5f4: ntdll!NtClose+0x0000000000000014
0x00007ffd19a1b9d5: KERNELBASE!CloseHandle+0x0000000000000045
0x00007ff6c0a1123e: demo!EventHolder::Dispose+0x000000000000002e
--------------------------------------
Handle = 0x0000000000000048 - OPEN
Thread ID = 0x0000000000001b00, Process ID = 0x0000000000002f10

0x00007ffd1c08f6b4: ntdll!NtCreateFile+0x0000000000000014
0x00007ffd19a2e1c6: KERNELBASE!CreateFileW+0x0000000000000066
0x00007ff6c0a12010: demo!Log::Open+0x0000000000000030
--------------------------------------
Handle = 0x0000000000000048 - CLOSE
Thread ID = 0x0000000000001a2c, Process ID = 0x0000000000002f10

0x00007ffd1c08f5f4: ntdll!NtClose+0x0000000000000014
0x00007ffd19a1b9d5: KERNELBASE!CloseHandle+0x0000000000000045
0x00007ff6c0a1123e: demo!EventHolder::Dispose+0x000000000000002e
--------------------------------------
Handle = 0x0000000000000048 - OPEN
Thread ID = 0x0000000000001a2c, Process ID = 0x0000000000002f10

0x00007ffd1c08f8d4: ntdll!NtCreateEvent+0x0000000000000014
0x00007ffd19a2f2a6: KERNELBASE!CreateEventW+0x0000000000000066
0x00007ff6c0a11104: demo!EventHolder::EventHolder+0x0000000000000024
--------------------------------------
Parsed 0x4 stack traces.
Dumped 0x4 stack traces.
";

#[test]
fn htrace_collision_without_a_victim_record_is_hc004_high() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("SYNTHETIC_htrace.txt");
    std::fs::write(&path, HTRACE_NO_VICTIM).unwrap();
    let a = run(&path);
    let f = a
        .findings
        .iter()
        .find(|f| f.code == "HC004")
        .unwrap_or_else(|| panic!("{}", describe(&a)));
    assert_eq!(f.confidence, Confidence::High, "{}", describe(&a));
    // The newest record (line 3) is the stale close.
    assert_eq!(f.primary().unwrap().event.origin.line, 3);
    assert!(!a.findings.iter().any(|f| f.code == "HC001"));
}

// ----- property: random interleavings -----------------------------------------

mod property {
    use super::*;
    use proptest::prelude::*;

    /// One step of a random program: task `t` opens, uses or closes the value it
    /// holds in slot `s` (its own handles only), or a *stale* close/use of a
    /// value it held before (injected bugs).
    #[derive(Clone, Copy, Debug)]
    enum Step {
        Open(u32),
        Use(u32),
        Close(u32),
        /// Task `.0` hands its newest handle to task `.1`, which uses it at once
        /// (an accept loop handing a connection to a worker).
        Handoff(u32, u32),
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (0u32..3).prop_map(Step::Open),
            (0u32..3).prop_map(Step::Use),
            (0u32..3).prop_map(Step::Close),
            (0u32..3, 0u32..3).prop_map(|(a, b)| Step::Handoff(a, b)),
        ]
    }

    /// Builds a JSON-lines trace where every task only ever touches handles it
    /// opened itself (or was handed, and used at once) and still holds: no stale
    /// holder by construction. Values
    /// are allocated lowest-free-first, so numbers are recycled between tasks.
    fn honest_trace(steps: &[Step], with_stacks: bool) -> String {
        let mut open: BTreeMap<i64, u32> = BTreeMap::new();
        let mut held: BTreeMap<u32, Vec<i64>> = BTreeMap::new();
        let mut out = String::new();
        let kinds = ["Event", "File", "Mutant"];
        let first = [Step::Open(0)];
        for (i, s) in first.iter().chain(steps).enumerate() {
            let ts = 1000 + i as u64 * 10;
            let (tid, line) = match *s {
                Step::Open(t) => {
                    let h = (1..)
                        .map(|n| n * 4)
                        .find(|h| !open.contains_key(h))
                        .unwrap();
                    open.insert(h, t);
                    held.entry(t).or_default().push(h);
                    let stack = if with_stacks {
                        format!(r#","stack":["ntdll!NtCreate+0x14","app!Task{t}.Open+0x10"]"#)
                    } else {
                        String::new()
                    };
                    (
                        t,
                        format!(
                            r#""op":"open","handle":"{h:#x}","type":"{}"{stack}"#,
                            kinds[i % 3]
                        ),
                    )
                }
                Step::Use(t) => {
                    let Some(h) = held.get(&t).and_then(|v| v.last()).copied() else {
                        continue;
                    };
                    (
                        t,
                        format!(r#""op":"use","handle":"{h:#x}","call":"WaitForSingleObject""#),
                    )
                }
                Step::Handoff(from, to) => {
                    let Some(h) = held.get_mut(&from).and_then(|v| v.pop()) else {
                        continue;
                    };
                    held.entry(to).or_default().push(h);
                    (
                        to,
                        format!(r#""op":"use","handle":"{h:#x}","call":"WaitForSingleObject""#),
                    )
                }
                Step::Close(t) => {
                    let Some(h) = held.get_mut(&t).and_then(|v| v.pop()) else {
                        continue;
                    };
                    open.remove(&h);
                    let stack = if with_stacks {
                        r#","stack":["ntdll!NtClose+0x14","app!Common.Close+0x10"]"#
                    } else {
                        ""
                    };
                    (t, format!(r#""op":"close","handle":"{h:#x}"{stack}"#))
                }
            };
            out.push_str(&format!(
                "{{\"v\":1,\"ts\":{ts},\"pid\":10,\"tid\":{},{line}}}\n",
                100 + tid
            ));
        }
        out
    }

    proptest! {
        // 64 cases in CI; PROPTEST_CASES=N runs more locally.
        #![proptest_config(ProptestConfig::with_cases(
            std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(64)
        ))]

        /// Tasks that only use and release what they hold (made or were handed) never give HC003 or HC004,
        /// however their calls interleave and whichever values get recycled.
        #[test]
        fn honest_interleavings_never_blame_a_stale_holder(
            steps in proptest::collection::vec(step(), 1..60),
            with_stacks in any::<bool>(),
        ) {
            let text = honest_trace(&steps, with_stacks);
            let a = run_jsonl(&text);
            let stale: Vec<_> = a.findings.iter().filter(|f| matches!(f.code, "HC003" | "HC004")).collect();
            prop_assert!(stale.is_empty(), "{}\n{}", text, describe(&a));
        }

        /// Inject one stale close (a task closes a value it released earlier,
        /// after another task got it): reported as HC004, at that close, when the
        /// value's new owner then uses it.
        #[test]
        fn an_injected_stale_close_is_found(
            steps in proptest::collection::vec(step(), 0..30),
        ) {
            let mut text = honest_trace(&steps, false);
            // Task 7 opens and closes 0x1000, task 8 gets it, task 7 closes it again,
            // task 8 fails to use it.
            let tail = [
                r#""tid":107,"op":"open","handle":"0x1000","type":"File""#,
                r#""tid":107,"op":"close","handle":"0x1000""#,
                r#""tid":108,"op":"open","handle":"0x1000","type":"Event""#,
                r#""tid":107,"op":"close","handle":"0x1000""#,
                r#""tid":108,"op":"use","handle":"0x1000","call":"SetEvent","status":"ERROR_INVALID_HANDLE""#,
            ];
            let base = text.lines().count();
            for (i, t) in tail.iter().enumerate() {
                text.push_str(&format!("{{\"v\":1,\"ts\":{},\"pid\":10,{t}}}\n", 100_000 + i));
            }
            let a = run_jsonl(&text);
            let f = a.findings.iter().find(|f| f.code == "HC004");
            prop_assert!(f.is_some(), "{}\n{}", text, describe(&a));
            let line = f.unwrap().primary().unwrap().event.origin.line as usize;
            prop_assert_eq!(line, base + 4);
        }
    }
}

/// The chain's roles (collateral included) are in the JSON schema.
#[test]
fn chain_json_matches_the_schema() {
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../../docs/json-schema.json")).unwrap();
    let v = jsonschema::options()
        .build(&schema)
        .expect("schema compiles");
    let a = run(&fixture("fdsan_cascade").join("trace.log"));
    let shown: Vec<_> = a.findings.iter().collect();
    let doc: serde_json::Value =
        serde_json::from_str(&handlecheck::report::json::render(&a, &shown)).unwrap();
    let errors: Vec<String> = v.iter_errors(&doc).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    let roles: Vec<&str> = doc["findings"][0]["locations"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["role"].as_str())
        .collect();
    assert!(roles.contains(&"collateral"), "{roles:?}");
    assert!(roles.contains(&"bad-release"), "{roles:?}");
}
