//! `perf trace` output (Linux perf 6.x, `perf trace -o FILE -- CMD`, `-a`, or its
//! stderr on a pipe).
//!
//! - [`line`] reads one line (`TIME ( DUR ms): comm/TID name(args) = ret`),
//! - [`args`] its `name: value` arguments (zeros omitted: positions come from
//!   [`params`]) and result,
//! - [`order`] puts the records back in time order,
//! - [`tasks`] gives tasks their thread group and decides clone3 children,
//! - [`calls`] turns a call into events with the strace reader's syscall table.
//!
//! What this format cannot show (paths, pipe and socketpair fds, SCM_RIGHTS fds,
//! clone3 flags) is said in the notes the analysis adds to every finding from it;
//! `LOST N events!` notices are counted in [`ReadStats::lost`](super::ReadStats).

mod args;
mod calls;
pub mod caveats;
mod line;
mod order;
mod params;
mod shadow;
mod tasks;

use std::collections::HashMap;

use crate::formats::strace::syscalls::{Action, Spec, Table};
use crate::model::{Event, Op, Origin, ResourceKind, Sym, flags};

use self::args::{Args, Ret};
use self::calls::{CallCtx, Made};
use self::line::{CallLine, Line, Shape};
use super::{InputError, ReadContext};

/// Counter: clone3 children taken as threads (see [`tasks`]).
pub const CLONE3_THREADS: &str = "perf: clone3 children taken as threads";
/// Counter: clone3 children taken as processes.
pub const CLONE3_PROCESSES: &str = "perf: clone3 children taken as processes";
/// Counter: fds of pipe/socketpair inferred (lowest free values of a known table).
pub const PAIRS_INFERRED: &str = "perf: pipe/socketpair fds inferred";
/// Counter: pipe/socketpair calls whose fds could not be inferred.
pub const PAIRS_UNKNOWN: &str = "perf: pipe/socketpair fds not shown";
/// Counter: `[continued]` lines whose entry was not seen (no arguments to use).
pub const RETURNS_WITHOUT_ENTRY: &str =
    "perf: returns without their entry (in flight at start, lost, or denied by seccomp)";
/// Key of [`ReadStats::lost`](super::ReadStats) for `LOST N events!`.
pub const LOST_EVENTS: &str = "events (perf LOST notices)";

const SNIFF_LINES: usize = 8;

