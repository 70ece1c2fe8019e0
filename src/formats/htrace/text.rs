//! Small text helpers shared by the debugger-text readers (htrace, appverif, mda):
//! line iteration with offsets, hex numbers, frame normalisation, prompts.

/// Lines of a text input: (1-based line number, byte offset of the line start,
/// line without its `\n` and trailing `\r`).
pub(crate) struct Lines<'a> {
    bytes: &'a [u8],
    pos: usize,
    line_no: u32,
}

impl<'a> Lines<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Lines<'a> {
        Lines {
            bytes,
            pos: 0,
            line_no: 0,
        }
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = (u32, usize, &'a [u8]);
    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.bytes.get(self.pos..)?;
        if rest.is_empty() {
            return None;
        }
        let start = self.pos;
        let (line, advance) = match memchr::memchr(b'\n', rest) {
            Some(i) => (rest.get(..i).unwrap_or(rest), i + 1),
            None => (rest, rest.len()),
        };
        self.pos = start + advance;
        self.line_no = self.line_no.saturating_add(1);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        Some((self.line_no, start, unquote(line)))
    }
}

/// Debugger text pasted as a Markdown quote (`> 0:000> !htrace`, `> > Handle = ...`,
/// `>` alone for a blank line): the line without the quote markers. Debugger
/// output itself never starts a line with `>`.
pub(crate) fn unquote(line: &[u8]) -> &[u8] {
    let mut rest = line;
    loop {
        let indent = rest.iter().take(3).take_while(|b| **b == b' ').count();
        match rest.get(indent..).and_then(|r| r.strip_prefix(b">")) {
            Some(r) => rest = r.strip_prefix(b" ").unwrap_or(r),
            None => return rest,
        }
    }
}

/// Skips a UTF-8 byte order mark; returns the rest and how many bytes were skipped.
pub(crate) fn strip_bom(bytes: &[u8]) -> (&[u8], usize) {
    match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => (rest, 3),
        None => (bytes, 0),
    }
}

/// True for UTF-16 text (BOM), which the text readers do not decode.
pub(crate) fn is_utf16(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF")
}

pub(crate) fn trim(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if first.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = s {
        if last.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    s
}

pub(crate) fn trim_start(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if first.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    s
}

/// Parses 1..=16 hex digits (leading zeros beyond 16 digits are allowed).
pub(crate) fn parse_hex(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    let mut value: u64 = 0;
    for &b in digits {
        let d = (b as char).to_digit(16)?;
        value = value.checked_mul(16)?.checked_add(u64::from(d))?;
    }
    Some(value)
}

/// Splits a leading run of hex digits off `s`.
pub(crate) fn take_hex(s: &[u8]) -> (&[u8], &[u8]) {
    let n = s.iter().take_while(|b| b.is_ascii_hexdigit()).count();
    s.split_at(n)
}

/// `0x` + hex digits at the start of `s` (case-insensitive prefix): value and rest.
pub(crate) fn take_0x(s: &[u8]) -> Option<(u64, &[u8])> {
    let rest = s.strip_prefix(b"0x").or_else(|| s.strip_prefix(b"0X"))?;
    let (digits, rest) = take_hex(rest);
    Some((parse_hex(digits)?, rest))
}

/// Finds `needle` in `hay`.
///
/// Lines are short and the needles fixed words: building a `memmem` finder
/// for every call cost more than the search (a third of the time of reading
/// hundreds of small files). This jumps with `memchr` to the needle's first
/// byte that is not a space or a digit, then compares: linear in the line
/// for a needle of fixed length.
pub(crate) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let k = needle
        .iter()
        .position(|b| !b.is_ascii_whitespace() && !b.is_ascii_digit())
        .unwrap_or(0);
    let Some(&pivot) = needle.get(k) else {
        return Some(0);
    };
    let mut from = k;
    while let Some(i) = hay.get(from..).and_then(|h| memchr::memchr(pivot, h)) {
        let at = from + i - k;
        if hay.get(at..).is_some_and(|h| h.starts_with(needle)) {
            return Some(at);
        }
        from += i + 1;
    }
    None
}

#[cfg(test)]
mod find_tests {
    use super::find;

    #[test]
    fn finds_like_memmem() {
        let cases: [(&[u8], &[u8]); 9] = [
            (b"Handle = 0x1 - OPEN", b" - OPEN"),
            (b"code c0000008", b"0000008"),
            (b"00000000008", b"0000008"),
            (b"abc", b""),
            (b"", b"x"),
            (b" - OPE", b" - OPEN"),
            (b"  - OPEN - OPEN", b" - OPEN"),
            (b"0008", b"0000008"),
            (b"x 0000008", b"0000008"),
        ];
        for (hay, needle) in cases {
            assert_eq!(
                find(hay, needle),
                memchr::memmem::find(hay, needle),
                "{hay:?} {needle:?}"
            );
        }
        // Small alphabets, so that partial matches are everywhere.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let alphabet = b" 08-x";
        for _ in 0..20_000 {
            let hay: Vec<u8> = (0..next(24)).map(|_| alphabet[next(5)]).collect();
            let needle: Vec<u8> = (0..next(6)).map(|_| alphabet[next(5)]).collect();
            assert_eq!(
                find(&hay, &needle),
                memchr::memmem::find(&hay, &needle),
                "{hay:?} {needle:?}"
            );
        }
    }
}

