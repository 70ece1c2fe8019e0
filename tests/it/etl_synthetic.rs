//! SYNTHETIC .etl fixtures for rule tests (fixtures/etl/synthetic/). No public
//! trace with kernel handle events exists, so these are built in the real
//! layout by tests/common/etl_builder.rs. This test regenerates them and fails
//! when the stored copies differ (`UPDATE_ETL_FIXTURES=1` rewrites them), and
//! checks the events each one decodes to.

use crate::common::reader;

use crate::common::etl_builder;

use etl_builder::{EtlBuilder, Kind};
use handlecheck::formats::etl;
use handlecheck::model::{Event, Interner, Op, ResourceKind, flags};

const EVENT: u16 = 16;
const FILE: u16 = 37;
const THREAD: u16 = 8;

/// SYNTHETIC: an Event handle 0x40 closed twice by the same code; between the
/// closes 0x40 was recycled as a File handle (namespace collision). As in a
/// real trace, only successful closes are logged: the File's owner's own close,
/// which then fails (the value is not open any more), leaves no event.
fn namespace_collision() -> Vec<u8> {
    const PID: u32 = 1234;
    const APP: u64 = 0x7ff6_1000_0000;
    const K32: u64 = 0x7ffa_2000_0000;
    let mut b = EtlBuilder::new(8).compressed(true).buffer_size(0x300);
    b.type_dc_start(0, 1, EVENT, "Event");
    b.type_dc_start(0, 2, FILE, "File");
    b.type_dc_start(0, 3, THREAD, "Thread");
    b.image_load(
        0,
        4,
        PID,
        APP,
        0x10_0000,
        "\\Device\\HarddiskVolume2\\svc\\collide.exe",
    );
    b.image_load(
        0,
        5,
        PID,
        K32,
        0x10_0000,
        "\\Device\\HarddiskVolume2\\Windows\\System32\\KernelBase.dll",
    );
    // t=1000 thread 11 creates Event 0x40 (site: app+0x1100 via CreateEventW).
    b.create_handle(1, 1000, PID, 11, 0xffff_c283_0000_1000, 0x40, EVENT);
    b.stack(
        1,
        1001,
        1000,
        PID,
        11,
        &[K32 + 0x3300, APP + 0x1100, APP + 0x9000],
    );
    // t=2000 thread 11 closes it (site: app+0x2200, "Worker::Stop").
    b.close_handle(1, 2000, PID, 11, 0xffff_c283_0000_1000, 0x40, EVENT, "");
    b.stack_key(1, 2001, 2000, PID, 11, 0xffff_fa80_0000_0100, false);
    // t=3000 thread 12 opens a File and gets the recycled value 0x40.
    b.create_handle(0, 3000, PID, 12, 0xffff_c283_0000_2000, 0x40, FILE);
    b.stack(0, 3001, 3000, PID, 12, &[K32 + 0x4400, APP + 0x5500]);
    // t=4000 thread 11 closes 0x40 again from the same place: it closes the File.
    b.close_handle(
        1,
        4000,
        PID,
        11,
        0xffff_c283_0000_2000,
        0x40,
        FILE,
        "\\Device\\HarddiskVolume2\\svc\\data.log",
    );
    b.stack_key(1, 4001, 4000, PID, 11, 0xffff_fa80_0000_0100, false);
    // (t=5000 the File's owner closes "its" 0x40: the close fails with
    // STATUS_INVALID_HANDLE and ETW logs nothing.)
    // The cached user stack of both closes, defined at the end (KeyRundown).
    b.key_rundown(
        0,
        9000,
        0xffff_fa80_0000_0100,
        &[K32 + 0x3400, APP + 0x2200, APP + 0x9100],
    );
    b.process_end(0, 9500, PID);
    b.build()
}

