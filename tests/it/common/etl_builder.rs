//! TEST-ONLY builder of SYNTHETIC `.etl` bytes in the real on-disk layout
//! (research etw.md §2-§4): a header buffer with the EventTrace/Header record
//! (TRACE_LOGFILE_HEADER), then per-CPU buffers of SYSTEM / COMPACT / PERFINFO /
//! EVENT_HEADER records, plain or MS-XCA LZ77 compressed, written CPU by CPU so
//! that file order is not time order.
//!
//! No public trace with kernel handle events exists; these files stand in for
//! one. Include with `#[path = "common/etl_builder.rs"] mod etl_builder;`.
#![allow(dead_code, clippy::too_many_arguments)]

use handlecheck::formats::etl::lz77;

pub const CLR: [u8; 16] = [
    0x23, 0x0d, 0x3c, 0xe1, 0xbc, 0xcc, 0x12, 0x4e, 0x93, 0x1b, 0xd9, 0xcc, 0x2e, 0xee, 0x27, 0xe4,
];

/// 2020-07-29T00:07:00Z as FILETIME.
pub const START_FILETIME: u64 = 132_404_548_200_000_000;
pub const START_UNIX_NS: i64 = 1_595_981_220_000_000_000;
/// QPC ticks per second (100 ns ticks: 1 tick = 100 ns).
pub const PERF_FREQ: u64 = 10_000_000;
/// Timestamp of the header record; event `ts` values are relative to this.
pub const HEADER_TS: u64 = 1_000_000;

/// Which header the kernel events get.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    System,
    Compact,
    PerfInfo,
}

struct Rec {
    cpu: u16,
    bytes: Vec<u8>,
}

pub struct EtlBuilder {
    ptr: usize,
    compressed: bool,
    kind: Kind,
    /// Size of an uncompressed buffer (session buffer size).
    buffer_size: usize,
    recs: Vec<Rec>,
    cpus: u16,
    /// Buffers get flag EVENTS_LOST when set.
    events_lost_flag: bool,
    /// Leave out the header buffer (the EventTrace/Header record), as in a
    /// file whose first buffer was lost.
    no_header_record: bool,
}

fn align8(n: usize) -> usize {
    (n + 7) & !7
}

fn utf16z(s: &str) -> Vec<u8> {
    let mut v: Vec<u8> = s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
    v.extend_from_slice(&[0, 0]);
    v
}

impl EtlBuilder {
    pub fn new(ptr: usize) -> EtlBuilder {
        EtlBuilder {
            ptr,
            compressed: false,
            kind: Kind::System,
            buffer_size: 0x400,
            recs: Vec::new(),
            cpus: 1,
            events_lost_flag: false,
            no_header_record: false,
        }
    }
    pub fn compressed(mut self, on: bool) -> Self {
        self.compressed = on;
        self
    }
    pub fn kind(mut self, kind: Kind) -> Self {
        self.kind = kind;
        self
    }
    pub fn buffer_size(mut self, size: usize) -> Self {
        self.buffer_size = size;
        self
    }
    pub fn events_lost_flag(mut self) -> Self {
        self.events_lost_flag = true;
        self
    }
    /// The file starts with the first CPU buffer: no EventTrace/Header record.
    pub fn without_header_record(mut self) -> Self {
        self.no_header_record = true;
        self
    }

    fn ptr_bytes(&self, v: u64) -> Vec<u8> {
        if self.ptr == 4 {
            (v as u32).to_le_bytes().to_vec()
        } else {
            v.to_le_bytes().to_vec()
        }
    }

    /// A kernel record with the builder's header kind (pid/tid dropped for PERFINFO).
    pub fn kernel(&mut self, cpu: u16, hook: u16, pid: u32, tid: u32, ts: u64, payload: &[u8]) {
        self.kernel_as(self.kind, cpu, hook, pid, tid, ts, payload)
    }

