//! The strace parser on real traces (fixtures/strace/parser, see SOURCE.md)
//! and on hand-picked real lines from the research notes.

use handlecheck::formats::strace::StraceParser;
use handlecheck::formats::{ReadContext, ReadStats};
use handlecheck::model::{ErrorClass, Event, Interner, Op, Origin, Outcome, ResourceKind, flags};

struct Parsed {
    events: Vec<Event>,
    interner: Interner,
    stats: ReadStats,
}

impl Parsed {
    fn name(&self, ev: &Event) -> &str {
        self.interner.resolve(ev.call)
    }
    fn resource(&self, ev: &Event) -> Option<&str> {
        ev.resource.map(|r| self.interner.resolve(r))
    }
    fn at_line(&self, line: u32) -> Vec<&Event> {
        self.events.iter().filter(|e| e.origin.line == line).collect()
    }
    fn frames(&self, ev: &Event) -> Vec<&str> {
        ev.stack.map(|s| self.interner.frames(s).iter().map(|f| self.interner.resolve(*f)).collect()).unwrap_or_default()
    }
    #[allow(dead_code)]
    fn dump(&self) -> String {
        let mut out = String::new();
        for e in &self.events {
            out += &format!(
                "{:>4} t{} {:?} h{} {} {:?} {:?} {:?} f{}\n",
                e.origin.line,
                e.tid,
                e.op,
                e.handle,
                self.name(e),
                self.resource(e),
                e.kind,
                e.outcome,
                e.flags
            );
        }
        out
    }
}

fn parse_lines(text: &str, forced: Option<u32>) -> Parsed {
    let mut interner = Interner::new();
    let mut stats = ReadStats::default();
    let mut events: Vec<Event> = Vec::new();
    {
        let mut ctx = ReadContext { input: 0, interner: &mut interner, sink: &mut events, stats: &mut stats };
        let mut parser = StraceParser::new();
        let mut offset = 0u64;
        for (i, line) in text.split('\n').enumerate() {
            if line.is_empty() && offset as usize + 1 >= text.len() {
                break;
            }
            parser.line(line.as_bytes(), Origin::line(0, i as u32 + 1, offset), forced, &mut ctx);
            offset += line.len() as u64 + 1;
        }
        parser.finish(&mut ctx);
    }
    Parsed { events, interner, stats }
}

fn parse_fixture(path: &str) -> Parsed {
    let full = format!("{}/fixtures/strace/parser/{path}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"));
    parse_lines(&text, None)
}

fn is_bad(o: Outcome) -> bool {
    o.is_bad_handle()
}

fn tod(h: i64, m: i64, s: i64, us: i64) -> i64 {
    ((h * 60 + m) * 60 + s) * 1_000_000_000 + us * 1000
}

// ---------------------------------------------------------------- real traces

#[test]
fn double_close_ground_truth() {
    let p = parse_fixture("double_close/trace.log");
    assert_eq!(p.stats.units, 35);
    assert_eq!(p.stats.skipped, 0);
    assert_eq!(p.stats.events, p.events.len() as u64);
    let open = p.at_line(30);
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].op, Op::Open { cloexec: true });
    assert_eq!((open[0].handle, open[0].pid, open[0].tid), (3, 32344, 32344));
    assert_eq!(p.resource(open[0]), Some("/etc/hostname"));
    assert_eq!(open[0].kind, ResourceKind::File);
    assert_eq!(open[0].time, Some(tod(2, 45, 13, 354_665)));
    let first = p.at_line(32);
    assert_eq!((first[0].op, first[0].handle, first[0].outcome), (Op::Close, 3, Outcome::Ok));
    assert!(first[0].has(flags::DECORATED));
    let second = p.at_line(33);
    assert_eq!(second.len(), 1);
    assert_eq!((second[0].op, second[0].handle), (Op::Close, 3));
    assert!(is_bad(second[0].outcome));
    assert_eq!(second[0].outcome.failed_class(), Some(ErrorClass::BadHandle));
    assert!(second[0].has(flags::UNDECORATED_IN_Y_MODE));
    assert_eq!(second[0].resource, None);
    let Outcome::Failed { name, .. } = second[0].outcome else { unreachable!() };
    assert_eq!(p.interner.resolve(name), "EBADF");
    assert_eq!(p.at_line(35)[0].op, Op::TaskExit);
}

#[test]
fn use_after_close_ground_truth() {
    let p = parse_fixture("use_after_close/trace.log");
    let w = p.at_line(33);
    assert_eq!((w[0].op, w[0].handle, p.name(w[0])), (Op::Use, 3, "write"));
    assert!(is_bad(w[0].outcome));
    let f = p.at_line(34);
    assert_eq!((f[0].op, f[0].handle, p.name(f[0])), (Op::Use, 3, "fsync"));
    assert!(is_bad(f[0].outcome));
    assert_eq!(p.resource(p.at_line(32)[0]), Some("/tmp/uac.log"));
}

