//! The evidence spool of a stream that cannot be read twice (stdin, a
//! compressed file, a FIFO), bounded by what can still be cited rather than
//! by the stream's length.
//!
//! The writer (the thread reading the stream) appends the stream to
//! temporary *segment* files of [`segment_len`] bytes each and hands every
//! full segment over. The consumer (the thread feeding the lifecycle) calls
//! [`Spool::retire`] as it goes: once every line starting in a segment has
//! been consumed, it asks which line offsets below that point anything can
//! still cite (the lifecycle's answer), copies those lines into a compact
//! store ([`Kept`]: memory up to [`KEEP_IN_MEMORY`], then a file) and drops the
//! segment. Lines kept earlier that nothing cites any more are dropped at the
//! same time. Diagnostics then read a line by its original offset
//! ([`SpoolEvidence::window`]), from the store or from a segment still there.
//!
//! The consumer never waits for the writer: a segment not yet handed over is
//! simply not retired yet. The writer deletes dropped segments' files, except
//! up to [`FILES_REUSED`] of them, which it writes the next segments into.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// Stream bytes per segment file.
pub const SEGMENT_LEN: u64 = 64 << 20;

/// Bytes of a line the evidence reads at most (a line is shown up to 4096
/// bytes and cut after: one byte more tells whether it was cut).
pub const WINDOW: usize = super::evidence::MAX_LINE + 1;

/// Kept lines held in memory before they go to a file.
const KEEP_IN_MEMORY: usize = 1 << 20;

/// Kept lines are read from a segment in blocks of about this many bytes.
const READ_BLOCK: usize = 1 << 20;

/// Offsets a step's list may hold and still be kept for the next step.
const OFFSETS_KEPT: usize = 1 << 16;

/// Hidden knob for tests: the segment length in bytes (tiny segments drop
/// many segments even on small traces); `0` keeps every byte of the stream
/// (the spool as it was before segments: the reference the tests compare to).
const SEGMENT_ENV: &str = "HANDLECHECK_SPOOL_SEGMENT";

/// Hidden knob for measuring: print the spool's disk high-water mark and
/// counts on stderr when the stream is read.
pub const STATS_ENV: &str = "HANDLECHECK_SPOOL_STATS";

