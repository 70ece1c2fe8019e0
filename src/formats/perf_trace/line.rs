//! The grammar of one `perf trace` output line (perf 6.x):
//!
//! ```text
//!      0.366 ( 0.015 ms): sh/15055 openat(dfd: CWD, filename: 0xb20900b1, flags: RDONLY|CLOEXEC) = 4
//!      2.242 (         ): sh/15055 vfork()                                              ...
//!      2.242 ( 1.022 ms): sh/15055  ... [continued]: vfork())                           = 15056
//!          ? (         ): sh/15057  ... [continued]: clone())                           =
//!     11.364 ( 0.016 ms): sh/15055 close(fd: -1)                        = -1 EBADF (Bad file descriptor)
//!      0.000 ( 0.000 ms): cat/21765 minfault [elf_load+0x28a] => 0x55ff5f252280 (?k)
//! LOST 161 events!
//! ```
//!
//! The timestamp is the call's *entry* time in milliseconds (relative to the first
//! event, or absolute with `-T`); the duration is blank while the call has not
//! returned. `comm` is cut by the kernel to 15 bytes and may itself contain `/` and
//! spaces (`kworker/0:1`); perf prints `:TID` as the comm of a task it has no name for.

/// What kind of line it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// `name(args) = ret`: a call that returned (or `= ?`: never returned).
    Complete,
    /// `name(args) ...`: the entry of a call interrupted by another task's line.
    Entry,
    /// ` ... [continued]: name()) = ret`: the return of an interrupted call.
    Continued,
}

/// A syscall line, split into its parts (slices of the line).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallLine<'a> {
    /// Entry time in nanoseconds, `None` for `?`.
    pub time: Option<i64>,
    /// Duration in nanoseconds when printed.
    pub duration: Option<i64>,
    pub comm: &'a [u8],
    pub tid: u32,
    pub shape: Shape,
    pub name: &'a [u8],
    /// Text between the parentheses (empty for a continued line).
    pub args: &'a [u8],
    /// Text after `= `, trimmed (`4`, `-1 EBADF (Bad file descriptor)`, `?`, empty).
    pub ret: &'a [u8],
}

/// Any line of the output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Line<'a> {
    Call(CallLine<'a>),
    /// `LOST N events!`
    Lost(u64),
    /// `# handlecheck: task TID process PID`, appended by `handlecheck record
    /// --system` for the threads alive when recording began (perf prints tids only).
    Task {
        tid: u32,
        pid: u32,
    },
    /// A page-fault line (`-F`): not a syscall.
    Fault,
    /// Part of the `-s`/`-S` summary table.
    Summary,
    Blank,
    Other,
}

/// Start of the task lines `handlecheck record --system` appends.
pub const TASK_PREFIX: &str = "# handlecheck: task ";

/// Parses one line (without its newline).
pub fn parse(line: &[u8]) -> Line<'_> {
    let line = strip_colour(line);
    let t = trim(line);
    if t.is_empty() {
        return Line::Blank;
    }
    if let Some(rest) = t.strip_prefix(TASK_PREFIX.as_bytes()) {
        let mut words = rest.split(|b| *b == b' ');
        let num = |w: Option<&[u8]>| {
            w.and_then(|w| std::str::from_utf8(w).ok())
                .and_then(|w| w.parse::<u32>().ok())
        };
        let tid = num(words.next());
        let pid = match words.next() {
            Some(b"process") => num(words.next()),
            _ => None,
        };
        return match (tid, pid, words.next()) {
            (Some(tid), Some(pid), None) => Line::Task { tid, pid },
            _ => Line::Other,
        };
    }
    if let Some(rest) = t.strip_prefix(b"LOST ") {
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits > 0
            && rest
                .get(digits..)
                .is_some_and(|r| r.starts_with(b" events!"))
            && let Some(n) = std::str::from_utf8(&rest[..digits])
                .ok()
                .and_then(|s| s.parse().ok())
        {
            return Line::Lost(n);
        }
        return Line::Other;
    }
    match call_line(line) {
        Some(Ok(c)) => Line::Call(c),
        Some(Err(())) => Line::Fault,
        None if is_summary(t) => Line::Summary,
        None => Line::Other,
    }
}

