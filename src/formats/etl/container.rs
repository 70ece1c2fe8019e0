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
    /// Offset where walking stopped because a header made no sense (not at the end).
    pub broken_at: Option<usize>,
}

/// Walks buffer headers from the start of the file. Never reads data.
pub fn walk(bytes: &[u8]) -> Layout {
    let mut layout = Layout::default();
    let mut pos = 0usize;
    while pos < bytes.len() {
        let Some(size) = u32_at(bytes, pos) else {
            layout.broken_at = Some(pos);
            break;
        };
        let size = size as usize;
        if size == 0 {
            // Zero-filled tail (preallocated file): the end of the data.
            break;
        }
        if size < BUFFER_HEADER_SIZE || pos + BUFFER_HEADER_SIZE > bytes.len() {
            layout.broken_at = Some(pos);
            break;
        }
        let available = bytes.len() - pos;
        let flags = u16_at(bytes, pos + 0x34).unwrap_or(0);
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
        pos += size;
    }
    layout
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
