//! First-chance (and second-chance) invalid-handle exceptions in a debugger
//! session: WinDbg `(pid.tid): Invalid handle - code c0000008 (first chance)`
//! and Visual Studio `First-chance exception at 0x... in app.exe: 0xC0000008:
//! An invalid handle was specified.`, with the stack the user dumped after it
//! (`k`, `kb`...). The exception says that the value was not a valid handle at
//! that call, not which value it was nor why: the `!htrace` of the handle, when
//! pasted after it, tells.

use crate::formats::appverif::frames::k_row;
use crate::model::{Interner, Sym};

use super::text::{
    Lines, event_ids, find, prompt_command, split_offset, trim, without_annotation, write_frame,
};

/// One invalid-handle exception.
#[derive(Clone, Debug)]
pub(crate) struct Exception {
    pub line: u32,
    pub offset: u64,
    /// From `(pid.tid):` (WinDbg layout only).
    pub ids: Option<(u32, u32)>,
    pub second_chance: bool,
    /// Interned frames of the first stack dumped after the exception, innermost first.
    pub frames: Vec<Sym>,
}

/// True for a line that reports an invalid-handle exception.
pub(crate) fn is_exception_line(line: &[u8]) -> bool {
    parse_line(line).is_some() || is_detail_line(line)
}

/// `.exr -1` / `!analyze -v` details of the current exception (`ExceptionCode:
/// c0000008 (Invalid handle)`, `EXCEPTION_CODE: (NTSTATUS) 0xc0000008 - ...`):
/// an exception of their own only when no banner reported it (a crash dump).
fn is_detail_line(raw: &[u8]) -> bool {
    let line = trim(raw);
    if find(line, b"0000008").is_none() {
        return false;
    }
    let lower = line.to_ascii_lowercase();
    (lower.starts_with(b"exceptioncode:") && find(&lower, b"c0000008").is_some())
        || (lower.starts_with(b"exception_code:") && find(&lower, b"0xc0000008").is_some())
        || (lower.starts_with(b"error_code:") && find(&lower, b"0xc0000008").is_some())
}

/// `(ids, second_chance)` of an exception line.
fn parse_line(raw: &[u8]) -> Option<(Option<(u32, u32)>, bool)> {
    let line = trim(raw);
    // Every form carries the status code: skip the rest cheaply.
    find(line, b"0000008")?;
    if let Some(at) = find(line, b"Invalid handle - code c0000008") {
        let ids = event_ids(line);
        // WinDbg puts the `(pid.tid):` prefix first; a bare message is accepted too.
        if ids.is_none() && at != 0 {
            return None;
        }
        let second = find(line, b"second chance").is_some();
        return Some((ids, second));
    }
    let lower = line.to_ascii_lowercase();
    if find(&lower, b"0xc0000008: an invalid handle was specified").is_some()
        && (lower.starts_with(b"first-chance exception at")
            || lower.starts_with(b"exception thrown at")
            || lower.starts_with(b"unhandled exception at"))
    {
        let second = lower.starts_with(b"unhandled");
        return Some((None, second));
    }
    None
}

fn is_stack_command(cmd: &[u8]) -> bool {
    let word = cmd.split(|b| b.is_ascii_whitespace()).next().unwrap_or(b"");
    matches!(
        word,
        b"k" | b"kb" | b"kn" | b"kp" | b"kP" | b"kv" | b"kc" | b"kd" | b"kf" | b"knL" | b"kbn"
    ) || (word.first() == Some(&b'~') && word.ends_with(b"k"))
}

/// Every invalid-handle exception in `bytes`, with its stack.
pub(crate) fn scan(bytes: &[u8], base: u64, interner: &mut Interner) -> Vec<Exception> {
    let mut out: Vec<Exception> = Vec::new();
    // Collecting the stack of the last exception: not yet, in a `k` listing, done.
    #[derive(PartialEq)]
    enum State {
        Waiting,
        Stack,
        Done,
    }
    let mut state = State::Done;
    let mut buf = String::new();
    // An exception was reported since the last `g`: details belong to it.
    let mut current = false;
    for (line_no, offset, line) in Lines::new(bytes) {
        if is_detail_line(line) {
            if !current {
                out.push(Exception {
                    line: line_no,
                    offset: base + offset as u64,
                    ids: None,
                    second_chance: true,
                    frames: Vec::new(),
                });
                current = true;
                state = State::Waiting;
            }
            continue;
        }
        if trim(line).starts_with(b"STACK_TEXT:")
            && current
            && out.last().is_some_and(|e| e.frames.is_empty())
        {
            state = State::Stack;
            continue;
        }
        if let Some((ids, second)) = parse_line(line) {
            current = true;
            // The second chance of the exception just reported is the same event.
            if second
                && let Some(prev) = out.last()
                && !prev.second_chance
                && (prev.ids == ids || ids.is_none() || prev.ids.is_none())
            {
                if let Some(prev) = out.last_mut() {
                    prev.second_chance = true;
                }
                continue;
            }
            out.push(Exception {
                line: line_no,
                offset: base + offset as u64,
                ids,
                second_chance: second,
                frames: Vec::new(),
            });
            state = State::Waiting;
            continue;
        }
        if let Some(cmd) = prompt_command(line) {
            if cmd.starts_with(b"g") {
                current = false;
            }
            state = match state {
                State::Waiting | State::Stack if is_stack_command(cmd) => {
                    if out.last().is_some_and(|e| e.frames.is_empty()) {
                        State::Stack
                    } else {
                        State::Done
                    }
                }
                State::Waiting if !cmd.starts_with(b"g") => State::Waiting,
                _ => State::Done,
            };
            continue;
        }
        if state == State::Stack {
            let Some(site) = k_row(line) else {
                // Column headers come before the rows; anything else after them ends the stack.
                if out.last().is_some_and(|e| !e.frames.is_empty())
                    && !trim(line).is_empty()
                    && find(line, b"WARNING").is_none()
                {
                    state = State::Done;
                }
                continue;
            };
            let (sym, off) = split_offset(without_annotation(trim(site)), false);
            write_frame(&mut buf, sym, off);
            let frame = interner.intern(&buf);
            if let Some(e) = out.last_mut() {
                e.frames.push(frame);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exception_lines() {
        assert_eq!(
            parse_line(b"(1a2c.1b3c): Invalid handle - code c0000008 (first chance)"),
            Some((Some((0x1a2c, 0x1b3c)), false))
        );
        assert_eq!(
            parse_line(b"(1a2c.1b3c): Invalid handle - code c0000008 (!!! second chance !!!)"),
            Some((Some((0x1a2c, 0x1b3c)), true))
        );
        assert_eq!(
            parse_line(b"First-chance exception at 0x00007FF82F5999BA (ntdll.dll) in http-server.exe: 0xC0000008: An invalid handle was specified."),
            Some((None, false))
        );
        assert_eq!(
            parse_line(b"Exception thrown at 0x00007FFB1C8AF5DA (ntdll.dll) in a.exe: 0xC0000008: An invalid handle was specified."),
            Some((None, false))
        );
        assert_eq!(
            parse_line(b"ExceptionCode: c0000008 (Invalid handle)"),
            None
        );
        assert_eq!(
            parse_line(b"the log said: Invalid handle - code c0000008"),
            None
        );
    }
}
