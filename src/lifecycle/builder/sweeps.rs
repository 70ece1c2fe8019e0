//! Close-all sweeps: a run of ascending closes answering EBADF (or a
//! `close_range`) is a program closing everything it might have inherited,
//! not a series of double closes.

use super::*;

#[derive(Default)]
pub(super) struct SweepRun {
    last_value: i64,
    last_seen: u32,
    /// The last close was split into unfinished / resumed halves.
    last_split: bool,
    length: u32,
    /// Anomalies recorded for the first members of the run, to mark once it is a sweep.
    pending: Vec<AnomalyRef>,
}

impl SweepRun {
    /// The task's event number `seen` comes right after the run's last close.
    /// A close strace split into `<unfinished ...>` and `resumed` halves (the
    /// last one, or this event when `split`) counts two events of the task.
    fn follows(&self, seen: u32, split: bool) -> bool {
        seen == self.last_seen + 1 || seen == self.last_seen + 2 && (split || self.last_split)
    }
}

#[derive(Clone, Copy)]
pub(super) enum AnomalyRef {
    NeverValid(TableId, usize),
    AfterRelease(GenId, usize),
}

impl<'i> LifecycleBuilder<'i> {
    /// Records an operation on a value that is not open: after the last
    /// generation's release, or on a value the table never showed.
    pub(super) fn not_open(&mut self, table: TableId, ev: &Event) -> Option<AnomalyRef> {
        let last = self.tables[table.0 as usize].last.get(&ev.handle).copied();
        if let Some(g) = last.and_then(|id| self.gens.get_mut(&id)) {
            g.cold.make().after_release.push(*ev, CAP_EVENTS);
            g.notable = true;
            let idx = g.cold.after_release.items.len().checked_sub(1)?;
            Some(AnomalyRef::AfterRelease(g.id, idx))
        } else {
            let t = self.table(table);
            t.never_valid.push(*ev, CAP_EVENTS * 4);
            let idx = t.never_valid.items.len().checked_sub(1)?;
            Some(AnomalyRef::NeverValid(table, idx))
        }
    }

    pub(super) fn mark_sweep(&mut self, r: AnomalyRef) {
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
                    .and_then(|g| g.cold.make().after_release.items.get_mut(i))
                {
                    e.flags |= flags::SWEEP;
                }
            }
        }
    }

    /// Tracks runs of ascending closes by one task; a run of three or more is a
    /// close-all sweep and its failures are marked, not reported.
    pub(super) fn sweep_step(&mut self, ev: &Event, anomaly: Option<AnomalyRef>) {
        let seen = self.tasks.get(&ev.tid).map(|t| t.events_seen).unwrap_or(0);
        let run = self.sweeps.entry(ev.tid).or_default();
        let split = ev.has(flags::RESUMED) || matches!(ev.outcome, Outcome::Unknown);
        let ascending = run.length > 0 && ev.handle > run.last_value && run.follows(seen, split);
        run.last_split = split;
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

    /// `/proc/self/fd`, `/proc/N/fd`, `/dev/fd`: a program listing its own fds.
    pub(super) fn is_fd_listing(&self, ev: &Event) -> bool {
        let Some(r) = ev.resource else { return false };
        let text = self.interner.resolve(r);
        let text = text.trim_end_matches('/');
        text == "/dev/fd"
            || text
                .strip_prefix("/proc/")
                .and_then(|t| t.strip_suffix("/fd"))
                .is_some_and(|p| {
                    p == "self" || (!p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
                })
    }

    /// A close-all that lists the fd directory first closes the lowest values
    /// blindly (so that opendir's own fd is not among them; the JDK's
    /// `closeDescriptors` closes 4 and 5 "for good luck"): the closes right
    /// before the listing are part of the sweep, split halves counted as in
    /// [`SweepRun::follows`].
    pub(super) fn fd_listing_opened(&mut self, ev: &Event) {
        let seen = self.tasks.get(&ev.tid).map(|t| t.events_seen).unwrap_or(0);
        let split = ev.has(flags::RESUMED);
        let pending = match self.sweeps.get_mut(&ev.tid) {
            Some(run) if run.length > 0 && run.follows(seen, split) => {
                std::mem::take(&mut run.pending)
            }
            _ => return,
        };
        for a in pending {
            self.mark_sweep(a);
        }
    }
}
