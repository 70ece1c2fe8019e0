//! strace output: every layout strace 6.x writes (see shared research strace.md).
//!
//! The parser is a line-at-a-time state machine:
//! - [`prefix`] reads the task prefix and timestamp,
//! - [`tokenize`] scans arguments and the result tail (a call whose only fd
//!   is its first argument, `read`/`close`/`fstat`..., reads just that
//!   argument and finds the list's end; the common ` = N <dur>` tail is read
//!   without the general parse; both give the full scan's answer),
//! - [`syscalls`] says what each call does to fds, [`calls`] turns a scanned
//!   call into [`Event`]s,
//! - this file keeps the state across lines: unfinished/resumed halves (keyed
//!   by tid), which tasks live (to give unprefixed stderr-layout lines their
//!   task), the root task's real pid, children that print before their
//!   parent's clone returns, notices spliced into lines, and `-k` frames,
//!   which follow the line they belong to (events are held until the next
//!   non-frame line).

mod calls;
mod fast;
pub mod ff;
mod frames;
pub mod parallel;
mod prefix;
mod resource;
pub mod stream;
pub(crate) mod syscalls;
mod tokenize;

use crate::model::{Event, Op, Origin, Outcome, StackId, Sym, flags};

use self::prefix::{Clock, parse_leader};
use self::syscalls::{Action, FastMap, Spec, Table};
use super::ReadContext;

/// How many non-empty lines [`sniff`] looks at.
const SNIFF_LINES: usize = 8;

/// True when the head of an input looks like strace output: the first
/// non-empty line and most of the first few have a strace line shape
/// (optional pid prefix and timestamp, then `name(...) = ...`,
/// `name(... <unfinished ...>`, `<... name resumed>`, `+++ ... +++`,
/// `--- ... ---`, or a `strace: ` notice).
pub fn sniff(head: &[u8]) -> bool {
    let mut seen = 0usize;
    let mut good = 0usize;
    let mut lines = head.split(|&b| b == b'\n').peekable();
    while let Some(line) = lines.next() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        // The last piece may be cut mid-line: judge it only if it is all we have.
        if lines.peek().is_none() && seen > 0 {
            break;
        }
        if tokenize::trim(line).is_empty() {
            continue;
        }
        // A first line longer than the whole head (a big write, a long
        // argv): only its start is here, so judge the start.
        if seen == 0 && lines.peek().is_none() && head.len() >= crate::input::SNIFF_LEN {
            return looks_like_cut_strace(line);
        }
        let ok = looks_like_strace(line);
        if seen == 0 && !ok {
            return false;
        }
        seen += 1;
        good += usize::from(ok);
        if seen == SNIFF_LINES {
            break;
        }
    }
    seen > 0 && good * 2 > seen
}

fn looks_like_strace(line: &[u8]) -> bool {
    if line.starts_with(b"strace: ") || line.starts_with(b" > ") {
        return true;
    }
    let leader = parse_leader(line);
    let body = line.get(leader.body..).unwrap_or(&[]);
    if body.starts_with(b"+++ ") && body.ends_with(b"+++") || body.starts_with(b"--- ") {
        return true;
    }
    if body.starts_with(b"<... ") {
        return memchr::memmem::find(body, b" resumed>").is_some();
    }
    let name_len = call_name_len(body);
    if name_len == 0 || body.get(name_len) != Some(&b'(') {
        return false;
    }
    memchr::memmem::find(body, b") = ").is_some()
        || memchr::memmem::find(body, b")  ").is_some()
            && memchr::memmem::find(body, b"= ").is_some()
        || body.ends_with(b"<unfinished ...>")
        || body.ends_with(b"<detached ...>")
}

/// The start of a line cut by the end of the sniff head: a task or time
/// leader and a call opening (`1234 write(1, "...`), or a call the fd table
/// knows without a leader (the stderr layout).
fn looks_like_cut_strace(line: &[u8]) -> bool {
    let leader = parse_leader(line);
    let body = line.get(leader.body..).unwrap_or(&[]);
    let name_len = call_name_len(body);
    if name_len == 0 || body.get(name_len) != Some(&b'(') {
        return false;
    }
    let has_leader = leader.tid.is_some() || leader.stamp.is_some();
    has_leader || syscalls::Table::new().get(&body[..name_len]).is_some()
}

/// Length of a syscall name at the start of `body` (`[a-z_][a-z0-9_]*`).
fn call_name_len(body: &[u8]) -> usize {
    if !body
        .first()
        .is_some_and(|b| b.is_ascii_lowercase() || *b == b'_')
    {
        return 0;
    }
    body.iter().take_while(|b| NAME_BYTE[**b as usize]).count()
}

