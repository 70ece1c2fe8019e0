//! One verifier stop (from XML or debugger text) → an event, by stop code.

use crate::formats::ReadContext;
use crate::formats::htrace::{ApiRole, innermost_api, is_verifier_module, text::frame_parts};
use crate::model::{ErrorClass, Event, Op, Origin, Outcome, ResourceKind, Sym, flags};

#[derive(Debug, Default)]
pub(crate) struct Stop {
    pub code: u32,
    pub pid: u32,
    pub params: [Option<u64>; 4],
    /// Interned frames, innermost first.
    pub frames: Vec<Sym>,
    pub line: u32,
    pub offset: u64,
}

/// The frame that made the failing call: after the exception dispatch frames
/// when present, else the innermost non-verifier frame.
fn api_frames(frames: &[&str]) -> usize {
    frames
        .iter()
        .rposition(|f| {
            frame_parts(f).is_some_and(|(_, func)| {
                func == "KiUserExceptionDispatcher"
                    || func == "KiRaiseUserExceptionDispatcher"
                    || func == "RtlRaiseStatus"
            }) || f.starts_with("vrfcore!")
                || f.starts_with("vfbasics!AVrfpHandleSanityChecks")
        })
        .map(|i| i + 1)
        .unwrap_or(0)
}

/// What a handle-related stop of another layer says about its handle
/// (Parameter 1 is the handle in all of them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HandleStop {
    /// Still open when the process ended (the layer's leak check at exit).
    Leaked,
    /// Used (or closed) after it was closed: the layer saw the close.
    UsedAfterClose,
    /// Never opened by the API the layer tracks.
    Unknown,
    /// Parameter 1 is the number of handles open at once: the layer's limit.
    TooMany,
}

/// Handle stops of the Leak and PrintAPI layers (Microsoft's "Application
/// Verifier - Stop Codes" pages: Basics/Leak and Printing): code → (kind, what
/// the handle is).
fn other_layer(code: u32) -> Option<(HandleStop, &'static str)> {
    use HandleStop::*;
    Some(match code {
        0x902 => (Leaked, "registry key (HKEY)"),
        0xA000 => (Leaked, "printer"),
        0xA001 => (Leaked, "printer change notification"),
        0xA012 => (Leaked, "PrintTicket provider (HPTPROVIDER)"),
        0xA01A => (Leaked, "spool file"),
        0xA020 => (Leaked, "async notify"),
        0xA005 => (UsedAfterClose, "printer"),
        0xA007 => (UsedAfterClose, "printer change notification"),
        0xA00E => (UsedAfterClose, "PrintTicket provider (HPTPROVIDER)"),
        0xA01B => (UsedAfterClose, "spool file"),
        0xA022 => (UsedAfterClose, "async notify"),
        0xA006 => (Unknown, "printer"),
        0xA008 => (Unknown, "printer change notification"),
        0xA00F => (Unknown, "PrintTicket provider (HPTPROVIDER)"),
        0xA01C => (Unknown, "spool file"),
        0xA021 => (Unknown, "async notify"),
        0xA00B => (TooMany, "printer"),
        0xA00D => (TooMany, "PrintTicket provider (HPTPROVIDER)"),
        0xA013 => (TooMany, "printer change notification"),
        0xA01D => (TooMany, "spool file"),
        _ => return None,
    })
}

/// Close APIs of the handles the PrintAPI layer tracks (its hooks are named
/// `vfprint!VfHook<API>`).
fn closes_print_handle(func: &str) -> bool {
    let f = func.strip_prefix("VfHook").unwrap_or(func);
    matches!(
        f,
        "ClosePrinter"
            | "FindClosePrinterChangeNotification"
            | "CloseSpoolFileHandle"
            | "PTCloseProvider"
            | "UnRegisterForPrintAsyncNotifications"
            | "RegCloseKey"
    )
}

/// The first frame of the program (not the OS, the verifier or the spooler client).
fn program_frame<'a>(frames: &[&'a str]) -> Option<&'a str> {
    frames.iter().copied().find(|f| {
        frame_parts(f).is_some_and(|(m, func)| {
            let m = m.to_ascii_lowercase();
            !is_verifier_module(&m)
                && !matches!(
                    m.as_str(),
                    "ntdll" | "kernelbase" | "kernel32" | "winspool" | "prntvpt" | "advapi32"
                )
                && func != "DbgBreakPoint"
        })
    })
}

