//! Triage views: plain data for the timeline, stats, graph and chart reporters,
//! read from an [`Analysis`] run with `Options::keep_graphs`. No rendering here.
//!
//! Floor: above analysis/config/baseline, below report.

pub mod chart;
pub mod graph;
pub mod stats;
pub mod timeline;

use crate::analysis::{Analysis, Selection};
use crate::lifecycle::{HandleGraph, Provenance, ReleaseHow};
use crate::model::{Event, Finding, Handle, HandleStyle, Interner, Op, Outcome, StackId};

/// How handle values are spelled in this analysis (from its first input).
pub fn handle_style(a: &Analysis) -> HandleStyle {
    a.inputs
        .first()
        .map_or(HandleStyle::Fd, |i| i.format.handle_style())
}

/// The op as one word (`open`, `dup`, `close`, `use`...).
pub fn op_name(op: &Op) -> &'static str {
    match op {
        Op::Open { .. } => "open",
        Op::Dup { .. } => "dup",
        Op::Receive { .. } => "receive",
        Op::Close => "close",
        Op::CloseRange { .. } => "close-range",
        Op::Use => "use",
        Op::Probe => "probe",
        Op::SetCloexec(_) => "set-cloexec",
        Op::Begin => "begin",
        Op::Spawn { .. } => "spawn",
        Op::Exec => "exec",
        Op::Unshare => "unshare",
        Op::TaskExit => "task-exit",
        Op::ProcessExit => "process-exit",
        Op::Alias { .. } => "alias",
        Op::GcStart => "gc-start",
        Op::GcEnd => "gc-end",
        Op::Rpc(_) => "rpc",
    }
}

/// `ok`, `?`, or the error name.
pub fn result_text(outcome: Outcome, interner: &Interner) -> String {
    match outcome {
        Outcome::Ok => "ok".to_string(),
        Outcome::Unknown => "?".to_string(),
        Outcome::Failed { name, .. } => interner.resolve(name).to_string(),
    }
}

pub fn provenance_name(p: Provenance) -> &'static str {
    match p {
        Provenance::Opened => "opened",
        Provenance::Duplicated { .. } => "duplicated",
        Provenance::Received => "received",
        Provenance::Inherited { .. } => "inherited",
        Provenance::PreExisting => "pre-existing",
    }
}

pub fn release_name(how: ReleaseHow) -> &'static str {
    match how {
        ReleaseHow::Close => "closed",
        ReleaseHow::CloseRange => "closed by close_range",
        ReleaseHow::ReplacedByDup => "replaced by dup2",
        ReleaseHow::ExecCloexec => "closed at exec (cloexec)",
        ReleaseHow::Vanished => "vanished (closed unseen)",
        ReleaseHow::Superseded => "superseded (release not seen)",
    }
}

/// A `Debug` name in kebab case: `RecycledAs` → `recycled-as`. Link kinds are
/// named this way so new ones show up without the views changing.
pub fn kebab(debug_name: &str) -> String {
    let mut out = String::new();
    for (i, c) in debug_name.chars().enumerate() {
        if !c.is_alphanumeric() {
            break;
        }
        if c.is_uppercase() && i > 0 {
            out.push('-');
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// Where in the input an event came from: `path:line` or `path record N`.
pub fn where_text(a: &Analysis, ev: &Event) -> String {
    let path = a
        .input(ev.origin.input)
        .map_or("?", |i| i.path.as_str())
        .to_string();
    let path = crate::model::sanitize::for_terminal(&path);
    if ev.origin.is_line() {
        format!("{path}:{}", ev.origin.line)
    } else {
        format!("{path} record {}", ev.origin.record)
    }
}

/// The trace line (or rendered record) of an event, sanitised.
pub fn evidence_text(a: &Analysis, ev: &Event) -> String {
    a.input(ev.origin.input)
        .map(|i| i.evidence.text(ev, &a.interner))
        .unwrap_or_default()
}

/// The frames of a stack, sanitised.
pub fn stack_frames(interner: &Interner, stack: Option<StackId>) -> Vec<String> {
    stack.map_or_else(Vec::new, |s| {
        interner
            .frames(s)
            .iter()
            .map(|f| crate::model::sanitize::for_terminal(interner.resolve(*f)))
            .collect()
    })
}

pub use crate::model::site::culprit_frame;

/// The program last run by process `pid` in this graph, sanitised.
pub fn program_of(a: &Analysis, graph: &HandleGraph, pid: u32) -> Option<String> {
    a.program_of(graph, pid)
        .map(|p| crate::model::sanitize::for_terminal(&p))
}

/// True when process `pid` of `graph` is in the selection (pid and program; not the value).
pub fn process_selected(sel: &Selection, a: &Analysis, graph: &HandleGraph, pid: u32) -> bool {
    sel.pid.is_none_or(|p| p == pid)
        && (sel.program.is_none() || sel.program_matches(program_of(a, graph, pid).as_deref()))
}

/// True when one of the finding's labels is about `handle` in process `pid`
/// with a position in `[from, to)`.
pub fn finding_touches(f: &Finding, pid: u32, handle: Handle, from: u64, to: Option<u64>) -> bool {
    f.labels.iter().any(|l| {
        let e = &l.event;
        let on_value = e.handle == handle
            || matches!(e.op, Op::Dup { source, .. } if source == handle)
            || matches!(e.op, Op::CloseRange { last, .. } if e.handle <= handle && handle <= last);
        on_value && (e.pid == pid || f.pid == pid) && e.seq >= from && to.is_none_or(|t| e.seq < t)
    })
}

/// Findings by the values their labels are about, for lookups per generation
/// (a `close_range` label is listed under every value of its range up to 4096).
pub fn findings_by_value(findings: &[Finding]) -> rustc_hash::FxHashMap<Handle, Vec<&Finding>> {
    let mut out: rustc_hash::FxHashMap<Handle, Vec<&Finding>> = Default::default();
    for f in findings {
        let mut values: Vec<Handle> = Vec::new();
        for l in &f.labels {
            let e = &l.event;
            values.push(e.handle);
            match e.op {
                Op::Dup { source, .. } => values.push(source),
                Op::CloseRange { last, .. } => {
                    values.extend(e.handle..=last.min(e.handle.saturating_add(4096)))
                }
                _ => {}
            }
        }
        values.sort_unstable();
        values.dedup();
        for v in values {
            out.entry(v).or_default().push(f);
        }
    }
    out
}

/// Seconds from `start` as `+1.234567`.
pub fn rel_time(time: Option<i64>, start: Option<i64>) -> Option<String> {
    let (t, s) = (time?, start?);
    let d = t - s;
    let sign = if d < 0 { "-" } else { "+" };
    let d = d.unsigned_abs();
    Some(format!(
        "{sign}{}.{:06}",
        d / 1_000_000_000,
        (d % 1_000_000_000) / 1000
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kebab_names() {
        assert_eq!(kebab("RecycledAs"), "recycled-as");
        assert_eq!(kebab("StaleReleaseOf"), "stale-release-of");
        assert_eq!(kebab("Collateral { x: 1 }"), "collateral");
    }

    #[test]
    fn relative_times() {
        assert_eq!(
            rel_time(Some(1_500_000_000), Some(0)).as_deref(),
            Some("+1.500000")
        );
        assert_eq!(rel_time(Some(0), Some(2_000)).as_deref(), Some("-0.000002"));
        assert_eq!(rel_time(None, Some(0)), None);
    }
}
