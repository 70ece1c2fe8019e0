//! Payload decoding of the events handlecheck uses: kernel Object (handles),
//! Process, Thread, Image, StackWalk, the logfile header, and .NET GC start/end
//! (research etw.md §2.6, §3, §4). Dispatch is on the event id, never on the
//! header kind (the same event comes with different headers in different traces).

use super::bytes::{Guid, ptr_at, u16_at, u32_at, u64_at, utf16z_at};
use super::headers::{EventKey, Record};

/// Kernel HookIds (group << 8 | type).
pub mod hook {
    pub const HEADER: u16 = 0x0000;
    pub const PROCESS_START: u16 = 0x0301;
    pub const PROCESS_END: u16 = 0x0302;
    pub const IMAGE_LOAD: u16 = 0x030A;
    pub const THREAD_START: u16 = 0x0501;
    pub const THREAD_END: u16 = 0x0502;
    pub const CREATE_HANDLE: u16 = 0x1120;
    pub const CLOSE_HANDLE: u16 = 0x1121;
    pub const DUPLICATE_HANDLE: u16 = 0x1122;
    pub const TYPE_DC_START: u16 = 0x1124;
    pub const TYPE_DC_END: u16 = 0x1125;
    pub const HANDLE_DC_START: u16 = 0x1126;
    pub const HANDLE_DC_END: u16 = 0x1127;
    pub const IMAGE_UNLOAD: u16 = 0x1402;
    pub const IMAGE_DC_START: u16 = 0x1403;
    pub const IMAGE_DC_END: u16 = 0x1404;
    pub const STACK: u16 = 0x1820;
    pub const STACK_KEY_CREATE: u16 = 0x1822;
    pub const STACK_KEY_DELETE: u16 = 0x1823;
    pub const STACK_KEY_RUNDOWN: u16 = 0x1824;
    pub const STACK_KEY_KERNEL: u16 = 0x1825;
    pub const STACK_KEY_USER: u16 = 0x1826;
}

/// MOF class GUIDs of the kernel event groups: the same events written with
/// a classic (FULL/INSTANCE) header instead of a SYSTEM one (user-mode
/// loggers, relogged or merged traces) carry the class GUID and `Class.Type`.
const KERNEL_CLASSES: &[(Guid, u8)] = &[
    // EventTraceEvent
    (
        Guid::from_u128(0x68fdd900_4a3e_11d1_84f4_0000f80464e3),
        0x00,
    ),
    // Process
    (
        Guid::from_u128(0x3d6fa8d0_fe05_11d0_9dda_00c04fd7ba7c),
        0x03,
    ),
    // Thread
    (
        Guid::from_u128(0x3d6fa8d1_fe05_11d0_9dda_00c04fd7ba7c),
        0x05,
    ),
    // SystemConfig (EVENT_TRACE_GROUP_CONFIG)
    (
        Guid::from_u128(0x01853a65_418f_4f36_aefc_dc0f1d2fd235),
        0x0B,
    ),
    // ObTrace: the Object (handle) events
    (
        Guid::from_u128(0x89497f50_effe_4440_8cf2_ce6b1cdcaca7),
        0x11,
    ),
    // ImageLoad
    (
        Guid::from_u128(0x2cb15d1d_5fc1_11d2_abe1_00a0c911f518),
        0x14,
    ),
    // StackWalk
    (
        Guid::from_u128(0xdef2fe46_7bd6_4b80_bd94_f57fe20d0ce3),
        0x18,
    ),
];

/// KernelTraceControl's SysConfigEx class (xperf/WPR merge metadata), named
/// `SysConfig/...` by PerfView: counted by name, not decoded.
pub const SYSCONFIG_EX: Guid = Guid::from_u128(0x9b79ee91_b5fd_41c0_a243_4248e266e9d0);