/// True when most of the first lines are `perf trace` lines (and the first is).
pub fn sniff(head: &[u8]) -> bool {
    let mut seen = 0usize;
    let mut good = 0usize;
    let mut lines = head.split(|&b| b == b'\n').peekable();
    while let Some(l) = lines.next() {
        if lines.peek().is_none() && seen > 0 {
            break; // may be cut mid-line
        }
        let ok = match line::parse(l.strip_suffix(b"\r").unwrap_or(l)) {
            Line::Blank => continue,
            Line::Call(_) | Line::Lost(_) | Line::Fault | Line::Task { .. } => true,
            Line::Summary | Line::Other => false,
        };
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

/// What a record is, besides its line.
#[derive(Clone, Copy)]
enum What {
    Sys(u16, Spec),
    Exit,
    ExitGroup,
}

#[derive(Clone, Copy)]
struct Record<'a> {
    number: u32,
    offset: u64,
    call: CallLine<'a>,
    what: What,
}

/// Reads a whole `perf trace` output.
pub fn read(bytes: &[u8], path: &str, ctx: &mut ReadContext<'_>) -> Result<(), InputError> {
    let table = Table::new();
    let params: HashMap<&str, &[&str]> = params::PARAMS.iter().copied().collect();
    let mut records = Vec::new();
    let mut facts = tasks::Facts::default();
    let mut calls_seen = 0u64;
    let mut groups: Vec<(u32, u32)> = Vec::new();
    let mut offset = 0usize;
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let number = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let at = offset as u64;
        offset += raw.len() + 1;
        if raw.is_empty() && offset > bytes.len() {
            break; // after the last newline
        }
        ctx.stats.units += 1;
        let text = raw.strip_suffix(b"\r").unwrap_or(raw);
        match line::parse(text) {
            Line::Call(c) => {
                calls_seen += 1;
                if let Some(r) = record(c, number, at, &table, &mut facts, ctx) {
                    match split_blocking(&r) {
                        Some((entry, ret)) => {
                            records.push(entry);
                            records.push(ret);
                        }
                        None => records.push(r),
                    }
                }
            }
            Line::Task { tid, pid } => groups.push((tid, pid)),
            Line::Lost(n) => {
                *ctx.stats.lost.entry(LOST_EVENTS.to_string()).or_insert(0) += n;
            }
            Line::Fault => ctx.stats.bump("perf: page-fault lines (-F) not used", 1),
            Line::Summary => ctx.stats.bump("perf: summary lines (-s/-S) not used", 1),
            Line::Blank => {}
            Line::Other => ctx.stats.skip(
                crate::formats::SkipReason::PerfNotPerfLine,
                u64::from(number),
            ),
        }
    }
    if calls_seen == 0 {
        return Err(InputError::new(path.to_string(), "no perf trace syscall lines found").hint("expected `perf trace` output such as `  0.366 ( 0.015 ms): sh/15055 close(fd: 4) = 0`"));
    }
    let stamps: Vec<order::Stamp> = records
        .iter()
        .enumerate()
        .map(|(seq, r)| stamp(r, seq, &params))
        .collect();
    let mut reader = Emitter {
        facts,
        params,
        tasks: tasks::Tasks::default(),
        pending: HashMap::new(),
        names: HashMap::new(),
        shadow: shadow::Shadow::default(),
        infer: ctx.stats.lost.is_empty(),
        buf: Vec::new(),
    };
    for (tid, pid) in groups {
        reader.tasks.known_group(tid, pid);
    }
    // `perf trace -- CMD`: the first line is the command's own execve, entered
    // before perf saw it; that task starts with fds 0, 1 and 2 only.
    if let Some(first) = records.first()
        && first.call.time.is_none()
        && matches!(first.what, What::Sys(_, spec) if spec.action == Action::Exec)
    {
        reader.shadow.root(first.call.tid);
    }
    for i in order::order(&stamps) {
        let r = &records[i];
        let time = stamps[i].acts.or(stamps[i].start).unwrap_or(0);
        reader.emit(r, time, ctx);
        for ev in reader.buf.drain(..) {
            reader.shadow.apply(&ev);
            ctx.sink.event(ev);
        }
    }
    Ok(())
}

/// The record of a call line worth keeping; gathers clone3 facts on the way.
fn record<'a>(
    c: CallLine<'a>,
    number: u32,
    offset: u64,
    table: &Table,
    facts: &mut tasks::Facts,
    ctx: &mut ReadContext<'_>,
) -> Option<Record<'a>> {
    if let Some(t) = c.time {
        facts.saw_start(c.tid, t);
    }
    let what = match c.name {
        b"exit" if c.shape != Shape::Continued => {
            facts.ended_by_exit.insert(c.tid);
            What::Exit
        }
        b"exit_group" if c.shape != Shape::Continued => {
            facts
                .exit_group_at
                .insert(c.tid, c.time.unwrap_or(i64::MAX));
            What::ExitGroup
        }
        b"wait4" | b"waitid" => {
            if let Ret::Num(n) = args::ret(c.ret)
                && let Ok(child) = u32::try_from(n)
                && child > 0
                && c.name == b"wait4"
            {
                facts.waited.insert(child);
            }
            return None;
        }
        name => {
            let (index, spec) = table.get(name)?;
            if spec.action == Action::Exec && matches!(args::ret(c.ret), Ret::Num(0)) {
                facts.execve_ok.insert(c.tid);
            }
            // The child's half of a clone (`? ... [continued]: clone()) =`): its
            // parent's line says everything.
            if c.shape == Shape::Continued
                && c.time.is_none()
                && matches!(spec.action, Action::Clone | Action::Clone3 | Action::Fork)
            {
                ctx.stats.bump("perf: child halves of clone lines", 1);
                return None;
            }
            What::Sys(index, spec)
        }
    };
    Some(Record {
        number,
        offset,
        call: c,
        what,
    })
}