/// The bytes of a call name after its first: `a-z`, `0-9`, `_`.
const NAME_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_';
        b += 1;
    }
    t
};

const UNFINISHED: &[u8] = b"<unfinished ...>";
const DETACHED: &[u8] = b"<detached ...>";

/// One task (thread or process) strace printed.
#[derive(Default)]
struct Task {
    live: bool,
    /// The entry half of an `<unfinished ...>` call, if one is outstanding.
    pending: Option<Pending>,
}

struct Pending {
    /// Table index of the call.
    index: u16,
    spec: Spec,
    /// The call text up to ` <unfinished ...>` (`read(3, `).
    text: Vec<u8>,
    /// For a pending clone/fork: the child whose Spawn was already emitted
    /// because it printed before the clone returned.
    spawned: Option<u32>,
    /// [`StraceParser::lines_seen`] at the entry line: how a resumed half
    /// parsed ahead in a chunk checks that it resumes this very entry.
    from_line: u64,
}

/// Per-line values every event of the line shares.
#[derive(Clone, Copy)]
struct LineCtx {
    time: Option<i64>,
    tid: u32,
    origin: Origin,
    flags: u8,
}

/// A call line cut by the traced program's own output on the same stderr
/// (`write(2<...>, "GET /"..., 65127.0.0.1 - - [...]`), waiting for the line
/// that finishes it (`) = 65`).
pub(crate) struct CutCall {
    pub(crate) body: Vec<u8>,
    pub(crate) name_len: usize,
    cur: LineCtx,
}

/// Program output lines a cut call waits through before it is given up.
const CUT_WAIT_LINES: u32 = 64;

/// Line-at-a-time strace parser. Feed every line (without its `\n`) in order,
/// then call [`StraceParser::finish`].
pub struct StraceParser {
    table: Table,
    /// Interned call names by table index.
    names: Vec<Option<Sym>>,
    clock: Clock,
    tasks: FastMap<u32, Task>,
    /// Tasks that may have an unspawned clone pending, in tid order: a
    /// superset of them, cleaned as it is read, so finding the parent of a
    /// task that appears unannounced costs O(1) amortised, not O(tasks).
    clone_waiters: std::collections::BTreeSet<u32>,
    live_count: usize,
    /// The live task when exactly one lives (cache; `None` = recompute).
    lone_cache: Option<u32>,
    /// The task of the last line when it was live: most lines come from the
    /// task before them or one just like it. Cleared when any task's
    /// liveness changes.
    live_cache: Option<u32>,
    /// The task unprefixed lines belong to before its pid is known is 0.
    root: u32,
    root_learnt: bool,
    /// The trace uses -y (a decoration was seen).
    y_mode: bool,
    /// An fd argument without decoration was met while `y_mode` was off: its
    /// event would carry [`flags::UNDECORATED_IN_Y_MODE`] had -y been seen.
    /// A line parsed ahead (without the real `y_mode`) is redone when set.
    undecorated_before_y: bool,
    /// Lines fed to [`StraceParser::line`] so far.
    lines_seen: u64,
    /// Events of the last line, waiting for its `-k` frames.
    held: Vec<Event>,
    frames: Vec<Sym>,
    /// Text of a line cut by a spliced `strace: Process N attached` notice.
    stash: Vec<u8>,
    /// A call line cut by program output, and the lines waited since.
    cut_by_output: Option<CutCall>,
    cut_waited: u32,
    joined: Vec<u8>,
    rebuilt: Vec<u8>,
    scratch: Vec<u8>,
    entry_buf: Vec<u8>,
    deco_cache: calls::DecoCache,
    /// Spare buffers for pending entry halves.
    pool: Vec<Vec<u8>>,
    in_summary: bool,
    cur: LineCtx,
    alias_sym: Option<Sym>,
    exit_sym: Option<Sym>,
}

impl Default for StraceParser {
    fn default() -> Self {
        StraceParser::new()
    }
}