/// A classic-header kernel-class event as the SYSTEM-header HookId it stands
/// for (`Image` class type 10, Load, is HookId 0x030A); other keys unchanged.
pub fn kernel_key(key: EventKey) -> EventKey {
    let EventKey::Classic(guid, ty) = key else {
        return key;
    };
    match KERNEL_CLASSES.iter().find(|(g, _)| *g == guid) {
        Some((_, 0x14)) if ty == 10 => EventKey::Hook(hook::IMAGE_LOAD),
        Some((_, group)) => EventKey::Hook(u16::from(*group) << 8 | u16::from(ty)),
        None => key,
    }
}

/// Microsoft-Windows-DotNETRuntime.
pub const CLR_PROVIDER: Guid = Guid::from_u128(0xe13c0d23_ccbc_4e12_931b_d9cc2eee27e4);
pub const CLR_GC_START: u16 = 1;
pub const CLR_GC_END: u16 = 2;

/// `ETW_KERNEL_HANDLE_MASK`: handle values with bit 31 live in the System (pid 4) table.
pub const KERNEL_HANDLE_BIT: u32 = 0x8000_0000;
pub const SYSTEM_PID: u32 = 4;

/// The table a handle value belongs to: kernel handles go to pid 4.
pub fn owner_pid(handle: u32, pid: u32) -> u32 {
    if handle & KERNEL_HANDLE_BIT != 0 {
        SYSTEM_PID
    } else {
        pid
    }
}

/// A decoded event of interest. Names are owned: these are rare records.
#[derive(Clone, Debug, PartialEq)]
pub enum Decoded {
    CreateHandle {
        object: u64,
        handle: u32,
        object_type: u16,
        name: Option<Box<str>>,
    },
    CloseHandle {
        object: u64,
        handle: u32,
        object_type: u16,
        name: Option<Box<str>>,
    },
    DuplicateHandle {
        object: u64,
        source: u32,
        target: u32,
        target_pid: u32,
        object_type: u16,
        source_pid: u32,
    },
    TypeName {
        index: u16,
        name: Box<str>,
    },
    HandleRundown {
        end: bool,
        object: u64,
        pid: u32,
        handle: u32,
        object_type: u16,
        name: Option<Box<str>>,
    },
    ProcessEnd {
        pid: u32,
    },
    ThreadStart {
        pid: u32,
        tid: u32,
    },
    ThreadEnd {
        pid: u32,
        tid: u32,
    },
    ImageLoad {
        pid: u32,
        base: u64,
        size: u64,
        name: Box<str>,
    },
    ImageUnload {
        pid: u32,
        base: u64,
    },
    /// A full stack (fragment): frames innermost first.
    Stack {
        event_ts: u64,
        pid: u32,
        tid: u32,
        frames: Box<[u64]>,
    },
    /// A cached stack reference (kernel or user part).
    StackRef {
        event_ts: u64,
        pid: u32,
        tid: u32,
        key: u64,
        kernel: bool,
    },
    /// A stack key definition (KeyCreate / KeyDelete / KeyRundown).
    StackKeyDef {
        key: u64,
        frames: Box<[u64]>,
    },
    GcStart,
    GcEnd,
}

/// Offset of the file name in an Image event of `version`.
fn image_name_at(version: u16, ptr: usize) -> usize {
    match version {
        0 => ptr + 4,
        1 => 2 * ptr + 4,
        _ => 3 * ptr + 32,
    }
}

/// True when a non-empty UTF-16 name at the layout's offset ends (its NUL) at
/// the end of the payload.
fn image_name_ends_payload(p: &[u8], version: u16, ptr: usize) -> bool {
    let at = image_name_at(version, ptr);
    match utf16z_at(p, at) {
        Some((name, end)) => {
            end == p.len()
                && name
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '\\' | '/' | '.'))
        }
        None => false,
    }
}

fn name_at(p: &[u8], at: usize) -> Option<Box<str>> {
    let (s, _) = utf16z_at(p, at)?;
    if s.is_empty() {
        None
    } else {
        Some(s.into_boxed_str())
    }
}