/// A call that blocked this long is split like perf's own `...` lines.
const BLOCKING_NS: i64 = 1_000_000;

/// perf prints a blocking call as one line when no other task's line came between
/// its entry and its return in perf's processing order, which says nothing about
/// what other tasks did meanwhile: a call on an fd that took at least
/// [`BLOCKING_NS`] becomes an entry (in flight from its start) and a return.
fn split_blocking<'a>(r: &Record<'a>) -> Option<(Record<'a>, Record<'a>)> {
    let What::Sys(_, spec) = r.what else {
        return None;
    };
    let c = r.call;
    let long = c.shape == Shape::Complete
        && c.time.is_some()
        && c.duration.is_some_and(|d| d >= BLOCKING_NS);
    let on_fd = spec.fds | spec.opt != 0 || matches!(spec.action, Action::SignalFd { .. });
    let in_flight_matters = !matches!(
        spec.action,
        Action::Clone
            | Action::Clone3
            | Action::Fork
            | Action::Exec
            | Action::CloseRange
            | Action::Unshare
    );
    if !(long && on_fd && in_flight_matters) {
        return None;
    }
    let entry = Record {
        call: CallLine {
            shape: Shape::Entry,
            duration: None,
            ret: &[],
            ..c
        },
        ..*r
    };
    let ret = Record {
        call: CallLine {
            shape: Shape::Continued,
            ..c
        },
        ..*r
    };
    Some((entry, ret))
}

fn stamp(r: &Record<'_>, seq: usize, params: &HashMap<&str, &[&str]>) -> order::Stamp {
    let c = &r.call;
    let end = match (c.time, c.duration) {
        (Some(t), Some(d)) => Some(t.saturating_add(d)),
        _ => None,
    };
    let acts = match (r.what, c.shape) {
        (What::Sys(index, spec), shape) => {
            // A clone's child runs before the clone returns; an execve takes
            // effect (other threads gone, close-on-exec fds closed) as it returns.
            let at_entry = matches!(spec.action, Action::Clone | Action::Clone3 | Action::Fork);
            let at_return = spec.action == Action::Exec;
            match shape {
                Shape::Entry => None,
                _ if at_entry => None,
                _ if at_return => end,
                Shape::Continued => end,
                Shape::Complete => {
                    let p = params.get(Table::name(index)).copied().unwrap_or(&[]);
                    if calls::acts_at_return(spec, &Args::parse(c.args, p)) {
                        end
                    } else {
                        None
                    }
                }
            }
        }
        _ => None,
    };
    order::Stamp {
        tid: c.tid,
        start: c.time,
        acts,
        seq,
    }
}

struct Emitter<'p> {
    facts: tasks::Facts,
    params: HashMap<&'p str, &'p [&'p str]>,
    tasks: tasks::Tasks,
    /// The entry record of each task's interrupted call: (line, args text, name).
    pending: HashMap<u32, (Origin, Vec<u8>, Vec<u8>)>,
    names: HashMap<Vec<u8>, Sym>,
    shadow: shadow::Shadow,
    /// Infer pipe fds (not when the trace lost events).
    infer: bool,
    /// This record's events, followed by the shadow table before the sink gets them.
    buf: Vec<Event>,
}

