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
        self.events
            .iter()
            .filter(|e| e.origin.line == line)
            .collect()
    }
    fn frames(&self, ev: &Event) -> Vec<&str> {
        ev.stack
            .map(|s| {
                self.interner
                    .frames(s)
                    .iter()
                    .map(|f| self.interner.resolve(*f))
                    .collect()
            })
            .unwrap_or_default()
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
        let mut ctx = ReadContext {
            input: 0,
            interner: &mut interner,
            sink: &mut events,
            stats: &mut stats,
        };
        let mut parser = StraceParser::new();
        let mut offset = 0u64;
        for (i, line) in text.split('\n').enumerate() {
            if line.is_empty() && offset as usize + 1 >= text.len() {
                break;
            }
            parser.line(
                line.as_bytes(),
                Origin::line(0, i as u32 + 1, offset),
                forced,
                &mut ctx,
            );
            offset += line.len() as u64 + 1;
        }
        parser.finish(&mut ctx);
    }
    Parsed {
        events,
        interner,
        stats,
    }
}

fn parse_fixture(path: &str) -> Parsed {
    let full = format!(
        "{}/fixtures/strace/parser/{path}",
        env!("CARGO_MANIFEST_DIR")
    );
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
    assert_eq!(
        (open[0].handle, open[0].pid, open[0].tid),
        (3, 32344, 32344)
    );
    assert_eq!(p.resource(open[0]), Some("/etc/hostname"));
    assert_eq!(open[0].kind, ResourceKind::File);
    assert_eq!(open[0].time, Some(tod(2, 45, 13, 354_665)));
    let first = p.at_line(32);
    assert_eq!(
        (first[0].op, first[0].handle, first[0].outcome),
        (Op::Close, 3, Outcome::Ok)
    );
    assert!(first[0].has(flags::DECORATED));
    let second = p.at_line(33);
    assert_eq!(second.len(), 1);
    assert_eq!((second[0].op, second[0].handle), (Op::Close, 3));
    assert!(is_bad(second[0].outcome));
    assert_eq!(
        second[0].outcome.failed_class(),
        Some(ErrorClass::BadHandle)
    );
    assert!(second[0].has(flags::UNDECORATED_IN_Y_MODE));
    assert_eq!(second[0].resource, None);
    let Outcome::Failed { name, .. } = second[0].outcome else {
        unreachable!()
    };
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
    assert_eq!(
        (pair[0].op, pair[0].handle, pair[0].kind),
        (Op::Open { cloexec: true }, 3, ResourceKind::Socket)
    );
    assert_eq!(p.resource(pair[0]), Some("socket:[59585]"));
    assert_eq!(
        (pair[1].handle, p.resource(pair[1])),
        (4, Some("socket:[59586]"))
    );
    let stale = p.at_line(34);
    assert_eq!(
        (
            stale[0].op,
            stale[0].handle,
            stale[0].outcome,
            stale[0].kind
        ),
        (Op::Use, 3, Outcome::Ok, ResourceKind::Socket)
    );
    assert_eq!(p.at_line(35)[0].op, Op::Close);
    let victim = p.at_line(36);
    assert_eq!(
        (victim[0].op, victim[0].handle, p.name(victim[0])),
        (Op::Use, 3, "sendto")
    );
    assert!(is_bad(victim[0].outcome));
    assert_eq!(p.at_line(37)[0].handle, 4);
}

#[test]
fn leak_across_exec_ground_truth() {
    let p = parse_fixture("leak_across_exec/trace.log");
    assert_eq!(p.at_line(30)[0].op, Op::Open { cloexec: false });
    assert_eq!(p.at_line(31)[0].op, Op::Open { cloexec: true });
    let dup = p.at_line(32);
    assert_eq!(
        dup[0].op,
        Op::Dup {
            source: 4,
            cloexec: false,
            replaces: true,
            source_pid: None
        }
    );
    assert_eq!(
        (dup[0].handle, p.resource(dup[0])),
        (5, Some("/etc/passwd"))
    );
    let pipe = p.at_line(33);
    assert_eq!(pipe.len(), 2);
    for (ev, fd) in pipe.iter().zip([6, 7]) {
        assert_eq!(
            (ev.op, ev.handle, ev.kind),
            (Op::Open { cloexec: false }, fd, ResourceKind::Pipe)
        );
        assert_eq!(p.resource(ev), Some("pipe:[59631]"));
    }
    let spawn = p.at_line(34);
    assert_eq!(
        spawn[0].op,
        Op::Spawn {
            child: 32411,
            shares_table: false,
            thread: false
        }
    );
    assert_eq!(spawn[0].tid, 32410);
    let exec = p.at_line(38);
    assert_eq!((exec[0].op, exec[0].tid), (Op::Exec, 32411));
    // Exactly one Spawn and one Exec besides the initial execve.
    assert_eq!(
        p.events
            .iter()
            .filter(|e| matches!(e.op, Op::Spawn { .. }))
            .count(),
        1
    );
    assert_eq!(p.events.iter().filter(|e| e.op == Op::Exec).count(), 2);
}

