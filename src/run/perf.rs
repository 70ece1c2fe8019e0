//! Recording with `perf trace`: `run --recorder perf -- CMD` and
//! `record --system --duration D -o FILE` (`perf trace -a`).
//!
//! perf needs no ptrace (about half strace's overhead on syscall-heavy code, see
//! benches/record_overhead.sh), but it must be installed (Debian: linux-perf) and
//! permitted: syscall tracepoints need root, or CAP_PERFMON with tracefs access, or
//! `kernel.perf_event_paranoid = -1`. Before recording, a one-call probe
//! (`perf trace -- true`) says whether it can; `run` then falls back to strace.
//!
//! Recording is `perf trace record` into a perf.data file, then `perf trace -i` to
//! format it: on this 2-CPU VM the live `perf trace` slowed a python loop of 20,000
//! open/read/close 40x (as much as strace), `perf trace record` 2.4x. perf's
//! `LOST` records of the data file are appended as `LOST N events!` lines (`perf
//! trace -i` only warns on stderr).
//!
//! perf leaks descriptors into the traced command (`perf trace -o FILE` its output
//! file, `perf trace record` an eventfd), which shifts every fd number the command
//! opens. The command is therefore started as `handlecheck CMD...` with
//! [`UNLEAK_ENV`] listing the fds the command should inherit (those handlecheck
//! itself passes on): [`exec_hook`] closes every other fd and execs CMD, before
//! anything else in `main`.
//!
//! `perf trace -a` prints tids only; for the processes already running, nothing in
//! the trace says which threads share a table, so `record` appends one
//! `# handlecheck: task TID process PID` line per thread alive when it started.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::cli::{RecordArgs, RunArgs};

use super::Recorded;

/// Set by the recorder in the traced command's environment: the fds to keep
/// (comma separated); every other inherited fd came from perf.
pub const UNLEAK_ENV: &str = "HANDLECHECK_UNLEAK_KEEP_FDS";
/// Overrides `/proc/sys/kernel/perf_event_paranoid` in messages (tests, documentation).
pub const PARANOID_ENV: &str = "HANDLECHECK_PERF_EVENT_PARANOID";

/// Open fds a child inherits (no close-on-exec), read while the /proc listing
/// (itself close-on-exec) is open, so no number is probed after it closed.
fn inheritable_fds() -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return Vec::new();
    };
    let mut fds: Vec<i32> = dir
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()))
        .filter(|fd| {
            // SAFETY: F_GETFD only reads the flags of a descriptor number.
            let flags = unsafe { libc::fcntl(*fd, libc::F_GETFD) };
            flags >= 0 && flags & libc::FD_CLOEXEC == 0
        })
        .collect();
    fds.sort_unstable();
    fds
}