impl StraceParser {
    pub fn new() -> StraceParser {
        let table = Table::new();
        let names = vec![None; table.len()];
        StraceParser {
            table,
            names,
            clock: Clock::default(),
            tasks: FastMap::default(),
            clone_waiters: Default::default(),
            live_count: 0,
            lone_cache: None,
            live_cache: None,
            root: 0,
            root_learnt: false,
            y_mode: false,
            undecorated_before_y: false,
            lines_seen: 0,
            held: Vec::new(),
            frames: Vec::new(),
            stash: Vec::new(),
            cut_by_output: None,
            cut_waited: 0,
            joined: Vec::new(),
            rebuilt: Vec::new(),
            scratch: Vec::new(),
            entry_buf: Vec::new(),
            deco_cache: calls::DecoCache::default(),
            pool: Vec::new(),
            in_summary: false,
            cur: LineCtx {
                time: None,
                tid: 0,
                origin: Origin::default(),
                flags: 0,
            },
            alias_sym: None,
            exit_sym: None,
        }
    }

    /// `forced_tid`: the task of every line (strace `-ff` per-task files).
    pub fn line(
        &mut self,
        line: &[u8],
        origin: Origin,
        forced_tid: Option<u32>,
        ctx: &mut ReadContext<'_>,
    ) {
        ctx.stats.units += 1;
        self.lines_seen += 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.starts_with(b" > ") {
            self.frame(line, ctx);
            return;
        }
        if !self.stash.is_empty() {
            if line.starts_with(b"strace: ") {
                ctx.stats.bump("notices", 1);
                return;
            }
            let mut joined = std::mem::take(&mut self.joined);
            joined.clear();
            joined.extend_from_slice(&self.stash);
            joined.extend_from_slice(line);
            self.stash.clear();
            self.text_line(&joined, origin, forced_tid, ctx);
            self.joined = joined;
        } else {
            self.text_line(line, origin, forced_tid, ctx);
        }
    }

    /// Flushes held events. Pending unfinished calls stay unfinished.
    pub fn finish(&mut self, ctx: &mut ReadContext<'_>) {
        self.give_up_cut(ctx);
        if !self.stash.is_empty() {
            ctx.stats.skip(
                crate::formats::SkipReason::StraceCutByNotice,
                u64::from(self.cur.origin.line),
            );
            self.stash.clear();
        }
        self.flush(ctx);
    }

    fn text_line(
        &mut self,
        text: &[u8],
        origin: Origin,
        forced_tid: Option<u32>,
        ctx: &mut ReadContext<'_>,
    ) {
        if text.first().is_some_and(u8::is_ascii_digit) && !self.in_summary {
            // `PID ...`, nearly every line of a prefixed trace: none of the
            // notices, hex dumps, summaries or blank lines below start so.
            if spliced_notice(text).is_none() {
                return self.strace_line(text, origin, forced_tid, ctx);
            }
        }
        if text.starts_with(b" | ") {
            ctx.stats.bump("hexdump lines", 1);
            return;
        }
        if self.in_summary {
            ctx.stats.bump("summary lines", 1);
            let t = tokenize::trim(text);
            if t.ends_with(b" total") || t.is_empty() {
                self.in_summary = false;
            }
            return;
        }
        if text.starts_with(b"strace: ") {
            ctx.stats.bump("notices", 1);
            return;
        }
        if let Some(pos) = spliced_notice(text) {
            ctx.stats.bump("notices", 1);
            self.stash.clear();
            self.stash.extend_from_slice(text.get(..pos).unwrap_or(&[]));
            return;
        }
        if text.starts_with(b"% time") || text.starts_with(b"System call usage summary") {
            ctx.stats.bump("summary lines", 1);
            self.in_summary = true;
            return;
        }
        if tokenize::trim(text).is_empty() {
            return;
        }
        self.strace_line(text, origin, forced_tid, ctx);
    }

    /// A line that is no notice, summary, hex dump or blank line.
    fn strace_line(
        &mut self,
        text: &[u8],
        origin: Origin,
        forced_tid: Option<u32>,
        ctx: &mut ReadContext<'_>,
    ) {
        let at = u64::from(origin.line);
        let leader = fast::leader(text).unwrap_or_else(|| parse_leader(text));
        let body = text.get(leader.body..).unwrap_or(&[]);
        let kind = body_kind(body);
        if kind == BodyKind::Other && leader.tid.is_none() && leader.stamp.is_none() {
            if self.continue_cut(text, ctx) {
                return;
            }
        } else {
            self.give_up_cut(ctx);
        }
        if kind == BodyKind::Other {
            let reason = if leader.tid.is_some() || leader.stamp.is_some() {
                crate::formats::SkipReason::StraceUnrecognisedLine
            } else {
                crate::formats::SkipReason::StraceNotStrace
            };
            ctx.stats.skip(reason, at);
            return;
        }
        // A strace line: the frames gathered so far belong to the previous one.
        self.flush(ctx);
        let time = leader.stamp.map(|s| self.clock.time(s));
        let tid = match (forced_tid, leader.tid) {
            (Some(f), _) => f,
            (None, Some(t)) => t,
            (None, None) => self.lone(),
        };
        self.cur = LineCtx {
            time,
            tid,
            origin,
            flags: 0,
        };
        let tid = self.observe(
            tid,
            leader.bracketed && forced_tid.is_none(),
            body,
            kind,
            ctx,
        );
        self.cur.tid = tid;
        match kind {
            BodyKind::Exit => self.exit_line(body, ctx),
            BodyKind::Signal => ctx.stats.bump("signals", 1),
            BodyKind::Personality => ctx.stats.bump("notices", 1),
            BodyKind::Resumed => self.resumed(body, ctx),
            BodyKind::Call(name_len) => self.call_line(body, name_len, ctx),
            BodyKind::Other => {}
        }
    }

