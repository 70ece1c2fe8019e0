//! One handler per kind of event: spawn, exec, dup, close, close_range, use.

use super::*;

impl<'i> LifecycleBuilder<'i> {
    pub(super) fn on_spawn(
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
                process_went_on: false,
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
        if !thread {
            // Objects made just before a fork belong to the child process (a
            // multiprocessing worker's sentinel pipe), not to a later thread.
            if let Some(t) = self.tasks.get_mut(&ev.tid) {
                t.recent_signal_opens.clear();
            }
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
                    && gen_.cold.thread_link.is_none()
                {
                    gen_.cold.make().thread_link = Some(child);
                    self.thread_linked.entry(child).or_default().push(g);
                }
            }
        }
    }

    pub(super) fn on_exec(&mut self, ev: &Event) {
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
        let program_before = self.tables[table.0 as usize].program;
        if let Some(r) = ev.resource {
            self.table(table).program = Some(r);
        }
        let mut live: Vec<(Handle, GenId)> = self.tables[table.0 as usize].live.iter().collect();
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
            program_before,
        });
    }

    pub(super) fn on_dup(
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

    pub(super) fn on_close(&mut self, table: TableId, ev: &Event) {
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
                    // strace -k prints the stack after the completed half.
                    rel.event.stack = rel.event.stack.or(ev.stack);
                    if let Outcome::Failed { class, .. } = ev.outcome
                        && class != ErrorClass::BadHandle
                    {
                        gen_.notable = true;
                    }
                }
            } else if let Some(None) = pending {
                if ev.outcome.is_bad_handle() {
                    let a = self.not_open(table, ev);
                    self.sweep_step(ev, a);
                } else if ev.outcome.is_ok() {
                    // The entry closed a value never seen open: as a whole line would.
                    self.close_unseen(table, ev);
                }
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
                self.close_unseen(table, ev);
            }
        }
    }

    /// A successful close of a value never seen open.
    fn close_unseen(&mut self, table: TableId, ev: &Event) {
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

    pub(super) fn on_close_range(
        &mut self,
        table: TableId,
        ev: &Event,
        last: Handle,
        cloexec_only: bool,
    ) {
        let first = ev.handle.max(0);
        if last < first {
            return;
        }
        let mut in_range: Vec<(Handle, GenId)> = self.tables[table.0 as usize]
            .live
            .iter()
            .filter(|(h, _)| *h >= first && *h <= last)
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

    pub(super) fn on_use(&mut self, table: TableId, ev: &Event) {
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
            if ev.outcome.is_bad_handle() && !is_probe {
                // EBADF on a value whose generation is alive: the kernel refused
                // the mode (read on a write-only fd, copy_file_range/sendfile onto
                // O_APPEND), not a closed value. A release we could not see shows
                // up at the next close (EBADF there: `Vanished`).
                if let Some(gen_) = self.gens.get_mut(&g) {
                    gen_.cold.make().failed_uses.push(*ev, CAP_SITES);
                }
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