impl Emitter<'_> {
    fn name(&mut self, name: &[u8], ctx: &mut ReadContext<'_>) -> Sym {
        if let Some(s) = self.names.get(name) {
            return *s;
        }
        let s = ctx.interner.intern_bytes(name);
        self.names.insert(name.to_vec(), s);
        s
    }

    fn emit(&mut self, r: &Record<'_>, time: i64, outer: &mut ReadContext<'_>) {
        let mut buf = std::mem::take(&mut self.buf);
        let mut ctx = ReadContext {
            input: outer.input,
            interner: &mut *outer.interner,
            sink: &mut buf,
            stats: &mut *outer.stats,
        };
        self.emit_into(r, time, &mut ctx);
        self.buf = buf;
    }

    fn emit_into(&mut self, r: &Record<'_>, time: i64, ctx: &mut ReadContext<'_>) {
        let c = &r.call;
        let origin = Origin::line(ctx.input, r.number, r.offset);
        let pid = self.tasks.pid_of(c.tid);
        let call = self.name(c.name, ctx);
        let mut cx = CallCtx {
            time,
            pid,
            tid: c.tid,
            origin,
            call,
            flags: 0,
        };
        let (index, spec) = match r.what {
            What::Exit => {
                self.pending.remove(&c.tid);
                self.tasks.exit(c.tid);
                send(
                    Event {
                        ..task_exit(&cx, c.tid)
                    },
                    ctx,
                );
                return;
            }
            What::ExitGroup => {
                for tid in self.tasks.exit_group(c.tid) {
                    self.pending.remove(&tid);
                    send(task_exit(&cx, tid), ctx);
                }
                return;
            }
            What::Sys(index, spec) => (index, spec),
        };
        let params = self.params.get(Table::name(index)).copied().unwrap_or(&[]);
        let args_text: Vec<u8>;
        let args = match c.shape {
            Shape::Entry => {
                let args = Args::parse(c.args, params);
                calls::entry(spec, params, &args, &cx, ctx);
                self.pending
                    .insert(c.tid, (origin, c.args.to_vec(), c.name.to_vec()));
                return;
            }
            Shape::Complete => Args::parse(c.args, params),
            Shape::Continued => {
                cx.flags |= flags::RESUMED;
                match self.pending.remove(&c.tid) {
                    Some((_, text, name)) if name == c.name => {
                        args_text = text;
                        Args::parse(&args_text, params)
                    }
                    _ if matches!(
                        spec.action,
                        Action::Exec | Action::Clone | Action::Clone3 | Action::Fork
                    ) =>
                    {
                        // Only the result matters (the traced command's own execve).
                        Args::parse(b"", params)
                    }
                    _ => {
                        // In flight when recording began, entry lost, or denied by
                        // seccomp before the entry tracepoint: the arguments are
                        // unknown, so the table may hold an fd we did not see made.
                        ctx.stats.bump(RETURNS_WITHOUT_ENTRY, 1);
                        self.shadow.taint(c.tid);
                        return;
                    }
                }
            }
        };
        let comm = if c.comm.is_empty() || c.comm.starts_with(b":") {
            None
        } else {
            Some(ctx.interner.intern_bytes(c.comm))
        };
        if spec.action == Action::Exec && matches!(args::ret(c.ret), Ret::Num(0)) {
            for tid in self.tasks.exec(c.tid) {
                self.pending.remove(&tid);
                send(task_exit(&cx, tid), ctx);
            }
        }
        let facts = &self.facts;
        let parent = c.tid;
        let mut guessed = None;
        let guess = |child: u32| {
            let (s, t, _) = facts.clone3(parent, child);
            (s, t)
        };
        let made = calls::complete(
            spec,
            params,
            &args,
            args::ret(c.ret),
            &cx,
            comm,
            &guess,
            ctx,
        );
        match made {
            Some(Made::Spawn(s)) => {
                if spec.action == Action::Clone3 {
                    guessed = Some(s.thread);
                }
                self.tasks.spawn(c.tid, s.child, s.thread);
            }
            Some(Made::Pair { kind, cloexec }) => self.pair(&cx, kind, cloexec, ctx),
            Some(Made::Message) => self.shadow.taint(c.tid),
            None => {}
        }
        match guessed {
            Some(true) => ctx.stats.bump(CLONE3_THREADS, 1),
            Some(false) => ctx.stats.bump(CLONE3_PROCESSES, 1),
            None => {}
        }
    }

    /// The two fds of a successful pipe/socketpair, when the table is known.
    fn pair(&mut self, cx: &CallCtx, kind: ResourceKind, cloexec: bool, ctx: &mut ReadContext<'_>) {
        let fds = if self.infer {
            self.shadow.next_two(cx.tid)
        } else {
            None
        };
        let Some(fds) = fds else {
            ctx.stats.bump(PAIRS_UNKNOWN, 1);
            return;
        };
        ctx.stats.bump(PAIRS_INFERRED, 2);
        for fd in fds {
            let mut ev = Event::new(Op::Open { cloexec }, cx.call, cx.origin);
            ev.time = Some(cx.time);
            ev.pid = cx.pid;
            ev.tid = cx.tid;
            ev.handle = fd;
            ev.kind = kind;
            ev.flags = cx.flags | flags::INFERRED;
            send(ev, ctx);
        }
    }
}