fn frames(p: &[u8], from: usize, ptr: usize) -> Box<[u64]> {
    let n = p.len().saturating_sub(from) / ptr;
    (0..n)
        .filter_map(|i| ptr_at(p, from + i * ptr, ptr))
        .collect()
}

/// Decodes the record if it is one handlecheck uses. `None` for everything
/// else and for payloads too short for their layout.
pub fn decode(rec: &Record<'_>) -> Option<Decoded> {
    let p = rec.payload;
    let ptr = rec.ptr_size;
    match kernel_key(rec.key) {
        EventKey::Hook(h) => match h {
            hook::CREATE_HANDLE | hook::CLOSE_HANDLE => {
                let object = ptr_at(p, 0, ptr)?;
                let handle = u32_at(p, ptr)?;
                let object_type = u16_at(p, ptr + 4)?;
                let name = name_at(p, ptr + 6);
                Some(if h == hook::CREATE_HANDLE {
                    Decoded::CreateHandle {
                        object,
                        handle,
                        object_type,
                        name,
                    }
                } else {
                    Decoded::CloseHandle {
                        object,
                        handle,
                        object_type,
                        name,
                    }
                })
            }
            hook::DUPLICATE_HANDLE => Some(Decoded::DuplicateHandle {
                object: ptr_at(p, 0, ptr)?,
                source: u32_at(p, ptr)?,
                target: u32_at(p, ptr + 4)?,
                target_pid: u32_at(p, ptr + 8)?,
                object_type: u16_at(p, ptr + 12)?,
                source_pid: u32_at(p, ptr + 14)?,
            }),
            hook::TYPE_DC_START | hook::TYPE_DC_END => Some(Decoded::TypeName {
                index: u16_at(p, 0)?,
                name: name_at(p, 4)?,
            }),
            hook::HANDLE_DC_START | hook::HANDLE_DC_END => Some(Decoded::HandleRundown {
                end: h == hook::HANDLE_DC_END,
                object: ptr_at(p, 0, ptr)?,
                pid: u32_at(p, ptr)?,
                handle: u32_at(p, ptr + 4)?,
                object_type: u16_at(p, ptr + 8)?,
                name: name_at(p, ptr + 10),
            }),
            hook::PROCESS_END => {
                // v0 starts with the pid; v1+ with UniqueProcessKey (a pointer).
                let at = if rec.version >= 1 { ptr } else { 0 };
                Some(Decoded::ProcessEnd {
                    pid: u32_at(p, at)?,
                })
            }
            hook::THREAD_START | hook::THREAD_END => {
                let pid = u32_at(p, 0)?;
                let tid = u32_at(p, 4)?;
                Some(if h == hook::THREAD_START {
                    Decoded::ThreadStart { pid, tid }
                } else {
                    Decoded::ThreadEnd { pid, tid }
                })
            }
            // DCEnd (rundown at stop) also tells what is mapped where.
            hook::IMAGE_LOAD | hook::IMAGE_DC_START | hook::IMAGE_DC_END => {
                // The payload's pointer size is the header's, unless only the
                // other one puts the file name's terminator at the payload end
                // (MOF layouts written by a logger of the other bitness).
                let other = if ptr == 8 { 4 } else { 8 };
                let ptr = if image_name_ends_payload(p, rec.version, ptr) {
                    ptr
                } else if image_name_ends_payload(p, rec.version, other) {
                    other
                } else {
                    ptr
                };
                let name = name_at(p, image_name_at(rec.version, ptr)).unwrap_or_default();
                Some(match rec.version {
                    // v0: BaseAddress, ModuleSize (u32), ImageFileName; no pid.
                    0 => Decoded::ImageLoad {
                        base: ptr_at(p, 0, ptr)?,
                        size: u64::from(u32_at(p, ptr)?),
                        pid: rec.pid?,
                        name,
                    },
                    // v1: ImageBase, ImageSize, ProcessId, FileName; v2+ adds
                    // checksum, time stamp, default base and reserved fields.
                    _ => Decoded::ImageLoad {
                        base: ptr_at(p, 0, ptr)?,
                        size: ptr_at(p, ptr, ptr)?,
                        pid: u32_at(p, 2 * ptr)?,
                        name,
                    },
                })
            }
            hook::IMAGE_UNLOAD => Some(Decoded::ImageUnload {
                base: ptr_at(p, 0, ptr)?,
                pid: if rec.version == 0 {
                    rec.pid?
                } else {
                    u32_at(p, 2 * ptr)?
                },
            }),
            hook::STACK => Some(Decoded::Stack {
                event_ts: u64_at(p, 0)?,
                pid: u32_at(p, 8)?,
                tid: u32_at(p, 12)?,
                frames: frames(p, 16, ptr),
            }),
            hook::STACK_KEY_KERNEL | hook::STACK_KEY_USER => Some(Decoded::StackRef {
                event_ts: u64_at(p, 0)?,
                pid: u32_at(p, 8)?,
                tid: u32_at(p, 12)?,
                key: ptr_at(p, 16, ptr)?,
                kernel: h == hook::STACK_KEY_KERNEL,
            }),
            hook::STACK_KEY_CREATE | hook::STACK_KEY_DELETE | hook::STACK_KEY_RUNDOWN => {
                Some(Decoded::StackKeyDef {
                    key: ptr_at(p, 0, ptr)?,
                    frames: frames(p, ptr, ptr),
                })
            }
            _ => None,
        },
        EventKey::Manifest(g, id) if g == CLR_PROVIDER => match id {
            CLR_GC_START => Some(Decoded::GcStart),
            CLR_GC_END => Some(Decoded::GcEnd),
            _ => None,
        },
        _ => None,
    }
}