/// The segment length: [`SEGMENT_LEN`], or the test knob's value (`0`:
/// nothing is ever dropped).
pub fn segment_len() -> u64 {
    std::env::var(SEGMENT_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(SEGMENT_LEN)
}

/// Dropped segment files kept to be written again rather than deleted: a
/// fresh file costs the kernel a new page-cache page per 4 KiB written (on
/// the 2-core bench machine writing 1 GB into new files took about a second
/// of system time, overwriting the same pages a third of that).
const FILES_REUSED: usize = 2;

/// Stream bytes `start..start + len` in a temporary file: written through
/// `file` by the writer, read through `read` (an independent handle with its
/// own position) by the consumer, also while the writer still appends.
struct Segment {
    start: u64,
    /// Bytes written so far (final once the segment is full or the stream
    /// finished).
    len: AtomicU64,
    /// The file's size when this segment began (a reused file): bytes up to
    /// it were already counted as disk in use.
    base: u64,
    file: tempfile::NamedTempFile,
    read: File,
}

/// A dropped segment's file, waiting to hold another segment.
struct FreeFile {
    file: tempfile::NamedTempFile,
    read: File,
    /// Bytes the file holds (all stale).
    size: u64,
}

impl Segment {
    fn len(&self) -> u64 {
        self.len.load(Ordering::Acquire)
    }
    fn end(&self) -> u64 {
        self.start + self.len()
    }
    /// Bytes the segment's file holds on disk.
    fn file_size(&self) -> u64 {
        self.base.max(self.len())
    }
}

/// The segments, shared by the writer and the consumer.
#[derive(Default)]
struct Handed {
    /// Segments not yet dropped, in stream order; the last is being written.
    segments: VecDeque<Arc<Segment>>,
    /// The stream ended: every segment is complete.
    finished: bool,
    /// The writer failed: what it wrote last is incomplete.
    failed: bool,
    /// Segments dropped by the consumer, for the writer to delete: deleting
    /// a file of 64 MiB takes milliseconds the parsing should not spend.
    to_delete: Vec<Arc<Segment>>,
    /// Files of dropped segments, for new segments (at most [`FILES_REUSED`]).
    free: Vec<FreeFile>,
}

/// Disk in use now and at most, in bytes (segment files and the kept file).
#[derive(Default)]
struct Disk {
    now: AtomicU64,
    peak: AtomicU64,
    segments_written: AtomicU64,
    /// Segment files created (fewer than segments when files are reused).
    files_created: AtomicU64,
}

impl Disk {
    fn add(&self, n: u64) {
        let now = self.now.fetch_add(n, Ordering::Relaxed) + n;
        self.peak.fetch_max(now, Ordering::Relaxed);
    }
    fn sub(&self, n: u64) {
        self.now.fetch_sub(n, Ordering::Relaxed);
    }
}

struct Shared {
    handed: Mutex<Handed>,
    /// `Handed::to_delete` has segments.
    delete_pending: std::sync::atomic::AtomicBool,
    disk: Disk,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Handed> {
        self.handed.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Deletes the segments the consumer dropped (on the calling thread),
    /// keeping up to [`FILES_REUSED`] of their files for new segments unless
    /// the stream has ended.
    fn delete_dropped(&self) {
        let (dropped, reuse) = {
            let mut h = self.lock();
            (std::mem::take(&mut h.to_delete), !h.finished && !h.failed)
        };
        for s in dropped {
            let size = s.file_size();
            // Reused only when nothing else can still read it.
            match Arc::try_unwrap(s) {
                Ok(seg) if reuse && self.lock().free.len() < FILES_REUSED => {
                    self.lock().free.push(FreeFile {
                        file: seg.file,
                        read: seg.read,
                        size,
                    });
                }
                _ => self.disk.sub(size),
            }
        }
        if !reuse {
            let free = std::mem::take(&mut self.lock().free);
            for f in free {
                self.disk.sub(f.size);
            }
        }
    }
}

/// Writes the stream into segments (see the module doc). Marks the stream
/// finished when [`finish`](Self::finish)ed or dropped.
pub struct SpoolWriter {
    shared: Arc<Shared>,
    segment_len: u64,
    current: Option<Arc<Segment>>,
    done: bool,
}

impl SpoolWriter {
    /// Marks the stream finished: every segment is complete.
    pub fn finish(&mut self) {
        if !self.done {
            self.done = true;
            self.shared.lock().finished = true;
        }
    }

    /// The segment to write into, a new one when there is none or it is full.
    fn segment(&mut self) -> io::Result<Arc<Segment>> {
        if let Some(s) = &self.current
            && s.len() < self.segment_len
        {
            return Ok(Arc::clone(s));
        }
        let start = self.current.as_ref().map_or(0, |s| s.end());
        let reused = self.shared.lock().free.pop();
        let (file, read, base) = match reused {
            Some(mut f) => {
                f.file.as_file_mut().seek(SeekFrom::Start(0))?;
                (f.file, f.read, f.size)
            }
            None => {
                let file = tempfile::NamedTempFile::new()?;
                let read = file.reopen()?;
                self.shared
                    .disk
                    .files_created
                    .fetch_add(1, Ordering::Relaxed);
                (file, read, 0)
            }
        };
        let segment = Arc::new(Segment {
            start,
            len: AtomicU64::new(0),
            base,
            file,
            read,
        });
        self.shared
            .disk
            .segments_written
            .fetch_add(1, Ordering::Relaxed);
        self.shared.lock().segments.push_back(Arc::clone(&segment));
        self.current = Some(Arc::clone(&segment));
        Ok(segment)
    }
}

impl Write for SpoolWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.shared.delete_pending.swap(false, Ordering::Acquire) {
            self.shared.delete_dropped();
        }
        let result = self.segment().and_then(|segment| {
            let room = self.segment_len - segment.len();
            let n = usize::try_from(room).map_or(buf.len(), |r| r.min(buf.len()));
            segment.file.as_file().write_all(&buf[..n])?;
            let before = segment.len.fetch_add(n as u64, Ordering::Release);
            // Only bytes past a reused file's old size take more disk.
            let grown = (before + n as u64).saturating_sub(segment.base.max(before));
            if grown > 0 {
                self.shared.disk.add(grown);
            }
            Ok(n)
        });
        if result.is_err() {
            self.shared.lock().failed = true;
        }
        result
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for SpoolWriter {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Where a kept line's bytes are, in 8 bytes: in memory or in the file
/// (top bit), the position (50 bits) and the length (13 bits: a kept line
/// is at most [`WINDOW`] bytes).
#[derive(Clone, Copy)]
struct Place(u64);

const IN_FILE: u64 = 1 << 63;
const LEN_BITS: u32 = 13;

impl Place {
    fn new(in_file: bool, pos: u64, len: usize) -> Place {
        debug_assert!(len < 1 << LEN_BITS && pos < 1 << 50);
        Place(if in_file { IN_FILE } else { 0 } | pos << LEN_BITS | len as u64)
    }
    fn in_file(self) -> bool {
        self.0 & IN_FILE != 0
    }
    fn pos(self) -> u64 {
        (self.0 & !IN_FILE) >> LEN_BITS
    }
    fn len(self) -> usize {
        (self.0 & ((1 << LEN_BITS) - 1)) as usize
    }
}

/// File writes are gathered up to this many bytes (a write per kept line
/// cost a system call each: a million live fds keep a million lines).
const FILE_BUFFER: usize = 1 << 20;

/// Lines kept from dropped segments, by stream offset: each is the line's
/// first bytes up to its newline, at most [`WINDOW`] bytes (exactly what
/// the evidence reads from it).
#[derive(Default)]
struct Kept {
    /// Sorted by offset.
    index: Vec<(u64, Place)>,
    memory: Vec<u8>,
    file: Option<File>,
    /// Bytes written to the file; `unwritten` holds the ones after them.
    file_len: u64,
    unwritten: Vec<u8>,
    /// Bytes of the lines in `index` (the rest of `memory` and the file is
    /// lines nothing cites any more).
    live: u64,
}

impl Kept {
    fn find(&self, offset: u64) -> Option<Place> {
        self.index
            .binary_search_by_key(&offset, |(o, _)| *o)
            .ok()
            .map(|i| self.index[i].1)
    }

    fn read(&self, place: Place) -> io::Result<Vec<u8>> {
        let (pos, len) = (place.pos(), place.len());
        let out_of_range = || io::Error::other("kept line out of range");
        if !place.in_file() {
            let start = usize::try_from(pos).map_err(io::Error::other)?;
            return self
                .memory
                .get(start..start + len)
                .map(<[u8]>::to_vec)
                .ok_or_else(out_of_range);
        }
        if pos >= self.file_len {
            let start = usize::try_from(pos - self.file_len).map_err(io::Error::other)?;
            return self
                .unwritten
                .get(start..start + len)
                .map(<[u8]>::to_vec)
                .ok_or_else(out_of_range);
        }
        let file = self.file.as_ref().ok_or_else(out_of_range)?;
        let mut out = vec![0u8; len];
        read_exact_at(file, &mut out, pos)?;
        Ok(out)
    }

    /// Appends a line after every line kept so far (offsets come in order).
    fn push(&mut self, offset: u64, bytes: &[u8], disk: &Disk) -> io::Result<()> {
        let in_file = self.file.is_some()
            || !self.unwritten.is_empty()
            || self.memory.len() + bytes.len() > KEEP_IN_MEMORY;
        let place = if in_file {
            let pos = self.file_len + self.unwritten.len() as u64;
            self.unwritten.extend_from_slice(bytes);
            disk.add(bytes.len() as u64);
            if self.unwritten.len() >= FILE_BUFFER {
                self.write_out()?;
            }
            Place::new(true, pos, bytes.len())
        } else {
            let pos = self.memory.len() as u64;
            self.memory.extend_from_slice(bytes);
            Place::new(false, pos, bytes.len())
        };
        self.index.push((offset, place));
        self.live += bytes.len() as u64;
        Ok(())
    }

    /// Writes the gathered bytes to the file.
    fn write_out(&mut self) -> io::Result<()> {
        if self.unwritten.is_empty() {
            return Ok(());
        }
        let file = match &mut self.file {
            Some(f) => f,
            None => self.file.insert(tempfile::tempfile()?),
        };
        file.seek(SeekFrom::Start(self.file_len))?;
        file.write_all(&self.unwritten)?;
        self.file_len += self.unwritten.len() as u64;
        self.unwritten.clear();
        Ok(())
    }

    /// Bytes stored, cited or not.
    fn stored(&self) -> u64 {
        self.memory.len() as u64 + self.file_len + self.unwritten.len() as u64
    }

    /// Bytes on disk (or about to be), for the disk count.
    fn on_disk(&self) -> u64 {
        self.file_len + self.unwritten.len() as u64
    }
}

/// The consumer's side of the spool (see the module doc).
pub struct Spool {
    shared: Arc<Shared>,
    segment_len: u64,
    kept: Kept,
    /// Every byte below this is out of the segments (kept lines aside).
    retired_end: u64,
    /// The lifecycle cannot say what it cites: nothing is dropped.
    keep_all: bool,
    /// A read of the spool failed: nothing more is dropped, and the error
    /// is reported with the evidence.
    error: Option<String>,
    segments_dropped: u64,
    /// Time the consumer spent dropping segments and keeping lines.
    retiring: std::time::Duration,
    /// The offsets the lifecycle listed last (the buffer, kept for the next step).
    offsets: Vec<u64>,
}

impl Spool {
    /// A spool and its writer, with segments of [`segment_len`] bytes.
    pub fn new() -> (Spool, SpoolWriter) {
        Spool::with_segment_len(segment_len())
    }

    /// `segment_len` 0: one segment, never dropped.
    pub fn with_segment_len(segment_len: u64) -> (Spool, SpoolWriter) {
        let keep_all = segment_len == 0;
        let segment_len = if keep_all { u64::MAX } else { segment_len };
        let shared = Arc::new(Shared {
            handed: Mutex::new(Handed::default()),
            delete_pending: Default::default(),
            disk: Disk::default(),
        });
        let writer = SpoolWriter {
            shared: Arc::clone(&shared),
            segment_len,
            current: None,
            done: false,
        };
        let spool = Spool {
            shared,
            segment_len,
            kept: Kept::default(),
            retired_end: 0,
            keep_all,
            error: None,
            segments_dropped: 0,
            retiring: std::time::Duration::ZERO,
            offsets: Vec::new(),
        };
        (spool, writer)
    }

    /// Every line starting below `consumed` has been consumed (and so was
    /// written whole): drops the complete segments that lie wholly below it,
    /// keeping the lines `held` names. `held(range, out)`
    /// appends to `out` every line offset in `range` that can still be cited
    /// (any order, repeats allowed), or returns false when it cannot tell:
    /// then every segment stays. Cheap when no segment is due.
    pub fn retire(
        &mut self,
        consumed: u64,
        held: &mut dyn FnMut(Range<u64>, &mut Vec<u64>) -> bool,
    ) {
        if self.keep_all
            || self.error.is_some()
            || consumed < self.retired_end.saturating_add(self.segment_len)
        {
            return;
        }
        let started = std::time::Instant::now();
        self.retire_due(consumed, held);
        self.retiring += started.elapsed();
    }

    fn retire_due(
        &mut self,
        consumed: u64,
        held: &mut dyn FnMut(Range<u64>, &mut Vec<u64>) -> bool,
    ) {
        // Under the lock only the list is read: the writer is never held up.
        let (due, window) = {
            let h = self.shared.lock();
            if h.failed {
                return;
            }
            // A line consumed was written whole (up to its newline) before
            // it was handed on: the part of it the evidence shows can be read.
            let mut due: Vec<Arc<Segment>> = Vec::new();
            for s in &h.segments {
                let complete = h.finished || s.len() == self.segment_len;
                if complete && s.end() <= consumed {
                    due.push(Arc::clone(s));
                } else {
                    break;
                }
            }
            let Some(last) = due.last().map(|s| s.end()) else {
                return;
            };
            let window: Vec<Arc<Segment>> = h
                .segments
                .iter()
                .skip(due.len())
                .take_while(|s| s.start < last + WINDOW as u64)
                .cloned()
                .collect();
            (due, window)
        };
        let (first, upto) = match (due.first(), due.last()) {
            (Some(f), Some(l)) => (f.start, l.end()),
            _ => return,
        };
        // Reused: a million live handles list a million offsets each step.
        let mut offsets = std::mem::take(&mut self.offsets);
        offsets.clear();
        if !held(0..upto, &mut offsets) {
            self.keep_all = true;
            return;
        }
        offsets.sort_unstable();
        offsets.dedup();
        let kept = self.keep(&offsets, first, &due, &window);
        // Kept for the next step, unless large: a million live handles list
        // 8 MB of offsets, which would stay resident through the report.
        if offsets.capacity() <= OFFSETS_KEPT {
            self.offsets = offsets;
        }
        if let Err(e) = kept {
            self.error = Some(e.to_string());
            return;
        }
        // The writer deletes the files (the last owner of each, once `due`
        // and `window` are gone); after the stream ended, nobody writes: here.
        let mut h = self.shared.lock();
        for _ in 0..due.len() {
            if let Some(s) = h.segments.pop_front() {
                h.to_delete.push(s);
            }
        }
        let finished = h.finished;
        drop(h);
        self.segments_dropped += due.len() as u64;
        drop(due);
        drop(window);
        if finished {
            self.shared.delete_dropped();
        } else {
            self.shared.delete_pending.store(true, Ordering::Release);
        }
        self.retired_end = upto;
    }

    /// Rebuilds the kept store from `offsets` (sorted): lines below `first`
    /// stay in the store when listed, the others are read from the segments
    /// being dropped.
    fn keep(
        &mut self,
        offsets: &[u64],
        first: u64,
        due: &[Arc<Segment>],
        window: &[Arc<Segment>],
    ) -> io::Result<()> {
        let split = offsets.partition_point(|o| *o < first);
        // Kept earlier: keep it still when listed (an offset listed but not
        // found is no line anything cited then: nothing to keep).
        let mut listed = offsets[..split].iter().peekable();
        self.kept.index.retain(|&(o, _)| {
            while listed.next_if(|&&l| l < o).is_some() {}
            listed.peek() == Some(&&o)
        });
        self.kept.live = self.kept.index.iter().map(|(_, p)| p.len() as u64).sum();
        // Rewrite the store when most of it is lines nothing cites any more.
        if self.kept.stored() > 2 * self.kept.live + (1 << 20) {
            let mut compact = Kept::default();
            for &(offset, place) in &self.kept.index {
                let bytes = self.kept.read(place)?;
                compact.push(offset, &bytes, &self.shared.disk)?;
            }
            self.shared.disk.sub(self.kept.on_disk());
            self.kept = compact;
        }
        // The new lines, read in blocks of many lines at a time (the index
        // grown once: doubling it held two copies of a million entries).
        let fresh = &offsets[split..];
        self.kept.index.reserve_exact(fresh.len());
        let segments = || due.iter().chain(window);
        let mut block: Vec<u8> = Vec::new();
        let mut block_start = 0u64;
        for (i, &offset) in fresh.iter().enumerate() {
            let end = offset + WINDOW as u64;
            if offset < block_start || end > block_start + block.len() as u64 {
                // From here to the window of the last line within a block.
                let last = fresh[i..]
                    .partition_point(|o| *o < offset + READ_BLOCK as u64)
                    .saturating_sub(1);
                let upto = fresh[i + last] + WINDOW as u64;
                block = read_upto(segments(), offset, (upto - offset) as usize)?;
                block_start = offset;
            }
            let at = (offset - block_start) as usize;
            let window_bytes = &block[at..block.len().min(at + WINDOW)];
            self.kept
                .push(offset, line_part(window_bytes), &self.shared.disk)?;
        }
        Ok(())
    }

    /// The spool as evidence, once the stream is read (the writer finished).
    pub fn into_evidence(self) -> SpoolEvidence {
        self.shared.delete_dropped();
        let segments: Vec<Arc<Segment>> = self.shared.lock().segments.iter().cloned().collect();
        if std::env::var_os(STATS_ENV).is_some() {
            eprintln!(
                "handlecheck: evidence spool: peak disk {} bytes; {} segments of {} bytes written into {} files, {} dropped; {} lines kept ({} bytes); {:.1} ms dropping segments and keeping lines{}",
                self.shared.disk.peak.load(Ordering::Relaxed),
                self.shared.disk.segments_written.load(Ordering::Relaxed),
                self.segment_len,
                self.shared.disk.files_created.load(Ordering::Relaxed),
                self.segments_dropped,
                self.kept.index.len(),
                self.kept.live,
                self.retiring.as_secs_f64() * 1e3,
                if self.keep_all {
                    "; every line kept (full history asked for, or segments of 0)"
                } else {
                    ""
                },
            );
        }
        SpoolEvidence {
            inner: Mutex::new(EvidenceParts {
                kept: self.kept,
                retired_end: self.retired_end,
                segments,
                error: self.error,
            }),
        }
    }

    /// The disk high-water mark so far, in bytes.
    pub fn peak_disk(&self) -> u64 {
        self.shared.disk.peak.load(Ordering::Relaxed)
    }

    /// Segments dropped so far.
    pub fn segments_dropped(&self) -> u64 {
        self.segments_dropped
    }
}

/// The line at the start of `window`, up to (not including) its newline.
fn line_part(window: &[u8]) -> &[u8] {
    let end = memchr::memchr(b'\n', window).unwrap_or(window.len());
    &window[..end]
}

/// Up to [`WINDOW`] bytes from stream `offset`, read across `segments`
/// (in stream order, the first holding `offset`): a short read first, which
/// holds most lines whole, and the whole window only for a longer line.
fn read_window<'a>(
    segments: impl Iterator<Item = &'a Arc<Segment>> + Clone,
    offset: u64,
) -> io::Result<Vec<u8>> {
    const SHORT: usize = 512;
    let short = read_upto(segments.clone(), offset, SHORT)?;
    if short.len() < SHORT || memchr::memchr(b'\n', &short).is_some() {
        return Ok(short);
    }
    read_upto(segments, offset, WINDOW)
}

/// Up to `limit` bytes from stream `offset` (fewer at the end of `segments`).
fn read_upto<'a>(
    segments: impl Iterator<Item = &'a Arc<Segment>>,
    offset: u64,
    limit: usize,
) -> io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(limit);
    let mut at = offset;
    for s in segments {
        if out.len() >= limit {
            break;
        }
        if at < s.start || at >= s.end() {
            continue;
        }
        let want = (limit - out.len()) as u64;
        let n = want.min(s.end() - at) as usize;
        let from = out.len();
        out.resize(from + n, 0);
        read_exact_at(&s.read, &mut out[from..], at - s.start)?;
        at += n as u64;
    }
    Ok(out)
}

