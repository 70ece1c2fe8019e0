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

pub(crate) fn emit(stop: &Stop, ctx: &mut ReadContext<'_>) {
    let names: Vec<String> = stop
        .frames
        .iter()
        .map(|s| ctx.interner.resolve(*s).to_string())
        .collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let from = api_frames(&refs);
    let rest = refs.get(from..).unwrap_or(&[]);
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
            -1,
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
