//! `.etl` → [`Event`]s in time order.
//!
//! 1. Buffers are decoded in parallel ([`scan`]); only the records handlecheck
//!    uses are kept.
//! 2. They are sorted by (timestamp, buffer index, record index): per-CPU
//!    streams interleave in the file, so file order is not time order; the
//!    tie-break makes the result deterministic.
//! 3. Object type names (TypeDCStart/End) and cached stack definitions
//!    (KeyCreate/KeyDelete/KeyRundown, which may come after their use) are
//!    collected first; stack fragments are indexed by the timestamp of the
//!    event they belong to (StackWalk `EventTimeStamp`).
//! 4. One pass in time order keeps the per-process module map (Image events)
//!    and emits events, each with the stack whose `EventTimeStamp` equals its
//!    timestamp on the same thread.
//!
//! HandleDCEnd (rundown at stop) emits nothing: it only bumps the
//! `etl handles open at stop (HandleDCEnd)` counter. Handles still open at the
//! end are visible to the lifecycle builder anyway.

use std::collections::{BTreeMap, HashMap};

use rayon::slice::ParallelSliceMut;

use super::container::Layout;
use super::kernel::{self, Decoded, LogfileHeader, owner_pid};
use super::scan::{self, Item, ScanOptions};
use super::stats::{damage_reason, lost_counts};
use super::{check_input, names};
use crate::formats::{InputError, ReadContext};
use crate::model::{Event, Handle, Op, Origin, ResourceKind, StackId, Sym, flags};

/// Reads an `.etl` file and sends its handle-relevant events, in time order,
/// to `ctx.sink`. Damaged buffers are skipped and counted (`damaged buffer`,
/// at = buffer file offset); lost-event reports go to `ctx.stats.lost`.
pub fn read(bytes: &[u8], path: &str, ctx: &mut ReadContext<'_>) -> Result<(), InputError> {
    let layout = check_input(bytes, path)?;
    let header = scan::find_logfile(bytes, &layout);
    let opts = ScanOptions {
        count_events: false,
        decode_items: true,
        max_inflated: scan::max_inflated(header.as_ref()),
    };
    let scans = scan::scan_all(bytes, &layout, opts);

    account(&layout, header.as_ref(), &scans, ctx);

    // Record numbers: 1-based over every record in file order.
    let mut first_record = Vec::with_capacity(scans.len());
    let mut total = 0u64;
    for s in &scans {
        first_record.push(total);
        total += u64::from(s.records);
    }
    ctx.stats.units += total;

    let mut items: Vec<Item> = scans.into_iter().flat_map(|s| s.items).collect();
    items.par_sort_unstable_by_key(|i| (i.ts, i.buffer, i.index));
    if !items.iter().any(|i| is_handle_event(&i.decoded)) {
        ctx.stats.notice(NO_HANDLE_EVENTS);
    }

    let mut emitter = Emitter::new(header, first_record, ctx);
    emitter.prepare(&mut items);
    for item in &items {
        emitter.emit(item);
    }
    Ok(())
}

/// Said when a trace has no Object (handle) events at all.
pub const NO_HANDLE_EVENTS: &str = "this trace has no handle events (kernel Object CreateHandle/CloseHandle/DuplicateHandle): handle lifecycles cannot be checked from it. Record them with `wpr -start Handle` (then `wpr -stop trace.etl`), or with xperf: `xperf -on PROC_THREAD+LOADER+OB_HANDLE -stackwalk HandleCreate+HandleClose+HandleDuplicate` (the stack walks name the code that opened and closed each handle)";

fn is_handle_event(d: &Decoded) -> bool {
    matches!(
        d,
        Decoded::CreateHandle { .. }
            | Decoded::CloseHandle { .. }
            | Decoded::DuplicateHandle { .. }
            | Decoded::HandleRundown { .. }
    )
}

