//! WinDbg/CDB `!htrace` dumps: user-mode (ntsdexts, `Handle = 0x.. - OPEN`),
//! kernel-mode (kdexts, `Handle 0x.. - CLOSE:`) and `-diff` output, alone or
//! inside a pasted debugger session (see shared research windbg.md §1).
//!
//! Records are printed newest first with no timestamps: each dump is reversed
//! into chronological order. A later dump of the same ring buffer repeats the
//! older records: only the records after the overlap are new events.

mod dedupe;
mod infer;
mod parse;
pub(crate) mod text;

pub(crate) use infer::{Api, ApiRole, innermost_api, is_verifier_module, role_of};

use std::collections::{HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};

use crate::model::{ErrorClass, Event, Op, Origin, Outcome, ResourceKind, flags};

pub(crate) mod exception;

use super::{InputError, ReadContext};
use parse::{DumpMode, Parsed, Record, TraceType};

/// True when the head of an input contains an `!htrace` record header.
pub fn sniff(head: &[u8]) -> bool {
    let (head, _) = text::strip_bom(head);
    // An invalid-handle exception alone is debugger-session evidence too, unless
    // the session is a verifier stop's (the appverif reader reads those).
    let verifier =
        text::Lines::new(head).any(|(_, _, l)| text::trim(l).starts_with(b"VERIFIER STOP "));
    text::Lines::new(head).any(|(_, _, line)| {
        let line = text::trim(line);
        (!verifier && exception::is_exception_line(line))
            || (line.starts_with(b"Handle = 0x") || line.starts_with(b"Handle 0x"))
                && (text::find(line, b" - OPEN").is_some()
                    || text::find(line, b" - CLOSE").is_some()
                    || text::find(line, b" - BAD").is_some()
                    || text::find(line, b" - *** BAD").is_some())
    })
}

/// Reads every `!htrace` dump in `bytes` and emits its events.
pub fn read(bytes: &[u8], path: &str, ctx: &mut ReadContext<'_>) -> Result<(), InputError> {
    if text::is_utf16(bytes) {
        return Err(
            InputError::new(path.to_string(), "the debugger log is UTF-16 text")
                .hint("convert it to UTF-8 first (or open the log with `.logopen` without /u)"),
        );
    }
    if read_records(bytes, ctx) == 0 {
        return Err(
            InputError::new(path, "no !htrace records or invalid-handle exceptions found").hint(
                "expected WinDbg `!htrace` output: records starting with `Handle = 0x... - OPEN|CLOSE|BAD REFERENCE` \
                 (user mode) or `Handle 0x... - CLOSE:` (kernel mode)",
            ),
        );
    }
    Ok(())
}

/// Like [`read`] but never fails: returns the number of records found (0 when
/// the text has none). For composing readers over one debugger session.
pub fn read_records(bytes: &[u8], ctx: &mut ReadContext<'_>) -> u64 {
    let (body, base) = text::strip_bom(bytes);
    let parsed = parse::parse(body, base as u64, ctx.interner, ctx.stats);
    let exceptions = exception::scan(body, base as u64, ctx.interner);
    let total: usize = parsed.dumps.iter().map(|d| d.records.len()).sum();
    emit(&parsed, ctx);
    say_what_the_paste_left_out(&parsed, ctx);
    let main = main_pid(&parsed);
    for (i, e) in exceptions.iter().enumerate() {
        let next = exceptions.get(i + 1).map(|n| n.line).unwrap_or(u32::MAX);
        // The `!htrace` the user ran after this exception (before the next one).
        let dump = parsed.dumps.iter().find(|d| {
            d.records
                .first()
                .is_some_and(|r| r.line > e.line && r.line < next)
        });
        emit_exception(e, dump, main, ctx);
    }
    total as u64 + exceptions.len() as u64
}

