//! `name: value` arguments and `= result` tails of `perf trace` lines.
//!
//! perf prints an argument only when its value is not 0 (`close()` is `close(0)`,
//! `read(buf: 0x..., count: 1)` reads fd 0), so positions come from the syscall's
//! parameter list ([`super::params`]), not from the order on the line. Values are
//! numbers (`4`, `-1`, `0x11`), flag sets (`RDONLY|CLOEXEC`, `FILES|0x11`), `CWD`,
//! pointers for every string and struct, and fds decorated with a path cached by
//! number (`4</etc/hostname>`): the decoration goes stale when the number is reused,
//! so it is dropped and never used as identity.

use super::line::trim;

/// The arguments of one call, by parameter position.
pub struct Args<'a> {
    /// (position in the parameter list, or `None` for a name not in it; value text).
    items: Vec<(Option<usize>, &'a [u8])>,
}

impl<'a> Args<'a> {
    /// Splits `text` on `, NAME: ` boundaries where NAME is one of `params` (or any
    /// identifier when the call's parameters are unknown).
    pub fn parse(text: &'a [u8], params: &[&str]) -> Args<'a> {
        let mut items = Vec::new();
        let mut at = 0usize;
        while at < text.len() {
            let rest = text.get(at..).unwrap_or(&[]);
            let Some(colon) = memchr::memmem::find(rest, b": ") else {
                break;
            };
            let name = rest.get(..colon).unwrap_or(&[]);
            let value_start = at + colon + 2;
            let pos = params.iter().position(|p| p.as_bytes() == name);
            let end = next_boundary(text, value_start, params, pos).unwrap_or(text.len());
            let value = trim(text.get(value_start..end).unwrap_or(&[]));
            items.push((pos, value));
            at = end + 2;
        }
        Args { items }
    }

    /// The value of parameter `pos`, `None` when perf left it out (the value is 0).
    pub fn get(&self, pos: usize) -> Option<&'a [u8]> {
        self.items
            .iter()
            .find(|(p, _)| *p == Some(pos))
            .map(|(_, v)| *v)
    }
}

/// Where the value of parameter `current` starting at `from` ends: at the `, NAME: `
/// of the nearest parameter after `current` in the list (perf prints them in order),
/// so that a decoration holding `, count: ` does not end the value early.
fn next_boundary(
    text: &[u8],
    from: usize,
    params: &[&str],
    current: Option<usize>,
) -> Option<usize> {
    let mut at = from;
    let mut best: Option<(usize, usize)> = None;
    while let Some(k) = text.get(at..).and_then(|t| memchr::memmem::find(t, b", ")) {
        let k = at + k;
        at = k + 2;
        let after = text.get(k + 2..).unwrap_or(&[]);
        let n = after
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
            .count();
        if n == 0 || !after.get(n..).is_some_and(|r| r.starts_with(b": ")) {
            continue;
        }
        let name = &after[..n];
        let Some(cur) = current else {
            if params.is_empty() || params.iter().any(|p| p.as_bytes() == name) {
                return Some(k);
            }
            continue;
        };
        let Some(idx) = params.iter().position(|p| p.as_bytes() == name) else {
            continue;
        };
        if idx > cur && best.is_none_or(|(b, _)| idx < b) {
            best = Some((idx, k));
            if idx == cur + 1 {
                break;
            }
        }
    }
    best.map(|(_, k)| k)
}

/// A number at the start of `v`: decimal (signed) or `0x` hex; a decoration
/// (`4</path>`) or a comm (`15056 (ls)`) after it is ignored.
pub fn int(v: &[u8]) -> Option<i64> {
    let v = trim(v);
    if let Some(hex) = v.strip_prefix(b"0x") {
        let n = hex.iter().take_while(|b| b.is_ascii_hexdigit()).count();
        if n == 0 || n > 16 || !ends_number(hex.get(n..)) {
            return None;
        }
        let s = std::str::from_utf8(hex.get(..n)?).ok()?;
        return u64::from_str_radix(s, 16).ok().map(|x| x as i64);
    }
    let (neg, digits) = match v.strip_prefix(b"-") {
        Some(d) => (true, d),
        None => (false, v),
    };
    let n = digits.iter().take_while(|b| b.is_ascii_digit()).count();
    if n == 0 || n > 19 || !ends_number(digits.get(n..)) {
        return None;
    }
    let x: i64 = std::str::from_utf8(digits.get(..n)?).ok()?.parse().ok()?;
    Some(if neg { -x } else { x })
}

fn ends_number(rest: Option<&[u8]>) -> bool {
    match rest {
        None => true,
        Some(r) => r.is_empty() || r.starts_with(b"<") || r.starts_with(b" "),
    }
}

/// An fd argument: a number, `CWD` (AT_FDCWD) or nothing usable.
pub fn fd(v: &[u8]) -> Option<i64> {
    if trim(v) == b"CWD" {
        return Some(-100);
    }
    int(v).map(|x| {
        // perf prints `int` fd arguments of 64-bit slots as the low 32 bits, signed.
        i64::from(x as i32)
    })
}

