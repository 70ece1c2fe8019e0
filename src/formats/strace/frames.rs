//! `-k` stack frame lines (` > module(symbol+0xoff) [0xaddr]`).

/// Writes the frame text of a ` > ` line into `out`: the text after ` > `
/// with the module's directory removed (`/usr/lib/x86_64-linux-gnu/libc.so.6(__close+0x10) [0xf89f0]`
/// → `libc.so.6(__close+0x10) [0xf89f0]`). Returns false for an empty frame.
pub fn normalize(line: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    let text = line.strip_prefix(b" > ").unwrap_or(line);
    let text = super::tokenize::trim(text);
    if text.is_empty() {
        return false;
    }
    // The module ends at its `(symbol...)` or at ` [0x...]`.
    let paren = memchr::memchr(b'(', text);
    let bracket = memchr::memmem::find(text, b" [");
    let module_end = match (paren, bracket) {
        (Some(p), Some(b)) => p.min(b),
        (Some(p), None) => p,
        (None, Some(b)) => b,
        (None, None) => text.len(),
    };
    let module = text.get(..module_end).unwrap_or(text);
    let base = match memchr::memrchr(b'/', module) {
        Some(k) => k + 1,
        None => 0,
    };
    out.extend_from_slice(text.get(base..).unwrap_or(text));
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> String {
        let mut out = Vec::new();
        normalize(s.as_bytes(), &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn strips_module_directory() {
        assert_eq!(
            n(" > /usr/lib/x86_64-linux-gnu/libc.so.6(__close+0x10) [0xf89f0]"),
            "libc.so.6(__close+0x10) [0xf89f0]"
        );
        assert_eq!(
            n(" > lab/fdzoo(main+0x7a6) [0x2b5f]"),
            "fdzoo(main+0x7a6) [0x2b5f]"
        );
        assert_eq!(n(" > /usr/bin/cat() [0x3705]"), "cat() [0x3705]");
        assert_eq!(n(" > /usr/bin/x [0x3705]"), "x [0x3705]");
        // A `/` in the symbol part stays.
        assert_eq!(n(" > /a/b(operator/+0x1) [0x1]"), "b(operator/+0x1) [0x1]");
        assert_eq!(
            n(" > unexpected_backtracing_error"),
            "unexpected_backtracing_error"
        );
    }
}
