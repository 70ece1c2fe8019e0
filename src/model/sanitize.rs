//! Trace text is untrusted: strip control characters before it reaches a terminal.

/// Replaces control characters (C0, DEL, C1, and the bidi overrides) with `�`
/// so a trace cannot move the cursor, change colours or reorder text.
pub fn for_terminal(text: &str) -> String {
    if !text.chars().any(needs_escape) {
        return text.to_string();
    }
    text.chars()
        .map(|c| if needs_escape(c) { '\u{FFFD}' } else { c })
        .collect()
}

/// Same for bytes that may not be UTF-8; keeps the byte length of ASCII text
/// (each bad byte becomes `?`) so spans into the line stay valid.
pub fn line_for_terminal(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if needs_escape(c) {
                out.push('?');
            } else {
                out.push(c);
            }
        }
        for _ in chunk.invalid() {
            out.push('?');
        }
    }
    out
}

fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_neutralised() {
        assert_eq!(for_terminal("a\x1b[31mb"), "a\u{FFFD}[31mb");
        assert_eq!(line_for_terminal(b"x\x1b]0;t\x07y\xff"), "x?]0;t?y?");
        assert_eq!(for_terminal("plain"), "plain");
    }
}
