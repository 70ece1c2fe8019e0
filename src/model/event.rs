//! The one event type every reader produces and the lifecycle builder consumes.
//!
//! An [`Event`] is small and `Copy`: readers emit millions of them, the lifecycle
//! keeps only the few a diagnostic needs (opens, releases, anomalies).

use super::intern::{StackId, Sym};
use super::origin::Origin;

/// A handle value: a POSIX fd or a Windows HANDLE value (as an integer).
pub type Handle = i64;

/// A handle whose value the evidence does not give (Application Verifier stop
/// 0x300, a first-chance invalid-handle exception without `!htrace`).
pub const UNKNOWN_HANDLE: Handle = Handle::MIN;

/// How handle values are spelled: `fd 3` (POSIX) or `handle 0x1a4` (Windows).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandleStyle {
    Fd,
    Windows,
}

impl HandleStyle {
    /// `fd 3`, `handle 0x1a4` (negative Windows values stay decimal).
    pub fn name(self, h: Handle) -> String {
        match self {
            HandleStyle::Fd => format!("fd {h}"),
            HandleStyle::Windows if h == UNKNOWN_HANDLE => {
                "a handle whose value the evidence does not give".to_string()
            }
            HandleStyle::Windows if h < 0 => format!("handle {h}"),
            HandleStyle::Windows => format!("handle {h:#x}"),
        }
    }
}

/// Nanoseconds. Absolute (since the Unix epoch) when the trace has wall-clock
/// times, otherwise relative to the trace start; `None` when the trace has none.
pub type Nanos = i64;

/// What happened to (or with) a handle value.
///
/// `Event::handle` is the value the op is about; payloads carry the rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// A new handle appeared at `handle` (open, socket, pipe end, eventfd, CreateHandle...).
    Open {
        cloexec: bool,
    },
    /// `handle` was made as a duplicate of `source` (dup, dup2/dup3, F_DUPFD, DuplicateHandle).
    /// With `replaces`, an open `handle` is closed first (dup2 semantics).
    /// `source_pid` is set when the source lives in another table (DuplicateHandle, pidfd_getfd).
    Dup {
        source: Handle,
        cloexec: bool,
        replaces: bool,
        source_pid: Option<u32>,
    },
    /// A handle arrived from elsewhere (SCM_RIGHTS in recvmsg): like an open.
    Receive {
        cloexec: bool,
    },
    /// A release (close, CloseHandle, SafeHandle release). Outcome says how it went.
    Close,
    /// `close_range(handle, last, flags)`: releases every open value in the range
    /// (or, with `cloexec_only`, only marks them close-on-exec). Returns 0 even when
    /// nothing was open.
    CloseRange {
        last: Handle,
        cloexec_only: bool,
    },
    /// A call that uses `handle` (read, write, sendto, ioctl...). `Event::call` names it.
    Use,
    /// A call that only asks whether `handle` is open (fcntl F_GETFD/F_GETFL, fstat):
    /// EBADF here is an answer, not a bug.
    Probe,
    /// The close-on-exec flag of `handle` was set or cleared (fcntl F_SETFD, FIOCLEX).
    SetCloexec(bool),
    /// Task `tid` entered a call on `handle` that has not returned yet (strace
    /// `<unfinished ...>`). The matching completion is a later `Use`/`Probe` with
    /// [`flags::RESUMED`] from the same tid.
    Begin,
    /// Task `tid` created task `child`. `shares_table`: CLONE_FILES (one fd table
    /// for both); `thread`: CLONE_THREAD (same thread group / process).
    Spawn {
        child: u32,
        shares_table: bool,
        thread: bool,
    },
    /// A successful execve by `tid`: the table is unshared, close-on-exec handles go.
    Exec,
    /// Task `tid` stopped sharing its table (unshare(CLONE_FILES), CLOSE_RANGE_UNSHARE).
    Unshare,
    /// Task `tid` ended (strace `+++ exited/killed +++`, ETW Thread/End).
    TaskExit,
    /// The whole process of `pid` ended; its handle table is gone (ETW Process/End).
    ProcessExit,
    /// The task printed earlier as `tid` (strace stderr layout: the unprefixed lone
    /// tracee) is really task `real`.
    Alias {
        real: u32,
    },
    /// A garbage collection started / ended (.NET runtime events); handles released
    /// by finalizers follow a GcStart.
    GcStart,
    GcEnd,
    /// RPC context-handle activity (see `RpcOp`); `handle` is the context id.
    Rpc(RpcOp),
}

