//! Verifier stack frame text → normalised `module!symbol+0xoff`.

use crate::formats::htrace::text::{find, split_offset, trim, write_frame};

/// XML `<avrf:trace>`: `KERNELBASE!GetHandleInformation+40 ( @ 0)`,
/// `vfbasics!+7ffa194a2c50 ( @ 0)`, `app!f+12 (C:\src (x86)\a.rs @ 15)`.
pub(crate) fn xml_trace(text: &str, out: &mut String) {
    let t = trim(text.as_bytes());
    // The source suffix starts at the first " (" that follows a `+HEX` offset.
    let mut cut = t.len();
    let mut from = 0;
    while let Some(i) = t.get(from..).and_then(|s| find(s, b" (")) {
        let at = from + i;
        let before = t.get(..at).unwrap_or(b"");
        if let Some(plus) = memchr::memrchr(b'+', before) {
            let digits = before.get(plus + 1..).unwrap_or(b"");
            if !digits.is_empty() && digits.iter().all(u8::is_ascii_hexdigit) {
                cut = at;
                break;
            }
        }
        from = at + 2;
    }
    let body = t.get(..cut).unwrap_or(t);
    let (sym, off) = split_offset(body, true);
    write_frame(out, sym, off);
}

/// Debugger `k`/`kb`/STACK_TEXT row → call site text, or `None` for headers.
pub(crate) fn k_row(line: &[u8]) -> Option<&[u8]> {
    let line = trim(line);
    // x64 kb: "... : Args ... : Call Site"
    let site = match memchr::memmem::rfind(line, b" : ") {
        Some(i) => trim(line.get(i + 3..)?),
        None => {
            // Columns are hex (with optional backtick); the call site is the first token with '!'.
            let bang = memchr::memchr(b'!', line)?;
            let start = line
                .get(..bang)?
                .iter()
                .rposition(|b| *b == b' ')
                .map(|i| i + 1)
                .unwrap_or(0);
            line.get(start..)?
        }
    };
    memchr::memchr(b'!', site)?;
    // Strip a trailing source location " [file @ line]".
    let site = match memchr::memmem::rfind(site, b" [") {
        Some(i) if site.ends_with(b"]") => trim(site.get(..i)?),
        _ => site,
    };
    Some(site)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_frames() {
        let mut s = String::new();
        xml_trace("KERNELBASE!GetHandleInformation+40 ( @ 0)", &mut s);
        assert_eq!(s, "KERNELBASE!GetHandleInformation+0x40");
        xml_trace("vfbasics!+7ffa194a2c50 ( @ 0)", &mut s);
        assert_eq!(s, "vfbasics!+0x7ffa194a2c50");
        xml_trace(
            "trip!impl$7::drop+12 (C:\\Program Files (x86)\\a.rs @ 15)",
            &mut s,
        );
        assert_eq!(s, "trip!impl$7::drop+0x12");
    }

    #[test]
    fn k_rows() {
        assert_eq!(
            k_row(b"00 0eabf8f4 759b272d 0eabf948 80100080 0eabf980 vfbasics!AVrfpNtCreateFile"),
            Some(&b"vfbasics!AVrfpNtCreateFile"[..])
        );
        assert_eq!(
            k_row(b"01 00007ffc`e583e7e8 : ffffffff`ffffffff 000014c0`b9613433 : WindowDemo!WndProc+0x1a0 [c:\\w.cpp @ 159] "),
            Some(&b"WindowDemo!WndProc+0x1a0"[..])
        );
        assert_eq!(k_row(b"0046fb44 75949ae7 00000000 00000000 0046fb60 vfbasics!AVrfpNtQueryInformationThread+0x2c"), Some(&b"vfbasics!AVrfpNtQueryInformationThread+0x2c"[..]));
        assert_eq!(k_row(b" # ChildEBP RetAddr  Args to Child"), None);
    }
}
