//! The `.etl` container: a plain concatenation of buffers, each a 0x48-byte
//! `WMI_BUFFER_HEADER` followed by 8-byte-aligned records (research etw.md §2).
//!
//! Step from buffer to buffer by each buffer's own `BufferSize` (@0x00); the
//! used data ends at `Offset` (@0x30). Compressed buffers (flag 0x40) hold
//! `BufferSize - 0x48` bytes of MS-XCA LZ77 that inflate to `Offset - 0x48`.

use super::bytes::{u16_at, u32_at};
use super::lz77;

pub const BUFFER_HEADER_SIZE: usize = 0x48;

/// `BufferFlag` bits (ntwmi.h).
pub mod flag {
    pub const EVENTS_LOST: u16 = 0x2;
    pub const BUFFER_LOST: u16 = 0x4;
    pub const PROC_INDEX: u16 = 0x20;
    pub const COMPRESSED: u16 = 0x40;
}

/// Largest inflated buffer we accept. ETW session buffers are at most a few MiB.
pub const MAX_INFLATED: usize = 64 << 20;

/// One buffer as found in the file (header fields only; data not touched).
#[derive(Clone, Copy, Debug)]
pub struct BufferInfo {
    /// 0-based position in file order.
    pub index: u32,
    /// File offset of the buffer header.
    pub offset: usize,
    /// Bytes of this buffer present in the file (header included); less than
    /// `BufferSize` only for the truncated last buffer.
    pub size: usize,
    /// `Offset` field: end of the used (inflated) data, header included.
    pub filled: usize,
    pub flags: u16,
    pub buffer_type: u16,
    /// Processor of every record in the buffer.
    pub cpu: u16,
    /// The file ends before this buffer does.
    pub truncated: bool,
}

impl BufferInfo {
    pub fn compressed(&self) -> bool {
        self.flags & flag::COMPRESSED != 0
    }
}

/// Result of walking the buffer headers.
#[derive(Debug, Default)]
pub struct Layout {
    pub buffers: Vec<BufferInfo>,
    /// Offsets of unreadable buffer headers that walking stepped over to the
    /// next readable buffer (the data in between is skipped).
    pub skipped_headers: Vec<usize>,
    /// Offset where walking stopped because a header made no sense (not at the end).
    pub broken_at: Option<usize>,
}

/// Walks buffer headers from the start of the file. Never reads data.
///
/// In a file of uncompressed buffers every buffer normally has the session's
/// buffer size (research etw.md §2), so one unreadable header costs only its
/// buffer: walking goes on at the next multiple of the previous buffer's size
/// that holds a plausible header. A header whose size disagrees with that
/// layout is unreadable only when a plausible header sits where the layout
/// puts the next buffer and none where its own size does. Files with
/// compressed buffers (whose sizes vary) stop at the first unreadable header.
pub fn walk(bytes: &[u8]) -> Layout {
    let mut layout = Layout::default();
    let mut pos = 0usize;
    // The previous buffer's size, while no buffer was compressed.
    let mut stride: Option<usize> = None;
    let mut seen_compressed = false;
    while pos < bytes.len() {
        let size = u32_at(bytes, pos).map(|s| s as usize);
        let flags = u16_at(bytes, pos + 0x34).unwrap_or(0);
        let readable = match size {
            None => false,
            // Zero-filled tail (preallocated file): the end of the data, unless
            // a readable buffer follows.
            Some(0) => false,
            Some(size) if size < BUFFER_HEADER_SIZE || pos + BUFFER_HEADER_SIZE > bytes.len() => {
                false
            }
            Some(size) => match stride {
                Some(s) if size != s && flags & flag::COMPRESSED == 0 => {
                    let own_next = pos.checked_add(size);
                    own_next.is_some_and(|n| plausible(bytes, n, None))
                        || !plausible(bytes, pos + s, Some(s))
                }
                _ => true,
            },
        };
        if !readable {
            match stride.and_then(|s| next_plausible(bytes, pos, s)) {
                Some(next) => {
                    layout.skipped_headers.push(pos);
                    pos = next;
                    continue;
                }
                None => {
                    if size != Some(0) {
                        layout.broken_at = Some(pos);
                    }
                    break;
                }
            }
        }
        let size = size.unwrap_or(0);
        let available = bytes.len() - pos;
        let context = u32_at(bytes, pos + 0x28).unwrap_or(0);
        let cpu = if flags & flag::PROC_INDEX != 0 {
            (context & 0x07FF) as u16
        } else {
            (context & 0xFF) as u16
        };
        let info = BufferInfo {
            index: layout.buffers.len() as u32,
            offset: pos,
            size: size.min(available),
            filled: u32_at(bytes, pos + 0x30).unwrap_or(0) as usize,
            flags,
            buffer_type: u16_at(bytes, pos + 0x36).unwrap_or(0),
            cpu,
            truncated: size > available,
        };
        layout.buffers.push(info);
        if info.truncated {
            break;
        }
        seen_compressed |= info.compressed();
        stride = (!seen_compressed).then_some(size);
        pos += size;
    }
    layout
}