/// `Some(Err)` for a page-fault line, `Some(Ok)` for a call, `None` otherwise.
fn call_line(line: &[u8]) -> Option<Result<CallLine<'_>, ()>> {
    let start = line.iter().take_while(|b| **b == b' ').count();
    let rest = line.get(start..)?;
    let sp = memchr::memchr(b' ', rest)?;
    let time = match rest.get(..sp)? {
        b"?" => None,
        ts => Some(millis_to_ns(ts)?),
    };
    let rest = rest.get(sp + 1..)?.strip_prefix(b"(")?;
    let close = memchr::memchr(b')', rest)?;
    let dur_text = trim(rest.get(..close)?);
    let duration = if dur_text.is_empty() {
        None
    } else {
        Some(millis_to_ns(dur_text.strip_suffix(b" ms")?)?)
    };
    let rest = rest.get(close + 1..)?.strip_prefix(b": ")?;
    // comm/TID: the first `/DIGITS ` after which a call, a continuation or a fault follows.
    let mut from = 0;
    loop {
        let slash = from + memchr::memchr(b'/', rest.get(from..)?)?;
        from = slash + 1;
        let after = rest.get(slash + 1..)?;
        let digits = after.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 || after.get(digits) != Some(&b' ') {
            continue;
        }
        let Some(tid) = std::str::from_utf8(&after[..digits])
            .ok()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let body = after.get(digits + 1..)?;
        let comm = rest.get(..slash)?;
        if let Some(c) = body_of(body) {
            return Some(Ok(CallLine {
                time,
                duration,
                comm,
                tid,
                ..c
            }));
        }
        if body.starts_with(b"majfault ") || body.starts_with(b"minfault ") {
            return Some(Err(()));
        }
    }
}

/// The call part: shape, name, args, result (time, comm and tid left blank).
fn body_of(body: &[u8]) -> Option<CallLine<'_>> {
    let blank = |shape, name, args, ret| CallLine {
        time: None,
        duration: None,
        comm: &[],
        tid: 0,
        shape,
        name,
        args,
        ret,
    };
    if let Some(rest) = trim_start(body).strip_prefix(b"... [continued]: ") {
        let n = name_len(rest);
        let name = rest.get(..n).filter(|n| !n.is_empty())?;
        let after = rest.get(n..)?.strip_prefix(b"())")?;
        let ret = trim(after).strip_prefix(b"=").map(trim)?;
        return Some(blank(Shape::Continued, name, &[], ret));
    }
    let n = name_len(body);
    let name = body.get(..n).filter(|n| !n.is_empty())?;
    let open = n;
    if body.get(open) != Some(&b'(') {
        return None;
    }
    // The closing parenthesis is the first `)` followed by `= `, `...` or the end.
    let mut at = open + 1;
    loop {
        let close = at + memchr::memchr(b')', body.get(at..)?)?;
        let after = trim(body.get(close + 1..)?);
        let args = body.get(open + 1..close)?;
        if let Some(ret) = after.strip_prefix(b"=") {
            return Some(blank(Shape::Complete, name, args, trim(ret)));
        }
        if after == b"..." {
            return Some(blank(Shape::Entry, name, args, &[]));
        }
        at = close + 1;
    }
}

fn name_len(s: &[u8]) -> usize {
    s.iter()
        .take_while(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || **b == b'_')
        .count()
}

/// `12.345` (milliseconds, up to 9 decimals) → nanoseconds. perf computes relative
/// times in unsigned 64-bit nanoseconds: an event before the one it took as the
/// start prints as 2^64 ns minus a little (`18446744073704.395`), read here as the
/// small negative time it is.
pub fn millis_to_ns(s: &[u8]) -> Option<i64> {
    let (int, frac) = match memchr::memchr(b'.', s) {
        Some(d) => (s.get(..d)?, s.get(d + 1..)?),
        None => (s, &b""[..]),
    };
    if int.is_empty() || !int.iter().all(u8::is_ascii_digit) || !frac.iter().all(u8::is_ascii_digit)
    {
        return None;
    }
    let whole: u128 = std::str::from_utf8(int).ok()?.parse().ok()?;
    let mut ns_frac: u128 = 0;
    for i in 0..6 {
        let d = frac.get(i).map_or(0, |c| u128::from(c - b'0'));
        ns_frac = ns_frac * 10 + d;
    }
    let ns = whole.checked_mul(1_000_000)?.checked_add(ns_frac)?;
    const WRAP: u128 = 1 << 64;
    if ns >= WRAP {
        return None;
    }
    if ns > (1u128 << 63) {
        // A wrapped difference: at most a minute before the start is believable.
        let before = WRAP - ns;
        return (before < 60_000_000_000).then(|| -(before as i64));
    }
    i64::try_from(ns).ok()
}

fn is_summary(t: &[u8]) -> bool {
    t.starts_with(b"Summary of events:")
        || t.starts_with(b"syscall ")
        || t.starts_with(b"(msec)")
        || t.starts_with(b"---------------")
        || memchr::memmem::find(t, b" events, ").is_some()
        || {
            // `read   1234   0   12.3   0.001 ...`: a name then numbers.
            let n = name_len(t);
            n > 0
                && t.get(n..).is_some_and(|r| {
                    let r = trim(r);
                    !r.is_empty() && r.iter().all(|b| b.is_ascii_digit() || b" .%".contains(b))
                })
        }
}

/// Drops ANSI colour sequences perf adds on a terminal (`LOST` is printed red).
fn strip_colour(line: &[u8]) -> &[u8] {
    let mut l = line;
    while let Some(rest) = l.strip_prefix(b"\x1b[") {
        let n = rest.iter().take_while(|b| !b.is_ascii_alphabetic()).count();
        l = rest.get(n + 1..).unwrap_or(&[]);
    }
    l
}

