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
    /// A plain file on disk, opened only while its evidence is resolved (so no
    /// descriptor is held per input during the run).
    Path(PathBuf),
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
            EvidenceSource::Spool(f) => {
                let mut f = f.lock().map_err(|_| "lock poisoned")?;
                let file = f.as_file_mut();
                file.seek(SeekFrom::Start(offset))
                    .map_err(|e| e.to_string())?;
                read_some(file, &mut buf).ok_or("read failed")?
            }
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
        Ok(buf)
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