/// SYNTHETIC: a thread pool that creates one Event (clr+0x1000 "AllocHandles"
/// under clr+0x2000 "CreateWorkerThread") right before each Thread/Start; the
/// Events are never closed although the workers end; a GC comes and goes. A
/// File opened and closed per worker is the healthy control.
fn worker_event_leak() -> Vec<u8> {
    const PID: u32 = 2000;
    const APP: u64 = 0x7ff6_3000_0000;
    const CLR: u64 = 0x7ffa_4000_0000;
    const MAIN: u32 = 20;
    let mut b = EtlBuilder::new(8).compressed(true).buffer_size(0x400);
    b.type_dc_start(0, 1, EVENT, "Event");
    b.type_dc_start(0, 2, FILE, "File");
    b.image_load(
        0,
        3,
        PID,
        APP,
        0x10_0000,
        "\\Device\\HarddiskVolume2\\pool\\pool.exe",
    );
    b.image_load(
        0,
        4,
        PID,
        CLR,
        0x80_0000,
        "\\Device\\HarddiskVolume2\\Windows\\Microsoft.NET\\Framework64\\v4.0.30319\\clr.dll",
    );
    for i in 0..8u32 {
        let t = 1000 + u64::from(i) * 1000;
        let cpu = (i % 2) as u16;
        let handle = 0x100 + 4 * i;
        b.create_handle(
            cpu,
            t,
            PID,
            MAIN,
            0xffff_c283_1000_0000 + u64::from(i) * 0x100,
            handle,
            EVENT,
        );
        b.stack(
            cpu,
            t + 1,
            t,
            PID,
            MAIN,
            &[CLR + 0x1000, CLR + 0x2000, APP + 0x3000],
        );
        b.thread_start(cpu, t + 10, PID, MAIN, 100 + i);
        // Worker opens and closes a File (healthy).
        b.create_handle(
            1 - cpu,
            t + 100,
            PID,
            100 + i,
            0xffff_c283_2000_0000 + u64::from(i),
            0x400,
            FILE,
        );
        b.close_handle(
            1 - cpu,
            t + 200,
            PID,
            100 + i,
            0xffff_c283_2000_0000 + u64::from(i),
            0x400,
            FILE,
            "",
        );
        b.thread_end(1 - cpu, t + 500, PID, 100 + i);
    }
    b.gc(0, 20_000, PID, MAIN, true);
    b.gc(0, 20_500, PID, MAIN, false);
    b.build()
}

/// SYNTHETIC (32-bit, COMPACT headers, plain buffers): the program closes
/// Event 0x50 twice with no reopen between and closes 0x1234, never open; a
/// rundown-seeded handle 0x60 is closed fine. ETW logs only the closes that
/// succeed, so the trace holds the first close of 0x50 and the close of 0x60:
/// the double close and the invalid close leave no event (what ETW cannot show).
fn double_close_not_logged() -> Vec<u8> {
    const PID: u32 = 3000;
    const APP: u64 = 0x0040_0000;
    let mut b = EtlBuilder::new(4).kind(Kind::Compact).buffer_size(0x200);
    b.type_dc_start(0, 1, EVENT, "Event");
    b.image_load(0, 2, PID, APP, 0x10_0000, "C:\\legacy\\legacy32.exe");
    b.handle_rundown(
        false,
        0,
        3,
        PID,
        0x8100_0000,
        0x60,
        EVENT,
        "\\BaseNamedObjects\\Seeded",
    );
    b.create_handle(0, 1000, PID, 31, 0x8200_0000, 0x50, EVENT);
    b.stack(0, 1001, 1000, PID, 31, &[APP + 0x1010]);
    b.close_handle(1, 2000, PID, 31, 0x8200_0000, 0x50, EVENT, "");
    b.stack(1, 2001, 2000, PID, 31, &[APP + 0x2020]);
    // (t=3000 tid 32 closes 0x50 again and t=4000 tid 31 closes 0x1234: both
    // fail with STATUS_INVALID_HANDLE and leave no event.)
    b.close_handle(
        0,
        5000,
        PID,
        31,
        0x8100_0000,
        0x60,
        EVENT,
        "\\BaseNamedObjects\\Seeded",
    );
    b.build()
}

