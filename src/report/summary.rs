//! Tables: the end-of-run summary and the `rules` listing (comfy-table).

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};

use crate::analysis::Analysis;
use crate::model::{Finding, Level};
use crate::rules::Rule;

use super::ci::CiContext;

fn table(color: bool) -> Table {
    let mut t = Table::new();
    t.load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    if !color {
        t.force_no_tty();
    }
    t
}

/// A table that fits `width` columns.
fn table_fitting(color: bool, width: usize) -> Table {
    let mut t = table(color);
    t.set_width(u16::try_from(width).unwrap_or(u16::MAX));
    t
}

/// Per input: what was read; per rule: how many findings at which level;
/// then the totals line (`2 errors, 1 warning, 14 notes (13 hidden ...)`).
pub fn render_view(cx: &CiContext<'_>, color: bool, width: usize) -> String {
    let mut out = tables(cx.analysis, &cx.findings, color, width, |p| {
        cx.display_path(p)
    });
    for w in &cx.evidence.warnings {
        out.push_str(&format!("warning: {w}\n"));
    }
    out.push_str(&cx.totals_line());
    out.push('\n');
    out
}

fn tables(
    a: &Analysis,
    findings: &[&Finding],
    color: bool,
    width: usize,
    name: impl Fn(&str) -> String,
) -> String {
    let mut out = String::new();
    let mut inputs = table_fitting(color, width);
    inputs.set_header(vec![
        "input",
        "format",
        "lines/records",
        "events",
        "skipped",
    ]);
    for i in &a.inputs {
        inputs.add_row(vec![
            // Long paths lose their left part, never a split in the middle.
            super::text::elide_left(
                &crate::model::sanitize::for_terminal(&name(&i.path)),
                width.saturating_sub(56).max(16),
            ),
            i.format.as_str().to_string(),
            i.stats.units.to_string(),
            i.stats.events.to_string(),
            i.stats.skipped.to_string(),
        ]);
    }
    out.push_str(&inputs.to_string());
    out.push('\n');
    for i in &a.inputs {
        for (reason, s) in &i.stats.skipped_by_reason {
            out.push_str(&format!(
                "  {}: skipped {} ({}, first at {})\n",
                crate::model::sanitize::for_terminal(&name(&i.path)),
                s.count,
                crate::model::sanitize::for_terminal(reason),
                s.first_at
            ));
        }
        for (what, n) in &i.stats.lost {
            out.push_str(&format!(
                "  {}: the tracer lost {n} {what}\n",
                crate::model::sanitize::for_terminal(&name(&i.path))
            ));
        }
        for notice in &i.stats.notices {
            out.push_str(&format!(
                "  {}: notice: {}\n",
                crate::model::sanitize::for_terminal(&i.path),
                crate::model::sanitize::for_terminal(notice)
            ));
        }
    }
    if findings.is_empty() {
        return out;
    }
    let mut by_rule = table_fitting(color, width);
    by_rule.set_header(vec!["rule", "name", "errors", "warnings", "notes"]);
    for r in crate::rules::registry() {
        let m = r.meta();
        let of = |lvl: Level| {
            findings
                .iter()
                .filter(|f| f.code == m.code && f.level == lvl)
                .count()
        };
        let (e, w, n) = (of(Level::Error), of(Level::Warning), of(Level::Note));
        if e + w + n > 0 {
            by_rule.add_row(vec![
                m.code.to_string(),
                m.name.to_string(),
                e.to_string(),
                w.to_string(),
                n.to_string(),
            ]);
        }
    }
    out.push_str(&by_rule.to_string());
    out.push('\n');
    out
}

/// How many notes the human output folded and how to see them (empty when none).
pub fn folded_line(findings: &[&Finding], shown: bool) -> String {
    let n = findings.iter().filter(|f| f.folded).count();
    match (n, shown) {
        (0, _) => String::new(),
        (n, true) => format!(
            "{n} folded note{} shown (-v)\n",
            if n == 1 { "" } else { "s" }
        ),
        (n, false) => format!(
            "{n} note{} folded (handles open at exit, sweeps over closed fds): -v shows them; --format json or sarif lists them\n",
            if n == 1 { "" } else { "s" }
        ),
    }
}

pub fn rules_table(rules: &[&'static dyn Rule], color: bool) -> String {
    let mut t = table(color);
    t.set_header(vec!["code", "name", "level", "finds"]);
    for r in rules {
        let m = r.meta();
        t.add_row(vec![m.code, m.name, m.level.as_str(), m.summary]);
    }
    let mut s = t.to_string();
    s.push('\n');
    s
}

/// `rules --format json`: every rule with its code, name, default level and summary.
pub fn rules_json(rules: &[&'static dyn Rule]) -> String {
    let list: Vec<serde_json::Value> = rules
        .iter()
        .map(|r| {
            let m = r.meta();
            serde_json::json!({
                "code": m.code,
                "name": m.name,
                "level": m.level.as_str(),
                "summary": m.summary,
            })
        })
        .collect();
    let mut s = serde_json::to_string_pretty(&list).unwrap_or_else(|_| "[]".into());
    s.push('\n');
    s
}
