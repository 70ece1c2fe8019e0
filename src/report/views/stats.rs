//! Per process and handle type: how many handles were made, how, how many
//! ended, the peak, what was still open at the end, and the top allocation sites.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{culprit_frame, process_selected, program_of};
use crate::analysis::{Analysis, Selection};
use crate::model::ResourceKind;

/// Sites shown per process.
const TOP_SITES: usize = 5;

#[derive(Debug, Serialize)]
pub struct ProcessStats {
    pub pid: u32,
    pub program: Option<String>,
    pub types: Vec<TypeRow>,
    pub total: TypeRow,
    /// Where the handles still open at the end (else the most) came from.
    pub top_sites: Vec<SiteRow>,
}

#[derive(Debug, Default, Serialize, Clone)]
pub struct TypeRow {
    pub kind: String,
    pub opened: u64,
    pub duplicated: u64,
    pub received: u64,
    pub inherited: u64,
    pub preexisting: u64,
    pub closed: u64,
    /// Highest live count (for `total`, of all types together).
    pub peak_live: u64,
    pub live_at_end: u64,
}

#[derive(Debug, Serialize)]
pub struct SiteRow {
    pub call: String,
    pub kind: String,
    /// Folded resource (digits replaced), when known.
    pub resource: Option<String>,
    pub opened: u64,
    pub released: u64,
    pub peak_live: u64,
    pub open_at_end: u64,
    /// First frame of the program (not the OS) in the site's stack.
    pub culprit: Option<String>,
}

/// Per-process stats of every graph the analysis kept, narrowed by `sel`
/// (pid, program). Processes in pid order.
pub fn build(a: &Analysis, sel: &Selection) -> Vec<ProcessStats> {
    let mut by_pid: BTreeMap<u32, ProcessStats> = BTreeMap::new();
    for graph in &a.graphs {
        let Some(h) = &graph.history else { continue };
        let mut kinds: BTreeMap<(u32, ResourceKind), TypeRow> = BTreeMap::new();
        for ((pid, kind), c) in &h.counts {
            if !process_selected(sel, a, graph, *pid) {
                continue;
            }
            let r = kinds.entry((*pid, *kind)).or_default();
            r.kind = kind.as_str().to_string();
            r.opened += c.opened;
            r.duplicated += c.duplicated;
            r.received += c.received;
            r.inherited += c.inherited;
            r.preexisting += c.preexisting;
            r.closed += c.closed;
            r.peak_live = r.peak_live.max(c.peak_live);
            r.live_at_end += c.live_at_end;
        }
        for ((pid, _), row) in kinds {
            let p = by_pid.entry(pid).or_insert_with(|| ProcessStats {
                pid,
                program: program_of(a, graph, pid),
                types: Vec::new(),
                total: TypeRow {
                    kind: "all".to_string(),
                    ..Default::default()
                },
                top_sites: Vec::new(),
            });
            add(&mut p.total, &row);
            p.types.push(row);
        }
        for (pid, (_, peak)) in &h.process_live {
            if let Some(p) = by_pid.get_mut(pid) {
                p.total.peak_live = p.total.peak_live.max(*peak);
            }
        }
        for (key, s) in &graph.sites {
            let pid = graph.table(key.table).pid;
            let Some(p) = by_pid.get_mut(&pid) else {
                continue;
            };
            p.top_sites.push(SiteRow {
                call: crate::model::sanitize::for_terminal(a.interner.resolve(key.call)),
                kind: key.kind.as_str().to_string(),
                resource: key
                    .resource
                    .map(|r| crate::model::sanitize::for_terminal(a.interner.resolve(r))),
                opened: s.opened,
                released: s.released,
                peak_live: s.peak_live,
                open_at_end: s.open_at_exit,
                culprit: key.stack.and_then(|st| culprit_frame(&a.interner, st)),
            });
        }
    }
    let mut out: Vec<ProcessStats> = by_pid.into_values().collect();
    for p in &mut out {
        p.types
            .sort_by(|a, b| b.opened.cmp(&a.opened).then(a.kind.cmp(&b.kind)));
        p.top_sites.sort_by(|a, b| {
            (b.open_at_end, b.opened, &a.call, &a.resource).cmp(&(
                a.open_at_end,
                a.opened,
                &b.call,
                &b.resource,
            ))
        });
        p.top_sites.truncate(TOP_SITES);
    }
    out
}

fn add(total: &mut TypeRow, r: &TypeRow) {
    total.opened += r.opened;
    total.duplicated += r.duplicated;
    total.received += r.received;
    total.inherited += r.inherited;
    total.preexisting += r.preexisting;
    total.closed += r.closed;
    total.live_at_end += r.live_at_end;
}
