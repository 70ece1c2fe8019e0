//! Event decoding of the ETL reader on SYNTHETIC files built in the real layout
//! (tests/common/etl_builder.rs): handle events, rundown, threads, processes,
//! stacks, time-ordered merge, compressed buffers, both pointer sizes.

use crate::common::reader;

use crate::common::etl_builder;

use etl_builder::{EtlBuilder, Kind, START_UNIX_NS};
use handlecheck::formats::ReadStats;
use handlecheck::formats::etl;
use handlecheck::model::{Event, Interner, Op, ResourceKind, flags};

const PID: u32 = 1234;
const EXE_BASE: u64 = 0x7ff6_0000_0000;
const K32_BASE: u64 = 0x7ffa_1000_0000;
const NT_BASE: u64 = 0xffff_f800_0100_0000;

fn read_all(bytes: &[u8]) -> (Vec<Event>, Interner, ReadStats) {
    let c = reader::collect(3, |ctx| etl::read(bytes, "synthetic.etl", ctx));
    c.result.expect("readable");
    (c.events, c.interner, c.stats)
}

fn stack_text(ev: &Event, interner: &Interner) -> Vec<String> {
    ev.stack
        .map(|s| {
            interner
                .frames(s)
                .iter()
                .map(|f| interner.resolve(*f).to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// One scenario over 3 CPUs: type rundown, module loads, an Event created on
/// CPU 2, duplicated on CPU 1, closed on CPU 0, with stacks.
fn scenario(ptr: usize, kind: Kind, compressed: bool) -> Vec<u8> {
    let ptr_mask = if ptr == 4 { 0xFFFF_FFFF } else { u64::MAX };
    let (exe, k32) = (EXE_BASE & ptr_mask, K32_BASE & ptr_mask);
    let mut b = EtlBuilder::new(ptr)
        .kind(kind)
        .compressed(compressed)
        .buffer_size(0x200);
    b.type_dc_start(0, 1, 16, "Event");
    b.type_dc_start(0, 2, 37, "File");
    b.image_load(
        0,
        3,
        PID,
        exe,
        0x10000,
        "\\Device\\HarddiskVolume2\\app\\app.exe",
    );
    b.image_load(
        0,
        4,
        PID,
        k32,
        0x20000,
        "\\Device\\HarddiskVolume2\\Windows\\System32\\kernel32.dll",
    );
    // Plenty of filler so each CPU has several buffers.
    for i in 0..20 {
        b.image_load(
            1,
            5 + i,
            999,
            0x1000_0000 + i * 0x10000,
            0x1000,
            "\\filler.dll",
        );
    }
    b.create_handle(2, 100, PID, 11, 0xffff_c283_aee8_cd60, 0x3a78, 16);
    b.stack(2, 101, 100, PID, 11, &[exe + 0x1234, k32 + 0x50]);
    b.duplicate_handle(
        1,
        200,
        PID,
        12,
        0xffff_c283_aee8_cd60,
        0x3a78,
        0x3a80,
        4321,
        16,
    );
    b.close_handle(
        0,
        300,
        PID,
        13,
        0xffff_c283_aee8_cd60,
        0x3a78,
        16,
        "\\BaseNamedObjects\\Ready",
    );
    b.build()
}

#[test]
fn create_duplicate_close_decode_with_types_names_and_stacks() {
    for (ptr, kind, compressed) in [
        (8, Kind::System, false),
        (8, Kind::Compact, true),
        (4, Kind::System, true),
        (4, Kind::Compact, false),
    ] {
        let (evs, interner, stats) = read_all(&scenario(ptr, kind, compressed));
        assert_eq!(evs.len(), 3, "ptr {ptr} compressed {compressed}: {evs:?}");
        assert!(
            stats.skipped_by_reason.is_empty(),
            "{:?}",
            stats.skipped_by_reason
        );

        let open = &evs[0];
        assert_eq!(open.op, Op::Open { cloexec: false });
        assert_eq!((open.pid, open.tid, open.handle), (PID, 11, 0x3a78));
        assert_eq!(open.kind, ResourceKind::Event);
        assert_eq!(open.resource, None);
        assert_eq!(interner.resolve(open.call), "Object/CreateHandle");
        assert_eq!(open.time, Some(START_UNIX_NS + 100 * 100));
        assert_eq!(
            stack_text(open, &interner),
            ["app.exe+0x1234", "kernel32.dll+0x50"]
        );

        let dup = &evs[1];
        assert_eq!(
            dup.op,
            Op::Dup {
                source: 0x3a78,
                cloexec: false,
                replaces: false,
                source_pid: Some(PID)
            }
        );
        assert_eq!(
            (dup.pid, dup.tid, dup.handle, dup.kind),
            (4321, 12, 0x3a80, ResourceKind::Event)
        );
        assert_eq!(dup.stack, None);

        let close = &evs[2];
        assert_eq!(close.op, Op::Close);
        assert!(close.outcome.is_ok());
        assert_eq!((close.pid, close.tid, close.handle), (PID, 13, 0x3a78));
        assert_eq!(
            interner.resolve(close.resource.expect("name")),
            "\\BaseNamedObjects\\Ready"
        );
    }
}

#[test]
fn compressed_and_plain_files_give_the_same_events() {
    let plain = scenario(8, Kind::System, false);
    let packed = scenario(8, Kind::System, true);
    assert!(packed.len() < plain.len());
    let (a, ia, _) = read_all(&plain);
    let (b, ib, sb) = read_all(&packed);
    assert_eq!(
        sb.counters
            .get("etl compressed buffers")
            .copied()
            .unwrap_or(0) as usize,
        sb.counters["etl buffers"] as usize - 1
    );
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(
            (x.op, x.pid, x.tid, x.handle, x.time, x.kind),
            (y.op, y.pid, y.tid, y.handle, y.time, y.kind)
        );
        assert_eq!(
            x.origin.record, y.origin.record,
            "record numbers do not depend on compression"
        );
        assert_eq!(stack_text(x, &ia), stack_text(y, &ib));
    }
}

#[test]
fn events_come_out_in_time_order_across_cpus_with_stable_ties() {
    // CPU 3's buffers are written first, CPU 0's last; times interleave.
    let mut b = EtlBuilder::new(8).buffer_size(0x100);
    for i in 0..40u64 {
        let cpu = (i % 4) as u16;
        b.create_handle(
            cpu,
            1000 + i * 10,
            PID,
            100 + cpu as u32,
            0xffff_0000_0000_0000 + i,
            4 + 4 * i as u32,
            16,
        );
    }
    // Two events with the same timestamp on CPUs 2 and 1: CPU 2's buffer comes first in the file.
    b.close_handle(1, 5000, PID, 101, 1, 8, 16, "");
    b.close_handle(2, 5000, PID, 102, 1, 4, 16, "");
    let bytes = b.build();
    let (evs, _, _) = read_all(&bytes);
    assert_eq!(evs.len(), 42);
    for w in evs.windows(2) {
        assert!(
            w[0].time <= w[1].time,
            "{:?} after {:?}",
            w[1].time,
            w[0].time
        );
    }
    let handles: Vec<i64> = evs.iter().take(40).map(|e| e.handle).collect();
    assert_eq!(handles, (0..40).map(|i| 4 + 4 * i).collect::<Vec<i64>>());
    // Tie at 5000: buffer index decides (CPU 2's buffer precedes CPU 1's in the file).
    assert_eq!((evs[40].tid, evs[41].tid), (102, 101));
    // Record numbers follow file order: the header record is 1, CPU 3's first record 2.
    assert_eq!(evs[3].origin.record, 2);
    assert_eq!(evs[3].origin.input, 3);
    assert!(evs.iter().all(|e| e.origin.offset > 0x48));
}

#[test]
fn rundown_seeds_open_handles_and_kernel_handles_go_to_system() {
    let mut b = EtlBuilder::new(8);
    b.type_dc_start(0, 1, 37, "File");
    b.handle_rundown(
        false,
        0,
        2,
        PID,
        0xffff_0000_0000_1000,
        0x44,
        37,
        "\\Device\\HarddiskVolume2\\log.txt",
    );
    b.handle_rundown(false, 0, 3, PID, 0xffff_0000_0000_2000, 0x8000_0044, 99, "");
    b.handle_rundown(true, 0, 400, PID, 0xffff_0000_0000_1000, 0x44, 37, "");
    b.close_handle(0, 10, PID, 7, 0, 0x8000_0100, 37, "");
    let (evs, interner, stats) = read_all(&b.build());
    assert_eq!(evs.len(), 3);
    assert_eq!(evs[0].op, Op::Open { cloexec: false });
    assert!(evs[0].has(flags::RUNDOWN));
    assert_eq!(
        (evs[0].pid, evs[0].handle, evs[0].kind),
        (PID, 0x44, ResourceKind::File)
    );
    assert_eq!(
        interner.resolve(evs[0].resource.unwrap()),
        "\\Device\\HarddiskVolume2\\log.txt"
    );
    assert_eq!(interner.resolve(evs[0].call), "Object/HandleDCStart");
    assert_eq!(
        (evs[1].pid, evs[1].handle, evs[1].kind),
        (4, 0x8000_0044, ResourceKind::Unknown)
    );
    assert_eq!((evs[2].op, evs[2].pid, evs[2].tid), (Op::Close, 4, 7));
    assert_eq!(stats.counters["etl handles open at stop (HandleDCEnd)"], 1);
}

#[test]
fn process_and_thread_lifecycle_and_gc() {
    let mut b = EtlBuilder::new(8);
    b.thread_start(0, 10, PID, 500, 501);
    b.thread_start(0, 11, PID, 502, 502); // logged by the new thread itself: creator unknown
    b.thread_end(0, 20, PID, 501);
    b.gc(0, 30, PID, 500, true);
    b.gc(0, 31, PID, 500, false);
    b.process_end(0, 40, PID);
    let (evs, interner, _) = read_all(&b.build());
    let ops: Vec<(Op, u32, u32)> = evs.iter().map(|e| (e.op, e.pid, e.tid)).collect();
    assert_eq!(
        ops,
        [
            (
                Op::Spawn {
                    child: 501,
                    shares_table: true,
                    thread: true
                },
                PID,
                500
            ),
            (
                Op::Spawn {
                    child: 502,
                    shares_table: true,
                    thread: true
                },
                PID,
                0
            ),
            (Op::TaskExit, PID, 501),
            (Op::GcStart, PID, 500),
            (Op::GcEnd, PID, 500),
            (Op::ProcessExit, PID, 0),
        ]
    );
    assert_eq!(interner.resolve(evs[0].call), "Thread/Start");
}

#[test]
fn cached_stack_keys_resolve_even_when_defined_later_kernel_part_first() {
    let mut b = EtlBuilder::new(8);
    b.image_load(
        0,
        1,
        0,
        NT_BASE,
        0x100_0000,
        "\\SystemRoot\\system32\\ntoskrnl.exe",
    );
    b.image_load(0, 2, PID, EXE_BASE, 0x10000, "C:\\app\\app.exe");
    b.create_handle(1, 50, PID, 11, 1, 0x10, 16);
    // User part logged before the kernel part; keys defined at the end (KeyRundown).
    b.stack_key(1, 51, 50, PID, 11, 0xffff_fa80_0000_2000, false);
    b.stack_key(1, 51, 50, PID, 11, 0xffff_fa80_0000_1000, true);
    // Another thread's stack with the same event timestamp must not attach.
    b.stack(1, 52, 50, PID, 99, &[EXE_BASE + 0x999]);
    b.create_handle(1, 60, PID, 11, 2, 0x14, 16);
    b.stack(1, 61, 60, PID, 11, &[0xdead_beef]);
    b.key_rundown(
        0,
        900,
        0xffff_fa80_0000_1000,
        &[NT_BASE + 0x10, NT_BASE + 0x20],
    );
    b.key_rundown(0, 901, 0xffff_fa80_0000_2000, &[EXE_BASE + 0x30]);
    let (evs, interner, _) = read_all(&b.build());
    assert_eq!(evs.len(), 2);
    assert_eq!(
        stack_text(&evs[0], &interner),
        ["ntoskrnl.exe+0x10", "ntoskrnl.exe+0x20", "app.exe+0x30"]
    );
    assert_eq!(stack_text(&evs[1], &interner), ["0xdeadbeef"]);
}

#[test]
fn render_line_has_time_ids_handle_type_name_and_origin() {
    let (evs, interner, _) = read_all(&scenario(8, Kind::System, false));
    let line = etl::render_event(&evs[2], &interner);
    assert!(
        line.starts_with(
            "2020-07-29T00:07:00.000030000Z pid 1234 tid 13 Object/CloseHandle handle 0x3a78 Event"
        ),
        "{line}"
    );
    assert!(line.contains("\"\\\\BaseNamedObjects\\\\Ready\""), "{line}");
    assert!(
        line.contains(&format!(
            "[record {} @0x{:x}]",
            evs[2].origin.record, evs[2].origin.offset
        )),
        "{line}"
    );
    let dup = etl::render_event(&evs[1], &interner);
    assert!(
        dup.contains("handle 0x3a80 from 0x3a78 (pid 1234)"),
        "{dup}"
    );
}

#[test]
fn lost_event_flags_are_reported() {
    let mut b = EtlBuilder::new(8).events_lost_flag();
    b.create_handle(0, 1, PID, 1, 1, 4, 16);
    let (_, _, stats) = read_all(&b.build());
    assert_eq!(stats.lost.get("buffers flagged EVENTS_LOST"), Some(&1));
    let s = etl::stats(&b.build(), "x.etl").unwrap();
    assert_eq!(s.lost.get("buffers flagged EVENTS_LOST"), Some(&1));
    assert_eq!(s.records, 2);
    assert_eq!(s.by_event["Object/CreateHandle"], 1);
    assert_eq!(s.by_event["EventTrace/Header"], 1);
}
