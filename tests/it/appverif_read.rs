//! Application Verifier reader: XML logs and VERIFIER STOP debugger text.

use crate::common::reader;

use handlecheck::formats::{ReadStats, appverif};
use handlecheck::model::{
    ErrorClass, Event, Interner, Op, Outcome, ResourceKind, UNKNOWN_HANDLE, flags,
};

struct Out {
    events: Vec<Event>,
    interner: Interner,
    stats: ReadStats,
}

fn read(path: &str) -> Out {
    let bytes = std::fs::read(path).unwrap();
    let c = reader::collect(2, |ctx| appverif::read(&bytes, path, ctx));
    c.result.unwrap();
    Out {
        events: c.events,
        interner: c.interner,
        stats: c.stats,
    }
}

impl Out {
    fn failed(&self, e: &Event) -> (ErrorClass, &str) {
        match e.outcome {
            Outcome::Failed { class, name } => (class, self.interner.resolve(name)),
            other => panic!("{other:?}"),
        }
    }
    fn frames(&self, e: &Event) -> Vec<&str> {
        self.interner
            .frames(e.stack.unwrap())
            .iter()
            .map(|s| self.interner.resolve(*s))
            .collect()
    }
    fn call(&self, e: &Event) -> &str {
        self.interner.resolve(e.call)
    }
    fn line_of(path: &str, needle: &str, nth: usize) -> u32 {
        let text = std::fs::read_to_string(path).unwrap();
        text.lines()
            .enumerate()
            .filter(|(_, l)| l.contains(needle))
            .nth(nth)
            .unwrap()
            .0 as u32
            + 1
    }
}

#[test]
fn trippy_xml_0x300_is_a_bad_handle_use_in_get_handle_information() {
    let path = "fixtures/appverif/trippy1443_handles_0x300.xml";
    let out = read(path);
    assert_eq!(out.events.len(), 1);
    let e = &out.events[0];
    assert_eq!(e.op, Op::Use);
    assert_eq!(e.pid, 12836);
    assert_eq!(
        out.failed(e),
        (ErrorClass::BadHandle, "VERIFIER_STOP_0x300")
    );
    assert_eq!(out.call(e), "GetHandleInformation");
    assert_eq!(e.origin.line, Out::line_of(path, "<avrf:logEntry", 0));
    let frames = out.frames(e);
    assert_eq!(frames.len(), 7);
    assert_eq!(frames[0], "vfbasics!+0x7ffa194a2c50");
    assert_eq!(frames[5], "KERNELBASE!GetHandleInformation+0x40");
}

#[test]
fn multi_layer_xml_maps_each_stop_code() {
    let path = "fixtures/appverif/multi_layer_synthetic.xml";
    let out = read(path);
    let got: Vec<(Op, i64, &str)> = out
        .events
        .iter()
        .map(|e| (e.op, e.handle, out.call(e)))
        .collect();
    assert_eq!(
        got,
        vec![
            (Op::Close, UNKNOWN_HANDLE, "NtClose"),
            (Op::Use, 0x1c4, "SetEvent"),
            (Op::Use, 0, "GetThreadId"),
            (Op::Open { cloexec: false }, 0x2a8, "VERIFIER_STOP_0x901"),
        ]
    );
    assert_eq!(
        out.failed(&out.events[0]),
        (ErrorClass::BadHandle, "VERIFIER_STOP_0x300")
    );
    assert_eq!(out.frames(&out.events[0])[5], "app!Holder::~Holder+0x1c");
    assert_eq!(
        out.failed(&out.events[1]),
        (ErrorClass::WrongType, "VERIFIER_STOP_0x305")
    );
    assert_eq!(out.events[1].kind, ResourceKind::Event);
    assert_eq!(
        out.failed(&out.events[2]),
        (ErrorClass::BadHandle, "VERIFIER_STOP_0x303")
    );
    assert_eq!(out.events[2].kind, ResourceKind::Thread);
    assert!(out.events[3].outcome.is_ok());
    assert!(out.events[3].has(flags::RUNDOWN));
    assert!(out.events.iter().all(|e| e.pid == 4242));
    assert_eq!(
        out.events[3].origin.line,
        Out::line_of(path, "StopCode=\"0x901\"", 0)
    );
    assert_eq!(
        out.stats.counters["appverif: stop 0x301 INVALID_TLS_VALUE (not a handle)"],
        1
    );
    assert_eq!(out.stats.counters["appverif: stops of other layers"], 1);
    let trunc = &out.stats.skipped_by_reason["appverif: truncated logEntry"];
    assert_eq!(
        (trunc.count, trunc.first_at),
        (1, u64::from(Out::line_of(path, "<avrf:logEntry", 6)))
    );
}