    pub fn kernel_as(
        &mut self,
        kind: Kind,
        cpu: u16,
        hook: u16,
        pid: u32,
        tid: u32,
        ts: u64,
        payload: &[u8],
    ) {
        let p64 = self.ptr == 8;
        let (htype, hdr) = match kind {
            Kind::System => (if p64 { 2 } else { 1 }, 0x20),
            Kind::Compact => (if p64 { 4 } else { 3 }, 0x18),
            Kind::PerfInfo => (if p64 { 0x11 } else { 0x10 }, 0x10),
        };
        let size = hdr + payload.len();
        let mut b = Vec::with_capacity(size);
        b.extend_from_slice(&2u16.to_le_bytes());
        b.push(htype);
        b.push(0xC0);
        b.extend_from_slice(&(size as u16).to_le_bytes());
        b.extend_from_slice(&hook.to_le_bytes());
        if kind == Kind::PerfInfo {
            b.extend_from_slice(&(HEADER_TS + ts).to_le_bytes());
        } else {
            b.extend_from_slice(&tid.to_le_bytes());
            b.extend_from_slice(&pid.to_le_bytes());
            b.extend_from_slice(&(HEADER_TS + ts).to_le_bytes());
            if kind == Kind::System {
                b.extend_from_slice(&[0; 8]);
            }
        }
        b.extend_from_slice(payload);
        self.push(cpu, b);
    }

    /// An EVENT_HEADER (manifest) record.
    pub fn manifest(
        &mut self,
        cpu: u16,
        guid: [u8; 16],
        id: u16,
        pid: u32,
        tid: u32,
        ts: u64,
        payload: &[u8],
    ) {
        let size = 0x50 + payload.len();
        let mut b = Vec::with_capacity(size);
        b.extend_from_slice(&(size as u16).to_le_bytes());
        b.push(if self.ptr == 8 { 0x13 } else { 0x12 });
        b.push(0xC0);
        b.extend_from_slice(&[0; 4]); // Flags, EventProperty
        b.extend_from_slice(&tid.to_le_bytes());
        b.extend_from_slice(&pid.to_le_bytes());
        b.extend_from_slice(&(HEADER_TS + ts).to_le_bytes());
        b.extend_from_slice(&guid);
        b.extend_from_slice(&id.to_le_bytes());
        b.extend_from_slice(&[0; 14]); // version .. keyword
        b.extend_from_slice(&[0; 24]); // times, activity id
        b.extend_from_slice(payload);
        assert_eq!(b.len(), size);
        self.push(cpu, b);
    }

    fn push(&mut self, cpu: u16, bytes: Vec<u8>) {
        self.cpus = self.cpus.max(cpu + 1);
        self.recs.push(Rec { cpu, bytes });
    }

    // ---- kernel events (research etw.md §3, §4) ----

    pub fn type_dc_start(&mut self, cpu: u16, ts: u64, index: u16, name: &str) {
        let mut p = index.to_le_bytes().to_vec();
        p.extend_from_slice(&[0, 0]);
        p.extend(utf16z(name));
        self.kernel_as(Kind::PerfInfo, cpu, 0x1124, 0, 0, ts, &p);
    }

    fn handle_payload(&self, object: u64, handle: u32, ty: u16, name: &str) -> Vec<u8> {
        let mut p = self.ptr_bytes(object);
        p.extend_from_slice(&handle.to_le_bytes());
        p.extend_from_slice(&ty.to_le_bytes());
        p.extend(utf16z(name));
        p
    }

    #[allow(clippy::too_many_arguments)]
    pub fn create_handle(
        &mut self,
        cpu: u16,
        ts: u64,
        pid: u32,
        tid: u32,
        object: u64,
        handle: u32,
        ty: u16,
    ) {
        let p = self.handle_payload(object, handle, ty, "");
        self.kernel(cpu, 0x1120, pid, tid, ts, &p);
    }

