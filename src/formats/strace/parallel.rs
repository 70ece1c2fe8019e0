//! Reading a mapped strace file on every thread.
//!
//! The parser is a state machine over lines (pending halves, live tasks, the
//! clock, `-k` frames, spliced notices), so it cannot run on pieces of a file
//! independently. Most of its work per line is not state, though: the leader,
//! the argument scan and the events of a call depend on the line alone. So:
//!
//! 1. the file is cut into chunks at line ends ([`CHUNK`] bytes, the same for
//!    every thread count);
//! 2. each chunk is *parsed ahead* on any thread by a fresh parser with its own
//!    interner ([`parse_ahead`]): for every line it can read alone it keeps the
//!    events and what they assumed;
//! 3. on the reading thread, the one real parser *stitches* the chunks in order
//!    ([`StraceParser::stitch`]): it runs its state (clock, tasks, pending
//!    halves, frames, notices) over every line, takes a parsed-ahead line's
//!    events when the line's assumptions hold in the real state, and parses the
//!    line itself when they do not, or when the line was not parsed ahead.
//!
//! The events, their order and the order strings are interned in are those of
//! the sequential parse (tested by cutting every bundled trace at every line).
//! What a line parsed ahead assumes, and how each assumption is checked:
//! - no notice spliced into the previous line and no summary table running: the
//!   stitcher's own state, else the line is parsed in full;
//! - `-y` not yet seen, when one of the line's fd arguments is undecorated
//!   (the event's `UNDECORATED_IN_Y_MODE` depends on it): else the call is
//!   parsed again from the real state;
//! - for a `<... resumed>` half joined to its entry within the chunk: that the
//!   real pending entry of the task is that very line, else the real
//!   resumption runs.
//!
//! Lines never parsed ahead: calls with process effects (clone, fork, and
//! gettid in the stderr layout), `<detached ...>` and `<pid changed ...>`
//! halves, exits, signals, notices, frames and anything else that is not a
//! call; they are a few percent of an ordinary trace.

use std::io::{Read, Write};
use std::ops::Range;
use std::sync::{Condvar, Mutex, MutexGuard};

use crate::formats::{InputProvider, ReadContext, ReadStats};
use crate::input::lines::{Cut, MAX_LINE};
use crate::model::{Event, InputId, Interner, Origin, Outcome, Sym, flags};

use super::prefix::{Stamp, parse_leader};
use super::syscalls::{Action, FastMap, Table};
use super::{
    BodyKind, LineCtx, StraceParser, UNFINISHED, body_kind, fast, resumed_name, spliced_notice,
    tokenize,
};

/// Bytes per chunk (each cut at the next line end).
pub const CHUNK: usize = 1 << 20;

/// Chunks parsed ahead but not yet stitched, per thread: bounds memory.
const AHEAD_PER_THREAD: usize = 2;

/// What a line parsed ahead is.
#[derive(Clone, Copy, Debug)]
enum Ahead {
    /// A complete call.
    Complete,
    /// The entry half of an `<unfinished ...>` call; `head` is the call text
    /// up to ` <unfinished ...>`, as line byte positions.
    Entry { index: u16, head: (u32, u32) },
    /// A `<... resumed>` half joined to the entry half on the chunk's line
    /// `entry` (counted from 1 among the lines fed to the parser).
    Resumed { entry: u32 },
}

/// A line parsed ahead: its leader and what its events assumed.
#[derive(Clone, Copy, Debug)]
struct Pre {
    ahead: Ahead,
    tid: Option<u32>,
    bracketed: bool,
    stamp: Option<Stamp>,
    /// Where the body starts in the line, and the call name's length.
    body: u32,
    name_len: u32,
    /// This line's events in the chunk's event list.
    events: (u32, u32),
    /// The strings this line asked its interner for, in order, as a range
    /// of the chunk's `touched` list: replayed on the real interner so that
    /// it sees what the sequential parse would have asked, in that order.
    touches: (u32, u32),
    /// The line switches `-y` mode on.
    sets_y: bool,
    /// The events wait in `held` for `-k` frames that may follow.
    hold: bool,
    undecorated_before_y: bool,
}

/// One line of a chunk, without its `\n` and one trailing `\r` (as
/// [`crate::input::lines`] hands lines over).
struct Rec {
    /// Within the chunk: under [`MAX_LINE`] plus a chunk, so `u32` holds it.
    start: u32,
    len: u32,
    kind: RecKind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum RecKind {
    /// For the stitcher to parse.
    Plain,
    /// Parsed ahead: the chunk's next [`Pre`].
    Parsed,
    /// Longer than [`MAX_LINE`]: dropped and counted, as the line reader does.
    TooLong,
}

/// A chunk parsed ahead.
#[derive(Default)]
struct Chunk {
    /// Where it lies in the file.
    start: usize,
    end: usize,
    recs: Vec<Rec>,
    /// The lines parsed ahead, in order.
    pres: Vec<Pre>,
    events: Vec<Event>,
    /// The thread that parsed it, and that thread's interner generation.
    slot: usize,
    epoch: u32,
    /// The strings the chunk added to its thread's interner: symbols
    /// `first_sym..`, their text in `text` ending at `ends`.
    first_sym: u32,
    text: String,
    ends: Vec<u32>,
    /// Symbols the lines asked for (see [`Pre::touches`]).
    touched: Vec<u32>,
    /// The bytes, when they came from a stream (a mapped file keeps its own).
    owned: Vec<u8>,
}

/// Where the chunk starting at `start` ends: `chunk_len` bytes on, then on
/// to the next line end.
fn chunk_end(map: &[u8], start: usize, chunk_len: usize) -> usize {
    let end = start.saturating_add(chunk_len.max(1)).min(map.len());
    if end >= map.len() {
        return map.len();
    }
    match memchr::memchr(b'\n', &map[end - 1..]) {
        Some(i) => end + i,
        None => map.len(),
    }
}

/// An entry half seen in a chunk: its line, call and where its head text lies
/// in the chunk.
struct ChunkEntry {
    line: u32,
    index: u16,
    head: Range<usize>,
}

/// Strings a thread's interner for reading ahead holds before it starts over
/// (a trace of a million distinct paths must not be held once per thread).
const AHEAD_STRINGS: usize = 1 << 16;

/// A thread's parser for reading ahead, kept across its chunks so that the
/// syscall table, caches and strings are made once per thread.
struct AheadParser {
    parser: StraceParser,
    interner: Interner,
    slot: usize,
    epoch: u32,
}

impl AheadParser {
    fn new(slot: usize) -> AheadParser {
        // Small at first (a small file needs little); full-sized once it has
        // filled up and starts over (see `parse`).
        let mut interner = Interner::new();
        interner.record_touches();
        AheadParser {
            parser: StraceParser::new(),
            interner,
            slot,
            epoch: 0,
        }
    }

