//! One perf call (a complete line, or an entry joined with its continued half)
//! into [`Event`]s, by the strace reader's syscall table ([`Action`], fd masks).
//!
//! What perf does not show, and what is done instead:
//! - strings and structs are pointers: no paths, no `[3, 4]` of pipe2/socketpair,
//!   no SCM_RIGHTS contents, no clone3 flags (see [`super::tasks`]). fds created
//!   that way appear later without a creation: unknown history, as for an fd
//!   inherited from before the trace;
//! - fd decorations are never read (they are cached by number and go stale).

use crate::formats::ReadContext;
use crate::formats::strace::syscalls::{Action, Cloexec, Spec};
use crate::model::{ErrorClass, Event, Op, Origin, Outcome, ResourceKind, Sym};

use super::args::{Args, Ret, fd, has_flag, int};

const O_CLOEXEC: u64 = 0x80000;
const O_DIRECTORY: u64 = 0x10000;
const CLONE_FILES: u64 = 0x400;
const CLONE_THREAD: u64 = 0x10000;
const AT_EMPTY_PATH: u64 = 0x1000;
const CLOSE_RANGE_UNSHARE: u64 = 2;
const CLOSE_RANGE_CLOEXEC: u64 = 4;

/// Everything one call's events share.
pub struct CallCtx {
    pub time: i64,
    pub pid: u32,
    pub tid: u32,
    pub origin: Origin,
    pub call: Sym,
    pub flags: u8,
}

impl CallCtx {
    fn event(&self, op: Op, handle: i64) -> Event {
        let mut ev = Event::new(op, self.call, self.origin);
        ev.time = Some(self.time);
        ev.pid = self.pid;
        ev.tid = self.tid;
        ev.handle = handle;
        ev.flags = self.flags;
        ev
    }
}

pub fn outcome(ret: Ret<'_>, ctx: &mut ReadContext<'_>) -> Outcome {
    match ret {
        Ret::Num(_) => Outcome::Ok,
        Ret::Err(name) => Outcome::Failed {
            class: ErrorClass::of_errno(name),
            name: ctx.interner.intern_bytes(name),
        },
        Ret::Unknown => Outcome::Unknown,
    }
}

fn send(ev: Event, ctx: &mut ReadContext<'_>) {
    ctx.stats.events += 1;
    ctx.sink.event(ev);
}

/// The value of fd parameter `pos`: omitted means 0 for a required fd, none for an
/// optional one (perf also hides mmap's fd of an anonymous map).
fn fd_arg(args: &Args<'_>, params: &[&str], pos: usize, optional: bool) -> Option<i64> {
    if pos >= params.len() {
        return None;
    }
    match args.get(pos) {
        None if optional => None,
        None => Some(0),
        Some(v) => fd(v).filter(|f| !optional || *f >= 0),
    }
}

/// Events for the fd arguments in the spec's `fds` and `opt` masks.
fn fd_args(
    op: Op,
    spec: Spec,
    args: &Args<'_>,
    params: &[&str],
    outcome: Outcome,
    cx: &CallCtx,
    ctx: &mut ReadContext<'_>,
) {
    for i in 0..8usize {
        let required = spec.fds & (1 << i) != 0;
        let optional = spec.opt & (1 << i) != 0;
        if !required && !optional {
            continue;
        }
        if let Some(v) = fd_arg(args, params, i, !required) {
            let mut ev = cx.event(op, v);
            ev.outcome = outcome;
            send(ev, ctx);
        }
    }
}

fn cloexec(rule: Cloexec, args: &Args<'_>) -> bool {
    match rule {
        Cloexec::Never => false,
        Cloexec::Always => true,
        Cloexec::Arg(i, name, bit) => args.get(i as usize).is_some_and(|a| has_flag(a, name, bit)),
        // openat2's `how` is a pointer.
        Cloexec::StructArg(..) => false,
    }
}

fn open_ret(
    cx: &CallCtx,
    ret: Ret<'_>,
    outcome: Outcome,
    cloexec: bool,
    kind: ResourceKind,
    ctx: &mut ReadContext<'_>,
) {
    let handle = match ret {
        Ret::Num(v) if outcome.is_ok() && v >= 0 => v,
        _ => -1,
    };
    let mut ev = cx.event(Op::Open { cloexec }, handle);
    ev.outcome = outcome;
    ev.kind = kind;
    send(ev, ctx);
}

/// What a call made that the reader must finish: a child task, or two fds
/// perf did not print.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Made {
    Spawn(Spawned),
    Pair {
        kind: ResourceKind,
        cloexec: bool,
    },
    /// A message arrived: it may have carried fds (SCM_RIGHTS) perf does not show.
    Message,
}

/// What a clone-family call said about its child.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spawned {
    pub child: u32,
    pub shares_table: bool,
    pub thread: bool,
}