fn account(
    layout: &Layout,
    header: Option<&LogfileHeader>,
    scans: &[scan::BufferScan],
    ctx: &mut ReadContext<'_>,
) {
    for (info, s) in layout.buffers.iter().zip(scans) {
        if let Some(d) = s.damage {
            ctx.stats.skip(
                crate::formats::SkipReason::EtlDamagedBuffer,
                info.offset as u64,
            );
            ctx.stats
                .bump(&format!("etl damaged buffers: {}", damage_reason(d)), 1);
        }
        if s.bad_record {
            ctx.stats.skip(
                crate::formats::SkipReason::EtlDamagedRecord,
                info.offset as u64,
            );
        }
    }
    for &at in layout.skipped_headers.iter().chain(&layout.broken_at) {
        ctx.stats.skip(
            crate::formats::SkipReason::EtlUnreadableBufferHeader,
            at as u64,
        );
    }
    if layout.buffers.last().is_some_and(|b| b.truncated) {
        ctx.stats.bump("etl truncated last buffer", 1);
    }
    if header.is_none() {
        ctx.stats
            .skip(crate::formats::SkipReason::EtlMissingHeader, 0);
    }
    for (k, n) in lost_counts(header, layout) {
        *ctx.stats.lost.entry(k).or_insert(0) += n;
    }
    ctx.stats.bump("etl buffers", layout.buffers.len() as u64);
    ctx.stats.bump(
        "etl compressed buffers",
        layout.buffers.iter().filter(|b| b.compressed()).count() as u64,
    );
}

/// A piece of a stack: inline frames or a cached key.
enum Frames {
    Inline(Box<[u64]>),
    Key(u64),
}

struct Fragment {
    tid: u32,
    pid: u32,
    kernel: bool,
    ptr_size: usize,
    frames: Frames,
}

/// A loaded module: end address and interned basename.
type ModuleMap = BTreeMap<u64, (u64, Sym)>;

struct Emitter<'c, 'a> {
    ctx: &'c mut ReadContext<'a>,
    header: Option<LogfileHeader>,
    first_record: Vec<u64>,
    types: HashMap<u16, (ResourceKind, Sym)>,
    key_defs: HashMap<u64, Box<[u64]>>,
    /// Stack fragments by the timestamp of the event they belong to.
    stacks: HashMap<u64, Vec<Fragment>>,
    modules: HashMap<u32, ModuleMap>,
    frame_cache: HashMap<(u32, u64), Sym>,
    calls: Calls,
}

/// Interned call names.
struct Calls {
    create: Sym,
    close: Sym,
    duplicate: Sym,
    rundown: Sym,
    process_end: Sym,
    thread_start: Sym,
    thread_end: Sym,
    gc_start: Sym,
    gc_end: Sym,
}

impl<'c, 'a> Emitter<'c, 'a> {
    fn new(
        header: Option<LogfileHeader>,
        first_record: Vec<u64>,
        ctx: &'c mut ReadContext<'a>,
    ) -> Self {
        let i = &mut *ctx.interner;
        let calls = Calls {
            create: i.intern(&names::event_name(super::headers::EventKey::Hook(
                kernel::hook::CREATE_HANDLE,
            ))),
            close: i.intern(&names::event_name(super::headers::EventKey::Hook(
                kernel::hook::CLOSE_HANDLE,
            ))),
            duplicate: i.intern(&names::event_name(super::headers::EventKey::Hook(
                kernel::hook::DUPLICATE_HANDLE,
            ))),
            rundown: i.intern(&names::event_name(super::headers::EventKey::Hook(
                kernel::hook::HANDLE_DC_START,
            ))),
            process_end: i.intern("Process/Stop"),
            thread_start: i.intern("Thread/Start"),
            thread_end: i.intern("Thread/Stop"),
            gc_start: i.intern("GC/Start"),
            gc_end: i.intern("GC/Stop"),
        };
        Emitter {
            ctx,
            header,
            first_record,
            types: HashMap::new(),
            key_defs: HashMap::new(),
            stacks: HashMap::new(),
            modules: HashMap::new(),
            frame_cache: HashMap::new(),
            calls,
        }
    }

    /// Collects type names, stack key definitions and stack fragments (moving
    /// the frames out of the items).
    fn prepare(&mut self, items: &mut [Item]) {
        for item in items.iter_mut() {
            let ptr_size = usize::from(item.ptr_size);
            match &mut item.decoded {
                Decoded::TypeName { index, name } => {
                    let kind = ResourceKind::from_windows_type(name);
                    let sym = self.ctx.interner.intern(name);
                    self.types.entry(*index).or_insert((kind, sym));
                }
                Decoded::StackKeyDef { key, frames } => {
                    self.key_defs
                        .entry(*key)
                        .or_insert_with(|| std::mem::take(frames));
                }
                Decoded::Stack {
                    event_ts,
                    pid,
                    tid,
                    frames,
                } => {
                    let kernel = frames
                        .last()
                        .is_some_and(|&a| kernel::is_kernel_address(a, ptr_size));
                    let frames = Frames::Inline(std::mem::take(frames));
                    self.stacks.entry(*event_ts).or_default().push(Fragment {
                        tid: *tid,
                        pid: *pid,
                        kernel,
                        ptr_size,
                        frames,
                    });
                }
                Decoded::StackRef {
                    event_ts,
                    pid,
                    tid,
                    key,
                    kernel,
                } => {
                    self.stacks.entry(*event_ts).or_default().push(Fragment {
                        tid: *tid,
                        pid: *pid,
                        kernel: *kernel,
                        ptr_size,
                        frames: Frames::Key(*key),
                    });
                }
                _ => {}
            }
        }
    }