    /// A line after a call cut by program output: its continuation (`) = 4`,
    /// ` <unfinished ...>`) rejoins the call; other text is the program's.
    fn continue_cut(&mut self, text: &[u8], ctx: &mut ReadContext<'_>) -> bool {
        if self.cut_by_output.is_none() {
            return false;
        }
        let t = tokenize::trim(text);
        let rest = if t.starts_with(b")") {
            t
        } else if t.starts_with(UNFINISHED.trim_ascii_start()) {
            UNFINISHED
        } else {
            self.cut_waited += 1;
            if self.cut_waited > CUT_WAIT_LINES {
                self.give_up_cut(ctx);
            }
            return false;
        };
        let Some(cut) = self.cut_by_output.take() else {
            return false;
        };
        self.cut_waited = 0;
        let mut joined = Vec::with_capacity(cut.body.len() + rest.len());
        joined.extend_from_slice(
            cut.body
                .get(..args_end(&cut.body, cut.name_len))
                .unwrap_or(&[]),
        );
        joined.extend_from_slice(rest);
        let origin = self.cur.origin;
        self.cur = cut.cur;
        ctx.stats.bump("calls rejoined after program output", 1);
        self.call_line(&joined, cut.name_len, ctx);
        self.cur.origin = origin;
        true
    }

    /// A cut call that never got its continuation: skipped and counted.
    fn give_up_cut(&mut self, ctx: &mut ReadContext<'_>) {
        if let Some(cut) = self.cut_by_output.take() {
            ctx.stats.skip(
                crate::formats::SkipReason::StraceUnparseableCall,
                u64::from(cut.cur.origin.line),
            );
        }
        self.cut_waited = 0;
    }

    /// The task of an unprefixed line: the lone live task, else the root.
    fn lone(&mut self) -> u32 {
        if self.live_count != 1 {
            return self.root;
        }
        if let Some(t) = self.lone_cache {
            return t;
        }
        let t = self
            .tasks
            .iter()
            .find(|(_, t)| t.live)
            .map(|(id, _)| *id)
            .unwrap_or(self.root);
        self.lone_cache = Some(t);
        t
    }

    fn set_live(&mut self, tid: u32, live: bool) {
        let task = self.tasks.entry(tid).or_default();
        if task.live != live {
            task.live = live;
            if live {
                self.live_count += 1;
            } else {
                self.live_count = self.live_count.saturating_sub(1);
            }
            self.lone_cache = None;
            self.live_cache = None;
        }
    }

    /// Registers the task of a line. A task never seen before is the root
    /// (stderr layout, whose pid is now learnt), a child printing before its
    /// parent's clone returned (Spawn now), or a task that existed before the
    /// trace (nothing). Returns the tid to use for the line.
    fn observe(
        &mut self,
        tid: u32,
        bracketed: bool,
        body: &[u8],
        kind: BodyKind,
        ctx: &mut ReadContext<'_>,
    ) -> u32 {
        if self.live_cache == Some(tid) {
            return tid;
        }
        if self.tasks.get(&tid).is_some_and(|t| t.live) {
            self.live_cache = Some(tid);
            return tid;
        }
        if tid != 0 && bracketed && !self.root_learnt && self.tasks.contains_key(&0) {
            let resumes_root = kind == BodyKind::Resumed
                && self
                    .tasks
                    .get(&0)
                    .and_then(|t| t.pending.as_ref())
                    .is_some_and(|p| {
                        let name = syscalls::Table::name(p.index).as_bytes();
                        resumed_name(body) == Some(name)
                    });
            if resumes_root || !self.any_pending_spawn() {
                self.learn_root(tid, ctx);
                return tid;
            }
        }
        if tid != 0 {
            self.early_spawn(tid, ctx);
        }
        self.set_live(tid, true);
        tid
    }