/// Reads `buf.len()` bytes at `pos` of `file` (one call where the system has it).
#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], pos: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, pos)
}

#[cfg(not(unix))]
fn read_exact_at(mut file: &File, buf: &mut [u8], pos: u64) -> io::Result<()> {
    file.seek(SeekFrom::Start(pos))?;
    std::io::Read::read_exact(&mut file, buf)
}

struct EvidenceParts {
    kept: Kept,
    /// The end of the segments dropped (the stream's end when all were).
    retired_end: u64,
    segments: Vec<Arc<Segment>>,
    error: Option<String>,
}

/// A read spool: lines by their stream offset (see the module doc).
pub struct SpoolEvidence {
    inner: Mutex<EvidenceParts>,
}

impl SpoolEvidence {
    /// Up to [`WINDOW`] bytes of the line at stream `offset`: a kept line
    /// (up to its newline) or the bytes from the segments still on disk.
    pub fn window(&self, offset: u64) -> Result<Vec<u8>, String> {
        let parts = self.inner.lock().map_err(|_| "lock poisoned")?;
        if let Some(place) = parts.kept.find(offset) {
            return parts.kept.read(place).map_err(|e| e.to_string());
        }
        if let Some(e) = &parts.error {
            return Err(format!("the evidence spool could not be read: {e}"));
        }
        let end = parts.segments.last().map_or(parts.retired_end, |s| s.end());
        match parts.segments.first() {
            Some(s) if offset >= s.start && offset < end => {
                read_window(parts.segments.iter(), offset).map_err(|e| e.to_string())
            }
            _ if offset >= end => Err(format!(
                "offset {offset} is past the end of the file (changed since it was read?)"
            )),
            _ => Err(format!(
                "the line at offset {offset} was not kept by the evidence spool"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spool_of(text: &[u8], segment: u64) -> (Spool, SpoolWriter) {
        let (spool, mut writer) = Spool::with_segment_len(segment);
        for piece in text.chunks(7) {
            writer.write_all(piece).unwrap();
        }
        (spool, writer)
    }

    fn line_starts(text: &[u8]) -> Vec<u64> {
        let mut v = vec![0];
        v.extend(memchr::memchr_iter(b'\n', text).map(|i| i as u64 + 1));
        v.retain(|o| *o < text.len() as u64);
        v
    }

    /// Lines held are read back exactly, from the store or the segments
    /// still there; segments are dropped; a line nothing held is gone.
    #[test]
    fn held_lines_survive_their_segments() {
        let mut text = Vec::new();
        for i in 0..200 {
            text.extend_from_slice(format!("{i} close({i}) = 0\n").as_bytes());
        }
        text.extend_from_slice(&vec![b'x'; WINDOW + 40]);
        text.extend_from_slice(b"\ntail(1) = 0");
        let starts = line_starts(&text);
        let held: Vec<u64> = starts.iter().copied().step_by(3).collect();
        let (mut spool, mut writer) = spool_of(&text, 50);
        writer.finish();
        spool.retire(text.len() as u64, &mut |r, out| {
            out.extend(held.iter().filter(|o| r.contains(o)));
            true
        });
        assert!(spool.segments_dropped() > 50);
        let ev = spool.into_evidence();
        for &o in &held {
            let want = &text[o as usize..(o as usize + WINDOW).min(text.len())];
            let got = ev.window(o).unwrap();
            assert_eq!(line_part(&got), line_part(want), "offset {o}");
        }
        let gone = starts[1];
        assert!(ev.window(gone).unwrap_err().contains("not kept"));
    }

    /// A stream retired as it is written reuses the dropped segments' files:
    /// a few files for many segments, and no stale byte of a file's earlier
    /// segment is read back as a line of a later one.
    #[test]
    fn dropped_segment_files_are_reused_without_stale_bytes() {
        let mut text = Vec::new();
        for i in 0..400 {
            // Lines of varying length, so segments end at different places.
            let pad = "y".repeat(i % 23);
            text.extend_from_slice(format!("{i} write({i}, \"{pad}\") = {}\n", i % 23).as_bytes());
        }
        let starts = line_starts(&text);
        let held: Vec<u64> = starts.iter().copied().step_by(5).collect();
        let (mut spool, mut writer) = Spool::with_segment_len(64);
        for (k, piece) in text.chunks(16).enumerate() {
            writer.write_all(piece).unwrap();
            // The consumer is a line or so behind the writer.
            let consumed = (k * 16).saturating_sub(40) as u64;
            spool.retire(consumed, &mut |r, out| {
                out.extend(held.iter().filter(|o| r.contains(o)));
                true
            });
        }
        writer.finish();
        spool.retire(text.len() as u64, &mut |r, out| {
            out.extend(held.iter().filter(|o| r.contains(o)));
            true
        });
        let written = spool.shared.disk.segments_written.load(Ordering::Relaxed);
        let created = spool.shared.disk.files_created.load(Ordering::Relaxed);
        assert!(written > 100, "{written} segments");
        assert!(
            created <= FILES_REUSED as u64 + 3,
            "{created} files for {written} segments"
        );
        assert!(
            spool.peak_disk() < 64 * 8 + (1 << 20),
            "{}",
            spool.peak_disk()
        );
        let ev = spool.into_evidence();
        for &o in &held {
            let want = &text[o as usize..(o as usize + WINDOW).min(text.len())];
            let got = ev.window(o).unwrap();
            assert_eq!(line_part(&got), line_part(want), "offset {o}");
        }
    }

    /// Retiring in steps drops lines no longer held and keeps the others,
    /// and the disk in use stays near a segment and the kept lines.
    #[test]
    fn lines_no_longer_held_are_dropped_in_later_steps() {
        let mut text = Vec::new();
        for i in 0..5000 {
            text.extend_from_slice(format!("{i:05} open(\"/f\") = 3\n").as_bytes());
        }
        let starts = line_starts(&text);
        let (mut spool, mut writer) = Spool::with_segment_len(1000);
        let mut consumed = 0usize;
        for (i, piece) in text.chunks(500).enumerate() {
            writer.write_all(piece).unwrap();
            consumed += piece.len();
            // Only the last 10 lines consumed are held at each step.
            let below = consumed.saturating_sub(40 * 30) as u64;
            let recent: Vec<u64> = starts
                .iter()
                .copied()
                .filter(|o| *o < below)
                .rev()
                .take(10)
                .collect();
            spool.retire(below, &mut |r, out| {
                out.extend(recent.iter().filter(|o| r.contains(o)));
                true
            });
            if i > 10 {
                assert!(spool.kept.index.len() <= 10);
            }
        }
        writer.finish();
        assert!(spool.peak_disk() < 10_000, "peak {}", spool.peak_disk());
    }

    /// Past the memory part of the store the lines go to its file, and a
    /// store mostly of lines nothing holds any more is rewritten: every line
    /// still held reads back exactly through all of it.
    #[test]
    fn kept_lines_in_the_file_and_after_a_rewrite_read_back() {
        let mut text = Vec::new();
        for i in 0..200_000u32 {
            let pad = "y".repeat((i % 97) as usize);
            text.extend_from_slice(format!("{i} write(3, \"{pad}\", 9) = 9\n").as_bytes());
        }
        let starts = line_starts(&text);
        let (mut spool, mut writer) = Spool::with_segment_len(1 << 20);
        let half = text.len() / 2;
        writer.write_all(&text[..half]).unwrap();
        // Every line held: more than the memory part holds.
        spool.retire(half as u64, &mut |r, out| {
            out.extend(starts.iter().filter(|o| r.contains(o)));
            true
        });
        assert!(spool.kept.on_disk() > 0, "nothing went to the file");
        writer.write_all(&text[half..]).unwrap();
        writer.finish();
        // Then one line in ten: the store is rewritten.
        let tenth: Vec<u64> = starts.iter().copied().step_by(10).collect();
        let stored_before = spool.kept.stored();
        spool.retire(u64::MAX, &mut |r, out| {
            out.extend(tenth.iter().filter(|o| r.contains(o)));
            true
        });
        assert!(spool.kept.stored() < stored_before / 2);
        let ev = spool.into_evidence();
        for &o in &tenth {
            let got = ev.window(o).unwrap();
            assert_eq!(
                line_part(&got),
                line_part(&text[o as usize..]),
                "offset {o}"
            );
        }
    }

    /// A lifecycle that cannot tell what it cites keeps every segment.
    #[test]
    fn unknown_citations_keep_everything() {
        let text = b"1 close(3) = 0\n2 close(4) = 0\n3 close(5) = 0\n".repeat(20);
        let (mut spool, mut writer) = spool_of(&text, 16);
        writer.finish();
        spool.retire(text.len() as u64, &mut |_, _| false);
        assert_eq!(spool.segments_dropped(), 0);
        let ev = spool.into_evidence();
        for o in line_starts(&text) {
            let got = ev.window(o).unwrap();
            assert_eq!(line_part(&got), line_part(&text[o as usize..]));
        }
    }
}
