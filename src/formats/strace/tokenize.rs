//! Quote-, bracket- and decoration-aware scanning of a call's arguments and
//! of the result tail (` = RET [ERRNO (text)] [(decoded)] [(INJECTED)] [<dur>]`).
//!
//! Rules (research strace.md 1.7-1.9): strings are `"..."` with backslash
//! escapes and may contain anything (`) = `, `<`, `>`); `/* comments */` may
//! appear anywhere; `(`, `[`, `{` nest; `<` opens a decoration (`3</etc/x>`,
//! `AT_FDCWD</etc>`, `<... resuming ...>`) inside which only `<`, `>`, quotes
//! and escapes matter, and `->` (socket peers) does not close it. A `>` outside
//! a decoration (`=>`) is plain text.

/// Arguments kept per call; later ones are counted but not stored.
pub const MAX_ARGS: usize = 8;
/// Deepest nesting the scanner follows; deeper input is rejected.
const MAX_DEPTH: usize = 64;

/// Argument spans of one scanned list.
#[derive(Clone, Copy, Debug)]
pub struct Args<'a> {
    text: &'a [u8],
    spans: [(u32, u32); MAX_ARGS],
    /// Each stored argument's first decoration as `(lt, end)` in `text` (`<`
    /// and just past its `>`), `(0, 0)` when it has none: the scan already
    /// found where it ends, so [`Args::fd`] need not look again.
    decos: [(u32, u32); MAX_ARGS],
    stored: usize,
    /// Number of arguments seen (may exceed [`MAX_ARGS`]).
    pub count: usize,
}

impl<'a> Args<'a> {
    /// Argument `i`, trimmed of surrounding spaces.
    pub fn get(&self, i: usize) -> Option<&'a [u8]> {
        let &(s, e) = self.spans.get(..self.stored)?.get(i)?;
        self.text.get(s as usize..e as usize).map(trim)
    }

    /// The first argument of the form `name=value`, returning `value`.
    pub fn named(&self, name: &[u8]) -> Option<&'a [u8]> {
        (0..self.stored)
            .filter_map(|i| self.get(i))
            .find_map(|a| a.strip_prefix(name))
    }

    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        (0..self.stored).filter_map(|i| self.get(i))
    }

    /// Argument `i` read as an fd ([`parse_fd`] of [`Args::get`]), using the
    /// decoration end the scan found.
    pub fn fd(&self, i: usize) -> Option<FdVal<'a>> {
        let &(s, e) = self.spans.get(..self.stored)?.get(i)?;
        let raw = self.text.get(s as usize..e as usize)?;
        let lead = raw.iter().take_while(|b| **b == b' ').count();
        let (lt, end) = self.decos.get(i).copied().unwrap_or((0, 0));
        let base = s as usize + lead;
        let known = (end > 0)
            .then(|| (lt as usize).checked_sub(base))
            .flatten()
            .map(|l| (l, end as usize - base));
        parse_fd_known(trim(raw), known)
    }
}

/// Position of the two-byte sequence `a b` (cheaper than building a memmem
/// finder for the short texts this is used on).
pub fn find_pair(hay: &[u8], a: u8, b: u8) -> Option<usize> {
    memchr::memchr_iter(a, hay).find(|&k| hay.get(k + 1) == Some(&b))
}

pub fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' '] = s {
        s = rest;
    }
    s
}

/// Byte classes: 0 = plain, else the byte itself matters to the scanner.
static SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    let specials = b"\"\\()[]{}<>,/";
    let mut i = 0;
    while i < specials.len() {
        t[specials[i] as usize] = true;
        i += 1;
    }
    t
};

/// Index just past the closing quote of a string whose opening quote is at
/// `open - 1` (i.e. `open` is the first byte inside). Returns `text.len()` if
/// the string is not closed.
pub fn skip_string(text: &[u8], open: usize) -> usize {
    // One search per quote, not per escape: binary data (`"\177ELF\2\1..."`)
    // has an escape every few bytes but a raw `"` only where the string ends
    // or as `\"`. A quote closes the string unless escaped inside it.
    let mut i = open;
    while let Some(k) = text.get(i..).and_then(|t| memchr::memchr(b'"', t)) {
        let at = i + k;
        if !escaped(text, open, at) {
            return at + 1;
        }
        i = at + 1;
    }
    text.len()
}

