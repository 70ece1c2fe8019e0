//! The streaming lifecycle builder: an [`EventSink`] that turns the event stream
//! into tables of generations.
//!
//! Memory follows live handles, not trace length: a generation that ended
//! cleanly is dropped once its value has been recycled twice (rules only look
//! one generation back), unless something made it notable. Per-site counters
//! keep what the leak rules need about the dropped ones.

mod generations;
mod handlers;
mod held;
mod sweeps;
mod tasks;

use self::sweeps::SweepRun;

use crate::formats::EventSink;
use crate::lifecycle::HandleGraph;
use crate::lifecycle::generation::{
    ExitMark, GenId, Generation, MaybeGen, Provenance, Release, ReleaseHow, SiteId, SiteKey,
    TableId,
};
use crate::lifecycle::sites::SiteStats;
use crate::lifecycle::store::GenStore;
use crate::lifecycle::table::{ExecRecord, Table, Task, ThreadRecord};
use crate::model::{ErrorClass, Event, Handle, Interner, Op, Outcome, ResourceKind, Sym, flags};
use rustc_hash::FxHashMap;

/// Bounds on what one generation or table keeps.
const CAP_EVENTS: usize = 32;

const CAP_SITES: usize = 8;

/// Signal objects opened this many task events before a thread spawn count as
/// made for that thread; same for objects a new thread makes right after it starts.
const THREAD_LINK_WINDOW: u32 = 12;

/// Per table: distinct leak sites keyed by the full folded path, then by
/// directory, then by kind alone; bounds site memory on traces that touch
/// many distinct files.
const SITES_FULL: u32 = 1024;

const SITES_DIR: u32 = 4096;

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Fold {
    Full,
    Directory,
    KindOnly,
}

/// Leak sites of an ended table are kept only with at least this many handles
/// open at exit (lower than any leak rule's threshold).
const SITE_KEEP_MIN: u64 = 2;

/// Entries of the normalised-resource cache before it is emptied.
const NORM_CACHE_MAX: usize = 1 << 16;

/// close_range over more values than this is a sweep, never a double release.
const BOUNDED_RANGE: i64 = 4096;

pub struct LifecycleBuilder<'i> {
    interner: &'i mut Interner,
    next_seq: u64,
    next_gen: u32,
    pub(super) gens: GenStore,
    pub(super) tables: Vec<Table>,
    pub(super) tasks: FxHashMap<u32, Task>,
    pub(super) sites: FxHashMap<SiteKey, SiteStats>,
    /// Every site key a kept generation names, by `SiteId` (generations hold
    /// the number), and the number of each.
    pub(super) site_list: Vec<SiteKey>,
    site_ids: FxHashMap<SiteKey, SiteId>,
    /// Per site number, the generations in the store that name it.
    site_refs: Vec<u32>,
    /// Site numbers no generation names and whose site was pruned: reused.
    free_sites: Vec<SiteId>,
    pub(super) gc_events: Vec<Event>,
    pub(super) rpc_events: Vec<Event>,
    /// Per task: current run of ascending closes (value, run length, anomaly events to mark).
    sweeps: FxHashMap<u32, SweepRun>,
    /// Generations made for each thread (`thread_link`), so that a thread's
    /// exit looks at its own handles instead of every live one.
    thread_linked: FxHashMap<u32, Vec<GenId>>,
    /// Boxes of dropped generations, for the next ones (see `Spares`).
    spares: crate::lifecycle::generation::Spares,
    /// Shapes shared by the generations' open events.
    shapes: crate::lifecycle::generation::Shapes,
    /// Normalised resource cache (raw resource sym → folded sym).
    norm_cache: FxHashMap<(Sym, Fold), Sym>,
    /// Scratch text for `normalise` (kept to avoid an allocation per fold).
    fold_buf: String,
    /// Events of the reader call in progress (see `with_context`).
    pending: Vec<Event>,
    /// The format records every open (htrace, JSON-lines): a successful close of
    /// a released value is a second release, not a missed open.
    complete_history: bool,
    /// Rundown opens (flag RUNDOWN) list handles that existed before the trace
    /// (ETW DCStart). When false they list handles the program opened and still
    /// holds (`!htrace -diff`, Application Verifier 0x901).
    rundown_preexisting: bool,
    /// What the triage views need (see `keep_history`); `None` by default.
    history: Option<super::history::History>,
}