fn check_stored(name: &str, bytes: &[u8]) -> Vec<u8> {
    let path = format!(
        "{}/fixtures/etl/synthetic/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    if std::env::var_os("UPDATE_ETL_FIXTURES").is_some() {
        std::fs::create_dir_all(std::path::Path::new(&path).parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
    }
    let stored = std::fs::read(&path).unwrap_or_default();
    assert!(
        stored == bytes,
        "{path} is stale: run UPDATE_ETL_FIXTURES=1 cargo test --test etl_synthetic"
    );
    stored
}

fn read(bytes: &[u8]) -> (Vec<Event>, Interner) {
    let c = reader::collect(0, |ctx| etl::read(bytes, "synthetic.etl", ctx));
    c.result.unwrap();
    assert!(c.stats.skipped_by_reason.is_empty());
    (c.events, c.interner)
}

fn frames(ev: &Event, i: &Interner) -> Vec<String> {
    ev.stack
        .map(|s| {
            i.frames(s)
                .iter()
                .map(|f| i.resolve(*f).to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn namespace_collision_fixture() {
    let bytes = check_stored("SYNTHETIC_namespace_collision.etl", &namespace_collision());
    let (evs, i) = read(&bytes);
    let handle_evs: Vec<(Op, u32, i64, ResourceKind)> = evs
        .iter()
        .filter(|e| e.handle == 0x40)
        .map(|e| (e.op, e.tid, e.handle, e.kind))
        .collect();
    let open = Op::Open { cloexec: false };
    assert_eq!(
        handle_evs,
        [
            (open, 11, 0x40, ResourceKind::Event),
            (Op::Close, 11, 0x40, ResourceKind::Event),
            (open, 12, 0x40, ResourceKind::File),
            (Op::Close, 11, 0x40, ResourceKind::File),
        ]
    );
    let closes: Vec<&Event> = evs
        .iter()
        .filter(|e| e.op == Op::Close && e.tid == 11)
        .collect();
    assert_eq!(
        frames(closes[0], &i),
        [
            "KernelBase.dll+0x3400",
            "collide.exe+0x2200",
            "collide.exe+0x9100"
        ]
    );
    assert_eq!(
        closes[0].stack, closes[1].stack,
        "both closes come from the same site"
    );
    assert_eq!(evs.last().unwrap().op, Op::ProcessExit);
}

#[test]
fn worker_event_leak_fixture() {
    let bytes = check_stored("SYNTHETIC_worker_event_leak.etl", &worker_event_leak());
    let (evs, i) = read(&bytes);
    let events: Vec<&Event> = evs
        .iter()
        .filter(|e| e.kind == ResourceKind::Event)
        .collect();
    assert_eq!(events.len(), 8);
    assert!(events.iter().all(|e| e.op == (Op::Open { cloexec: false })));
    assert_eq!(
        frames(events[0], &i),
        ["clr.dll+0x1000", "clr.dll+0x2000", "pool.exe+0x3000"]
    );
    let spawns = evs
        .iter()
        .filter(|e| matches!(e.op, Op::Spawn { thread: true, .. }) && e.tid == 20)
        .count();
    assert_eq!(spawns, 8);
    assert_eq!(evs.iter().filter(|e| e.op == Op::TaskExit).count(), 8);
    assert_eq!(
        evs.iter()
            .filter(|e| e.op == Op::Close && e.kind == ResourceKind::File)
            .count(),
        8
    );
    // Each Event open immediately precedes its Thread/Start.
    for (k, e) in evs.iter().enumerate() {
        if e.kind == ResourceKind::Event {
            assert!(matches!(evs[k + 1].op, Op::Spawn { .. }));
        }
    }
    assert_eq!(
        evs.iter().rev().take(2).map(|e| e.op).collect::<Vec<_>>(),
        [Op::GcEnd, Op::GcStart]
    );
}

#[test]
fn double_close_not_logged_fixture() {
    let bytes = check_stored(
        "SYNTHETIC_double_close_not_logged.etl",
        &double_close_not_logged(),
    );
    let (evs, i) = read(&bytes);
    let got: Vec<(Op, i64, bool)> = evs
        .iter()
        .map(|e| (e.op, e.handle, e.has(flags::RUNDOWN)))
        .collect();
    let open = Op::Open { cloexec: false };
    assert_eq!(
        got,
        [
            (open, 0x60, true),
            (open, 0x50, false),
            (Op::Close, 0x50, false),
            (Op::Close, 0x60, false),
        ]
    );
    assert_eq!(frames(&evs[2], &i), ["legacy32.exe+0x2020"]);
    assert_eq!(
        i.resolve(evs[0].resource.unwrap()),
        "\\BaseNamedObjects\\Seeded"
    );
}

/// Every synthetic trace is what a real one could be: ETW writes CloseHandle
/// only when the close succeeded, so no close is of a value that is not open.
#[test]
fn synthetic_traces_log_only_closes_that_succeed() {
    for bytes in [
        namespace_collision(),
        worker_event_leak(),
        double_close_not_logged(),
    ] {
        let (evs, _) = read(&bytes);
        let mut open: std::collections::HashSet<(u32, i64)> = Default::default();
        for e in &evs {
            match e.op {
                Op::Open { .. } => {
                    open.insert((e.pid, e.handle));
                }
                Op::Close => assert!(
                    open.remove(&(e.pid, e.handle)),
                    "a close of {:#x} that is not open: ETW never logs one",
                    e.handle
                ),
                _ => {}
            }
        }
    }
}