#[test]
fn thread_eventfd_leak_ground_truth() {
    let p = parse_fixture("thread_eventfd_leak/trace.log");
    let opens: Vec<&Event> = p
        .events
        .iter()
        .filter(|e| e.kind == ResourceKind::EventFd && matches!(e.op, Op::Open { .. }))
        .collect();
    assert_eq!(
        opens
            .iter()
            .map(|e| (e.handle, e.origin.line))
            .collect::<Vec<_>>(),
        vec![(3, 30), (4, 47), (5, 63), (6, 77)]
    );
    assert!(
        opens
            .iter()
            .all(|e| e.op == Op::Open { cloexec: true } && e.tid == 32444)
    );
    assert!(opens[1..].iter().all(|e| e.has(flags::RESUMED)));
    let spawns: Vec<&Event> = p
        .events
        .iter()
        .filter(|e| matches!(e.op, Op::Spawn { .. }))
        .collect();
    assert_eq!(spawns.len(), 4);
    for (ev, child) in spawns.iter().zip(32445..) {
        assert_eq!(
            ev.op,
            Op::Spawn {
                child,
                shares_table: true,
                thread: true
            }
        );
    }
    assert_eq!(
        spawns.iter().map(|e| e.origin.line).collect::<Vec<_>>(),
        vec![39, 55, 71, 88]
    );
    // Thread 32445 blocks in read(3) at line 52 and completes at line 97.
    let begin = p.at_line(52);
    assert_eq!(
        (begin[0].op, begin[0].handle, begin[0].tid, begin[0].outcome),
        (Op::Begin, 3, 32445, Outcome::Unknown)
    );
    let done = p.at_line(97);
    assert_eq!(
        (done[0].op, done[0].handle, done[0].tid),
        (Op::Use, 3, 32445)
    );
    assert!(done[0].has(flags::RESUMED));
    assert_eq!(p.events.iter().filter(|e| e.op == Op::TaskExit).count(), 5);
    assert_eq!(
        p.events
            .iter()
            .filter(|e| e.op == Op::Close && e.kind == ResourceKind::EventFd)
            .count(),
        0
    );
}

/// The fd lifecycle events of a trace, without pids, times and inode numbers.
fn shape(p: &Parsed) -> Vec<String> {
    p.events
        .iter()
        .filter(|e| {
            matches!(
                e.op,
                Op::Open { .. } | Op::Close | Op::Dup { .. } | Op::Spawn { .. } | Op::Exec
            )
        })
        // stdout/stderr pointed elsewhere in each recording.
        .filter(|e| !(0..=2).contains(&e.handle))
        .map(|e| {
            let op = match e.op {
                Op::Spawn {
                    shares_table,
                    thread,
                    ..
                } => format!("Spawn{shares_table}{thread}"),
                other => format!("{other:?}"),
            };
            format!("{op} {} {:?} {}", e.handle, e.kind, e.outcome.is_ok())
        })
        .collect()
}

#[test]
fn stderr_layout_matches_file_layout() {
    for name in [
        "double_close",
        "use_after_close",
        "fd_reuse_stale_write",
        "leak_across_exec",
        "thread_eventfd_leak",
    ] {
        let file = parse_fixture(&format!("{name}/trace.log"));
        let stderr = parse_fixture(&format!("{name}/trace-stderr.log"));
        assert_eq!(shape(&file), shape(&stderr), "{name}");
        assert_eq!(
            stderr.stats.skipped, 0,
            "{name}: {:?}",
            stderr.stats.skipped_by_reason
        );
    }
    let p = parse_fixture("double_close/trace-stderr.log");
    let fd3: Vec<(Op, bool)> = p
        .events
        .iter()
        .filter(|e| {
            e.handle == 3 && matches!(e.op, Op::Open { .. } | Op::Close) && e.origin.line >= 30
        })
        .map(|e| (e.op, e.outcome.is_ok()))
        .collect();
    assert_eq!(
        fd3,
        vec![
            (Op::Open { cloexec: true }, true),
            (Op::Close, true),
            (Op::Close, false)
        ]
    );
}

#[test]
fn stderr_layout_learns_the_root_pid() {
    let p = parse_fixture("thread_eventfd_leak/trace-stderr.log");
    // Unprefixed lines before set_tid_address belong to task 0...
    assert_eq!(p.at_line(5)[0].tid, 0);
    // ...which set_tid_address (line 22) names: 454.
    let alias: Vec<&Event> = p
        .events
        .iter()
        .filter(|e| matches!(e.op, Op::Alias { .. }))
        .collect();
    assert_eq!(alias.len(), 1);
    assert_eq!(
        (alias[0].op, alias[0].tid, alias[0].origin.line),
        (Op::Alias { real: 454 }, 0, 22)
    );
    // The clone3 cut by `strace: Process 455 attached` completes on the next line.
    let spawn = p.at_line(40);
    assert_eq!(
        (spawn[0].op, spawn[0].tid),
        (
            Op::Spawn {
                child: 455,
                shares_table: true,
                thread: true
            },
            454
        )
    );
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
    let bad = p
        .events
        .iter()
        .find(|e| e.op == Op::Close && is_bad(e.outcome))
        .unwrap();
    assert_eq!(bad.origin.line, 284);
    let frames = p.frames(bad);
    assert_eq!(frames.len(), 6);
    assert_eq!(frames[0], "libc.so.6(__close+0x10) [0xf89f0]");
    assert_eq!(frames[1], "double_close(conf_cleanup+0x19) [0x1172]");
    assert!(frames[2].starts_with("double_close(main+0x"));
    let good = p
        .events
        .iter()
        .find(|e| e.op == Op::Close && e.origin.line == 278)
        .unwrap();
    assert!(p.frames(good).iter().any(|f| f.contains("main+0x44")));
    assert_ne!(good.stack, bad.stack);
    // exit_group's frames come after `+++ exited`: they land on the TaskExit.
    let exit = p.events.iter().find(|e| e.op == Op::TaskExit).unwrap();
    assert_eq!(
        p.frames(exit).first().copied(),
        Some("libc.so.6(_exit+0x29) [0xd4409]")
    );
    // Every event of every -k sample carries a stack.
    for name in [
        "use_after_close",
        "fd_reuse_stale_write",
        "leak_across_exec",
        "thread_eventfd_leak",
    ] {
        let p = parse_fixture(&format!("{name}/trace-k.log"));
        assert_eq!(p.stats.skipped, 0, "{name}");
        let with_main = p
            .events
            .iter()
            .filter(|e| p.frames(e).iter().any(|f| f.contains("(main+0x")))
            .count();
        assert!(with_main > 0, "{name}");
        let file = parse_fixture(&format!("{name}/trace.log"));
        assert_eq!(shape(&p).len(), shape(&file).len(), "{name}");
    }
}