    fn any_pending_spawn(&mut self) -> bool {
        self.first_clone_waiter().is_some()
    }

    /// The lowest tid with an unspawned clone pending; drops stale entries.
    fn first_clone_waiter(&mut self) -> Option<u32> {
        while let Some(&id) = self.clone_waiters.first() {
            let waiting = self
                .tasks
                .get(&id)
                .and_then(|t| t.pending.as_ref())
                .is_some_and(is_unspawned_clone);
            if waiting {
                return Some(id);
            }
            self.clone_waiters.pop_first();
        }
        None
    }

    /// A task appeared while some task has a clone pending: it is that child.
    fn early_spawn(&mut self, child: u32, ctx: &mut ReadContext<'_>) {
        let Some(parent) = self.first_clone_waiter() else {
            return;
        };
        let Some(mut p) = self.tasks.get_mut(&parent).and_then(|t| t.pending.take()) else {
            return;
        };
        p.spawned = Some(child);
        let (shares, thread) = self.pending_clone_flags(&p);
        let call = self.name_sym(p.index, ctx);
        if let Some(t) = self.tasks.get_mut(&parent) {
            t.pending = Some(p);
        }
        let mut ev = self.event(
            Op::Spawn {
                child,
                shares_table: shares,
                thread,
            },
            call,
            -1,
        );
        ev.pid = parent;
        ev.tid = parent;
        self.send(ev, ctx);
    }

    fn learn_root(&mut self, real: u32, ctx: &mut ReadContext<'_>) {
        // Task 0's entry moves to `real`: no remembered task stays valid.
        self.live_cache = None;
        self.root = real;
        self.root_learnt = true;
        let sym = *self
            .alias_sym
            .get_or_insert_with(|| ctx.interner.intern("(alias)"));
        let mut ev = self.event(Op::Alias { real }, sym, -1);
        ev.pid = 0;
        ev.tid = 0;
        self.send(ev, ctx);
        if let Some(old) = self.tasks.remove(&0) {
            if old.live {
                self.live_count = self.live_count.saturating_sub(1);
            }
            let was_live = old.live;
            let entry = self.tasks.entry(real).or_default();
            if entry.pending.is_none() {
                entry.pending = old.pending;
                self.clone_waiters.insert(real);
            }
            self.lone_cache = None;
            if was_live {
                self.set_live(real, true);
            }
        } else {
            self.set_live(real, true);
        }
    }

    fn exit_line(&mut self, body: &[u8], ctx: &mut ReadContext<'_>) {
        let tid = self.cur.tid;
        let sym = *self
            .exit_sym
            .get_or_insert_with(|| ctx.interner.intern("exit"));
        if let Some(rest) = body.strip_prefix(b"+++ superseded by execve in pid ") {
            let (n, digits, _) = prefix::parse_digits(rest, 0);
            let Some(old) = u32::try_from(n).ok().filter(|_| digits > 0) else {
                ctx.stats.skip(
                    crate::formats::SkipReason::StraceUnparseableExit,
                    u64::from(self.cur.origin.line),
                );
                return;
            };
            // The exec'ing thread's pending execve resumes under the leader.
            if let Some(p) = self.tasks.get_mut(&old).and_then(|t| t.pending.take()) {
                self.release_pending(tid);
                if let Some(t) = self.tasks.get_mut(&tid) {
                    t.pending = Some(p);
                    self.clone_waiters.insert(tid);
                }
            }
            self.set_live(old, false);
            let mut ev = self.event(Op::TaskExit, sym, -1);
            ev.pid = old;
            ev.tid = old;
            self.hold(ev);
            return;
        }
        if body.starts_with(b"+++ exited") || body.starts_with(b"+++ killed") {
            self.release_pending(tid);
            self.set_live(tid, false);
            let ev = self.event(Op::TaskExit, sym, -1);
            self.hold(ev);
        } else {
            ctx.stats.skip(
                crate::formats::SkipReason::StraceUnrecognisedExit,
                u64::from(self.cur.origin.line),
            );
        }
    }

    fn release_pending(&mut self, tid: u32) {
        if let Some(p) = self.tasks.get_mut(&tid).and_then(|t| t.pending.take()) {
            let mut text = p.text;
            text.clear();
            self.pool.push(text);
        }
    }