fn task_exit(cx: &CallCtx, tid: u32) -> Event {
    let mut ev = Event::new(Op::TaskExit, cx.call, cx.origin);
    ev.time = Some(cx.time);
    ev.pid = cx.pid;
    ev.tid = tid;
    ev
}

fn send(ev: Event, ctx: &mut ReadContext<'_>) {
    ctx.stats.events += 1;
    ctx.sink.event(ev);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::ReadStats;
    use crate::model::Interner;

    fn read_all(bytes: &[u8]) -> (Result<(), InputError>, Vec<Event>, ReadStats) {
        let mut interner = Interner::new();
        let mut events: Vec<Event> = Vec::new();
        let mut stats = ReadStats::default();
        let mut ctx = ReadContext {
            input: 0,
            interner: &mut interner,
            sink: &mut events,
            stats: &mut stats,
        };
        let r = read(bytes, "t", &mut ctx);
        (r, events, stats)
    }

    const SAMPLE: &str = "         ? (         ): a/10  ... [continued]: execve())   = 0
     1.000 ( 0.010 ms): a/10 pipe2(fildes: 0x7ffd, flags: CLOEXEC)   = 0
     1.100 ( 0.010 ms): a/10 clone3(uargs: 0x7ffd, size: 88)   = 11
     1.500 (         ): a/11 read(fd: 3<pipe:[1]>, buf: 0x1, count: 8)   ...
     1.300 ( 0.010 ms): a/10 openat(dfd: CWD, filename: 0x5)   = 5
     2.000 ( 0.010 ms): a/10 close(fd: 3)   = 0
     1.500 ( 1.000 ms): a/11  ... [continued]: read())   = 5
     2.600 (         ): a/11 exit()   = ?
     3.000 (         ): a/10 exit_group()   = ?