fn emit_other_layer(
    stop: &Stop,
    kind: HandleStop,
    what: &str,
    frames: &[&str],
    ctx: &mut ReadContext<'_>,
) {
    let code_name = format!("VERIFIER_STOP_0x{:X}", stop.code);
    let origin = Origin::line(ctx.input, stop.line, stop.offset);
    let stack = (!stop.frames.is_empty()).then(|| ctx.interner.intern_stack(&stop.frames));
    let caller = program_frame(frames).and_then(|f| frame_parts(f).map(|(_, func)| func));
    let closing = frames
        .iter()
        .any(|f| frame_parts(f).is_some_and(|(_, func)| closes_print_handle(func)));
    let new = |op: Op, call: Sym| {
        let mut ev = Event::new(op, call, origin);
        ev.pid = stop.pid;
        ev
    };
    let Some(p1) = stop.params[0] else {
        ctx.stats.skip(
            crate::formats::SkipReason::AppverifHandleStopWithoutHandle,
            u64::from(stop.line),
        );
        return;
    };
    let failed = Outcome::Failed {
        class: ErrorClass::BadHandle,
        name: ctx.interner.intern(&code_name),
    };
    let call = ctx.interner.intern(caller.unwrap_or(code_name.as_str()));
    match kind {
        HandleStop::Leaked => {
            let mut ev = new(Op::Open { cloexec: false }, ctx.interner.intern(&code_name));
            ev.handle = p1 as i64;
            ev.flags = flags::RUNDOWN;
            ev.resource = Some(ctx.interner.intern(&format!("{what} handle")));
            emit_one(ev, ctx);
        }
        HandleStop::UsedAfterClose => {
            // The layer tracked the handle and saw it closed: its open and close
            // are known to have happened (Parameter 2 is the closing stack).
            let mut open = new(
                Op::Open { cloexec: false },
                ctx.interner.intern(&format!("{code_name} (opened before)")),
            );
            open.handle = p1 as i64;
            open.flags = flags::RUNDOWN;
            open.resource = Some(ctx.interner.intern(&format!("{what} handle")));
            emit_one(open, ctx);
            let mut close = new(
                Op::Close,
                ctx.interner.intern(&format!("{code_name} (closed before)")),
            );
            close.handle = p1 as i64;
            emit_one(close, ctx);
            let mut bad = new(if closing { Op::Close } else { Op::Use }, call);
            bad.handle = p1 as i64;
            bad.outcome = failed;
            bad.stack = stack;
            emit_one(bad, ctx);
        }
        HandleStop::Unknown => {
            let mut bad = new(if closing { Op::Close } else { Op::Use }, call);
            bad.handle = p1 as i64;
            bad.outcome = failed;
            bad.stack = stack;
            emit_one(bad, ctx);
        }
        HandleStop::TooMany => {
            // Parameter 1 is a count, not a handle: nothing to put in a
            // table; the leaked-handle stops at exit carry the values.
            ctx.stats.notice(format!(
                "verifier stop 0x{:X} at line {}: {p1} {what} handles open at once (the layer's limit): they are leaking; the leaked-handle stops at exit name them",
                stop.code, stop.line
            ));
        }
    }
}

fn emit_one(ev: Event, ctx: &mut ReadContext<'_>) {
    ctx.stats.events += 1;
    ctx.sink.event(ev);
}