// ------------------------------------------------------- real lines, per form
// (research strace.md sections 1 and 2, observed with strace 6.1)

fn ops(p: &Parsed) -> Vec<(u32, Op, i64)> {
    p.events.iter().map(|e| (e.tid, e.op, e.handle)).collect()
}

#[test]
fn creations_and_cloexec() {
    let p = parse_lines(
        r#"openat(AT_FDCWD</etc>, "/etc/hostname", O_RDONLY) = 3</etc/hostname>
open("/etc/hostname", O_RDONLY|O_CLOEXEC) = 7</etc/hostname>
creat("/tmp/fdzoo-creat.txt", 0644) = 5</tmp/fdzoo-creat.txt>
openat2(AT_FDCWD</etc>, "hostname", {flags=O_RDONLY|O_CLOEXEC, resolve=RESOLVE_BENEATH}, 24) = 6</etc/hostname>
socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_IP) = 19<TCP:[8954]>
eventfd2(0, EFD_CLOEXEC|EFD_NONBLOCK) = 32<anon_inode:[eventfd]>
eventfd(0) = 11<anon_inode:[eventfd]>
epoll_create1(EPOLL_CLOEXEC) = 33<anon_inode:[eventpoll]>
inotify_init1(IN_CLOEXEC) = 34<anon_inode:inotify>
timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC) = 35<anon_inode:[timerfd]>
signalfd4(-1, [USR1], 8, SFD_CLOEXEC) = 36<anon_inode:[signalfd]>
memfd_create("zoo-memfd", MFD_CLOEXEC) = 37</memfd:zoo-memfd>(deleted)
pidfd_open(4252, 0) = 38<pid:4252>
userfaultfd(O_NONBLOCK|O_CLOEXEC) = 33
io_uring_setup(4, {flags=0, sq_entries=4, cq_entries=8}) = 43<anon_inode:[io_uring]>
fanotify_init(FAN_CLASS_NOTIF|FAN_CLOEXEC, O_RDONLY) = 44<anon_inode:[fanotify]>
open_tree(AT_FDCWD</etc>, "/tmp", OPEN_TREE_CLONE|OPEN_TREE_CLOEXEC) = 45</>
openat(AT_FDCWD</etc>, "/tmp", O_RDONLY|O_CLOEXEC|O_DIRECTORY) = 4</tmp>
perf_event_open({type=PERF_TYPE_SOFTWARE, size=PERF_ATTR_SIZE_VER7, precise_ip=0 /* arbitrary skid */, ...}, 0, -1, -1, PERF_FLAG_FD_CLOEXEC) = 42<anon_inode:[perf_event]>
"#,
        None,
    );
    let got: Vec<(Op, i64, ResourceKind, Option<&str>)> = p
        .events
        .iter()
        .map(|e| (e.op, e.handle, e.kind, p.resource(e)))
        .collect();
    let o = |c| Op::Open { cloexec: c };
    use ResourceKind::*;
    assert_eq!(
        got,
        vec![
            (o(false), 3, File, Some("/etc/hostname")),
            (o(true), 7, File, Some("/etc/hostname")),
            (o(false), 5, File, Some("/tmp/fdzoo-creat.txt")),
            (o(true), 6, File, Some("/etc/hostname")),
            (o(true), 19, Socket, Some("TCP:[8954]")),
            (o(true), 32, EventFd, Some("anon_inode:[eventfd]")),
            (o(false), 11, EventFd, Some("anon_inode:[eventfd]")),
            (o(true), 33, Epoll, Some("anon_inode:[eventpoll]")),
            (o(true), 34, Inotify, Some("anon_inode:inotify")),
            (o(true), 35, TimerFd, Some("anon_inode:[timerfd]")),
            (o(true), 36, SignalFd, Some("anon_inode:[signalfd]")),
            (o(true), 37, MemFd, Some("/memfd:zoo-memfd (deleted)")),
            (o(true), 38, PidFd, Some("pid:4252")),
            (o(true), 33, OtherAnon, None),
            (o(true), 43, OtherAnon, Some("anon_inode:[io_uring]")),
            (o(true), 44, OtherAnon, Some("anon_inode:[fanotify]")),
            (o(true), 45, File, Some("/")),
            (o(true), 4, Directory, Some("/tmp")),
            (o(true), 42, OtherAnon, Some("anon_inode:[perf_event]")),
        ]
    );
    assert!(
        p.events
            .iter()
            .filter(|e| e.resource.is_some())
            .all(|e| e.has(flags::DECORATED))
    );
    assert_eq!(p.stats.skipped, 0);
}

