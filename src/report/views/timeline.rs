//! One handle value's history: every generation in order, each event on it,
//! and the findings that touch it.

use serde::Serialize;

use super::{
    evidence_text, finding_touches, handle_style, op_name, program_of, provenance_name, rel_time,
    result_text, stack_frames, where_text,
};
use crate::analysis::{Analysis, Selection};
use crate::lifecycle::{Generation, HandleGraph};
use rustc_hash::FxHashMap;

use crate::model::{Event, Finding, Handle, Origin};

#[derive(Debug, Serialize)]
pub struct Timeline {
    /// `fd 3`, `handle 0x1a4`.
    pub handle: String,
    pub value: Handle,
    pub generations: Vec<TimelineGeneration>,
    /// Events on the value beyond what is kept (the view keeps 200,000).
    pub events_dropped: u64,
    pub findings: Vec<FindingRef>,
}

#[derive(Debug, Serialize)]
pub struct TimelineGeneration {
    /// 1-based, in order of creation; 0 for events on the value while no generation was open.
    pub number: usize,
    pub pid: u32,
    pub program: Option<String>,
    /// opened, duplicated, received, inherited, pre-existing, not-open.
    pub how_made: &'static str,
    pub kind: String,
    /// Fingerprints of the findings whose evidence falls in this generation.
    pub findings: Vec<String>,
    pub rows: Vec<TimelineRow>,
}

#[derive(Debug, Serialize)]
pub struct TimelineRow {
    pub seq: u64,
    /// Seconds from the first event of the trace (`+0.001234`), when it has times.
    pub time: Option<String>,
    pub pid: u32,
    pub tid: u32,
    pub op: &'static str,
    pub call: String,
    pub handle: Handle,
    pub resource: Option<String>,
    pub result: String,
    /// `trace.txt:12` or `trace.etl record 40`.
    pub at: String,
    /// Codes of the findings that cite this very event.
    pub findings: Vec<String>,
    /// What the finding says about this event, when one cites it.
    pub role: Option<String>,
    pub stack: Vec<String>,
    /// The trace line itself (or the rendered record); empty when not asked for.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub evidence: String,
    /// Labels and rows match by sequence number and origin (two `-ff` groups
    /// have their own sequence numbers).
    #[serde(skip)]
    pub origin: crate::model::Origin,
}

#[derive(Debug, Serialize)]
pub struct FindingRef {
    pub code: &'static str,
    pub level: &'static str,
    pub message: String,
    pub fingerprint: String,
}

pub fn finding_ref(f: &Finding) -> FindingRef {
    FindingRef {
        code: f.code,
        level: f.level.as_str(),
        message: crate::model::sanitize::for_terminal(&f.message),
        fingerprint: f.fingerprint.clone(),
    }
}