    /// CreateHandle (`close` false) or CloseHandle under a PERFINFO header,
    /// which carries no process or thread id.
    pub fn handle_event_without_pid(
        &mut self,
        close: bool,
        cpu: u16,
        ts: u64,
        object: u64,
        handle: u32,
        ty: u16,
    ) {
        let p = self.handle_payload(object, handle, ty, "");
        let hook = if close { 0x1121 } else { 0x1120 };
        self.kernel_as(Kind::PerfInfo, cpu, hook, 0, 0, ts, &p);
    }

    #[allow(clippy::too_many_arguments)]
    pub fn close_handle(
        &mut self,
        cpu: u16,
        ts: u64,
        pid: u32,
        tid: u32,
        object: u64,
        handle: u32,
        ty: u16,
        name: &str,
    ) {
        let p = self.handle_payload(object, handle, ty, name);
        self.kernel(cpu, 0x1121, pid, tid, ts, &p);
    }

    #[allow(clippy::too_many_arguments)]
    pub fn duplicate_handle(
        &mut self,
        cpu: u16,
        ts: u64,
        pid: u32,
        tid: u32,
        object: u64,
        source: u32,
        target: u32,
        target_pid: u32,
        ty: u16,
    ) {
        let mut p = self.ptr_bytes(object);
        p.extend_from_slice(&source.to_le_bytes());
        p.extend_from_slice(&target.to_le_bytes());
        p.extend_from_slice(&target_pid.to_le_bytes());
        p.extend_from_slice(&ty.to_le_bytes());
        p.extend_from_slice(&pid.to_le_bytes());
        self.kernel(cpu, 0x1122, pid, tid, ts, &p);
    }

    /// HandleDCStart (38) or HandleDCEnd (39): PERFINFO header, pid in the payload.
    #[allow(clippy::too_many_arguments)]
    pub fn handle_rundown(
        &mut self,
        end: bool,
        cpu: u16,
        ts: u64,
        pid: u32,
        object: u64,
        handle: u32,
        ty: u16,
        name: &str,
    ) {
        let mut p = self.ptr_bytes(object);
        p.extend_from_slice(&pid.to_le_bytes());
        p.extend_from_slice(&handle.to_le_bytes());
        p.extend_from_slice(&ty.to_le_bytes());
        p.extend(utf16z(name));
        self.kernel_as(
            Kind::PerfInfo,
            cpu,
            if end { 0x1127 } else { 0x1126 },
            0,
            0,
            ts,
            &p,
        );
    }

    /// Process/End (v3 layout: UniqueProcessKey, ProcessId, ...).
    pub fn process_end(&mut self, cpu: u16, ts: u64, pid: u32) {
        let mut p = self.ptr_bytes(0xffff_f800_0000_1000);
        p.extend_from_slice(&pid.to_le_bytes());
        p.extend_from_slice(&[0; 12]);
        p.extend(b"app.exe\0");
        self.kernel(cpu, 0x0302, pid, 0, ts, &p);
    }

    fn thread_payload(&self, pid: u32, tid: u32) -> Vec<u8> {
        let mut p = pid.to_le_bytes().to_vec();
        p.extend_from_slice(&tid.to_le_bytes());
        for _ in 0..7 {
            p.extend(self.ptr_bytes(0));
        }
        p.extend_from_slice(&[0; 8]);
        p
    }

    /// Thread/Start logged by `creator_tid` of `pid`.
    pub fn thread_start(&mut self, cpu: u16, ts: u64, pid: u32, creator_tid: u32, new_tid: u32) {
        let p = self.thread_payload(pid, new_tid);
        self.kernel(cpu, 0x0501, pid, creator_tid, ts, &p);
    }

    pub fn thread_end(&mut self, cpu: u16, ts: u64, pid: u32, tid: u32) {
        let p = self.thread_payload(pid, tid);
        self.kernel(cpu, 0x0502, pid, tid, ts, &p);
    }