    /// Parses one chunk ahead: every line it can read alone gets its events.
    /// `after_long_line`: a line too long to keep came just before `bytes`.
    fn parse(&mut self, bytes: &[u8], at: usize, after_long_line: bool) -> Chunk {
        if self.interner.len() > AHEAD_STRINGS {
            self.parser = StraceParser::new();
            // It held this many once: room for them, without growing again.
            self.interner = Interner::with_capacity(AHEAD_STRINGS);
            self.interner.record_touches();
            self.epoch += 1;
        }
        let parser = &mut self.parser;
        let first_sym = self.interner.len();
        self.interner.take_touched();
        let mut chunk = Chunk {
            start: at,
            end: at + bytes.len(),
            slot: self.slot,
            epoch: self.epoch,
            first_sym: first_sym as u32,
            ..Chunk::default()
        };
        let mut stats = ReadStats::default();
        let mut sink: Vec<Event> = Vec::new();
        let mut entries: FastMap<u32, ChunkEntry> = FastMap::default();
        let mut fed: u32 = 0;
        let mut start = 0usize;
        // The parser's `held` is the chunk's event list while it parses: the
        // events are written once. (About one event per 100 bytes.)
        parser.held = Vec::with_capacity(bytes.len() / 80 + 16);
        chunk.recs.reserve(bytes.len() / 90 + 16);
        chunk.pres.reserve(bytes.len() / 100 + 16);
        if after_long_line {
            chunk.recs.push(Rec {
                start: 0,
                len: 0,
                kind: RecKind::TooLong,
            });
        }
        while start < bytes.len() {
            let end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |i| start + i);
            let raw = &bytes[start..end];
            let next = end + 1;
            if raw.len() >= MAX_LINE {
                chunk.recs.push(Rec {
                    start: start as u32,
                    len: 0,
                    kind: RecKind::TooLong,
                });
                start = next;
                continue;
            }
            let line = raw.strip_suffix(b"\r").unwrap_or(raw);
            fed += 1;
            let pre = {
                let mut ctx = ReadContext {
                    input: 0,
                    interner: &mut self.interner,
                    sink: &mut sink,
                    stats: &mut stats,
                };
                parser.ahead(bytes, start, line, fed, &mut entries, &mut ctx)
            };
            let kind = match pre {
                Some(mut pre) => {
                    pre.events.1 = parser.held.len() as u32;
                    pre.touches.1 = self.interner.touched().len() as u32;
                    chunk.pres.push(pre);
                    RecKind::Parsed
                }
                None => RecKind::Plain,
            };
            chunk.recs.push(Rec {
                start: start as u32,
                len: line.len() as u32,
                kind,
            });
            start = next;
        }
        chunk.events = std::mem::take(&mut parser.held);
        // A line's events wait for `-k` frames unless the next line is one
        // the stitcher flushes at (a line parsed ahead): then they go at once.
        let mut pres = chunk.pres.iter_mut();
        for (i, rec) in chunk.recs.iter().enumerate() {
            if rec.kind == RecKind::Parsed
                && let Some(pre) = pres.next()
            {
                let next = chunk.recs.get(i + 1).map(|r| r.kind);
                pre.hold = next != Some(RecKind::Parsed);
            }
        }
        chunk.touched = self.interner.take_touched();
        for i in first_sym..self.interner.len() {
            chunk.text.push_str(self.interner.resolve(Sym(i as u32)));
            chunk.ends.push(chunk.text.len() as u32);
        }
        chunk
    }
}

impl StraceParser {
    /// Parses `line` (at `at` in `chunk`, its `fed`th line) alone, if
    /// it is a line that can be: its events are left in `held`.
    fn ahead(
        &mut self,
        chunk: &[u8],
        at: usize,
        line: &[u8],
        fed: u32,
        entries: &mut FastMap<u32, ChunkEntry>,
        ctx: &mut ReadContext<'_>,
    ) -> Option<Pre> {
        // The second `\r` strip of `line()`.
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        // A line starting with a digit (`PID ...`, nearly all) is no frame,
        // hex dump, notice, summary or blank line: only a spliced notice.
        let plain = line.first().is_some_and(u8::is_ascii_digit);
        if plain && spliced_notice(line).is_some() {
            return None;
        }
        if !plain
            && (line.starts_with(b" > ")
                || line.starts_with(b" | ")
                || line.starts_with(b"strace: ")
                || line.starts_with(b"% time")
                || line.starts_with(b"System call usage summary")
                || spliced_notice(line).is_some()
                || tokenize::trim(line).is_empty())
        {
            return None;
        }
        let leader = fast::leader(line).unwrap_or_else(|| parse_leader(line));
        let body = line.get(leader.body..).unwrap_or(&[]);
        // Any line of a task ends what its entry half seen here stands for.
        let entry = leader
            .tid
            .filter(|_| !entries.is_empty())
            .and_then(|t| entries.remove(&t));
        let syms_before = ctx.interner.len();
        let skipped_before = ctx.stats.skipped;
        let held_from = self.held.len();
        let touched_from = ctx.interner.touched().len();
        self.y_mode = false;
        self.undecorated_before_y = false;
        self.cur = LineCtx {
            time: None,
            tid: leader.tid.unwrap_or(0),
            origin: Origin::default(),
            flags: 0,
        };
        let (ahead, name_len) = match body_kind(body) {
            BodyKind::Call(name_len) => (self.ahead_call(body, name_len, ctx)?, name_len),
            BodyKind::Resumed => {
                let e = entry?;
                let name = resumed_name(body)?;
                if Table::name(e.index).as_bytes() != name {
                    return None;
                }
                let spec = Table::spec(e.index)?;
                let rest = body.get(name.len() + 14..).unwrap_or(&[]);
                let mut rebuilt = std::mem::take(&mut self.rebuilt);
                rebuilt.clear();
                rebuilt.extend_from_slice(chunk.get(e.head.clone()).unwrap_or(&[]));
                rebuilt.extend_from_slice(rest);
                self.cur.flags |= flags::RESUMED;
                self.complete(&rebuilt, name.len(), e.index, spec, None, ctx);
                self.rebuilt = rebuilt;
                (Ahead::Resumed { entry: e.line }, name.len())
            }
            _ => return None,
        };
        // Anything but events (a skip, a call cut by program output) is the
        // real parser's to do: give the line up.
        if self.cut_by_output.take().is_some() || ctx.stats.skipped != skipped_before {
            self.held.truncate(held_from);
            ctx.interner.truncate_touched(touched_from);
            ctx.interner.truncate(syms_before);
            self.forget_syms_from(syms_before);
            return None;
        }
        if let (Ahead::Entry { index, head }, Some(tid)) = (ahead, leader.tid) {
            // `head` is in the body; the body is at `at + leader.body` in the chunk.
            let body_at = at + leader.body;
            entries.insert(
                tid,
                ChunkEntry {
                    line: fed,
                    index,
                    head: body_at + head.0 as usize..body_at + head.1 as usize,
                },
            );
        }
        Some(Pre {
            ahead,
            tid: leader.tid,
            bracketed: leader.bracketed,
            stamp: leader.stamp,
            body: leader.body as u32,
            name_len: name_len as u32,
            events: (held_from as u32, 0),
            touches: (touched_from as u32, 0),
            hold: true,
            sets_y: self.y_mode,
            undecorated_before_y: self.undecorated_before_y,
        })
    }

