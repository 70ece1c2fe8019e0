//! `VERIFIER STOP` blocks in debugger output (old 8-digit and new 16-digit
//! widths), `!analyze -v` `APPLICATION_VERIFIER_*` blocks, and the stack the
//! user dumped after the stop (`k`, `kb`, `STACK_TEXT:`).

use crate::formats::ReadContext;
use crate::formats::htrace::text::{
    Lines, find, parse_hex, prompt_command, split_offset, take_hex, trim, trim_start,
    without_annotation, write_frame,
};

use super::frames::k_row;
use super::stop::{Stop, emit};

/// `VERIFIER STOP 00000300: pid 0x558: text` → (code, pid).
fn stop_header(line: &[u8]) -> Option<(u32, u32)> {
    let rest = trim_start(line).strip_prefix(b"VERIFIER STOP ")?;
    let (code, rest) = take_hex(rest);
    if code.is_empty() || code.len() > 16 {
        return None;
    }
    // `VERIFIER STOP 0000A00E : pid 0xB0:` (Print layer) puts a space before the colon.
    let rest = trim_start(rest).strip_prefix(b": pid 0x")?;
    let (pid, _) = take_hex(rest);
    if pid.len() > 8 {
        return None;
    }
    Some((
        u32::try_from(parse_hex(code)?).ok()?,
        u32::try_from(parse_hex(pid)?).ok()?,
    ))
}

/// `APPLICATION_VERIFIER_HANDLES_INVALID_HANDLE (300)` → code.
fn analyze_header(line: &[u8]) -> Option<u32> {
    let line = trim(line);
    let rest = line.strip_prefix(b"APPLICATION_VERIFIER_")?;
    let open = memchr::memrchr(b'(', rest)?;
    let inner = rest.get(open + 1..)?.strip_suffix(b")")?;
    if rest
        .get(..open)
        .is_some_and(|n| n.iter().any(|b| b.is_ascii_whitespace() && *b != b' '))
        || inner.len() > 8
    {
        return None;
    }
    u32::try_from(parse_hex(inner)?).ok()
}

/// `        C0000008 : Exception code.` → value.
fn param_line(line: &[u8]) -> Option<u64> {
    let t = trim_start(line);
    let (digits, rest) = take_hex(t);
    if digits.is_empty() || digits.len() > 16 || !rest.starts_with(b" :") {
        return None;
    }
    parse_hex(digits)
}

/// `Arg1: 00000000000003e8, SOCKET being accessed` → (index, value).
fn analyze_arg(line: &[u8]) -> Option<(usize, u64)> {
    let rest = trim_start(line).strip_prefix(b"Arg")?;
    let (n, rest) = take_hex(rest);
    let idx = usize::try_from(parse_hex(n)?).ok()?.checked_sub(1)?;
    let rest = trim_start(rest.strip_prefix(b":")?);
    let comma = memchr::memchr(b',', rest)?;
    let digits: Vec<u8> = rest
        .get(..comma)?
        .iter()
        .copied()
        .filter(|b| *b != b'`')
        .collect();
    if digits.len() > 16 {
        return None;
    }
    Some((idx, parse_hex(&digits)?))
}

fn is_stack_header(line: &[u8]) -> bool {
    let t = trim(line);
    t.starts_with(b"STACK_TEXT:")
        || (find(t, b"RetAddr").is_some()
            && (find(t, b"Call Site").is_some()
                || find(t, b"Args to Child").is_some()
                || find(t, b"ChildEBP").is_some()))
}

#[derive(PartialEq)]
enum State {
    Idle,
    Params,
    AnalyzeArgs,
    Stack,
}