    fn call_line(&mut self, body: &[u8], name_len: usize, ctx: &mut ReadContext<'_>) {
        let name = body.get(..name_len).unwrap_or(&[]);
        let t = tokenize::trim(body);
        let (cut, detached) = if !t.ends_with(b" ...>") {
            // Complete (`) = 0 <0.000010>`), the common case: every cut half
            // ends in ` ...>`.
            (None, false)
        } else if let Some(head) = t.strip_suffix(UNFINISHED) {
            (Some(head), false)
        } else if let Some(head) = t.strip_suffix(DETACHED) {
            (Some(head), true)
        } else if t.ends_with(b" ...>") {
            // `<pid changed to N ...>` (-ff exec from a thread): waits like unfinished.
            match memchr::memmem::rfind(t, b" <pid changed to ") {
                Some(k) => (t.get(..k + 1), false),
                None => (None, false),
            }
        } else {
            (None, false)
        };
        let Some((index, spec)) = self.table.get(name) else {
            if cut.is_some() {
                self.release_pending(self.cur.tid);
            }
            return;
        };
        match cut {
            None => self.complete(body, name_len, index, spec, None, ctx),
            Some(head) => {
                let head = head.strip_suffix(b" ").unwrap_or(head);
                if detached {
                    // strace let go of the task mid-call: complete, result unknown.
                    let mut buf = std::mem::take(&mut self.rebuilt);
                    buf.clear();
                    buf.extend_from_slice(head);
                    buf.extend_from_slice(b") = ?");
                    self.complete(&buf, name_len, index, spec, None, ctx);
                    self.rebuilt = buf;
                    return;
                }
                self.entry_events(head, name_len, index, spec, ctx);
                self.start_pending(self.cur.tid, index, spec, head);
            }
        }
    }

    /// `tid`'s entry half `head` (`read(3, `) of call `index` is now the one
    /// waiting for its `<... resumed>` half.
    fn start_pending(&mut self, tid: u32, index: u16, spec: Spec, head: &[u8]) {
        self.release_pending(tid);
        let mut text = self.pool.pop().unwrap_or_default();
        text.extend_from_slice(head);
        if matches!(spec.action, Action::Clone | Action::Clone3 | Action::Fork) {
            self.clone_waiters.insert(tid);
        }
        self.tasks.entry(tid).or_default().pending = Some(Pending {
            index,
            spec,
            text,
            spawned: None,
            from_line: self.lines_seen,
        });
    }

    fn resumed(&mut self, body: &[u8], ctx: &mut ReadContext<'_>) {
        let at = u64::from(self.cur.origin.line);
        let Some(name) = resumed_name(body) else {
            ctx.stats
                .skip(crate::formats::SkipReason::StraceUnparseableResumed, at);
            return;
        };
        // `<... NAME resumed>` is 14 bytes plus the name.
        let rest = body.get(name.len() + 14..).unwrap_or(&[]);
        let tid = self.cur.tid;
        let pending = self.tasks.get_mut(&tid).and_then(|t| t.pending.take());
        let mut rebuilt = std::mem::take(&mut self.rebuilt);
        rebuilt.clear();
        match pending {
            Some(p) if syscalls::Table::name(p.index).as_bytes() == name => {
                rebuilt.extend_from_slice(&p.text);
                rebuilt.extend_from_slice(rest);
                self.cur.flags |= flags::RESUMED;
                self.complete(&rebuilt, name.len(), p.index, p.spec, p.spawned, ctx);
                let mut text = p.text;
                text.clear();
                self.pool.push(text);
            }
            other => {
                if let Some(p) = other {
                    // A different call resumed: the old entry is stale.
                    self.pool.push(p.text);
                }
                if let Some((index, spec)) = self.table.get(name) {
                    if matches!(
                        spec.action,
                        Action::Exec | Action::Clone | Action::Clone3 | Action::Fork
                    ) {
                        // Only the result matters: rebuild `name(` + rest.
                        rebuilt.extend_from_slice(name);
                        rebuilt.push(b'(');
                        rebuilt.extend_from_slice(rest);
                        self.cur.flags |= flags::RESUMED;
                        self.complete(&rebuilt, name.len(), index, spec, None, ctx);
                    } else {
                        ctx.stats
                            .skip(crate::formats::SkipReason::StraceResumedWithoutEntry, at);
                    }
                }
            }
        }
        self.rebuilt = rebuilt;
    }

    /// Frame line: interned now, attached to the held events at the next flush.
    fn frame(&mut self, line: &[u8], ctx: &mut ReadContext<'_>) {
        if self.held.is_empty() {
            return;
        }
        if frames::normalize(line, &mut self.scratch) {
            let sym = ctx.interner.intern_bytes(&self.scratch);
            self.frames.push(sym);
        }
    }

