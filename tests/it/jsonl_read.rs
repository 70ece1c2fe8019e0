//! JSON-lines schema v1 reader: every op, the status table, malformed lines.

use crate::common::reader;

use handlecheck::formats::{ReadStats, jsonl};
use handlecheck::model::{ErrorClass, Event, Interner, Op, Outcome, ResourceKind, RpcOp};

struct Out {
    events: Vec<Event>,
    interner: Interner,
    stats: ReadStats,
}

fn read(path: &str) -> Out {
    let bytes = std::fs::read(path).unwrap();
    let c = reader::collect(1, |ctx| jsonl::read(&bytes, path, ctx));
    c.result.unwrap();
    Out {
        events: c.events,
        interner: c.interner,
        stats: c.stats,
    }
}

impl Out {
    fn s(&self, sym: handlecheck::model::Sym) -> &str {
        self.interner.resolve(sym)
    }
    fn failed(&self, e: &Event) -> (ErrorClass, &str) {
        match e.outcome {
            Outcome::Failed { class, name } => (class, self.s(name)),
            other => panic!("not failed: {other:?}"),
        }
    }
}

#[test]
fn every_op_maps_to_its_event() {
    let out = read("fixtures/jsonl/all_ops.jsonl");
    let ops: Vec<Op> = out.events.iter().map(|e| e.op).collect();
    assert_eq!(
        ops,
        vec![
            Op::Open { cloexec: false },
            Op::Open { cloexec: true },
            Op::Use,
            Op::Use,
            Op::Dup {
                source: 0x1c,
                cloexec: false,
                replaces: false,
                source_pid: Some(100)
            },
            Op::Close,
            Op::Close,
            Op::Spawn {
                child: 102,
                shares_table: true,
                thread: true
            },
            Op::TaskExit,
            Op::GcStart,
            Op::GcEnd,
            Op::Rpc(RpcOp::Create { server: false }),
            Op::Rpc(RpcOp::Create { server: true }),
            Op::Rpc(RpcOp::Rundown),
            Op::Rpc(RpcOp::Call { server: false }),
            Op::Rpc(RpcOp::Close { server: false }),
            Op::Rpc(RpcOp::DestroyClientContext),
            Op::ProcessExit,
        ]
    );
    let e = &out.events;
    assert_eq!(
        (e[0].handle, e[0].kind, e[0].pid, e[0].tid, e[0].time),
        (0x1c, ResourceKind::Event, 100, 101, Some(1000))
    );
    assert_eq!(out.s(e[0].resource.unwrap()), "\\BaseNamedObjects\\ready");
    let frames: Vec<&str> = out
        .interner
        .frames(e[0].stack.unwrap())
        .iter()
        .map(|s| out.s(*s))
        .collect();
    assert_eq!(
        frames,
        [
            "ntdll!NtCreateEvent+0x14",
            "KERNELBASE!CreateEventW+0x66",
            "app!init+0x20"
        ]
    );
    assert_eq!((e[1].handle, e[1].kind), (5, ResourceKind::Socket));
    assert_eq!(out.s(e[1].resource.unwrap()), "socket:[8887]");
    assert_eq!(out.s(e[2].call), "SetEvent");
    assert!(e[2].outcome.is_ok());
    assert_eq!(
        out.failed(&e[3]),
        (ErrorClass::BadHandle, "ERROR_INVALID_HANDLE")
    );
    // dup: emitted in the target process, source in another table.
    assert_eq!((e[4].handle, e[4].pid), (0x40, 200));
    assert!(e[5].outcome.is_ok());
    assert_eq!(
        out.failed(&e[6]),
        (ErrorClass::BadHandle, "ERROR_INVALID_HANDLE")
    );
    assert_eq!(out.s(e[6].call), "close-failed");
    assert_eq!((e[8].tid, e[8].pid), (102, 100));
    // String ctx ids are interned: every rpc line names the same context.
    let ctx = e[11].handle;
    assert!(ctx >= jsonl::RPC_STRING_CTX_BASE);
    assert!(e[11..17].iter().all(|x| x.handle == ctx));
    assert_eq!(
        out.s(e[11].resource.unwrap()),
        "{6f1a2b3c-0000-4000-8000-00000000abcd}"
    );
    assert_eq!((e[12].pid, e[13].pid), (300, 300));
    assert_eq!(
        out.failed(&e[14]),
        (ErrorClass::ContextMismatch, "RPC_X_SS_CONTEXT_MISMATCH")
    );
    assert_eq!(
        out.failed(&e[15]),
        (ErrorClass::ContextMismatch, "RPC_X_SS_CONTEXT_MISMATCH")
    );
    assert!(e[16].outcome.is_ok());
    assert_eq!(e[17].time, Some(1_714_564_800_000_000_001));
    // Origins are lines.
    assert_eq!(
        (e[0].origin.line, e[0].origin.offset, e[0].origin.input),
        (1, 0, 1)
    );
    assert_eq!(e[17].origin.line, 18);
    assert_eq!(out.stats.skipped, 0);
}