#[test]
fn debugger_text_stops_old_and_new_widths() {
    let out = read("fixtures/appverif/verifier_stops_handles.txt");
    let got: Vec<(Op, i64, u32, &str)> = out
        .events
        .iter()
        .map(|e| (e.op, e.handle, e.pid, out.failed(e).1))
        .collect();
    assert_eq!(
        got,
        vec![
            (Op::Use, UNKNOWN_HANDLE, 0x558, "VERIFIER_STOP_0x300"),
            (Op::Use, UNKNOWN_HANDLE, 0xACC, "VERIFIER_STOP_0x300"),
            // The following `!analyze -v` of a 0x303 (no `g` in between) is taken as the
            // same stop: merged, and its STACK_TEXT becomes the stop's stack.
            (Op::Use, 0, 0xB2C, "VERIFIER_STOP_0x303"),
            (Op::Use, UNKNOWN_HANDLE, 0, "VERIFIER_STOP_0x300"),
            (Op::Use, 0x3e8, 0, "VERIFIER_STOP_0xE101"),
        ]
    );
    assert_eq!(out.call(&out.events[2]), "GetThreadId");
    assert_eq!(out.events[2].kind, ResourceKind::Thread);
    assert_eq!(
        out.frames(&out.events[2])[0],
        "vrfcore!VerifierStopMessageEx+0x57b"
    );
    assert_eq!(out.frames(&out.events[2]).len(), 12);
    assert_eq!(out.events[4].kind, ResourceKind::Socket);
}

#[test]
fn stop_followed_by_kb_and_analyze_is_merged() {
    let out = read("fixtures/appverif/stop_with_kb_synthetic.txt");
    assert_eq!(out.events.len(), 2);
    let close = &out.events[0];
    assert_eq!(
        (close.op, close.handle, close.pid),
        (Op::Close, UNKNOWN_HANDLE, 0x1A2C)
    );
    assert_eq!(out.call(close), "NtClose");
    assert_eq!(out.frames(close)[4], "demo!Holder::~Holder+0x1c");
    let wrong = &out.events[1];
    assert_eq!((wrong.op, wrong.handle), (Op::Use, 0x1c4));
    assert_eq!(out.failed(wrong).0, ErrorClass::WrongType);
    assert_eq!(out.call(wrong), "SetEvent");
    assert_eq!(out.frames(wrong).len(), 3);
}

#[test]
fn no_stops_is_an_error_and_damage_never_panics() {
    let c = reader::collect(0, |ctx| appverif::read(b"nothing to see\n", "n.txt", ctx));
    let err = c.result.unwrap_err();
    assert!(err.hint.unwrap().contains("VERIFIER STOP"));
    for path in [
        "fixtures/appverif/multi_layer_synthetic.xml",
        "fixtures/appverif/stop_with_kb_synthetic.txt",
    ] {
        let bytes = std::fs::read(path).unwrap();
        for cut in (0..bytes.len()).step_by(13) {
            let _ = reader::collect(0, |ctx| appverif::read(&bytes[..cut], "t", ctx)).result;
        }
    }
}

#[test]
fn other_layers_handle_stops_and_spaced_banners() {
    let text = b"=======================================\n\
VERIFIER STOP 0000000000000902 : pid 0x1F0: An HKEY was leaked.\n\n\
\t00000000000001A4 : Value of the leaked HKEY.\n\
\t000001D3E0A1F000 : Address to the allocation stack trace.\n\
\t000001D3E0C2A100 : Address of the owner dll name.\n\
\t00007FFB10000000 : Base of the owner dll.\n\
=======================================\n";
    let c = reader::collect(2, |ctx| appverif::read(text, "t", ctx));
    c.result.unwrap();
    assert_eq!(c.events.len(), 1);
    let e = &c.events[0];
    assert_eq!(
        (e.op, e.handle, e.pid),
        (Op::Open { cloexec: false }, 0x1a4, 0x1f0)
    );
    assert!(e.has(flags::RUNDOWN), "still open when the DLL went");
    assert_eq!(
        c.interner.resolve(e.resource.unwrap()),
        "registry key (HKEY) handle"
    );
    // The PrintAPI layer: a closed handle used again is open → close → failed use.
    let out = read("fixtures/appverif/print_layer_handle_stops.txt");
    let a00e: Vec<(Op, i64)> = out
        .events
        .iter()
        .filter(|e| e.origin.line == 2)
        .map(|e| (e.op, e.handle))
        .collect();
    assert_eq!(
        a00e,
        vec![
            (Op::Open { cloexec: false }, 0x3a41fe0),
            (Op::Close, 0x3a41fe0),
            (Op::Use, 0x3a41fe0)
        ]
    );
}