    /// `call_line` for a line parsed ahead: complete calls and entry halves
    /// without process effects.
    fn ahead_call(
        &mut self,
        body: &[u8],
        name_len: usize,
        ctx: &mut ReadContext<'_>,
    ) -> Option<Ahead> {
        let name = body.get(..name_len).unwrap_or(&[]);
        let t = tokenize::trim(body);
        // Every cut half ends in ` ...>` (`<unfinished ...>`, `<detached
        // ...>`, `<pid changed to N ...>`): complete calls take one compare.
        let cut = t.ends_with(b" ...>");
        let head = if cut {
            t.strip_suffix(UNFINISHED)
        } else {
            None
        };
        if head.is_none() && cut {
            return None;
        }
        let (index, spec) = self.table.get(name)?;
        if matches!(
            spec.action,
            Action::Clone | Action::Clone3 | Action::Fork | Action::LearnTid
        ) {
            return None;
        }
        match head {
            None => {
                self.complete(body, name_len, index, spec, None, ctx);
                Some(Ahead::Complete)
            }
            Some(head) => {
                let head = head.strip_suffix(b" ").unwrap_or(head);
                self.entry_events(head, name_len, index, spec, ctx);
                let from = head.as_ptr() as usize - body.as_ptr() as usize;
                Some(Ahead::Entry {
                    index,
                    head: (from as u32, (from + head.len()) as u32),
                })
            }
        }
    }

    /// Cached symbols at or past `len` are gone from the chunk interner.
    fn forget_syms_from(&mut self, len: usize) {
        for n in &mut self.names {
            if n.is_some_and(|s| s.0 as usize >= len) {
                *n = None;
            }
        }
        self.deco_cache.forget_from(len);
    }

    /// One line of a chunk parsed ahead, in the real state (see the module doc).
    /// `pre`'s positions are in `line` after its second `\r` strip, as in `line()`.
    fn stitch(
        &mut self,
        line: &[u8],
        pre: &Pre,
        events: &[Event],
        origin: Origin,
        remap: &mut Remap<'_>,
        ctx: &mut ReadContext<'_>,
    ) {
        // A line the real state parses itself asks the real interner itself:
        // its parsed-ahead uses are not replayed.
        if !self.stash.is_empty() || self.in_summary {
            self.line(line, origin, None, ctx);
            return;
        }
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        ctx.stats.units += 1;
        self.lines_seen += 1;
        self.give_up_cut(ctx);
        self.flush(ctx);
        let time = pre.stamp.map(|s| self.clock.time(s));
        let tid = match pre.tid {
            Some(t) => t,
            None => self.lone(),
        };
        self.cur = LineCtx {
            time,
            tid,
            origin,
            flags: 0,
        };
        let body = line.get(pre.body as usize..).unwrap_or(&[]);
        let name_len = pre.name_len as usize;
        let kind = match pre.ahead {
            Ahead::Resumed { .. } => BodyKind::Resumed,
            _ => BodyKind::Call(name_len),
        };
        let tid = self.observe(tid, pre.bracketed, body, kind, ctx);
        self.cur.tid = tid;
        let redo = self.y_mode && pre.undecorated_before_y;
        match pre.ahead {
            Ahead::Complete | Ahead::Entry { .. } if redo => {
                self.call_line(body, name_len, ctx);
                return;
            }
            Ahead::Complete => {}
            Ahead::Entry { index, head } => {
                let Some(spec) = Table::spec(index) else {
                    self.call_line(body, name_len, ctx);
                    return;
                };
                let head = body.get(head.0 as usize..head.1 as usize).unwrap_or(&[]);
                self.start_pending(tid, index, spec, head);
            }
            Ahead::Resumed { entry } => {
                let expected = remap.lines_before + u64::from(entry);
                let same = !redo
                    && Some(tid) == pre.tid
                    && self
                        .tasks
                        .get(&tid)
                        .and_then(|t| t.pending.as_ref())
                        .is_some_and(|p| p.from_line == expected && p.spawned.is_none());
                if !same {
                    self.resumed(body, ctx);
                    return;
                }
                if let Some(p) = self.tasks.get_mut(&tid).and_then(|t| t.pending.take()) {
                    let mut text = p.text;
                    text.clear();
                    self.pool.push(text);
                }
            }
        }
        remap.replay(pre.touches, ctx.interner);
        for ev in events {
            let mut ev = *ev;
            ev.time = self.cur.time;
            ev.pid = tid;
            ev.tid = tid;
            ev.origin = origin;
            ev.call = remap.get(ev.call, ctx.interner);
            ev.resource = ev.resource.map(|r| remap.get(r, ctx.interner));
            if let Outcome::Failed { class, name } = ev.outcome {
                ev.outcome = Outcome::Failed {
                    class,
                    name: remap.get(name, ctx.interner),
                };
            }
            if pre.hold {
                self.hold(ev);
            } else {
                ctx.stats.events += 1;
                ctx.sink.event(ev);
            }
        }
        if pre.sets_y {
            self.y_mode = true;
        }
    }
}

/// Symbols of the threads' interners for reading ahead, mapped to the real
/// interner: per thread, kept across its chunks (a thread's chunks are
/// stitched in the order it parsed them).
#[derive(Default)]
struct Remaps {
    slots: Vec<SlotMap>,
}

#[derive(Default)]
struct SlotMap {
    epoch: u32,
    /// Per symbol of the thread's interner: the real symbol, or UNMAPPED.
    map: Vec<u32>,
    /// The thread's strings, back to back, ending at `ends` (symbol order).
    text: String,
    ends: Vec<u32>,
}