/// The fds a child of this process inherits, as [`UNLEAK_ENV`] lists them.
fn inherited_fds() -> String {
    inheritable_fds()
        .into_iter()
        .map(|fd| fd.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// When this process is the command wrapper (see the module doc): closes the
/// descriptors perf leaked and execs the command; never returns then.
pub fn exec_hook() {
    let Some(keep) = std::env::var_os(UNLEAK_ENV) else {
        return;
    };
    let keep: Vec<i32> = keep
        .to_string_lossy()
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    for fd in inheritable_fds() {
        if fd > 2 && !keep.contains(&fd) {
            // SAFETY: `fd` was inherited from perf and nothing in this process owns
            // or uses it (main has not started); closing it invalidates no handle.
            unsafe {
                libc::close(fd);
            }
        }
    }
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let Some((program, rest)) = args.split_first() else {
        say!("handlecheck: {UNLEAK_ENV} is set but no command follows");
        std::process::exit(2);
    };
    let err = Command::new(program)
        .args(rest)
        .env_remove(UNLEAK_ENV)
        .exec();
    say!(
        "handlecheck: cannot run {}: {err}",
        Path::new(program).display()
    );
    std::process::exit(127);
}

/// `perf trace -i DATA -o TRACE`, then the data file's LOST records appended as
/// `LOST N events!` lines.
fn format_data(data: &Path, trace: &Path) -> Result<(), String> {
    let out = Command::new("perf")
        .args(["trace", "-i"])
        .arg(data)
        .arg("-o")
        .arg(trace)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot start perf: {e}"))?;
    if !out.status.success() || !trace.exists() {
        let text = String::from_utf8_lossy(&out.stderr);
        return Err(format!(
            "perf trace -i {} failed: {}",
            data.display(),
            sanitize(text.lines().next().unwrap_or(""))
        ));
    }
    let script = Command::new("perf")
        .args(["script", "--show-lost-events", "-F", "time", "-i"])
        .arg(data)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .map_err(|e| format!("cannot start perf script: {e}"))?;
    let mut lost = String::new();
    for line in String::from_utf8_lossy(&script.stdout).lines() {
        if let Some(n) = line
            .split_once("PERF_RECORD_LOST lost ")
            .and_then(|(_, n)| n.trim().parse::<u64>().ok())
        {
            lost.push_str(&format!("LOST {n} events!\n"));
        }
    }
    if !lost.is_empty() {
        use std::io::Write;
        std::fs::OpenOptions::new()
            .append(true)
            .open(trace)
            .and_then(|mut f| f.write_all(lost.as_bytes()))
            .map_err(|e| format!("{}: {e}", trace.display()))?;
    }
    Ok(())
}

/// Why perf cannot record here.
pub enum Unusable {
    Missing,
    NotPermitted(String),
}

impl Unusable {
    pub fn message(&self) -> String {
        match self {
            Unusable::Missing => {
                "perf is not installed (Debian/Ubuntu: apt-get install linux-perf)".to_string()
            }
            Unusable::NotPermitted(why) => {
                let paranoid = std::env::var(PARANOID_ENV)
                    .ok()
                    .or_else(|| {
                        std::fs::read_to_string("/proc/sys/kernel/perf_event_paranoid").ok()
                    })
                    .map(|s| s.trim().to_string())
                    .unwrap_or_else(|| "unknown".into());
                format!(
                    "perf trace is not permitted here (kernel.perf_event_paranoid is {paranoid}; syscall \
                     tracepoints need root, CAP_PERFMON with access to /sys/kernel/tracing, or \
                     `sysctl kernel.perf_event_paranoid=-1`): perf said: {why}"
                )
            }
        }
    }
}

/// Runs a one-call `perf trace` to learn whether recording works.
pub fn probe() -> Result<(), Unusable> {
    let dir = tempfile::tempdir().map_err(|e| Unusable::NotPermitted(e.to_string()))?;
    let out = Command::new("perf")
        .args(["trace", "-o"])
        .arg(dir.path().join("probe.perf"))
        .args(["--", "true"])
        .stdin(Stdio::null())
        .output();
    match out {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Unusable::Missing),
        Err(e) => Err(Unusable::NotPermitted(e.to_string())),
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => {
            let text = String::from_utf8_lossy(&o.stderr);
            let why: Vec<&str> = text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .take(3)
                .collect();
            let why = if why.is_empty() {
                format!("exit status {}", o.status)
            } else {
                why.join(" / ")
            };
            Err(Unusable::NotPermitted(sanitize(&why)))
        }
    }
}

/// perf's own words, without control characters, for the terminal.
fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(600)
        .collect()
}

/// An absolute path for `p` whose parent exists, as `/proc/self/fd` links show it.
fn absolute(p: &Path) -> Result<PathBuf, String> {
    let joined = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map_err(|e| format!("cannot read the current directory: {e}"))?
            .join(p)
    };
    let parent = joined.parent().unwrap_or(Path::new("/"));
    let name = joined
        .file_name()
        .ok_or_else(|| format!("{}: not a file name", p.display()))?;
    let parent = parent
        .canonicalize()
        .map_err(|e| format!("{}: {e}", parent.display()))?;
    Ok(parent.join(name))
}

/// LOST notices in a finished trace: (notices, events).
fn lost_in(path: &Path) -> (u64, u64) {
    let Ok(text) = std::fs::read(path) else {
        return (0, 0);
    };
    let mut notices = 0;
    let mut events = 0;
    for line in text.split(|b| *b == b'\n') {
        if let Some(rest) = line.strip_prefix(b"LOST ") {
            notices += 1;
            let n: String = rest
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .map(|b| *b as char)
                .collect();
            events += n.parse::<u64>().unwrap_or(0);
        }
    }
    (notices, events)
}

fn warn_lost(path: &Path, pages: u32) {
    let (notices, events) = lost_in(path);
    if notices > 0 {
        say!(
            "handlecheck: warning: perf lost {events} events ({notices} LOST notices); findings that an unseen \
             event could explain get low confidence; record again with a larger --perf-pages (now {pages})"
        );
    }
}

