//! Turning one scanned call into events: the fd semantics of section 2 of the
//! research notes (creations, duplicates, transfers, closes, probes, uses,
//! process events).

use crate::model::{ErrorClass, Event, Op, Outcome, ResourceKind, Sym, flags};

use super::resource::{identity, kind_of};
use super::syscalls::{Action, Cloexec, Spec};
use super::tokenize::{
    Args, FdVal, Ret, Tail, first_fd_and_close, has_flag, nth_fd_and_close, parse_fd, parse_int,
    parse_tail, scan_list, skip_string, struct_field,
};
use super::{ReadContext, StraceParser};

const O_DIRECTORY: u64 = 0x10000;
const CLONE_FILES: u64 = 0x400;
const CLONE_THREAD: u64 = 0x10000;
const CLONE_PIDFD: u64 = 0x1000;
const AT_EMPTY_PATH: u64 = 0x1000;
const MSG_CMSG_CLOEXEC: u64 = 0x4000_0000;
const CLOSE_RANGE_UNSHARE: u64 = 2;
const CLOSE_RANGE_CLOEXEC: u64 = 4;

/// Slots of the decoration → resource cache.
const DECO_CACHE: usize = 64;

/// bpf commands that return a new fd.
const BPF_FD_CMDS: &[&[u8]] = &[
    b"BPF_MAP_CREATE",
    b"BPF_PROG_LOAD",
    b"BPF_OBJ_GET",
    b"BPF_PROG_GET_FD_BY_ID",
    b"BPF_MAP_GET_FD_BY_ID",
    b"BPF_BTF_LOAD",
    b"BPF_BTF_GET_FD_BY_ID",
    b"BPF_LINK_CREATE",
    b"BPF_LINK_GET_FD_BY_ID",
    b"BPF_RAW_TRACEPOINT_OPEN",
    b"BPF_ITER_CREATE",
    b"BPF_TOKEN_CREATE",
];

/// Cache of decoration text → interned identity, so hot fds do not re-hash
/// their path through the interner on every read/write.
#[derive(Default)]
pub(super) struct DecoCache {
    slots: Vec<(Vec<u8>, bool, Option<Sym>)>,
}

impl DecoCache {
    /// Drops the entries whose symbol is `len` or later (taken back from the interner).
    pub(super) fn forget_from(&mut self, len: usize) {
        for slot in &mut self.slots {
            if slot.2.is_some_and(|s| s.0 as usize >= len) {
                slot.2 = None;
            }
        }
    }
}

/// The cache slot of a decoration: its length and its last 16 bytes (where
/// paths differ), read as two words, mixed once.
fn slot_of(deco: &[u8]) -> usize {
    let word = |at: usize| {
        let mut w = [0u8; 8];
        let from = deco.len().saturating_sub(at + 8);
        let part = deco
            .get(from..deco.len() - at.min(deco.len()))
            .unwrap_or(&[]);
        let n = part.len().min(8);
        w[..n].copy_from_slice(&part[part.len() - n..]);
        u64::from_le_bytes(w)
    };
    let h = (deco.len() as u64)
        .wrapping_add(word(0))
        .wrapping_mul(0x51_7c_c1_b7_27_22_0a_95)
        .rotate_left(23)
        ^ word(8);
    (h.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 58) as usize % DECO_CACHE
}

fn errno_name(n: i64) -> Option<&'static str> {
    Some(match n {
        4 => "EINTR",
        9 => "EBADF",
        20 => "ENOTDIR",
        21 => "EISDIR",
        23 => "ENFILE",
        24 => "EMFILE",
        29 => "ESPIPE",
        88 => "ENOTSOCK",
        512 => "ERESTARTSYS",
        513 => "ERESTARTNOINTR",
        514 => "ERESTARTNOHAND",
        516 => "ERESTART_RESTARTBLOCK",
        _ => return None,
    })
}