/// RPC context-handle operations (JSON-lines schema), for HC011.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RpcOp {
    Create { server: bool },
    Close { server: bool },
    Rundown,
    Call { server: bool },
    DestroyClientContext,
}

/// What kind of object a handle refers to. Cheap to compare; rules use it as
/// type evidence (an op that fits only one kind).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum ResourceKind {
    #[default]
    Unknown,
    File,
    Directory,
    CharDevice,
    Socket,
    Pipe,
    EventFd,
    TimerFd,
    SignalFd,
    Epoll,
    Inotify,
    PidFd,
    MemFd,
    OtherAnon,
    // Windows object types (ETW / htrace / jsonl).
    Event,
    Mutant,
    Semaphore,
    Thread,
    Process,
    Key,
    Section,
    Token,
    IoCompletion,
    WaitCompletionPacket,
    TpWorkerFactory,
    OtherWindows,
}

impl ResourceKind {
    /// Every kind, in declaration order (config `[allow] types` names them).
    pub const ALL: [ResourceKind; 26] = {
        use ResourceKind::*;
        [
            Unknown,
            File,
            Directory,
            CharDevice,
            Socket,
            Pipe,
            EventFd,
            TimerFd,
            SignalFd,
            Epoll,
            Inotify,
            PidFd,
            MemFd,
            OtherAnon,
            Event,
            Mutant,
            Semaphore,
            Thread,
            Process,
            Key,
            Section,
            Token,
            IoCompletion,
            WaitCompletionPacket,
            TpWorkerFactory,
            OtherWindows,
        ]
    };

    pub fn as_str(self) -> &'static str {
        use ResourceKind::*;
        match self {
            Unknown => "unknown",
            File => "file",
            Directory => "directory",
            CharDevice => "device",
            Socket => "socket",
            Pipe => "pipe",
            EventFd => "eventfd",
            TimerFd => "timerfd",
            SignalFd => "signalfd",
            Epoll => "epoll",
            Inotify => "inotify",
            PidFd => "pidfd",
            MemFd => "memfd",
            OtherAnon => "anon inode",
            Event => "Event",
            Mutant => "Mutant",
            Semaphore => "Semaphore",
            Thread => "Thread",
            Process => "Process",
            Key => "Key",
            Section => "Section",
            Token => "Token",
            IoCompletion => "IoCompletion",
            WaitCompletionPacket => "WaitCompletionPacket",
            TpWorkerFactory => "TpWorkerFactory",
            OtherWindows => "object",
        }
    }

    /// Windows object type name (ETW `ObjectTypeName`, htrace API inference) to kind.
    pub fn from_windows_type(name: &str) -> ResourceKind {
        use ResourceKind::*;
        match name {
            "Event" => Event,
            "File" => File,
            "Mutant" => Mutant,
            "Semaphore" => Semaphore,
            "Thread" => Thread,
            "Process" => Process,
            "Key" => Key,
            "Section" => Section,
            "Token" => Token,
            "IoCompletion" => IoCompletion,
            "WaitCompletionPacket" => WaitCompletionPacket,
            "TpWorkerFactory" => TpWorkerFactory,
            "Directory" => Directory,
            _ => OtherWindows,
        }
    }

    /// Kinds a thread pool typically creates one of per worker (HC005).
    pub fn is_signal_object(self) -> bool {
        matches!(
            self,
            ResourceKind::EventFd
                | ResourceKind::TimerFd
                | ResourceKind::SignalFd
                | ResourceKind::Event
                | ResourceKind::Semaphore
                | ResourceKind::Pipe
        )
    }
}

/// Broad classes of failure; rules reason about these, messages show the name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// EBADF, ERROR_INVALID_HANDLE, STATUS_INVALID_HANDLE: the value was not open.
    BadHandle,
    /// EMFILE / ENFILE: the handle table (or system) is full.
    TableFull,
    /// EINTR and the ERESTART* family: interrupted, may be retried.
    Interrupted,
    /// ENOTSOCK, ESPIPE, ENOTDIR, EINVAL-on-wrong-type...: the op did not fit the object.
    WrongType,
    /// RPC_X_SS_CONTEXT_MISMATCH (6) and friends.
    ContextMismatch,
    Other,
}

