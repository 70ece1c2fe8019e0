//! Tables: the end-of-run summary and the `rules` listing (comfy-table).

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};

use crate::analysis::Analysis;
use crate::model::{Finding, Level};
use crate::rules::Rule;

fn table(color: bool) -> Table {
    let mut t = Table::new();
    t.load_style(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    if !color {
        t.force_no_tty();
    }
    t
}

/// Per input: what was read; per rule: how many findings at which level.
pub fn render(a: &Analysis, findings: &[&Finding], color: bool) -> String {
    let mut out = String::new();
    let mut inputs = table(color);
    inputs.set_header(vec![
        "input",
        "format",
        "lines/records",
        "events",
        "skipped",
    ]);
    for i in &a.inputs {
        inputs.add_row(vec![
            crate::report::sanitize::for_terminal(&i.path),
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
                crate::report::sanitize::for_terminal(&i.path),
                s.count,
                crate::report::sanitize::for_terminal(reason),
                s.first_at
            ));
        }
        for (what, n) in &i.stats.lost {
            out.push_str(&format!(
                "  {}: the tracer lost {n} {what}\n",
                crate::report::sanitize::for_terminal(&i.path)
            ));
        }
    }
    if findings.is_empty() {
        out.push_str("no findings\n");
        return out;
    }
    let mut by_rule = table(color);
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
