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

/// Like [`for_terminal`] for text of several lines (an error message and its
/// hint): newlines and tabs stay, every other control character goes.
pub fn lines_for_terminal(text: &str) -> String {
    if !text
        .chars()
        .any(|c| needs_escape(c) && c != '\n' && c != '\t')
    {
        return text.to_string();
    }
    text.chars()
        .map(|c| {
            if needs_escape(c) && c != '\n' && c != '\t' {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect()
}

/// Source text shown in a diagnostic snippet (a config file): newlines and
/// tabs stay, every other escaped character becomes as many `?` as it has
/// bytes, so byte spans into the text stay valid.
pub fn source_for_terminal(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if needs_escape(c) && c != '\n' && c != '\t' && c != '\r' {
            out.extend(std::iter::repeat_n('?', c.len_utf8()));
        } else {
            out.push(c);
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
        assert_eq!(
            lines_for_terminal("a\x1b\n\u{202e}b"),
            "a\u{FFFD}\n\u{FFFD}b"
        );
        let src = "k = \"\u{202e}\x07\"\nx";
        assert_eq!(source_for_terminal(src).len(), src.len());
        assert_eq!(source_for_terminal(src), "k = \"????\"\nx");
    }
}