/// CLONE_FILES and CLONE_THREAD of a clone (shown) or fork/vfork (neither);
/// `None` for clone3, whose flags perf does not show.
pub fn clone_flags(action: Action, args: &Args<'_>) -> Option<(bool, bool)> {
    match action {
        Action::Clone => {
            let f = args.get(0).unwrap_or(&[]);
            Some((
                has_flag(f, "CLONE_FILES", CLONE_FILES),
                has_flag(f, "CLONE_THREAD", CLONE_THREAD),
            ))
        }
        Action::Fork => Some((false, false)),
        _ => None,
    }
}

/// A complete call. `spawn` decides clone3's sharing (from [`super::tasks`]).
/// Returns the child a clone-family call created.
#[allow(clippy::too_many_arguments)]
pub fn complete(
    spec: Spec,
    params: &[&str],
    args: &Args<'_>,
    ret: Ret<'_>,
    cx: &CallCtx,
    comm: Option<Sym>,
    clone3_guess: &dyn Fn(u32) -> (bool, bool),
    ctx: &mut ReadContext<'_>,
) -> Option<Made> {
    let outcome = outcome(ret, ctx);
    let ok = outcome.is_ok();
    let ret_num = match ret {
        Ret::Num(v) => Some(v),
        _ => None,
    };
    match spec.action {
        Action::Use => fd_args(Op::Use, spec, args, params, outcome, cx, ctx),
        Action::Create {
            kind,
            cloexec: rule,
            oflags,
            ..
        } => {
            fd_args(Op::Use, spec, args, params, outcome, cx, ctx);
            let is_dir = oflags
                .and_then(|i| args.get(i as usize))
                .is_some_and(|f| has_flag(f, "O_DIRECTORY", O_DIRECTORY));
            let kind = if is_dir && kind == ResourceKind::File {
                ResourceKind::Directory
            } else {
                kind
            };
            open_ret(cx, ret, outcome, cloexec(rule, args), kind, ctx);
        }
        Action::Accept { cloexec: rule } => {
            fd_args(Op::Use, spec, args, params, outcome, cx, ctx);
            open_ret(
                cx,
                ret,
                outcome,
                cloexec(rule, args),
                ResourceKind::Socket,
                ctx,
            );
        }
        Action::Pair {
            kind,
            cloexec: rule,
            ..
        } => {
            // The fds are written to a user array perf shows as a pointer.
            if ok {
                return Some(Made::Pair {
                    kind,
                    cloexec: cloexec(rule, args),
                });
            }
        }
        Action::Dup | Action::Dup2 | Action::Dup3 => {
            let src = fd_arg(args, params, 0, false)?;
            let target = fd_arg(args, params, 1, false);
            if spec.action == Action::Dup2 && target == Some(src) {
                let mut ev = cx.event(Op::Use, src);
                ev.outcome = outcome;
                send(ev, ctx);
                return None;
            }
            let dup_cloexec = spec.action == Action::Dup3
                && args
                    .get(2)
                    .is_some_and(|f| has_flag(f, "O_CLOEXEC", O_CLOEXEC));
            let replaces = spec.action != Action::Dup;
            dup(
                cx,
                src,
                target.filter(|_| replaces),
                dup_cloexec,
                replaces,
                ret_num,
                outcome,
                ctx,
            );
        }
        Action::Fcntl => {
            let fd0 = fd_arg(args, params, 0, false)?;
            let cmd = args.get(1).unwrap_or(b"DUPFD");
            let cmd_num = int(cmd);
            let is = |name: &[u8], num: i64| cmd == name || cmd_num == Some(num);
            if is(b"DUPFD", 0) || is(b"DUPFD_CLOEXEC", 1030) {
                let c = is(b"DUPFD_CLOEXEC", 1030);
                dup(cx, fd0, None, c, false, ret_num, outcome, ctx);
            } else if is(b"GETFD", 1) || is(b"GETFL", 3) {
                let mut ev = cx.event(Op::Probe, fd0);
                ev.outcome = outcome;
                send(ev, ctx);
            } else if is(b"SETFD", 2) {
                // Printed only when not 0; perf 6.1 prints FD_CLOEXEC (1) as `arg: 0`
                // (what is left after naming the flag), so presence is the signal.
                let on = args
                    .get(2)
                    .is_some_and(|a| has_flag(a, "FD_CLOEXEC", 1) || int(a) == Some(0));
                let mut ev = cx.event(Op::SetCloexec(on), fd0);
                ev.outcome = outcome;
                send(ev, ctx);
            } else {
                let mut ev = cx.event(Op::Use, fd0);
                ev.outcome = outcome;
                send(ev, ctx);
            }
        }
        Action::Ioctl => {
            let fd0 = fd_arg(args, params, 0, false)?;
            let req = args.get(1).unwrap_or(&[]);
            let num = int(req);
            let op = if req == b"FIOCLEX" || num == Some(0x5451) {
                Op::SetCloexec(true)
            } else if req == b"FIONCLEX" || num == Some(0x5450) {
                Op::SetCloexec(false)
            } else {
                Op::Use
            };
            let mut ev = cx.event(op, fd0);
            ev.outcome = outcome;
            send(ev, ctx);
        }
        Action::Close => {
            let fd0 = fd_arg(args, params, 0, false)?;
            let mut ev = cx.event(Op::Close, fd0);
            ev.outcome = outcome;
            send(ev, ctx);
        }
        Action::CloseRange => {
            let first = fd_arg(args, params, 0, false)?;
            let last = match args.get(1) {
                None => 0,
                Some(v) => int(v)?,
            };
            // `max_fd: -1` is ~0U.
            let last = if last < 0 { i64::from(u32::MAX) } else { last };
            let fl = args.get(2).unwrap_or(&[]);
            if ok && has_flag(fl, "CLOSE_RANGE_UNSHARE", CLOSE_RANGE_UNSHARE) {
                send(cx.event(Op::Unshare, -1), ctx);
            }
            let cloexec_only = has_flag(fl, "CLOSE_RANGE_CLOEXEC", CLOSE_RANGE_CLOEXEC);
            let mut ev = cx.event(Op::CloseRange { last, cloexec_only }, first);
            ev.outcome = outcome;
            send(ev, ctx);
        }
        Action::Probe => fd_args(Op::Probe, spec, args, params, outcome, cx, ctx),
        Action::StatAt { flags: fi } => {
            // The path is a pointer: AT_EMPTY_PATH alone says it is a stat of the fd.
            let empty_path = args
                .get(fi as usize)
                .is_some_and(|f| has_flag(f, "AT_EMPTY_PATH", AT_EMPTY_PATH));
            if empty_path {
                fd_args(
                    Op::Probe,
                    Spec { dirs: 0, ..spec },
                    args,
                    params,
                    outcome,
                    cx,
                    ctx,
                );
            } else {
                fd_args(Op::Use, spec, args, params, outcome, cx, ctx);
            }
        }
        Action::RecvMsg { .. } => {
            fd_args(Op::Use, spec, args, params, outcome, cx, ctx);
            if ok && ret_num.is_some_and(|n| n > 0) {
                return Some(Made::Message);
            }
        }
        Action::SignalFd { flags: fi } => {
            let fd0 = fd_arg(args, params, 0, false)?;
            if fd0 == -1 {
                let c = fi
                    .and_then(|i| args.get(i as usize))
                    .is_some_and(|f| has_flag(f, "SFD_CLOEXEC", O_CLOEXEC));
                open_ret(cx, ret, outcome, c, ResourceKind::SignalFd, ctx);
            } else {
                let mut ev = cx.event(Op::Use, fd0);
                ev.outcome = outcome;
                send(ev, ctx);
            }
        }
        Action::PidfdGetfd => {
            fd_args(Op::Use, spec, args, params, outcome, cx, ctx);
            open_ret(cx, ret, outcome, true, ResourceKind::Unknown, ctx);
        }
        Action::Bpf => {
            let cmd = args.get(0).unwrap_or(&[]);
            let makes_fd = [
                &b"MAP_CREATE"[..],
                b"PROG_LOAD",
                b"OBJ_GET",
                b"PROG_GET_FD_BY_ID",
                b"MAP_GET_FD_BY_ID",
                b"BTF_LOAD",
                b"BTF_GET_FD_BY_ID",
                b"LINK_CREATE",
                b"LINK_GET_FD_BY_ID",
                b"RAW_TRACEPOINT_OPEN",
                b"ITER_CREATE",
                b"TOKEN_CREATE",
            ]
            .iter()
            .any(|c| cmd == *c || cmd.strip_prefix(b"BPF_") == Some(*c));
            if makes_fd {
                open_ret(cx, ret, outcome, true, ResourceKind::OtherAnon, ctx);
            }
        }
        Action::Landlock => {
            let fl = args.get(2).unwrap_or(&[]);
            if !has_flag(fl, "LANDLOCK_CREATE_RULESET_VERSION", 1)
                && !has_flag(fl, "LANDLOCK_CREATE_RULESET_ERRATA", 2)
            {
                open_ret(cx, ret, outcome, true, ResourceKind::OtherAnon, ctx);
            }
        }
        Action::Seccomp => {
            if args
                .get(1)
                .is_some_and(|f| has_flag(f, "SECCOMP_FILTER_FLAG_NEW_LISTENER", 8))
                && ret_num.is_some_and(|v| v > 0)
            {
                open_ret(cx, ret, outcome, true, ResourceKind::OtherAnon, ctx);
            }
        }
        Action::Clone | Action::Clone3 | Action::Fork => {
            let child = ret_num
                .filter(|_| ok)
                .and_then(|v| u32::try_from(v).ok())
                .filter(|c| *c > 0)?;
            let (shares_table, thread) =
                clone_flags(spec.action, args).unwrap_or_else(|| clone3_guess(child));
            send(
                cx.event(
                    Op::Spawn {
                        child,
                        shares_table,
                        thread,
                    },
                    -1,
                ),
                ctx,
            );
            return Some(Made::Spawn(Spawned {
                child,
                shares_table,
                thread,
            }));
        }
        Action::Exec => {
            fd_args(Op::Use, spec, args, params, outcome, cx, ctx);
            if ok && ret_num == Some(0) {
                let mut ev = cx.event(Op::Exec, -1);
                // The comm printed with a successful execve is the new program's.
                ev.resource = comm;
                send(ev, ctx);
            }
        }
        Action::Unshare => {
            if ok
                && args
                    .get(0)
                    .is_some_and(|f| has_flag(f, "CLONE_FILES", CLONE_FILES))
            {
                send(cx.event(Op::Unshare, -1), ctx);
            }
        }
        Action::LearnTid => {}
    }
    None
}