/// `run --recorder perf`: `None` (after saying why) when perf cannot record, so
/// the caller records with strace instead.
pub fn record(args: &RunArgs) -> Result<Option<Recorded>, String> {
    if let Err(why) = probe() {
        say!(
            "handlecheck: {}; recording with strace instead",
            why.message()
        );
        return Ok(None);
    }
    let (path, temp) = match &args.keep_trace {
        Some(p) => (absolute(p)?, None),
        None => {
            let dir = tempfile::tempdir()
                .map_err(|e| format!("cannot make a temporary directory: {e}"))?;
            let dir_path = dir
                .path()
                .canonicalize()
                .map_err(|e| format!("{}: {e}", dir.path().display()))?;
            (dir_path.join("trace.perf"), Some(dir))
        }
    };
    let me = std::env::current_exe().map_err(|e| format!("cannot find handlecheck itself: {e}"))?;
    let scratch =
        tempfile::tempdir().map_err(|e| format!("cannot make a temporary directory: {e}"))?;
    let data = scratch.path().join("perf.data");
    let status = Command::new("perf")
        .args(["trace", "record", "-q", "-m"])
        .arg(args.perf_pages.to_string())
        .arg("-o")
        .arg(&data)
        .arg("--")
        .arg(&me)
        .args(&args.command)
        .env(UNLEAK_ENV, inherited_fds())
        .status()
        .map_err(|e| format!("cannot start perf: {e}"))?;
    if !data.exists() {
        return Err(format!(
            "perf trace record wrote no data (exit status {status})"
        ));
    }
    format_data(&data, &path)?;
    warn_lost(&path, args.perf_pages);
    say!(
        "handlecheck: recorded {} with perf trace (the command ended with {status})",
        path.display()
    );
    let program = args
        .command
        .first()
        .and_then(|p| Path::new(p).file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "command".into());
    Ok(Some(Recorded {
        path,
        kept: temp.is_none(),
        _temp: temp,
        status,
        interrupted: false,
        program,
    }))
}

/// Threads alive now, as (tid, pid) with tid != pid: perf trace prints tids only, and
/// the processes running when `-a` starts show no clone that would say which
/// threads share a table.
fn threads_now() -> Vec<(u32, u32)> {
    let mut out = Vec::new();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return out;
    };
    for p in procs.flatten() {
        let Some(pid) = p.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(tasks) = std::fs::read_dir(p.path().join("task")) else {
            continue;
        };
        for t in tasks.flatten() {
            if let Some(tid) = t.file_name().to_str().and_then(|n| n.parse::<u32>().ok())
                && tid != pid
            {
                out.push((tid, pid));
            }
        }
    }
    out.sort_unstable();
    out
}

/// Appends the thread groups to the trace, in the line the perf reader knows
/// (`# handlecheck: task TID process PID`).
fn append_groups(path: &Path, groups: &[(u32, u32)]) -> Result<(), String> {
    use std::io::Write;
    let mut text = String::new();
    for (tid, pid) in groups {
        text.push_str(&format!("# handlecheck: task {tid} process {pid}\n"));
    }
    std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// `record --system`: `perf trace -a` for the duration, into the output file.
pub fn record_system(args: &RecordArgs) -> Result<String, String> {
    probe().map_err(|why| why.message())?;
    let path = absolute(&args.output)?;
    let groups = threads_now();
    let secs = format!("{:.3}", args.duration.as_secs_f64());
    say!(
        "handlecheck: recording every process for {secs} s with perf trace -a into {}",
        path.display()
    );
    let scratch =
        tempfile::tempdir().map_err(|e| format!("cannot make a temporary directory: {e}"))?;
    let data = scratch.path().join("perf.data");
    let status = Command::new("perf")
        .args(["trace", "record", "-q", "-a", "-m"])
        .arg(args.perf_pages.to_string())
        .arg("-o")
        .arg(&data)
        .args(["--", "sleep", &secs])
        .stdin(Stdio::null())
        .status()
        .map_err(|e| format!("cannot start perf: {e}"))?;
    if !data.exists() {
        return Err(format!(
            "perf trace record -a wrote no data (exit status {status})"
        ));
    }
    format_data(&data, &path)?;
    append_groups(&path, &groups)?;
    warn_lost(&path, args.perf_pages);
    Ok(path.to_string_lossy().into_owned())
}

/// The analysis options `record` uses: every default, as `analyze FILE` has them.
pub fn default_common() -> Result<crate::cli::CommonArgs, String> {
    use clap::{Args, FromArgMatches};
    let cmd = crate::cli::CommonArgs::augment_args(clap::Command::new("record"));
    let matches = cmd
        .try_get_matches_from(["record"])
        .map_err(|e| e.to_string())?;
    crate::cli::CommonArgs::from_arg_matches(&matches).map_err(|e| e.to_string())
}
