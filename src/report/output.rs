//! Where the binary's output goes, in one place: reports written atomically
//! (a temp file in the same directory, renamed over the target, so an
//! interrupted run leaves the old report or none, never a partial one), and
//! the standard streams written without panicking when they are closed.

use std::io::{self, Write};
use std::path::Path;

/// The write buffer of reports: the reporters write many small pieces.
const BUFFER: usize = 64 * 1024;

/// Writes `path` through `write`: into a temporary file beside it, then renamed
/// over it. A path that exists and is not a regular file (`/dev/stdout`,
/// `/dev/null`, a FIFO) is written in place: renaming over it would replace it.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let existing = std::fs::metadata(path).ok();
    if existing.as_ref().is_some_and(|m| !m.is_file()) {
        let f = std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(path)?;
        let mut w = io::BufWriter::with_capacity(BUFFER, f);
        write(&mut w)?;
        return w.flush();
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".handlecheck-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    {
        let mut w = io::BufWriter::with_capacity(BUFFER, tmp.as_file_mut());
        write(&mut w)?;
        w.flush()?;
    }
    let permissions = match existing {
        Some(m) => Some(m.permissions()),
        None => default_permissions(),
    };
    if let Some(p) = permissions {
        tmp.as_file().set_permissions(p)?;
    }
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// What a newly created file gets (0666 less the umask), not tempfile's 0600.
#[cfg(unix)]
fn default_permissions() -> Option<std::fs::Permissions> {
    use std::os::unix::fs::PermissionsExt;
    // SAFETY: umask only swaps the process file-mode mask; it is read and
    // restored at once (the tool writes its reports from one thread).
    let mask = unsafe {
        let m = libc::umask(0o022);
        libc::umask(m);
        m
    };
    Some(std::fs::Permissions::from_mode(0o666 & !(mask as u32)))
}

#[cfg(not(unix))]
fn default_permissions() -> Option<std::fs::Permissions> {
    None
}

/// All of `bytes` on stdout, flushed. A closed pipe comes back as
/// `ErrorKind::BrokenPipe` (the caller ends quietly with 0); nothing panics.
pub fn stdout(bytes: &[u8]) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()
}

/// Streams a report to stdout through a buffer, flushed at the end. A closed
/// pipe comes back as `ErrorKind::BrokenPipe` (the caller ends quietly with
/// 0) as soon as a write meets it; nothing panics.
pub fn stdout_with(write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
    let mut out = io::BufWriter::with_capacity(BUFFER, io::stdout().lock());
    write(&mut out)?;
    out.flush()
}

/// [`stdout_with`] for stderr (`run`: the command keeps stdout).
pub fn stderr_with(write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
    let mut out = io::BufWriter::with_capacity(BUFFER, io::stderr().lock());
    write(&mut out)?;
    out.flush()
}

/// A message on stderr, made terminal-safe (newlines kept). A closed or
/// broken stderr is ignored: the exit code still tells the outcome.
pub fn stderr(text: &str) {
    let text = crate::model::sanitize::lines_for_terminal(text);
    let mut err = io::stderr().lock();
    let _ = err.write_all(text.as_bytes());
    let _ = err.flush();
}

/// Like [`stderr`] for text that is already safe and may carry colour (a
/// rendered miette diagnostic whose source was sanitised before rendering).
pub fn stderr_rendered(text: &str) {
    let mut err = io::stderr().lock();
    let _ = err.write_all(text.as_bytes());
    let _ = err.flush();
}
