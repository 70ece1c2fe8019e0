//! Fetches the text of the trace line (or a rendering of the binary record)
//! that a label points at.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Mutex;

use crate::model::{Event, Interner};

/// Longest line text a diagnostic shows; longer lines are cut with `…`.
pub(crate) const MAX_LINE: usize = 4096;

/// Where the text of an input can be read back from.
pub enum EvidenceSource {
    /// A plain file on disk, opened only while its evidence is resolved (so no
    /// descriptor is held per input during the run).
    Path(PathBuf),
    /// A plain file on disk: read lines back by offset.
    File(Mutex<File>),
    /// stdin or a compressed file, spooled while reading: the lines that can
    /// be cited (see [`crate::input::spool`]).
    Spool(crate::input::spool::SpoolEvidence),
    /// The whole input is in memory (small text formats).
    Memory(Vec<u8>),
    /// Binary input: events are rendered, not read back.
    Rendered(fn(&Event, &Interner) -> String),
}

impl EvidenceSource {
    pub fn file(path: &PathBuf) -> Option<EvidenceSource> {
        File::open(path)
            .ok()
            .map(|f| EvidenceSource::File(Mutex::new(f)))
    }

    /// The raw bytes of the line starting at `offset` (without the newline).
    fn line_bytes(&self, offset: u64) -> Option<Vec<u8>> {
        self.line_bytes_in(None, offset).ok()
    }

    /// As [`line_bytes`](Self::line_bytes), reading from `opened` (this
    /// source's file, opened by the caller) when given; errors say why.
    fn line_bytes_in(&self, opened: Option<&mut File>, offset: u64) -> Result<Vec<u8>, String> {
        let mut buf = vec![0u8; MAX_LINE + 1];
        let n = match self {
            EvidenceSource::Path(p) => {
                let mut own;
                let f = match opened {
                    Some(f) => f,
                    None => {
                        own = File::open(p).map_err(|e| e.to_string())?;
                        &mut own
                    }
                };
                f.seek(SeekFrom::Start(offset)).map_err(|e| e.to_string())?;
                read_some(f, &mut buf).ok_or("read failed")?
            }
            EvidenceSource::File(f) => {
                let mut f = f.lock().map_err(|_| "lock poisoned")?;
                f.seek(SeekFrom::Start(offset)).map_err(|e| e.to_string())?;
                read_some(&mut *f, &mut buf).ok_or("read failed")?
            }
            // A kept line may be empty: no end-of-file check.
            EvidenceSource::Spool(s) => return Ok(line_of(&s.window(offset)?).into_owned()),
            EvidenceSource::Memory(bytes) => {
                let start = usize::try_from(offset).map_err(|e| e.to_string())?;
                let rest = bytes
                    .get(start..)
                    .filter(|r| !r.is_empty())
                    .ok_or_else(|| format!("offset {offset} is past the end of the input"))?;
                let n = rest.len().min(buf.len());
                buf[..n].copy_from_slice(&rest[..n]);
                n
            }
            EvidenceSource::Rendered(_) => return Err("binary input".into()),
        };
        if n == 0 {
            return Err(format!(
                "offset {offset} is past the end of the file (changed since it was read?)"
            ));
        }
        Ok(line_of(&buf[..n]).into_owned())
    }

    /// The bytes of a [`EvidenceSource::Path`] file mapped once, for
    /// resolving many of its lines without a read call each (`None` for other
    /// sources, or when the file cannot be mapped: [`resolve`](Self::resolve)
    /// reads then).
    pub fn map(&self, file: &File) -> Option<memmap2::Mmap> {
        match self {
            // SAFETY: read-only, and dropped once the evidence is resolved; a
            // file truncated under us would fault, the caveat the readers'
            // map (`input::map_file`) accepts too.
            EvidenceSource::Path(_) => unsafe { memmap2::Mmap::map(file) }.ok(),
            _ => None,
        }
    }