impl crate::formats::InputProvider for LifecycleBuilder<'_> {
    fn with_input(
        &mut self,
        input: crate::model::InputId,
        stats: &mut crate::formats::ReadStats,
        read: &mut dyn FnMut(&mut crate::formats::ReadContext<'_>),
    ) {
        self.with_context(input, stats, read)
    }

    fn held_offsets(
        &self,
        input: crate::model::InputId,
        range: std::ops::Range<u64>,
        out: &mut Vec<u64>,
    ) -> bool {
        self.held_line_offsets(input, range, out)
    }
}

impl EventSink for LifecycleBuilder<'_> {
    fn event(&mut self, mut event: Event) {
        event.seq = self.next_seq;
        self.next_seq += 1;
        if let Some(h) = self.history.as_mut() {
            h.event(&event);
        }
        self.apply(&event);
        if self.history.is_some() {
            let table = self.tasks.get(&event.tid).map(|t| t.table);
            let pid = table.map(|t| self.tables[t.0 as usize].pid);
            if let Some(h) = self.history.as_mut() {
                h.applied(&event, pid);
            }
        }
    }
}

impl<'i> LifecycleBuilder<'i> {
    pub fn new(interner: &'i mut Interner) -> LifecycleBuilder<'i> {
        LifecycleBuilder {
            interner,
            next_seq: 0,
            next_gen: 0,
            gens: GenStore::default(),
            tables: Vec::new(),
            tasks: FxHashMap::default(),
            sites: FxHashMap::default(),
            site_list: Vec::new(),
            site_ids: FxHashMap::default(),
            site_refs: Vec::new(),
            free_sites: Vec::new(),
            gc_events: Vec::new(),
            rpc_events: Vec::new(),
            sweeps: FxHashMap::default(),
            thread_linked: FxHashMap::default(),
            spares: Default::default(),
            shapes: Default::default(),
            norm_cache: FxHashMap::default(),
            fold_buf: String::new(),
            pending: Vec::new(),
            complete_history: false,
            rundown_preexisting: true,
            history: None,
        }
    }

    /// Also collect what the triage views read (per-type counters and series,
    /// and the events of the filter's value): `HandleGraph::history`.
    pub fn keep_history(&mut self, filter: super::history::HistoryFilter) {
        self.history = Some(super::history::History::new(filter));
    }

    /// See `rundown_preexisting`.
    pub fn set_rundown_preexisting(&mut self, yes: bool) {
        self.rundown_preexisting = yes;
    }

    /// See `complete_history`: set for formats that record every open.
    pub fn set_complete_history(&mut self, yes: bool) {
        self.complete_history = yes;
    }

    /// Lends a reader the interner and a sink at once: the reader's events are
    /// collected for the duration of `f`, then applied in order.
    pub fn with_context<R>(
        &mut self,
        input: crate::model::InputId,
        stats: &mut crate::formats::ReadStats,
        f: impl FnOnce(&mut crate::formats::ReadContext<'_>) -> R,
    ) -> R {
        let mut pending = std::mem::take(&mut self.pending);
        let result = {
            let mut ctx = crate::formats::ReadContext {
                input,
                interner: &mut *self.interner,
                sink: &mut pending,
                stats,
            };
            f(&mut ctx)
        };
        for ev in pending.drain(..) {
            self.event(ev);
        }
        self.pending = pending;
        result
    }

    pub fn interner(&mut self) -> &mut Interner {
        self.interner
    }

    /// Ends the stream: tables still in use end at the last event.
    pub fn finish(mut self) -> HandleGraph {
        let open_tables: Vec<TableId> = self
            .tables
            .iter()
            .filter(|t| t.ended.is_none())
            .map(|t| t.id)
            .collect();
        for table in open_tables {
            self.end_table(table, None);
        }
        let mut graph = HandleGraph::build(
            self.gens,
            self.tables,
            self.sites,
            self.site_list,
            self.gc_events,
            self.rpc_events,
        );
        graph.attribute_ownership(self.interner);
        graph.history = self.history;
        graph
    }

    fn apply(&mut self, ev: &Event) {
        match ev.op {
            Op::Alias { real } => {
                if let Some(task) = self.tasks.get(&ev.tid).cloned() {
                    self.tasks.insert(real, task);
                    if let Some(t) = self.tasks.get_mut(&ev.tid) {
                        t.alive = false;
                    }
                }
                return;
            }
            Op::GcStart | Op::GcEnd => {
                // A collection is the process going on (HC005).
                let table = self
                    .tasks
                    .get(&ev.tid)
                    .filter(|t| t.alive)
                    .map(|t| t.table)
                    .or_else(|| {
                        self.tables
                            .iter()
                            .rev()
                            .find(|t| t.pid == ev.pid && t.ended.is_none())
                            .map(|t| t.id)
                    });
                if let Some(table) = table {
                    self.process_went_on(table);
                }
                self.gc_events.push(*ev);
                return;
            }
            Op::Rpc(_) => {
                self.rpc_events.push(*ev);
                return;
            }
            Op::ProcessExit => {
                let tids: Vec<u32> = self
                    .tasks
                    .iter()
                    .filter(|(_, t)| t.alive && t.tgid == ev.pid)
                    .map(|(tid, _)| *tid)
                    .collect();
                let mut tids = tids;
                tids.sort_unstable();
                for tid in tids {
                    self.detach_task(tid, ev);
                }
                // A process we only knew by pid (ETW) may have no task record.
                return;
            }
            Op::TaskExit => {
                self.detach_task(ev.tid, ev);
                return;
            }
            _ => {}
        }
        let table = self.task(ev.tid, ev.pid);
        if !matches!(ev.outcome, Outcome::Unknown)
            && !self.tables[table.0 as usize]
                .threads_ended_pending
                .is_empty()
        {
            // A call that returned after a thread ended: the process went on
            // without it. (`= ?` completions and calls still in flight are what
            // a process-wide exit leaves behind; they do not count.)
            self.process_went_on(table);
        }
        match ev.op {
            Op::Spawn {
                child,
                shares_table,
                thread,
            } => self.on_spawn(table, ev, child, shares_table, thread),
            Op::Exec => self.on_exec(ev),
            Op::Unshare => {
                self.copy_table_for(ev.tid, ev.pid, ev);
            }
            Op::Open { cloexec } | Op::Receive { cloexec } => {
                if ev.outcome.is_ok() && ev.handle >= 0 {
                    let prov = if matches!(ev.op, Op::Receive { .. }) {
                        Provenance::Received
                    } else {
                        Provenance::Opened
                    };
                    if ev.has(flags::RUNDOWN) && self.rundown_preexisting {
                        self.table(table).seeded = true;
                        self.new_generation(
                            table,
                            ev.handle,
                            Provenance::PreExisting,
                            Some(*ev),
                            ev.kind,
                            ev.resource,
                        );
                    } else {
                        if ev.kind == ResourceKind::Directory && self.is_fd_listing(ev) {
                            self.fd_listing_opened(ev);
                        }
                        self.created(table, ev, prov, cloexec);
                    }
                } else if ev.outcome.failed_class() == Some(ErrorClass::TableFull) {
                    let t = self.table(table);
                    let live = t.live.len();
                    t.table_full.push((*ev, live), CAP_EVENTS);
                }
            }
            Op::Dup {
                source,
                cloexec,
                replaces,
                source_pid,
            } => self.on_dup(table, ev, source, cloexec, replaces, source_pid),
            Op::Close => self.on_close(table, ev),
            Op::CloseRange { last, cloexec_only } => {
                self.on_close_range(table, ev, last, cloexec_only)
            }
            Op::Use | Op::Probe => self.on_use(table, ev),
            Op::Begin => {
                let gen_ = self.tables[table.0 as usize].live.get(&ev.handle).copied();
                let t = self.table(table);
                t.in_flight.retain(|(tid, _, _)| *tid != ev.tid);
                // Most tables have one call in flight at a time: room for one,
                // not the four a first push reserves (many short processes).
                t.in_flight.reserve_exact(1);
                t.in_flight.push((ev.tid, *ev, gen_));
            }
            Op::SetCloexec(on) => {
                if let Some(g) = self.tables[table.0 as usize].live.get(&ev.handle).copied()
                    && let Some(g) = self.gens.get_mut(&g)
                {
                    g.cloexec = on;
                    if !on && ev.outcome.is_ok() {
                        g.made_inheritable = true;
                    }
                }
            }
            _ => {}
        }
    }
}