/// An invalid-handle exception → a failed release or use. Emitted after the
/// `!htrace` records: the dump was taken at the exception, so its records are older.
fn emit_exception(
    e: &exception::Exception,
    dump: Option<&parse::Dump>,
    main: Option<u32>,
    ctx: &mut ReadContext<'_>,
) {
    let filter = match dump.map(|d| d.mode) {
        Some(DumpMode::Full { filter: Some(h) }) => Some(h),
        _ => None,
    };
    // Its BAD REFERENCE record, the newest of the dump taken at the exception,
    // is this exception: already emitted from the dump.
    if let Some(d) = dump
        && d.records
            .first()
            .is_some_and(|r| r.ty == TraceType::BadRef && filter.is_none_or(|h| h == r.handle))
    {
        ctx.stats.bump(
            "htrace: invalid-handle exceptions shown by a BAD REFERENCE record",
            1,
        );
        return;
    }
    let names: Vec<String> = e
        .frames
        .iter()
        .map(|s| ctx.interner.resolve(*s).to_string())
        .collect();
    // The failing call is after the exception-dispatch frames.
    let from = names
        .iter()
        .rposition(|f| {
            text::frame_parts(f).is_some_and(|(_, func)| {
                func == "KiRaiseUserExceptionDispatcher"
                    || func == "KiUserExceptionDispatcher"
                    || func == "RtlRaiseStatus"
                    || func == "RaiseException"
            })
        })
        .map(|i| i + 1)
        .unwrap_or(0);
    let rest: Vec<&str> = names.iter().skip(from).map(String::as_str).collect();
    let api = innermost_api(rest.iter().copied());
    let closes = rest.iter().take(4).any(|f| {
        text::frame_parts(f).is_some_and(|(m, func)| {
            !is_verifier_module(m) && role_of(func) == Some(ApiRole::Close)
        })
    });
    let call = match api {
        Some(a) => ctx.interner.intern(a.name),
        None => ctx.interner.intern("exception c0000008"),
    };
    let mut ev = Event::new(
        if closes { Op::Close } else { Op::Use },
        call,
        Origin::line(ctx.input, e.line, e.offset),
    );
    ev.handle = filter.unwrap_or(crate::model::UNKNOWN_HANDLE);
    ev.kind = match api.and_then(|a| a.role) {
        Some(ApiRole::Use(k)) => k,
        _ => ResourceKind::Unknown,
    };
    ev.outcome = Outcome::Failed {
        class: ErrorClass::BadHandle,
        name: ctx
            .interner
            .intern("STATUS_INVALID_HANDLE (exception c0000008)"),
    };
    match e.ids {
        Some((pid, tid)) => {
            ev.pid = pid;
            ev.tid = tid;
        }
        None => ev.pid = main.unwrap_or(0),
    }
    if !e.frames.is_empty() {
        ev.stack = Some(ctx.interner.intern_stack(&e.frames));
    }
    if filter.is_none() {
        ctx.stats.bump(
            "htrace: invalid-handle exceptions without the handle's !htrace",
            1,
        );
    }
    ctx.stats.events += 1;
    ctx.sink.event(ev);
}

/// Compares each dump's records with the debugger's own counts (`Dumped 0x..`,
/// `Displayed 0x..`, `0x.. new stack traces since the previous snapshot`).
fn say_what_the_paste_left_out(parsed: &Parsed, ctx: &mut ReadContext<'_>) {
    for dump in &parsed.dumps {
        let shown = dump.records.len() as u64;
        let at = dump.records.first().map(|r| r.line).unwrap_or(0);
        let what = match dump.mode {
            DumpMode::Diff => "`!htrace -diff`",
            DumpMode::Full { .. } => "`!htrace`",
        };
        if let Some((printed, line)) = dump.announced {
            if printed > shown {
                ctx.stats
                    .bump("htrace: records the paste left out", printed - shown);
                ctx.stats.notice(format!(
                    "the {what} dump at line {at} shows {shown} of the {printed} records the debugger printed (line {line}): {} left out; findings rest only on the records shown",
                    printed - shown
                ));
            }
        } else if let Some(new) = dump.new_since_snapshot
            && new > shown
        {
            ctx.stats.notice(format!(
                "the {what} dump at line {at} shows {shown} records; the debugger counted {new} new stack traces since the snapshot: up to {} left out by the paste (or closed since the snapshot, which -diff does not show)",
                new - shown
            ));
        }
    }
}

/// The process the dumps are about: the most frequent `Process ID` (first seen wins ties).
fn main_pid(parsed: &Parsed) -> Option<u32> {
    let mut counts: HashMap<u32, (usize, usize)> = HashMap::new();
    let mut order = 0usize;
    for r in parsed.dumps.iter().flat_map(|d| d.records.iter()) {
        if let Some((_, pid)) = r.ids {
            let e = counts.entry(pid).or_insert((0, order));
            e.0 += 1;
            order += 1;
        }
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1.0.cmp(&b.1.0).then(b.1.1.cmp(&a.1.1)))
        .map(|(pid, _)| pid)
}

fn frames_of<'p>(parsed: &'p Parsed, r: &Record) -> &'p [crate::model::Sym] {
    parsed.frames.get(r.frames.0..r.frames.1).unwrap_or(&[])
}

/// Identity of a record for dedupe across dumps.
fn key(parsed: &Parsed, r: &Record) -> u64 {
    let mut h = DefaultHasher::new();
    r.handle.hash(&mut h);
    r.ty.hash(&mut h);
    r.ids.hash(&mut h);
    frames_of(parsed, r).hash(&mut h);
    h.finish()
}