#[test]
fn raw_and_verbose_flags_without_y() {
    let p = parse_lines(
        r#"openat(-100 /* AT_FDCWD */, "/dev/null", 0x80001 /* O_WRONLY|O_CLOEXEC */) = 3
openat(-100, "/etc/hostname", 0x80000) = 4
openat(AT_FDCWD, "/etc/passwd", O_RDONLY) = 5
openat(AT_FDCWD, "/etc/hostname", O_RDONLY|O_CLOEXEC) = -1 EMFILE (Too many open files)
close(5)                                = 0
"#,
        None,
    );
    let got: Vec<(Op, i64, Option<&str>)> = p
        .events
        .iter()
        .map(|e| (e.op, e.handle, p.resource(e)))
        .collect();
    assert_eq!(
        got,
        vec![
            (Op::Open { cloexec: true }, 3, Some("/dev/null")),
            (Op::Open { cloexec: true }, 4, Some("/etc/hostname")),
            (Op::Open { cloexec: false }, 5, Some("/etc/passwd")),
            (Op::Open { cloexec: true }, -1, Some("/etc/hostname")),
            (Op::Close, 5, None),
        ]
    );
    assert_eq!(
        p.events[3].outcome.failed_class(),
        Some(ErrorClass::TableFull)
    );
    // No -y anywhere: no undecorated flag.
    assert!(
        p.events
            .iter()
            .all(|e| e.flags & flags::UNDECORATED_IN_Y_MODE == 0)
    );
}

#[test]
fn pairs_dups_and_cloexec_changes() {
    let p = parse_lines(
        r#"pipe2([16<pipe:[8946]>, 17<pipe:[8946]>], O_NONBLOCK|O_CLOEXEC) = 0
pipe([8<pipe:[8937]>, 9<pipe:[8937]>]) = 0
socketpair(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0, [28<UNIX-STREAM:[8981->8982]>, 29<UNIX-STREAM:[8982->8981]>]) = 0
pipe2(0x7ffd, 0) = -1 EMFILE (Too many open files)
dup(3</etc/hostname>) = 18</etc/hostname>
dup2(3</etc/hostname>, 4</etc/passwd>) = 4</etc/hostname>
dup2(3</etc/hostname>, 3</etc/hostname>) = 3</etc/hostname>
dup3(3</etc/hostname>, 21, O_CLOEXEC) = 21</etc/hostname>
fcntl(3</etc/hostname>, F_DUPFD, 30) = 30</etc/hostname>
fcntl(3</etc/hostname>, F_DUPFD_CLOEXEC, 40) = 40</etc/hostname>
fcntl(3</etc/hostname>, F_SETFD, FD_CLOEXEC) = 0
fcntl(3</etc/hostname>, F_SETFD, 0) = 0
ioctl(3</etc/hostname>, FIONCLEX) = 0
ioctl(4</etc/passwd>, FIOCLEX) = 0
fcntl(4</etc/passwd>, F_GETFD)          = 0x1 (flags FD_CLOEXEC)
fcntl(30, F_GETFL)                      = -1 EBADF (Bad file descriptor)
newfstatat(3</etc/hostname>, "", {st_mode=S_IFREG|0644, st_size=33699, ...}, AT_EMPTY_PATH) = 0
fstat(7, 0x7ffd) = -1 EBADF (Bad file descriptor)
"#,
        None,
    );
    let got: Vec<(Op, i64)> = p.events.iter().map(|e| (e.op, e.handle)).collect();
    let o = |c| Op::Open { cloexec: c };
    let dup = |source, cloexec, replaces| Op::Dup {
        source,
        cloexec,
        replaces,
        source_pid: None,
    };
    assert_eq!(
        got,
        vec![
            (o(true), 16),
            (o(true), 17),
            (o(false), 8),
            (o(false), 9),
            (o(true), 28),
            (o(true), 29),
            (o(false), -1),
            (dup(3, false, false), 18),
            (dup(3, false, true), 4),
            (Op::Use, 3),
            (dup(3, true, true), 21),
            (dup(3, false, false), 30),
            (dup(3, true, false), 40),
            (Op::SetCloexec(true), 3),
            (Op::SetCloexec(false), 3),
            (Op::SetCloexec(false), 3),
            (Op::SetCloexec(true), 4),
            (Op::Probe, 4),
            (Op::Probe, 30),
            (Op::Probe, 3),
            (Op::Probe, 7),
        ]
    );
    assert_eq!(p.resource(&p.events[4]), Some("UNIX-STREAM:[8981->8982]"));
    assert_eq!(p.events[4].kind, ResourceKind::Socket);
    assert_eq!(
        p.events[6].outcome.failed_class(),
        Some(ErrorClass::TableFull)
    );
    // fcntl(30) in a -y trace without decoration: strace saw it closed.
    assert!(p.events[18].has(flags::UNDECORATED_IN_Y_MODE));
    assert!(is_bad(p.events[18].outcome));
}

