//! The streaming lifecycle builder: an [`EventSink`] that turns the event stream
//! into tables of generations.
//!
//! Memory follows live handles, not trace length: a generation that ended
//! cleanly is dropped once its value has been recycled twice (rules only look
//! one generation back), unless something made it notable. Per-site counters
//! keep what the leak rules need about the dropped ones.

use rustc_hash::FxHashMap;

use super::HandleGraph;
use super::generation::{
    Capped, GenId, Generation, Provenance, Release, ReleaseHow, SiteKey, TableId,
};
use super::sites::SiteStats;
use super::table::{ExecRecord, Table, Task, ThreadRecord};
use crate::formats::EventSink;
use crate::model::{ErrorClass, Event, Handle, Interner, Op, Outcome, ResourceKind, Sym, flags};

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

#[derive(Clone, Copy, PartialEq, Eq)]
enum Fold {
    Full,
    Directory,
    KindOnly,
}

/// Leak sites of an ended table are kept only with at least this many handles
/// open at exit (lower than any leak rule's threshold).
const SITE_KEEP_MIN: u64 = 2;

/// close_range over more values than this is a sweep, never a double release.
const BOUNDED_RANGE: i64 = 4096;

pub struct LifecycleBuilder<'i> {
    interner: &'i mut Interner,
    next_seq: u64,
    next_gen: u32,
    pub(super) gens: FxHashMap<GenId, Generation>,
    pub(super) tables: Vec<Table>,
    pub(super) tasks: FxHashMap<u32, Task>,
    pub(super) sites: FxHashMap<SiteKey, SiteStats>,
    /// The site keys of each table, so pruning an ended table visits its own
    /// sites only (not every site of every table: quadratic in tables).
    sites_of: FxHashMap<TableId, Vec<SiteKey>>,
    /// Generations by the thread they were made for (`thread_link`), so a
    /// thread's exit visits its own handles only, not every live one.
    linked_to_thread: FxHashMap<u32, Vec<GenId>>,
    pub(super) gc_events: Vec<Event>,
    pub(super) rpc_events: Vec<Event>,
    /// Per task: current run of ascending closes (value, run length, anomaly events to mark).
    sweeps: FxHashMap<u32, SweepRun>,
    /// Normalised resource cache (raw resource sym → folded sym).
    norm_cache: FxHashMap<Sym, Sym>,
    /// Events of the reader call in progress (see `with_context`).
    pending: Vec<Event>,
    /// The format records every open (htrace, JSON-lines): a successful close of
    /// a released value is a second release, not a missed open.
    complete_history: bool,
    /// Rundown opens (flag RUNDOWN) list handles that existed before the trace
    /// (ETW DCStart). When false they list handles the program opened and still
    /// holds (`!htrace -diff`, Application Verifier 0x901).
    rundown_preexisting: bool,
}

#[derive(Default)]
struct SweepRun {
    last_value: i64,
    last_seen: u32,
    length: u32,
    /// Anomalies recorded for the first members of the run, to mark once it is a sweep.
    pending: Vec<AnomalyRef>,
}

#[derive(Clone, Copy)]
enum AnomalyRef {
    NeverValid(TableId, usize),
    AfterRelease(GenId, usize),
}