fn emit(parsed: &Parsed, ctx: &mut ReadContext<'_>) {
    let main = main_pid(parsed);
    // Chronological keys of unfiltered full dumps (the ring buffer as last seen).
    let mut history: Vec<(u64, i64)> = Vec::new();
    // Records emitted from filtered or -diff dumps: a later full dump repeats them.
    let mut extra: HashMap<u64, usize> = HashMap::new();
    let mut seen: HashSet<u64> = HashSet::new();
    for dump in &parsed.dumps {
        let chrono: Vec<(&Record, u64)> = dump
            .records
            .iter()
            .rev()
            .map(|r| (r, key(parsed, r)))
            .collect();
        let keys: Vec<u64> = chrono.iter().map(|(_, k)| *k).collect();
        let mut new_keys: Vec<u64> = Vec::new();
        match dump.mode {
            DumpMode::Full { filter: None } => {
                let tail: Vec<u64> = history.iter().map(|(k, _)| *k).collect();
                let k = dedupe::overlap(&keys, &tail);
                ctx.stats
                    .bump("htrace: records repeated from an earlier dump", k as u64);
                for (r, key) in chrono.iter().skip(k) {
                    history.push((*key, r.handle));
                    new_keys.push(*key);
                    match extra.get_mut(key) {
                        Some(n) if *n > 0 => {
                            *n -= 1;
                            ctx.stats
                                .bump("htrace: records repeated from an earlier dump", 1);
                        }
                        _ => emit_record(parsed, r, false, main, ctx),
                    }
                }
            }
            DumpMode::Full { filter: Some(h) } => {
                let tail: Vec<u64> = history
                    .iter()
                    .filter(|(_, hv)| *hv == h)
                    .map(|(k, _)| *k)
                    .collect();
                let k = dedupe::overlap(&keys, &tail);
                ctx.stats
                    .bump("htrace: records repeated from an earlier dump", k as u64);
                for (r, key) in chrono.iter().skip(k) {
                    if seen.contains(key) {
                        ctx.stats
                            .bump("htrace: records repeated from an earlier dump", 1);
                        continue;
                    }
                    new_keys.push(*key);
                    *extra.entry(*key).or_insert(0) += 1;
                    emit_record(parsed, r, false, main, ctx);
                }
            }
            DumpMode::Diff => {
                for (r, key) in &chrono {
                    if seen.contains(key) {
                        ctx.stats
                            .bump("htrace: records repeated from an earlier dump", 1);
                        continue;
                    }
                    new_keys.push(*key);
                    *extra.entry(*key).or_insert(0) += 1;
                    emit_record(parsed, r, true, main, ctx);
                }
            }
        }
        seen.extend(new_keys);
    }
}

fn emit_record(
    parsed: &Parsed,
    r: &Record,
    diff: bool,
    main: Option<u32>,
    ctx: &mut ReadContext<'_>,
) {
    let frames = frames_of(parsed, r);
    let api: Option<Api<'_>> = {
        let names = frames.iter().map(|s| ctx.interner.resolve(*s));
        innermost_api(names)
    };
    let (api_name, role) = match api {
        Some(a) => (Some(a.name.to_string()), a.role),
        None => (None, None),
    };
    let call = match &api_name {
        Some(name) => ctx.interner.intern(name),
        None => ctx.interner.intern(r.ty.label()),
    };
    let origin = Origin::line(ctx.input, r.line, r.offset);
    let (op, outcome, kind) = match r.ty {
        // -diff lists outstanding handles: open at the end whatever the label.
        _ if diff => (Op::Open { cloexec: false }, Outcome::Ok, created_kind(role)),
        TraceType::Open => (Op::Open { cloexec: false }, Outcome::Ok, created_kind(role)),
        TraceType::Close => (Op::Close, Outcome::Ok, ResourceKind::Unknown),
        TraceType::BadRef => {
            let name = ctx.interner.intern("STATUS_INVALID_HANDLE");
            let kind = match role {
                Some(ApiRole::Use(k)) => k,
                _ => ResourceKind::Unknown,
            };
            // A bad reference made by a close API is a failed release (a
            // second CloseHandle); any other is a use of the invalid value.
            let op = if role == Some(ApiRole::Close) {
                Op::Close
            } else {
                Op::Use
            };
            (
                op,
                Outcome::Failed {
                    class: ErrorClass::BadHandle,
                    name,
                },
                kind,
            )
        }
    };
    let mut ev = Event::new(op, call, origin);
    ev.handle = r.handle;
    ev.kind = kind;
    ev.outcome = outcome;
    if let Some((tid, pid)) = r.ids {
        ev.pid = pid;
        ev.tid = tid;
        if main.is_some_and(|m| m != pid) {
            ctx.stats.bump(
                "htrace: records with another Process ID (handle injected by another process)",
                1,
            );
        }
    }
    if !frames.is_empty() {
        ev.stack = Some(ctx.interner.intern_stack(frames));
    } else {
        ctx.stats.bump("htrace: records without stack frames", 1);
    }
    if diff {
        ev.flags |= flags::RUNDOWN;
        ctx.stats.bump("htrace: outstanding handles from -diff", 1);
    }
    ctx.stats.events += 1;
    ctx.sink.event(ev);
}

fn created_kind(role: Option<ApiRole>) -> ResourceKind {
    match role {
        Some(ApiRole::Create(k)) => k,
        _ => ResourceKind::Unknown,
    }
}
