//! Tasks and their tables: which task uses which fd table (threads and
//! `CLONE_FILES` children share one, fork copies it, exec unshares it), and
//! what happens to a table when its last task ends.

use super::*;

impl<'i> LifecycleBuilder<'i> {
    pub(super) fn new_table(&mut self, pid: u32) -> TableId {
        let id = TableId(self.tables.len() as u32);
        self.tables.push(Table::new(id, pid));
        id
    }

    pub(super) fn table(&mut self, id: TableId) -> &mut Table {
        &mut self.tables[id.0 as usize]
    }

    /// The task for `tid`, created (with a fresh table) if the trace never introduced it.
    pub(super) fn task(&mut self, tid: u32, pid: u32) -> TableId {
        if let Some(task) = self.tasks.get_mut(&tid) {
            task.events_seen = task.events_seen.saturating_add(1);
            if task.alive {
                return task.table;
            }
            // A dead task speaking again: a recycled tid. Give it a fresh table.
        }
        self.new_task(tid, pid)
    }

    /// `task` for a tid without a live task: apart, so that the common case
    /// stays small enough to inline into every event.
    #[inline(never)]
    fn new_task(&mut self, tid: u32, pid: u32) -> TableId {
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

    pub(super) fn attach_task(
        &mut self,
        tid: u32,
        tgid: u32,
        table: TableId,
        thread_index: Option<usize>,
    ) {
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

    pub(super) fn detach_task(&mut self, tid: u32, event: &Event) {
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
                self.table(table).threads_ended_pending.push(idx);
            }
            // Handles made for this thread that are still open outlive it.
            let linked = self.thread_linked.remove(&tid).unwrap_or_default();
            for g in linked {
                let t = &self.tables[table.0 as usize];
                if let Some(gen_) = self.gens.get_mut(&g)
                    && t.live.get(&gen_.handle) == Some(&g)
                    && gen_.cold.thread_link == Some(tid)
                    && gen_.cold.outlived_thread.is_none()
                {
                    gen_.cold.make().outlived_thread = Some(event.seq);
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

    pub(super) fn end_table(&mut self, table: TableId, event: Option<Event>) {
        let live: Vec<GenId> = {
            let t = self.table(table);
            if t.ended.is_some() {
                return;
            }
            t.ended = Some(Box::new(event.unwrap_or_else(|| {
                Event::new(Op::ProcessExit, Sym(0), Default::default())
            })));
            t.live.values().collect()
        };
        for g in live {
            if let Some(h) = self.history.as_mut() {
                h.ended(g, true);
            }
            if let Some(gen_) = self.gens.get_mut(&g) {
                gen_.open_at_exit = ExitMark::SET;
                if let Some(site) = self.site_list.get(gen_.site.0 as usize)
                    && let Some(s) = self.sites.get_mut(site)
                {
                    s.open_at_exit += 1;
                }
            }
        }
        self.table(table).live.clear();
        self.prune_ended_table(table);
    }

    /// Marks every generation `id` was inherited from as notable.
    pub(super) fn mark_origin_chain(&mut self, id: GenId) {
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
    pub(super) fn prune_ended_table(&mut self, table: TableId) {
        let last: Vec<GenId> = std::mem::take(&mut self.tables[table.0 as usize].last)
            .into_values()
            .collect();
        for id in last {
            let (keep_last, prev) = match self.gens.get(&id) {
                Some(g) if self.kept_for_views(g.handle) => continue,
                Some(g) => {
                    // An untouched inherited copy goes, unless what it was
                    // copied from is kept: the copy keeps that open file
                    // description alive (ownership reads it: a close in the
                    // parent then leaves, e.g., an epoll registration behind).
                    let source_kept = match g.provenance {
                        Provenance::Inherited { from } => {
                            self.gens.get(&from).is_some_and(|s| s.notable)
                        }
                        _ => false,
                    };
                    let untouched = g.untouched_at_exit() && !source_kept;
                    (
                        g.notable || g.open_at_exit.is_some() && !untouched,
                        g.prev.get(),
                    )
                }
                None => continue,
            };
            if let Some(p) = prev {
                let keep_prev = keep_last && self.gens.get(&id).is_some_and(|g| g.notable)
                    || self
                        .gens
                        .get(&p)
                        .is_some_and(|g| g.notable || g.open_at_exit.is_some());
                if !keep_prev {
                    self.drop_generation(p);
                    if let Some(g) = self.gens.get_mut(&id) {
                        g.prev = MaybeGen::NONE;
                    }
                }
            }
            if !keep_last {
                self.drop_generation(id);
            }
        }
        if self.tables[table.0 as usize].table_full.is_empty() {
            let keys = std::mem::take(&mut self.tables[table.0 as usize].site_keys);
            for k in keys {
                if self
                    .sites
                    .get(&k)
                    .is_some_and(|s| s.open_at_exit < SITE_KEEP_MIN)
                {
                    self.sites.remove(&k);
                    // Its counters are gone: its number too, unless a kept
                    // generation names it (`release_site_if_unused` without
                    // looking `k` up again).
                    if let Some(&id) = self.site_ids.get(&k)
                        && self.site_refs.get(id.0 as usize) == Some(&0)
                    {
                        self.site_ids.remove(&k);
                        self.free_sites.push(id);
                    }
                }
            }
        }
    }

    /// Gives `tid` a private copy of its table (fork, unshare, exec of a CLONE_FILES partner).
    pub(super) fn copy_table_for(&mut self, tid: u32, pid: u32, event: &Event) -> TableId {
        let Some(task) = self.tasks.get(&tid) else {
            return self.task(tid, pid);
        };
        let old = task.table;
        let tgid = task.tgid;
        let thread_index = task.thread_index;
        let new = self.new_table(pid);
        let old_program = self.tables[old.0 as usize].program;
        self.table(new).program = old_program;
        let mut live: Vec<(Handle, GenId)> = self.tables[old.0 as usize].live.iter().collect();
        live.sort_unstable();
        for (h, from) in live {
            let Some(src) = self.gens.get_mut(&from) else {
                continue;
            };
            src.inherited = true;
            let (kind, resource, cloexec, made, site) = (
                src.kind,
                src.resource,
                src.cloexec,
                src.made_in_trace,
                self.site_list.get(src.site.0 as usize).copied(),
            );
            let (inheritable, by_path) = (src.made_inheritable, src.reopened_by_path);
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
            let site = site.map_or(SiteId::NONE, |mut s| {
                s.table = new;
                self.site_id(s)
            });
            if let Some(g) = self.gens.get_mut(&id) {
                g.cloexec = cloexec;
                g.made_in_trace = made;
                g.made_inheritable = inheritable;
                g.reopened_by_path = by_path;
                g.site = site;
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

    /// Threads of `table` that ended before now: the process went on without them.
    pub(super) fn process_went_on(&mut self, table: TableId) {
        let t = self.table(table);
        for i in std::mem::take(&mut t.threads_ended_pending) {
            if let Some(rec) = t.threads.get_mut(i) {
                rec.process_went_on = true;
            }
        }
    }
}
