use std::collections::BTreeMap;

use crate::lifecycle::{Generation, Provenance, SiteStats};
use crate::model::{Confidence, Level, Role};

use super::evidence::label;
use super::{Findings, RuleContext, declare_rule};
use crate::model::site::culprit_frame;

declare_rule! {
    /// ## What it finds
    /// Handles from one allocation site that accumulate: the site's live count
    /// keeps rising over the trace, or the table fills up (`EMFILE`, `ENFILE`).
    /// Findings are grouped by site (the creating call, the resource with numbers
    /// folded, and the stack when recorded) with the count trend. Handles merely
    /// still open when the process exits are an info-level note.
    ///
    /// A bounded working set is not a leak: a leak grows with repeated work.
    /// A site whose opens all came early, with none in the last
    /// `leak_tail_percent` (config `[thresholds]`, default 50) of the time from
    /// its first open to the process's end, is a pool opened at start (wrk's
    /// connections, a worker pool's pipes); files kept open once each (every
    /// live handle of the site names a different file: a database backend's
    /// relation files) are a cache. A site needs `leak_min` (default 8) handles
    /// still open to be reported. A full table (`EMFILE`) is always reported.
    ///
    /// ## Why it matters
    /// A leak that grows with work or time ends in "Too many open files" or a
    /// handle quota, usually in production and far from the leaking code.
    ///
    /// ## Example
    /// ```text
    /// 33 openat(AT_FDCWD, "/dev/null", O_RDONLY) = 3</dev/null>
    /// 35 openat(AT_FDCWD, "/dev/null", O_RDONLY) = 4</dev/null>
    /// ...  (200 opens from the same site, none closed)
    /// ```
    ///
    /// ## How to fix
    /// Close the handle on every path out of the code that opens it (RAII,
    /// `using`, `defer`, `try/finally`), including error paths.
    pub struct HandleLeak {
        code: "HC006",
        name: "handle-leak",
        level: Level::Warning,
        summary: "handles from one site accumulate",
    }
}

/// A site's live count over the trace, at most nine points: `1 → 4 → 7 …`.
fn trend(s: &SiteStats) -> String {
    let points: Vec<String> = s
        .samples
        .iter()
        .step_by((s.samples.len() / 8).max(1))
        .map(|(_, live)| live.to_string())
        .collect();
    points.join(" → ")
}

impl HandleLeak {
    /// Every open of the site came in the first part of its life: from its
    /// first open to the process's end, the last `leak_tail_percent` saw no
    /// new handle from it (a fixed connection pool, a worker pool's pipes).
    fn opened_in_early_burst(
        cx: &RuleContext<'_>,
        table: crate::lifecycle::TableId,
        s: &SiteStats,
    ) -> bool {
        let Some(end) = cx.graph.table(table).ended.as_deref() else {
            return false;
        };
        // A synthetic end (the trace stopped first) says nothing about time.
        if end.origin.line == 0 && end.origin.record == 0 {
            return false;
        }
        let (first, last) = (s.first_open.seq, s.last_open.seq);
        if end.seq <= first {
            return false;
        }
        let span = end.seq - first;
        let tail = span.saturating_mul(cx.thresholds.leak_tail_percent.min(100)) / 100;
        last - first < span - tail
    }

    /// Files kept open once each (a cache of relation files, of libraries):
    /// every handle of the site still open names a different file.
    fn file_cache(cx: &RuleContext<'_>, key: &crate::lifecycle::SiteKey) -> bool {
        use crate::model::ResourceKind;
        if !matches!(key.kind, ResourceKind::File | ResourceKind::Directory) {
            return false;
        }
        let mut names: Vec<crate::model::Sym> = Vec::new();
        for g in cx
            .graph
            .gens
            .iter()
            .filter(|g| cx.graph.site_of(g) == Some(*key) && g.is_live_at_end())
        {
            let Some(r) = g.resource else { return false };
            names.push(r);
        }
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        n > 0 && names.len() == n
    }
}