    fn flush(&mut self, ctx: &mut ReadContext<'_>) {
        if self.held.is_empty() && self.frames.is_empty() {
            return;
        }
        let stack: Option<StackId> = if self.frames.is_empty() {
            None
        } else {
            Some(ctx.interner.intern_stack(&self.frames))
        };
        self.frames.clear();
        let mut held = std::mem::take(&mut self.held);
        for mut ev in held.drain(..) {
            if stack.is_some() {
                ev.stack = stack;
            }
            ctx.stats.events += 1;
            ctx.sink.event(ev);
        }
        self.held = held;
    }

    fn hold(&mut self, ev: Event) {
        self.held.push(ev);
    }

    /// Sends an event at once, ahead of the held ones' frames (Alias, early Spawn).
    fn send(&mut self, ev: Event, ctx: &mut ReadContext<'_>) {
        ctx.stats.events += 1;
        ctx.sink.event(ev);
    }

    fn event(&self, op: Op, call: Sym, handle: i64) -> Event {
        let mut ev = Event::new(op, call, self.cur.origin);
        ev.time = self.cur.time;
        ev.pid = self.cur.tid;
        ev.tid = self.cur.tid;
        ev.handle = handle;
        ev.flags = self.cur.flags;
        ev.outcome = Outcome::Ok;
        ev
    }

    fn name_sym(&mut self, index: u16, ctx: &mut ReadContext<'_>) -> Sym {
        match self.names.get(index as usize).copied().flatten() {
            Some(s) => {
                ctx.interner.touch(s);
                s
            }
            None => {
                let s = ctx.interner.intern(syscalls::Table::name(index));
                if let Some(slot) = self.names.get_mut(index as usize) {
                    *slot = Some(s);
                }
                s
            }
        }
    }
}

fn is_unspawned_clone(p: &Pending) -> bool {
    p.spawned.is_none() && matches!(p.spec.action, Action::Clone | Action::Clone3 | Action::Fork)
}

/// The name in `<... NAME resumed>`.
fn resumed_name(body: &[u8]) -> Option<&[u8]> {
    let rest = body.strip_prefix(b"<... ")?;
    let n = call_name_len(rest);
    if n == 0 || !rest.get(n..)?.starts_with(b" resumed>") {
        return None;
    }
    rest.get(..n)
}