    fn origin(&self, item: &Item) -> Origin {
        let first = self
            .first_record
            .get(item.buffer as usize)
            .copied()
            .unwrap_or(0);
        let record = u32::try_from(first + u64::from(item.index) + 1).unwrap_or(u32::MAX);
        Origin::record(self.ctx.input, record, item.offset)
    }

    fn event(&self, item: &Item, op: Op, call: Sym, pid: u32, tid: u32, handle: Handle) -> Event {
        let mut ev = Event::new(op, call, self.origin(item));
        ev.time = self.header.as_ref().and_then(|h| h.unix_ns(item.ts));
        ev.pid = pid;
        ev.tid = tid;
        ev.handle = handle;
        ev
    }

    fn object_type(&self, index: u16) -> ResourceKind {
        self.types
            .get(&index)
            .map_or(ResourceKind::Unknown, |t| t.0)
    }

    fn send(&mut self, ev: Event) {
        self.ctx.stats.events += 1;
        self.ctx.sink.event(ev);
    }

    fn emit(&mut self, item: &Item) {
        let hdr_tid = item.tid.unwrap_or(0);
        match &item.decoded {
            Decoded::CreateHandle {
                handle,
                object_type,
                name,
                ..
            }
            | Decoded::CloseHandle {
                handle,
                object_type,
                name,
                ..
            } => {
                let Some(hpid) = item.pid.or(if handle & kernel::KERNEL_HANDLE_BIT != 0 {
                    Some(4)
                } else {
                    None
                }) else {
                    let at = u64::from(self.origin(item).record);
                    self.ctx
                        .stats
                        .skip(crate::formats::SkipReason::EtlNoProcessId, at);
                    return;
                };
                let (op, call) = if matches!(item.decoded, Decoded::CreateHandle { .. }) {
                    (Op::Open { cloexec: false }, self.calls.create)
                } else {
                    (Op::Close, self.calls.close)
                };
                let mut ev = self.event(
                    item,
                    op,
                    call,
                    owner_pid(*handle, hpid),
                    hdr_tid,
                    Handle::from(*handle),
                );
                ev.kind = self.object_type(*object_type);
                ev.resource = name.as_deref().map(|n| self.ctx.interner.intern(n));
                ev.stack = self.stack_for(item);
                self.send(ev);
            }
            Decoded::DuplicateHandle {
                source,
                target,
                target_pid,
                object_type,
                source_pid,
                ..
            } => {
                let op = Op::Dup {
                    source: Handle::from(*source),
                    cloexec: false,
                    replaces: false,
                    source_pid: Some(owner_pid(*source, *source_pid)),
                };
                let mut ev = self.event(
                    item,
                    op,
                    self.calls.duplicate,
                    owner_pid(*target, *target_pid),
                    hdr_tid,
                    Handle::from(*target),
                );
                ev.kind = self.object_type(*object_type);
                ev.stack = self.stack_for(item);
                self.send(ev);
            }
            Decoded::HandleRundown {
                end: false,
                pid,
                handle,
                object_type,
                name,
                ..
            } => {
                let mut ev = self.event(
                    item,
                    Op::Open { cloexec: false },
                    self.calls.rundown,
                    owner_pid(*handle, *pid),
                    0,
                    Handle::from(*handle),
                );
                ev.flags |= flags::RUNDOWN;
                ev.kind = self.object_type(*object_type);
                ev.resource = name.as_deref().map(|n| self.ctx.interner.intern(n));
                self.send(ev);
            }
            Decoded::HandleRundown { end: true, .. } => {
                self.ctx
                    .stats
                    .bump("etl handles open at stop (HandleDCEnd)", 1);
            }
            Decoded::ProcessEnd { pid } => {
                let ev = self.event(item, Op::ProcessExit, self.calls.process_end, *pid, 0, -1);
                self.send(ev);
            }
            Decoded::ThreadStart { pid, tid } => {
                // Logged in the context of the creating thread when it is in the same process.
                let creator = match (item.pid, item.tid) {
                    (Some(hp), Some(ht)) if hp == *pid && ht != *tid => ht,
                    _ => 0,
                };
                let op = Op::Spawn {
                    child: *tid,
                    shares_table: true,
                    thread: true,
                };
                let mut ev = self.event(item, op, self.calls.thread_start, *pid, creator, -1);
                ev.stack = self.stack_for(item);
                self.send(ev);
            }
            Decoded::ThreadEnd { pid, tid } => {
                let ev = self.event(item, Op::TaskExit, self.calls.thread_end, *pid, *tid, -1);
                self.send(ev);
            }
            Decoded::GcStart | Decoded::GcEnd => {
                let (op, call) = if matches!(item.decoded, Decoded::GcStart) {
                    (Op::GcStart, self.calls.gc_start)
                } else {
                    (Op::GcEnd, self.calls.gc_end)
                };
                let ev = self.event(item, op, call, item.pid.unwrap_or(0), hdr_tid, -1);
                self.send(ev);
            }
            Decoded::ImageLoad {
                pid,
                base,
                size,
                name,
            } => {
                let module = name.rsplit(['\\', '/']).next().unwrap_or(name);
                self.ctx.stats.bump("etl modules mapped (Image events)", 1);
                let sym = self.ctx.interner.intern(module);
                let end = base.saturating_add((*size).max(1));
                self.modules
                    .entry(*pid)
                    .or_default()
                    .insert(*base, (end, sym));
                self.frame_cache.clear();
            }
            Decoded::ImageUnload { pid, base } => {
                if let Some(m) = self.modules.get_mut(pid) {
                    m.remove(base);
                }
                self.frame_cache.clear();
            }
            Decoded::TypeName { .. }
            | Decoded::Stack { .. }
            | Decoded::StackRef { .. }
            | Decoded::StackKeyDef { .. } => {}
        }
    }

