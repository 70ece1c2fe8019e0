//! Interned strings and stacks: events carry 4-byte ids instead of text.

use rustc_hash::FxHashMap as HashMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sym(pub u32);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StackId(pub u32);

/// The longest text kept (a path, a frame, a type name): longer text from a
/// trace is cut and ends with `…`, so one hostile line cannot make every
/// diagnostic, note and report that quotes it as large as itself.
pub const MAX_TEXT: usize = 4096;

/// `text` cut to fit [`MAX_TEXT`] bytes with the `…`, on a char boundary.
fn capped(text: &str) -> String {
    let mut end = MAX_TEXT - '…'.len_utf8();
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = String::with_capacity(MAX_TEXT);
    out.push_str(&text[..end]);
    out.push('…');
    out
}

/// One interner per analysis. Readers intern call names, resources and frames;
/// reporters resolve them back.
#[derive(Default, Debug)]
pub struct Interner {
    strings: Vec<Box<str>>,
    string_ids: HashMap<Box<str>, Sym>,
    stacks: Vec<Box<[Sym]>>,
    stack_ids: HashMap<Box<[Sym]>, StackId>,
}

impl Interner {
    pub fn new() -> Interner {
        Interner::default()
    }

    pub fn intern(&mut self, text: &str) -> Sym {
        let cut;
        let text = if text.len() > MAX_TEXT {
            cut = capped(text);
            cut.as_str()
        } else {
            text
        };
        if let Some(&id) = self.string_ids.get(text) {
            return id;
        }
        let id = Sym(self.strings.len() as u32);
        let boxed: Box<str> = text.into();
        self.strings.push(boxed.clone());
        self.string_ids.insert(boxed, id);
        id
    }

    /// Interns bytes that may not be UTF-8 (invalid sequences become U+FFFD).
    pub fn intern_bytes(&mut self, bytes: &[u8]) -> Sym {
        // Cut first (with room for a UTF-8 sequence) so a huge invalid run is
        // not converted whole.
        let bytes = bytes.get(..MAX_TEXT + 4).unwrap_or(bytes);
        match std::str::from_utf8(bytes) {
            Ok(text) => self.intern(text),
            Err(_) => self.intern(&String::from_utf8_lossy(bytes)),
        }
    }

    /// Strings interned so far (the next new string gets this id).
    pub fn len(&self) -> usize {
        self.strings.len()
    }

    pub fn is_empty(&self) -> bool {
        self.strings.is_empty()
    }

    /// Forgets every string interned after the first `len` (a reader that
    /// parsed a line ahead and gave the line up takes its strings back).
    pub fn truncate(&mut self, len: usize) {
        while self.strings.len() > len {
            if let Some(s) = self.strings.pop() {
                self.string_ids.remove(&s);
            }
        }
    }

    pub fn resolve(&self, sym: Sym) -> &str {
        self.strings
            .get(sym.0 as usize)
            .map(|s| &**s)
            .unwrap_or("?")
    }

    /// Replaces, in place, every string for which `f` returns a new text
    /// (frames symbolized after reading). Ids stay valid; returns how many changed.
    pub fn rewrite(&mut self, mut f: impl FnMut(&str) -> Option<String>) -> usize {
        let mut changed = 0;
        for i in 0..self.strings.len() {
            let Some(new) = f(&self.strings[i]) else {
                continue;
            };
            let old = std::mem::replace(&mut self.strings[i], new.into_boxed_str());
            self.string_ids.remove(&old);
            self.string_ids
                .entry(self.strings[i].clone())
                .or_insert(Sym(i as u32));
            changed += 1;
        }
        changed
    }

    /// Interns a stack, innermost frame first.
    pub fn intern_stack(&mut self, frames: &[Sym]) -> StackId {
        if let Some(&id) = self.stack_ids.get(frames) {
            return id;
        }
        let id = StackId(self.stacks.len() as u32);
        let boxed: Box<[Sym]> = frames.into();
        self.stacks.push(boxed.clone());
        self.stack_ids.insert(boxed, id);
        id
    }

    /// Frames of a stack, innermost first.
    pub fn frames(&self, stack: StackId) -> &[Sym] {
        self.stacks
            .get(stack.0 as usize)
            .map(|s| &**s)
            .unwrap_or(&[])
    }
}

#[cfg(test)]
mod cap_tests {
    use super::*;

    #[test]
    fn long_text_is_cut_once_and_consistently() {
        let mut i = Interner::new();
        let long = "\\".repeat(12 << 20);
        let a = i.intern(&long);
        assert!(i.resolve(a).len() <= MAX_TEXT);
        assert!(i.resolve(a).ends_with('…'));
        // The same long text (as bytes too) is the same symbol.
        assert_eq!(i.intern_bytes(long.as_bytes()), a);
        // Multi-byte text is cut on a char boundary.
        let wide = "é".repeat(MAX_TEXT);
        let w = i.intern(&wide);
        assert!(i.resolve(w).len() <= MAX_TEXT);
        let short = "x".repeat(MAX_TEXT);
        let s = i.intern(&short);
        assert_eq!(i.resolve(s), short);
    }
}
