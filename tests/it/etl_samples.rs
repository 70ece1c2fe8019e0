//! The ETL reader on real public traces of other projects, read from
//! ../shared/samples/etl (never copied here; skipped, saying so, without it),
//! with PerfView's own decoding (`*.baseline.txt`) as the oracle.

use crate::common::{reader, shared};

use std::collections::BTreeMap;

use handlecheck::formats::ReadStats;
use handlecheck::formats::etl;
use handlecheck::model::{Event, Interner, Op};

/// A shared sample by its unpacked name (`perfview_net.4.5.2.x64.etl` is
/// `etl/perfview_net.4.5.2.x64.etl.zip` there); `None` when ../shared is absent.
pub fn fixture(name: &str) -> Option<Vec<u8>> {
    let zipped = format!("etl/{name}.zip");
    if shared::sample_path(&zipped).exists() {
        return shared::sample(&zipped);
    }
    shared::sample(&format!("etl/{name}"))
}

/// `COUNT Windows Kernel/Process/DCStart:32` → ("Process/DCStart", 32).
fn baseline_counts(name: &str) -> BTreeMap<String, u64> {
    let text = String::from_utf8(fixture(name).unwrap_or_default()).unwrap();
    text.lines()
        .filter_map(|l| l.strip_prefix("COUNT "))
        .filter_map(|l| {
            let (event, n) = l.rsplit_once(':')?;
            Some((event.to_string(), n.parse().ok()?))
        })
        .collect()
}

fn check_kernel_counts_against_baseline(etl_name: &str, baseline: &str) {
    let Some(bytes) = fixture(etl_name) else {
        return;
    };
    let stats = etl::stats(&bytes, etl_name).unwrap();
    let base = baseline_counts(baseline);
    let mut checked = 0;
    for (event, n) in &base {
        // PerfView counts raw records for these groups (StackWalk is folded into
        // the events it belongs to and not listed).
        let Some(name) = event.strip_prefix("Windows Kernel/") else {
            continue;
        };
        if !(name.starts_with("Process/")
            || name.starts_with("Thread/")
            || name.starts_with("Image/"))
        {
            continue;
        }
        assert_eq!(stats.by_event.get(name), Some(n), "{etl_name}: {name}");
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} baseline counts checked");
    assert_eq!(stats.by_event["EventTrace/Header"], 1);
    assert_eq!(stats.damaged_buffers, 0);
    assert_eq!(stats.buffers_with_bad_record, 0);
}

#[test]
fn x64_kernel_counts_match_perfview() {
    check_kernel_counts_against_baseline(
        "perfview_net.4.5.2.x64.etl",
        "perfview_net.4.5.2.x64.baseline.txt",
    );
}

#[test]
fn x86_kernel_counts_match_perfview() {
    check_kernel_counts_against_baseline(
        "perfview_net.4.5.2.x86.etl",
        "perfview_net.4.5.2.x86.baseline.txt",
    );
}

#[test]
fn x64_container_facts() {
    let Some(bytes) = fixture("perfview_net.4.5.2.x64.etl") else {
        return;
    };
    let s = etl::stats(&bytes, "x64").unwrap();
    // Research etw.md §5: header kinds PERFINFO64 100 157 + SYSTEM64 3 189 + EVENT64 34 765
    // + EVENT32 33 378 + FULL64 7 956 + FULL32 27 + SYSTEM32 2 records.
    assert_eq!(s.records, 179_474);
    assert_eq!(s.records_32bit, 33_378 + 27 + 2);
    assert_eq!((s.buffers, s.compressed_buffers, s.cpus), (360, 359, 8));
    assert_eq!(
        (s.pointer_size, s.header_cpus, s.clock_type, s.perf_freq),
        (Some(8), Some(8), Some(1), Some(10_000_000))
    );
    // 9 359 stack events, all with a matching event (research §4.1).
    let stacks: u64 = [
        "StackWalk/Stack",
        "StackWalk/StackKeyKernel",
        "StackWalk/StackKeyUser",
    ]
    .iter()
    .map(|n| s.by_event[*n])
    .sum();
    assert_eq!(stacks, 9_359);
    // GC events are PerfView's GC/Start and GC/Stop.
    let base = baseline_counts("perfview_net.4.5.2.x64.baseline.txt");
    assert_eq!(
        s.by_event["Microsoft-Windows-DotNETRuntime/GC/Start"],
        base["Microsoft-Windows-DotNETRuntime/GC/Start"]
    );
    assert_eq!(
        s.by_event["Microsoft-Windows-DotNETRuntime/GC/Stop"],
        base["Microsoft-Windows-DotNETRuntime/GC/Stop"]
    );
    assert!(s.start_time.unwrap() < s.end_time.unwrap());
}