    /// The stack of the event at `item`: fragments with the same timestamp on
    /// the same thread (any thread when the event header has none), kernel
    /// part first, innermost frame first.
    fn stack_for(&mut self, item: &Item) -> Option<StackId> {
        let frags = self.stacks.get(&item.ts)?;
        let tid = item.tid.or_else(|| frags.first().map(|f| f.tid))?;
        let mut addrs: Vec<(u64, u32, usize)> = Vec::new();
        for kernel_part in [true, false] {
            for f in frags
                .iter()
                .filter(|f| f.tid == tid && f.kernel == kernel_part)
            {
                let frames: &[u64] = match &f.frames {
                    Frames::Inline(v) => v,
                    Frames::Key(k) => match self.key_defs.get(k) {
                        Some(v) => v,
                        None => continue,
                    },
                };
                addrs.extend(frames.iter().map(|&a| (a, f.pid, f.ptr_size)));
            }
        }
        if addrs.is_empty() {
            return None;
        }
        let syms: Vec<Sym> = addrs
            .iter()
            .map(|&(a, pid, ptr)| self.frame(a, pid, ptr))
            .collect();
        Some(self.ctx.interner.intern_stack(&syms))
    }

    /// `module+0xoffset` for an address, `0xADDR` when no module covers it.
    fn frame(&mut self, addr: u64, pid: u32, ptr: usize) -> Sym {
        let map_pid = if kernel::is_kernel_address(addr, ptr) {
            0
        } else {
            pid
        };
        if let Some(&s) = self.frame_cache.get(&(map_pid, addr)) {
            return s;
        }
        let lookup = |m: Option<&ModuleMap>| {
            m.and_then(|m| m.range(..=addr).next_back())
                .filter(|(_, (end, _))| addr < *end)
                .map(|(b, (_, s))| (*b, *s))
        };
        let found = if map_pid == 0 {
            lookup(self.modules.get(&0)).or_else(|| lookup(self.modules.get(&kernel::SYSTEM_PID)))
        } else {
            lookup(self.modules.get(&pid))
        };
        let text = match found {
            Some((base, module)) => {
                format!("{}+0x{:x}", self.ctx.interner.resolve(module), addr - base)
            }
            None => format!("0x{addr:x}"),
        };
        let sym = self.ctx.interner.intern(&text);
        self.frame_cache.insert((map_pid, addr), sym);
        sym
    }
}