#[test]
fn fd_reuse_stale_write_ground_truth() {
    let p = parse_fixture("fd_reuse_stale_write/trace.log");
    let pair = p.at_line(33);
    assert_eq!(pair.len(), 2);
    assert_eq!((pair[0].op, pair[0].handle, pair[0].kind), (Op::Open { cloexec: true }, 3, ResourceKind::Socket));
    assert_eq!(p.resource(pair[0]), Some("socket:[59585]"));
    assert_eq!((pair[1].handle, p.resource(pair[1])), (4, Some("socket:[59586]")));
    let stale = p.at_line(34);
    assert_eq!((stale[0].op, stale[0].handle, stale[0].outcome, stale[0].kind), (Op::Use, 3, Outcome::Ok, ResourceKind::Socket));
    assert_eq!(p.at_line(35)[0].op, Op::Close);
    let victim = p.at_line(36);
    assert_eq!((victim[0].op, victim[0].handle, p.name(victim[0])), (Op::Use, 3, "sendto"));
    assert!(is_bad(victim[0].outcome));
    assert_eq!(p.at_line(37)[0].handle, 4);
}

#[test]
fn leak_across_exec_ground_truth() {
    let p = parse_fixture("leak_across_exec/trace.log");
    assert_eq!(p.at_line(30)[0].op, Op::Open { cloexec: false });
    assert_eq!(p.at_line(31)[0].op, Op::Open { cloexec: true });
    let dup = p.at_line(32);
    assert_eq!(dup[0].op, Op::Dup { source: 4, cloexec: false, replaces: true, source_pid: None });
    assert_eq!((dup[0].handle, p.resource(dup[0])), (5, Some("/etc/passwd")));
    let pipe = p.at_line(33);
    assert_eq!(pipe.len(), 2);
    for (ev, fd) in pipe.iter().zip([6, 7]) {
        assert_eq!((ev.op, ev.handle, ev.kind), (Op::Open { cloexec: false }, fd, ResourceKind::Pipe));
        assert_eq!(p.resource(ev), Some("pipe:[59631]"));
    }
    let spawn = p.at_line(34);
    assert_eq!(spawn[0].op, Op::Spawn { child: 32411, shares_table: false, thread: false });
    assert_eq!(spawn[0].tid, 32410);
    let exec = p.at_line(38);
    assert_eq!((exec[0].op, exec[0].tid), (Op::Exec, 32411));
    // Exactly one Spawn and one Exec besides the initial execve.
    assert_eq!(p.events.iter().filter(|e| matches!(e.op, Op::Spawn { .. })).count(), 1);
    assert_eq!(p.events.iter().filter(|e| e.op == Op::Exec).count(), 2);
}

#[test]
fn thread_eventfd_leak_ground_truth() {
    let p = parse_fixture("thread_eventfd_leak/trace.log");
    let opens: Vec<&Event> = p.events.iter().filter(|e| e.kind == ResourceKind::EventFd && matches!(e.op, Op::Open { .. })).collect();
    assert_eq!(opens.iter().map(|e| (e.handle, e.origin.line)).collect::<Vec<_>>(), vec![(3, 30), (4, 47), (5, 63), (6, 77)]);
    assert!(opens.iter().all(|e| e.op == Op::Open { cloexec: true } && e.tid == 32444));
    assert!(opens[1..].iter().all(|e| e.has(flags::RESUMED)));
    let spawns: Vec<&Event> = p.events.iter().filter(|e| matches!(e.op, Op::Spawn { .. })).collect();
    assert_eq!(spawns.len(), 4);
    for (ev, child) in spawns.iter().zip(32445..) {
        assert_eq!(ev.op, Op::Spawn { child, shares_table: true, thread: true });
    }
    assert_eq!(spawns.iter().map(|e| e.origin.line).collect::<Vec<_>>(), vec![39, 55, 71, 88]);
    // Thread 32445 blocks in read(3) at line 52 and completes at line 97.
    let begin = p.at_line(52);
    assert_eq!((begin[0].op, begin[0].handle, begin[0].tid, begin[0].outcome), (Op::Begin, 3, 32445, Outcome::Unknown));
    let done = p.at_line(97);
    assert_eq!((done[0].op, done[0].handle, done[0].tid), (Op::Use, 3, 32445));
    assert!(done[0].has(flags::RESUMED));
    assert_eq!(p.events.iter().filter(|e| e.op == Op::TaskExit).count(), 5);
    assert_eq!(p.events.iter().filter(|e| e.op == Op::Close && e.kind == ResourceKind::EventFd).count(), 0);
}