impl SlotMap {
    fn text_of(&self, sym: Sym) -> &str {
        let i = sym.0 as usize;
        let end = self.ends.get(i).map_or(0, |e| *e as usize);
        let start = match i {
            0 => 0,
            _ => self.ends.get(i - 1).map_or(end, |e| *e as usize),
        };
        self.text.get(start..end).unwrap_or("?")
    }
}

/// One chunk's view of [`Remaps`]: its thread's symbols, interned in the real
/// interner as the stitched lines ask for them.
struct Remap<'a> {
    slot: &'a mut SlotMap,
    touched: &'a [u32],
    /// Lines the parser was fed before this chunk.
    lines_before: u64,
}

const UNMAPPED: u32 = u32::MAX;

impl Remaps {
    fn for_chunk<'a>(&'a mut self, chunk: &'a Chunk, lines_before: u64) -> Remap<'a> {
        if self.slots.len() <= chunk.slot {
            self.slots.resize_with(chunk.slot + 1, SlotMap::default);
        }
        let slot = &mut self.slots[chunk.slot];
        if slot.epoch != chunk.epoch {
            *slot = SlotMap {
                epoch: chunk.epoch,
                ..SlotMap::default()
            };
        }
        // The chunk's new strings continue its thread's symbols.
        debug_assert_eq!(slot.ends.len(), chunk.first_sym as usize);
        let base = slot.text.len() as u32;
        slot.text.push_str(&chunk.text);
        slot.ends.extend(chunk.ends.iter().map(|e| base + e));
        slot.map.resize(slot.ends.len(), UNMAPPED);
        Remap {
            slot,
            touched: &chunk.touched,
            lines_before,
        }
    }
}

impl Remap<'_> {
    #[inline]
    fn get(&mut self, sym: Sym, global: &mut Interner) -> Sym {
        let i = sym.0 as usize;
        match self.slot.map.get(i) {
            Some(&m) if m != UNMAPPED => Sym(m),
            _ => {
                let g = global.intern(self.slot.text_of(sym));
                if let Some(m) = self.slot.map.get_mut(i) {
                    *m = g.0;
                }
                g
            }
        }
    }

    /// Asks the real interner for what a stitched line asked its own for.
    fn replay(&mut self, (from, to): (u32, u32), global: &mut Interner) {
        let touched = self.touched;
        for &s in touched.get(from as usize..to as usize).unwrap_or(&[]) {
            self.get(Sym(s), global);
        }
    }
}

/// Where chunks come from.
enum Source<'m> {
    /// A mapped file, cut into chunks as they are claimed.
    Map(&'m [u8]),
    /// Blocks a reader thread cut from a stream (stdin, a decompressed file).
    Stream,
}

/// A block of whole lines read from a stream.
struct Block {
    /// The lines are `bytes[..len]` (the buffer keeps its whole length, so
    /// that it can be read into again without zeroing).
    bytes: Vec<u8>,
    len: usize,
    /// Stream offset of `bytes[0]`.
    start: usize,
    /// A line longer than [`MAX_LINE`] came just before `bytes` (dropped).
    after_long_line: bool,
}

/// A chunk to parse: its number, and its mapped bytes with where they start,
/// or a stream's block.
enum Job<'m> {
    Mapped(usize, usize, &'m [u8]),
    Block(usize, Block),
}

/// Chunks handed between the threads parsing ahead and the stitching one.
struct Shared<'m> {
    source: Source<'m>,
    chunk_len: usize,
    /// Chunks claimed (or read) but not yet stitched, at most.
    window: usize,
    state: Mutex<State>,
    changed: Condvar,
}

struct State {
    /// `Map`: where the next chunk starts. Chunks are cut as they are
    /// claimed, in order, so that the cut touches only bytes about to be read
    /// (finding every cut up front would bring the whole file into memory).
    next_start: usize,
    /// `Stream`: blocks read, not yet claimed; the reader is done; its error.
    blocks: std::collections::VecDeque<Block>,
    stream_done: bool,
    stream_error: Option<std::io::Error>,
    /// Buffers of stitched blocks, for the reader to fill again.
    spare: Vec<Vec<u8>>,
    /// Chunks below this one were taken by the stitcher.
    taken: usize,
    /// One slot per claimed chunk, filled when it is parsed.
    ready: Vec<Option<Chunk>>,
    /// The stitcher is gone (it finished, or is unwinding): stop.
    stop: bool,
    /// A thread parsing ahead or reading died (a bug): the stitcher must
    /// not wait for what it would have made.
    helper_died: bool,
}

impl<'m> Shared<'m> {
    fn new(source: Source<'m>, chunk_len: usize, threads: usize) -> Shared<'m> {
        Shared {
            source,
            chunk_len,
            window: threads * AHEAD_PER_THREAD + 1,
            state: Mutex::new(State {
                next_start: 0,
                blocks: Default::default(),
                stream_done: false,
                stream_error: None,
                spare: Vec::new(),
                taken: 0,
                ready: Vec::new(),
                stop: false,
                helper_died: false,
            }),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wait<'g>(&self, g: MutexGuard<'g, State>) -> MutexGuard<'g, State> {
        self.changed.wait(g).unwrap_or_else(|e| e.into_inner())
    }

    /// The next chunk, if one is there and the window has room.
    fn claim(&self, st: &mut State) -> Option<Job<'m>> {
        if st.ready.len() >= st.taken + self.window {
            return None;
        }
        let j = st.ready.len();
        let job = match self.source {
            Source::Map(map) => {
                if st.next_start >= map.len() {
                    return None;
                }
                let start = st.next_start;
                let end = chunk_end(map, start, self.chunk_len);
                st.next_start = end;
                Job::Mapped(j, start, &map[start..end])
            }
            Source::Stream => Job::Block(j, st.blocks.pop_front()?),
        };
        st.ready.push(None);
        Some(job)
    }

    fn all_claimed(&self, st: &State) -> bool {
        match self.source {
            Source::Map(map) => st.next_start >= map.len(),
            Source::Stream => st.stream_done && st.blocks.is_empty(),
        }
    }