    /// Image/Load (group 3 type 10) of `name` at `base` in `pid`.
    pub fn image_load(&mut self, cpu: u16, ts: u64, pid: u32, base: u64, size: u64, name: &str) {
        let mut p = self.ptr_bytes(base);
        p.extend(self.ptr_bytes(size));
        p.extend_from_slice(&pid.to_le_bytes());
        p.extend_from_slice(&[0; 12]);
        p.extend(self.ptr_bytes(base));
        p.extend_from_slice(&[0; 16]);
        p.extend(utf16z(name));
        self.kernel(cpu, 0x030A, pid, 0, ts, &p);
    }

    /// StackWalk/Stack (32) for the event at `event_ts`; frames innermost first.
    pub fn stack(&mut self, cpu: u16, ts: u64, event_ts: u64, pid: u32, tid: u32, frames: &[u64]) {
        let mut p = (HEADER_TS + event_ts).to_le_bytes().to_vec();
        p.extend_from_slice(&pid.to_le_bytes());
        p.extend_from_slice(&tid.to_le_bytes());
        for &f in frames {
            p.extend(self.ptr_bytes(f));
        }
        self.kernel_as(Kind::PerfInfo, cpu, 0x1820, 0, 0, ts, &p);
    }

    /// StackKeyKernel (37) / StackKeyUser (38) reference.
    #[allow(clippy::too_many_arguments)]
    pub fn stack_key(
        &mut self,
        cpu: u16,
        ts: u64,
        event_ts: u64,
        pid: u32,
        tid: u32,
        key: u64,
        kernel: bool,
    ) {
        let mut p = (HEADER_TS + event_ts).to_le_bytes().to_vec();
        p.extend_from_slice(&pid.to_le_bytes());
        p.extend_from_slice(&tid.to_le_bytes());
        p.extend(self.ptr_bytes(key));
        self.kernel_as(
            Kind::PerfInfo,
            cpu,
            if kernel { 0x1825 } else { 0x1826 },
            0,
            0,
            ts,
            &p,
        );
    }

    /// KeyRundown (36): the frames of a cached stack key.
    pub fn key_rundown(&mut self, cpu: u16, ts: u64, key: u64, frames: &[u64]) {
        let mut p = self.ptr_bytes(key);
        for &f in frames {
            p.extend(self.ptr_bytes(f));
        }
        self.kernel_as(Kind::PerfInfo, cpu, 0x1824, 0, 0, ts, &p);
    }

    pub fn gc(&mut self, cpu: u16, ts: u64, pid: u32, tid: u32, start: bool) {
        self.manifest(cpu, CLR, if start { 1 } else { 2 }, pid, tid, ts, &[0; 16]);
    }

    // ---- file ----

    fn logfile_header(&self, buffers: u32) -> Vec<u8> {
        let ptr = self.ptr;
        let boot = align8(0x38 + 2 * ptr + 0xAC);
        let mut p = vec![0u8; boot + 32];
        let put32 =
            |p: &mut Vec<u8>, at: usize, v: u32| p[at..at + 4].copy_from_slice(&v.to_le_bytes());
        let put64 =
            |p: &mut Vec<u8>, at: usize, v: u64| p[at..at + 8].copy_from_slice(&v.to_le_bytes());
        put32(&mut p, 0, self.buffer_size as u32);
        put32(&mut p, 4, 0x0501_000a);
        put32(&mut p, 8, 19041);
        put32(&mut p, 0x0C, u32::from(self.cpus));
        put64(&mut p, 0x10, START_FILETIME + 600_000_000);
        put32(&mut p, 0x18, 156_250);
        put32(&mut p, 0x20, if self.compressed { 0x0400_0001 } else { 1 });
        put32(&mut p, 0x24, buffers);
        put32(&mut p, 0x28, 1);
        put32(&mut p, 0x2C, ptr as u32);
        put32(&mut p, 0x34, 3000);
        put64(&mut p, boot, START_FILETIME - 36_000_000_000);
        put64(&mut p, boot + 8, PERF_FREQ);
        put64(&mut p, boot + 16, START_FILETIME);
        put32(&mut p, boot + 24, 1);
        p.extend(utf16z("SYNTHETIC handlecheck test"));
        p.extend(utf16z("synthetic.etl"));
        p
    }

