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

/// Where one interned string is in the arena: 12 bytes, not the 16 of a
/// `(usize, usize)` (a million distinct paths are a million of these).
#[derive(Clone, Copy, Debug)]
#[repr(C, packed(4))]
struct Span {
    start: u64,
    len: u32,
}

/// One interner per analysis. Readers intern call names, resources and frames;
/// reporters resolve them back.
///
/// Each string is stored once, in one arena; the lookup table holds ids and
/// compares through the arena (a map keyed by a second copy of every string
/// cost about 100 bytes per distinct path: two allocations and a 24-byte entry).
#[derive(Default)]
pub struct Interner {
    /// Every string's bytes, back to back (a rewritten string's new text is
    /// appended; its old bytes stay).
    arena: String,
    /// Per id, its text in `arena`.
    spans: Vec<Span>,
    /// Ids, found by the hash of their text.
    string_ids: hashbrown::HashTable<u32>,
    stacks: Vec<Box<[Sym]>>,
    stack_ids: HashMap<Box<[Sym]>, StackId>,
    /// When recording: every string asked for, in order, new or not (a reader
    /// parsing ahead replays them so that the real interner sees the same
    /// sequence the sequential parse would).
    touched: Option<Vec<u32>>,
}

impl std::fmt::Debug for Interner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interner")
            .field("strings", &self.spans.len())
            .field("stacks", &self.stacks.len())
            .finish()
    }
}

fn hash_text(text: &str) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(text)
}

/// The text of `id`, read from the arena.
fn text_of<'a>(arena: &'a str, spans: &[Span], id: u32) -> &'a str {
    let Some(&Span { start, len }) = spans.get(id as usize) else {
        return "?";
    };
    let start = start as usize;
    arena.get(start..start + len as usize).unwrap_or("?")
}

impl Interner {
    pub fn new() -> Interner {
        Interner::default()
    }

    /// An interner with room for `strings` strings before its lookup table
    /// grows (each growth hashes every string again).
    pub fn with_capacity(strings: usize) -> Interner {
        Interner {
            spans: Vec::with_capacity(strings),
            string_ids: hashbrown::HashTable::with_capacity(strings),
            ..Interner::default()
        }
    }

    pub fn intern(&mut self, text: &str) -> Sym {
        let cut;
        let text = if text.len() > MAX_TEXT {
            cut = capped(text);
            cut.as_str()
        } else {
            text
        };
        let id = match self.find(text) {
            Some(id) => id,
            None => {
                let id = self.spans.len() as u32;
                self.push_text(text);
                self.insert_id(id, text);
                id
            }
        };
        if let Some(t) = self.touched.as_mut() {
            t.push(id);
        }
        Sym(id)
    }

    /// Starts recording every string asked for (see [`Interner::touched`]).
    pub fn record_touches(&mut self) {
        self.touched.get_or_insert_with(Vec::new);
    }

    /// Records a use of `sym` a cache answered without asking the interner.
    pub fn touch(&mut self, sym: Sym) {
        if let Some(t) = self.touched.as_mut() {
            t.push(sym.0);
        }
    }

    /// The recorded uses so far (empty when not recording).
    pub fn touched(&self) -> &[u32] {
        self.touched.as_deref().unwrap_or(&[])
    }

    /// Keeps the first `len` recorded uses.
    pub fn truncate_touched(&mut self, len: usize) {
        if let Some(t) = self.touched.as_mut() {
            t.truncate(len);
        }
    }

    /// Takes the recorded uses, recording on from empty.
    pub fn take_touched(&mut self) -> Vec<u32> {
        match self.touched.as_mut() {
            Some(t) => std::mem::take(t),
            None => Vec::new(),
        }
    }

    /// The id whose text is `text`, if any.
    fn find(&self, text: &str) -> Option<u32> {
        let (arena, spans) = (&self.arena, &self.spans);
        self.string_ids
            .find(hash_text(text), |&id| text_of(arena, spans, id) == text)
            .copied()
    }

    /// Appends `text` to the arena as the next id's span.
    fn push_text(&mut self, text: &str) {
        let start = self.arena.len() as u64;
        self.arena.push_str(text);
        // `text` is at most MAX_TEXT bytes (or a rewritten frame): fits a u32.
        let len = u32::try_from(text.len()).unwrap_or(u32::MAX);
        self.spans.push(Span { start, len });
    }

    /// Adds `id` (whose text is `text`) to the lookup table.
    fn insert_id(&mut self, id: u32, text: &str) {
        let (arena, spans) = (&self.arena, &self.spans);
        self.string_ids.insert_unique(hash_text(text), id, |&i| {
            hash_text(text_of(arena, spans, i))
        });
    }

