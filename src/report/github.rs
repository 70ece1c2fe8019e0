//! `--format github`: GitHub Actions workflow commands
//! (`::error file=...,line=...,title=HC001 double-release::message`) and a
//! Markdown job summary for `$GITHUB_STEP_SUMMARY`.
//!
//! GitHub shows at most 10 error and 10 warning annotations per step, so the
//! most severe findings come first and each kind is capped at
//! [`MAX_PER_KIND`]; the summary lists everything (up to [`MAX_SUMMARY_ROWS`]).

use std::fmt::Write as _;
use std::io::{self, Write};

use crate::model::{Finding, Level};

use super::ci::{CiContext, by_severity, evidence_lines};

/// Annotations of one kind (error, warning, notice) GitHub displays per step.
pub const MAX_PER_KIND: usize = 10;
/// Rows in the job summary (GitHub's limit is 1 MiB per step summary).
pub const MAX_SUMMARY_ROWS: usize = 500;

/// Escapes a command's message: `%`, CR and LF (actions/toolkit `escapeData`);
/// other control characters and bidi overrides, which GitHub's log viewer
/// would interpret and the command syntax cannot escape, become `�`.
pub fn escape_data(s: &str) -> String {
    let s = s
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A");
    crate::model::sanitize::for_terminal(&s)
}

/// Escapes a property value: as [`escape_data`] plus `:` and `,` (`escapeProperty`).
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

fn command(level: Level) -> &'static str {
    match level {
        Level::Error => "error",
        Level::Warning => "warning",
        Level::Note => "notice",
    }
}

/// One workflow command for one finding.
pub fn annotation(cx: &CiContext<'_>, f: &Finding) -> String {
    let mut props = Vec::new();
    let primary = cx.primary(f);
    if let Some(p) = &primary {
        props.push(format!("file={}", escape_property(&p.path)));
        if let Some(line) = p.line {
            props.push(format!("line={line}"));
        }
    }
    props.push(format!(
        "title={}",
        escape_property(&format!("{} {}", f.code, f.name))
    ));
    let mut msg = format!(
        "{} [{} confidence]",
        crate::model::sanitize::for_terminal(&f.message),
        f.confidence.as_str()
    );
    if let Some(p) = &primary
        && p.line.is_none()
    {
        let _ = write!(msg, " ({})", p.short());
    }
    for l in evidence_lines(cx, f) {
        msg.push('\n');
        msg.push_str(&l);
    }
    format!(
        "::{} {}::{}",
        command(f.level),
        props.join(","),
        escape_data(&msg)
    )
}

/// The workflow commands as text (see [`write`]).
pub fn render(cx: &CiContext<'_>) -> String {
    super::pretty::to_string(|w| write(cx, w))
}

/// Writes the annotations (at most [`MAX_PER_KIND`] of each kind, then a line
/// saying how many were not annotated), the lost-event warnings and the totals.
pub fn write(cx: &CiContext<'_>, w: &mut dyn Write) -> io::Result<()> {
    let mut shown = [0usize; 3];
    let mut held = 0usize;
    for f in by_severity(&cx.findings).iter() {
        let slot = &mut shown[f.level as usize];
        if *slot >= MAX_PER_KIND {
            held += 1;
            continue;
        }
        *slot += 1;
        writeln!(w, "{}", annotation(cx, f))?;
    }
    if held > 0 {
        writeln!(
            w,
            "handlecheck: {held} more findings not annotated (GitHub shows {MAX_PER_KIND} per kind); see the job summary"
        )?;
    }
    for i in &cx.analysis.inputs {
        for (what, n) in &i.stats.lost {
            writeln!(
                w,
                "::warning title=handlecheck: trace incomplete::{}",
                escape_data(&format!(
                    "{}: the tracer lost {n} {what}; findings an unseen event could explain have low confidence",
                    cx.display_path(&i.path)
                ))
            )?;
        }
    }
    writeln!(
        w,
        "handlecheck: {} in {} inputs",
        cx.totals_line(),
        cx.analysis.inputs.len()
    )
}

fn counts(findings: &[&Finding]) -> (usize, usize, usize) {
    let of = |l: Level| findings.iter().filter(|f| f.level == l).count();
    (of(Level::Error), of(Level::Warning), of(Level::Note))
}

/// Text in a Markdown table cell: no line breaks, `|` and HTML escaped.
fn cell(s: &str) -> String {
    crate::model::sanitize::for_terminal(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
        .replace('`', "'")
}

/// The Markdown job summary.
pub fn step_summary(cx: &CiContext<'_>) -> String {
    let (e, w, n) = counts(&cx.findings);
    let mut s = String::from("## handlecheck\n\n");
    let _ = writeln!(
        s,
        "**{e}** errors, **{w}** warnings, **{n}** notes in {} inputs.\n",
        cx.analysis.inputs.len()
    );
    if let Some(b) = &cx.baseline {
        let _ = writeln!(
            s,
            "Baseline `{}`: {} known findings suppressed, {} stale entries.\n",
            cell(&b.path),
            b.suppressed,
            b.stale.len()
        );
    }
    if cx.findings.is_empty() {
        s.push_str("No findings.\n");
        return s;
    }
    s.push_str("| level | rule | location | finding |\n|---|---|---|---|\n");
    let ordered = by_severity(&cx.findings);
    for f in ordered.iter().take(MAX_SUMMARY_ROWS) {
        let at = cx.primary(f).map(|p| p.short()).unwrap_or_default();
        let _ = writeln!(
            s,
            "| {} | `{}` {} | {} | {} |",
            f.level.as_str(),
            f.code,
            f.name,
            cell(&at),
            cell(&f.message)
        );
    }
    if ordered.len() > MAX_SUMMARY_ROWS {
        let _ = writeln!(
            s,
            "\n{} more findings not listed.",
            ordered.len() - MAX_SUMMARY_ROWS
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_follows_actions_toolkit() {
        assert_eq!(escape_data("100% a\r\nb"), "100%25 a%0D%0Ab");
        assert_eq!(escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
        // `:` and `,` stay in messages.
        assert_eq!(escape_data("a:b,c"), "a:b,c");
    }

    #[test]
    fn cells_cannot_break_the_table() {
        assert_eq!(cell("a|b\nc<d>"), "a\\|b�c&lt;d&gt;");
    }
}