";

    #[test]
    fn events_in_time_order_with_joins_inference_and_exits() {
        let (r, evs, stats) = read_all(SAMPLE.as_bytes());
        assert!(r.is_ok());
        let ops: Vec<(u32, Op, i64)> = evs.iter().map(|e| (e.tid, e.op, e.handle)).collect();
        use Op::*;
        assert_eq!(
            ops,
            vec![
                (10, Exec, -1),
                (10, Open { cloexec: true }, 3),
                (10, Open { cloexec: true }, 4),
                (
                    10,
                    Spawn {
                        child: 11,
                        shares_table: true,
                        thread: true
                    },
                    -1
                ),
                (10, Open { cloexec: false }, 5),
                (11, Begin, 3),
                (10, Close, 3),
                (11, Use, 3),
                (11, TaskExit, -1),
                (10, TaskExit, -1),
            ]
        );
        assert!(evs[1].has(flags::INFERRED));
        assert!(evs[7].has(flags::RESUMED));
        assert_eq!(
            evs[7].time,
            Some(2_500_000),
            "the read completes at its end"
        );
        assert_eq!(stats.counters.get(CLONE3_THREADS), Some(&1));
        assert!(stats.lost.is_empty());
        // The same with a LOST notice: counted, and no fd is inferred.
        let lost = format!("{SAMPLE}LOST 3 events!\n");
        let (_, evs, stats) = read_all(lost.as_bytes());
        assert_eq!(stats.lost.get(LOST_EVENTS), Some(&3));
        assert!(!evs.iter().any(|e| e.has(flags::INFERRED)));
        assert_eq!(stats.counters.get(PAIRS_UNKNOWN), Some(&1));
    }

    #[test]
    fn a_blocking_call_printed_on_one_line_is_in_flight_meanwhile() {
        // Thread 11's read(3) is one line (entered 1.0, 200 ms); thread 12 closes 3 at 50.0.
        let text = "     1.000 (200.000 ms): a/11 read(fd: 3, buf: 0x1, count: 8)   = 5\n    50.000 ( 0.010 ms): a/12 close(fd: 3)   = 0\n";
        let (_, evs, _) = read_all(text.as_bytes());
        let ops: Vec<(u32, Op)> = evs.iter().map(|e| (e.tid, e.op)).collect();
        assert_eq!(ops, vec![(11, Op::Begin), (12, Op::Close), (11, Op::Use)]);
        assert!(evs[2].has(flags::RESUMED));
        assert_eq!(
            evs[0].origin.line, evs[2].origin.line,
            "both halves point at the one line"
        );
        // A quick call stays one event.
        let (_, evs, _) =
            read_all(b"     1.000 ( 0.010 ms): a/11 read(fd: 3, buf: 0x1, count: 8)   = 5\n");
        assert_eq!(evs.len(), 1);
    }

    #[test]
    fn appended_task_lines_put_threads_in_their_process() {
        let text = "     1.000 ( 0.010 ms): svc/21 close(fd: 7)   = 0\n     2.000 ( 0.010 ms): svc/20 read(fd: 7, buf: 0x1, count: 8)   = -1 EBADF (Bad file descriptor)\n# handlecheck: task 21 process 20\n";
        let (r, evs, stats) = read_all(text.as_bytes());
        assert!(r.is_ok());
        assert_eq!(stats.skipped, 0);
        assert_eq!(
            evs.iter().map(|e| (e.tid, e.pid)).collect::<Vec<_>>(),
            vec![(21, 20), (20, 20)]
        );
    }

    #[test]
    fn any_damage_is_read_without_panic() {
        // Every prefix of every line, and bytes flipped: never a panic.
        let lines: Vec<&str> = SAMPLE.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            for cut in 0..l.len() {
                let mut text = String::new();
                for (j, m) in lines.iter().enumerate() {
                    text.push_str(if i == j { &l[..cut] } else { m });
                    text.push('\n');
                }
                let _ = read_all(text.as_bytes());
            }
        }
        let mut bytes = SAMPLE.as_bytes().to_vec();
        let mut x: u32 = 12345;
        for _ in 0..2000 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let at = (x as usize >> 8) % bytes.len();
            bytes[at] = (x >> 3) as u8;
            let _ = read_all(&bytes);
        }
        assert!(read_all(b"").0.is_err());
        assert!(read_all(b"\xff\xfe\n\n").0.is_err());
    }

    #[test]
    fn sniffs_perf_not_strace() {
        let perf = b"         ? (         ): sh/15055  ... [continued]: execve())                                           = 0\n     0.058 ( 0.013 ms): sh/15055 brk()                                                                 = 0x55a8df2a0000\n     0.303 ( 0.016 ms): sh/15055 mmap(len: 8192, prot: READ|WRITE, flags: PRIVATE|ANONYMOUS)           = 0x7fddb205d000\n";
        assert!(sniff(perf));
        assert!(!sniff(b"5788  03:16:12.350473 pipe2([3<pipe:[13967]>, 4<pipe:[13967]>], 0) = 0 <0.000015>\n5788  03:16:12.350602 close(3) = 0\n"));
        assert!(!sniff(b"{\"v\":1}\n"));
        assert!(
            !crate::formats::strace::sniff(perf),
            "strace must not claim perf output"
        );
    }
}
