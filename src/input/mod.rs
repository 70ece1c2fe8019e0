//! Input: paths and stdin, transparently decompressed, read in large blocks.
//!
//! Text is streamed line by line with bounded memory; inputs that cannot be
//! read twice (stdin, compressed files) are spooled as they are read, keeping
//! the lines diagnostics can still cite ([`spool`]).

pub mod error;
pub mod evidence;
pub mod lines;
pub mod progress;
pub mod spool;

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

pub use error::InputError;

/// How many bytes the format sniffer looks at.
pub const SNIFF_LEN: usize = 64 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

/// An opened input: a byte stream plus what we know about where it came from.
pub struct Opened {
    /// As the user named it (`-` for stdin).
    pub display: String,
    /// The regular file on disk when the stream is that file's plain bytes
    /// (never a FIFO or a `/dev/fd/N` pipe: those cannot be read twice).
    pub plain_path: Option<PathBuf>,
    pub compression: Compression,
    /// The first bytes of the (decompressed) stream, already consumed from `rest`.
    pub head: Vec<u8>,
    pub rest: Box<dyn Read + Send>,
}

impl Opened {
    /// A reader over the whole stream (head, then the rest).
    pub fn into_reader(self) -> Box<dyn Read + Send> {
        Box::new(io::Cursor::new(self.head).chain(self.rest))
    }
}

pub fn io_error(display: &str, e: &io::Error) -> InputError {
    InputError::new(display.to_string(), e.to_string())
}

/// Opens `path` (`-` = stdin), detects gzip/zstd by magic bytes and reads the head.
pub fn open(path: &str) -> Result<Opened, InputError> {
    let (raw, plain_path): (Box<dyn Read + Send>, Option<PathBuf>) = if path == "-" {
        grow_stdin_pipe();
        (
            Box::new(progress::Counting::new(io::stdin(), path, None)),
            None,
        )
    } else {
        let p = Path::new(path);
        if p.is_dir() {
            return Err(
                InputError::new(path.to_string(), "is a directory, not a trace file")
                    .hint("name the trace files inside it (e.g. `dir/*.log`)"),
            );
        }
        let f = File::open(p).map_err(|e| io_error(path, &e))?;
        let meta = f.metadata().ok();
        // Only a regular file can be read again by path (evidence, mapping):
        // a FIFO or `<(...)` (/dev/fd/N) would block or be empty, so those are
        // spooled like stdin.
        let regular = meta.as_ref().is_some_and(|m| m.is_file());
        let total = meta.filter(|m| m.is_file()).map(|m| m.len());
        (
            Box::new(progress::Counting::new(f, path, total)),
            regular.then(|| p.to_path_buf()),
        )
    };
    let mut raw = raw;
    let mut magic = [0u8; 4];
    let n = read_full(&mut raw, &mut magic).map_err(|e| io_error(path, &e))?;
    let magic = &magic[..n];
    let replay: Box<dyn Read + Send> = Box::new(io::Cursor::new(magic.to_vec()).chain(raw));
    let (compression, mut stream): (Compression, Box<dyn Read + Send>) =
        if magic.starts_with(&[0x1f, 0x8b]) {
            (
                Compression::Gzip,
                Box::new(flate2::read::MultiGzDecoder::new(replay)),
            )
        } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            let dec = ruzstd::decoding::StreamingDecoder::new(replay).map_err(|e| {
                InputError::new(path.to_string(), format!("broken zstd stream: {e}"))
                    .at(crate::input::error::Location::Byte(0))
            })?;
            (Compression::Zstd, Box::new(dec))
        } else {
            (Compression::None, replay)
        };
    // Grown as read, not zeroed up front: hundreds of small `-ff` files each
    // paid for zeroing the whole sniff length.
    let mut head = Vec::new();
    stream
        .by_ref()
        .take(SNIFF_LEN as u64)
        .read_to_end(&mut head)
        .map_err(|e| io_error(path, &e))?;
    Ok(Opened {
        display: path.to_string(),
        plain_path: if compression == Compression::None {
            plain_path
        } else {
            None
        },
        compression,
        head,
        rest: stream,
    })
}

/// When stdin is a pipe, asks the kernel for a 1 MiB pipe buffer so that each
/// read returns up to 1 MiB instead of 64 KiB (fewer wake-ups of the writer
/// and of us). Best effort: the default size stays if the kernel refuses.
fn grow_stdin_pipe() {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let fd = io::stdin().as_raw_fd();
        // SAFETY: fcntl on our own stdin descriptor with integer arguments; it
        // touches no memory of ours. F_SETPIPE_SZ fails harmlessly on non-pipes.
        unsafe {
            libc::fcntl(fd, libc::F_SETPIPE_SZ, 1 << 20);
        }
    }
}

/// Reads until `buf` is full or the stream ends; returns the bytes read.
pub fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Memory-maps a plain (uncompressed, on-disk) input.
pub fn map_file(opened: &Opened) -> Result<memmap2::Mmap, InputError> {
    let Some(path) = &opened.plain_path else {
        return Err(InputError::new(
            opened.display.clone(),
            "not a plain file: cannot be memory-mapped",
        ));
    };
    let file = File::open(path).map_err(|e| io_error(&opened.display, &e))?;
    // SAFETY: the map is read-only and lives only while the reader runs. A file
    // truncated under us by another process would fault; that is the usual
    // caveat of mapping files, accepted here as ripgrep does for large inputs.
    unsafe { memmap2::Mmap::map(&file) }.map_err(|e| io_error(&opened.display, &e))
}

/// Reads a whole input into memory (for formats read as one buffer).
/// `limit` bounds it; beyond that the input is refused with a clear error.
pub fn read_all(opened: Opened, limit: u64) -> Result<Vec<u8>, InputError> {
    let display = opened.display.clone();
    let mut out = Vec::new();
    opened
        .into_reader()
        .take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|e| io_error(&display, &e))?;
    if out.len() as u64 > limit {
        return Err(InputError::new(
            display,
            format!("larger than {limit} bytes, the most this format is read into memory"),
        ));
    }
    Ok(out)
}
