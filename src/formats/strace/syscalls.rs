//! The syscall table: what each call does to file descriptors.
//!
//! Calls not listed here carry no fd (brk, futex, rt_sigprocmask...) and the
//! parser drops their lines after the leader. Argument positions are 0-based,
//! as strace prints them (research strace.md section 2).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::model::ResourceKind;

/// Where a creating call says whether the new fd is close-on-exec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cloexec {
    Never,
    Always,
    /// Flag name or numeric bit in argument `.0`.
    Arg(u8, &'static str, u64),
    /// The `flags=` field of the struct in argument `.0` (openat2).
    StructArg(u8, &'static str, u64),
}

const O_CLOEXEC: u64 = 0x80000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Only the fd arguments in `fds`/`opt` are used.
    Use,
    /// Returns a new fd. `path`: argument naming the file (resource without -y);
    /// `oflags`: argument whose O_DIRECTORY makes it a directory.
    Create {
        kind: ResourceKind,
        cloexec: Cloexec,
        path: Option<u8>,
        oflags: Option<u8>,
    },
    /// accept/accept4: uses the listening socket, returns a new socket.
    Accept {
        cloexec: Cloexec,
    },
    /// pipe/pipe2/socketpair: two new fds in the array argument `array`.
    Pair {
        array: u8,
        kind: ResourceKind,
        cloexec: Cloexec,
    },
    Dup,
    Dup2,
    Dup3,
    Fcntl,
    Ioctl,
    Close,
    CloseRange,
    /// fstat: only asks whether the fd is open.
    Probe,
    /// newfstatat/statx: a probe of the dirfd with `""` + AT_EMPTY_PATH (flags
    /// in argument `flags`), else a use of a numeric dirfd.
    StatAt {
        flags: u8,
    },
    /// recvmsg/recvmmsg: SCM_RIGHTS fds arrive; flags in argument `flags`.
    RecvMsg {
        flags: u8,
    },
    /// signalfd/signalfd4: creates when the fd argument is -1, else uses it.
    SignalFd {
        flags: Option<u8>,
    },
    PidfdGetfd,
    Bpf,
    Landlock,
    Seccomp,
    Clone,
    Clone3,
    Fork,
    Exec,
    Unshare,
    /// set_tid_address/gettid: the result is the caller's tid.
    LearnTid,
}