impl<'i> LifecycleBuilder<'i> {
    pub fn new(interner: &'i mut Interner) -> LifecycleBuilder<'i> {
        LifecycleBuilder {
            interner,
            next_seq: 0,
            next_gen: 0,
            gens: FxHashMap::default(),
            tables: Vec::new(),
            tasks: FxHashMap::default(),
            sites: FxHashMap::default(),
            sites_of: FxHashMap::default(),
            linked_to_thread: FxHashMap::default(),
            gc_events: Vec::new(),
            rpc_events: Vec::new(),
            sweeps: FxHashMap::default(),
            norm_cache: FxHashMap::default(),
            pending: Vec::new(),
            complete_history: false,
            rundown_preexisting: true,
        }
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
        HandleGraph::build(
            self.gens,
            self.tables,
            self.sites,
            self.gc_events,
            self.rpc_events,
        )
    }

    // ----- tasks and tables -------------------------------------------------

    fn new_table(&mut self, pid: u32) -> TableId {
        let id = TableId(self.tables.len() as u32);
        self.tables.push(Table::new(id, pid));
        id
    }

    fn table(&mut self, id: TableId) -> &mut Table {
        &mut self.tables[id.0 as usize]
    }

    /// The task for `tid`, created (with a fresh table) if the trace never introduced it.
    fn task(&mut self, tid: u32, pid: u32) -> TableId {
        if let Some(task) = self.tasks.get_mut(&tid) {
            task.events_seen = task.events_seen.saturating_add(1);
            if task.alive {
                return task.table;
            }
            // A dead task speaking again: a recycled tid. Give it a fresh table.
        }
        // A thread we were not told about, of a process we know (Windows
        // formats give pid and tid): it uses its process's table.
        if pid != 0
            && pid != tid
            && let Some(t) = self
                .tables
                .iter()
                .rev()
                .find(|t| t.pid == pid && t.ended.is_none())
        {
            let table = t.id;
            self.attach_task(tid, pid, table, None);
            return table;
        }
        let table = self.new_table(if pid != 0 { pid } else { tid });
        self.attach_task(tid, if pid != 0 { pid } else { tid }, table, None);
        table
    }

    fn attach_task(&mut self, tid: u32, tgid: u32, table: TableId, thread_index: Option<usize>) {
        let t = self.table(table);
        t.sharers += 1;
        t.tasks_seen += 1;
        self.tasks.insert(
            tid,
            Task {
                table,
                tgid,
                alive: true,
                events_seen: 1,
                thread_index,
                recent_signal_opens: Vec::new(),
                pending_close: None,
                last_close: None,
            },
        );
    }

    fn detach_task(&mut self, tid: u32, event: &Event) {
        let Some(task) = self.tasks.get_mut(&tid) else {
            return;
        };
        if !task.alive {
            return;
        }
        task.alive = false;
        let table = task.table;
        let thread_index = task.thread_index;
        if let Some(idx) = thread_index {
            if let Some(rec) = self.table(table).threads.get_mut(idx) {
                rec.exit = Some(*event);
            }
            // Handles made for this thread that are still open outlive it.
            let linked = self.linked_to_thread.remove(&tid).unwrap_or_default();
            for g in linked {
                let handle = match self.gens.get(&g) {
                    Some(gen_) => gen_.handle,
                    None => continue,
                };
                if self.tables[table.0 as usize].live.get(&handle) != Some(&g) {
                    continue;
                }
                if let Some(gen_) = self.gens.get_mut(&g)
                    && gen_.thread_link == Some(tid)
                    && gen_.outlived_thread.is_none()
                {
                    gen_.outlived_thread = Some(*event);
                    gen_.notable = true;
                }
            }
        }
        let t = self.table(table);
        t.in_flight.retain(|(ftid, _, _)| *ftid != tid);
        t.sharers = t.sharers.saturating_sub(1);
        if t.sharers == 0 {
            self.end_table(table, Some(*event));
        }
    }

    fn end_table(&mut self, table: TableId, event: Option<Event>) {
        let live: Vec<GenId> = {
            let t = self.table(table);
            if t.ended.is_some() {
                return;
            }
            t.ended = event.or(Some(Event::new(
                Op::ProcessExit,
                Sym(0),
                Default::default(),
            )));
            t.live.values().copied().collect()
        };
        let end = self.tables[table.0 as usize].ended;
        for g in live {
            if let Some(gen_) = self.gens.get_mut(&g) {
                gen_.open_at_exit = end;
                if let Some(site) = gen_.site
                    && let Some(s) = self.sites.get_mut(&site)
                {
                    s.open_at_exit += 1;
                }
            }
        }
        self.table(table).live.clear();
        self.prune_ended_table(table);
    }

    /// Marks every generation `id` was inherited from as notable.
    fn mark_origin_chain(&mut self, id: GenId) {
        let mut cur = id;
        for _ in 0..64 {
            let Some(g) = self.gens.get_mut(&cur) else {
                return;
            };
            g.notable = true;
            match g.provenance {
                Provenance::Inherited { from } => cur = from,
                _ => return,
            }
        }
    }

    /// Once a table has ended, nothing new can happen to its generations: drop
    /// those no rule will read (released, not notable, not the predecessor of a
    /// notable one, not open at exit) and the leak sites that ended with fewer
    /// than `SITE_KEEP_MIN` open handles, unless the table filled up.
    fn prune_ended_table(&mut self, table: TableId) {
        let last: Vec<GenId> = std::mem::take(&mut self.tables[table.0 as usize].last)
            .into_values()
            .collect();
        for id in last {
            let (keep_last, prev) = match self.gens.get(&id) {
                Some(g) => (g.notable || g.open_at_exit.is_some(), g.prev),
                None => continue,
            };
            if let Some(p) = prev {
                let keep_prev = keep_last && self.gens.get(&id).is_some_and(|g| g.notable)
                    || self
                        .gens
                        .get(&p)
                        .is_some_and(|g| g.notable || g.open_at_exit.is_some());
                if !keep_prev {
                    self.gens.remove(&p);
                    if let Some(g) = self.gens.get_mut(&id) {
                        g.prev = None;
                    }
                }
            }
            if !keep_last {
                self.gens.remove(&id);
            }
        }
        let keys = self.sites_of.remove(&table).unwrap_or_default();
        if self.tables[table.0 as usize].table_full.is_empty() {
            for k in keys {
                if self
                    .sites
                    .get(&k)
                    .is_some_and(|s| s.open_at_exit < SITE_KEEP_MIN)
                {
                    self.sites.remove(&k);
                }
            }
        }
    }

    /// Gives `tid` a private copy of its table (fork, unshare, exec of a CLONE_FILES partner).
    fn copy_table_for(&mut self, tid: u32, pid: u32, event: &Event) -> TableId {
        let Some(task) = self.tasks.get(&tid) else {
            return self.task(tid, pid);
        };
        let old = task.table;
        let tgid = task.tgid;
        let thread_index = task.thread_index;
        let new = self.new_table(pid);
        let old_program = self.tables[old.0 as usize].program;
        self.table(new).program = old_program;
        let mut live: Vec<(Handle, GenId)> = self.tables[old.0 as usize]
            .live
            .iter()
            .map(|(h, g)| (*h, *g))
            .collect();
        live.sort_unstable();
        for (h, from) in live {
            let Some(src) = self.gens.get(&from) else {
                continue;
            };
            let (kind, resource, cloexec, made, site) = (
                src.kind,
                src.resource,
                src.cloexec,
                src.made_in_trace,
                src.site,
            );
            let mut inherit = *event;
            inherit.handle = h;
            let id = self.new_generation(
                new,
                h,
                Provenance::Inherited { from },
                Some(inherit),
                kind,
                resource,
            );
            if let Some(g) = self.gens.get_mut(&id) {
                g.cloexec = cloexec;
                g.made_in_trace = made;
                g.site = site.map(|mut s| {
                    s.table = new;
                    s
                });
            }
        }
        // Move the task over.
        {
            let t = self.table(old);
            t.sharers = t.sharers.saturating_sub(1);
        }
        let still_used = self.tables[old.0 as usize].sharers;
        self.attach_task(tid, tgid, new, thread_index);
        if still_used == 0 {
            self.end_table(old, Some(*event));
        }
        new
    }

    // ----- generations ------------------------------------------------------

    fn new_generation(
        &mut self,
        table: TableId,
        handle: Handle,
        provenance: Provenance,
        open: Option<Event>,
        kind: ResourceKind,
        resource: Option<Sym>,
    ) -> GenId {
        let id = GenId(self.next_gen);
        self.next_gen += 1;
        let prev = self.tables[table.0 as usize].last.get(&handle).copied();
        // A value still live gets a new generation only if we missed its release.
        if let Some(old) = self.tables[table.0 as usize].live.get(&handle).copied() {
            if let (Some(o), Some(ev)) = (self.gens.get_mut(&old), open) {
                o.release = Some(Release {
                    event: ev,
                    how: ReleaseHow::Superseded,
                });
            }
            self.release_bookkeeping(old);
        }
        let made_in_trace = provenance.made_in_trace(false);
        let gen_ = Generation {
            id,
            table,
            handle,
            provenance,
            open,
            kind,
            resource,
            cloexec: false,
            made_in_trace,
            site: None,
            uses: 0,
            first_use: None,
            last_use: None,
            use_sites: Capped::default(),
            failed_uses: Capped::default(),
            release: None,
            after_release: Capped::default(),
            in_flight_at_release: Capped::default(),
            sharers_at_release: 0,
            prev,
            next: None,
            thread_link: None,
            outlived_thread: None,
            open_at_exit: None,
            stale_use_candidates: Capped::default(),
            notable: false,
        };
        self.gens.insert(id, gen_);
        if let Some(p) = prev {
            if let Some(pg) = self.gens.get_mut(&p) {
                pg.next = Some(id);
            }
            self.prune_behind(p);
        }
        let t = self.table(table);
        t.live.insert(handle, id);
        t.last.insert(handle, id);
        t.peak_live = t.peak_live.max(t.live.len());
        id
    }

    /// Drops the generation before `prev` when neither it nor `prev` is notable.
    fn prune_behind(&mut self, prev: GenId) {
        let Some(p) = self.gens.get(&prev) else {
            return;
        };
        let Some(old) = p.prev else { return };
        let prev_notable = p.notable;
        let Some(o) = self.gens.get(&old) else { return };
        if o.notable || prev_notable || o.is_live() {
            return;
        }
        self.gens.remove(&old);
        if let Some(p) = self.gens.get_mut(&prev) {
            p.prev = None;
        }
    }

    fn site_for(
        &mut self,
        table: TableId,
        ev: &Event,
        kind: ResourceKind,
        resource: Option<Sym>,
    ) -> SiteKey {
        let count = self.tables[table.0 as usize].site_count;
        let level = if count < SITES_FULL {
            Fold::Full
        } else if count < SITES_DIR {
            Fold::Directory
        } else {
            Fold::KindOnly
        };
        let resource = match level {
            Fold::KindOnly => None,
            _ => resource.map(|r| self.normalise(r, level)),
        };
        SiteKey {
            table,
            call: ev.call,
            kind,
            resource,
            stack: ev.stack,
        }
    }

    /// Folds digit runs and socket/pipe inode numbers so that handles from one
    /// site group together (`/tmp/x-123` and `/tmp/x-456` → `/tmp/x-N`).
    fn normalise(&mut self, resource: Sym, level: Fold) -> Sym {
        if level == Fold::Full
            && let Some(n) = self.norm_cache.get(&resource)
        {
            return *n;
        }
        let full = self.interner.resolve(resource);
        let text = match (level, full.rfind('/')) {
            (Fold::Directory, Some(i)) if full.starts_with('/') => &full[..=i],
            _ => full,
        };
        let mut out = String::with_capacity(text.len());
        let mut in_digits = false;
        for c in text.chars() {
            if c.is_ascii_digit() {
                if !in_digits {
                    out.push('N');
                }
                in_digits = true;
            } else {
                in_digits = false;
                out.push(c);
            }
        }
        let sym = self.interner.intern(&out);
        if level == Fold::Full {
            self.norm_cache.insert(resource, sym);
        }
        sym
    }

    fn created(
        &mut self,
        table: TableId,
        ev: &Event,
        provenance: Provenance,
        cloexec: bool,
    ) -> GenId {
        let (kind, resource) = (ev.kind, ev.resource);
        let id = self.new_generation(table, ev.handle, provenance, Some(*ev), kind, resource);
        let site = self.site_for(table, ev, kind, resource);
        let mut new_site = false;
        self.sites
            .entry(site)
            .or_insert_with(|| {
                new_site = true;
                SiteStats::new(*ev)
            })
            .opened(ev);
        if new_site {
            self.table(table).site_count += 1;
            self.sites_of.entry(table).or_default().push(site);
        }
        if let Some(g) = self.gens.get_mut(&id) {
            g.cloexec = cloexec;
            g.site = Some(site);
        }
        // HC005 bookkeeping: signal objects made for a thread.
        if kind.is_signal_object()
            && let Some(task) = self.tasks.get_mut(&ev.tid)
        {
            task.recent_signal_opens.push((id, task.events_seen));
            if task.recent_signal_opens.len() > 4 {
                task.recent_signal_opens.remove(0);
            }
            if let Some(idx) = task.thread_index {
                // A new thread making its own object right after it started.
                if task.events_seen <= THREAD_LINK_WINDOW {
                    let tid = ev.tid;
                    let t = &self.tables[table.0 as usize];
                    if t.threads.get(idx).is_some()
                        && let Some(g) = self.gens.get_mut(&id)
                    {
                        g.thread_link = Some(tid);
                        self.linked_to_thread.entry(tid).or_default().push(id);
                    }
                }
            }
        }
        id
    }

    fn release_bookkeeping(&mut self, id: GenId) {
        let Some(g) = self.gens.get(&id) else { return };
        let (table, handle, site) = (g.table, g.handle, g.site);
        let t = self.table(table);
        if t.live.get(&handle) == Some(&id) {
            t.live.remove(&handle);
        }
        if let Some(site) = site
            && let Some(s) = self.sites.get_mut(&site)
        {
            s.released();
        }
    }

    fn release(&mut self, id: GenId, ev: &Event, how: ReleaseHow) {
        let table = match self.gens.get(&id) {
            Some(g) if g.release.is_none() => g.table,
            _ => return,
        };
        let sharers = self.tables[table.0 as usize].sharers;
        let in_flight: Vec<Event> = self.tables[table.0 as usize]
            .in_flight
            .iter()
            .filter(|(tid, _, g)| *g == Some(id) && *tid != ev.tid)
            .map(|(_, e, _)| *e)
            .collect();
        if let Some(g) = self.gens.get_mut(&id) {
            g.release = Some(Release { event: *ev, how });
            g.sharers_at_release = sharers;
            for e in in_flight {
                g.in_flight_at_release.push(e, CAP_EVENTS);
                g.notable = true;
            }
            if let Outcome::Failed { class, .. } = ev.outcome
                && class != ErrorClass::BadHandle
            {
                g.notable = true;
            }
        }
        self.release_bookkeeping(id);
    }

    /// Records an operation on a value that is not open: after the last
    /// generation's release, or on a value the table never showed.
    fn not_open(&mut self, table: TableId, ev: &Event) -> Option<AnomalyRef> {
        let last = self.tables[table.0 as usize].last.get(&ev.handle).copied();
        if let Some(g) = last.and_then(|id| self.gens.get_mut(&id)) {
            g.after_release.push(*ev, CAP_EVENTS);
            g.notable = true;
            let idx = g.after_release.items.len().checked_sub(1)?;
            Some(AnomalyRef::AfterRelease(g.id, idx))
        } else {
            let t = self.table(table);
            t.never_valid.push(*ev, CAP_EVENTS * 4);
            let idx = t.never_valid.items.len().checked_sub(1)?;
            Some(AnomalyRef::NeverValid(table, idx))
        }
    }

    fn mark_sweep(&mut self, r: AnomalyRef) {
        match r {
            AnomalyRef::NeverValid(t, i) => {
                if let Some(e) = self.tables[t.0 as usize].never_valid.items.get_mut(i) {
                    e.flags |= flags::SWEEP;
                }
            }
            AnomalyRef::AfterRelease(g, i) => {
                if let Some(e) = self
                    .gens
                    .get_mut(&g)
                    .and_then(|g| g.after_release.items.get_mut(i))
                {
                    e.flags |= flags::SWEEP;
                }
            }
        }
    }

    /// Tracks runs of ascending closes by one task; a run of three or more is a
    /// close-all sweep and its failures are marked, not reported.
    fn sweep_step(&mut self, ev: &Event, anomaly: Option<AnomalyRef>) {
        let seen = self.tasks.get(&ev.tid).map(|t| t.events_seen).unwrap_or(0);
        let run = self.sweeps.entry(ev.tid).or_default();
        let ascending = run.length > 0 && ev.handle > run.last_value && seen == run.last_seen + 1;
        if ascending {
            run.length += 1;
        } else {
            run.length = 1;
            run.pending.clear();
        }
        run.last_value = ev.handle;
        run.last_seen = seen;
        if let Some(a) = anomaly {
            run.pending.push(a);
        }
        if run.length >= 3 {
            let pending: Vec<AnomalyRef> = run.pending.drain(..).collect();
            for a in pending {
                self.mark_sweep(a);
            }
        }
    }

    fn record_use(&mut self, id: GenId, ev: &Event) {
        // Same call site (stack) as a use of the previous generation: a stale
        // holder may be back. Only with stacks; no allocation on this path.
        let matches_prev = ev.stack.is_some() && {
            let Some(g) = self.gens.get(&id) else { return };
            match g.prev.and_then(|p| self.gens.get(&p)) {
                Some(p) if g.provenance == Provenance::Opened && p.release.is_some() => p
                    .use_sites
                    .items
                    .iter()
                    .any(|u| u.call == ev.call && u.stack == ev.stack),
                _ => false,
            }
        };
        let Some(g) = self.gens.get_mut(&id) else {
            return;
        };
        g.uses += 1;
        if g.first_use.is_none() {
            g.first_use = Some(*ev);
        }
        g.last_use = Some(*ev);
        let known_site = g
            .use_sites
            .items
            .iter()
            .any(|e| e.call == ev.call && e.stack == ev.stack && e.tid == ev.tid);
        if !known_site {
            g.use_sites.push(*ev, CAP_SITES);
        }
        if let Outcome::Failed { class, .. } = ev.outcome
            && class != ErrorClass::BadHandle
            && class != ErrorClass::Interrupted
        {
            g.failed_uses.push(*ev, CAP_SITES);
            if class == ErrorClass::WrongType {
                g.notable = true;
            }
        }
        if matches_prev {
            g.stale_use_candidates.push(*ev, CAP_SITES);
            g.notable = true;
        }
    }

    // ----- the event handlers ----------------------------------------------

    fn apply(&mut self, ev: Event) {
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
                self.gc_events.push(ev);
                return;
            }
            Op::Rpc(_) => {
                self.rpc_events.push(ev);
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
                    self.detach_task(tid, &ev);
                }
                // A process we only knew by pid (ETW) may have no task record.
                return;
            }
            Op::TaskExit => {
                self.detach_task(ev.tid, &ev);
                return;
            }
            _ => {}
        }
        let table = self.task(ev.tid, ev.pid);
        match ev.op {
            Op::Spawn {
                child,
                shares_table,
                thread,
            } => self.on_spawn(table, &ev, child, shares_table, thread),
            Op::Exec => self.on_exec(&ev),
            Op::Unshare => {
                self.copy_table_for(ev.tid, ev.pid, &ev);
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
                            Some(ev),
                            ev.kind,
                            ev.resource,
                        );
                    } else {
                        self.created(table, &ev, prov, cloexec);
                    }
                } else if ev.outcome.failed_class() == Some(ErrorClass::TableFull) {
                    let t = self.table(table);
                    let live = t.live.len();
                    t.table_full.push((ev, live), CAP_EVENTS);
                }
            }
            Op::Dup {
                source,
                cloexec,
                replaces,
                source_pid,
            } => self.on_dup(table, &ev, source, cloexec, replaces, source_pid),
            Op::Close => self.on_close(table, &ev),
            Op::CloseRange { last, cloexec_only } => {
                self.on_close_range(table, &ev, last, cloexec_only)
            }
            Op::Use | Op::Probe => self.on_use(table, &ev),
            Op::Begin => {
                let gen_ = self.tables[table.0 as usize].live.get(&ev.handle).copied();
                let t = self.table(table);
                t.in_flight.retain(|(tid, _, _)| *tid != ev.tid);
                t.in_flight.push((ev.tid, ev, gen_));
            }
            Op::SetCloexec(on) => {
                if let Some(g) = self.tables[table.0 as usize].live.get(&ev.handle).copied()
                    && let Some(g) = self.gens.get_mut(&g)
                {
                    g.cloexec = on;
                }
            }
            _ => {}
        }
    }

    fn on_spawn(
        &mut self,
        table: TableId,
        ev: &Event,
        child: u32,
        shares_table: bool,
        thread: bool,
    ) {
        let parent_tgid = self.tasks.get(&ev.tid).map(|t| t.tgid).unwrap_or(ev.pid);
        if self.tasks.get(&child).is_some_and(|t| t.alive) {
            return; // already introduced
        }
        let tgid = if thread { parent_tgid } else { child };
        let thread_index = if thread {
            let t = self.table(table);
            t.threads.push(ThreadRecord {
                spawn: *ev,
                tid: child,
                exit: None,
            });
            Some(t.threads.len() - 1)
        } else {
            None
        };
        if shares_table {
            self.attach_task(child, tgid, table, thread_index);
        } else {
            // Copy: the child starts as a sharer of the parent's table, then gets its own.
            self.attach_task(child, tgid, table, thread_index);
            self.copy_table_for(child, child, ev);
        }
        if thread {
            // Signal objects the spawner made just before: made for this thread.
            let (recent, seen) = match self.tasks.get_mut(&ev.tid) {
                Some(t) => (std::mem::take(&mut t.recent_signal_opens), t.events_seen),
                None => (Vec::new(), 0),
            };
            for (g, at) in recent {
                if seen.saturating_sub(at) <= THREAD_LINK_WINDOW
                    && let Some(gen_) = self.gens.get_mut(&g)
                    && gen_.is_live()
                    && gen_.thread_link.is_none()
                {
                    gen_.thread_link = Some(child);
                    self.linked_to_thread.entry(child).or_default().push(g);
                }
            }
        }
    }

    fn on_exec(&mut self, ev: &Event) {
        let Some(task) = self.tasks.get(&ev.tid) else {
            return;
        };
        let table = task.table;
        let tgid = task.tgid;
        // Unshare from partners outside the thread group (CLONE_FILES processes).
        let outside_partners = self
            .tasks
            .iter()
            .any(|(tid, t)| t.alive && t.table == table && t.tgid != tgid && *tid != ev.tid);
        let table = if outside_partners {
            self.copy_table_for(ev.tid, ev.pid, ev)
        } else {
            table
        };
        if let Some(r) = ev.resource {
            self.table(table).program = Some(r);
        }
        let mut live: Vec<(Handle, GenId)> = self.tables[table.0 as usize]
            .live
            .iter()
            .map(|(h, g)| (*h, *g))
            .collect();
        live.sort_unstable();
        let mut inherited = Vec::new();
        for (h, g) in live {
            let Some(gen_) = self.gens.get_mut(&g) else {
                continue;
            };
            if gen_.cloexec {
                self.release(g, ev, ReleaseHow::ExecCloexec);
            } else if h >= 3 && gen_.made_in_trace {
                gen_.notable = true;
                inherited.push(g);
            }
        }
        // The generations they were inherited from show where they were opened:
        // keep them past their own table's end.
        for g in &inherited {
            self.mark_origin_chain(*g);
        }
        self.table(table).execs.push(ExecRecord {
            event: *ev,
            inherited,
        });
    }

    fn on_dup(
        &mut self,
        table: TableId,
        ev: &Event,
        source: Handle,
        cloexec: bool,
        replaces: bool,
        source_pid: Option<u32>,
    ) {
        if !ev.outcome.is_ok() {
            if ev.outcome.is_bad_handle() {
                let mut use_ev = *ev;
                use_ev.handle = source;
                use_ev.op = Op::Use;
                self.on_use(table, &use_ev);
            } else if ev.outcome.failed_class() == Some(ErrorClass::TableFull) {
                let t = self.table(table);
                let live = t.live.len();
                t.table_full.push((*ev, live), CAP_EVENTS);
            }
            return;
        }
        let source_table = match source_pid {
            Some(pid) => self
                .tables
                .iter()
                .rev()
                .find(|t| t.pid == pid && t.ended.is_none())
                .map(|t| t.id),
            None => Some(table),
        };
        let from = source_table.and_then(|t| self.tables[t.0 as usize].live.get(&source).copied());
        if let Some(f) = from {
            let mut as_use = *ev;
            as_use.handle = source;
            self.record_use(f, &as_use);
        }
        if replaces
            && source != ev.handle
            && let Some(old) = self.tables[table.0 as usize].live.get(&ev.handle).copied()
        {
            self.release(old, ev, ReleaseHow::ReplacedByDup);
        }
        if source == ev.handle && source_pid.is_none() {
            return;
        }
        let (kind, resource) = match from.and_then(|f| self.gens.get(&f)) {
            Some(g) => (
                if ev.kind == ResourceKind::Unknown {
                    g.kind
                } else {
                    ev.kind
                },
                ev.resource.or(g.resource),
            ),
            None => (ev.kind, ev.resource),
        };
        let mut created = *ev;
        created.kind = kind;
        created.resource = resource;
        self.created(table, &created, Provenance::Duplicated { from }, cloexec);
    }

    fn on_close(&mut self, table: TableId, ev: &Event) {
        if ev.has(flags::RESUMED) {
            // Completion of a close that was released at its entry.
            let pending = self
                .tasks
                .get_mut(&ev.tid)
                .and_then(|t| t.pending_close.take());
            if let Some(Some(g)) = pending {
                if let Some(gen_) = self.gens.get_mut(&g)
                    && let Some(rel) = gen_.release.as_mut()
                {
                    rel.event.outcome = ev.outcome;
                    rel.event.flags |= ev.flags & flags::INJECTED;
                    if let Outcome::Failed { class, .. } = ev.outcome
                        && class != ErrorClass::BadHandle
                    {
                        gen_.notable = true;
                    }
                }
            } else if let Some(None) = pending
                && ev.outcome.is_bad_handle()
            {
                let a = self.not_open(table, ev);
                self.sweep_step(ev, a);
            }
            return;
        }
        let live = self.tables[table.0 as usize].live.get(&ev.handle).copied();
        let pending_entry = matches!(ev.outcome, Outcome::Unknown);
        match (live, ev.outcome) {
            (
                Some(g),
                Outcome::Failed {
                    class: ErrorClass::BadHandle,
                    ..
                },
            ) => {
                // We thought it open; the kernel says not: released behind our back.
                self.release(g, ev, ReleaseHow::Vanished);
                if let Some(gen_) = self.gens.get_mut(&g) {
                    gen_.notable = true;
                }
                self.sweep_step(ev, None);
            }
            (Some(g), _) => {
                self.release(g, ev, ReleaseHow::Close);
                if pending_entry && let Some(t) = self.tasks.get_mut(&ev.tid) {
                    t.pending_close = Some(Some(g));
                }
                self.sweep_step(ev, None);
            }
            (
                None,
                Outcome::Failed {
                    class: ErrorClass::BadHandle,
                    ..
                },
            ) => {
                let a = self.not_open(table, ev);
                self.sweep_step(ev, a);
            }
            (None, Outcome::Failed { .. }) => {
                // A failed close (EIO...) of a value we never saw opened: it was open.
                let id = self.release_unseen(table, ev);
                if let Some(g) = self.gens.get_mut(&id) {
                    g.notable = true;
                }
            }
            (None, _) => {
                if ev.handle < 0 {
                    let a = self.not_open(table, ev);
                    self.sweep_step(ev, a);
                    return;
                }
                if pending_entry {
                    if let Some(t) = self.tasks.get_mut(&ev.tid) {
                        t.pending_close = Some(None);
                    }
                    return;
                }
                let released_before = self.tables[table.0 as usize].last.contains_key(&ev.handle);
                if self.complete_history && released_before {
                    let a = self.not_open(table, ev);
                    self.sweep_step(ev, a);
                    return;
                }
                // Closed something we never saw opened: pre-existing (inherited,
                // opened before the trace) — or, in a table seeded by a rundown, suspicious.
                let seeded = self.tables[table.0 as usize].seeded;
                let id = self.release_unseen(table, ev);
                if seeded {
                    if let Some(g) = self.gens.get_mut(&id) {
                        g.notable = true;
                    }
                    let t = self.table(table);
                    t.never_valid.push(*ev, CAP_EVENTS * 4);
                }
                self.sweep_step(ev, None);
            }
        }
    }

    /// A generation for a value that existed before the trace showed it.
    fn preexisting(&mut self, table: TableId, ev: &Event) -> GenId {
        self.new_generation(
            table,
            ev.handle,
            Provenance::PreExisting,
            Some(*ev),
            ev.kind,
            ev.resource,
        )
    }

    /// A release of a value this table never showed open: it existed before
    /// the trace (inherited, opened before attach). Records and releases it.
    fn release_unseen(&mut self, table: TableId, ev: &Event) -> GenId {
        let id = self.preexisting(table, ev);
        self.release(id, ev, ReleaseHow::Close);
        id
    }

    fn on_close_range(&mut self, table: TableId, ev: &Event, last: Handle, cloexec_only: bool) {
        let first = ev.handle.max(0);
        if last < first {
            return;
        }
        let mut in_range: Vec<(Handle, GenId)> = self.tables[table.0 as usize]
            .live
            .iter()
            .filter(|(h, _)| **h >= first && **h <= last)
            .map(|(h, g)| (*h, *g))
            .collect();
        in_range.sort_unstable();
        if cloexec_only {
            for (_, g) in in_range {
                if let Some(g) = self.gens.get_mut(&g) {
                    g.cloexec = true;
                }
            }
            return;
        }
        let bounded = last.saturating_sub(first) < BOUNDED_RANGE;
        if in_range.is_empty() && bounded {
            // Closed nothing: every value in range with a history was already released.
            let mut released_before = Vec::new();
            for h in first..=last {
                if let Some(g) = self.tables[table.0 as usize].last.get(&h).copied() {
                    released_before.push((h, g));
                }
            }
            for (h, _) in released_before {
                let mut e = *ev;
                e.handle = h;
                self.not_open(table, &e);
            }
            return;
        }
        for (h, g) in in_range {
            let mut e = *ev;
            e.handle = h;
            self.release(g, &e, ReleaseHow::CloseRange);
        }
    }

    fn on_use(&mut self, table: TableId, ev: &Event) {
        let is_probe = ev.op == Op::Probe;
        // The completion of a blocked call belongs to the generation seen at entry.
        let entry_gen = if ev.has(flags::RESUMED) {
            let t = self.table(table);
            let pos = t
                .in_flight
                .iter()
                .position(|(tid, b, _)| *tid == ev.tid && b.handle == ev.handle);
            pos.map(|p| t.in_flight.swap_remove(p).2)
        } else {
            None
        };
        let live = self.tables[table.0 as usize].live.get(&ev.handle).copied();
        let target = match entry_gen {
            Some(Some(g)) => Some(g),
            Some(None) => None,
            None => live,
        };
        if let Some(g) = target {
            if ev.outcome.is_bad_handle() && !is_probe && entry_gen.is_none() {
                // Open in our model, closed in the kernel: released behind our back.
                self.release(g, ev, ReleaseHow::Vanished);
                if let Some(gen_) = self.gens.get_mut(&g) {
                    gen_.notable = true;
                }
                self.not_open(table, ev);
                return;
            }
            self.record_use(g, ev);
            return;
        }
        match ev.outcome {
            Outcome::Failed {
                class: ErrorClass::BadHandle,
                ..
            } => {
                if is_probe {
                    return; // "is it open?" — answered no. Not a bug.
                }
                self.not_open(table, ev);
            }
            Outcome::Ok | Outcome::Unknown if ev.handle >= 0 => {
                // Working on a value we never saw opened: it existed before the trace.
                let id = self.preexisting(table, ev);
                self.record_use(id, ev);
            }
            _ => {}
        }
    }
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
}

impl EventSink for LifecycleBuilder<'_> {
    fn event(&mut self, mut event: Event) {
        event.seq = self.next_seq;
        self.next_seq += 1;
        self.apply(event);
    }
}