    fn parse(&self, ahead: &mut AheadParser, job: Job<'_>) -> MutexGuard<'_, State> {
        let (j, chunk) = match job {
            Job::Mapped(j, start, bytes) => (j, ahead.parse(bytes, start, false)),
            Job::Block(j, block) => {
                let bytes = block.bytes.get(..block.len).unwrap_or(&[]);
                let mut chunk = ahead.parse(bytes, block.start, block.after_long_line);
                chunk.owned = block.bytes;
                (j, chunk)
            }
        };
        let mut st = self.lock();
        if let Some(slot) = st.ready.get_mut(j) {
            *slot = Some(chunk);
        }
        self.changed.notify_all();
        st
    }

    /// A thread parsing ahead: claims chunks within the window until none is left.
    fn work(&self, ahead: &mut AheadParser) {
        let mut st = self.lock();
        loop {
            if st.stop || self.all_claimed(&st) {
                return;
            }
            match self.claim(&mut st) {
                Some(job) => {
                    drop(st);
                    st = self.parse(ahead, job);
                }
                None => st = self.wait(st),
            }
        }
    }

    /// The stitcher: chunk `k` (`None` after the last), parsing chunks ahead
    /// itself while it waits.
    fn take(&self, k: usize, ahead: &mut AheadParser) -> Option<Chunk> {
        let mut st = self.lock();
        loop {
            if let Some(chunk) = st.ready.get_mut(k).and_then(Option::take) {
                st.taken = k + 1;
                drop(st);
                self.changed.notify_all();
                return Some(chunk);
            }
            if k >= st.ready.len() && self.all_claimed(&st) {
                return None;
            }
            // (The helper's own panic message was printed by the panic hook.)
            assert!(!st.helper_died, "a thread reading the trace ahead stopped");
            match self.claim(&mut st) {
                Some(job) => {
                    drop(st);
                    st = self.parse(ahead, job);
                }
                None => st = self.wait(st),
            }
        }
    }

    /// The reader thread of a stream: blocks of whole lines, each copied to
    /// `spool` (evidence) first, until the end or an error.
    fn read_stream(&self, reader: &mut dyn Read, mut spool: Option<&mut dyn Write>) {
        let result = self.cut_stream(reader, &mut spool);
        let mut st = self.lock();
        st.stream_done = true;
        if let Err(e) = result {
            st.stream_error = Some(e);
        }
        drop(st);
        self.changed.notify_all();
    }

    fn cut_stream(
        &self,
        reader: &mut dyn Read,
        spool: &mut Option<&mut dyn Write>,
    ) -> std::io::Result<()> {
        let block_len = self.chunk_len.max(1);
        // `buf[..filled]` is data; the rest is zeroed room to read into.
        // A block plus the room of one read: a block is filled without growing
        // its buffer (growing doubled every buffer of the window).
        let block_room = block_len.saturating_add(READ_ROOM);
        let mut buf: Vec<u8> = vec![0u8; block_room];
        let mut filled = 0usize;
        // `buf[..clean]` is known to hold no line end (a partial line).
        let mut clean = 0usize;
        // Stream offset of buf[0]; a too-long line is being dropped; one was.
        let mut offset = 0usize;
        let mut skipping = false;
        let mut after_long_line = false;
        let mut eof = false;
        // The partial line in `buf` is longer than a block: read more anyway.
        let mut need_more = false;
        while !eof {
            // Fill to one block (a pipe gives 64 KiB per read).
            while filled < block_len || std::mem::take(&mut need_more) {
                if buf.len() - filled < READ_ROOM {
                    buf.resize((buf.len() * 2).max(filled + READ_ROOM), 0);
                }
                let n = loop {
                    match reader.read(&mut buf[filled..]) {
                        Ok(n) => break n,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(e),
                    }
                };
                if let Some(s) = spool.as_mut() {
                    s.write_all(&buf[filled..filled + n])?;
                }
                filled += n;
                if n == 0 {
                    eof = true;
                    break;
                }
            }
            if skipping {
                // Drop the long line up to its end.
                match memchr::memchr(b'\n', &buf[..filled]) {
                    Some(i) => {
                        offset += i + 1;
                        buf.copy_within(i + 1..filled, 0);
                        filled -= i + 1;
                        clean = 0;
                        skipping = false;
                    }
                    None => {
                        offset += filled;
                        filled = 0;
                        clean = 0;
                        continue;
                    }
                }
            }
            let cut = match memchr::memrchr(b'\n', &buf[clean.min(filled)..filled]) {
                _ if eof => filled,
                Some(i) => clean + i + 1,
                None => {
                    // No line end: `buf` is one partial line.
                    if filled >= MAX_LINE {
                        // A line of MAX_LINE bytes or more: dropped and counted.
                        offset += filled;
                        filled = 0;
                        skipping = true;
                        after_long_line = true;
                    }
                    // Else: a line longer than a block; read on.
                    clean = filled;
                    need_more = true;
                    continue;
                }
            };
            // The block keeps this buffer; the partial line after it moves
            // to a fresh one.
            let mut next = self.lock().spare.pop().unwrap_or_default();
            let room = block_room.max(filled - cut + READ_ROOM);
            if next.len() < room {
                next.resize(room, 0);
            }
            next[..filled - cut].copy_from_slice(&buf[cut..filled]);
            let bytes = std::mem::replace(&mut buf, next);
            filled -= cut;
            // What is left is after the last line end.
            clean = filled;
            let block = Block {
                bytes,
                len: cut,
                start: offset,
                after_long_line: std::mem::take(&mut after_long_line),
            };
            offset += cut;
            if !self.push_block(block) {
                return Ok(());
            }
        }
        if after_long_line {
            self.push_block(Block {
                bytes: Vec::new(),
                len: 0,
                start: offset,
                after_long_line: true,
            });
        }
        Ok(())
    }

    /// A stitched block's buffer, back for the reader.
    fn recycle(&self, buf: Vec<u8>) {
        if buf.is_empty() {
            return;
        }
        let mut st = self.lock();
        if st.spare.len() < self.window {
            st.spare.push(buf);
        }
    }

    /// Queues a block, waiting for room; false when the stitcher is gone.
    fn push_block(&self, block: Block) -> bool {
        let mut st = self.lock();
        while !st.stop && st.blocks.len() + st.ready.len() > st.taken + self.window {
            st = self.wait(st);
        }
        if st.stop {
            return false;
        }
        st.blocks.push_back(block);
        drop(st);
        self.changed.notify_all();
        true
    }
}

/// Tells the stitcher when a helper thread unwinds, so that it does not wait
/// for the chunk that thread had claimed.
struct DiedOnPanic<'a, 'm>(&'a Shared<'m>);

impl Drop for DiedOnPanic<'_, '_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.lock().helper_died = true;
            self.0.changed.notify_all();
        }
    }
}

/// Stops the other threads when the stitcher leaves, however it leaves.
struct StopOnDrop<'a, 'm>(&'a Shared<'m>);

impl Drop for StopOnDrop<'_, '_> {
    fn drop(&mut self) {
        self.0.lock().stop = true;
        self.0.changed.notify_all();
    }
}

/// Bytes of room a stream read gets at least.
const READ_ROOM: usize = 64 << 10;

/// Mapped pages are given back in steps of this many bytes (a multiple of
/// any page size).
const RELEASE_STEP: usize = 1 << 20;

