//! !htrace reader on real captures (and synthetic dumps in the same layouts).

use crate::common::reader;

use handlecheck::formats::{ReadStats, htrace};
use handlecheck::model::{ErrorClass, Event, Interner, Op, Outcome, ResourceKind, flags};

struct Out {
    events: Vec<Event>,
    interner: Interner,
    stats: ReadStats,
}

fn read(path: &str) -> Out {
    let bytes = std::fs::read(path).unwrap();
    read_bytes(&bytes)
}

fn read_bytes(bytes: &[u8]) -> Out {
    let c = reader::collect(3, |ctx| htrace::read(bytes, "t", ctx));
    c.result.unwrap();
    Out {
        events: c.events,
        interner: c.interner,
        stats: c.stats,
    }
}

fn line_of(path: &str, needle: &str, nth: usize) -> (u32, u64) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut offset = 0u64;
    let mut seen = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        if line.trim_end() == needle {
            if seen == nth {
                return (i as u32 + 1, offset);
            }
            seen += 1;
        }
        offset += line.len() as u64;
    }
    panic!("{needle} not found");
}

impl Out {
    fn call(&self, e: &Event) -> &str {
        self.interner.resolve(e.call)
    }
    fn frames(&self, e: &Event) -> Vec<&str> {
        self.interner
            .frames(e.stack.unwrap())
            .iter()
            .map(|s| self.interner.resolve(*s))
            .collect()
    }
    fn counter(&self, name: &str) -> u64 {
        self.stats.counters.get(name).copied().unwrap_or(0)
    }
}

const CPP: &str = "fixtures/htrace/cppresourceleaks_x86_session.txt";

#[test]
fn cppresourceleaks_full_dump_is_reversed_and_diff_deduped() {
    let out = read(CPP);
    let got: Vec<(i64, Op)> = out.events.iter().map(|e| (e.handle, e.op)).collect();
    let open = Op::Open { cloexec: false };
    // Full dump (newest first: 3c 38 34C 34O 24 20) reversed; the first -diff repeats
    // 3c/38/24/20 (deduped); the second -diff adds the injected 0x114.
    assert_eq!(
        got,
        vec![
            (0x20, open),
            (0x24, open),
            (0x34, open),
            (0x34, Op::Close),
            (0x38, open),
            (0x3c, open),
            (0x114, open)
        ]
    );
    assert_eq!(
        out.counter("htrace: records repeated from an earlier dump"),
        4
    );
    let e34 = &out.events[2];
    assert_eq!((e34.pid, e34.tid), (0x17e8, 0x17ec));
    assert_eq!(e34.kind, ResourceKind::File);
    assert_eq!(out.call(e34), "ZwCreateFile");
    assert_eq!(
        out.frames(e34)[..3],
        [
            "ntdll!ZwCreateFile+0xc",
            "KERNELBASE!CreateFileW+0x35e",
            "KERNELBASE!GetTempFileNameW+0x208"
        ]
    );
    let close = &out.events[3];
    assert_eq!(out.call(close), "NtClose");
    assert!(close.outcome.is_ok());
    // The *** WARNING line inside the record is noise, not a frame.
    let dup = &out.events[5];
    assert_eq!(out.call(dup), "ZwDuplicateObject");
    assert_eq!(dup.kind, ResourceKind::Unknown);
    assert_eq!(out.frames(dup).len(), 10);
    assert_eq!(out.frames(dup)[3], "CppResourceLeaks!LeakFileHandle+0x207");
    assert!(out.counter("htrace: debugger noise lines inside records") >= 1);
    // Elided records ("...") have no stack.
    assert!(out.events[0].stack.is_none());
    // Origin: the `Handle = ` line of the record.
    let (line, offset) = line_of(CPP, "Handle = 0x00000020 - OPEN", 0);
    assert_eq!(
        (
            out.events[0].origin.line,
            out.events[0].origin.offset,
            out.events[0].origin.input
        ),
        (line, offset, 3)
    );
    // The injected handle: other pid, unresolved frames, -diff → rundown flag.
    let inj = &out.events[6];
    assert_eq!((inj.pid, inj.tid), (0xd30, 0x1700));
    assert!(inj.has(flags::RUNDOWN));
    assert!(out.frames(inj).contains(&"+0x101991"));
    assert_eq!(
        out.counter("htrace: records with another Process ID (handle injected by another process)"),
        1
    );
    assert!(out.events[..6].iter().all(|e| !e.has(flags::RUNDOWN)));
}