    fn buffer(&self, cpu: u16, btype: u16, records: &[&[u8]], compressed: bool) -> Vec<u8> {
        let mut body = Vec::new();
        for r in records {
            body.extend_from_slice(r);
            body.resize(align8(body.len()), 0);
        }
        let filled = 0x48 + body.len();
        let (data, size) = if compressed {
            let c = lz77::compress(&body);
            let n = 0x48 + c.len();
            (c, n)
        } else {
            let n = self.buffer_size.max(filled);
            body.resize(n - 0x48, 0xFF);
            (body, n)
        };
        let mut h = vec![0u8; 0x48];
        h[0..4].copy_from_slice(&(size as u32).to_le_bytes());
        h[4..8].copy_from_slice(&(filled as u32).to_le_bytes());
        h[0x28..0x2A].copy_from_slice(&cpu.to_le_bytes());
        h[0x2C..0x30].copy_from_slice(&3u32.to_le_bytes());
        h[0x30..0x34].copy_from_slice(&(filled as u32).to_le_bytes());
        let mut flags = 0x20u16;
        if compressed {
            flags |= 0x40;
        }
        if self.events_lost_flag && btype != 4 {
            flags |= 0x2;
        }
        h[0x34..0x36].copy_from_slice(&flags.to_le_bytes());
        h[0x36..0x38].copy_from_slice(&btype.to_le_bytes());
        h.extend(data);
        h
    }

    /// The file: header buffer, then the CPUs' buffers from the highest CPU
    /// down (so later-in-time CPU 0 data may come last in the file).
    pub fn build(&self) -> Vec<u8> {
        let cap = self.buffer_size - 0x48;
        let mut per_cpu: Vec<Vec<Vec<&[u8]>>> = vec![Vec::new(); usize::from(self.cpus)];
        for cpu in 0..self.cpus {
            let mut cur: Vec<&[u8]> = Vec::new();
            let mut used = 0;
            for r in self.recs.iter().filter(|r| r.cpu == cpu) {
                let n = align8(r.bytes.len());
                if used + n > cap && !cur.is_empty() {
                    per_cpu[usize::from(cpu)].push(std::mem::take(&mut cur));
                    used = 0;
                }
                cur.push(&r.bytes);
                used += n;
            }
            if !cur.is_empty() {
                per_cpu[usize::from(cpu)].push(cur);
            }
        }
        let count: usize = per_cpu.iter().map(Vec::len).sum();
        let payload = self.logfile_header(count as u32 + 1);
        let mut header_rec = Vec::new();
        let size = 0x20 + payload.len();
        header_rec.extend_from_slice(&2u16.to_le_bytes());
        header_rec.push(if self.ptr == 8 { 2 } else { 1 });
        header_rec.push(0xC0);
        header_rec.extend_from_slice(&(size as u16).to_le_bytes());
        header_rec.extend_from_slice(&0u16.to_le_bytes());
        header_rec.extend_from_slice(&77u32.to_le_bytes());
        header_rec.extend_from_slice(&7u32.to_le_bytes());
        header_rec.extend_from_slice(&HEADER_TS.to_le_bytes());
        header_rec.extend_from_slice(&[0; 8]);
        header_rec.extend(payload);
        let mut out = if self.no_header_record {
            Vec::new()
        } else {
            self.buffer(0, 4, &[&header_rec], false)
        };
        for cpu in (0..self.cpus).rev() {
            for recs in &per_cpu[usize::from(cpu)] {
                out.extend(self.buffer(cpu, 0, recs, self.compressed));
            }
        }
        out
    }
}