#[test]
fn uses_of_every_shape() {
    let p = parse_lines(
        r#"read(3</usr/lib/x86_64-linux-gnu/libc.so.6>, "\177ELF\2\1\1\3\0\0\0\0\0\0\0\0\3\0>\0\1\0\0\0\20t\2\0\0\0\0\0"..., 832) = 832
write(3</tmp/weird/tobedeleted>(deleted), "x", 1) = 1
write(3, "quote\" backslash\\ tab\t nl\n cr\r b"..., 38) = 38
epoll_ctl(25<anon_inode:[eventpoll]>, EPOLL_CTL_ADD, 24<pipe:[1]>, {events=EPOLLIN, data={u32=24, u64=24}}) = 0
mmap(NULL, 33699, PROT_READ, MAP_PRIVATE, 3</etc/ld.so.cache>, 0) = 0x7f4a3eb8a000
mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f4a3eb93000
getdents64(4</proc/32107/fd>, 0x558a0ee57790 /* 10 entries */, 32768) = 240
newfstatat(4</tmp>, "x", {st_mode=S_IFREG|0644, ...}, 0) = 0
newfstatat(AT_FDCWD</tmp>, "x", {st_mode=S_IFREG|0644, ...}, 0) = 0
sendfile(5<socket:[1]>, 6</etc/passwd>, NULL, 10) = 10
connect(23, {sa_family=AF_INET, sin_port=htons(1), sin_addr=inet_addr("127.0.0.1")}, 16) = -1 ECONNREFUSED (Connection refused)
read(4<pipe:[13698]>, 0x7fff7a17fd5f, 1) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)
close(-1) = -1 EBADF (Bad file descriptor)
lseek(3, 0, SEEK_SET) = -1 ESPIPE (Illegal seek)
write(3</dev/null>, "x", 1) = -1 EBADF (Bad file descriptor) (INJECTED)
poll([{fd=4<pipe:[13698]>, events=POLLIN}], 1, 0) = 1 ([{fd=4, revents=POLLIN}])
"#,
        None,
    );
    let got: Vec<(Op, i64, &str, Option<&str>)> = p
        .events
        .iter()
        .map(|e| (e.op, e.handle, p.name(e), p.resource(e)))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                Op::Use,
                3,
                "read",
                Some("/usr/lib/x86_64-linux-gnu/libc.so.6")
            ),
            (
                Op::Use,
                3,
                "write",
                Some("/tmp/weird/tobedeleted (deleted)")
            ),
            (Op::Use, 3, "write", None),
            (Op::Use, 25, "epoll_ctl", Some("anon_inode:[eventpoll]")),
            (Op::Use, 24, "epoll_ctl", Some("pipe:[1]")),
            (Op::Use, 3, "mmap", Some("/etc/ld.so.cache")),
            (Op::Use, 4, "getdents64", Some("/proc/32107/fd")),
            (Op::Use, 4, "newfstatat", Some("/tmp")),
            (Op::Use, 5, "sendfile", Some("socket:[1]")),
            (Op::Use, 6, "sendfile", Some("/etc/passwd")),
            (Op::Use, 23, "connect", None),
            (Op::Use, 4, "read", Some("pipe:[13698]")),
            (Op::Close, -1, "close", None),
            (Op::Use, 3, "lseek", None),
            (Op::Use, 3, "write", Some("/dev/null")),
        ]
    );
    assert_eq!(p.events[6].kind, ResourceKind::Directory);
    assert_eq!(p.events[7].kind, ResourceKind::Directory);
    assert_eq!(
        p.events[11].outcome.failed_class(),
        Some(ErrorClass::Interrupted)
    );
    assert!(!p.events[12].has(flags::UNDECORATED_IN_Y_MODE));
    assert_eq!(
        p.events[13].outcome.failed_class(),
        Some(ErrorClass::WrongType)
    );
    assert!(p.events[14].has(flags::INJECTED));
    assert!(is_bad(p.events[14].outcome));
}

#[test]
fn close_range_forms() {
    let p = parse_lines(
        "close_range(5, 7, 0) = 0\nclose_range(100, 4294967295, 0) = 0\nclose_range(20, 45, CLOSE_RANGE_CLOEXEC) = 0\nclose_range(3, 4294967295, CLOSE_RANGE_UNSHARE) = 0\n",
        None,
    );
    assert_eq!(
        ops(&p)
            .into_iter()
            .map(|(_, op, h)| (op, h))
            .collect::<Vec<_>>(),
        vec![
            (
                Op::CloseRange {
                    last: 7,
                    cloexec_only: false
                },
                5
            ),
            (
                Op::CloseRange {
                    last: 4_294_967_295,
                    cloexec_only: false
                },
                100
            ),
            (
                Op::CloseRange {
                    last: 45,
                    cloexec_only: true
                },
                20
            ),
            (Op::Unshare, -1),
            (
                Op::CloseRange {
                    last: 4_294_967_295,
                    cloexec_only: false
                },
                3
            ),
        ]
    );
}