#[test]
fn repeated_ring_buffer_dump_only_adds_new_records() {
    let out = read("fixtures/htrace/repeated_dumps_x64.txt");
    let got: Vec<(i64, Op, ResourceKind, &str)> = out
        .events
        .iter()
        .map(|e| (e.handle, e.op, e.kind, out.call(e)))
        .collect();
    let open = Op::Open { cloexec: false };
    assert_eq!(
        got,
        vec![
            (0x30, Op::Close, ResourceKind::Unknown, "NtClose"),
            (0x3c, open, ResourceKind::Key, "NtOpenKeyEx"),
            (0x200, open, ResourceKind::Unknown, "NtDuplicateObject"),
            (0x40, open, ResourceKind::Event, "NtCreateEvent"),
            (0x40, Op::Close, ResourceKind::Unknown, "NtClose"),
            (0x44, open, ResourceKind::Mutant, "NtCreateMutant"),
            (0x40, Op::Use, ResourceKind::Event, "NtSetEvent"),
        ]
    );
    let bad = &out.events[6];
    match bad.outcome {
        Outcome::Failed { class, name } => {
            assert_eq!(class, ErrorClass::BadHandle);
            assert_eq!(out.interner.resolve(name), "STATUS_INVALID_HANDLE");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        out.counter("htrace: records repeated from an earlier dump"),
        3
    );
    // Verifier wrapper frames stay in the stack but do not decide the API.
    assert_eq!(
        out.frames(&out.events[3])[1],
        "vfbasics!AVrfpNtCreateEvent+0x60"
    );
    assert_eq!(
        out.frames(&out.events[1])[2],
        "demo!Managed.Type.Load(System.String, Int32)+0x10"
    );
    assert_eq!((out.events[2].pid, out.events[2].tid), (0xabc, 0xe88));
    assert_eq!(
        out.counter("htrace: records with another Process ID (handle injected by another process)"),
        1
    );
    // Same stack text → same interned stack.
    assert!(out.events[0].stack.is_some());
    assert_eq!(out.events[4].stack, {
        let closes: Vec<_> = out
            .events
            .iter()
            .filter(|e| e.handle == 0x40 && e.op == Op::Close)
            .collect();
        closes[0].stack
    });
}

#[test]
fn issue_excerpts_x64_kernel_and_spaced_layouts() {
    let out = read("fixtures/htrace/x64_and_x86_issue_excerpts.txt");
    let handles: Vec<i64> = out.events.iter().map(|e| e.handle).collect();
    // [1] x64 dump reversed (printed 3300 then 32fc). The excerpt of the x86 `-diff` [3]
    // is cut before its summary line, so the spaced record [4] lands in the same dump
    // and, newest first, comes before it.
    assert_eq!(
        handles,
        vec![0x32fc, 0x3300, 0x2ea84, 0x780, 0x3ac, 0x7dc, 0x7dc, 0x7dc]
    );
    assert_eq!(out.events[0].kind, ResourceKind::Event);
    assert_eq!(out.events[1].kind, ResourceKind::Thread);
    assert_eq!(out.call(&out.events[1]), "ZwCreateThreadEx");
    assert_eq!(
        out.frames(&out.events[1])[3],
        "clr!ClrCreateManagedInstance+0x1ae0a"
    );
    assert_eq!((out.events[1].pid, out.events[1].tid), (0x414c, 0x4dbc));
    // Managed frame with spaces, commas and parentheses.
    assert_eq!(out.events[2].kind, ResourceKind::Key);
    assert!(out.frames(&out.events[2]).contains(
        &"System_Net_Http!DomainBoundILStubClass.IL_STUB_PInvoke(IntPtr, UInt32, System.String, System.String, Int32)+0x10d"
    ));
    // x86 -diff: outstanding → open with the rundown flag.
    assert!(out.events[4].has(flags::RUNDOWN));
    assert_eq!(out.events[4].kind, ResourceKind::Event);
    assert_eq!(out.call(&out.events[4]), "NtCreateEvent");
    assert!(!out.events[2].has(flags::RUNDOWN));
    // Spaced variant.
    assert_eq!(out.events[3].kind, ResourceKind::WaitCompletionPacket);
    assert_eq!(
        out.frames(&out.events[3])[2],
        "ntdll!NtCreateWaitCompletionPacket+0xc"
    );
    assert_eq!(out.frames(&out.events[3])[0], "+0xeb39cf6d");
    // Kernel layout: OPEN, CLOSE, BAD REFERENCE after reversal; no pid/tid.
    let k: Vec<(Op, ResourceKind, &str)> = out.events[5..]
        .iter()
        .map(|e| (e.op, e.kind, out.call(e)))
        .collect();
    assert_eq!(
        k,
        vec![
            (
                Op::Open { cloexec: false },
                ResourceKind::Event,
                "CreateEventA"
            ),
            (Op::Close, ResourceKind::Unknown, "NtClose"),
            (Op::Use, ResourceKind::Event, "NtSetEvent"),
        ]
    );
    assert!(out.events[7].outcome.is_bad_handle());
    assert_eq!((out.events[7].pid, out.events[7].tid), (0, 0));
    assert_eq!(
        out.frames(&out.events[5])[0],
        "ntoskrnl!ExCreateHandle+0x94"
    );
}

#[test]
fn wow64_diff_under_verifier_infers_file_past_unresolved_frames() {
    let out = read("fixtures/htrace/diff_wow64_appverif_windowdemo.txt");
    let handles: Vec<i64> = out.events.iter().map(|e| e.handle).collect();
    assert_eq!(handles, vec![0x558, 0x59c, 0x5a0, 0x5a4]);
    for e in &out.events {
        assert_eq!(e.kind, ResourceKind::File);
        assert_eq!(out.call(e), "NtCreateFile");
        assert!(e.has(flags::RUNDOWN));
        assert_eq!(out.frames(e).len(), 16);
        assert_eq!((e.pid, e.tid), (0x2068, 0x5e40));
    }
    // Identical stacks are interned once.
    assert_eq!(out.events[0].stack, out.events[3].stack);
}

#[test]
fn malformed_input_is_skipped_and_counted() {
    let out = read("fixtures/htrace/malformed.txt");
    let got: Vec<(i64, Op, u32, u32)> = out
        .events
        .iter()
        .map(|e| (e.handle, e.op, e.pid, e.tid))
        .collect();
    let open = Op::Open { cloexec: false };
    // Newest first → the last printed (0x18) comes first.
    assert_eq!(
        got,
        vec![
            (0x18, open, 0, 0),
            (0x14, Op::Close, 0, 0),
            (0x10, open, 2, 1)
        ]
    );
    assert_eq!(
        out.stats.skipped_by_reason["htrace: malformed record header"].count,
        2
    );
    assert_eq!(
        out.stats.skipped_by_reason["htrace: malformed record header"].first_at,
        2
    );
    assert_eq!(
        out.stats.skipped_by_reason["htrace: Thread ID line out of place"].count,
        1
    );
    assert_eq!(out.stats.skipped, 3);
    assert_eq!(out.counter("htrace: record-like lines outside a record"), 1);
    assert_eq!(out.events[2].kind, ResourceKind::Event);
}

#[test]
fn truncated_and_garbage_bytes_never_panic() {
    let bytes = std::fs::read(CPP).unwrap();
    for cut in (0..bytes.len()).step_by(97) {
        let c = reader::collect(0, |ctx| htrace::read(&bytes[..cut], "t", ctx));
        let _ = c.result;
    }
    let garbage: Vec<u8> = (0..5000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let c = reader::collect(0, |ctx| htrace::read(&garbage, "g", ctx));
    assert!(c.result.is_err());
}

#[test]
fn no_records_is_an_input_error_with_hint() {
    let c = reader::collect(0, |ctx| {
        htrace::read(
            b"0:000> !htrace -enable\nHandle tracing enabled.\n",
            "x.txt",
            ctx,
        )
    });
    let err = c.result.unwrap_err();
    assert_eq!(err.path, "x.txt");
    assert!(err.message.contains("no !htrace records"));
    assert!(err.hint.unwrap().contains("Handle = 0x"));
    let err = reader::collect(0, |ctx| htrace::read(b"\xFF\xFEH\0", "u.txt", ctx))
        .result
        .unwrap_err();
    assert!(err.message.contains("UTF-16"));
}

#[test]
fn crlf_and_bom_are_tolerated() {
    let text = "\u{feff}Handle = 0x00000010 - OPEN\r\nThread ID = 0x00000001, Process ID = 0x00000002\r\n\r\n0x1: ntdll!NtCreateSemaphore+0x0000000c\r\n";
    let out = read_bytes(text.as_bytes());
    assert_eq!(out.events.len(), 1);
    assert_eq!(out.events[0].kind, ResourceKind::Semaphore);
    assert_eq!(out.events[0].origin.offset, 3);
    assert_eq!(
        out.frames(&out.events[0]),
        vec!["ntdll!NtCreateSemaphore+0xc"]
    );
}

#[test]
fn user_mode_bad_reference_label_with_asterisks_and_annotated_frames() {
    let path = "fixtures/htrace/bad_reference_double_close.txt";
    let out = read(path);
    let bad = out
        .events
        .iter()
        .find(|e| e.origin.line == 19)
        .expect("the *** BAD REFERENCE *** record");
    assert_eq!(
        bad.op,
        Op::Close,
        "its stack is CloseHandle: a failed release"
    );
    assert!(matches!(
        bad.outcome,
        Outcome::Failed {
            class: ErrorClass::BadHandle,
            ..
        }
    ));
    // `<------ SECOND CLOSE` after the frame is the author's, not the symbol's.
    assert!(
        out.frames(bad).contains(&"GDI32!GdiPlayPageEMF+0x186"),
        "{:?}",
        out.frames(bad)
    );
    assert!(htrace::sniff(
        b"Handle = 0x00000b08 - *** BAD REFERENCE ***\nThread ID = 0x1, Process ID = 0x2\n"
    ));
}

#[test]
fn paste_that_left_records_out_says_how_many() {
    // Real WoW64 session: `Displayed 0xb2 stack traces` but 4 records pasted.
    let out = read("fixtures/htrace/diff_wow64_appverif_windowdemo.txt");
    assert_eq!(out.counter("htrace: records the paste left out"), 0xb2 - 4);
    assert!(
        out.stats
            .notices
            .iter()
            .any(|n| n.contains("shows 4 of the 178 records") && n.contains("174 left out")),
        "{:?}",
        out.stats.notices
    );
    // Real CppResourceLeaks session: `Dumped 0xC` with 6 records kept by the author,
    // and a `-diff` that printed all it counted (0x4 of 0x4: nothing said).
    let cpp = read(CPP);
    assert_eq!(cpp.counter("htrace: records the paste left out"), 6);
    assert_eq!(cpp.stats.notices.len(), 1, "{:?}", cpp.stats.notices);
    // No trailer: the `new stack traces` count bounds what is missing.
    let text = b"0:001> !htrace -diff\n0x17 new stack traces since the previous snapshot.\n\
Outstanding handles opened since the previous snapshot:\n\
--------------------------------------\n\
Handle = 0x000003ac - OPEN\nThread ID = 0x000019cc, Process ID = 0x000006c4\n\n\
0x77c714da: ntdll!NtCreateEvent+0x0000000a\n";
    let out = read_bytes(text);
    assert!(
        out.stats
            .notices
            .iter()
            .any(|n| n.contains("23 new stack traces") && n.contains("up to 22 left out")),
        "{:?}",
        out.stats.notices
    );
}

#[test]
fn invalid_handle_exception_is_read_without_any_htrace_record() {
    let path = "fixtures/htrace/first_chance_invalid_handle_only.txt";
    let bytes = std::fs::read(path).unwrap();
    assert!(htrace::sniff(&bytes));
    let out = read(path);
    assert_eq!(
        out.events.len(),
        1,
        "first and second chance are one exception"
    );
    let e = &out.events[0];
    assert_eq!(
        (e.op, e.handle, e.pid, e.tid),
        (
            Op::Close,
            handlecheck::model::UNKNOWN_HANDLE,
            0x3f0c,
            0x2e48
        )
    );
    assert_eq!(out.call(e), "CloseHandle");
    assert_eq!(out.frames(e).get(2), Some(&"tool!Session::Close+0x26"));
    // Visual Studio's wording, quoted in an issue.
    let vs = b"> First-chance exception at 0x00007FF82F5999BA (ntdll.dll) in http-server.exe: 0xC0000008: An invalid handle was specified.\n";
    assert!(htrace::sniff(vs));
    assert_eq!(read_bytes(vs).events.len(), 1);
    // A verifier session with the exception belongs to the appverif reader.
    assert!(!htrace::sniff(
        b"(1.2): Invalid handle - code c0000008 (first chance)\nVERIFIER STOP 00000300: pid 0x1: Invalid handle\n"
    ));
}

#[test]
fn exception_followed_by_the_handles_htrace_takes_its_value() {
    let out = read("fixtures/htrace/first_chance_invalid_handle_with_htrace.txt");
    let got: Vec<(u32, Op, i64)> = out
        .events
        .iter()
        .map(|e| (e.origin.line, e.op, e.handle))
        .collect();
    assert_eq!(
        got,
        vec![
            (25, Op::Open { cloexec: false }, 0x2a4),
            (17, Op::Close, 0x2a4),
            (1, Op::Close, 0x2a4)
        ]
    );
}

#[test]
fn crash_dump_analysis_and_indented_sessions() {
    // `!analyze -v` of a dump: `ExceptionCode: c0000008` and STACK_TEXT, no banner.
    let path = "fixtures/htrace/crash_dump_analyze_invalid_handle.txt";
    assert!(htrace::sniff(&std::fs::read(path).unwrap()));
    let out = read(path);
    assert_eq!(out.events.len(), 1, "ERROR_CODE repeats the same exception");
    let e = &out.events[0];
    assert_eq!((e.op, e.origin.line), (Op::Close, 10));
    assert_eq!(out.frames(e).get(2), Some(&"uploader!Upload::Finish+0x46"));
    // A session pasted as an indented Markdown code block.
    let text =
        std::fs::read_to_string("fixtures/htrace/first_chance_invalid_handle_with_htrace.txt")
            .unwrap();
    let indented: String = text.lines().map(|l| format!("    {l}\n")).collect();
    let out = read_bytes(indented.as_bytes());
    assert_eq!(
        out.events.iter().map(|e| e.handle).collect::<Vec<_>>(),
        vec![0x2a4, 0x2a4, 0x2a4],
        "the `!htrace 2a4` prompt is seen through the indent"
    );
}