pub fn trim(s: &[u8]) -> &[u8] {
    let s = trim_start(s);
    let end = s
        .iter()
        .rposition(|b| !b.is_ascii_whitespace() && *b != b'\x1b')
        .map_or(0, |i| i + 1);
    let s = s.get(..end).unwrap_or(&[]);
    // A trailing colour reset (`\x1b[m`).
    match memchr::memmem::rfind(s, b"\x1b[") {
        Some(k) if s.len() - k <= 5 => trim(s.get(..k).unwrap_or(&[])),
        _ => s,
    }
}

fn trim_start(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|b| b.is_ascii_whitespace()).count();
    s.get(n..).unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(l: &str) -> CallLine<'_> {
        match parse(l.as_bytes()) {
            Line::Call(c) => c,
            other => panic!("{l}: {other:?}"),
        }
    }

    #[test]
    fn complete_entry_continued() {
        let c = call(
            "     0.366 ( 0.015 ms): sh/15055 openat(dfd: CWD, filename: 0xb20900b1, flags: RDONLY|CLOEXEC)         = 4",
        );
        assert_eq!(c.time, Some(366_000));
        assert_eq!(c.duration, Some(15_000));
        assert_eq!((c.comm, c.tid), (&b"sh"[..], 15055));
        assert_eq!(c.shape, Shape::Complete);
        assert_eq!(c.name, b"openat");
        assert_eq!(
            c.args,
            b"dfd: CWD, filename: 0xb20900b1, flags: RDONLY|CLOEXEC"
        );
        assert_eq!(c.ret, b"4");

        let e = call(
            "     2.242 (         ): sh/15055 vfork()                                                            ...",
        );
        assert_eq!(
            (e.shape, e.duration, e.name),
            (Shape::Entry, None, &b"vfork"[..])
        );

        let k = call(
            "     3.320 ( 6.379 ms): sh/15055  ... [continued]: wait4())                                            = 15056 (ls)",
        );
        assert_eq!(
            (k.shape, k.name, k.ret),
            (Shape::Continued, &b"wait4"[..], &b"15056 (ls)"[..])
        );
        assert_eq!(k.time, Some(3_320_000));

        let q = call(
            "         ? (         ): sh/15057  ... [continued]: clone())                                            = ",
        );
        assert_eq!((q.time, q.ret), (None, &b""[..]));
    }

    #[test]
    fn comm_with_slash_space_or_none() {
        let c = call("     1.000 ( 0.001 ms): kworker/0:1 H/77 close(fd: 3)   = 0");
        assert_eq!((c.comm, c.tid), (&b"kworker/0:1 H"[..], 77));
        let c = call("     8.707 ( 0.019 ms): :18060/18060 close(fd: 3)                  = 0");
        assert_eq!((c.comm, c.tid), (&b":18060"[..], 18060));
    }

    #[test]
    fn decorations_with_parentheses_and_errors() {
        let c = call(
            "     1.0 ( 0.001 ms): a/1 close(fd: 4</tmp/x) = y>) = -1 EBADF (Bad file descriptor)",
        );
        assert_eq!(c.args, b"fd: 4</tmp/x");
        let c = call(
            "     1.0 ( 0.001 ms): a/1 close(fd: 4</tmp/(x)>)   = -1 EBADF (Bad file descriptor)",
        );
        assert_eq!(c.args, b"fd: 4</tmp/(x)>");
        assert_eq!(c.ret, b"-1 EBADF (Bad file descriptor)");
    }

    #[test]
    fn other_lines() {
        assert_eq!(parse(b"LOST 161 events!"), Line::Lost(161));
        assert_eq!(parse(b"\x1b[31mLOST 7 events!\x1b[m"), Line::Lost(7));
        assert_eq!(
            parse(b"     0.000 ( 0.000 ms): cat/21765 minfault [elf_load+0x28a] => 0x55ff5f252280 (?k)"),
            Line::Fault
        );
        assert_eq!(parse(b" Summary of events:"), Line::Summary);
        assert_eq!(parse(b"   read                  12      0     0.101     0.004     0.008     0.022     11.14%"), Line::Summary);
        assert_eq!(parse(b""), Line::Blank);
        assert_eq!(
            parse(b"# handlecheck: task 12 process 10"),
            Line::Task { tid: 12, pid: 10 }
        );
        assert_eq!(parse(b"# handlecheck: task 12 process"), Line::Other);
        assert_eq!(parse(b"01:02:03.456 read(3, \"x\", 1) = 1"), Line::Other);
        assert_eq!(parse(b"     1.0 ( 0.001 ms): a/1 close(fd: 3"), Line::Other);
    }

    #[test]
    fn millis() {
        assert_eq!(millis_to_ns(b"0.058"), Some(58_000));
        assert_eq!(millis_to_ns(b"12"), Some(12_000_000));
        assert_eq!(millis_to_ns(b"1.5x"), None);
        assert_eq!(millis_to_ns(b"99999999999999999999"), None);
        assert_eq!(millis_to_ns(b"18446744073704.395"), Some(-5_156_616));
    }
}