/// The text inside a quoted string argument (escapes kept), or the argument.
fn unquote(arg: &[u8]) -> &[u8] {
    match arg.strip_prefix(b"\"") {
        Some(inner) => {
            let end = skip_string(arg, 1);
            let close = end.saturating_sub(1).max(1);
            arg.get(1..close).unwrap_or(inner)
        }
        None => arg,
    }
}

impl StraceParser {
    fn outcome(&mut self, tail: &Tail<'_>, ctx: &mut ReadContext<'_>) -> Outcome {
        if let Some(name) = tail.errno {
            return Outcome::Failed {
                class: ErrorClass::of_errno(name),
                name: ctx.interner.intern_bytes(name),
            };
        }
        match tail.ret {
            Ret::Num(v) if v.fd == -1 && tail.errno_num.is_some() => {
                let n = tail.errno_num.unwrap_or(0);
                let name = match errno_name(n) {
                    Some(s) => ctx.interner.intern(s),
                    None => ctx.interner.intern(&format!("errno {n}")),
                };
                let class = errno_name(n)
                    .map(|s| ErrorClass::of_errno(s.as_bytes()))
                    .unwrap_or(ErrorClass::Other);
                Outcome::Failed { class, name }
            }
            Ret::Num(_) => Outcome::Ok,
            Ret::Unknown | Ret::Missing => Outcome::Unknown,
        }
    }

    fn resource_sym(&mut self, deco: &[u8], deleted: bool, ctx: &mut ReadContext<'_>) -> Sym {
        if self.deco_cache.slots.is_empty() {
            self.deco_cache.slots = (0..DECO_CACHE).map(|_| (Vec::new(), false, None)).collect();
        }
        let slot = slot_of(deco);
        if let Some((text, del, Some(sym))) = self.deco_cache.slots.get(slot)
            && text.as_slice() == deco
            && *del == deleted
        {
            ctx.interner.touch(*sym);
            return *sym;
        }
        identity(deco, deleted, &mut self.scratch);
        let sym = ctx.interner.intern_bytes(&self.scratch);
        if let Some(entry) = self.deco_cache.slots.get_mut(slot) {
            entry.0.clear();
            entry.0.extend_from_slice(deco);
            entry.1 = deleted;
            entry.2 = Some(sym);
        }
        sym
    }

    /// An event about fd value `v` (an argument): resource, kind and the
    /// -y flags from its decoration.
    fn fd_event(
        &mut self,
        op: Op,
        call: Sym,
        v: FdVal<'_>,
        dir: bool,
        outcome: Outcome,
        ctx: &mut ReadContext<'_>,
    ) -> Event {
        let mut ev = self.event(op, call, v.fd);
        ev.outcome = outcome;
        self.decorate(&mut ev, v, dir, ctx);
        if v.deco.is_none() && v.fd >= 0 {
            if self.y_mode {
                ev.flags |= flags::UNDECORATED_IN_Y_MODE;
            } else {
                self.undecorated_before_y = true;
            }
        }
        ev
    }

    fn decorate(&mut self, ev: &mut Event, v: FdVal<'_>, dir: bool, ctx: &mut ReadContext<'_>) {
        if let Some(d) = v.deco {
            self.y_mode = true;
            ev.flags |= flags::DECORATED;
            ev.resource = Some(self.resource_sym(d, v.deleted, ctx));
            let k = kind_of(d);
            ev.kind = if dir && k == ResourceKind::File {
                ResourceKind::Directory
            } else {
                k
            };
        }
    }

    /// Events for the fd arguments in the spec's `fds` and `opt` masks.
    fn fd_args(
        &mut self,
        op: Op,
        spec: Spec,
        args: &Args<'_>,
        call: Sym,
        outcome: Outcome,
        ctx: &mut ReadContext<'_>,
    ) {
        let mut mask = spec.fds | spec.opt;
        while mask != 0 {
            // The set bits only, lowest first.
            let i = mask.trailing_zeros() as usize;
            mask &= mask - 1;
            let Some(arg) = args.get(i) else { continue };
            if arg.starts_with(b"AT_FDCWD<") {
                self.y_mode = true;
            }
            let Some(v) = args.fd(i) else { continue };
            if spec.opt & (1 << i) != 0 && v.fd < 0 {
                continue;
            }
            let ev = self.fd_event(op, call, v, spec.dirs & (1 << i) != 0, outcome, ctx);
            self.hold(ev);
        }
    }