/// The fields of `TRACE_LOGFILE_HEADER` handlecheck uses (§2.6).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogfileHeader {
    pub buffer_size: u32,
    pub version: u32,
    pub provider_version: u32,
    pub cpus: u32,
    pub end_time: u64,
    pub log_file_mode: u32,
    pub buffers_written: u32,
    pub pointer_size: u32,
    pub events_lost: u32,
    pub cpu_mhz: u32,
    pub boot_time: u64,
    pub perf_freq: u64,
    pub start_time: u64,
    /// 1 QPC, 2 system time (FILETIME), 3 CPU cycles.
    pub clock_type: u32,
    pub buffers_lost: u32,
    /// Timestamp of the header record itself (the clock's origin).
    pub header_ts: u64,
}

/// Decodes the EventTrace/Header payload; `ptr` from the record's header kind.
pub fn logfile_header(rec: &Record<'_>) -> Option<LogfileHeader> {
    let p = rec.payload;
    let ptr = rec.ptr_size;
    let boot = (0x38 + 2 * ptr + 0xAC + 7) & !7;
    Some(LogfileHeader {
        buffer_size: u32_at(p, 0)?,
        version: u32_at(p, 4)?,
        provider_version: u32_at(p, 8)?,
        cpus: u32_at(p, 0x0C)?,
        end_time: u64_at(p, 0x10)?,
        log_file_mode: u32_at(p, 0x20)?,
        buffers_written: u32_at(p, 0x24)?,
        pointer_size: u32_at(p, 0x2C)?,
        events_lost: u32_at(p, 0x30)?,
        cpu_mhz: u32_at(p, 0x34)?,
        boot_time: u64_at(p, boot)?,
        perf_freq: u64_at(p, boot + 8)?,
        start_time: u64_at(p, boot + 16)?,
        clock_type: u32_at(p, boot + 24)?,
        buffers_lost: u32_at(p, boot + 28)?,
        header_ts: rec.ts,
    })
}

/// FILETIME of 1970-01-01 (100 ns units since 1601).
const UNIX_EPOCH_FILETIME: i128 = 116_444_736_000_000_000;