/// Index just past the `>` closing the decoration whose `<` is at `lt`, or
/// `None` if it is not closed.
pub fn decoration_end(text: &[u8], lt: usize) -> Option<usize> {
    // Only `<`, `>` and `"` matter here: paths escape `<`/`>` as `\74`/`\76`
    // and `"` as `\"`, so a raw `>` is a closer unless it is a socket's `->`.
    // The opener itself is the first `<`: start inside it.
    let (mut depth, mut i) = if text.get(lt) == Some(&b'<') {
        (1usize, lt + 1)
    } else {
        (0, lt)
    };
    while let Some(k) = text
        .get(i..)
        .and_then(|t| memchr::memchr3(b'<', b'>', b'"', t))
    {
        let at = i + k;
        match text.get(at) {
            Some(b'<') => depth += 1,
            Some(b'>') if at == 0 || text.get(at - 1) != Some(&b'-') => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(at + 1);
                }
            }
            Some(b'"') if !escaped(text, 0, at) => {
                i = skip_string(text, at + 1);
                continue;
            }
            _ => {}
        }
        i = at + 1;
    }
    None
}

/// True when the byte at `at` is preceded, within `text[from..at]`, by an
/// odd number of backslashes.
fn escaped(text: &[u8], from: usize, at: usize) -> bool {
    let before = text.get(from..at).unwrap_or(&[]);
    before.iter().rev().take_while(|b| **b == b'\\').count() % 2 == 1
}

/// Scans a list starting at `start` (just after its opener) up to the
/// unnested `closer`, splitting at unnested commas. Returns the arguments and
/// the index of the closer, or `None` when the closer is missing or the
/// nesting is too deep.
pub fn scan_list(text: &[u8], start: usize, closer: u8) -> Option<(Args<'_>, usize)> {
    let mut args = no_args(text);
    let close = scan::<true>(text, start, closer, &mut args, 0)?;
    Some((args, close))
}

/// The first argument of a call's list as an fd and the index of the list's
/// closer, for calls that need nothing else (`read`, `close`, ...): what
/// [`scan_list`] and [`Args::fd`]`(0)` answer, without storing the other
/// arguments. `None` when the first argument is not a plain fd (`AT_FDCWD`,
/// a name, a space, a number that overflows) or the list does not close:
/// then ask [`scan_list`], which is the reference.
pub fn first_fd_and_close(text: &[u8], start: usize, closer: u8) -> Option<(FdVal<'_>, usize)> {
    let (fd, i) = lead_fd(text, start, closer)?;
    // The scan of the rest starts in the state the full scan is in here:
    // at depth 0, outside any string, in the first argument.
    let close = scan::<false>(text, i, closer, &mut no_args(text), 0)?;
    Some((fd, close))
}

/// Argument `n` (after `n` unnested commas) of a call's list as an fd and
/// the index of the list's closer, for calls that need only that argument
/// (`mmap`'s fd, an `*at` call's dirfd): what [`scan_list`] and
/// [`Args::fd`]`(n)` answer, without storing the arguments. `None` when the
/// argument is missing or no plain fd (leading spaces aside), or the list
/// does not close: then ask [`scan_list`], which is the reference.
pub fn nth_fd_and_close(
    text: &[u8],
    start: usize,
    closer: u8,
    n: usize,
) -> Option<(FdVal<'_>, usize)> {
    let mut i = start;
    if n > 0 {
        let comma = scan::<false>(text, start, closer, &mut no_args(text), n)?;
        if text.get(comma) != Some(&b',') {
            return None;
        }
        i = comma + 1;
    }
    while text.get(i) == Some(&b' ') {
        i += 1;
    }
    let (fd, i) = lead_fd(text, i, closer)?;
    // As in `first_fd_and_close`: depth 0, outside any string.
    let close = scan::<false>(text, i, closer, &mut no_args(text), 0)?;
    Some((fd, close))
}

/// Reads a run of at most `max` decimal digits at `i`: (value, end); `None`
/// when there is no digit or more than `max` (for `max` up to 18 the value
/// cannot overflow).
#[inline]
pub(super) fn digits(text: &[u8], mut i: usize, max: usize) -> Option<(i64, usize)> {
    let start = i;
    let mut v: i64 = 0;
    while let Some(&b) = text.get(i) {
        if !b.is_ascii_digit() {
            break;
        }
        if i - start == max {
            return None;
        }
        v = v * 10 + i64::from(b - b'0');
        i += 1;
    }
    (i > start).then_some((v, i))
}

/// An empty [`Args`] for the scans that store nothing.
fn no_args(text: &[u8]) -> Args<'_> {
    Args {
        text,
        spans: [(0, 0); MAX_ARGS],
        decos: [(0, 0); MAX_ARGS],
        stored: 0,
        count: 0,
    }
}