#[allow(clippy::too_many_arguments)]
fn dup(
    cx: &CallCtx,
    src: i64,
    target: Option<i64>,
    cloexec: bool,
    replaces: bool,
    ret: Option<i64>,
    outcome: Outcome,
    ctx: &mut ReadContext<'_>,
) {
    let handle = match ret {
        Some(v) if outcome.is_ok() && v >= 0 => v,
        _ => target.unwrap_or(-1),
    };
    let mut ev = cx.event(
        Op::Dup {
            source: src,
            cloexec,
            replaces,
            source_pid: None,
        },
        handle,
    );
    ev.outcome = outcome;
    send(ev, ctx);
}

/// Events at the entry of a call whose return comes on a later line: `Close`
/// (released at entry, outcome unknown) or `Begin` for each fd it uses.
pub fn entry(
    spec: Spec,
    params: &[&str],
    args: &Args<'_>,
    cx: &CallCtx,
    ctx: &mut ReadContext<'_>,
) {
    let Some(op) = spec.action.entry_op() else {
        return;
    };
    let mut spec = spec;
    if let Action::SignalFd { .. } = spec.action {
        spec.fds = u8::from(fd_arg(args, params, 0, false).is_some_and(|v| v != -1));
    }
    fd_args(op, spec, args, params, Outcome::Unknown, cx, ctx);
}