pub(crate) fn emit(stop: &Stop, ctx: &mut ReadContext<'_>) {
    let names: Vec<String> = stop
        .frames
        .iter()
        .map(|s| ctx.interner.resolve(*s).to_string())
        .collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let from = api_frames(&refs);
    let rest = refs.get(from..).unwrap_or(&[]);
    if let Some((kind, what)) = other_layer(stop.code) {
        ctx.stats
            .bump(&format!("appverif: stop 0x{:X}", stop.code), 1);
        return emit_other_layer(stop, kind, what, rest, ctx);
    }
    let api = innermost_api(rest.iter().copied()).or_else(|| {
        // First non-verifier resolved frame, whatever it is.
        rest.iter().find_map(|f| {
            let (m, func) = frame_parts(f)?;
            (!is_verifier_module(m)).then_some(crate::formats::htrace::Api {
                name: func,
                role: None,
            })
        })
    });
    // A close API anywhere in the two frames after the failing call counts (NtClose ← CloseHandle).
    let closes = rest.iter().take(3).any(|f| {
        frame_parts(f).is_some_and(|(_, func)| {
            matches!(crate::formats::htrace::role_of(func), Some(ApiRole::Close))
        })
    });
    let use_kind = match api.and_then(|a| a.role) {
        Some(ApiRole::Use(k)) => k,
        _ => ResourceKind::Unknown,
    };
    let api_name = api.map(|a| a.name.to_string());
    let code_name = format!("VERIFIER_STOP_0x{:X}", stop.code);
    let p1 = stop.params[0];
    let (op, handle, class, kind, flag) = match stop.code {
        0x300 => (
            if closes { Op::Close } else { Op::Use },
            crate::model::UNKNOWN_HANDLE,
            ErrorClass::BadHandle,
            use_kind,
            0,
        ),
        0x303 => (
            if closes { Op::Close } else { Op::Use },
            0,
            ErrorClass::BadHandle,
            use_kind,
            0,
        ),
        0x305 => match p1 {
            Some(h) => (
                if closes { Op::Close } else { Op::Use },
                h as i64,
                ErrorClass::WrongType,
                use_kind,
                0,
            ),
            None => {
                ctx.stats.skip(
                    crate::formats::SkipReason::AppverifStopWithoutValue(0x305),
                    u64::from(stop.line),
                );
                return;
            }
        },
        0x901 => match p1 {
            Some(h) => (
                Op::Open { cloexec: false },
                h as i64,
                ErrorClass::Other,
                ResourceKind::Unknown,
                flags::RUNDOWN,
            ),
            None => {
                ctx.stats.skip(
                    crate::formats::SkipReason::AppverifStopWithoutValue(0x901),
                    u64::from(stop.line),
                );
                return;
            }
        },
        0xE101 => match p1 {
            Some(h) => (
                Op::Use,
                h as i64,
                ErrorClass::BadHandle,
                ResourceKind::Socket,
                0,
            ),
            None => {
                ctx.stats.skip(
                    crate::formats::SkipReason::AppverifStopWithoutValue(0xE101),
                    u64::from(stop.line),
                );
                return;
            }
        },
        0x301 => {
            return ctx
                .stats
                .bump("appverif: stop 0x301 INVALID_TLS_VALUE (not a handle)", 1);
        }
        0x302 => {
            return ctx.stats.bump(
                "appverif: stop 0x302 INCORRECT_WAIT_CALL (bad wait parameters)",
                1,
            );
        }
        0x304 => {
            return ctx.stats.bump(
                "appverif: stop 0x304 WAIT_IN_DLLMAIN (not a lifecycle event)",
                1,
            );
        }
        _ => return ctx.stats.bump("appverif: stops of other layers", 1),
    };
    let call = match &api_name {
        Some(n) if !matches!(op, Op::Open { .. }) => ctx.interner.intern(n),
        _ => ctx.interner.intern(&code_name),
    };
    let mut ev = Event::new(op, call, Origin::line(ctx.input, stop.line, stop.offset));
    ev.pid = stop.pid;
    ev.handle = handle;
    ev.kind = kind;
    ev.flags = flag;
    if !matches!(op, Op::Open { .. }) {
        ev.outcome = Outcome::Failed {
            class,
            name: ctx.interner.intern(&code_name),
        };
    }
    if !stop.frames.is_empty() {
        ev.stack = Some(ctx.interner.intern_stack(&stop.frames));
    }
    if stop.code == 0x300 {
        ctx.stats.bump(
            "appverif: stop 0x300 (handle value not in the stop; use !htrace)",
            1,
        );
    }
    ctx.stats.events += 1;
    ctx.sink.event(ev);
}
