//! Fetches the text of the trace line (or a rendering of the binary record)
//! that a label points at.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Mutex;

use crate::model::{Event, Interner};

/// Longest line text a diagnostic shows; longer lines are cut with `…`.
const MAX_LINE: usize = 4096;

/// Where the text of an input can be read back from.
pub enum EvidenceSource {
    /// A plain file on disk: read lines back by offset.
    File(Mutex<File>),
    /// stdin or a compressed file, spooled to a temporary file while reading.
    Spool(Mutex<tempfile::NamedTempFile>),
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
        let mut buf = vec![0u8; MAX_LINE + 1];
        let n = match self {
            EvidenceSource::File(f) => {
                let mut f = f.lock().ok()?;
                f.seek(SeekFrom::Start(offset)).ok()?;
                read_some(&mut *f, &mut buf)?
            }
            EvidenceSource::Spool(f) => {
                let mut f = f.lock().ok()?;
                let file = f.as_file_mut();
                file.seek(SeekFrom::Start(offset)).ok()?;
                read_some(file, &mut buf)?
            }
            EvidenceSource::Memory(bytes) => {
                let start = usize::try_from(offset).ok()?;
                let rest = bytes.get(start..)?;
                let n = rest.len().min(buf.len());
                buf[..n].copy_from_slice(&rest[..n]);
                n
            }
            EvidenceSource::Rendered(_) => return None,
        };
        buf.truncate(n);
        let end = memchr::memchr(b'\n', &buf).unwrap_or(buf.len());
        let cut = end > MAX_LINE;
        buf.truncate(end.min(MAX_LINE));
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        if cut {
            buf.extend_from_slice("…".as_bytes());
        }
        Some(buf)
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