    fn cloexec(rule: Cloexec, args: &Args<'_>) -> bool {
        match rule {
            Cloexec::Never => false,
            Cloexec::Always => true,
            Cloexec::Arg(i, name, bit) => args
                .get(i as usize)
                .is_some_and(|a| has_flag(a, name.as_bytes(), bit)),
            Cloexec::StructArg(i, name, bit) => args
                .get(i as usize)
                .and_then(|a| struct_field(a, b"flags="))
                .is_some_and(|f| has_flag(f, name.as_bytes(), bit)),
        }
    }

    /// The `Open` of a call's returned fd (handle -1 when it failed).
    #[allow(clippy::too_many_arguments)]
    fn open_ret(
        &mut self,
        call: Sym,
        tail: &Tail<'_>,
        outcome: Outcome,
        cloexec: bool,
        kind: ResourceKind,
        path: Option<&[u8]>,
        is_dir: bool,
        ctx: &mut ReadContext<'_>,
    ) {
        let ret = match tail.ret {
            Ret::Num(v) if outcome.is_ok() && v.fd >= 0 => Some(v),
            _ => None,
        };
        // Opening `/dev/fd/N` (or `/proc/self/fd/N`) uses fd N: process substitution.
        if ret.is_some()
            && let Some(n) = path.and_then(|p| fd_path_number(unquote(p)))
        {
            let mut by_path = self.event(Op::Use, call, n);
            by_path.flags |= flags::BY_PATH;
            self.hold(by_path);
        }
        let mut ev = self.event(Op::Open { cloexec }, call, ret.map_or(-1, |v| v.fd));
        ev.outcome = outcome;
        ev.kind = if is_dir && kind == ResourceKind::File {
            ResourceKind::Directory
        } else {
            kind
        };
        match ret {
            Some(v) if v.deco.is_some() => self.decorate(&mut ev, v, is_dir, ctx),
            _ => {
                if let Some(p) = path {
                    ev.resource = Some(ctx.interner.intern_bytes(unquote(p)));
                }
            }
        }
        self.hold(ev);
    }

