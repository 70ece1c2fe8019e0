//! The terminal's width: `COLUMNS` when set, else the terminal itself
//! (TIOCGWINSZ), else 100 columns for files and pipes.

/// Width used when the stream is not a terminal and `COLUMNS` is not set.
pub const DEFAULT_WIDTH: usize = 100;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// Columns for text written to `stream`.
pub fn width(stream: Stream) -> usize {
    if let Some(w) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|w| *w >= 20)
    {
        return w;
    }
    ioctl_width(stream).unwrap_or(DEFAULT_WIDTH)
}

#[cfg(unix)]
fn ioctl_width(stream: Stream) -> Option<usize> {
    let fd = match stream {
        Stream::Stdout => libc::STDOUT_FILENO,
        Stream::Stderr => libc::STDERR_FILENO,
    };
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `winsize` into the struct we own; on a
    // descriptor that is not a terminal it fails and writes nothing.
    let rc = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) };
    (rc == 0 && ws.ws_col >= 20).then_some(ws.ws_col as usize)
}

#[cfg(not(unix))]
fn ioctl_width(_stream: Stream) -> Option<usize> {
    None
}
