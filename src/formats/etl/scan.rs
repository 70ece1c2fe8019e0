//! Decoding of whole files: buffers are inflated and walked in parallel (rayon),
//! each producing its record count, per-event counts and the decoded records
//! handlecheck uses. Results come back in buffer (file) order.

use std::collections::HashMap;

use rayon::prelude::*;

use super::container::{self, BUFFER_HEADER_SIZE, BufferDamage, BufferInfo, Layout};
use super::headers::{self, EventKey, Parsed};
use super::kernel::{self, Decoded, LogfileHeader};

/// A decoded record of interest with its place in the file.
#[derive(Clone, Debug)]
pub struct Item {
    pub ts: u64,
    /// Buffer index (file order) and record index within the buffer (0-based,
    /// counting every record): the deterministic tie-break of the time merge.
    pub buffer: u32,
    pub index: u32,
    /// File offset of the record (of the buffer, for compressed buffers).
    pub offset: u64,
    pub pid: Option<u32>,
    pub tid: Option<u32>,
    pub ptr_size: u8,
    pub cpu: u16,
    pub decoded: Decoded,
}

/// What one buffer held.
#[derive(Debug, Default)]
pub struct BufferScan {
    /// Records parsed (all kinds).
    pub records: u32,
    pub counts: HashMap<EventKey, u64>,
    pub items: Vec<Item>,
    pub damage: Option<BufferDamage>,
    /// A record that could not be parsed ended the buffer early.
    pub bad_record: bool,
    pub logfile: Option<LogfileHeader>,
    pub min_ts: Option<u64>,
    pub max_ts: Option<u64>,
    pub inflated_bytes: u64,
    pub ptr32_records: u32,
    pub ptr64_records: u32,
}

/// Options for one pass.
#[derive(Clone, Copy)]
pub struct ScanOptions {
    pub count_events: bool,
    pub decode_items: bool,
    pub max_inflated: usize,
}

/// Scans one buffer. `scratch` is reused across buffers of one worker.
pub fn scan_buffer(
    bytes: &[u8],
    info: &BufferInfo,
    opts: ScanOptions,
    scratch: &mut Vec<u8>,
) -> BufferScan {
    let mut out = BufferScan::default();
    let data = match container::data(bytes, info, opts.max_inflated, scratch) {
        Ok(d) => d,
        Err(e) => {
            out.damage = Some(e);
            return out;
        }
    };
    out.inflated_bytes = data.len().saturating_sub(BUFFER_HEADER_SIZE) as u64;
    let compressed = info.compressed();
    let mut pos = BUFFER_HEADER_SIZE;
    let mut last_key: Option<(EventKey, u64)> = None;
    loop {
        let (rec, next) = match headers::parse(data, pos) {
            Parsed::Record(r, n) => (r, n),
            Parsed::End => break,
            Parsed::Bad => {
                out.bad_record = true;
                break;
            }
        };
        let index = out.records;
        out.records += 1;
        if rec.ptr_size == 4 {
            out.ptr32_records += 1;
        } else {
            out.ptr64_records += 1;
        }
        if opts.count_events {
            // Runs of one event id are common: count them before touching the map.
            match &mut last_key {
                Some((k, n)) if *k == rec.key => *n += 1,
                _ => {
                    if let Some((k, n)) = last_key.take() {
                        *out.counts.entry(k).or_insert(0) += n;
                    }
                    last_key = Some((rec.key, 1));
                }
            }
        }
        if !matches!(
            rec.kind,
            headers::HeaderKind::Other(_) | headers::HeaderKind::Message
        ) {
            out.min_ts = Some(out.min_ts.map_or(rec.ts, |m| m.min(rec.ts)));
            out.max_ts = Some(out.max_ts.map_or(rec.ts, |m| m.max(rec.ts)));
        }
        if rec.key == EventKey::Hook(kernel::hook::HEADER) && out.logfile.is_none() {
            out.logfile = kernel::logfile_header(&rec);
        }
        if opts.decode_items
            && let Some(decoded) = kernel::decode(&rec)
        {
            out.items.push(Item {
                ts: rec.ts,
                buffer: info.index,
                index,
                offset: if compressed {
                    info.offset as u64
                } else {
                    (info.offset + pos) as u64
                },
                pid: rec.pid,
                tid: rec.tid,
                ptr_size: rec.ptr_size as u8,
                cpu: info.cpu,
                decoded,
            });
        }
        if next <= pos {
            break;
        }
        pos = next;
    }
    if let Some((k, n)) = last_key {
        *out.counts.entry(k).or_insert(0) += n;
    }
    out
}

/// Scans every buffer of `layout` in parallel; results in file order.
pub fn scan_all(bytes: &[u8], layout: &Layout, opts: ScanOptions) -> Vec<BufferScan> {
    layout
        .buffers
        .par_iter()
        .map_init(Vec::new, |scratch, info| {
            scan_buffer(bytes, info, opts, scratch)
        })
        .collect()
}

/// The logfile header from the first buffer that has one (normally buffer 0).
pub fn find_logfile(bytes: &[u8], layout: &Layout) -> Option<LogfileHeader> {
    let mut scratch = Vec::new();
    let opts = ScanOptions {
        count_events: false,
        decode_items: false,
        max_inflated: container::MAX_INFLATED,
    };
    layout
        .buffers
        .iter()
        .take(4)
        .find_map(|b| scan_buffer(bytes, b, opts, &mut scratch).logfile)
}

/// The cap for inflated buffers: the session buffer size when known (at least
/// 64 KiB), never more than [`container::MAX_INFLATED`].
pub fn max_inflated(header: Option<&LogfileHeader>) -> usize {
    match header {
        Some(h) => (h.buffer_size as usize).clamp(64 << 10, container::MAX_INFLATED),
        None => container::MAX_INFLATED,
    }
}
