//! The input positions the builder still holds an event of: every line a
//! diagnostic may cite later. A stream's evidence spool asks before it drops
//! a stretch of the stream (see `crate::input::spool`), so every place the
//! builder keeps an event must be listed here: a label whose line the spool
//! dropped would show no evidence.

use super::*;
use crate::model::InputId;
use std::ops::Range;

impl LifecycleBuilder<'_> {
    /// Appends to `out` the offset of every event of `input` in `range` the
    /// builder keeps. False when it keeps history for the views (the timeline,
    /// graph and HTML views and `--program` read events of every kind): then
    /// every line stays.
    pub(super) fn held_line_offsets(
        &self,
        input: InputId,
        range: Range<u64>,
        out: &mut Vec<u64>,
    ) -> bool {
        if self.history.is_some() {
            return false;
        }
        let mut add = |ev: &Event| {
            if ev.origin.input == input && ev.origin.is_line() && range.contains(&ev.origin.offset)
            {
                out.push(ev.origin.offset);
            }
        };
        for g in self.gens.iter() {
            if let Some(open) = g.open() {
                add(&open);
            }
            if let Some(r) = &g.release {
                add(&r.event);
            }
            let cold = &*g.cold;
            if let Some(ev) = &cold.last_use {
                add(ev);
            }
            for list in [
                &cold.use_sites,
                &cold.failed_uses,
                &cold.after_release,
                &cold.in_flight_at_release,
                &cold.stale_use_candidates,
            ] {
                list.items.iter().for_each(&mut add);
            }
        }
        for t in &self.tables {
            t.never_valid.items.iter().for_each(&mut add);
            t.table_full.items.iter().for_each(|(ev, _)| add(ev));
            t.execs.iter().for_each(|e| add(&e.event));
            for th in &t.threads {
                add(&th.spawn);
                if let Some(ev) = &th.exit {
                    add(ev);
                }
            }
            if let Some(ev) = &t.ended {
                add(ev);
            }
            t.in_flight.iter().for_each(|(_, ev, _)| add(ev));
        }
        for s in self.sites.values() {
            add(&s.first_open);
            add(&s.last_open);
        }
        self.gc_events.iter().for_each(&mut add);
        self.rpc_events.iter().for_each(&mut add);
        self.pending.iter().for_each(&mut add);
        true
    }
}