/// Reads the mapped strace file `map` on `threads` threads (this one
/// included) into `provider`. Returns the lines dropped for length.
pub fn read(
    map: &memmap2::Mmap,
    id: InputId,
    threads: usize,
    provider: &mut dyn InputProvider,
    stats: &mut ReadStats,
) -> Cut {
    // Stitched bytes are not read again: their pages leave this process's
    // memory (the page cache keeps them), so a big file costs a window of
    // chunks, not its size.
    let mut released = 0usize;
    let mut done_with = |end: usize| {
        let upto = end / RELEASE_STEP * RELEASE_STEP;
        if upto > released {
            // SAFETY: the bytes below `end` are never read again; a read-only
            // file mapping reads them back from the file if they were.
            let _ = unsafe {
                map.unchecked_advise_range(
                    memmap2::UncheckedAdvice::DontNeed,
                    released,
                    upto - released,
                )
            };
            released = upto;
        }
    };
    let threads = parse_threads(threads);
    let shared = Shared::new(Source::Map(map), CHUNK, threads);
    stitch_all(
        &shared,
        None,
        id,
        threads,
        provider,
        stats,
        &mut |end, _, _| done_with(end),
    )
}

/// Reads a stream (stdin, a decompressed file) on `threads` threads: a reader
/// thread cuts it into blocks of whole lines and copies every byte to `spool`
/// (for evidence) as it reads, so the parsing never waits for the spool.
/// `done_with(end, parser, provider)` is told when every line below `end`
/// went through `parser` into `provider` (the spool drops what is cited no more).
pub fn read_stream(
    reader: &mut (dyn Read + Send),
    spool: Option<&mut (dyn Write + Send)>,
    id: InputId,
    threads: usize,
    provider: &mut dyn InputProvider,
    stats: &mut ReadStats,
    done_with: &mut DoneWith<'_>,
) -> std::io::Result<Cut> {
    read_stream_chunked(
        reader,
        spool,
        id,
        parse_threads(threads),
        CHUNK,
        provider,
        stats,
        done_with,
    )
}

/// Told after each chunk: every line below the offset went through the
/// parser into the provider.
pub type DoneWith<'a> = dyn FnMut(usize, &StraceParser, &mut dyn InputProvider) + 'a;

/// Threads to parse on: as asked, but no more than the machine runs at once
/// (more would only hold more chunks in memory).
fn parse_threads(asked: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    asked.clamp(1, cores.max(1))
}

#[allow(clippy::too_many_arguments)]
fn read_stream_chunked(
    reader: &mut (dyn Read + Send),
    spool: Option<&mut (dyn Write + Send)>,
    id: InputId,
    threads: usize,
    chunk_len: usize,
    provider: &mut dyn InputProvider,
    stats: &mut ReadStats,
    done_with: &mut DoneWith<'_>,
) -> std::io::Result<Cut> {
    let shared = Shared::new(Source::Stream, chunk_len, threads.max(1));
    let feed = StreamFeed { reader, spool };
    let cut = stitch_all(&shared, Some(feed), id, threads, provider, stats, done_with);
    match shared.lock().stream_error.take() {
        Some(e) => Err(e),
        None => Ok(cut),
    }
}

/// What the reader thread of a stream reads and writes.
struct StreamFeed<'r, 's> {
    reader: &'r mut (dyn Read + Send),
    spool: Option<&'s mut (dyn Write + Send)>,
}

/// Runs the threads (a stream's reader thread when `feed` is given, and
/// `threads - 1` threads parsing ahead) and stitches every chunk in order on
/// this one. `done_with(end, ..)` is told when every byte below `end` is stitched.
fn stitch_all(
    shared: &Shared<'_>,
    feed: Option<StreamFeed<'_, '_>>,
    id: InputId,
    threads: usize,
    provider: &mut dyn InputProvider,
    stats: &mut ReadStats,
    done_with: &mut DoneWith<'_>,
) -> Cut {
    let mut parser = StraceParser::new();
    let mut cut = Cut::default();
    let mut number: u32 = 0;
    std::thread::scope(|scope| {
        let _stop = StopOnDrop(shared);
        if let Some(feed) = feed {
            scope.spawn(move || {
                let _died = DiedOnPanic(shared);
                let StreamFeed { reader, spool } = feed;
                let spool = spool.map(|s| s as &mut dyn Write);
                shared.read_stream(reader, spool)
            });
        }
        for slot in 1..threads {
            scope.spawn(move || {
                let _died = DiedOnPanic(shared);
                shared.work(&mut AheadParser::new(slot))
            });
        }
        let mut ahead = AheadParser::new(0);
        let mut remaps = Remaps::default();
        let mut k = 0;
        while let Some(mut chunk) = shared.take(k, &mut ahead) {
            k += 1;
            let bytes: &[u8] = match shared.source {
                Source::Map(map) => map.get(chunk.start..chunk.end).unwrap_or(&[]),
                Source::Stream => chunk.owned.get(..chunk.end - chunk.start).unwrap_or(&[]),
            };
            provider.with_input(id, stats, &mut |ctx| {
                let mut remap = remaps.for_chunk(&chunk, parser.lines_seen);
                let mut pres = chunk.pres.iter();
                for rec in &chunk.recs {
                    number = number.saturating_add(1);
                    if rec.kind == RecKind::TooLong {
                        if cut.count == 0 {
                            cut.first_line = u64::from(number);
                        }
                        cut.count += 1;
                        continue;
                    }
                    let (start, len) = (rec.start as usize, rec.len as usize);
                    let line = bytes.get(start..start + len).unwrap_or(&[]);
                    let origin = Origin::line(id, number, (chunk.start + start) as u64);
                    let pre = match rec.kind {
                        RecKind::Parsed => pres.next(),
                        _ => None,
                    };
                    match pre {
                        None => parser.line(line, origin, None, ctx),
                        Some(pre) => {
                            let (a, b) = (pre.events.0 as usize, pre.events.1 as usize);
                            let events = chunk.events.get(a..b).unwrap_or(&[]);
                            parser.stitch(line, pre, events, origin, &mut remap, ctx);
                        }
                    }
                }
            });
            done_with(chunk.end, &parser, &mut *provider);
            shared.recycle(std::mem::take(&mut chunk.owned));
        }
    });
    provider.with_input(id, stats, &mut |ctx| parser.finish(ctx));
    cut
}

/// [`read`] on a byte slice with chunks of `chunk_len` bytes (the
/// equivalence checks cut at every line).
fn read_chunked(
    map: &[u8],
    id: InputId,
    threads: usize,
    chunk_len: usize,
    provider: &mut dyn InputProvider,
    stats: &mut ReadStats,
) -> Cut {
    let shared = Shared::new(Source::Map(map), chunk_len, threads.max(1));
    stitch_all(
        &shared,
        None,
        id,
        threads,
        provider,
        stats,
        &mut |_, _, _| {},
    )
}