    /// As [`resolve`](Self::resolve) for a text input, from its bytes
    /// ([`map`](Self::map)).
    pub fn resolve_mapped(&self, bytes: &[u8], event: &Event) -> Result<String, String> {
        let offset = event.origin.offset;
        let rest = usize::try_from(offset)
            .ok()
            .and_then(|start| bytes.get(start..))
            .filter(|r| !r.is_empty())
            .ok_or_else(|| {
                format!("offset {offset} is past the end of the file (changed since it was read?)")
            })?;
        let window = &rest[..rest.len().min(MAX_LINE + 1)];
        Ok(crate::model::sanitize::line_for_terminal(&line_of(window)))
    }

    /// Opens the file behind a [`EvidenceSource::Path`] once, for resolving
    /// many lines of it (`None` for other sources).
    pub fn open(&self) -> Result<Option<File>, String> {
        match self {
            EvidenceSource::Path(p) => File::open(p).map(Some).map_err(|e| e.to_string()),
            _ => Ok(None),
        }
    }

    /// The sanitized text of the evidence for `event`, or why it cannot be
    /// read; `opened` is this source's file from [`open`](Self::open).
    pub fn resolve(
        &self,
        opened: Option<&mut File>,
        event: &Event,
        interner: &Interner,
    ) -> Result<String, String> {
        match self {
            EvidenceSource::Rendered(render) => Ok(crate::model::sanitize::for_terminal(&render(
                event, interner,
            ))),
            _ => self
                .line_bytes_in(opened, event.origin.offset)
                .map(|b| crate::model::sanitize::line_for_terminal(&b)),
        }
    }

    /// The sanitized text of the evidence for `event`.
    pub fn text(&self, event: &Event, interner: &Interner) -> String {
        match self {
            EvidenceSource::Rendered(render) => {
                crate::model::sanitize::for_terminal(&render(event, interner))
            }
            _ => match self.line_bytes(event.origin.offset) {
                Some(bytes) => crate::model::sanitize::line_for_terminal(&bytes),
                None => String::from("<line not available>"),
            },
        }
    }
}

/// The line at the start of `window` (at most `MAX_LINE + 1` bytes): up to
/// its newline, without a trailing CR, cut with `…` when longer than `MAX_LINE`.
fn line_of(window: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let end = memchr::memchr(b'\n', window).unwrap_or(window.len());
    let cut = end > MAX_LINE;
    let mut line = &window[..end.min(MAX_LINE)];
    if line.last() == Some(&b'\r') {
        line = &line[..line.len() - 1];
    }
    if cut {
        let mut owned = line.to_vec();
        owned.extend_from_slice("…".as_bytes());
        std::borrow::Cow::Owned(owned)
    } else {
        std::borrow::Cow::Borrowed(line)
    }
}

fn read_some(r: &mut impl Read, buf: &mut [u8]) -> Option<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return None,
        }
    }
    Some(filled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Interner, Op, Origin};

    /// Mapped and read resolution give the same text for every line shape: a
    /// plain line, CRLF, a line longer than the cut, the last line without a
    /// newline, and an offset past the end.
    #[test]
    fn mapped_lines_read_as_read_lines() {
        let long = "x".repeat(MAX_LINE + 50);
        let text = format!("1 close(3) = 0\n2 close(4) = 0\r\n{long}\n3 tail(5) = 0");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.log");
        std::fs::write(&path, &text).unwrap();
        let source = EvidenceSource::Path(path.clone());
        let mut interner = Interner::default();
        let call = interner.intern("close");
        let mut file = source.open().unwrap();
        let map = source.map(file.as_ref().unwrap()).unwrap();
        let mut offsets: Vec<u64> = vec![0];
        offsets.extend(text.match_indices('\n').map(|(i, _)| i as u64 + 1));
        offsets.push(text.len() as u64 + 10);
        for offset in offsets {
            let event = Event::new(Op::Close, call, Origin::line(0, 1, offset));
            let read = source.resolve(file.as_mut(), &event, &interner);
            let mapped = source.resolve_mapped(&map, &event);
            assert_eq!(read, mapped, "offset {offset}");
        }
        let cut = source
            .resolve_mapped(&map, &Event::new(Op::Close, call, Origin::line(0, 3, 32)))
            .unwrap();
        assert!(cut.ends_with('…') && cut.chars().count() == MAX_LINE + 1);
    }
}