impl HandleLeak {
    fn check(&self, cx: &RuleContext<'_>, out: &mut Findings) {
        let mut growing_sites = Vec::new();
        // Growing sites.
        for (key, s) in &cx.graph.sites {
            if s.open_at_exit + s.live < cx.thresholds.leak_min || !s.keeps_rising() {
                continue;
            }
            // A table that filled up gets one finding (below) naming this site.
            if !cx.graph.table(key.table).table_full.is_empty() {
                continue;
            }
            // A bounded working set is not growth: a pool opened in a burst and
            // then only used, or a cache of files each kept open once.
            if Self::opened_in_early_burst(cx, key.table, s) || Self::file_cache(cx, key) {
                continue;
            }
            // Handles made per worker thread are HC005's to report.
            if cx
                .graph
                .gens
                .iter()
                .any(|g| cx.graph.site_of(g) == Some(*key) && g.cold.thread_link.is_some())
            {
                continue;
            }
            growing_sites.push(*key);
            let table = cx.graph.table(key.table);
            let resource = key
                .resource
                .map(|r| cx.text(r))
                .unwrap_or_else(|| key.kind.as_str().to_string());
            let mut f = cx.finding(
                &META,
                Level::Warning,
                format!(
                    "{} of {} {} handles from {} were never released: the live count kept rising to {}",
                    s.opened - s.released.min(s.opened),
                    s.opened,
                    resource,
                    cx.text(key.call),
                    s.peak_live
                ),
            );
            f.pid = table.pid;
            f.confidence = Confidence::High;
            f.labels.push(label(
                &s.first_open,
                Role::Open,
                "first handle from this site",
            ));
            if s.last_open.seq != s.first_open.seq {
                f.labels.push(label(
                    &s.last_open,
                    Role::Open,
                    format!("last one; {} live now", s.peak_live),
                ));
            }
            f.notes
                .push(format!("live count from this site over the trace: {}", trend(s)).into());
            f.site = format!(
                "{}|{}|{}|{}",
                cx.program(table),
                cx.text(key.call),
                crate::rules::evidence::fold_digits(&resource),
                cx.stack_site(&s.first_open)
            );
            out.push(f);
        }
        // Full tables.
        for table in &cx.graph.tables {
            let Some((first_full, live)) = table.table_full.items.first() else {
                continue;
            };
            let mut top: Vec<&(crate::lifecycle::SiteKey, crate::lifecycle::SiteStats)> = cx
                .graph
                .sites
                .iter()
                .filter(|(k, _)| k.table == table.id)
                .collect();
            top.sort_by_key(|(_, s)| std::cmp::Reverse(s.peak_live));
            let culprit = top.first();
            let mut f = cx.finding(
                &META,
                Level::Warning,
                format!(
                    "the handle table is full: {} fails with {} with {} handles open{}",
                    cx.call(first_full),
                    match first_full.outcome {
                        crate::model::Outcome::Failed { name, .. } => cx.text(name),
                        _ => "an error".into(),
                    },
                    live,
                    culprit
                        .map(|(k, s)| format!(
                            ", {} of them from {} of {}",
                            s.peak_live,
                            cx.text(k.call),
                            k.resource
                                .map(|r| cx.text(r))
                                .unwrap_or_else(|| k.kind.as_str().into())
                        ))
                        .unwrap_or_default()
                ),
            );
            f.pid = table.pid;
            f.confidence = Confidence::High;
            if let Some((_, s)) = culprit {
                f.labels.push(label(
                    &s.first_open,
                    Role::Open,
                    "first handle from the top site",
                ));
                f.labels.push(label(
                    &s.last_open,
                    Role::Open,
                    "last one before the table filled",
                ));
            }
            f.labels
                .push(label(first_full, Role::Failure, "table full here"));
            if let Some((_, s)) = culprit
                && !s.samples.is_empty()
            {
                f.notes.push(
                    format!("live count from the top site over the trace: {}", trend(s)).into(),
                );
            }
            if table.table_full.total() > 1 {
                f.notes.push(
                    format!(
                        "{} calls failed for lack of handles",
                        table.table_full.total()
                    )
                    .into(),
                );
            }
            f.site = format!(
                "{}|table-full|{}",
                cx.program(table),
                culprit.map(|(k, _)| cx.text(k.call)).unwrap_or_default()
            );
            out.push(f);
        }
        // Still open at the end: grouped per table and open stack (per table
        // only, without stacks). A note, unless the tracer itself listed them as
        // outstanding (`!htrace -diff`, Application Verifier 0x901): a warning.
        type GroupKey = (u32, bool, Option<crate::model::StackId>);
        let mut groups: BTreeMap<GroupKey, Vec<&Generation>> = BTreeMap::new();
        for g in &cx.graph.gens {
            if g.open_at_exit.is_none() || g.release.is_some() || g.cold.thread_link.is_some() {
                continue;
            }
            if cx.style == crate::rules::HandleStyle::Fd && g.handle < 3 {
                continue;
            }
            if !matches!(
                g.provenance,
                Provenance::Opened | Provenance::Duplicated { .. } | Provenance::Received
            ) {
                continue;
            }
            if cx
                .graph
                .site_of(g)
                .is_some_and(|s| growing_sites.contains(&s))
                || !cx.table_of(g).table_full.is_empty()
            {
                continue;
            }
            // Tool-reported outstanding handles group by open stack (that is
            // the question `!htrace -diff` answers); plain notes, per process.
            let reported = g
                .open()
                .is_some_and(|o| o.has(crate::model::flags::RUNDOWN));
            let stack = g.open().and_then(|o| o.stack).filter(|_| reported);
            groups
                .entry((g.table.0, reported, stack))
                .or_default()
                .push(g);
        }
        for ((_, _, stack), gens) in groups {
            let first = gens[0];
            let table = cx.table_of(first);
            let reported_by_tool = gens.iter().any(|g| {
                g.open()
                    .is_some_and(|o| o.has(crate::model::flags::RUNDOWN))
            });
            let culprit = stack.and_then(|s| culprit_frame(cx.interner, s));
            let names: Vec<String> = gens.iter().take(5).map(|g| cx.describe(g)).collect();
            // A dump of a live process (no exit in the trace) shows handles
            // open when it was taken, not at exit.
            let exited = table
                .ended
                .as_deref()
                .is_some_and(|e| e.origin.line != 0 || e.origin.record != 0);
            let what = if reported_by_tool {
                "outstanding at the end of the trace"
            } else if exited {
                "still open at exit"
            } else {
                "still open when the trace ends (the process had not exited)"
            };
            let mut f = cx.finding(
                &META,
                if reported_by_tool {
                    Level::Warning
                } else {
                    Level::Note
                },
                format!(
                    "{} handle{} {what}{}: {}{}",
                    gens.len(),
                    if gens.len() == 1 { "" } else { "s" },
                    culprit
                        .as_ref()
                        .map(|c| format!(", opened by {c}"))
                        .unwrap_or_default(),
                    names.join(", "),
                    if gens.len() > 5 { ", ..." } else { "" }
                ),
            );
            // Open at exit is what most real programs do: folded in human output.
            f.folded = !reported_by_tool;
            f.pid = table.pid;
            f.confidence = Confidence::High;
            for g in gens.iter().take(5) {
                if let Some(open) = g.open() {
                    let by = open
                        .stack
                        .and_then(|st| culprit_frame(cx.interner, st))
                        .map(|c| format!(" by {c}"))
                        .unwrap_or_default();
                    f.labels.push(label(
                        &open,
                        Role::Open,
                        format!("{} opened here{by}, never closed", cx.describe(g)),
                    ));
                }
            }
            if let Some(end) = table.ended.as_deref()
                && (end.origin.line != 0 || end.origin.record != 0)
            {
                f.labels.push(label(end, Role::Exit, "process exits"));
            }
            if reported_by_tool {
                f.notes.push("the debugger or verifier listed these handles as still open: opened and never closed since tracing began".into());
            } else if exited {
                f.notes.push("the OS closes them at exit; this matters only if the code also runs in a long-lived process".into());
            } else {
                f.notes.push("the process was still running when the trace ended: these may be closed later; a later dump or a longer recording shows whether they pile up".into());
            }
            f.site = format!(
                "{}|open-at-exit|{}",
                cx.program(table),
                culprit.unwrap_or_default()
            );
            out.push(f);
        }
    }
}