/// The fd lifecycle events of a trace, without pids, times and inode numbers.
fn shape(p: &Parsed) -> Vec<String> {
    p.events
        .iter()
        .filter(|e| matches!(e.op, Op::Open { .. } | Op::Close | Op::Dup { .. } | Op::Spawn { .. } | Op::Exec))
        // stdout/stderr pointed elsewhere in each recording.
        .filter(|e| !(0..=2).contains(&e.handle))
        .map(|e| {
            let op = match e.op {
                Op::Spawn { shares_table, thread, .. } => format!("Spawn{shares_table}{thread}"),
                other => format!("{other:?}"),
            };
            format!("{op} {} {:?} {}", e.handle, e.kind, e.outcome.is_ok())
        })
        .collect()
}

#[test]
fn stderr_layout_matches_file_layout() {
    for name in ["double_close", "use_after_close", "fd_reuse_stale_write", "leak_across_exec", "thread_eventfd_leak"] {
        let file = parse_fixture(&format!("{name}/trace.log"));
        let stderr = parse_fixture(&format!("{name}/trace-stderr.log"));
        assert_eq!(shape(&file), shape(&stderr), "{name}");
        assert_eq!(stderr.stats.skipped, 0, "{name}: {:?}", stderr.stats.skipped_by_reason);
    }
    let p = parse_fixture("double_close/trace-stderr.log");
    let fd3: Vec<(Op, bool)> =
        p.events.iter().filter(|e| e.handle == 3 && matches!(e.op, Op::Open { .. } | Op::Close) && e.origin.line >= 30).map(|e| (e.op, e.outcome.is_ok())).collect();
    assert_eq!(fd3, vec![(Op::Open { cloexec: true }, true), (Op::Close, true), (Op::Close, false)]);
}

#[test]
fn stderr_layout_learns_the_root_pid() {
    let p = parse_fixture("thread_eventfd_leak/trace-stderr.log");
    // Unprefixed lines before set_tid_address belong to task 0...
    assert_eq!(p.at_line(5)[0].tid, 0);
    // ...which set_tid_address (line 22) names: 454.
    let alias: Vec<&Event> = p.events.iter().filter(|e| matches!(e.op, Op::Alias { .. })).collect();
    assert_eq!(alias.len(), 1);
    assert_eq!((alias[0].op, alias[0].tid, alias[0].origin.line), (Op::Alias { real: 454 }, 0, 22));
    // The clone3 cut by `strace: Process 455 attached` completes on the next line.
    let spawn = p.at_line(40);
    assert_eq!((spawn[0].op, spawn[0].tid), (Op::Spawn { child: 455, shares_table: true, thread: true }, 454));
    assert_eq!(p.stats.counters.get("notices"), Some(&4));
    // After the threads exit the lone task prints unprefixed again: it is 454.
    assert_eq!(p.at_line(138)[0].tid, 454);
    assert_eq!(p.at_line(138)[0].op, Op::TaskExit);
}

#[test]
fn k_frames_attach_to_the_completing_line() {
    let p = parse_fixture("double_close/trace-k.log");
    let file = parse_fixture("double_close/trace.log");
    assert_eq!(shape(&p), shape(&file));
    let bad = p.events.iter().find(|e| e.op == Op::Close && is_bad(e.outcome)).unwrap();
    assert_eq!(bad.origin.line, 284);
    let frames = p.frames(bad);
    assert_eq!(frames.len(), 6);
    assert_eq!(frames[0], "libc.so.6(__close+0x10) [0xf89f0]");
    assert_eq!(frames[1], "double_close(conf_cleanup+0x19) [0x1172]");
    assert!(frames[2].starts_with("double_close(main+0x"));
    let good = p.events.iter().find(|e| e.op == Op::Close && e.origin.line == 278).unwrap();
    assert!(p.frames(good).iter().any(|f| f.contains("main+0x44")));
    assert_ne!(good.stack, bad.stack);
    // exit_group's frames come after `+++ exited`: they land on the TaskExit.
    let exit = p.events.iter().find(|e| e.op == Op::TaskExit).unwrap();
    assert_eq!(p.frames(exit).first().copied(), Some("libc.so.6(_exit+0x29) [0xd4409]"));
    // Every event of every -k sample carries a stack.
    for name in ["use_after_close", "fd_reuse_stale_write", "leak_across_exec", "thread_eventfd_leak"] {
        let p = parse_fixture(&format!("{name}/trace-k.log"));
        assert_eq!(p.stats.skipped, 0, "{name}");
        let with_main = p.events.iter().filter(|e| p.frames(e).iter().any(|f| f.contains("(main+0x"))).count();
        assert!(with_main > 0, "{name}");
        let file = parse_fixture(&format!("{name}/trace.log"));
        assert_eq!(shape(&p).len(), shape(&file).len(), "{name}");
    }
}

