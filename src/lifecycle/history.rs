//! What the triage views need beyond what rules read, collected by the builder
//! only when asked (`LifecycleBuilder::keep_history`): the events on selected
//! handle values, every generation's start and end per process and type, and
//! the live-handle count over time, downsampled so memory stays bounded.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use super::generation::{GenId, Generation, Provenance};
use crate::model::{Event, Handle, Nanos, Op, ResourceKind};

/// Events kept for the selected values; more are counted, not kept.
const MAX_EVENTS: usize = 200_000;
/// Points kept per live-count series before it is thinned by half.
const MAX_POINTS: usize = 1024;

/// Which events to keep in full. Counters and series cover every event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HistoryFilter {
    pub pid: Option<u32>,
    pub tid: Option<u32>,
    /// Keep the events on this value (and dups from it); `None`: keep no events.
    pub handle: Option<Handle>,
}

impl HistoryFilter {
    /// True when `ev` is about the selected value in the selected process
    /// (`pid`: the process whose table the task uses) and thread.
    pub fn matches(&self, ev: &Event, pid: u32) -> bool {
        let Some(h) = self.handle else { return false };
        if self.pid.is_some_and(|p| p != pid) || self.tid.is_some_and(|t| t != ev.tid) {
            return false;
        }
        match ev.op {
            Op::Dup { source, .. } => ev.handle == h || source == h,
            Op::CloseRange { last, .. } => ev.handle <= h && h <= last,
            Op::Spawn { .. } | Op::Exec | Op::TaskExit | Op::ProcessExit => false,
            _ => ev.handle == h,
        }
    }
}

/// An event kept for the timeline, with the process whose table it acted on.
#[derive(Clone, Copy, Debug)]
pub struct KeptEvent {
    pub event: Event,
    /// The table's pid (a thread's events carry its own tid as `event.pid` in strace).
    pub pid: u32,
}

/// One point of a live-count series: after the event at `seq` (time `time`), `live` handles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Point {
    pub seq: u64,
    pub time: Option<Nanos>,
    pub live: u64,
}

/// Per process and handle type.
#[derive(Clone, Debug, Default)]
pub struct TypeCounts {
    /// Created by the program (open, socket, CreateHandle...).
    pub opened: u64,
    pub duplicated: u64,
    pub received: u64,
    /// Copied in by fork.
    pub inherited: u64,
    /// Existed before the trace showed them.
    pub preexisting: u64,
    /// Ended by a release the trace shows (or one it implies).
    pub closed: u64,
    pub live: u64,
    pub peak_live: u64,
    /// Still open when the process ended (or the trace did).
    pub live_at_end: u64,
    /// The live count over time, thinned (peaks kept) to at most `MAX_POINTS`.
    pub series: Vec<Point>,
}

impl TypeCounts {
    fn push_point(&mut self, seq: u64, time: Option<Nanos>) {
        let p = Point {
            seq,
            time,
            live: self.live,
        };
        match self.series.last_mut() {
            Some(last) if last.seq == seq => *last = p,
            _ => self.series.push(p),
        }
        if self.series.len() >= MAX_POINTS {
            // Keep the higher point of each pair so a peak is never thinned away.
            let thinned: Vec<Point> = self
                .series
                .chunks(2)
                .map(|c| *c.iter().max_by_key(|p| p.live).unwrap_or(&c[0]))
                .collect();
            self.series = thinned;
        }
    }
}

/// A generation of a selected value, as the timeline needs it.
#[derive(Clone, Copy, Debug)]
pub struct GenStart {
    pub id: GenId,
    pub pid: u32,
    pub handle: Handle,
    pub provenance: Provenance,
    pub kind: ResourceKind,
    pub seq: u64,
}