    /// Removes the lookup entry whose text is `text` (whatever its id).
    fn remove_text(&mut self, text: &str) {
        let (arena, spans) = (&self.arena, &self.spans);
        if let Ok(entry) = self
            .string_ids
            .find_entry(hash_text(text), |&id| text_of(arena, spans, id) == text)
        {
            entry.remove();
        }
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
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Forgets every string interned after the first `len` (a reader that
    /// parsed a line ahead and gave the line up takes its strings back).
    pub fn truncate(&mut self, len: usize) {
        while self.spans.len() > len {
            let id = (self.spans.len() - 1) as u32;
            let text = text_of(&self.arena, &self.spans, id).to_owned();
            self.remove_text(&text);
            if let Some(Span { start, len }) = self.spans.pop() {
                // The last string's bytes are the arena's end: give them back.
                if start + u64::from(len) == self.arena.len() as u64 {
                    self.arena.truncate(start as usize);
                }
            }
        }
    }

    pub fn resolve(&self, sym: Sym) -> &str {
        text_of(&self.arena, &self.spans, sym.0)
    }

    /// Replaces, in place, every string for which `f` returns a new text
    /// (frames symbolized after reading). Ids stay valid; returns how many changed.
    pub fn rewrite(&mut self, mut f: impl FnMut(&str) -> Option<String>) -> usize {
        let mut changed = 0;
        for i in 0..self.spans.len() {
            let Some(new) = f(text_of(&self.arena, &self.spans, i as u32)) else {
                continue;
            };
            let old = text_of(&self.arena, &self.spans, i as u32).to_owned();
            self.remove_text(&old);
            let start = self.arena.len() as u64;
            self.arena.push_str(&new);
            let len = u32::try_from(new.len()).unwrap_or(u32::MAX);
            self.spans[i] = Span { start, len };
            if self.find(&new).is_none() {
                self.insert_id(i as u32, &new);
            }
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

#[cfg(test)]
mod store_tests {
    use super::*;

    #[test]
    fn ids_in_first_seen_order_and_each_text_once() {
        let mut i = Interner::new();
        let a = i.intern("/etc/hostname");
        let b = i.intern("close");
        assert_eq!((a, b), (Sym(0), Sym(1)));
        assert_eq!(i.intern("/etc/hostname"), a);
        assert_eq!(i.intern_bytes(b"close"), b);
        assert_eq!(i.len(), 2);
        assert_eq!(i.resolve(a), "/etc/hostname");
        assert_eq!(i.resolve(Sym(7)), "?");
        // Many strings: the table grows and still finds every one.
        let syms: Vec<Sym> = (0..10_000).map(|n| i.intern(&format!("/p/{n}"))).collect();
        for (n, s) in syms.iter().enumerate() {
            assert_eq!(i.resolve(*s), format!("/p/{n}"));
            assert_eq!(i.intern(&format!("/p/{n}")), *s);
        }
        assert_eq!(i.intern(""), Sym(10_002));
        assert_eq!(i.resolve(Sym(10_002)), "");
    }

    #[test]
    fn truncate_forgets_later_strings_and_reuses_their_ids() {
        let mut i = Interner::new();
        i.intern("a");
        i.intern("b");
        let mark = i.len();
        i.intern("c");
        i.intern("d");
        i.truncate(mark);
        assert_eq!(i.len(), 2);
        assert_eq!(i.resolve(Sym(2)), "?");
        // Forgotten text is new again, under the next id.
        assert_eq!(i.intern("d"), Sym(2));
        assert_eq!(i.intern("c"), Sym(3));
        assert_eq!(i.intern("a"), Sym(0));
        assert_eq!(i.resolve(Sym(2)), "d");
    }

    #[test]
    fn rewrite_keeps_ids_and_finds_the_new_text() {
        let mut i = Interner::new();
        let f = i.intern("mod+0x10");
        let g = i.intern("other");
        let n = i.rewrite(|s| (s == "mod+0x10").then(|| "mod!main+0x4".to_string()));
        assert_eq!(n, 1);
        assert_eq!(i.resolve(f), "mod!main+0x4");
        assert_eq!(i.intern("mod!main+0x4"), f);
        assert_eq!(i.resolve(g), "other");
        // The old text is no longer known: interning it makes a new id.
        assert_eq!(i.intern("mod+0x10"), Sym(2));
        // A rewrite to a text another id has keeps that id's entry.
        i.rewrite(|s| (s == "other").then(|| "mod!main+0x4".to_string()));
        assert_eq!(i.intern("mod!main+0x4"), f);
        assert_eq!(i.resolve(g), "mod!main+0x4");
    }
}