/// The timeline of `sel.handle` (narrowed by `sel.pid` / `sel.tid` / `sel.program`),
/// from the history the analysis kept (`Options::keep_graphs` with the same selection).
///
/// `with_evidence`: read each event's trace line back (JSON); the table does
/// not show it, and on a value with 100,000 events the reads dominate.
pub fn build(a: &Analysis, sel: &Selection, with_evidence: bool) -> Option<Timeline> {
    let value = sel.handle?;
    // Only findings with evidence on the value can touch its generations.
    let on_value: Vec<&Finding> = a
        .findings
        .iter()
        .filter(|f| touches_any_pid(f, value))
        .collect();
    let mut generations: Vec<TimelineGeneration> = Vec::new();
    let mut dropped = 0;
    for graph in &a.graphs {
        let Some(h) = &graph.history else { continue };
        dropped += h.events_dropped;
        let mut gens: Vec<_> = h
            .gens
            .iter()
            .filter(|g| super::process_selected(sel, a, graph, g.pid))
            .collect();
        gens.sort_by_key(|g| (g.seq, g.id));
        let start = generations.len();
        for g in &gens {
            generations.push(TimelineGeneration {
                number: 0,
                pid: g.pid,
                program: program_of(a, graph, g.pid),
                how_made: provenance_name(g.provenance),
                kind: g.kind.as_str().to_string(),
                findings: Vec::new(),
                rows: Vec::new(),
            });
        }
        let mut by_pid: FxHashMap<u32, Vec<(u64, usize)>> = FxHashMap::default();
        for (i, g) in gens.iter().enumerate() {
            by_pid.entry(g.pid).or_default().push((g.seq, i));
        }
        // Events on the value before any generation of its process: "not open".
        let mut orphans: Vec<TimelineGeneration> = Vec::new();
        for kept in &h.events {
            let (ev, pid) = (&kept.event, kept.pid);
            if !super::process_selected(sel, a, graph, pid) {
                continue;
            }
            let row = row_with(a, ev, h.first_time, with_evidence);
            // The latest generation of this process that began at or before the event.
            let owner = by_pid.get(&pid).and_then(|list| {
                let n = list.partition_point(|(seq, _)| *seq <= ev.seq);
                n.checked_sub(1).map(|k| start + list[k].1)
            });
            match owner {
                Some(i) => generations[i].rows.push(row),
                None => match orphans.iter_mut().find(|o| o.pid == pid) {
                    Some(o) => o.rows.push(row),
                    None => orphans.push(TimelineGeneration {
                        number: 0,
                        pid,
                        program: program_of(a, graph, pid),
                        how_made: "not-open",
                        kind: ev.kind.as_str().to_string(),
                        findings: Vec::new(),
                        rows: vec![row],
                    }),
                },
            }
        }
        // Findings per generation: evidence on the value in the generation's span.
        for (i, g) in gens.iter().enumerate() {
            let next = by_pid.get(&g.pid).and_then(|list| {
                let k = list.partition_point(|(_, j)| *j <= i);
                list.get(k).map(|(seq, _)| *seq)
            });
            generations[start + i].findings = on_value
                .iter()
                .filter(|f| finding_touches(f, g.pid, value, g.seq, next))
                .map(|f| f.fingerprint.clone())
                .collect();
        }
        for o in &mut orphans {
            let first = gens.iter().find(|g| g.pid == o.pid).map(|g| g.seq);
            o.findings = on_value
                .iter()
                .filter(|f| finding_touches(f, o.pid, value, 0, first))
                .map(|f| f.fingerprint.clone())
                .collect();
        }
        generations.splice(start..start, orphans);
    }
    for (n, g) in generations
        .iter_mut()
        .filter(|g| g.how_made != "not-open")
        .enumerate()
    {
        g.number = n + 1;
    }
    let cites = citations(&on_value);
    for g in &mut generations {
        for r in &mut g.rows {
            if let Some(c) = cites.get(&(r.origin, r.seq)) {
                r.findings = c.iter().map(|(code, _)| code.to_string()).collect();
                r.role = c.first().map(|(_, role)| role.clone());
            }
        }
    }
    let cited: Vec<&String> = generations.iter().flat_map(|g| &g.findings).collect();
    let findings = a
        .findings
        .iter()
        .filter(|f| cited.contains(&&f.fingerprint))
        .map(finding_ref)
        .collect();
    Some(Timeline {
        handle: handle_style(a).name(value),
        value,
        generations,
        events_dropped: dropped,
        findings,
    })
}

fn row(a: &Analysis, ev: &Event, start: Option<i64>) -> TimelineRow {
    row_with(a, ev, start, true)
}

fn row_with(a: &Analysis, ev: &Event, start: Option<i64>, evidence: bool) -> TimelineRow {
    TimelineRow {
        seq: ev.seq,
        time: rel_time(ev.time, start),
        pid: ev.pid,
        tid: ev.tid,
        op: op_name(&ev.op),
        call: crate::model::sanitize::for_terminal(a.interner.resolve(ev.call)),
        handle: ev.handle,
        resource: ev
            .resource
            .map(|r| crate::model::sanitize::for_terminal(a.interner.resolve(r))),
        result: crate::model::sanitize::for_terminal(&result_text(ev.outcome, &a.interner)),
        at: where_text(a, ev),
        findings: Vec::new(),
        role: None,
        stack: stack_frames(&a.interner, ev.stack),
        evidence: if evidence {
            evidence_text(a, ev)
        } else {
            String::new()
        },
        origin: ev.origin,
    }
}

/// True when a label of `f` is on `value` in any process.
fn touches_any_pid(f: &Finding, value: Handle) -> bool {
    f.labels
        .iter()
        .any(|l| finding_touches(f, l.event.pid, value, 0, None))
}