impl LogfileHeader {
    /// Absolute time (ns since the Unix epoch) of a raw event timestamp.
    pub fn unix_ns(&self, ts: u64) -> Option<i64> {
        let delta = i128::from(ts) - i128::from(self.header_ts);
        let filetime = match self.clock_type {
            2 => i128::from(ts),
            3 if self.cpu_mhz != 0 => {
                i128::from(self.start_time) + delta * 10 / i128::from(self.cpu_mhz)
            }
            _ if self.perf_freq != 0 => {
                i128::from(self.start_time) + delta * 10_000_000 / i128::from(self.perf_freq)
            }
            _ => return None,
        };
        i64::try_from((filetime - UNIX_EPOCH_FILETIME).checked_mul(100)?).ok()
    }

    /// Unix ns of a FILETIME field (start/end/boot time).
    pub fn filetime_ns(ft: u64) -> Option<i64> {
        if ft == 0 {
            return None;
        }
        i64::try_from((i128::from(ft) - UNIX_EPOCH_FILETIME) * 100).ok()
    }
}

/// Is `addr` in kernel space for this pointer size (PerfView `IsWindowsKernelAddress`)?
pub fn is_kernel_address(addr: u64, ptr: usize) -> bool {
    if ptr == 4 {
        addr >= 0x8000_0000
    } else {
        addr >= 0xFFFF_0000_0000_0000
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::etl::headers::HeaderKind;

    fn utf16z(s: &str) -> Vec<u8> {
        s.encode_utf16()
            .chain([0])
            .flat_map(|u| u.to_le_bytes())
            .collect()
    }

    fn image_record(payload: &[u8], version: u16, ptr_size: usize) -> Option<Decoded> {
        let image_class = Guid::from_u128(0x2cb15d1d_5fc1_11d2_abe1_00a0c911f518);
        decode(&Record {
            kind: HeaderKind::Full,
            key: EventKey::Classic(image_class, 3),
            ptr_size,
            version,
            pid: Some(42),
            tid: Some(1),
            ts: 0,
            payload,
            extended: &[],
        })
    }

    #[test]
    fn classic_image_events_of_every_version_and_bitness() {
        let name = "C:\\app\\test_program.exe";
        // v2, 64-bit payload under a 32-bit FULL header.
        let mut v2 = Vec::new();
        v2.extend(0x1160000u64.to_le_bytes());
        v2.extend(0x19e000u64.to_le_bytes());
        v2.extend(7644u32.to_le_bytes());
        v2.extend([0u8; 12]);
        v2.extend([0u8; 8 + 16]);
        v2.extend(utf16z(name));
        let want = |pid| Decoded::ImageLoad {
            pid,
            base: 0x1160000,
            size: 0x19e000,
            name: name.into(),
        };
        assert_eq!(image_record(&v2, 2, 4), Some(want(7644)));
        assert_eq!(image_record(&v2, 2, 8), Some(want(7644)));
        // v1, 32-bit.
        let mut v1 = Vec::new();
        v1.extend(0x1160000u32.to_le_bytes());
        v1.extend(0x19e000u32.to_le_bytes());
        v1.extend(7644u32.to_le_bytes());
        v1.extend(utf16z(name));
        assert_eq!(image_record(&v1, 1, 4), Some(want(7644)));
        // v0, 64-bit: no pid in the payload (the header's).
        let mut v0 = Vec::new();
        v0.extend(0x1160000u64.to_le_bytes());
        v0.extend(0x19e000u32.to_le_bytes());
        v0.extend(utf16z(name));
        assert_eq!(image_record(&v0, 0, 4), Some(want(42)));
        // A kernel-class GUID of no interest stays undecoded.
        assert_eq!(
            kernel_key(EventKey::Classic(Guid::from_u128(1), 3)),
            EventKey::Classic(Guid::from_u128(1), 3)
        );
    }
}