    /// A complete call (or a rebuilt unfinished + resumed pair).
    pub(super) fn complete(
        &mut self,
        text: &[u8],
        name_len: usize,
        index: u16,
        spec: Spec,
        spawned: Option<u32>,
        ctx: &mut ReadContext<'_>,
    ) {
        // `read`, `close`, `fstat`... (the first argument) and `mmap`, most
        // `*at` calls (one optional fd, none when negative): one event at most.
        let lean = match (spec.first_fd_op(), spec.one_opt_fd()) {
            (Some(op), _) => first_fd_and_close(text, name_len + 1, b')')
                .map(|(fd, close)| (op, fd, close, spec.dirs & 1 != 0)),
            (None, Some(n)) => nth_fd_and_close(text, name_len + 1, b')', n)
                .map(|(fd, close)| (Op::Use, fd, close, spec.dirs & (1 << n) != 0)),
            (None, None) => None,
        };
        if let Some((op, fd, close, dir)) = lean {
            let tail = parse_tail(text.get(close + 1..).unwrap_or(&[]));
            if tail.injected {
                self.cur.flags |= flags::INJECTED;
            }
            let outcome = self.outcome(&tail, ctx);
            let call = self.name_sym(index, ctx);
            if spec.opt == 0 || fd.fd >= 0 {
                let ev = self.fd_event(op, call, fd, dir, outcome, ctx);
                self.hold(ev);
            }
            return;
        }
        let Some((args, close)) = scan_list(text, name_len + 1, b')') else {
            // stderr layout: the traced program's own output may have cut the
            // line; keep it until its continuation (`) = 4`) comes.
            if spawned.is_none() && self.cut_by_output.is_none() {
                self.cut_by_output = Some(super::CutCall {
                    body: text.to_vec(),
                    name_len,
                    cur: self.cur,
                });
                return;
            }
            ctx.stats.skip(
                crate::formats::SkipReason::StraceUnparseableCall,
                u64::from(self.cur.origin.line),
            );
            return;
        };
        let tail = parse_tail(text.get(close + 1..).unwrap_or(&[]));
        if tail.injected {
            self.cur.flags |= flags::INJECTED;
        }
        let outcome = self.outcome(&tail, ctx);
        let call = self.name_sym(index, ctx);
        let ok = outcome.is_ok();
        let ret_num = match tail.ret {
            Ret::Num(v) => Some(v),
            _ => None,
        };
        match spec.action {
            Action::Use => self.fd_args(Op::Use, spec, &args, call, outcome, ctx),
            Action::Create {
                kind,
                cloexec,
                path,
                oflags,
            } => {
                self.fd_args(Op::Use, spec, &args, call, outcome, ctx);
                let cloexec = Self::cloexec(cloexec, &args);
                let is_dir = oflags
                    .and_then(|i| args.get(i as usize))
                    .is_some_and(|f| has_flag(f, b"O_DIRECTORY", O_DIRECTORY));
                let path = path.and_then(|i| args.get(i as usize));
                self.open_ret(call, &tail, outcome, cloexec, kind, path, is_dir, ctx);
            }
            Action::Accept { cloexec } => {
                self.fd_args(Op::Use, spec, &args, call, outcome, ctx);
                let cloexec = Self::cloexec(cloexec, &args);
                self.open_ret(
                    call,
                    &tail,
                    outcome,
                    cloexec,
                    ResourceKind::Socket,
                    None,
                    false,
                    ctx,
                );
            }
            Action::Pair {
                array,
                kind,
                cloexec,
            } => {
                let cloexec = Self::cloexec(cloexec, &args);
                let list = args
                    .get(array as usize)
                    .filter(|a| a.starts_with(b"["))
                    .and_then(|a| scan_list(a, 1, b']'));
                match list {
                    Some((fds, _)) if ok => {
                        for item in fds.iter() {
                            let Some(v) = parse_fd(item) else { continue };
                            let mut ev = self.event(Op::Open { cloexec }, call, v.fd);
                            ev.kind = kind;
                            self.decorate(&mut ev, v, false, ctx);
                            self.hold(ev);
                        }
                    }
                    _ => self.open_ret(call, &tail, outcome, cloexec, kind, None, false, ctx),
                }
            }
            Action::Dup | Action::Dup2 | Action::Dup3 => {
                let Some(src) = args.fd(0) else {
                    return;
                };
                let target = args.fd(1);
                if spec.action == Action::Dup2 && target.is_some_and(|t| t.fd == src.fd) {
                    let ev = self.fd_event(Op::Use, call, src, false, outcome, ctx);
                    self.hold(ev);
                    return;
                }
                let cloexec = spec.action == Action::Dup3
                    && args
                        .get(2)
                        .is_some_and(|f| has_flag(f, b"O_CLOEXEC", 0x80000));
                let replaces = spec.action != Action::Dup;
                self.dup(
                    call,
                    src,
                    target.filter(|_| replaces),
                    cloexec,
                    replaces,
                    ret_num,
                    outcome,
                    ctx,
                );
            }
            Action::Fcntl => {
                let Some(fd) = args.fd(0) else {
                    return;
                };
                let cmd = args.get(1).unwrap_or(&[]);
                let cmd_num = parse_int(cmd);
                let is = |name: &[u8], num: i64| {
                    cmd == name
                        || cmd.starts_with(name) && cmd.get(name.len()) == Some(&b' ')
                        || cmd_num == Some(num)
                };
                if (is(b"F_DUPFD", 0) || is(b"F_DUPFD_CLOEXEC", 1030)) && outcome.is_bad_handle() {
                    // Shells save an fd before a redirection with F_DUPFD: EBADF
                    // answers "nothing open there to save", like F_GETFD.
                    let ev = self.fd_event(Op::Probe, call, fd, false, outcome, ctx);
                    self.hold(ev);
                } else if is(b"F_DUPFD", 0) || is(b"F_DUPFD_CLOEXEC", 1030) {
                    let cloexec = is(b"F_DUPFD_CLOEXEC", 1030);
                    self.dup(call, fd, None, cloexec, false, ret_num, outcome, ctx);
                } else if is(b"F_GETFD", 1) || is(b"F_GETFL", 3) {
                    let ev = self.fd_event(Op::Probe, call, fd, false, outcome, ctx);
                    self.hold(ev);
                } else if is(b"F_SETFD", 2) {
                    let on = args.get(2).is_some_and(|a| has_flag(a, b"FD_CLOEXEC", 1));
                    let ev = self.fd_event(Op::SetCloexec(on), call, fd, false, outcome, ctx);
                    self.hold(ev);
                } else {
                    let ev = self.fd_event(Op::Use, call, fd, false, outcome, ctx);
                    self.hold(ev);
                }
            }
            Action::Ioctl => {
                let Some(fd) = args.fd(0) else {
                    return;
                };
                let req = args.get(1).unwrap_or(&[]);
                let num = parse_int(req);
                let op = if req.starts_with(b"FIOCLEX") || num == Some(0x5451) {
                    Op::SetCloexec(true)
                } else if req.starts_with(b"FIONCLEX") || num == Some(0x5450) {
                    Op::SetCloexec(false)
                } else {
                    Op::Use
                };
                let ev = self.fd_event(op, call, fd, false, outcome, ctx);
                self.hold(ev);
            }
            Action::Close => {
                let Some(fd) = args.fd(0) else {
                    return;
                };
                let ev = self.fd_event(Op::Close, call, fd, false, outcome, ctx);
                self.hold(ev);
            }
            Action::CloseRange => {
                let num = |a: Option<&[u8]>| {
                    a.and_then(|a| parse_fd(a).map(|v| v.fd).or_else(|| parse_int(a)))
                };
                let (Some(first), Some(last)) = (num(args.get(0)), num(args.get(1))) else {
                    ctx.stats.skip(
                        crate::formats::SkipReason::StraceUnparseableCloseRange,
                        u64::from(self.cur.origin.line),
                    );
                    return;
                };
                let fl = args.get(2).unwrap_or(&[]);
                if ok && has_flag(fl, b"CLOSE_RANGE_UNSHARE", CLOSE_RANGE_UNSHARE) {
                    let ev = self.event(Op::Unshare, call, -1);
                    self.hold(ev);
                }
                let cloexec_only = has_flag(fl, b"CLOSE_RANGE_CLOEXEC", CLOSE_RANGE_CLOEXEC);
                let mut ev = self.event(Op::CloseRange { last, cloexec_only }, call, first);
                ev.outcome = outcome;
                self.hold(ev);
            }
            Action::Probe => self.fd_args(Op::Probe, spec, &args, call, outcome, ctx),
            Action::StatAt { flags: fi } => {
                let empty_path = args.get(1) == Some(b"\"\"")
                    && args
                        .get(fi as usize)
                        .is_some_and(|f| has_flag(f, b"AT_EMPTY_PATH", AT_EMPTY_PATH));
                if empty_path {
                    // fstat of the fd itself: any kind of file.
                    let spec = Spec { dirs: 0, ..spec };
                    self.fd_args(Op::Probe, spec, &args, call, outcome, ctx);
                } else {
                    self.fd_args(Op::Use, spec, &args, call, outcome, ctx);
                }
            }
            Action::RecvMsg { flags: fi } => {
                self.fd_args(Op::Use, spec, &args, call, outcome, ctx);
                if ok {
                    let cloexec = args
                        .get(fi as usize)
                        .is_some_and(|f| has_flag(f, b"MSG_CMSG_CLOEXEC", MSG_CMSG_CLOEXEC));
                    if let Some(msg) = args.get(1) {
                        self.scm_rights(msg, call, cloexec, ctx);
                    }
                }
            }
            Action::SignalFd { flags: fi } => {
                let Some(fd) = args.fd(0) else {
                    return;
                };
                if fd.fd == -1 {
                    let cloexec = fi
                        .and_then(|i| args.get(i as usize))
                        .is_some_and(|f| has_flag(f, b"SFD_CLOEXEC", 0x80000));
                    self.open_ret(
                        call,
                        &tail,
                        outcome,
                        cloexec,
                        ResourceKind::SignalFd,
                        None,
                        false,
                        ctx,
                    );
                } else {
                    let ev = self.fd_event(Op::Use, call, fd, false, outcome, ctx);
                    self.hold(ev);
                }
            }
            Action::PidfdGetfd => {
                self.fd_args(Op::Use, spec, &args, call, outcome, ctx);
                self.open_ret(
                    call,
                    &tail,
                    outcome,
                    true,
                    ResourceKind::Unknown,
                    None,
                    false,
                    ctx,
                );
            }
            Action::Bpf => {
                let cmd = args.get(0).unwrap_or(&[]);
                if BPF_FD_CMDS.iter().any(|c| {
                    cmd.starts_with(c)
                        && !cmd
                            .get(c.len())
                            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
                }) {
                    self.open_ret(
                        call,
                        &tail,
                        outcome,
                        true,
                        ResourceKind::OtherAnon,
                        None,
                        false,
                        ctx,
                    );
                }
            }
            Action::Landlock => {
                let fl = args.get(2).unwrap_or(&[]);
                if !has_flag(fl, b"LANDLOCK_CREATE_RULESET_VERSION", 1)
                    && !has_flag(fl, b"LANDLOCK_CREATE_RULESET_ERRATA", 2)
                {
                    self.open_ret(
                        call,
                        &tail,
                        outcome,
                        true,
                        ResourceKind::OtherAnon,
                        None,
                        false,
                        ctx,
                    );
                }
            }
            Action::Seccomp => {
                if args
                    .get(1)
                    .is_some_and(|f| has_flag(f, b"SECCOMP_FILTER_FLAG_NEW_LISTENER", 8))
                    && ret_num.is_some_and(|v| v.fd > 0)
                {
                    self.open_ret(
                        call,
                        &tail,
                        outcome,
                        true,
                        ResourceKind::OtherAnon,
                        None,
                        false,
                        ctx,
                    );
                }
            }
            Action::Clone | Action::Clone3 | Action::Fork => {
                let (shares, thread, pidfd) = clone_flags(spec.action, &args);
                let Some(child) = ret_num
                    .filter(|_| ok)
                    .and_then(|v| u32::try_from(v.fd).ok())
                    .filter(|c| *c > 0)
                else {
                    return;
                };
                if spawned != Some(child) {
                    let ev = self.event(
                        Op::Spawn {
                            child,
                            shares_table: shares,
                            thread,
                        },
                        call,
                        -1,
                    );
                    self.hold(ev);
                }
                self.set_live(child, true);
                if pidfd {
                    self.clone_pidfd(spec.action, &args, call, ctx);
                }
            }
            Action::Exec => {
                self.fd_args(Op::Use, spec, &args, call, outcome, ctx);
                if ok && ret_num.is_some_and(|v| v.fd == 0) {
                    let mut ev = self.event(Op::Exec, call, -1);
                    // The program: execve's path (execveat's, when absolute).
                    let path = args
                        .iter()
                        .map(unquote)
                        .find(|a| a.first() == Some(&b'/') || a.starts_with(b"./"))
                        .or_else(|| args.get(0).map(unquote));
                    if let Some(p) = path.filter(|p| !p.is_empty()) {
                        ev.resource = Some(ctx.interner.intern_bytes(p));
                    }
                    self.hold(ev);
                }
            }
            Action::Unshare => {
                if ok
                    && args
                        .get(0)
                        .is_some_and(|f| has_flag(f, b"CLONE_FILES", CLONE_FILES))
                {
                    let ev = self.event(Op::Unshare, call, -1);
                    self.hold(ev);
                }
            }
            Action::LearnTid => {
                if self.cur.tid == 0
                    && !self.root_learnt
                    && let Some(real) = ret_num
                        .and_then(|v| u32::try_from(v.fd).ok())
                        .filter(|t| *t > 0)
                {
                    self.learn_root(real, ctx);
                    self.cur.tid = real;
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn dup(
        &mut self,
        call: Sym,
        src: FdVal<'_>,
        target: Option<FdVal<'_>>,
        cloexec: bool,
        replaces: bool,
        ret: Option<FdVal<'_>>,
        outcome: Outcome,
        ctx: &mut ReadContext<'_>,
    ) {
        let handle = match ret {
            Some(v) if outcome.is_ok() && v.fd >= 0 => v.fd,
            _ => target.map_or(-1, |t| t.fd),
        };
        let mut ev = self.event(
            Op::Dup {
                source: src.fd,
                cloexec,
                replaces,
                source_pid: None,
            },
            call,
            handle,
        );
        ev.outcome = outcome;
        match ret {
            Some(v) if v.deco.is_some() && outcome.is_ok() => self.decorate(&mut ev, v, false, ctx),
            _ => self.decorate(&mut ev, src, false, ctx),
        }
        if src.deco.is_none() && src.fd >= 0 {
            if self.y_mode {
                ev.flags |= flags::UNDECORATED_IN_Y_MODE;
            } else {
                self.undecorated_before_y = true;
            }
        }
        self.hold(ev);
    }

    /// `Receive` for each fd in `cmsg_data=[...]` of an SCM_RIGHTS message.
    fn scm_rights(&mut self, msg: &[u8], call: Sym, cloexec: bool, ctx: &mut ReadContext<'_>) {
        let mut from = 0;
        while let Some(k) = msg
            .get(from..)
            .and_then(|m| memchr::memmem::find(m, b"cmsg_data=["))
        {
            let at = from + k;
            let before = msg.get(from..at).unwrap_or(&[]);
            let rights = memchr::memmem::rfind(before, b"cmsg_type=").is_some_and(|t| {
                let v = before.get(t + 10..).unwrap_or(&[]);
                v.starts_with(b"SCM_RIGHTS")
                    || v.starts_with(b"0x1,")
                    || v.starts_with(b"0x1 ")
                    || v.starts_with(b"1,")
            });
            let list_at = at + 10;
            let Some((items, end)) = scan_list(msg, list_at + 1, b']') else {
                return;
            };
            if rights {
                for item in items.iter() {
                    let Some(v) = parse_fd(item) else { continue };
                    let mut ev = self.event(Op::Receive { cloexec }, call, v.fd);
                    self.decorate(&mut ev, v, false, ctx);
                    self.hold(ev);
                }
            }
            from = end;
        }
    }

    fn clone_pidfd(
        &mut self,
        action: Action,
        args: &Args<'_>,
        call: Sym,
        ctx: &mut ReadContext<'_>,
    ) {
        let cell = match action {
            Action::Clone => args.named(b"parent_tid="),
            _ => args.get(0).and_then(|a| {
                let after =
                    memchr::memmem::find(a, b"=> {").map(|k| a.get(k + 3..).unwrap_or(&[]))?;
                struct_field(after, b"pidfd=")
            }),
        };
        let Some(inner) = cell
            .and_then(|c| c.strip_prefix(b"["))
            .and_then(|c| scan_list(c, 0, b']'))
        else {
            return;
        };
        if let Some(v) = inner.0.get(0).and_then(parse_fd) {
            let mut ev = self.event(Op::Open { cloexec: true }, call, v.fd);
            ev.kind = ResourceKind::PidFd;
            self.decorate(&mut ev, v, false, ctx);
            self.hold(ev);
        }
    }

    /// Events at the entry line of an `<unfinished ...>` call: `Close` (the
    /// release is ordered at entry, outcome unknown) or `Begin` for each fd
    /// the call uses.
    pub(super) fn entry_events(
        &mut self,
        head: &[u8],
        name_len: usize,
        index: u16,
        spec: Spec,
        ctx: &mut ReadContext<'_>,
    ) {
        let Some(op) = spec.action.entry_op() else {
            return;
        };
        if spec.fds | spec.opt == 0 && !matches!(spec.action, Action::SignalFd { .. }) {
            return;
        }
        let mut buf = std::mem::take(&mut self.entry_buf);
        buf.clear();
        buf.extend_from_slice(head);
        buf.push(b')');
        if spec.first_fd_op().is_some()
            && let Some((fd, _)) = first_fd_and_close(&buf, name_len + 1, b')')
        {
            // `read(3</x>, <unfinished ...>`: the first argument alone, as in `complete`.
            let call = self.name_sym(index, ctx);
            let ev = self.fd_event(op, call, fd, spec.dirs & 1 != 0, Outcome::Unknown, ctx);
            self.hold(ev);
        } else if let Some((args, _)) = scan_list(&buf, name_len + 1, b')') {
            let call = self.name_sym(index, ctx);
            let mut spec = spec;
            if matches!(spec.action, Action::SignalFd { .. }) {
                // signalfd(fd != -1): a use of fd.
                spec.fds = u8::from(args.fd(0).is_some_and(|v| v.fd != -1));
            }
            self.fd_args(op, spec, &args, call, Outcome::Unknown, ctx);
        }
        self.entry_buf = buf;
    }

    /// CLONE_FILES / CLONE_THREAD of a pending clone, from its entry text.
    pub(super) fn pending_clone_flags(&mut self, p: &super::Pending) -> (bool, bool) {
        let mut buf = std::mem::take(&mut self.entry_buf);
        buf.clear();
        buf.extend_from_slice(&p.text);
        buf.push(b')');
        let name_len = super::syscalls::Table::name(p.index).len();
        let r = match scan_list(&buf, name_len + 1, b')') {
            Some((args, _)) => {
                let (s, t, _) = clone_flags(p.spec.action, &args);
                (s, t)
            }
            None => (false, false),
        };
        self.entry_buf = buf;
        r
    }
}

/// (CLONE_FILES, CLONE_THREAD, CLONE_PIDFD) of a clone/clone3/fork call.
fn clone_flags(action: Action, args: &Args<'_>) -> (bool, bool, bool) {
    let fl = match action {
        Action::Clone => args.named(b"flags="),
        Action::Clone3 => args.get(0).and_then(|a| struct_field(a, b"flags=")),
        _ => None,
    };
    match fl {
        Some(f) => (
            has_flag(f, b"CLONE_FILES", CLONE_FILES),
            has_flag(f, b"CLONE_THREAD", CLONE_THREAD),
            has_flag(f, b"CLONE_PIDFD", CLONE_PIDFD),
        ),
        None => (false, false, false),
    }
}

/// N in `/dev/fd/N` or `/proc/self/fd/N`.
fn fd_path_number(path: &[u8]) -> Option<i64> {
    let rest = path
        .strip_prefix(b"/dev/fd/")
        .or_else(|| path.strip_prefix(b"/proc/self/fd/"))?;
    if rest.is_empty() || rest.len() > 9 || !rest.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(rest).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_classes() {
        assert_eq!(ErrorClass::of_errno(b"EBADF"), ErrorClass::BadHandle);
        assert_eq!(ErrorClass::of_errno(b"EMFILE"), ErrorClass::TableFull);
        assert_eq!(
            ErrorClass::of_errno(b"ERESTARTSYS"),
            ErrorClass::Interrupted
        );
        assert_eq!(ErrorClass::of_errno(b"ESPIPE"), ErrorClass::WrongType);
        assert_eq!(ErrorClass::of_errno(b"ENOENT"), ErrorClass::Other);
    }

    #[test]
    fn unquoting() {
        assert_eq!(unquote(b"\"/etc/hostname\""), b"/etc/hostname");
        assert_eq!(unquote(b"\"/a\\\"b\""), b"/a\\\"b");
        assert_eq!(unquote(b"\"/very/long\"..."), b"/very/long");
    }
}