pub(crate) fn read(bytes: &[u8], base: u64, ctx: &mut ReadContext<'_>) -> u64 {
    let mut pending: Option<Stop> = None;
    let mut state = State::Idle;
    let mut n_params = 0usize;
    let mut found = 0u64;
    let mut buf = String::new();
    let flush = |pending: &mut Option<Stop>, ctx: &mut ReadContext<'_>| {
        if let Some(stop) = pending.take() {
            emit(&stop, ctx);
        }
    };
    for (line_no, offset, line) in Lines::new(bytes) {
        ctx.stats.units += 1;
        if let Some((code, pid)) = stop_header(line) {
            flush(&mut pending, ctx);
            pending = Some(Stop {
                code,
                pid,
                line: line_no,
                offset: base + offset as u64,
                ..Stop::default()
            });
            state = State::Params;
            n_params = 0;
            found += 1;
            continue;
        }
        if let Some(code) = analyze_header(line) {
            let merge = pending.as_ref().is_some_and(|p| p.code == code);
            if !merge {
                flush(&mut pending, ctx);
                pending = Some(Stop {
                    code,
                    line: line_no,
                    offset: base + offset as u64,
                    ..Stop::default()
                });
                found += 1;
                n_params = 0;
            } else {
                // The same stop rendered by !analyze: only fill in what is missing.
                n_params = 4;
            }
            state = State::AnalyzeArgs;
            continue;
        }
        if let Some(cmd) = prompt_command(line) {
            if cmd == b"g" || cmd.starts_with(b"g ") || cmd == b"gn" || cmd == b"gh" || cmd == b"q"
            {
                flush(&mut pending, ctx);
            }
            if state != State::Stack || !cmd.starts_with(b"k") {
                state = State::Idle;
            }
            continue;
        }
        let Some(stop) = pending.as_mut() else {
            continue;
        };
        match state {
            State::Params => {
                if let Some(v) = param_line(line) {
                    if let Some(slot) = stop.params.get_mut(n_params) {
                        *slot = Some(v);
                    }
                    n_params += 1;
                } else if trim(line).starts_with(b"This verifier stop")
                    || (n_params > 0 && trim(line).starts_with(b"===="))
                {
                    state = State::Idle;
                }
            }
            State::AnalyzeArgs => {
                if let Some((i, v)) = analyze_arg(line) {
                    if n_params < 4
                        && let Some(slot) = stop.params.get_mut(i)
                    {
                        *slot = Some(v);
                    }
                } else if is_stack_header(line) {
                    state = if stop.frames.is_empty() {
                        State::Stack
                    } else {
                        State::Idle
                    };
                }
            }
            State::Idle => {
                if is_stack_header(line) && stop.frames.is_empty() {
                    state = State::Stack;
                }
            }
            State::Stack => {
                if trim(line).is_empty() {
                    if !stop.frames.is_empty() {
                        state = State::Idle;
                    }
                    continue;
                }
                match k_row(line) {
                    Some(site) => {
                        let (sym, off) = split_offset(without_annotation(trim(site)), false);
                        write_frame(&mut buf, sym, off);
                        stop.frames.push(ctx.interner.intern(&buf));
                    }
                    None => {
                        if !stop.frames.is_empty() {
                            state = State::Idle;
                        }
                    }
                }
            }
        }
    }
    flush(&mut pending, ctx);
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        assert_eq!(
            stop_header(b"VERIFIER STOP 00000300: pid 0x558: invalid handle"),
            Some((0x300, 0x558))
        );
        assert_eq!(
            stop_header(b"VERIFIER STOP 0000000000000300: pid 0xACC: Invalid"),
            Some((0x300, 0xACC))
        );
        assert_eq!(
            stop_header(b"VERIFIER STOP 0000A00E : pid 0xB0: Attempt to use a closed PrintTicket"),
            Some((0xA00E, 0xB0))
        );
        assert_eq!(
            analyze_header(b"APPLICATION_VERIFIER_HANDLES_NULL_HANDLE (303)"),
            Some(0x303)
        );
        assert_eq!(
            analyze_header(b"APPLICATION_VERIFIER_NETWORKING_WSA_SOCKET_ALREADY_CLOSED (e101)"),
            Some(0xE101)
        );
        assert_eq!(
            param_line(b"\t00000063D2AFE310 : Exception record."),
            Some(0x63D2AFE310)
        );
        assert_eq!(param_line(b"        00000000 :"), Some(0));
        assert_eq!(
            analyze_arg(b"Arg1: 00000000000003e8, SOCKET being accessed "),
            Some((0, 0x3e8))
        );
    }
}