impl ErrorClass {
    /// The class of a POSIX errno name as tracers print it (`EBADF`, `ERESTARTSYS`).
    pub fn of_errno(name: &[u8]) -> ErrorClass {
        match name {
            b"EBADF" => ErrorClass::BadHandle,
            b"EMFILE" | b"ENFILE" => ErrorClass::TableFull,
            b"EINTR" => ErrorClass::Interrupted,
            b"ENOTSOCK" | b"ESPIPE" | b"ENOTDIR" | b"EISDIR" => ErrorClass::WrongType,
            n if n.starts_with(b"ERESTART") => ErrorClass::Interrupted,
            _ => ErrorClass::Other,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    Ok,
    /// The result is not known (`= ?`: the task died or was interrupted, or the
    /// format does not say).
    Unknown,
    /// Failed; `name` is the symbolic error (EBADF, ERROR_INVALID_HANDLE...).
    Failed {
        class: ErrorClass,
        name: Sym,
    },
}

impl Outcome {
    pub fn is_ok(self) -> bool {
        matches!(self, Outcome::Ok)
    }
    pub fn is_bad_handle(self) -> bool {
        matches!(
            self,
            Outcome::Failed {
                class: ErrorClass::BadHandle,
                ..
            }
        )
    }
    pub fn failed_class(self) -> Option<ErrorClass> {
        match self {
            Outcome::Failed { class, .. } => Some(class),
            _ => None,
        }
    }
}

/// Bits for [`Event::flags`].
pub mod flags {
    /// The completion half of a call that was `<unfinished ...>` (strace).
    pub const RESUMED: u8 = 1;
    /// Fault injected by the tracer (strace `(INJECTED)`).
    pub const INJECTED: u8 = 2;
    /// The result came back decorated with a resource identity (strace -y).
    pub const DECORATED: u8 = 4;
    /// The value was passed undecorated although the trace uses -y: strace saw it
    /// not open at entry.
    pub const UNDECORATED_IN_Y_MODE: u8 = 8;
    /// From a snapshot or rundown (ETW DCStart, htrace -diff): the handle existed
    /// before, this is not its creation.
    pub const RUNDOWN: u8 = 16;
    /// Part of a close-all sweep (ascending closes of mostly unopened values):
    /// set by the lifecycle, never a bug.
    pub const SWEEP: u8 = 32;
    /// Not printed by the tracer but inferred by the reader (perf trace: the fds
    /// of pipe2/socketpair, from the lowest free values of a fully known table).
    pub const INFERRED: u8 = 64;
    /// A use made by opening the value's own path (`open("/dev/fd/N")`,
    /// `/proc/self/fd/N`): how process substitution hands an fd to a program.
    pub const BY_PATH: u8 = 128;
}

#[derive(Clone, Copy, Debug)]
pub struct Event {
    /// Position in the merged stream of one analysis; strictly increasing.
    pub seq: u64,
    pub time: Option<Nanos>,
    pub pid: u32,
    pub tid: u32,
    pub handle: Handle,
    pub op: Op,
    /// The call or event name as the trace spells it (`close`, `CloseHandle`, `Object/CreateHandle`).
    pub call: Sym,
    /// Resource identity when known (`/etc/hostname`, `socket:[8887]`, an ETW object name).
    pub resource: Option<Sym>,
    pub kind: ResourceKind,
    pub outcome: Outcome,
    pub stack: Option<StackId>,
    pub origin: Origin,
    pub flags: u8,
}

impl Event {
    /// A new event with neutral defaults; readers fill in the rest.
    pub fn new(op: Op, call: Sym, origin: Origin) -> Event {
        Event {
            seq: 0,
            time: None,
            pid: 0,
            tid: 0,
            handle: -1,
            op,
            call,
            resource: None,
            kind: ResourceKind::Unknown,
            outcome: Outcome::Ok,
            stack: None,
            origin,
            flags: 0,
        }
    }

    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }
}
