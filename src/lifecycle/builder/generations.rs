//! Generations: each value's open → uses → release, what is kept of it
//! (pruning behind a recycled value), and the allocation site of each open.

use super::*;

impl<'i> LifecycleBuilder<'i> {
    pub(super) fn new_generation(
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
                o.release = Some(self.spares.release(Release {
                    event: ev,
                    how: ReleaseHow::Superseded,
                }));
            }
            self.release_bookkeeping(old);
        }
        // Rules look one generation back: the one before `prev` goes unless
        // something keeps it, and its box then holds the new generation.
        let behind = prev.and_then(|p| self.prunable_behind(p));
        let made_in_trace = provenance.made_in_trace(false);
        let gen_ = Generation {
            opened: open.map(|e| self.shapes.open(&e)),
            kind,
            resource,
            made_in_trace,
            prev: prev.into(),
            ..Generation::new(id, table, handle, provenance)
        };
        if let Some(h) = self.history.as_mut() {
            h.started(&gen_, self.tables[table.0 as usize].pid);
        }
        match behind.and_then(|old| self.gens.remove(&old)) {
            Some(mut slot) => {
                let site = slot.site;
                self.spares.take_from(&mut slot);
                *slot = gen_;
                self.gens.insert_boxed(id, slot);
                self.unref_site(site);
            }
            None => self.gens.insert(id, gen_),
        }
        if let Some(p) = prev
            && let Some(pg) = self.gens.get_mut(&p)
        {
            pg.next = Some(id).into();
            if behind.is_some() {
                pg.prev = MaybeGen::NONE;
            }
        }
        let t = self.table(table);
        t.live.insert(handle, id);
        t.last.insert(handle, id);
        t.peak_live = t.peak_live.max(t.live.len());
        id
    }

    /// The views asked to keep every generation of this value (`keep_history`).
    pub(super) fn kept_for_views(&self, handle: Handle) -> bool {
        self.history
            .as_ref()
            .is_some_and(|h| h.filter.handle == Some(handle))
    }

    /// The generation before `prev`, when neither it nor `prev` is notable:
    /// it can go once `prev`'s value has a newer generation.
    fn prunable_behind(&self, prev: GenId) -> Option<GenId> {
        let p = self.gens.get(&prev)?;
        let old = p.prev.get()?;
        let o = self.gens.get(&old)?;
        if o.notable || p.notable || o.is_live() || self.kept_for_views(o.handle) {
            return None;
        }
        Some(old)
    }

    /// The number of leak site `key`, for a new generation that names it (a
    /// new number the first time; counted, see `site_refs`).
    pub(super) fn site_id(&mut self, key: SiteKey) -> SiteId {
        let id = match self.site_ids.get(&key) {
            Some(id) => *id,
            None => {
                let id = match self.free_sites.pop() {
                    Some(id) => {
                        self.site_list[id.0 as usize] = key;
                        id
                    }
                    None => {
                        self.site_list.push(key);
                        self.site_refs.push(0);
                        SiteId(self.site_list.len() as u32 - 1)
                    }
                };
                self.site_ids.insert(key, id);
                id
            }
        };
        if let Some(n) = self.site_refs.get_mut(id.0 as usize) {
            *n += 1;
        }
        id
    }

    /// Gives site number `id` back for reuse once no kept generation names it
    /// and its counters are gone (its table ended with too few handles open),
    /// so that numbers follow the sites kept, not every site of the trace.
    pub(super) fn release_site_if_unused(&mut self, id: SiteId) {
        let i = id.0 as usize;
        let (Some(&0), Some(key)) = (self.site_refs.get(i), self.site_list.get(i)) else {
            return;
        };
        if self.sites.contains_key(key) || self.site_ids.get(key) != Some(&id) {
            return;
        }
        self.site_ids.remove(&self.site_list[i]);
        self.free_sites.push(id);
    }

    /// Removes a generation from the store (it is pruned): its site number
    /// loses a reference.
    pub(super) fn drop_generation(&mut self, id: GenId) {
        if let Some(mut g) = self.gens.remove(&id) {
            self.spares.take_from(&mut g);
            self.unref_site(g.site);
        }
    }

    /// A generation naming site `id` left the store.
    fn unref_site(&mut self, id: SiteId) {
        if let Some(n) = self.site_refs.get_mut(id.0 as usize) {
            *n = n.saturating_sub(1);
            self.release_site_if_unused(id);
        }
    }

    pub(super) fn site_for(
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
    pub(super) fn normalise(&mut self, resource: Sym, level: Fold) -> Sym {
        if let Some(n) = self.norm_cache.get(&(resource, level)) {
            return *n;
        }
        let full = self.interner.resolve(resource);
        // The directory is looked for only when folding to it (most opens fold
        // the full path).
        let text = match level {
            Fold::Directory if full.starts_with('/') => match full.rfind('/') {
                Some(i) => &full[..=i],
                None => full,
            },
            _ => full,
        };
        // Into a buffer kept between calls: no allocation per new resource.
        let mut out = std::mem::take(&mut self.fold_buf);
        crate::model::site::fold_digits_into(text, &mut out);
        let sym = self.interner.intern(&out);
        self.fold_buf = out;
        // A cache, bounded: a trace with a million distinct paths would
        // otherwise keep an entry for each.
        if self.norm_cache.len() >= NORM_CACHE_MAX {
            self.norm_cache.clear();
        }
        self.norm_cache.insert((resource, level), sym);
        sym
    }

    pub(super) fn created(
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
            let t = self.table(table);
            t.site_count += 1;
            t.site_keys.push(site);
        }
        let site = self.site_id(site);
        if let Some(g) = self.gens.get_mut(&id) {
            g.cloexec = cloexec;
            g.site = site;
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
                        g.cold.make().thread_link = Some(tid);
                        self.thread_linked.entry(tid).or_default().push(id);
                    }
                }
            }
        }
        id
    }

    pub(super) fn release_bookkeeping(&mut self, id: GenId) {
        let Some(g) = self.gens.get(&id) else { return };
        let (table, handle) = (g.table, g.handle);
        let site = self.site_list.get(g.site.0 as usize).copied();
        let t = self.table(table);
        if t.live.get(&handle) == Some(&id) {
            t.live.remove(&handle);
        }
        if let Some(h) = self.history.as_mut() {
            h.ended(id, false);
        }
        if let Some(site) = site
            && let Some(s) = self.sites.get_mut(&site)
        {
            s.released();
        }
    }

    pub(super) fn release(&mut self, id: GenId, ev: &Event, how: ReleaseHow) {
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
        // Released by the code path (stack) that released the previous
        // generation of the value: the stale-release evidence HC004 reads. ETW
        // logs no failure of the victim to keep such a generation otherwise.
        let prev_release_stack = self
            .gens
            .get(&id)
            .and_then(|g| g.prev.get())
            .and_then(|p| self.gens.get(&p))
            .and_then(|p| p.release().and_then(|r| r.event.stack));
        let same_path_as_prev = ev.stack.is_some() && prev_release_stack == ev.stack;
        if let Some(g) = self.gens.get_mut(&id) {
            g.release = Some(self.spares.release(Release { event: *ev, how }));
            g.sharers_at_release = sharers;
            if same_path_as_prev {
                g.notable = true;
            }
            for e in in_flight {
                g.cold.make().in_flight_at_release.push(e, CAP_EVENTS);
                g.notable = true;
            }
            if let Outcome::Failed { class, .. } = ev.outcome
                && class != ErrorClass::BadHandle
            {
                g.notable = true;
            }
        }
        self.keep_for_ownership(id, ev, true);
        self.release_bookkeeping(id);
    }

    /// Ownership hook: a release (or a use of a changed kind) by a task that
    /// held the previous generation and took no part in this one keeps both
    /// generations for the ownership pass, which reads them after the stream.
    pub(super) fn keep_for_ownership(&mut self, id: GenId, ev: &Event, release: bool) {
        let Some(g) = self.gens.get(&id) else { return };
        let Some(p) = g.prev.and_then(|p| self.gens.get(&p)) else {
            return;
        };
        let stranger = g.open().is_some_and(|o| o.tid != ev.tid)
            && (!release || !g.cold.use_sites.items.iter().any(|u| u.tid == ev.tid));
        let same_path =
            release && ev.stack.is_some() && p.release().is_some_and(|r| r.event.stack == ev.stack);
        let held = p.release().is_some_and(|r| r.event.tid == ev.tid)
            || p.open().is_some_and(|o| o.tid == ev.tid)
            || p.cold.use_sites.items.iter().any(|u| u.tid == ev.tid);
        // A use keeps them when the kind changed, or when the previous
        // generation is already kept (part of a suspected chain).
        let kind_changed = p.kind != g.kind;
        if same_path || stranger && held && (release || kind_changed || p.notable) {
            let p = p.id;
            for k in [id, p] {
                if let Some(x) = self.gens.get_mut(&k) {
                    x.notable = true;
                }
            }
        }
    }

    pub(super) fn record_use(&mut self, id: GenId, ev: &Event) {
        // Same call site (stack) as a use of the previous generation: a stale
        // holder may be back. Only with stacks; no allocation on this path.
        let matches_prev = ev.stack.is_some() && {
            let Some(g) = self.gens.get(&id) else { return };
            match g.prev.and_then(|p| self.gens.get(&p)) {
                Some(p) if g.provenance == Provenance::Opened && p.release.is_some() => p
                    .cold
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
        self.spares.cold(&mut g.cold).uses += 1;
        if ev.has(flags::BY_PATH) {
            g.reopened_by_path = true;
        }
        // In the cold part: one allocation per used generation, not per use.
        g.cold.make().last_use = Some(*ev);
        let known_site = g
            .cold
            .use_sites
            .items
            .iter()
            .any(|e| e.call == ev.call && e.stack == ev.stack && e.tid == ev.tid);
        if !known_site {
            let pool = Some(&mut self.spares.use_sites);
            g.cold.make().use_sites.push_pooled(*ev, CAP_SITES, pool);
        }
        if let Outcome::Failed { class, .. } = ev.outcome
            && class != ErrorClass::BadHandle
            && class != ErrorClass::Interrupted
        {
            g.cold.make().failed_uses.push(*ev, CAP_SITES);
            if class == ErrorClass::WrongType {
                g.notable = true;
            }
        }
        if matches_prev {
            g.cold.make().stale_use_candidates.push(*ev, CAP_SITES);
            g.notable = true;
        }
        if !known_site {
            self.keep_for_ownership(id, ev, false);
        }
    }

    /// A generation for a value that existed before the trace showed it.
    pub(super) fn preexisting(&mut self, table: TableId, ev: &Event) -> GenId {
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
    pub(super) fn release_unseen(&mut self, table: TableId, ev: &Event) -> GenId {
        let id = self.preexisting(table, ev);
        self.release(id, ev, ReleaseHow::Close);
        id
    }
}
