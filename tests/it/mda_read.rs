//! releaseHandleFailed MDA messages.

use crate::common::reader;

use handlecheck::formats::{ReadStats, mda};
use handlecheck::model::{ErrorClass, Event, Interner, Op, Outcome};

fn read(path: &str) -> (Vec<Event>, Interner, ReadStats) {
    let bytes = std::fs::read(path).unwrap();
    let c = reader::collect(0, |ctx| mda::read(&bytes, path, ctx));
    c.result.unwrap();
    (c.events, c.interner, c.stats)
}

fn check_failed(e: &Event, i: &Interner) {
    assert_eq!(e.op, Op::Close);
    match e.outcome {
        Outcome::Failed { class, name } => {
            assert_eq!(class, ErrorClass::Other);
            assert_eq!(i.resolve(name), "releaseHandleFailed");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn visual_studio_x64_message() {
    let (ev, i, _) = read("fixtures/mda/vs_x64_globalmousekeyhook.txt");
    assert_eq!(ev.len(), 1);
    check_failed(&ev[0], &i);
    assert_eq!(ev[0].handle, 0x3E0901AF);
    assert_eq!(
        i.resolve(ev[0].resource.unwrap()),
        "Gma.System.MouseKeyHook.WinApi.HookProcedureHandle"
    );
    assert_eq!(ev[0].origin.line, 3);
}

#[test]
fn documented_message_wrapped_over_lines() {
    let (ev, i, _) = read("fixtures/mda/doc_x86_wrapped.txt");
    assert_eq!(ev.len(), 1);
    assert_eq!(ev[0].handle, 0xBEEF);
    assert_eq!(i.resolve(ev[0].resource.unwrap()), "MyBrokenSafeHandle");
    assert_eq!((ev[0].origin.line, ev[0].origin.offset), (1, 0));
}

#[test]
fn windbg_session_with_ids_and_a_truncated_message() {
    let (ev, i, stats) = read("fixtures/mda/windbg_session_synthetic.txt");
    let got: Vec<(i64, &str, u32, u32)> = ev
        .iter()
        .map(|e| (e.handle, i.resolve(e.resource.unwrap()), e.pid, e.tid))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                0x2C4,
                "Microsoft.Win32.SafeHandles.SafeWaitHandle",
                0x1f40,
                0x2a0c
            ),
            (0x2C8, "App.OtherHandle", 0x1f40, 0x2a10),
        ]
    );
    assert_eq!(
        stats.skipped_by_reason["mda: incomplete releaseHandleFailed message"].first_at,
        16
    );
    ev.iter().for_each(|e| check_failed(e, &i));
}

#[test]
fn no_message_is_an_error() {
    let c = reader::collect(0, |ctx| {
        mda::read(b"CriticalHandle of type\n", "m.txt", ctx)
    });
    let err = c.result.unwrap_err();
    assert!(err.hint.unwrap().contains("releaseHandleFailed"));
}

/// Pasted as a Markdown quote (`> ` before every line, the message wrapped).
#[test]
fn markdown_quoted_wrapped_message() {
    for path in [
        "fixtures/mda/doc_x86_wrapped.txt",
        "fixtures/mda/vs_x64_globalmousekeyhook.txt",
    ] {
        let plain = std::fs::read_to_string(path).unwrap();
        let quoted: String = plain.lines().map(|l| format!("> {l}\n")).collect();
        let c = reader::collect(0, |ctx| mda::read(quoted.as_bytes(), path, ctx));
        c.result.unwrap();
        let (want, wi, _) = read(path);
        assert_eq!(c.events.len(), want.len(), "{path}");
        for (a, b) in c.events.iter().zip(&want) {
            assert_eq!(
                (a.handle, a.origin.line),
                (b.handle, b.origin.line),
                "{path}"
            );
            assert_eq!(
                c.interner.resolve(a.resource.unwrap()),
                wi.resolve(b.resource.unwrap())
            );
        }
    }
}