/// The parallel reader checked against the sequential one on any bytes: for
/// the tests here and the `strace_parallel` fuzz target. Not part of the
/// tool's interface.
pub mod equivalence {
    use super::*;
    use crate::formats::EventSink;

    /// Collects what a reader produces: events and the interner.
    #[derive(Default)]
    pub struct Collect {
        pub interner: Interner,
        pub events: Vec<Event>,
    }

    impl InputProvider for Collect {
        fn with_input(
            &mut self,
            input: InputId,
            stats: &mut ReadStats,
            read: &mut dyn FnMut(&mut ReadContext<'_>),
        ) {
            let mut ctx = ReadContext {
                input,
                interner: &mut self.interner,
                sink: &mut self.events as &mut dyn EventSink,
                stats,
            };
            read(&mut ctx);
        }
    }

    /// Everything the sequential reader makes of `bytes`.
    pub fn sequential(bytes: &[u8]) -> (Collect, ReadStats, Cut) {
        let mut out = Collect::default();
        let mut stats = ReadStats::default();
        let mut parser = StraceParser::new();
        let cut = crate::input::lines::for_each_line(&mut &bytes[..], None, |l| {
            let origin = Origin::line(0, l.number, l.offset);
            out.with_input(0, &mut stats, &mut |ctx| {
                parser.line(l.bytes, origin, None, ctx)
            });
        })
        .unwrap();
        out.with_input(0, &mut stats, &mut |ctx| parser.finish(ctx));
        (out, stats, cut)
    }

    pub fn chunked(bytes: &[u8], threads: usize, chunk_len: usize) -> (Collect, ReadStats, Cut) {
        let mut out = Collect::default();
        let mut stats = ReadStats::default();
        let cut = read_chunked(bytes, 0, threads, chunk_len, &mut out, &mut stats);
        (out, stats, cut)
    }

    /// A reader that gives at most `step` bytes per read, as a pipe gives
    /// what it has.
    struct Trickle<'a> {
        bytes: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.bytes.len());
            buf[..n].copy_from_slice(&self.bytes[..n]);
            self.bytes = &self.bytes[n..];
            Ok(n)
        }
    }

    /// The stream path: also checks that the spool got every byte.
    pub fn streamed(bytes: &[u8], threads: usize, chunk_len: usize) -> (Collect, ReadStats, Cut) {
        let mut out = Collect::default();
        let mut stats = ReadStats::default();
        let mut reader = Trickle {
            bytes,
            step: chunk_len / 3 + 1,
        };
        let mut spool: Vec<u8> = Vec::new();
        let cut = read_stream_chunked(
            &mut reader,
            Some(&mut spool),
            0,
            threads,
            chunk_len,
            &mut out,
            &mut stats,
            &mut |_, _, _| {},
        )
        .unwrap();
        assert!(spool == bytes, "the spool is not the stream");
        (out, stats, cut)
    }

    fn strings(i: &Interner) -> Vec<String> {
        (0..i.len())
            .map(|n| i.resolve(Sym(n as u32)).to_string())
            .collect()
    }

    /// Asserts that the chunked read is the sequential one, field by field.
    /// Panics unless `bytes` read in chunks of `chunk_len` on `threads`
    /// threads, mapped and (for lengths above 1) streamed, give what the
    /// sequential reader gives: events field by field, interner order,
    /// counters, skips and dropped lines.
    pub fn assert_same(name: &str, bytes: &[u8], threads: usize, chunk_len: usize) {
        let (a, sa, ca) = sequential(bytes);
        let (b, sb, cb) = chunked(bytes, threads, chunk_len);
        let ctx = format!("{name}, {threads} threads, chunks of {chunk_len} bytes");
        compare(&ctx, (&a, &sa, ca), (&b, &sb, cb));
        // (A block per line of a stream costs a buffer each: not at length 1.)
        if chunk_len > 1 {
            let (b, sb, cb) = streamed(bytes, threads, chunk_len);
            compare(&format!("{ctx}, streamed"), (&a, &sa, ca), (&b, &sb, cb));
        }
    }

    fn compare(
        ctx: &str,
        (a, sa, ca): (&Collect, &ReadStats, Cut),
        (b, sb, cb): (&Collect, &ReadStats, Cut),
    ) {
        assert_eq!(strings(&a.interner), strings(&b.interner), "{ctx}: strings");
        assert_eq!(a.events.len(), b.events.len(), "{ctx}: event count");
        for (x, y) in a.events.iter().zip(&b.events) {
            assert_eq!(
                format!("{x:?}"),
                format!("{y:?}"),
                "{ctx}: event at line {}",
                x.origin.line
            );
        }
        assert_eq!(ca, cb, "{ctx}: cut lines");
        assert_eq!(sa.units, sb.units, "{ctx}: lines");
        assert_eq!(sa.events, sb.events, "{ctx}: events");
        assert_eq!(sa.skipped, sb.skipped, "{ctx}: skipped");
        assert_eq!(
            format!("{:?}", sa.skipped_by_reason),
            format!("{:?}", sb.skipped_by_reason),
            "{ctx}: skip reasons"
        );
        assert_eq!(sa.counters, sb.counters, "{ctx}: counters");
    }
}

#[cfg(test)]
mod tests {
    use super::equivalence::{Collect, assert_same, chunked, streamed};
    use super::*;