/// A plain fd argument starting at `start` (`3`, `-1`, `3</x>` with
/// `(deleted)`) followed by its decoration, a comma or the closer: the value
/// [`Args::fd`] gives and where the scan goes on. `None` for every other
/// shape (a space, a comment, `0x..`, a name, an overflowing number).
#[inline(always)]
fn lead_fd(text: &[u8], start: usize, closer: u8) -> Option<(FdVal<'_>, usize)> {
    let neg = text.get(start) == Some(&b'-');
    let (v, mut i) = digits(text, start + usize::from(neg), 18)?;
    let mut fd = FdVal {
        fd: if neg { -v } else { v },
        deco: None,
        deleted: false,
    };
    match text.get(i) {
        Some(b'<') => {
            // The scan would skip this same decoration whole.
            let end = decoration_end(text, i)?;
            fd.deco = text.get(i + 1..end - 1);
            fd.deleted = text.get(end..).is_some_and(|r| r.starts_with(b"(deleted)"));
            i = end;
        }
        Some(b',') => {}
        Some(c) if *c == closer => {}
        // A space, a comment, `0x..`: let the full scan decide.
        _ => return None,
    }
    Some((fd, i))
}

/// The scanner of [`scan_list`]; with `KEEP` false it only finds the closer
/// (the argument spans and decorations are not recorded), or with `commas`
/// above 0 the unnested comma that ends argument `commas - 1` (or the
/// closer, if the list ends first).
#[inline(always)]
fn scan<const KEEP: bool>(
    text: &[u8],
    start: usize,
    closer: u8,
    args: &mut Args<'_>,
    commas: usize,
) -> Option<usize> {
    let mut seen = 0usize;
    let mut stack = [0u8; MAX_DEPTH];
    let mut depth = 0usize;
    let mut arg_start = start;
    let mut i = start;
    let len = text.len();
    // Spans are u32: refuse absurdly long lines rather than truncating offsets.
    if len > u32::MAX as usize {
        return None;
    }
    let push_arg = |args: &mut Args<'_>, s: usize, e: usize| {
        if args.stored < MAX_ARGS {
            args.spans[args.stored] = (s as u32, e as u32);
            args.stored += 1;
        }
        args.count += 1;
    };
    while i < len {
        let b = text[i];
        if !SPECIAL[b as usize] {
            i += 1;
            continue;
        }
        match b {
            b'"' => {
                i = skip_string(text, i + 1);
                continue;
            }
            b'<' => {
                // A decoration: skip it whole.
                match decoration_end(text, i) {
                    Some(e) => {
                        if KEEP
                            && let Some(d) = args.decos.get_mut(args.count)
                            && d.1 == 0
                        {
                            *d = (i as u32, e as u32);
                        }
                        i = e;
                        continue;
                    }
                    None => return None,
                }
            }
            b'\\' => i += 1,
            b'/' if text.get(i + 1) == Some(&b'*') => {
                match memchr::memmem::find(text.get(i + 2..).unwrap_or(&[]), b"*/") {
                    Some(k) => {
                        i = i + 2 + k + 2;
                        continue;
                    }
                    None => return None,
                }
            }
            b'(' | b'[' | b'{' => {
                if depth == MAX_DEPTH {
                    return None;
                }
                stack[depth] = b;
                depth += 1;
            }
            b')' | b']' | b'}' => {
                if depth == 0 {
                    if b == closer {
                        if KEEP && (args.count > 0 || !trim(&text[arg_start..i]).is_empty()) {
                            push_arg(args, arg_start, i);
                        }
                        return Some(i);
                    }
                } else if matches!(
                    (stack[depth - 1], b),
                    (b'(', b')') | (b'[', b']') | (b'{', b'}')
                ) {
                    depth -= 1;
                }
            }
            b',' if depth == 0 => {
                if KEEP {
                    push_arg(args, arg_start, i);
                    arg_start = i + 1;
                } else if commas > 0 {
                    seen += 1;
                    if seen == commas {
                        return Some(i);
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// A parsed fd value: `3`, `3</etc/hostname>`, `3</tmp/x>(deleted)`, `-1`,
/// `-100 /* AT_FDCWD */`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FdVal<'a> {
    pub fd: i64,
    /// Text inside the decoration's outer `<...>`.
    pub deco: Option<&'a [u8]>,
    pub deleted: bool,
}

/// Parses an fd argument or result. `None` if it does not start with an integer.
pub fn parse_fd(arg: &[u8]) -> Option<FdVal<'_>> {
    parse_fd_known(trim(arg), None)
}

/// [`parse_fd`] of a trimmed `arg` whose decoration, if `known`, has its `<`
/// at `known.0` and ends just before `known.1` (both indices in `arg`).
fn parse_fd_known(arg: &[u8], known: Option<(usize, usize)>) -> Option<FdVal<'_>> {
    let (neg, digits_at) = if arg.first() == Some(&b'-') {
        (true, 1)
    } else {
        (false, 0)
    };
    let mut i = digits_at;
    let mut v: i64 = 0;
    while let Some(b) = arg.get(i).filter(|b| b.is_ascii_digit()) {
        v = v.checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
        i += 1;
    }
    if i == digits_at {
        return None;
    }
    let fd = if neg { -v } else { v };
    let mut out = FdVal {
        fd,
        deco: None,
        deleted: false,
    };
    if arg.get(i) == Some(&b'<') {
        let end = match known {
            Some((lt, end)) if lt == i && end <= arg.len() => end,
            _ => decoration_end(arg, i)?,
        };
        out.deco = arg.get(i + 1..end - 1);
        out.deleted = arg.get(end..).is_some_and(|r| r.starts_with(b"(deleted)"));
    } else if arg.get(i).is_some_and(|b| b.is_ascii_alphanumeric()) {
        // `0x...` or garbage: not an fd.
        return None;
    }
    Some(out)
}

/// Parses an integer in the forms strace prints (decimal, `-1`, `0x..`, octal
/// `0...`), ignoring a trailing ` /* comment */`. `None` for names.
pub fn parse_int(text: &[u8]) -> Option<i64> {
    let t = trim(text);
    let t = match find_pair(t, b'/', b'*') {
        Some(k) => trim(t.get(..k)?),
        None => t,
    };
    let (neg, t) = match t.strip_prefix(b"-") {
        Some(r) => (true, r),
        None => (false, t),
    };
    let (radix, digits) = if let Some(h) = t.strip_prefix(b"0x") {
        (16, h)
    } else if t.len() > 1 && t.first() == Some(&b'0') {
        (8, t.get(1..)?)
    } else {
        (10, t)
    };
    if digits.is_empty() {
        return None;
    }
    let mut v: i64 = 0;
    for &b in digits {
        let d = (b as char).to_digit(radix)?;
        v = v.checked_mul(i64::from(radix))?.checked_add(i64::from(d))?;
    }
    Some(if neg { -v } else { v })
}

/// True when the flag set `arg` (`A|B|C`, a number, `0x... /* A|B */`, or a
/// mix) contains `name` or has `bit` set in a numeric part.
pub fn has_flag(arg: &[u8], name: &[u8], bit: u64) -> bool {
    let arg = trim(arg);
    let arg = match find_pair(arg, b'/', b'*') {
        Some(k) => arg.get(..k).unwrap_or(arg),
        None => arg,
    };
    arg.split(|&b| b == b'|').map(trim).any(|tok| {
        tok == name
            || (tok.first().is_some_and(u8::is_ascii_digit)
                && parse_int(tok).is_some_and(|v| bit != 0 && (v as u64) & bit != 0))
    })
}

/// The value of `flags=` inside a struct argument like `{flags=O_RDONLY|O_CLOEXEC, resolve=0}`.
pub fn struct_field<'a>(arg: &'a [u8], field: &[u8]) -> Option<&'a [u8]> {
    let inner = arg.strip_prefix(b"{")?;
    let (fields, _) = scan_list(inner, 0, b'}')?;
    fields.named(field)
}