/// Writes a normalised frame `module!symbol+0xoff` into `out` (cleared first).
/// `symbol` is everything before the offset (may be empty for `module!+ADDR`
/// or unresolved frames); the offset is written without zero padding.
pub(crate) fn write_frame(out: &mut String, symbol: &[u8], offset: Option<u64>) {
    use std::fmt::Write;
    out.clear();
    out.push_str(&String::from_utf8_lossy(symbol));
    if let Some(off) = offset {
        let _ = write!(out, "+0x{off:x}");
    }
}

/// Splits `sym+0xOFF` / `sym + 0xOFF` / `sym+OFF` (`hex_without_0x`) into the
/// symbol and offset. Returns `(whole, None)` when there is no offset.
pub(crate) fn split_offset(s: &[u8], hex_without_0x: bool) -> (&[u8], Option<u64>) {
    let s = trim(s);
    if let Some(plus) = memchr::memrchr(b'+', s) {
        let after = trim_start(s.get(plus + 1..).unwrap_or(b""));
        let digits = match after
            .strip_prefix(b"0x")
            .or_else(|| after.strip_prefix(b"0X"))
        {
            Some(d) => Some(d),
            None if hex_without_0x => Some(after),
            None => None,
        };
        if let Some(d) = digits {
            let d = trim(d);
            if !d.is_empty()
                && d.iter().all(u8::is_ascii_hexdigit)
                && let Some(v) = parse_hex(d)
            {
                return (trim(s.get(..plus).unwrap_or(b"")), Some(v));
            }
        }
    }
    (s, None)
}

/// Cuts what a person appended after a frame's offset (`+0x186   <---- SECOND
/// CLOSE`, `+0x53 ! the suspect`), as pasted in docs and issues.
pub(crate) fn without_annotation(body: &[u8]) -> &[u8] {
    let Some(at) = memchr::memmem::rfind(body, b"+0x") else {
        return body;
    };
    let digits = body
        .get(at + 3..)
        .unwrap_or(b"")
        .iter()
        .take_while(|b| b.is_ascii_hexdigit())
        .count();
    let end = at + 3 + digits;
    match body.get(end..) {
        Some(rest)
            if digits > 0
                && rest
                    .first()
                    .is_some_and(|b| !b.is_ascii_alphanumeric() && *b != b'_') =>
        {
            body.get(..end).unwrap_or(body)
        }
        _ => body,
    }
}

/// The module and function of a normalised frame (`ntdll!NtClose+0xc` →
/// `("ntdll", "NtClose")`); `None` for unresolved frames.
pub(crate) fn frame_parts(frame: &str) -> Option<(&str, &str)> {
    let (module, rest) = frame.split_once('!')?;
    let func = match rest.rfind("+0x") {
        Some(i) => rest.get(..i).unwrap_or(rest),
        None => rest,
    };
    if func.is_empty() {
        return None;
    }
    Some((module, func))
}

/// A debugger prompt (`0:000> cmd`, `0:000:x86> cmd`, `kd> cmd`, `1: kd> cmd`):
/// returns the command text.
pub(crate) fn prompt_command(line: &[u8]) -> Option<&[u8]> {
    // Blogs indent pasted sessions (Markdown code blocks): leading blanks are not part of it.
    let line = trim_start(line);
    let gt = memchr::memchr(b'>', line)?;
    let prefix = line.get(..gt)?;
    let rest = line.get(gt + 1..)?;
    let ok = if prefix == b"kd" || prefix == b"lkd" {
        true
    } else if let Some(p) = prefix.strip_suffix(b": kd") {
        !p.is_empty() && p.iter().all(u8::is_ascii_digit)
    } else {
        // digits ':' digits [':' word]
        let mut parts = prefix.split(|&b| b == b':');
        let a = parts.next().unwrap_or(b"");
        let b = parts.next().unwrap_or(b"");
        let c = parts.next();
        !a.is_empty()
            && a.iter().all(u8::is_ascii_digit)
            && !b.is_empty()
            && b.iter().all(u8::is_ascii_digit)
            && c.is_none_or(|w| !w.is_empty() && w.iter().all(|x| x.is_ascii_alphanumeric()))
            && parts.next().is_none()
    };
    ok.then(|| trim(rest))
}

