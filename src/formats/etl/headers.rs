//! Record headers: the first 4 bytes of a record (the marker) say which header
//! kind follows and where its size lives (research etw.md §2.5).

use super::bytes::{Guid, u8_at, u16_at, u32_at, u64_at};

/// The header kinds ETW writes to files.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HeaderKind {
    /// `SYSTEM_TRACE_HEADER` (0x20): kernel events with pid/tid.
    System,
    /// Compact system header (0x18): no kernel/user times.
    Compact,
    /// `PERFINFO_TRACE_HEADER` (0x10): no pid/tid.
    PerfInfo,
    /// `EVENT_TRACE_HEADER` (classic MOF, 0x30).
    Full,
    /// `EVENT_INSTANCE_GUID_HEADER` (0x48).
    Instance,
    /// `EVENT_HEADER` (manifest / TraceLogging, 0x50 + extended items).
    Event,
    /// WPP `MESSAGE_TRACE_HEADER`.
    Message,
    /// `ERROR` and other rarely used kinds: counted, not decoded.
    Other(u8),
}

/// Who an event is: a kernel HookId (group << 8 | type), or a GUID plus an
/// opcode / event id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKey {
    /// SYSTEM / COMPACT / PERFINFO headers.
    Hook(u16),
    /// FULL / INSTANCE headers: class GUID + `Class.Type`.
    Classic(Guid, u8),
    /// EVENT_HEADER: provider GUID + event id.
    Manifest(Guid, u16),
    /// WPP message number.
    Message(u16),
    /// Undecoded header kind.
    Other(u8),
}

/// One parsed record header; payload borrowed from the buffer data.
#[derive(Clone, Copy, Debug)]
pub struct Record<'a> {
    pub kind: HeaderKind,
    pub key: EventKey,
    /// Pointer size of this record's payload (per-record bitness).
    pub ptr_size: usize,
    /// Low byte of the SYSTEM version word, `Class.Version`, or descriptor version.
    pub version: u16,
    pub pid: Option<u32>,
    pub tid: Option<u32>,
    pub ts: u64,
    pub payload: &'a [u8],
    /// EVENT_HEADER extended data items (empty for other kinds).
    pub extended: &'a [u8],
}

/// The outcome of looking at one record position.
pub enum Parsed<'a> {
    /// A record and the position of the next one.
    Record(Record<'a>, usize),
    /// End marker (0xFFFFFFFF padding or 0) or not enough bytes for a marker.
    End,
    /// The bytes at this position are not a valid record: the rest of the
    /// buffer cannot be resynchronised.
    Bad,
}

/// `TRACE_HEADER_FLAG | TRACE_HEADER_EVENT_TRACE`.
const TRACE_FLAGS: u8 = 0xC0;

#[inline]
fn align8(n: usize) -> usize {
    (n + 7) & !7
}