/// What follows a call's closing `)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tail<'a> {
    pub ret: Ret<'a>,
    /// `ENAME` after the return value (also after `?` for ERESTART*).
    pub errno: Option<&'a [u8]>,
    /// A numeric errno (`-1 (errno 512)` style) when no name is printed.
    pub errno_num: Option<i64>,
    pub injected: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ret<'a> {
    /// `= N`, hex or decimal, with an optional decoration (`3</x>`, `8855<comm>`).
    Num(FdVal<'a>),
    /// `= ?`
    Unknown,
    /// No ` = ` at all.
    Missing,
}

/// Parses the tail after the call's closing parenthesis.
pub fn parse_tail(tail: &[u8]) -> Tail<'_> {
    match plain_tail(tail) {
        Some(plain) => plain,
        None => general_tail(tail),
    }
}

/// [`parse_tail`] for every shape.
fn general_tail(tail: &[u8]) -> Tail<'_> {
    let mut out = Tail {
        ret: Ret::Missing,
        errno: None,
        errno_num: None,
        injected: false,
    };
    let t = trim(tail);
    let Some(rest) = t.strip_prefix(b"=") else {
        return out;
    };
    let rest = trim(rest);
    let after;
    if let Some(r) = rest.strip_prefix(b"?") {
        out.ret = Ret::Unknown;
        after = r;
    } else {
        // Token up to the first space that is not inside a decoration.
        let mut end = 0;
        let mut first_deco = None;
        while let Some(&b) = rest.get(end) {
            if b == b' ' {
                break;
            }
            if b == b'<' {
                let lt = end;
                end = match decoration_end(rest, lt) {
                    Some(e) => {
                        first_deco.get_or_insert((lt, e));
                        e
                    }
                    None => rest.len(),
                };
                continue;
            }
            end += 1;
        }
        let mut tok = rest.get(..end).unwrap_or(&[]);
        if rest.get(end..).is_some_and(|r| r.starts_with(b"(deleted)")) {
            tok = rest.get(..end + 9).unwrap_or(tok);
            end += 9;
        }
        after = rest.get(end..).unwrap_or(&[]);
        out.ret = match parse_fd_known(tok, first_deco) {
            Some(v) => Ret::Num(v),
            None => match parse_int(tok) {
                Some(v) => Ret::Num(FdVal {
                    fd: v,
                    deco: None,
                    deleted: false,
                }),
                None => Ret::Missing,
            },
        };
    }
    let after = trim(after);
    if after.first() == Some(&b'E') {
        let n = after
            .iter()
            .take_while(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || **b == b'_')
            .count();
        out.errno = after.get(..n);
    } else if let Some(r) = after.strip_prefix(b"(errno ") {
        out.errno_num = parse_int(r.split(|&b| b == b')').next().unwrap_or(&[]));
    }
    out.injected = memchr::memchr_iter(b'(', after)
        .any(|k| after.get(k..).is_some_and(|r| r.starts_with(b"(INJECTED)")));
    out
}