#[test]
fn scm_rights_received_in_a_resumed_recvmsg() {
    let p = parse_lines(
        r#"32427 02:45:15.117100 recvmsg(3<UNIX-STREAM:[1]>,  <unfinished ...>
32428 02:45:15.117208 close(5</etc/hostname> <unfinished ...>
32427 02:45:15.117218 <... recvmsg resumed>{msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="F", iov_len=4}], msg_iovlen=1, msg_control=[{cmsg_len=24, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[5</etc/hostname>, 6</etc/passwd>]}], msg_controllen=24, msg_flags=MSG_CMSG_CLOEXEC}, MSG_CMSG_CLOEXEC) = 1 <0.000218>
32428 02:45:15.117245 <... close resumed>) = 0 <0.000029>
32426 02:45:15.117300 sendmsg(7<socket:[13699]>, {msg_control=[{cmsg_len=24, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[4<pipe:[13698]>, 3</dev/null>]}]}, 0) = 1
"#,
        None,
    );
    let got: Vec<(u32, Op, i64, Outcome, bool)> = p
        .events
        .iter()
        .map(|e| (e.tid, e.op, e.handle, e.outcome, e.has(flags::RESUMED)))
        .collect();
    assert_eq!(
        got,
        vec![
            (32427, Op::Begin, 3, Outcome::Unknown, false),
            (32428, Op::Close, 5, Outcome::Unknown, false),
            (32427, Op::Use, 3, Outcome::Ok, true),
            (32427, Op::Receive { cloexec: true }, 5, Outcome::Ok, true),
            (32427, Op::Receive { cloexec: true }, 6, Outcome::Ok, true),
            (32428, Op::Close, 5, Outcome::Ok, true),
            (32426, Op::Use, 7, Outcome::Ok, false),
        ]
    );
    assert_eq!(p.resource(&p.events[4]), Some("/etc/passwd"));
    assert_eq!(p.events[1].time, Some(tod(2, 45, 15, 117_208)));
    assert_eq!(p.events[5].time, Some(tod(2, 45, 15, 117_245)));
}

#[test]
fn children_printing_before_the_clone_returns() {
    let p = parse_lines(
        r#"5059  clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f9670d79a10) = 5060
5059  vfork( <unfinished ...>
5061  execve("/bin/true", ["true"], 0x7ffcb8420318 /* 35 vars */ <unfinished ...>
5059  <... vfork resumed>)              = 5061
5061  <... execve resumed>)             = 0
5059  clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD <unfinished ...>
5068  --- SIGSEGV {si_signo=SIGSEGV, si_code=SEGV_MAPERR, si_addr=NULL} ---
5059  <... clone resumed>, child_tidptr=0x7f9670d79a10) = 5068
5059  clone(child_stack=0x5632596b00b0, flags=CLONE_FILES|SIGCHLD) = 5063
5059  clone3({flags=CLONE_FILES, exit_signal=SIGCHLD, stack=NULL, stack_size=0}, 88) = 5064
5375  clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, child_tid=0x7f77b690f990, parent_tid=0x7f77b690f990, exit_signal=0, stack=0x7f77b610f000, stack_size=0x7fff80, tls=0x7f77b690f6c0} <unfinished ...>
5376  rseq(0x7f77b690ffe0, 0x20, 0, 0x53053053 <unfinished ...>
5375  <... clone3 resumed> => {parent_tid=[5376]}, 88) = 5376
5376  <... rseq resumed>) = 0
5068  +++ killed by SIGSEGV +++
5059  unshare(CLONE_FILES) = 0
5059  clone(child_stack=0x5622, flags=0x10400|SIGCHLD) = 5090
"#,
        None,
    );
    let spawn = |child, s, t| Op::Spawn {
        child,
        shares_table: s,
        thread: t,
    };
    let got: Vec<(u32, Op, u32)> = p
        .events
        .iter()
        .map(|e| (e.tid, e.op, e.origin.line))
        .collect();
    assert_eq!(
        got,
        vec![
            (5059, spawn(5060, false, false), 1),
            (5059, spawn(5061, false, false), 3),
            (5061, Op::Exec, 5),
            (5059, spawn(5068, false, false), 7),
            (5059, spawn(5063, true, false), 9),
            (5059, spawn(5064, true, false), 10),
            (5375, spawn(5376, true, true), 12),
            (5068, Op::TaskExit, 15),
            (5059, Op::Unshare, 16),
            (5059, spawn(5090, true, true), 17),
        ]
    );
    assert_eq!(p.stats.counters.get("signals"), Some(&1));
}

#[test]
fn exec_from_a_thread_resumes_under_the_leader() {
    let p = parse_lines(
        r#"5659  02:32:43.808069 execve("/bin/true", ["true"], 0x7ffc3b50aef0 /* 35 vars */ <unfinished ...>
5656  02:32:43.808215 <... pause resumed>) = ?
5656  02:32:43.808450 +++ superseded by execve in pid 5659 +++
5656  02:32:43.808475 <... execve resumed>) = 0
"#,
        None,
    );
    assert_eq!(
        ops(&p),
        vec![(5659, Op::TaskExit, -1), (5656, Op::Exec, -1)]
    );
    assert!(p.events[1].has(flags::RESUMED));
}