impl Action {
    /// The event a call makes at its entry when its return comes later (an
    /// `<unfinished ...>` line, perf's `...`): a close releases at entry, a call
    /// on fds begins; process calls and close_range wait for their result.
    pub fn entry_op(self) -> Option<crate::model::Op> {
        use crate::model::Op;
        match self {
            Action::Close => Some(Op::Close),
            Action::Clone
            | Action::Clone3
            | Action::Fork
            | Action::Unshare
            | Action::LearnTid
            | Action::CloseRange => None,
            _ => Some(Op::Begin),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Spec {
    pub action: Action,
    /// Bit i: argument i is an fd the call uses; negative values are still uses (`read(-1)`).
    pub fds: u8,
    /// Bit i: argument i is an optional fd (dirfd, mmap's fd): negative = none.
    pub opt: u8,
    /// Bit i: argument i is a directory fd (kind evidence).
    pub dirs: u8,
}

impl Spec {
    /// The event of a call whose only fd is its first argument and that needs
    /// no other argument (`read`, `write`, `close`, `fstat`, `lseek`...):
    /// the parser reads just that argument and the result.
    pub fn first_fd_op(self) -> Option<crate::model::Op> {
        use crate::model::Op;
        if self.fds != 1 || self.opt != 0 {
            return None;
        }
        match self.action {
            Action::Use => Some(Op::Use),
            Action::Probe => Some(Op::Probe),
            Action::Close => Some(Op::Close),
            _ => None,
        }
    }

    /// The argument of a call whose only fd is one optional argument and
    /// that needs no other (`mmap`'s fd, the dirfd of most `*at` calls): the
    /// parser reads just that argument and the result.
    pub fn one_opt_fd(self) -> Option<usize> {
        let one = self.fds == 0 && self.opt.count_ones() == 1;
        (one && self.action == Action::Use).then(|| self.opt.trailing_zeros() as usize)
    }
}

const fn s(action: Action, fds: u8, opt: u8, dirs: u8) -> Spec {
    Spec {
        action,
        fds,
        opt,
        dirs,
    }
}
const fn uses(fds: u8) -> Spec {
    s(Action::Use, fds, 0, 0)
}
/// `*at` calls: optional directory fds.
const fn at(opt: u8) -> Spec {
    s(Action::Use, 0, opt, opt)
}
const fn create(kind: ResourceKind, cloexec: Cloexec) -> Spec {
    s(
        Action::Create {
            kind,
            cloexec,
            path: None,
            oflags: None,
        },
        0,
        0,
        0,
    )
}

use Action as A;
use Cloexec as C;
use ResourceKind as K;

static TABLE: &[(&str, Spec)] = &[
    // creations
    (
        "open",
        s(
            A::Create {
                kind: K::File,
                cloexec: C::Arg(1, "O_CLOEXEC", O_CLOEXEC),
                path: Some(0),
                oflags: Some(1),
            },
            0,
            0,
            0,
        ),
    ),
    (
        "openat",
        s(
            A::Create {
                kind: K::File,
                cloexec: C::Arg(2, "O_CLOEXEC", O_CLOEXEC),
                path: Some(1),
                oflags: Some(2),
            },
            0,
            1,
            1,
        ),
    ),
    (
        "openat2",
        s(
            A::Create {
                kind: K::File,
                cloexec: C::StructArg(2, "O_CLOEXEC", O_CLOEXEC),
                path: Some(1),
                oflags: None,
            },
            0,
            1,
            1,
        ),
    ),
    (
        "creat",
        s(
            A::Create {
                kind: K::File,
                cloexec: C::Never,
                path: Some(0),
                oflags: None,
            },
            0,
            0,
            0,
        ),
    ),
    (
        "open_by_handle_at",
        s(
            A::Create {
                kind: K::File,
                cloexec: C::Arg(2, "O_CLOEXEC", O_CLOEXEC),
                path: None,
                oflags: Some(2),
            },
            0,
            1,
            1,
        ),
    ),
    (
        "open_tree",
        s(
            A::Create {
                kind: K::File,
                cloexec: C::Arg(2, "OPEN_TREE_CLOEXEC", O_CLOEXEC),
                path: Some(1),
                oflags: None,
            },
            0,
            1,
            1,
        ),
    ),
    (
        "open_tree_attr",
        s(
            A::Create {
                kind: K::File,
                cloexec: C::Arg(2, "OPEN_TREE_CLOEXEC", O_CLOEXEC),
                path: Some(1),
                oflags: None,
            },
            0,
            1,
            1,
        ),
    ),
    (
        "socket",
        create(K::Socket, C::Arg(1, "SOCK_CLOEXEC", O_CLOEXEC)),
    ),
    ("eventfd", create(K::EventFd, C::Never)),
    (
        "eventfd2",
        create(K::EventFd, C::Arg(1, "EFD_CLOEXEC", O_CLOEXEC)),
    ),
    ("epoll_create", create(K::Epoll, C::Never)),
    (
        "epoll_create1",
        create(K::Epoll, C::Arg(0, "EPOLL_CLOEXEC", O_CLOEXEC)),
    ),
    ("inotify_init", create(K::Inotify, C::Never)),
    (
        "inotify_init1",
        create(K::Inotify, C::Arg(0, "IN_CLOEXEC", O_CLOEXEC)),
    ),
    (
        "timerfd_create",
        create(K::TimerFd, C::Arg(1, "TFD_CLOEXEC", O_CLOEXEC)),
    ),
    (
        "memfd_create",
        create(K::MemFd, C::Arg(1, "MFD_CLOEXEC", 1)),
    ),
    (
        "memfd_secret",
        create(K::MemFd, C::Arg(0, "O_CLOEXEC", O_CLOEXEC)),
    ),
    ("pidfd_open", create(K::PidFd, C::Always)),
    (
        "userfaultfd",
        create(K::OtherAnon, C::Arg(0, "O_CLOEXEC", O_CLOEXEC)),
    ),
    (
        "perf_event_open",
        s(
            A::Create {
                kind: K::OtherAnon,
                cloexec: C::Arg(4, "PERF_FLAG_FD_CLOEXEC", 8),
                path: None,
                oflags: None,
            },
            0,
            0b1000,
            0,
        ),
    ),
    ("io_uring_setup", create(K::OtherAnon, C::Always)),
    (
        "fanotify_init",
        create(K::OtherAnon, C::Arg(0, "FAN_CLOEXEC", 1)),
    ),
    (
        "fsopen",
        create(K::OtherAnon, C::Arg(1, "FSOPEN_CLOEXEC", 1)),
    ),
    (
        "fsmount",
        s(
            A::Create {
                kind: K::OtherAnon,
                cloexec: C::Arg(1, "FSMOUNT_CLOEXEC", 1),
                path: None,
                oflags: None,
            },
            1,
            0,
            0,
        ),
    ),
    (
        "fspick",
        s(
            A::Create {
                kind: K::OtherAnon,
                cloexec: C::Arg(2, "FSPICK_CLOEXEC", 1),
                path: Some(1),
                oflags: None,
            },
            0,
            1,
            1,
        ),
    ),
    (
        "mq_open",
        s(
            A::Create {
                kind: K::Unknown,
                cloexec: C::Arg(1, "O_CLOEXEC", O_CLOEXEC),
                path: Some(0),
                oflags: None,
            },
            0,
            0,
            0,
        ),
    ),
    ("accept", s(A::Accept { cloexec: C::Never }, 1, 0, 0)),
    (
        "accept4",
        s(
            A::Accept {
                cloexec: C::Arg(3, "SOCK_CLOEXEC", O_CLOEXEC),
            },
            1,
            0,
            0,
        ),
    ),
    (
        "pipe",
        s(
            A::Pair {
                array: 0,
                kind: K::Pipe,
                cloexec: C::Never,
            },
            0,
            0,
            0,
        ),
    ),
    (
        "pipe2",
        s(
            A::Pair {
                array: 0,
                kind: K::Pipe,
                cloexec: C::Arg(1, "O_CLOEXEC", O_CLOEXEC),
            },
            0,
            0,
            0,
        ),
    ),
    (
        "socketpair",
        s(
            A::Pair {
                array: 3,
                kind: K::Socket,
                cloexec: C::Arg(1, "SOCK_CLOEXEC", O_CLOEXEC),
            },
            0,
            0,
            0,
        ),
    ),
    ("dup", s(A::Dup, 1, 0, 0)),
    ("dup2", s(A::Dup2, 1, 0, 0)),
    ("dup3", s(A::Dup3, 1, 0, 0)),
    ("fcntl", s(A::Fcntl, 1, 0, 0)),
    ("fcntl64", s(A::Fcntl, 1, 0, 0)),
    ("ioctl", s(A::Ioctl, 1, 0, 0)),
    ("close", s(A::Close, 1, 0, 0)),
    ("close_range", s(A::CloseRange, 0, 0, 0)),
    ("fstat", s(A::Probe, 1, 0, 0)),
    ("fstat64", s(A::Probe, 1, 0, 0)),
    ("newfstatat", s(A::StatAt { flags: 3 }, 0, 1, 1)),
    ("fstatat64", s(A::StatAt { flags: 3 }, 0, 1, 1)),
    ("statx", s(A::StatAt { flags: 2 }, 0, 1, 1)),
    ("recvmsg", s(A::RecvMsg { flags: 2 }, 1, 0, 0)),
    ("recvmmsg", s(A::RecvMsg { flags: 3 }, 1, 0, 0)),
    ("recvmmsg_time64", s(A::RecvMsg { flags: 3 }, 1, 0, 0)),
    ("signalfd", s(A::SignalFd { flags: None }, 0, 0, 0)),
    ("signalfd4", s(A::SignalFd { flags: Some(3) }, 0, 0, 0)),
    ("pidfd_getfd", s(A::PidfdGetfd, 1, 0, 0)),
    ("bpf", s(A::Bpf, 0, 0, 0)),
    ("landlock_create_ruleset", s(A::Landlock, 0, 0, 0)),
    ("seccomp", s(A::Seccomp, 0, 0, 0)),
    ("clone", s(A::Clone, 0, 0, 0)),
    ("clone3", s(A::Clone3, 0, 0, 0)),
    ("fork", s(A::Fork, 0, 0, 0)),
    ("vfork", s(A::Fork, 0, 0, 0)),
    ("execve", s(A::Exec, 0, 0, 0)),
    ("execveat", s(A::Exec, 0, 1, 1)),
    ("unshare", s(A::Unshare, 0, 0, 0)),
    ("set_tid_address", s(A::LearnTid, 0, 0, 0)),
    ("gettid", s(A::LearnTid, 0, 0, 0)),
    // plain uses of the first argument
    ("read", uses(1)),
    ("write", uses(1)),
    ("pread64", uses(1)),
    ("pwrite64", uses(1)),
    ("readv", uses(1)),
    ("writev", uses(1)),
    ("preadv", uses(1)),
    ("pwritev", uses(1)),
    ("preadv2", uses(1)),
    ("pwritev2", uses(1)),
    ("lseek", uses(1)),
    ("_llseek", uses(1)),
    ("fsync", uses(1)),
    ("fdatasync", uses(1)),
    ("syncfs", uses(1)),
    ("sync_file_range", uses(1)),
    ("ftruncate", uses(1)),
    ("ftruncate64", uses(1)),
    ("fchmod", uses(1)),
    ("fchown", uses(1)),
    ("fchown32", uses(1)),
    ("fchdir", s(A::Use, 1, 0, 1)),
    ("fstatfs", uses(1)),
    ("fstatfs64", uses(1)),
    ("getdents", s(A::Use, 1, 0, 1)),
    ("getdents64", s(A::Use, 1, 0, 1)),
    ("flock", uses(1)),
    ("fadvise64", uses(1)),
    ("fadvise64_64", uses(1)),
    ("fallocate", uses(1)),
    ("readahead", uses(1)),
    ("sendto", uses(1)),
    ("recvfrom", uses(1)),
    ("sendmsg", uses(1)),
    ("sendmmsg", uses(1)),
    ("send", uses(1)),
    ("recv", uses(1)),
    ("connect", uses(1)),
    ("bind", uses(1)),
    ("listen", uses(1)),
    ("shutdown", uses(1)),
    ("getsockopt", uses(1)),
    ("setsockopt", uses(1)),
    ("getsockname", uses(1)),
    ("getpeername", uses(1)),
    ("epoll_ctl", uses(0b101)),
    ("epoll_wait", uses(1)),
    ("epoll_pwait", uses(1)),
    ("epoll_pwait2", uses(1)),
    ("timerfd_settime", uses(1)),
    ("timerfd_settime64", uses(1)),
    ("timerfd_gettime", uses(1)),
    ("timerfd_gettime64", uses(1)),
    ("io_uring_enter", uses(1)),
    ("io_uring_register", uses(1)),
    ("pidfd_send_signal", uses(1)),
    ("process_madvise", uses(1)),
    ("process_mrelease", uses(1)),
    ("fsetxattr", uses(1)),
    ("fgetxattr", uses(1)),
    ("flistxattr", uses(1)),
    ("fremovexattr", uses(1)),
    ("vmsplice", uses(1)),
    ("fsconfig", uses(1)),
    ("inotify_add_watch", uses(1)),
    ("inotify_rm_watch", uses(1)),
    ("fanotify_mark", s(A::Use, 1, 0b1000, 0b1000)),
    ("quotactl_fd", uses(1)),
    ("finit_module", uses(1)),
    ("setns", uses(1)),
    ("landlock_add_rule", uses(1)),
    ("landlock_restrict_self", uses(1)),
    ("mq_timedsend", uses(1)),
    ("mq_timedreceive", uses(1)),
    ("mq_notify", uses(1)),
    ("mq_getsetattr", uses(1)),
    ("sendfile", uses(0b11)),
    ("sendfile64", uses(0b11)),
    ("splice", uses(0b101)),
    ("tee", uses(0b11)),
    ("copy_file_range", uses(0b101)),
    ("mmap", s(A::Use, 0, 0b10000, 0)),
    ("mmap2", s(A::Use, 0, 0b10000, 0)),
    ("kexec_file_load", s(A::Use, 0, 0b11, 0)),
    // `*at` calls: the dirfd when it is a number
    ("futimesat", at(1)),
    ("utimensat", at(1)),
    ("utimensat_time64", at(1)),
    ("name_to_handle_at", at(1)),
    ("mount_setattr", at(1)),
    ("move_mount", at(0b101)),
    ("fchmodat", at(1)),
    ("fchmodat2", at(1)),
    ("fchownat", at(1)),
    ("faccessat", at(1)),
    ("faccessat2", at(1)),
    ("mkdirat", at(1)),
    ("mknodat", at(1)),
    ("unlinkat", at(1)),
    ("readlinkat", at(1)),
    ("renameat", at(0b101)),
    ("renameat2", at(0b101)),
    ("linkat", at(0b101)),
    ("symlinkat", at(0b10)),
    ("getxattrat", at(1)),
    ("setxattrat", at(1)),
    ("listxattrat", at(1)),
    ("removexattrat", at(1)),
    ("inotify_add_watch_at", at(1)),
];

/// FxHash-style hasher: syscall names are short and trusted-shape; this is
/// several times faster than SipHash on the per-line lookup.
#[derive(Default)]
pub struct NameHasher(u64);

impl Hasher for NameHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(w))
                .wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.0 = (self.0.rotate_left(5) ^ u64::from(i)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_usize(&mut self, i: usize) {
        self.0 = (self.0.rotate_left(5) ^ i as u64).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_u32(&mut self, i: u32) {
        self.write_usize(i as usize)
    }
}

pub type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<NameHasher>>;

/// Name → (index, spec). The index keys per-parser caches (interned names).
pub struct Table {
    map: FastMap<&'static [u8], (u16, Spec)>,
}

impl Table {
    pub fn new() -> Table {
        let mut map = FastMap::default();
        for (i, (name, spec)) in TABLE.iter().enumerate() {
            map.insert(name.as_bytes(), (i as u16, *spec));
        }
        Table { map }
    }

    pub fn get(&self, name: &[u8]) -> Option<(u16, Spec)> {
        self.map.get(name).copied()
    }

    pub fn len(&self) -> usize {
        TABLE.len()
    }

    /// The spec of the call at `index`.
    pub fn spec(index: u16) -> Option<Spec> {
        TABLE.get(index as usize).map(|e| e.1)
    }

    pub fn name(index: u16) -> &'static str {
        TABLE.get(index as usize).map(|e| e.0).unwrap_or("?")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_found() {
        let t = Table::new();
        assert_eq!(t.map.len(), TABLE.len(), "duplicate names in the table");
        assert_eq!(t.get(b"close").map(|e| e.1.action), Some(Action::Close));
        assert_eq!(t.get(b"epoll_ctl").map(|e| e.1.fds), Some(0b101));
        assert!(t.get(b"brk").is_none());
        let (i, _) = t.get(b"openat").unwrap();
        assert_eq!(Table::name(i), "openat");
    }
}