#[test]
fn malformed_lines_are_skipped_with_reason_and_line() {
    let out = read("fixtures/jsonl/malformed.jsonl");
    let got: Vec<(Op, i64, u32)> = out
        .events
        .iter()
        .map(|e| (e.op, e.handle, e.origin.line))
        .collect();
    assert_eq!(
        got,
        vec![(Op::Open { cloexec: false }, 3, 1), (Op::Close, 3, 12)]
    );
    assert_eq!(out.events[0].kind, ResourceKind::File);
    let r = &out.stats.skipped_by_reason;
    assert_eq!(
        (
            r["jsonl: malformed JSON"].count,
            r["jsonl: malformed JSON"].first_at
        ),
        (2, 2)
    );
    assert_eq!(r["unsupported schema version"].first_at, 3);
    assert_eq!(r["jsonl: missing \"v\""].first_at, 4);
    assert_eq!(r["jsonl: unknown \"op\""].first_at, 5);
    assert_eq!(r["jsonl: missing or invalid \"handle\""].first_at, 6);
    assert_eq!(r["jsonl: invalid \"ts\""].first_at, 7);
    assert_eq!(r["jsonl: missing or invalid \"pid\""].first_at, 8);
    assert_eq!(r["jsonl: missing \"side\""].first_at, 9);
    assert_eq!(out.stats.skipped, 9);
}

#[test]
fn status_table() {
    let out = read("fixtures/jsonl/rules/hc007_release_failed.jsonl");
    assert_eq!(out.failed(&out.events[1]), (ErrorClass::Other, "EIO"));
    let out = read("fixtures/jsonl/rules/hc008_invalid_handle.jsonl");
    assert_eq!(out.events[0].handle, -1);
    assert_eq!(
        out.failed(&out.events[0]),
        (ErrorClass::BadHandle, "ERROR_INVALID_HANDLE")
    );
    assert_eq!(
        out.failed(&out.events[1]),
        (ErrorClass::BadHandle, "STATUS_INVALID_HANDLE")
    );
    let out = read("fixtures/jsonl/rules/hc003_reuse_after_close.jsonl");
    assert_eq!(
        out.failed(&out.events[3]),
        (ErrorClass::WrongType, "STATUS_OBJECT_TYPE_MISMATCH")
    );
    let out = read("fixtures/jsonl/rules/hc002_use_after_close.jsonl");
    // A plain (non-RPC) 6 is ERROR_INVALID_HANDLE, not a context mismatch.
    assert_eq!(
        out.failed(&out.events[2]),
        (ErrorClass::BadHandle, "ERROR_INVALID_HANDLE")
    );
}

#[test]
fn every_rule_fixture_reads_cleanly() {
    let mut n = 0;
    for entry in std::fs::read_dir("fixtures/jsonl/rules").unwrap() {
        let path = entry.unwrap().path();
        let out = read(path.to_str().unwrap());
        let lines = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .count();
        assert_eq!(out.events.len(), lines, "{path:?}");
        assert_eq!(out.stats.skipped, 0, "{path:?}");
        n += 1;
    }
    assert!(n >= 11);
    let out = read("fixtures/jsonl/rules/hc005_worker_event_leak.jsonl");
    let kinds: Vec<ResourceKind> = out.events[..3].iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            ResourceKind::Event,
            ResourceKind::Event,
            ResourceKind::Thread
        ]
    );
    assert_eq!(
        out.events[3].op,
        Op::Spawn {
            child: 25,
            shares_table: true,
            thread: true
        }
    );
    let out = read("fixtures/jsonl/rules/ok_rpc_failed_close_then_destroy.jsonl");
    assert_eq!(out.failed(&out.events[1]).0, ErrorClass::ContextMismatch);
}

#[test]
fn no_v1_records_is_an_error_with_hint() {
    let c = reader::collect(0, |ctx| {
        jsonl::read(
            b"{\"v\":2,\"pid\":1,\"op\":\"open\",\"handle\":1}\n",
            "f.jsonl",
            ctx,
        )
    });
    let err = c.result.unwrap_err();
    assert!(err.hint.unwrap().contains("version 1"));
    let err = reader::collect(0, |ctx| jsonl::read(b"hello\n\n", "f.jsonl", ctx))
        .result
        .unwrap_err();
    assert!(err.message.contains("no handlecheck JSON-lines records"));
    assert!(err.hint.unwrap().contains("docs/jsonl-schema.md"));
}

#[test]
fn truncation_never_panics() {
    let bytes = std::fs::read("fixtures/jsonl/all_ops.jsonl").unwrap();
    for cut in 0..bytes.len() {
        let c = reader::collect(0, |ctx| jsonl::read(&bytes[..cut], "t", ctx));
        let _ = c.result;
    }
}