/// Parses the record at `pos` of a buffer's data (`data` ends at the buffer's
/// used size).
pub fn parse(data: &[u8], pos: usize) -> Parsed<'_> {
    let Some(marker) = u32_at(data, pos) else {
        return Parsed::End;
    };
    if marker == 0xFFFF_FFFF || marker == 0 {
        return Parsed::End;
    }
    let [b0, b1, htype, hflags] = marker.to_le_bytes();
    let word0 = u16::from_le_bytes([b0, b1]);
    let g = |off: usize| u32_at(data, pos + off);
    if hflags & TRACE_FLAGS != TRACE_FLAGS {
        if hflags & 0x80 != 0 {
            return message(data, pos, word0 as usize);
        }
        return Parsed::Bad;
    }
    let (kind, hdr, size, ptr) = match htype {
        0x01 | 0x02 => (
            HeaderKind::System,
            0x20,
            None,
            if htype == 1 { 4 } else { 8 },
        ),
        0x03 | 0x04 => (
            HeaderKind::Compact,
            0x18,
            None,
            if htype == 3 { 4 } else { 8 },
        ),
        0x10 | 0x11 => (
            HeaderKind::PerfInfo,
            0x10,
            None,
            if htype == 0x10 { 4 } else { 8 },
        ),
        0x0A | 0x14 => (
            HeaderKind::Full,
            0x30,
            Some(word0),
            if htype == 0x0A { 4 } else { 8 },
        ),
        0x0B | 0x15 => (
            HeaderKind::Instance,
            0x48,
            Some(word0),
            if htype == 0x0B { 4 } else { 8 },
        ),
        0x12 | 0x13 => (
            HeaderKind::Event,
            0x50,
            Some(word0),
            if htype == 0x12 { 4 } else { 8 },
        ),
        0x0F => return message(data, pos, word0 as usize),
        _ => (HeaderKind::Other(htype), 8, Some(word0), 8),
    };
    match size {
        None => {
            // SYSTEM / COMPACT / PERFINFO: size @4, hook @6, extra 8-byte items per version word.
            let Some(size) = u16_at(data, pos + 4) else {
                return Parsed::Bad;
            };
            let size = size as usize;
            let Some(hook) = u16_at(data, pos + 6) else {
                return Parsed::Bad;
            };
            let mut extra = 0usize;
            if word0 & 0x8000 != 0 {
                extra += 8;
            }
            extra += 8 * ((word0 as usize & 0x0700) >> 8);
            let start = hdr + extra;
            if size < start || pos + size > data.len() {
                return Parsed::Bad;
            }
            let (pid, tid, ts) = if kind == HeaderKind::PerfInfo {
                (None, None, u64_at(data, pos + 8))
            } else {
                (g(0x0C), g(0x08), u64_at(data, pos + 0x10))
            };
            let rec = Record {
                kind,
                key: EventKey::Hook(hook),
                ptr_size: ptr,
                version: word0 & 0xFF,
                pid,
                tid,
                ts: ts.unwrap_or(0),
                payload: &data[pos + start..pos + size],
                extended: &[],
            };
            Parsed::Record(rec, pos + align8(size))
        }
        Some(size) => {
            let size = size as usize;
            if size < hdr || pos + size > data.len() {
                return Parsed::Bad;
            }
            let rec_bytes = &data[pos..pos + size];
            let (key, version, mut start, extended) = match kind {
                HeaderKind::Full | HeaderKind::Instance => {
                    let guid = Guid::at(rec_bytes, 0x18).unwrap_or_default();
                    let ty = u8_at(rec_bytes, 4).unwrap_or(0);
                    (
                        EventKey::Classic(guid, ty),
                        u16_at(rec_bytes, 6).unwrap_or(0),
                        hdr,
                        &[][..],
                    )
                }
                HeaderKind::Event => {
                    let guid = Guid::at(rec_bytes, 0x18).unwrap_or_default();
                    let id = u16_at(rec_bytes, 0x28).unwrap_or(0);
                    let version = u8_at(rec_bytes, 0x2A).unwrap_or(0) as u16;
                    let flags = u16_at(rec_bytes, 4).unwrap_or(0);
                    let mut p = hdr;
                    if flags & 1 != 0 {
                        // Extended items: u16 total size @0, linkage bit0 @4.
                        loop {
                            let (Some(item), Some(link)) =
                                (u16_at(rec_bytes, p), u16_at(rec_bytes, p + 4))
                            else {
                                return Parsed::Bad;
                            };
                            let item = item as usize;
                            if item < 8 || p + item > size {
                                return Parsed::Bad;
                            }
                            p += item;
                            if link & 1 == 0 {
                                break;
                            }
                        }
                    }
                    (EventKey::Manifest(guid, id), version, p, &rec_bytes[hdr..p])
                }
                _ => (EventKey::Other(htype), 0, hdr, &[][..]),
            };
            if matches!(kind, HeaderKind::Other(_)) {
                start = size.min(hdr);
            }
            let has_ids = !matches!(kind, HeaderKind::Other(_));
            let rec = Record {
                kind,
                key,
                ptr_size: ptr,
                version,
                pid: if has_ids {
                    u32_at(rec_bytes, 0x0C)
                } else {
                    None
                },
                tid: if has_ids {
                    u32_at(rec_bytes, 0x08)
                } else {
                    None
                },
                ts: if has_ids {
                    u64_at(rec_bytes, 0x10).unwrap_or(0)
                } else {
                    0
                },
                payload: &rec_bytes[start..],
                extended,
            };
            Parsed::Record(rec, pos + align8(size))
        }
    }
}

/// WPP message: size @0, message number @4; we only count these.
fn message(data: &[u8], pos: usize, size: usize) -> Parsed<'_> {
    if size < 8 || pos + size > data.len() {
        return Parsed::Bad;
    }
    let number = u16_at(data, pos + 4).unwrap_or(0);
    let rec = Record {
        kind: HeaderKind::Message,
        key: EventKey::Message(number),
        ptr_size: 8,
        version: 0,
        pid: None,
        tid: None,
        ts: 0,
        payload: &data[pos + 8..pos + size],
        extended: &[],
    };
    Parsed::Record(rec, pos + align8(size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_airbus_system_header_example() {
        // First record of airbus_lxcore_kernel.etl (research etw.md §2.5), size cut to 0x20.
        let mut b = vec![
            0x02, 0x00, 0x02, 0xc0, 0x20, 0x00, 0x00, 0x00, 0x80, 0x1f, 0x00, 0x00, 0xe0, 0x17,
            0x00, 0x00, 0x52, 0x17, 0x73, 0xd7, 0x19, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00,
        ];
        b.extend_from_slice(&[0xFF; 8]);
        let Parsed::Record(r, next) = parse(&b, 0) else {
            panic!("not a record")
        };
        assert_eq!(r.kind, HeaderKind::System);
        assert_eq!(r.key, EventKey::Hook(0));
        assert_eq!(
            (r.pid, r.tid, r.ptr_size, next),
            (Some(0x17e0), Some(0x1f80), 8, 0x20)
        );
        assert_eq!(r.ts, 0x19_d773_1752);
        assert!(matches!(parse(&b, next), Parsed::End));
        // Size beyond the data is Bad, not a panic.
        b[4] = 0x40;
        assert!(matches!(parse(&b, 0), Parsed::Bad));
    }
}