#[test]
fn task_dying_while_blocked_has_unknown_outcome() {
    let p = parse_lines(
        "13354 read(4<pipe:[1]>,  <unfinished ...>\n13353 exit_group(0) = ?\n13354 <... read resumed> <unfinished ...>) = ?\n13354 +++ exited with 0 +++\n",
        None,
    );
    let got: Vec<(Op, i64, Outcome)> = p
        .events
        .iter()
        .map(|e| (e.op, e.handle, e.outcome))
        .collect();
    assert_eq!(
        got,
        vec![
            (Op::Begin, 4, Outcome::Unknown),
            (Op::Use, 4, Outcome::Unknown),
            (Op::TaskExit, -1, Outcome::Ok)
        ]
    );
}

#[test]
fn stderr_layout_with_spliced_notices() {
    let p = parse_lines(
        r#"read(3, "\177ELF\2\1\1\3\0\0\0\0\0\0\0\0\3\0>\0\1\0\0\0\20t\2\0\0\0\0\0"..., 832) = 832
clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, child_tid=0x7f771d4fb990, parent_tid=0x7f771d4fb990, exit_signal=0, stack=0x7f771ccfb000, stack_size=0x7fff80, tls=0x7f771d4fb6c0} => {parent_tid=[11816]}, 88) = 11816
clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, child_tid=0x7f771ccfa990, parent_tid=0x7f771ccfa990, exit_signal=0, stack=0x7f771c4fa000, stack_size=0x7fff80, tls=0x7f771ccfa6c0}strace: Process 11817 attached
 => {parent_tid=[11817]}, 88) = 11817
[pid 11817] read(3, strace: Process 11816 attached
 <unfinished ...>
[pid 11816] read(3,  <unfinished ...>
[pid 11815] write(4, "hello", 5)        = 5
fdsan_threads_double_close: good failed to write?!: Bad file descriptor
[pid 11817] <... read resumed>"hello", 16) = 5
[pid 11817] +++ exited with 0 +++
[pid 11816] +++ exited with 0 +++
exit_group(0)                           = ?
+++ exited with 0 +++
"#,
        None,
    );
    let got: Vec<(u32, Op, i64)> = ops(&p);
    let spawn = |child| Op::Spawn {
        child,
        shares_table: true,
        thread: true,
    };
    assert_eq!(
        got,
        vec![
            (0, Op::Use, 3),
            (0, spawn(11816), -1),
            (0, spawn(11817), -1),
            (11817, Op::Begin, 3),
            (11816, Op::Begin, 3),
            (0, Op::Alias { real: 11815 }, -1),
            (11815, Op::Use, 4),
            (11817, Op::Use, 3),
            (11817, Op::TaskExit, -1),
            (11816, Op::TaskExit, -1),
            (11815, Op::TaskExit, -1),
        ]
    );
    assert_eq!(p.events[2].origin.line, 4);
    assert_eq!(p.events[3].origin.line, 6);
    assert_eq!(p.stats.counters.get("notices"), Some(&2));
    assert_eq!(
        p.stats
            .skipped_by_reason
            .get("not strace output")
            .map(|s| (s.count, s.first_at)),
        Some((1, 9))
    );
}

#[test]
fn stderr_child_prints_before_the_unprefixed_parents_clone_returns() {
    let p = parse_lines(
        "clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD <unfinished ...>\n[pid  9001] close(3) = 0\n[pid  9000] <... clone resumed>, child_tidptr=0x7f) = 9001\n[pid  9000] close(4) = 0\n",
        None,
    );
    assert_eq!(
        ops(&p),
        vec![
            (
                0,
                Op::Spawn {
                    child: 9001,
                    shares_table: false,
                    thread: false
                },
                -1
            ),
            (9001, Op::Close, 3),
            (0, Op::Alias { real: 9000 }, -1),
            (9000, Op::Close, 4),
        ]
    );
}

#[test]
fn timestamps_in_every_form() {
    let times = |text: &str| {
        parse_lines(text, None)
            .events
            .iter()
            .map(|e| e.time)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        times(
            "5397  1795314759.801144 close(3) = 0\n5477  1795314759.997645912 close(3) = 0\n1795315652 close(3) = 0\n"
        ),
        vec![
            Some(1_795_314_759_801_144_000),
            Some(1_795_314_759_997_645_912),
            Some(1_795_315_652_000_000_000)
        ]
    );
    assert_eq!(
        times(
            "5408       0.000000 close(3) = 0\n5408       0.000018 brk(NULL) = 0x1\n5408       0.000002 close(4) = 0\n"
        ),
        vec![Some(0), Some(20_000)]
    );
    assert_eq!(
        times(
            "02:47:32 (+     0.000000) close(3)      = 0\n02:47:32 (+     0.000352) close(3)      = 0\n"
        ),
        vec![Some(tod(2, 47, 32, 0)), Some(tod(2, 47, 32, 352))]
    );
    assert_eq!(
        times("1 23:59:59.900000 close(3) = 0\n1 00:00:00.100000 close(3) = 0\n"),
        vec![Some(tod(23, 59, 59, 900_000)), Some(tod(24, 0, 0, 100_000))]
    );
    assert_eq!(times("close(3) = 0\n"), vec![None]);
}

#[test]
fn decode_pids_and_prefix_groups() {
    let p = parse_lines(
        r#"2153<procs> clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f1da8ebaa10) = 2154<procs>
[pid  2170<threads>] close(3</x>) = 0
7 02:32:39.750798 [00007f1e686b8011] close(5) = 0
[ 257] openat(AT_FDCWD, "/x", O_RDONLY) = 3
"#,
        None,
    );
    assert_eq!(
        ops(&p),
        vec![
            (
                2153,
                Op::Spawn {
                    child: 2154,
                    shares_table: false,
                    thread: false
                },
                -1
            ),
            (2170, Op::Close, 3),
            (7, Op::Close, 5),
            (0, Op::Open { cloexec: false }, 3),
        ]
    );
}