/// A plausible buffer header at `at`: a size of at least a header (`size`
/// when given); for an uncompressed buffer also a used size within it and a
/// record marker (trace header flags) first.
fn plausible(bytes: &[u8], at: usize, size: Option<usize>) -> bool {
    let (Some(got), Some(filled), Some(flags), Some(marker)) = (
        u32_at(bytes, at),
        u32_at(bytes, at + 0x30),
        u16_at(bytes, at + 0x34),
        u32_at(bytes, at + BUFFER_HEADER_SIZE),
    ) else {
        return false;
    };
    let (got, filled) = (got as usize, filled as usize);
    if got < BUFFER_HEADER_SIZE || size.is_some_and(|s| s != got) {
        return false;
    }
    if flags & flag::COMPRESSED != 0 {
        return size.is_none() && got <= MAX_INFLATED;
    }
    (BUFFER_HEADER_SIZE..=got).contains(&filled)
        && marker != 0xFFFF_FFFF
        && marker.to_le_bytes()[3] & 0x80 != 0
}

/// The first offset after `pos`, in steps of the buffer size `stride`, that
/// holds a plausible uncompressed buffer header of that size.
fn next_plausible(bytes: &[u8], pos: usize, stride: usize) -> Option<usize> {
    let mut at = pos.checked_add(stride)?;
    while at.checked_add(BUFFER_HEADER_SIZE + 4)? <= bytes.len() {
        if plausible(bytes, at, Some(stride)) {
            return Some(at);
        }
        at = at.checked_add(stride)?;
    }
    None
}

/// Why a buffer's data could not be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BufferDamage {
    /// Compressed but the file ends before its data does.
    Truncated,
    /// `Offset` is smaller than the header or larger than allowed.
    BadFilled,
    Lz77(lz77::Lz77Error),
}

/// The record area of a buffer (offsets relative to the buffer start, so the
/// first record is at [`BUFFER_HEADER_SIZE`]). Uncompressed buffers borrow the
/// file; compressed ones are inflated into `scratch` (header bytes copied first
/// so record positions stay the same).
pub fn data<'a>(
    bytes: &'a [u8],
    info: &BufferInfo,
    max_inflated: usize,
    scratch: &'a mut Vec<u8>,
) -> Result<&'a [u8], BufferDamage> {
    let raw = bytes
        .get(info.offset..info.offset + info.size)
        .ok_or(BufferDamage::Truncated)?;
    if !info.compressed() {
        // `Offset` is unreliable in some writers; when it is out of range use the
        // whole buffer and rely on the 0xFFFFFFFF end marker.
        let end = if info.filled >= BUFFER_HEADER_SIZE && info.filled <= raw.len() {
            info.filled
        } else {
            raw.len()
        };
        return Ok(&raw[..end]);
    }
    if info.truncated {
        return Err(BufferDamage::Truncated);
    }
    if info.filled < BUFFER_HEADER_SIZE || info.filled > max_inflated {
        return Err(BufferDamage::BadFilled);
    }
    let inflated = info.filled - BUFFER_HEADER_SIZE;
    scratch.clear();
    scratch.extend_from_slice(&raw[..BUFFER_HEADER_SIZE]);
    lz77::decompress_append(&raw[BUFFER_HEADER_SIZE..], scratch, inflated)
        .map_err(BufferDamage::Lz77)?;
    Ok(&scratch[..])
}