/// True when the call's effect on the fd table happens at its return (a new
/// fd is installed), so it is ordered at its end time rather than its start.
pub fn acts_at_return(spec: Spec, args: &Args<'_>) -> bool {
    match spec.action {
        Action::Create { .. }
        | Action::Accept { .. }
        | Action::Pair { .. }
        | Action::Dup
        | Action::Dup2
        | Action::Dup3
        | Action::RecvMsg { .. }
        | Action::SignalFd { .. }
        | Action::PidfdGetfd
        | Action::Bpf
        | Action::Landlock
        | Action::Seccomp => true,
        Action::Fcntl => args
            .get(1)
            .is_none_or(|c| c == b"DUPFD" || c == b"DUPFD_CLOEXEC" || int(c) == Some(1030)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clone_flags_from_perf_names() {
        let p = ["clone_flags", "newsp"];
        let a = Args::parse(b"clone_flags: FILES|0x11, newsp: 0x55b3da3d6110", &p);
        assert_eq!(clone_flags(Action::Clone, &a), Some((true, false)));
        let a = Args::parse(
            b"clone_flags: VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID",
            &p,
        );
        assert_eq!(clone_flags(Action::Clone, &a), Some((true, true)));
        let a = Args::parse(b"clone_flags: CHILD_CLEARTID|CHILD_SETTID|0x11", &p);
        assert_eq!(clone_flags(Action::Clone, &a), Some((false, false)));
        assert_eq!(clone_flags(Action::Clone3, &a), None);
    }

    #[test]
    fn creations_act_at_return() {
        let t = crate::formats::strace::syscalls::Table::new();
        let spec = |n: &str| t.get(n.as_bytes()).map(|e| e.1).unwrap();
        let none = Args::parse(b"", &[]);
        assert!(acts_at_return(spec("openat"), &none));
        assert!(!acts_at_return(spec("close"), &none));
        assert!(!acts_at_return(spec("read"), &none));
        let p = ["fd", "cmd", "arg"];
        assert!(acts_at_return(
            spec("fcntl"),
            &Args::parse(b"fd: 3, cmd: DUPFD_CLOEXEC, arg: 20", &p)
        ));
        assert!(!acts_at_return(
            spec("fcntl"),
            &Args::parse(b"fd: 3, cmd: GETFD", &p)
        ));
    }
}