/// A debugger event line `(pid.tid): ...` (hex ids): returns (pid, tid).
pub(crate) fn event_ids(line: &[u8]) -> Option<(u32, u32)> {
    let rest = line.strip_prefix(b"(")?;
    let (pid, rest) = take_hex(rest);
    let rest = rest.strip_prefix(b".")?;
    let (tid, rest) = take_hex(rest);
    rest.strip_prefix(b"):")?;
    let pid = u32::try_from(parse_hex(pid)?).ok()?;
    let tid = u32::try_from(parse_hex(tid)?).ok()?;
    Some((pid, tid))
}

/// True when a line looks like strace output (`name(args) = ret`, with the
/// optional `[pid N]`/`N` prefix and timestamp). Used by sniffers to refuse
/// strace text that happens to quote a Windows message.
pub(crate) fn looks_like_strace(line: &[u8]) -> bool {
    let mut s = trim_start(line);
    if let Some(rest) = s.strip_prefix(b"[pid") {
        match memchr::memchr(b']', rest) {
            Some(i) => s = trim_start(rest.get(i + 1..).unwrap_or(b"")),
            None => return false,
        }
    }
    // Leading numeric tokens (pid, timestamps like 12:00:01.123 or 1700000000.1).
    loop {
        let n = s
            .iter()
            .take_while(|b| b.is_ascii_digit() || **b == b':' || **b == b'.')
            .count();
        if n > 0 && s.get(n).is_some_and(|b| *b == b' ') {
            s = trim_start(s.get(n..).unwrap_or(b""));
        } else {
            break;
        }
    }
    let name = s
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
        .count();
    if name == 0 || s.get(name) != Some(&b'(') {
        return false;
    }
    find(s, b") = ").is_some()
        || find(s, b"<unfinished ...>").is_some()
        || find(s, b"resumed>").is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts() {
        assert_eq!(
            prompt_command(b"0:000> !htrace -diff"),
            Some(&b"!htrace -diff"[..])
        );
        assert_eq!(prompt_command(b"0:000:x86> k"), Some(&b"k"[..]));
        assert_eq!(
            prompt_command(b"kd> !htrace  7DC"),
            Some(&b"!htrace  7DC"[..])
        );
        assert_eq!(prompt_command(b"1: kd> g"), Some(&b"g"[..]));
        assert_eq!(prompt_command(b"    0:000> k"), Some(&b"k"[..]));
        assert_eq!(prompt_command(b"a -> b"), None);
        assert_eq!(prompt_command(b"<avrf:x>"), None);
    }

    #[test]
    fn markdown_quotes() {
        assert_eq!(unquote(b"> 0:000> !htrace b08"), b"0:000> !htrace b08");
        assert_eq!(unquote(b"> > Handle = 0x1 - OPEN"), b"Handle = 0x1 - OPEN");
        assert_eq!(unquote(b">"), b"");
        assert_eq!(unquote(b"0:000> k"), b"0:000> k");
        assert_eq!(unquote(b">0x1: a!b+0x2"), b"0x1: a!b+0x2");
    }

    #[test]
    fn offsets() {
        assert_eq!(
            split_offset(b"ntdll!NtClose+0x0000000c", false),
            (&b"ntdll!NtClose"[..], Some(12))
        );
        assert_eq!(
            split_offset(b"ntdll!X + 0x0000000c", false),
            (&b"ntdll!X"[..], Some(12))
        );
        assert_eq!(
            split_offset(b"KERNELBASE!GetHandleInformation+40", true),
            (&b"KERNELBASE!GetHandleInformation"[..], Some(0x40))
        );
        assert_eq!(
            split_offset(b"vfbasics!AVrfpNtCreateFile", false),
            (&b"vfbasics!AVrfpNtCreateFile"[..], None)
        );
        assert_eq!(frame_parts("a!b+0x1"), Some(("a", "b")));
        assert_eq!(
            without_annotation(b"GDI32!GdiPlayPageEMF+0x00000186      <------ SECOND CLOSE"),
            b"GDI32!GdiPlayPageEMF+0x00000186"
        );
        assert_eq!(
            without_annotation(b"Test!UseUnknown+0x53!The suspect routine"),
            b"Test!UseUnknown+0x53"
        );
        assert_eq!(
            without_annotation(b"a!b(Int32, x)+0x10d"),
            b"a!b(Int32, x)+0x10d"
        );
        assert_eq!(frame_parts("+0x1"), None);
    }

    #[test]
    fn strace_lines() {
        assert!(looks_like_strace(b"close(3) = 0"));
        assert!(looks_like_strace(
            b"[pid  123] 12:00:00.123 read(3, \"x\", 1) = 1"
        ));
        assert!(looks_like_strace(
            b"123 openat(AT_FDCWD, \"/x\", O_RDONLY <unfinished ...>"
        ));
        assert!(!looks_like_strace(b"Handle = 0x0000003c - OPEN"));
        assert!(!looks_like_strace(
            b"0x77ca310c: ntdll!ZwDuplicateObject+0x0000000c"
        ));
    }
}