#[derive(Debug, Default)]
pub struct History {
    pub filter: HistoryFilter,
    /// Events matching the filter, in stream order.
    pub events: Vec<KeptEvent>,
    pub events_dropped: u64,
    /// Successful execs, with the process they ran in (the views name programs from them).
    pub execs: Vec<KeptEvent>,
    /// Every generation of the selected value (pruned or not), in order.
    pub gens: Vec<GenStart>,
    /// (pid, type) → counters and series.
    pub counts: BTreeMap<(u32, ResourceKind), TypeCounts>,
    /// pid → (live handles of every type, highest such count).
    pub process_live: BTreeMap<u32, (u64, u64)>,
    /// Live generations and the key they were counted under.
    live: FxHashMap<GenId, (u32, ResourceKind)>,
    /// The event being applied.
    now: (u64, Option<Nanos>),
    pub first_time: Option<Nanos>,
    pub last_seq: u64,
}

impl History {
    pub fn new(filter: HistoryFilter) -> History {
        History {
            filter,
            ..Default::default()
        }
    }

    /// Every event, before the builder applies it.
    pub fn event(&mut self, ev: &Event) {
        self.now = (ev.seq, ev.time);
        self.last_seq = ev.seq;
        if self.first_time.is_none() {
            self.first_time = ev.time;
        }
    }

    /// Every event, after the builder applied it: `pid` is the process of the
    /// table the task uses now.
    pub fn applied(&mut self, ev: &Event, pid: Option<u32>) {
        let pid = pid.unwrap_or(ev.pid);
        if matches!(ev.op, Op::Exec) && ev.outcome.is_ok() && self.execs.len() < MAX_EVENTS {
            self.execs.push(KeptEvent { event: *ev, pid });
        }
        if self.filter.matches(ev, pid) {
            if self.events.len() < MAX_EVENTS {
                self.events.push(KeptEvent { event: *ev, pid });
            } else {
                self.events_dropped += 1;
            }
        }
    }

    /// A generation started in a table of process `pid`.
    pub fn started(&mut self, g: &Generation, pid: u32) {
        let key = (pid, g.kind);
        let c = self.counts.entry(key).or_default();
        match g.provenance {
            Provenance::Opened => c.opened += 1,
            Provenance::Duplicated { .. } => c.duplicated += 1,
            Provenance::Received => c.received += 1,
            Provenance::Inherited { .. } => c.inherited += 1,
            Provenance::PreExisting => c.preexisting += 1,
        }
        c.live += 1;
        c.peak_live = c.peak_live.max(c.live);
        c.push_point(self.now.0, self.now.1);
        self.live.insert(g.id, key);
        let p = self.process_live.entry(pid).or_default();
        p.0 += 1;
        p.1 = p.1.max(p.0);
        let selected =
            self.filter.handle == Some(g.handle) && self.filter.pid.is_none_or(|p| p == pid);
        if selected {
            self.gens.push(GenStart {
                id: g.id,
                pid,
                handle: g.handle,
                provenance: g.provenance,
                kind: g.kind,
                seq: g.open().map_or(self.now.0, |e| e.seq),
            });
        }
    }

    /// A generation was released (`at_exit`: its process ended with it open).
    pub fn ended(&mut self, id: GenId, at_exit: bool) {
        let Some(key) = self.live.remove(&id) else {
            return;
        };
        let c = self.counts.entry(key).or_default();
        if at_exit {
            c.live_at_end += 1;
        } else {
            c.closed += 1;
        }
        c.live = c.live.saturating_sub(1);
        c.push_point(self.now.0, self.now.1);
        if let Some(p) = self.process_live.get_mut(&key.0) {
            p.0 = p.0.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinning_keeps_the_peak_and_bounds_points() {
        let mut c = TypeCounts::default();
        for i in 0..10_000u64 {
            c.live = if i == 4321 { 999 } else { i % 7 };
            c.push_point(i, None);
        }
        assert!(c.series.len() < MAX_POINTS);
        assert_eq!(c.series.iter().map(|p| p.live).max(), Some(999));
    }
}