/// Where a `strace: Process N attached` notice was spliced onto the end of a
/// line (strace writes the notice and a newline in the middle of a line; the
/// line continues on the next one).
fn spliced_notice(text: &[u8]) -> Option<usize> {
    // Most lines end in `>` (a -T duration) or a digit: one byte says no.
    if !matches!(text.last(), Some(b'd' | b's' | b' ')) {
        return None;
    }
    let t = tokenize::trim(text);
    if !(t.ends_with(b"attached") || t.ends_with(b"detached") || t.ends_with(b"threads")) {
        return None;
    }
    let pos = memchr::memmem::rfind(text, b"strace: Process ")?;
    (pos > 0).then_some(pos)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BodyKind {
    Call(usize),
    Resumed,
    Exit,
    Signal,
    Personality,
    Other,
}

fn body_kind(body: &[u8]) -> BodyKind {
    match body.first() {
        Some(b'+') if body.starts_with(b"+++ ") => BodyKind::Exit,
        Some(b'-') if body.starts_with(b"--- ") => BodyKind::Signal,
        Some(b'<') if body.starts_with(b"<... ") => BodyKind::Resumed,
        Some(b'[') if body.starts_with(b"[ Process PID=") => BodyKind::Personality,
        _ => {
            let n = call_name_len(body);
            if n > 0 && body.get(n) == Some(&b'(') {
                BodyKind::Call(n)
            } else {
                BodyKind::Other
            }
        }
    }
}

/// Where the real arguments of a call cut by program output end: the last
/// top-level argument keeps only what an argument can be (a number with its
/// `<...>` decoration, or flags); the program's text after it is dropped.
fn args_end(body: &[u8], name_len: usize) -> usize {
    let start = name_len + 1;
    let (mut depth, mut in_str, mut esc) = (0i32, false, false);
    let mut last_arg = start;
    let mut i = start;
    while i < body.len() {
        let c = body[i];
        if in_str {
            if esc {
                esc = false;
            } else if c == b'\\' {
                esc = true;
            } else if c == b'"' {
                in_str = false;
            }
        } else {
            match c {
                b'"' => in_str = true,
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => depth -= 1,
                b',' if depth == 0 && body.get(i + 1) == Some(&b' ') => last_arg = i + 2,
                _ => {}
            }
        }
        i += 1;
    }
    let arg = body.get(last_arg..).unwrap_or(&[]);
    let keep = if arg.first().is_some_and(u8::is_ascii_digit) {
        let digits = arg.iter().take_while(|b| b.is_ascii_digit()).count();
        match (arg.get(digits), memchr::memchr(b'>', arg)) {
            (Some(b'<'), Some(close)) => close + 1,
            _ => digits,
        }
    } else {
        arg.iter()
            .take_while(|b| {
                b.is_ascii_uppercase() || b.is_ascii_digit() || **b == b'_' || **b == b'|'
            })
            .count()
    };
    last_arg + keep
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniff_accepts_every_layout() {
        assert!(sniff(
            b"execve(\"./x\", [\"./x\"], 0x7ffe /* 35 vars */) = 0\nbrk(NULL) = 0x55\n"
        ));
        assert!(sniff(b"32444 02:45:15.216818 execve(\"./t\", [\"./t\"], 0x7f /* 35 vars */) = 0 <0.000219>\n32444 02:45:15.217147 brk(NULL)         = 0x55b1aa19f000 <0.000005>\n"));
        assert!(sniff(
            b"strace: Process 12848 attached\nread(0,  <unfinished ...>\n"
        ));
        assert!(sniff(b"[pid   455] 02:45:47.378211 rseq(0x7f, 0x20, 0, 0x53053053 <unfinished ...>\n[pid   454] <... rt_sigprocmask resumed>NULL, 8) = 0\n"));
        assert!(sniff(b"     0.000000 close(3)                     = 0\n"));
    }

    #[test]
    fn sniff_rejects_other_formats() {
        assert!(!sniff(
            b"{\"schema\": \"handlecheck-events\", \"version\": 1}\n{\"op\": \"open\"}\n"
        ));
        assert!(!sniff(b"<?xml version=\"1.0\"?>\n<avrf:logfile>\n"));
        assert!(!sniff(
            b"Handle = 0x0000000000000abc - OPEN\nThread ID = 0x1\n"
        ));
        assert!(!sniff(b"fn main() {\n    println!(\"x\");\n}\n"));
        assert!(!sniff(b""));
        assert!(!sniff(b"print(x)\nfoo(1)\n"));
    }

    #[test]
    fn args_end_drops_the_programs_text() {
        let w = b"write(2</tmp/e.log>, \"127.0.0.1 - - [01/Dec\"..., 74127.0.0.1 - - [01/Dec] \"GET /\" 200 -";
        let end = args_end(w, 5);
        assert_eq!(
            &w[..end],
            b"write(2</tmp/e.log>, \"127.0.0.1 - - [01/Dec\"..., 74127"
        );
        let o = b"openat(AT_FDCWD</w>, \"/etc/x\", O_RDONLY|O_CLOEXEC2026-12-01 LOG: x, y";
        // the program's ", " is taken for a separator: only the scalar part stays
        assert_eq!(
            &o[..args_end(o, 6)],
            b"openat(AT_FDCWD</w>, \"/etc/x\", O_RDONLY|O_CLOEXEC2026-12-01 LOG: x, "
        );
        let c = b"close(3</etc/hostname>hello";
        assert_eq!(&c[..args_end(c, 5)], b"close(3</etc/hostname>");
    }

    #[test]
    fn spliced_notice_position() {
        assert_eq!(
            spliced_notice(b"clone3({flags=CLONE_VM}strace: Process 455 attached"),
            Some(23)
        );
        assert_eq!(spliced_notice(b"strace: Process 455 attached"), None);
        assert_eq!(spliced_notice(b"read(3, \"x\", 1) = 1"), None);
    }

    #[test]
    fn body_kinds() {
        assert_eq!(body_kind(b"close(3) = 0"), BodyKind::Call(5));
        assert_eq!(
            body_kind(b"<... read resumed>\"\", 1) = 0"),
            BodyKind::Resumed
        );
        assert_eq!(body_kind(b"+++ exited with 0 +++"), BodyKind::Exit);
        assert_eq!(
            body_kind(b"--- SIGCHLD {si_signo=SIGCHLD} ---"),
            BodyKind::Signal
        );
        assert_eq!(body_kind(b"fdsan: good failed to write?!"), BodyKind::Other);
        assert_eq!(
            resumed_name(b"<... clone3 resumed> => {parent_tid=[1]}, 88) = 1"),
            Some(&b"clone3"[..])
        );
    }
}