#[test]
fn ff_files_use_the_forced_tid() {
    let p = parse_lines(
        "02:32:50.816142 close(3</x>) = 0\n02:32:50.816143 +++ exited with 0 +++\n",
        Some(6047),
    );
    assert_eq!(
        ops(&p),
        vec![(6047, Op::Close, 3), (6047, Op::TaskExit, -1)]
    );
}

#[test]
fn clone_pidfd_out_parameters() {
    let p = parse_lines(
        r#"clone3({flags=CLONE_PIDFD, pidfd=0x7ffcce3e3e20, exit_signal=SIGCHLD, stack=NULL, stack_size=0} => {pidfd=[3<anon_inode:[pidfd]>]}, 88) = 1080
clone(child_stack=0x562289d8f050, flags=CLONE_PIDFD|SIGCHLD, parent_tid=[4<anon_inode:[pidfd]>]) = 1081
pidfd_getfd(38<pid:4252>, 3</etc/hostname>, 0) = 39</etc/hostname>
"#,
        None,
    );
    let got: Vec<(Op, i64, ResourceKind)> =
        p.events.iter().map(|e| (e.op, e.handle, e.kind)).collect();
    assert_eq!(
        got,
        vec![
            (
                Op::Spawn {
                    child: 1080,
                    shares_table: false,
                    thread: false
                },
                -1,
                ResourceKind::Unknown
            ),
            (Op::Open { cloexec: true }, 3, ResourceKind::PidFd),
            (
                Op::Spawn {
                    child: 1081,
                    shares_table: false,
                    thread: false
                },
                -1,
                ResourceKind::Unknown
            ),
            (Op::Open { cloexec: true }, 4, ResourceKind::PidFd),
            (Op::Use, 38, ResourceKind::PidFd),
            (Op::Open { cloexec: true }, 39, ResourceKind::File),
        ]
    );
}

#[test]
fn non_call_lines_are_skipped_quietly_or_counted() {
    let p = parse_lines(
        r#"write(1, "hello\tworld\n", 12)          = 12
 | 00000  68 65 6c 6c 6f 09 77 6f  72 6c 64 0a              hello.world.     |
[ Process PID=5 runs in 32 bit mode. ]
--- SIGPIPE {si_signo=SIGPIPE, si_code=SI_USER, si_pid=11137, si_uid=0} ---
% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ------------------
  0.00    0.000000           0         3           close_range
------ ----------- ----------- --------- --------- ------------------
100.00    0.000000           0        97         8 total
close(3) = 0
5060  +++ exited with 3 +++
+++ killed by SIGSEGV (core dumped) +++
garbage (with parens
openat(AT_FDCWD, "/x
"#,
        None,
    );
    assert_eq!(p.stats.units, 14);
    assert_eq!(
        ops(&p),
        vec![
            (0, Op::Use, 1),
            (0, Op::Close, 3),
            (5060, Op::TaskExit, -1),
            (0, Op::TaskExit, -1)
        ]
    );
    assert_eq!(p.stats.counters.get("summary lines"), Some(&5));
    assert_eq!(p.stats.counters.get("hexdump lines"), Some(&1));
    assert_eq!(
        p.stats
            .skipped_by_reason
            .get("not strace output")
            .map(|s| s.first_at),
        Some(13)
    );
    assert_eq!(
        p.stats
            .skipped_by_reason
            .get("unparseable call")
            .map(|s| s.first_at),
        Some(14)
    );
    assert_eq!(p.stats.skipped, 2);
}

#[test]
fn bytes_that_are_not_text_never_panic() {
    let mut interner = Interner::new();
    let mut stats = ReadStats::default();
    let mut events: Vec<Event> = Vec::new();
    let mut ctx = ReadContext {
        input: 0,
        interner: &mut interner,
        sink: &mut events,
        stats: &mut stats,
    };
    let mut parser = StraceParser::new();
    let nasty: &[&[u8]] = &[
        b"\xff\xfe(\x00",
        b"close(",
        b"close(3<",
        b"close(3</a\\",
        b"[pid ",
        b"[pid 99999999999999999999] close(3) = 0",
        b"99999999999999999999 close(3) = 0",
        b"<... close resumed>",
        b"<... ",
        b"+++ superseded by execve in pid +++",
        b" > ",
        b"read(3, \"abc\\",
        b"close_range(1) = 0",
        b"dup2() = 3",
        b"clone3({flags=CLONE_THREAD <unfinished ...>",
        b"recvmsg(3, {msg_control=[{cmsg_type=SCM_RIGHTS, cmsg_data=[",
    ];
    for (i, l) in nasty.iter().enumerate() {
        parser.line(l, Origin::line(0, i as u32 + 1, 0), None, &mut ctx);
    }
    let deep = "f(".repeat(200) + &")".repeat(200) + " = 0";
    parser.line(deep.as_bytes(), Origin::line(0, 99, 0), None, &mut ctx);
    parser.finish(&mut ctx);
    assert_eq!(stats.units, nasty.len() as u64 + 1);
}
