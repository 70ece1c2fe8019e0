//! `handlecheck run -- CMD`: records CMD with the real strace into a file
//! (or with perf trace: [`perf`]).
//!
//! The command keeps the terminal (stdin, stdout, stderr are inherited).
//! While it runs, SIGINT and SIGQUIT do not stop handlecheck: the terminal
//! delivers them to the command (and strace), and handlecheck then analyses
//! what was recorded. A SIGINT sent to handlecheck alone is forwarded to the
//! command.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::cli::{Recorder, RunArgs};

pub mod perf;

pub struct Recorded {
    pub path: PathBuf,
    /// Removed (with the trace) on drop unless `--keep-trace`.
    _temp: Option<tempfile::TempDir>,
    pub kept: bool,
    pub status: ExitStatus,
    /// SIGINT arrived while recording.
    pub interrupted: bool,
    /// The program's file name, for the report's name of the trace.
    pub program: String,
}

impl Recorded {
    pub fn path_string(&self) -> String {
        self.path.to_string_lossy().into_owned()
    }

    /// The exit status a shell would report for the command: its code, or
    /// 128 + the signal that killed it.
    pub fn child_code(&self) -> u8 {
        use std::os::unix::process::ExitStatusExt;
        match (self.status.code(), self.status.signal()) {
            (Some(c), _) => u8::try_from(c).unwrap_or(1),
            (None, Some(sig)) => u8::try_from(128 + sig).unwrap_or(1),
            (None, None) => 1,
        }
    }
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_interrupt(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// SIGQUIT while recording: the terminal delivers it to the command too.
extern "C" fn on_interrupt_quiet(_: libc::c_int) {}

/// The processes whose parent is `pid` (from /proc/*/stat).
fn children_of(pid: libc::pid_t) -> Vec<libc::pid_t> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.parse::<libc::pid_t>().ok())
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .ok()
                .and_then(|s| {
                    // `pid (comm) state ppid ...`; comm may hold spaces and parens.
                    let rest = &s[s.rfind(')')? + 1..];
                    rest.split_whitespace().nth(1)?.parse::<libc::pid_t>().ok()
                })
                == Some(pid)
        })
        .collect()
}

/// `name` as the shell would find it: a path as given, else the first
/// executable file of that name in `PATH`.
pub fn find_program(name: &OsStr) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    let as_path = Path::new(name);
    if as_path.components().count() > 1 || name.as_encoded_bytes().contains(&b'/') {
        return executable(as_path).then(|| as_path.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| executable(p))
}

pub fn record(args: &RunArgs) -> Result<Recorded, String> {
    let Some(program) = args.command.first() else {
        return Err("no command given after `--`".into());
    };
    if args.recorder == Recorder::Perf
        && let Some(recorded) = perf::record(args)?
    {
        return Ok(recorded);
    }
    let Some(strace) = find_program(OsStr::new("strace")) else {
        return Err(
            "strace is not installed or not in PATH (Debian/Ubuntu: apt-get install strace)".into(),
        );
    };
    if find_program(OsStr::new(program)).is_none() {
        return Err(if program.contains('/') {
            format!("cannot run `{program}`: no such executable file")
        } else {
            format!("cannot run `{program}`: not found in PATH")
        });
    }
    let (path, temp) = match &args.keep_trace {
        Some(p) => (p.clone(), None),
        None => {
            let dir = tempfile::Builder::new()
                .prefix("handlecheck-run-")
                .tempdir()
                .map_err(|e| format!("cannot make a temporary directory: {e}"))?;
            (dir.path().join("trace.log"), Some(dir))
        }
    };
    let mut cmd = Command::new(&strace);
    cmd.args(["-f", "-tt", "-T", "-y", "-q", "-o"]).arg(&path);
    if args.stacks {
        cmd.arg("-k");
    }
    cmd.arg("--").args(&args.command);
    INTERRUPTED.store(false, Ordering::SeqCst);
    // SAFETY: installs a handler that only stores to an atomic (async-signal
    // safe); the previous dispositions are restored below.
    let (old_int, old_quit) = unsafe {
        (
            libc::signal(
                libc::SIGINT,
                on_interrupt as *const () as libc::sighandler_t,
            ),
            // A handler, not SIG_IGN: handlers reset at exec, so the command
            // still gets the default dispositions.
            libc::signal(
                libc::SIGQUIT,
                on_interrupt_quiet as *const () as libc::sighandler_t,
            ),
        )
    };
    // Signals ignored by whoever started us (a background job) stay ignored,
    // for us and for the command, as they would without handlecheck.
    // SAFETY: re-installs the disposition we just read.
    unsafe {
        if old_int == libc::SIG_IGN {
            libc::signal(libc::SIGINT, libc::SIG_IGN);
        }
        if old_quit == libc::SIG_IGN {
            libc::signal(libc::SIGQUIT, libc::SIG_IGN);
        }
    }
    let spawned = cmd.spawn();
    let result = spawned
        .map_err(|e| format!("cannot start strace: {e}"))
        .and_then(|mut child| {
            let mut forwarded = false;
            loop {
                match child.try_wait() {
                    Ok(Some(status)) => break Ok(status),
                    Ok(None) => {}
                    Err(e) => break Err(format!("waiting for strace: {e}")),
                }
                if INTERRUPTED.load(Ordering::SeqCst) && !forwarded {
                    forwarded = true;
                    // SIGINT for handlecheck alone (not the terminal's group):
                    // hand it to the command as Ctrl-C would (strace itself
                    // would only detach); strace then exits with its status.
                    let strace_pid = child.id() as libc::pid_t;
                    for target in children_of(strace_pid) {
                        // SAFETY: kill(2) with a pid and a signal number.
                        unsafe {
                            libc::kill(target, libc::SIGINT);
                        }
                    }
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
        });
    // SAFETY: restores the dispositions saved above.
    unsafe {
        libc::signal(libc::SIGINT, old_int);
        libc::signal(libc::SIGQUIT, old_quit);
    }
    let status = result?;
    let interrupted = INTERRUPTED.load(Ordering::SeqCst) || {
        use std::os::unix::process::ExitStatusExt;
        status.signal() == Some(libc::SIGINT) || status.code() == Some(128 + libc::SIGINT)
    };
    let recorded_something = std::fs::read(&path)
        .map(|t| t.windows(7).any(|w| w == b"execve("))
        .unwrap_or(false);
    if !recorded_something {
        return Err(why_nothing_recorded(&strace, status));
    }
    let program = Path::new(program)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "command".into());
    Ok(Recorded {
        path,
        kept: temp.is_none(),
        _temp: temp,
        status,
        interrupted,
        program,
    })
}

/// strace recorded no exec: find out whether tracing itself is refused.
fn why_nothing_recorded(strace: &Path, status: ExitStatus) -> String {
    let probe = Command::new(strace)
        .args(["-o", "/dev/null", "--", "true"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output();
    match probe {
        Ok(out) if String::from_utf8_lossy(&out.stderr).contains("Operation not permitted") => {
            "strace may not trace here: ptrace is not permitted (Operation not permitted). \
             In a container, add the SYS_PTRACE capability (docker run --cap-add=SYS_PTRACE); \
             check kernel.yama.ptrace_scope; a process that is already traced (by a debugger or \
             another strace) cannot be traced again"
                .to_string()
        }
        _ => format!(
            "strace recorded nothing: the command did not start (strace exited with {status})"
        ),
    }
}