/// True when a flag set names `name` (as a token, or as the last part of one:
/// `CLOEXEC` matches `O_CLOEXEC`) or has bit `bit` in a numeric token.
pub fn has_flag(v: &[u8], name: &str, bit: u64) -> bool {
    let name = name.as_bytes();
    trim(v).split(|b| *b == b'|').any(|tok| {
        let tok = trim(tok);
        if tok.is_empty() {
            return false;
        }
        // perf's short name of a constant: `CLOEXEC` for `O_CLOEXEC`, `FILES` for `CLONE_FILES`.
        let short = name.len() > tok.len()
            && name.ends_with(tok)
            && name.get(name.len() - tok.len() - 1) == Some(&b'_');
        tok == name || short || int(tok).is_some_and(|n| (n as u64) & bit != 0)
    })
}

/// The result of a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ret<'a> {
    Num(i64),
    /// `-1 ENAME (text)`: the error name.
    Err(&'a [u8]),
    /// `?`, empty, or not a number.
    Unknown,
}

pub fn ret(text: &[u8]) -> Ret<'_> {
    let t = trim(text);
    if let Some(rest) = t.strip_prefix(b"-1 ") {
        let n = rest
            .iter()
            .take_while(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || **b == b'_')
            .count();
        if n > 0 {
            return Ret::Err(&rest[..n]);
        }
    }
    match int(t) {
        Some(n) => Ret::Num(n),
        None => Ret::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_by_name_and_omitted_zeros() {
        let p = ["dfd", "filename", "flags", "mode"];
        let a = Args::parse(b"dfd: CWD, filename: 0x20b80970", &p);
        assert_eq!(a.get(0).and_then(fd), Some(-100));
        assert_eq!(a.get(2), None);
        let p = ["fd", "buf", "count"];
        let a = Args::parse(b"buf: 0x55b3da3c6120, count: 1", &p);
        assert_eq!(a.get(0), None, "read(0) prints no fd");
        let a = Args::parse(b"fd: 4</a, count: b>, buf: 0x1, count: 7", &p);
        assert_eq!(a.get(1), Some(&b"0x1"[..]));
        assert_eq!(a.get(0).and_then(fd), Some(4));
        assert_eq!(a.get(2), Some(&b"7"[..]));
        let p = ["clone_flags", "newsp"];
        let a = Args::parse(b"clone_flags: FILES|0x11, newsp: 0x55b3da3d6110", &p);
        assert!(has_flag(a.get(0).unwrap(), "CLONE_FILES", 0x400));
        assert!(!has_flag(a.get(0).unwrap(), "CLONE_THREAD", 0x10000));
        let p = ["dfd", "filename", "flags", "mask", "buffer"];
        let a = Args::parse(
            b"dfd: CWD, filename: 0xf32b89f0, flags: , mask: , buffer: 0x7ffd",
            &p,
        );
        assert_eq!(a.get(2), Some(&b""[..]));
        assert_eq!(a.get(4), Some(&b"0x7ffd"[..]));
    }

    #[test]
    fn flags() {
        assert!(has_flag(b"RDONLY|CLOEXEC", "O_CLOEXEC", 0x80000));
        assert!(has_flag(b"STREAM|CLOEXEC", "SOCK_CLOEXEC", 0x80000));
        assert!(has_flag(b"524288", "EFD_CLOEXEC", 0x80000));
        assert!(has_flag(b"1", "MFD_CLOEXEC", 1));
        assert!(!has_flag(b"RDONLY|DIRECTORY", "O_CLOEXEC", 0x80000));
        assert!(has_flag(b"RDONLY|DIRECTORY", "O_DIRECTORY", 0x10000));
        assert!(
            !has_flag(b"EXEC", "O_CLOEXEC", 0x80000),
            "a token is not a suffix of a word"
        );
        assert!(has_flag(b"O_CLOEXEC", "O_CLOEXEC", 0x80000));
        assert!(has_flag(b"0x80000", "O_CLOEXEC", 0x80000));
    }

    #[test]
    fn numbers_and_results() {
        assert_eq!(int(b"15056 (ls)"), Some(15056));
        assert_eq!(int(b"11</tmp/x>"), Some(11));
        assert_eq!(int(b"0x7fddb205d000"), Some(0x7fdd_b205_d000));
        assert_eq!(int(b"RDONLY"), None);
        assert_eq!(int(b"12abc"), None);
        assert_eq!(fd(b"-1294967296"), Some(i64::from(-1_294_967_296i32)));
        assert_eq!(ret(b"-1 EBADF (Bad file descriptor)"), Ret::Err(b"EBADF"));
        assert_eq!(ret(b"4"), Ret::Num(4));
        assert_eq!(ret(b"?"), Ret::Unknown);
        assert_eq!(ret(b""), Ret::Unknown);
        assert_eq!(ret(b"18060 (t)"), Ret::Num(18060));
    }
}