/// The tail of most lines read without the general parse: ` = ` then a
/// decimal result, a decorated one (`3</etc/passwd>`) or a hex one (`0x7f..`,
/// mmap), then nothing or a `-T` duration (` <0.000010>`). The same answer
/// as [`general_tail`]'s, or `None` for every other shape (errors, `?`,
/// decoded results, `(deleted)`).
fn plain_tail(tail: &[u8]) -> Option<Tail<'_>> {
    let rest = tail.strip_prefix(b" = ")?;
    let mut ret = FdVal {
        fd: 0,
        deco: None,
        deleted: false,
    };
    let mut i = 0;
    if let Some(hex) = rest.strip_prefix(b"0x") {
        // At most 15 digits: no overflow, as `parse_int` would check.
        while let Some(d) = hex.get(i).and_then(|b| (*b as char).to_digit(16)) {
            if i == 15 {
                return None;
            }
            ret.fd = ret.fd * 16 + i64::from(d);
            i += 1;
        }
        if i == 0 {
            return None;
        }
        i += 2;
    } else {
        (ret.fd, i) = digits(rest, 0, 18)?;
        if rest.get(i) == Some(&b'<') {
            let end = decoration_end(rest, i)?;
            ret.deco = rest.get(i + 1..end - 1);
            i = end;
        }
    }
    if let Some(after) = rest.get(i..).filter(|a| !a.is_empty()) {
        // ` <digits.digits>` and nothing else: no errno, no `(INJECTED)`.
        let dur = after.strip_prefix(b" <")?.strip_suffix(b">")?;
        if dur.is_empty() || !dur.iter().all(|b| b.is_ascii_digit() || *b == b'.') {
            return None;
        }
    }
    Some(Tail {
        ret: Ret::Num(ret),
        errno: None,
        errno_num: None,
        injected: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `odd` then every line of every bundled strace trace.
    fn bundled_lines(odd: &[&[u8]]) -> Vec<Vec<u8>> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/strace");
        let mut lines: Vec<Vec<u8>> = odd.iter().map(|l| l.to_vec()).collect();
        let mut stack = vec![root];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "log") {
                    let bytes = std::fs::read(&path).unwrap();
                    lines.extend(bytes.split(|b| *b == b'\n').map(<[u8]>::to_vec));
                }
            }
        }
        lines
    }

    fn args_of(s: &str) -> (Vec<String>, usize) {
        let open = s.find('(').unwrap();
        let (a, close) = scan_list(s.as_bytes(), open + 1, b')').unwrap();
        (
            a.iter()
                .map(|x| String::from_utf8_lossy(x).into_owned())
                .collect(),
            close,
        )
    }

    #[test]
    fn strings_with_result_lookalikes() {
        let s = r#"openat(AT_FDCWD</tmp>, "/tmp/weird/a>b<c d\nq\"u\\z|)= 3", O_RDONLY) = 3</tmp/weird/a\76b\74c d\nq\"u\\z|)= 3>"#;
        let (a, close) = args_of(s);
        assert_eq!(a.len(), 3);
        assert_eq!(a[0], "AT_FDCWD</tmp>");
        assert_eq!(a[2], "O_RDONLY");
        assert_eq!(&s[close..close + 4], ") = ");
        let t = parse_tail(&s.as_bytes()[close + 1..]);
        let Ret::Num(v) = t.ret else { panic!() };
        assert_eq!(v.fd, 3);
        assert_eq!(v.deco.unwrap(), br#"/tmp/weird/a\76b\74c d\nq\"u\\z|)= 3"#);
    }

    #[test]
    fn socket_decorations_with_arrows() {
        let s = "accept4(19<TCP:[127.0.0.1:33845]>, {sa_family=AF_INET, sin_port=htons(59754)}, [16], SOCK_CLOEXEC|SOCK_NONBLOCK) = 25<TCP:[127.0.0.1:33845->127.0.0.1:59754]>";
        let (a, close) = args_of(s);
        assert_eq!(a.len(), 4);
        assert_eq!(a[3], "SOCK_CLOEXEC|SOCK_NONBLOCK");
        let t = parse_tail(&s.as_bytes()[close + 1..]);
        let Ret::Num(v) = t.ret else { panic!() };
        assert_eq!(v.fd, 25);
        assert_eq!(v.deco.unwrap(), b"TCP:[127.0.0.1:33845->127.0.0.1:59754]");
    }

    #[test]
    fn clone3_struct_and_arrow() {
        let s = "clone3({flags=CLONE_VM|CLONE_FILES, child_tid=0x7f, exit_signal=0} => {parent_tid=[11817]}, 88) = 11817";
        let (a, _) = args_of(s);
        assert_eq!(a.len(), 2);
        assert!(a[0].ends_with("{parent_tid=[11817]}"));
        assert_eq!(
            struct_field(a[0].as_bytes(), b"flags=").unwrap(),
            b"CLONE_VM|CLONE_FILES"
        );
    }

    #[test]
    fn comments_and_truncation() {
        let s =
            r#"execve("/bin/cat", ["/bin/cat", "/dev/null"], 0x7fff253d78a8 /* 2 vars, ) */) = 0"#;
        let (a, _) = args_of(s);
        assert_eq!(a.len(), 3);
        let s = r#"write(3, "AAAA"..., 200) = 200"#;
        assert_eq!(args_of(s).0, vec!["3", "\"AAAA\"...", "200"]);
        let s = "vfork() = 5";
        assert_eq!(args_of(s).0.len(), 0);
    }

    #[test]
    fn nested_dev_decoration_and_deleted() {
        let v = parse_fd(b"4</dev/null<char 1:3>>").unwrap();
        assert_eq!(v.deco.unwrap(), b"/dev/null<char 1:3>");
        let v = parse_fd(b"3</tmp/weird/tobedeleted>(deleted)").unwrap();
        assert!(v.deleted);
        assert_eq!(parse_fd(b"-1").unwrap().fd, -1);
        assert_eq!(parse_fd(b"AT_FDCWD</etc>"), None);
        assert_eq!(parse_fd(b"0x7ff"), None);
    }

    #[test]
    fn unclosed_call_is_none() {
        assert!(scan_list(b"read(3, ", 5, b')').is_none());
        assert!(scan_list(b"read(\"abc", 5, b')').is_none());
    }

    #[test]
    fn tails() {
        let t = parse_tail(b" = -1 EBADF (Bad file descriptor) <0.000005>");
        assert_eq!(
            t.ret,
            Ret::Num(FdVal {
                fd: -1,
                deco: None,
                deleted: false
            })
        );
        assert_eq!(t.errno.unwrap(), b"EBADF");
        let t = parse_tail(b"                      = ?");
        assert_eq!(t.ret, Ret::Unknown);
        let t = parse_tail(b" = ? ERESTARTSYS (To be restarted if SA_RESTART is set)");
        assert_eq!(t.errno.unwrap(), b"ERESTARTSYS");
        let t = parse_tail(b" = 0x8000 (flags O_RDONLY|O_LARGEFILE)");
        assert_eq!(
            t.ret,
            Ret::Num(FdVal {
                fd: 0x8000,
                deco: None,
                deleted: false
            })
        );
        let t = parse_tail(b" = -1 EBADF (Bad file descriptor) (INJECTED)");
        assert!(t.injected);
        let t = parse_tail(b" = 37</memfd:zoo-memfd>(deleted)");
        let Ret::Num(v) = t.ret else { panic!() };
        assert!(v.deleted);
        let t = parse_tail(b" = 8855<misc>");
        let Ret::Num(v) = t.ret else { panic!() };
        assert_eq!(v.fd, 8855);
    }

    #[test]
    fn flags() {
        assert!(has_flag(b"O_RDONLY|O_CLOEXEC", b"O_CLOEXEC", 0x80000));
        assert!(!has_flag(b"O_RDONLY", b"O_CLOEXEC", 0x80000));
        assert!(has_flag(b"0x80000", b"O_CLOEXEC", 0x80000));
        assert!(has_flag(b"02000000", b"O_CLOEXEC", 0x80000));
        assert!(has_flag(
            b"0x80001 /* O_WRONLY|O_CLOEXEC */",
            b"O_CLOEXEC",
            0x80000
        ));
        assert!(!has_flag(b"SOCK_CLOEXEC", b"O_CLOEXEC", 0x80000));
        assert_eq!(parse_int(b"4294967295"), Some(4_294_967_295));
        assert_eq!(parse_int(b"-100 /* AT_FDCWD */"), Some(-100));
    }

    /// The decoration ends kept by the scan give the same fds as parsing
    /// each argument alone, and the tail's reused end the same return value,
    /// on every line of every bundled trace and on odd shapes.
    #[test]
    fn kept_decoration_ends_read_as_a_fresh_parse() {
        let odd: [&[u8]; 6] = [
            b"f(  3</a b>  , 4<x<y>>(deleted), 5<TCP:[1->2]>, {fd=6</z>}, 7</q>x) = 8</r> <0.1>",
            b"f(3<\"<>\">, 0x5<a>, -1<z>, 3</x\\>) = 3<a<b>>(deleted) <0.2>",
            b"f(1, 2, 3, 4, 5, 6, 7, 8, 9</nine>) = 9</r",
            b"f(3</a>) = 3</b>x",
            b"f(3</a\"b>\">) = 0",
            b"f( 12</p>) = -1 EBADF (Bad file descriptor)",
        ];
        let lines = bundled_lines(&odd);
        let mut decorated = 0usize;
        for line in &lines {
            let Some(open) = memchr::memchr(b'(', line) else {
                continue;
            };
            let Some((args, close)) = scan_list(line, open + 1, b')') else {
                continue;
            };
            for i in 0..MAX_ARGS {
                let fresh = args.get(i).and_then(parse_fd);
                decorated += usize::from(fresh.is_some_and(|v| v.deco.is_some()));
                assert_eq!(args.fd(i), fresh, "{}", String::from_utf8_lossy(line));
            }
            let tail = &line[close + 1..];
            let t = parse_tail(tail);
            if let Ret::Num(v) = t.ret {
                let rest = trim(trim(tail).strip_prefix(b"=").unwrap_or(&[]));
                let tok = rest.split(|b| *b == b' ').next().unwrap_or(&[]);
                if let Some(fresh) = parse_fd(tok).filter(|f| !f.deleted) {
                    assert_eq!(v, fresh, "{}", String::from_utf8_lossy(line));
                }
            }
        }
        assert!(decorated > 10_000, "{decorated}");
    }

    /// Where [`first_fd_and_close`] answers, it answers what the full scan
    /// does (the first argument as an fd, the closer), on every line of every
    /// bundled trace, every cut of those lines and odd shapes; and it answers
    /// on most call lines.
    #[test]
    fn first_fd_and_close_agrees_with_the_full_scan() {
        let odd: [&[u8]; 14] = [
            b"read(3</a b>, \"x) = 1\", 5) = 5 <0.1>",
            b"close(3</x>(deleted)) = 0",
            b"read(3<TCP:[1->2]>, \"\\\"\", 1) = 1",
            b"write(-1, \"(\", 1) = -1 EBADF (Bad file descriptor)",
            b"write(1, \"\\\"\", 1\") = 1",
            b"read(3, \"x\", 1(",
            b"read(3</a, 1) = 1",
            b"read(3 /* x */, 1) = 1",
            b"read(0x3, 1) = 1",
            b"read(99999999999999999999, 1) = 1",
            b"close(3)",
            b"close(3) = 0 /* ) = */",
            b"read(3</a>junk, \"\", 0) = 0",
            b"write(3<\"<>\">, {x=(1, [2]}, 0) = 0",
        ];
        let lines = bundled_lines(&odd);
        let mut plain = 0usize;
        for line in &lines {
            // Every `)` of the line: real tails and lookalikes inside strings.
            for k in memchr::memchr_iter(b')', line) {
                let tail = &line[k + 1..];
                if let Some(fast) = plain_tail(tail) {
                    plain += 1;
                    assert_eq!(
                        Some(fast),
                        Some(general_tail(tail)),
                        "{}",
                        String::from_utf8_lossy(tail)
                    );
                }
            }
        }
        assert!(plain > 50_000, "{plain}");
        for (odd_tail, fd, deco) in [
            (&b" = 0x7f12 <0.000010>"[..], 0x7f12, None),
            (b" = 3</a b> <0.1>", 3, Some(&b"/a b"[..])),
            (b" = 4<TCP:[1->2]>", 4, Some(b"TCP:[1->2]")),
        ] {
            let want = Ret::Num(FdVal {
                fd,
                deco,
                deleted: false,
            });
            assert_eq!(plain_tail(odd_tail).map(|t| t.ret), Some(want));
            assert_eq!(general_tail(odd_tail).ret, want);
        }
        for odd_tail in [
            &b" = 5 <0.1> (INJECTED)"[..],
            b" = 5 (INJECTED)",
            b" = 5 <>",
            b" = 5<0.1",
            b" = 05x",
            b" = 0x",
            b" = 0x10000000000000000",
            b" = 3</x>(deleted) <0.1>",
            b" = 3</x>junk",
            b" = -1 EBADF (Bad file descriptor)",
        ] {
            assert_eq!(
                plain_tail(odd_tail),
                None,
                "{}",
                String::from_utf8_lossy(odd_tail)
            );
        }
        let (mut answered, mut calls) = (0usize, 0usize);
        for line in &lines {
            let Some(open) = memchr::memchr(b'(', line) else {
                continue;
            };
            let cuts = [line.len(), line.len() / 2, open + 2, open + 3];
            for &cut in &cuts {
                let text = &line[..cut.min(line.len())];
                let full = scan_list(text, open + 1, b')').map(|(args, close)| (args.fd(0), close));
                calls += usize::from(cut == line.len() && full.is_some());
                let Some((fd, close)) = first_fd_and_close(text, open + 1, b')') else {
                    continue;
                };
                answered += usize::from(cut == line.len());
                assert_eq!(
                    full,
                    Some((Some(fd), close)),
                    "{}",
                    String::from_utf8_lossy(text)
                );
            }
        }
        // Lines whose first argument is no plain fd (`AT_FDCWD`, `NULL`) are
        // left to the full scan; the rest are answered.
        assert!(
            answered > 30_000 && answered * 10 > calls,
            "{answered} of {calls}"
        );
        let close_of = |l: &[u8]| first_fd_and_close(l, 5, b')').map(|(fd, c)| (fd.fd, c));
        assert_eq!(close_of(odd[0]), Some((3, 25)));
        assert_eq!(close_of(odd[2]), Some((3, 27)));
        assert_eq!(close_of(b"read(3</a, 1) = 1"), None);
    }

    /// Where [`nth_fd_and_close`] answers, it answers what the full scan
    /// does (argument `n` as an fd, the closer), for every `n` up to 7, on
    /// every line of every bundled trace, cuts of them and odd shapes; and it
    /// answers on most `mmap` lines.
    #[test]
    fn nth_fd_and_close_agrees_with_the_full_scan() {
        let odd: [&[u8]; 12] = [
            b"mmap(NULL, 8192, PROT_READ, MAP_PRIVATE, 3</a b>, 0) = 0x7f <0.1>",
            b"mmap(NULL, 8192, PROT_READ, MAP_PRIVATE,   -1, 0) = 0x7f",
            b"mmap(NULL, 8192, PROT_READ, MAP_PRIVATE, 3 , 0) = 0x7f",
            b"mmap(NULL, 8192, PROT_READ, MAP_PRIVATE, 3</x>(deleted), 0) = 0x7f",
            b"mmap(NULL, 8192, PROT_READ, MAP_PRIVATE, 3 /* x */, 0) = 0x7f",
            b"mmap(NULL, 8192, PROT_READ, MAP_PRIVATE, 0x3, 0) = 0x7f",
            b"mmap(NULL, 8192, PROT_READ, MAP_PRIVATE, 3</a, 0) = 0x7f",
            b"mmap(NULL, 8192, PROT_READ, MAP_PRIVATE, 3<TCP:[1->2]>) = 0x7f",
            b"mmap(\"a,b\", {x=1, y=2}, [3, 4], (5, 6), 7, 8) = 0",
            b"mmap(NULL, 8192) = 0x7f",
            b"mmap(1, 2, 3, 4, 5</q>junk) = 0",
            b"unlinkat(AT_FDCWD</x>, \"a\", 0) = 0",
        ];
        let lines = bundled_lines(&odd);
        let (mut answered, mut mmaps) = (0usize, 0usize);
        for line in &lines {
            let Some(open) = memchr::memchr(b'(', line) else {
                continue;
            };
            let is_mmap = line[..open].ends_with(b"mmap");
            let cuts = [line.len(), line.len() / 2, open + 2, open + 3];
            for &cut in &cuts {
                let text = &line[..cut.min(line.len())];
                let full = scan_list(text, open + 1, b')');
                for n in 0..MAX_ARGS {
                    let want = full.map(|(args, close)| (args.fd(n), close));
                    let whole = cut == line.len() && n == 4 && is_mmap;
                    mmaps += usize::from(whole && full.is_some());
                    let Some((fd, close)) = nth_fd_and_close(text, open + 1, b')', n) else {
                        continue;
                    };
                    answered += usize::from(whole);
                    assert_eq!(
                        want,
                        Some((Some(fd), close)),
                        "{n}: {}",
                        String::from_utf8_lossy(text)
                    );
                }
            }
        }
        assert!(
            answered > 1_000 && answered * 10 > mmaps * 9,
            "{answered} of {mmaps}"
        );
        let nth = |l: &[u8], n| nth_fd_and_close(l, 5, b')', n).map(|(fd, c)| (fd.fd, c));
        assert_eq!(nth(odd[0], 4), Some((3, 51)));
        assert_eq!(nth(odd[1], 4), Some((-1, 48)));
        assert_eq!(nth(odd[8], 4), Some((7, 44)));
        assert_eq!(nth(odd[9], 4), None);
        assert_eq!(nth(odd[2], 4), None);
    }
}