fn read(name: &str) -> Option<(Vec<Event>, Interner, ReadStats)> {
    let bytes = fixture(name)?;
    let c = reader::collect(0, |ctx| etl::read(&bytes, name, ctx));
    c.result.unwrap();
    Some((c.events, c.interner, c.stats))
}

#[test]
fn x64_events_are_time_ordered_with_perfview_times() {
    let Some((evs, interner, stats)) = read("perfview_net.4.5.2.x64.etl") else {
        return;
    };
    assert_eq!(stats.units, 179_474);
    assert!(
        stats.skipped_by_reason.is_empty(),
        "{:?}",
        stats.skipped_by_reason
    );
    assert_eq!(
        evs.iter()
            .filter(|e| matches!(e.op, Op::Spawn { .. }))
            .count(),
        9
    );
    assert_eq!(evs.iter().filter(|e| e.op == Op::TaskExit).count(), 15);
    assert_eq!(evs.iter().filter(|e| e.op == Op::ProcessExit).count(), 1);
    assert_eq!(evs.iter().filter(|e| e.op == Op::GcEnd).count(), 264);
    for w in evs.windows(2) {
        assert!(w[0].time <= w[1].time);
    }
    // Baseline: "EVENT 60.633: Windows Kernel/Thread/Start PID=4; TID=3668" (ms after the header)
    // with StartTime 2020-07-29 00:07:00.62... : the first Thread/Start.
    let start = etl::stats(&fixture("perfview_net.4.5.2.x64.etl").unwrap(), "x")
        .unwrap()
        .start_time
        .unwrap();
    let first = evs
        .iter()
        .find(|e| matches!(e.op, Op::Spawn { .. }))
        .unwrap();
    assert_eq!(
        first.op,
        Op::Spawn {
            child: 3668,
            shares_table: true,
            thread: true
        }
    );
    assert_eq!(first.pid, 4);
    assert_eq!(
        (first.time.unwrap() - start) / 1000,
        60_632,
        "µs after start"
    );
    let line = etl::render_event(first, &interner);
    assert!(line.starts_with("2020-07-29T00:07:00.68"), "{line}");
    // Thread starts in this trace carry cached stacks resolved through the image map.
    let with_stack = evs
        .iter()
        .filter(|e| matches!(e.op, Op::Spawn { .. }) && e.stack.is_some())
        .count();
    assert!(with_stack >= 1, "no Thread/Start got its stack");
    let frames: Vec<&str> = evs
        .iter()
        .filter_map(|e| e.stack)
        .flat_map(|s| interner.frames(s).iter().map(|f| interner.resolve(*f)))
        .collect();
    assert!(
        frames.iter().any(|f| f.starts_with("ntoskrnl.exe+0x")),
        "{frames:?}"
    );
}

#[test]
fn small_relogged_and_manifest_only_files() {
    let Some(bytes) = fixture("perfview_SelfDescribingSingleEvent.etl") else {
        return;
    };
    let s = etl::stats(&bytes, "x").unwrap();
    assert_eq!(
        (s.buffers, s.compressed_buffers, s.damaged_buffers),
        (3, 2, 0)
    );
    assert_eq!(s.records, 23);
    let s = etl::stats(&fixture("perfview_primitive-types.etl").unwrap(), "x").unwrap();
    assert_eq!(s.damaged_buffers, 0);
    assert_eq!(s.by_event["EventTrace/Header"], 1);
    // gcevents: baseline GC/Start:2, GC/Stop:2.
    let (evs, _, _) = read("perfview_gcevents.etl").unwrap();
    assert_eq!(evs.iter().filter(|e| e.op == Op::GcStart).count(), 2);
    assert_eq!(evs.iter().filter(|e| e.op == Op::GcEnd).count(), 2);
}

#[test]
fn empty_and_foreign_files_are_clear_errors() {
    let empty: Vec<u8> = Vec::new();
    let e = etl::stats(&empty, "empty.etl").unwrap_err();
    assert!(e.message.contains("empty file"), "{e}");
    assert!(e.hint.is_some());
    let c = reader::collect(0, |ctx| {
        etl::read(
            b"execve(\"/bin/true\", [\"true\"], 0x7ffd) = 0\n",
            "t.strace",
            ctx,
        )
    });
    let e = c.result.unwrap_err();
    assert!(e.message.contains("not an ETW .etl file"), "{e}");
    assert_eq!(e.at, handlecheck::input::error::Location::Byte(0));
    assert!(!etl::sniff(
        b"execve(\"/bin/true\", [\"true\"], 0x7ffd) = 0\n"
    ));
    let (Some(small), Some(x86)) = (
        fixture("perfview_primitive-types.etl"),
        fixture("perfview_net.4.5.2.x86.etl"),
    ) else {
        return;
    };
    assert!(etl::sniff(&small));
    assert!(etl::sniff(&x86[..0x100]));
}