/// Per cited event (origin, seq): the codes citing it and the first label's words.
fn citations(findings: &[&Finding]) -> FxHashMap<(Origin, u64), Vec<(&'static str, String)>> {
    let mut out: FxHashMap<(Origin, u64), Vec<(&'static str, String)>> = FxHashMap::default();
    for f in findings {
        for l in &f.labels {
            let role = format!(
                "{}: {}",
                l.role.as_str(),
                crate::model::sanitize::for_terminal(&l.text)
            );
            let cited = out.entry((l.event.origin, l.event.seq)).or_default();
            if !cited.iter().any(|(c, _)| *c == f.code) {
                cited.push((f.code, role));
            }
        }
    }
    out
}

/// The kept generations of every graph by (process, handle value), ordered
/// by where their span starts: built once, so that each finding's timeline
/// looks up the few generations its labels fall in instead of scanning every
/// generation (the html report draws one timeline per finding).
pub struct GenerationIndex {
    /// Per graph of the analysis, in order.
    graphs: Vec<FxHashMap<(u32, Handle), Vec<GenSpan>>>,
}

/// `[from, to)` of one generation (`to`: the next generation's open, else
/// `u64::MAX`), with the largest `to` of the spans up to it in the list.
struct GenSpan {
    from: u64,
    to: u64,
    max_to: u64,
    gen_index: usize,
}

/// A generation's span as [`finding_touches`] reads it.
pub(super) fn span_of(graph: &HandleGraph, g: &Generation) -> (u64, Option<u64>) {
    let from = g.open().map_or(0, |e| e.seq);
    let to = g
        .next
        .and_then(|n| graph.gen_(n))
        .and_then(|n| n.open())
        .map(|e| e.seq);
    (from, to)
}

impl GenerationIndex {
    pub fn new(a: &Analysis) -> GenerationIndex {
        let graphs = a
            .graphs
            .iter()
            .map(|graph| {
                let mut by: FxHashMap<(u32, Handle), Vec<GenSpan>> = FxHashMap::default();
                for (gen_index, g) in graph.gens.iter().enumerate() {
                    let (from, to) = span_of(graph, g);
                    by.entry((graph.table(g.table).pid, g.handle))
                        .or_default()
                        .push(GenSpan {
                            from,
                            to: to.unwrap_or(u64::MAX),
                            max_to: 0,
                            gen_index,
                        });
                }
                for spans in by.values_mut() {
                    spans.sort_unstable_by_key(|s| (s.from, s.gen_index));
                    let mut max = 0;
                    for s in spans.iter_mut() {
                        max = max.max(s.to);
                        s.max_to = max;
                    }
                }
                by
            })
            .collect();
        GenerationIndex { graphs }
    }

    /// Pushes the generations of graph `graph` in process `pid` on `value`
    /// whose span holds `seq`.
    fn holding(&self, graph: usize, pid: u32, value: Handle, seq: u64, out: &mut Vec<usize>) {
        let Some(spans) = self.graphs.get(graph).and_then(|m| m.get(&(pid, value))) else {
            return;
        };
        let starts_by = spans.partition_point(|s| s.from <= seq);
        for s in spans[..starts_by].iter().rev() {
            if s.max_to <= seq {
                break;
            }
            if seq < s.to {
                out.push(s.gen_index);
            }
        }
    }
}

/// A finding's own timeline, from what the graph kept of the generations it
/// touches (open, uses, release, operations after release) and its labels.
pub fn for_finding(a: &Analysis, f: &Finding, index: &GenerationIndex) -> Vec<TimelineRow> {
    let Some(primary) = f.primary() else {
        return Vec::new();
    };
    let value = primary.event.handle;
    let mut events: Vec<Event> = f.labels.iter().map(|l| l.event).collect();
    for (k, graph) in a.graphs.iter().enumerate() {
        for g in generations_of(graph, k, index, f, value) {
            events.extend(g.open());
            events.extend(g.cold.use_sites.items.iter().copied());
            events.extend(g.cold.failed_uses.items.iter().copied());
            events.extend(g.release().map(|r| r.event));
            events.extend(g.cold.after_release.items.iter().copied());
            events.extend(g.cold.in_flight_at_release.items.iter().copied());
        }
    }
    events.sort_by_key(|e| (e.origin.input, e.seq));
    events.dedup_by_key(|e| (e.origin.input, e.seq));
    let start = a
        .graphs
        .iter()
        .find_map(|g| g.history.as_ref().and_then(|h| h.first_time));
    let mut rows: Vec<TimelineRow> = events.iter().map(|e| row(a, e, start)).collect();
    for r in &mut rows {
        if let Some(l) = f
            .labels
            .iter()
            .find(|l| l.event.seq == r.seq && l.event.origin == r.origin)
        {
            r.findings.push(f.code.to_string());
            r.role = Some(format!(
                "{}: {}",
                l.role.as_str(),
                crate::model::sanitize::for_terminal(&l.text)
            ));
        }
    }
    rows
}

/// The kept generations of `value` whose span holds one of the finding's
/// labels, in the graph's order: the candidates from the index (each label's
/// position, in its process and the finding's), then the exact test.
fn generations_of<'g>(
    graph: &'g HandleGraph,
    graph_number: usize,
    index: &GenerationIndex,
    f: &Finding,
    value: Handle,
) -> Vec<&'g Generation> {
    let mut candidates = Vec::new();
    for l in &f.labels {
        for pid in [l.event.pid, f.pid] {
            index.holding(graph_number, pid, value, l.event.seq, &mut candidates);
        }
    }
    candidates.sort_unstable();
    candidates.dedup();
    candidates
        .into_iter()
        .filter_map(|i| graph.gens.get(i))
        .map(|g| &**g)
        .filter(|g| {
            let pid = graph.table(g.table).pid;
            let (from, to) = span_of(graph, g);
            finding_touches(f, pid, value, from, to)
        })
        .collect()
}