    /// Every bundled strace trace (fixtures, and the shared samples when present).
    fn bundled_traces() -> Vec<(String, Vec<u8>)> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut out = Vec::new();
        let mut dirs = vec![root.join("fixtures/strace")];
        let shared = root.join("../shared/samples/strace");
        if shared.is_dir() {
            dirs.push(shared);
        } else {
            eprintln!("../shared/samples/strace is absent: checking the fixtures only");
        }
        while let Some(dir) = dirs.pop() {
            let Ok(rd) = std::fs::read_dir(&dir) else {
                continue;
            };
            let mut entries: Vec<_> = rd.filter_map(Result::ok).map(|e| e.path()).collect();
            entries.sort();
            for p in entries {
                if p.is_dir() {
                    dirs.push(p);
                } else if p.extension().is_some_and(|e| e == "log") {
                    let bytes = std::fs::read(&p).unwrap();
                    if super::super::sniff(&bytes[..bytes.len().min(crate::input::SNIFF_LEN)]) {
                        out.push((p.display().to_string(), bytes));
                    }
                }
            }
        }
        out
    }

    #[test]
    fn every_bundled_trace_cut_at_every_line_reads_as_the_sequential_parse() {
        let traces = bundled_traces();
        assert!(traces.len() > 50, "only {} traces found", traces.len());
        for (name, bytes) in &traces {
            // Chunk length 1: every line is a chunk of its own.
            for (threads, chunk_len) in [(1, 1), (2, 1), (3, 97), (2, 4096)] {
                assert_same(name, bytes, threads, chunk_len);
            }
        }
    }

    /// A stream that fails after some lines: the error comes back (the
    /// reader turns it into exit 2 naming the input), nothing waits forever.
    #[test]
    fn a_read_error_mid_stream_is_returned() {
        struct Failing(usize);
        impl Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                if self.0 == 0 {
                    return Err(std::io::Error::other("device went away"));
                }
                self.0 -= 1;
                let line = b"5 close(3) = 0\n";
                buf[..line.len()].copy_from_slice(line);
                Ok(line.len())
            }
        }
        let mut out = Collect::default();
        let mut stats = ReadStats::default();
        let err = read_stream_chunked(
            &mut Failing(40),
            None,
            0,
            2,
            64,
            &mut out,
            &mut stats,
            &mut |_, _, _| {},
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "device went away");
        assert!(stats.units <= 40, "{} lines from 40", stats.units);
    }

    /// A thread that dies (here the stream's reader, through a reader that
    /// panics; a thread parsing ahead has the same guard) stops the stitcher,
    /// which would otherwise wait for ever for the chunk that thread owed, and
    /// its panic comes back to the caller.
    #[test]
    fn a_dying_reader_thread_stops_the_stitch() {
        struct Dies(usize);
        impl Read for Dies {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                assert!(self.0 > 0, "the reader went down");
                self.0 -= 1;
                let line = b"5 close(3) = 0\n";
                buf[..line.len()].copy_from_slice(line);
                Ok(line.len())
            }
        }
        for threads in [1, 2] {
            let mut out = Collect::default();
            let mut stats = ReadStats::default();
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                read_stream_chunked(
                    &mut Dies(40),
                    None,
                    0,
                    threads,
                    64,
                    &mut out,
                    &mut stats,
                    &mut |_, _, _| {},
                )
            }));
            let err = outcome.expect_err("the reader's panic was lost");
            let msg = err
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| err.downcast_ref::<&str>().copied())
                .unwrap_or("");
            // The reader's own message was printed by the panic hook; the
            // stitcher's says why it stopped.
            assert!(
                msg.contains("the reader went down")
                    || msg.contains("reading the trace ahead stopped"),
                "{msg}"
            );
            assert!(stats.units <= 40, "{} lines from 40", stats.units);
        }
    }

    /// The fuzzers' kept inputs (hostile, cut, binary) read the same both ways.
    #[test]
    fn fuzz_corpora_read_as_the_sequential_parse() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
        let mut n = 0;
        for dir in [
            "corpus/strace_stream",
            "corpus/strace_line",
            "corpus/end_to_end",
            "regressions/strace_stream",
            "regressions/strace_line",
        ] {
            let Ok(rd) = std::fs::read_dir(root.join(dir)) else {
                continue;
            };
            let mut files: Vec<_> = rd.filter_map(Result::ok).map(|e| e.path()).collect();
            files.sort();
            for p in files {
                let bytes = std::fs::read(&p).unwrap();
                for chunk_len in [1, 33] {
                    assert_same(&p.display().to_string(), &bytes, 2, chunk_len);
                }
                n += 1;
            }
        }
        assert!(n > 300, "only {n} corpus files");
    }

    #[test]
    fn chunks_end_at_line_ends() {
        let map = b"a\nbb\nccc\n\ndd";
        let mut cuts = vec![0];
        while *cuts.last().unwrap() < map.len() {
            cuts.push(chunk_end(map, *cuts.last().unwrap(), 3));
        }
        assert_eq!(cuts, [0, 5, 9, 12]);
        assert_eq!(chunk_end(b"abc", 0, 100), 3);
        assert_eq!(chunk_end(b"abc\n", 0, 4), 4);
    }

    #[test]
    fn a_resumed_half_whose_entry_was_taken_elsewhere_is_not_joined() {
        // 12's pending read is taken by the exec in 11 (`superseded`): the
        // chunk saw the entry and joins the resumed half, the real parser has
        // no entry for 12 any more and must skip the half instead.
        let t = b"12 read(3</tmp/a>, <unfinished ...>\n\
                  11 execve(\"/bin/true\", [\"true\"], 0x1 /* 1 var */ <unfinished ...>\n\
                  11 +++ superseded by execve in pid 12 +++\n\
                  12 <... read resumed>\"x\", 1) = 1\n\
                  11 exit_group(0) = ?\n\
                  11 +++ exited with 0 +++\n";
        for chunk_len in [1, 20, 40, 4096] {
            assert_same("superseded entry", t, 2, chunk_len);
        }
    }

    #[test]
    fn y_mode_learnt_in_an_earlier_chunk_marks_undecorated_fds() {
        let t = b"5 read(3</etc/passwd>, \"x\", 1) = 1\n\
                  5 close(7) = -1 EBADF (Bad file descriptor)\n\
                  5 read(9, <unfinished ...>\n\
                  5 <... read resumed>\"x\", 1) = 1\n";
        for chunk_len in [1, 30, 4096] {
            assert_same("y mode", t, 2, chunk_len);
        }
        let (b, _, _) = chunked(t, 2, 1);
        let close = b.events.iter().find(|e| e.handle == 7).unwrap();
        assert!(close.has(flags::UNDECORATED_IN_Y_MODE));
    }

    #[test]
    fn lines_too_long_are_dropped_and_counted_in_place() {
        let mut t = b"5 close(3) = 0\n".to_vec();
        t.extend(std::iter::repeat_n(b'x', MAX_LINE + 3));
        t.extend_from_slice(b"\n5 close(4) = 0\n");
        for (b, _, cut) in [chunked(&t, 2, 8), streamed(&t, 2, 1 << 16)] {
            assert_eq!(
                cut,
                Cut {
                    count: 1,
                    first_line: 2
                }
            );
            let lines: Vec<u32> = b.events.iter().map(|e| e.origin.line).collect();
            assert_eq!(lines, [1, 3]);
            assert_eq!(b.events[1].origin.offset, (15 + MAX_LINE + 4) as u64);
        }
        assert_same("long line", &t, 2, 1 << 16);
        // The long line last, without its line end.
        t.truncate(15 + MAX_LINE + 3);
        assert_same("long last line", &t, 2, 1 << 16);
    }
}
