//! `--format html`: one self-contained page (no script, no network: a CSP
//! forbids every fetch) with the live-handle chart as inline SVG, the findings
//! with their evidence and per-finding timeline, and the per-process stats.

use std::fmt::Write;
use std::io;

use super::ci::CiContext;
use crate::analysis::Selection;
use crate::model::Finding;
use crate::report::views::chart::Chart;
use crate::report::views::stats::ProcessStats;
use crate::report::views::timeline::TimelineRow;

/// Rows of a finding's timeline shown; the rest are counted.
const MAX_TIMELINE_ROWS: usize = 60;

const PALETTE: [&str; 8] = [
    "#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#17becf", "#bcbd22", "#7f7f7f", "#e377c2",
];

/// Text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222;max-width:1400px}
h1{font-size:1.5em;margin:0 0 .3em} h2{font-size:1.2em;border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
h3{font-size:1.05em;margin:.2em 0} h4{font-size:.95em;margin:.8em 0 .3em}
table{border-collapse:collapse;font-size:12px;margin:.3em 0} td,th{border:1px solid #ddd;padding:2px 6px;text-align:left;vertical-align:top}
th{background:#f3f3f3} td.n{text-align:right;font-variant-numeric:tabular-nums}
code,.mono,td.trace{font-family:ui-monospace,monospace;font-size:11px;white-space:pre-wrap;word-break:break-all}
.finding{border:1px solid #ddd;border-left:6px solid #999;padding:.5em .8em;margin:.8em 0;background:#fff}
.finding.error{border-left-color:#c00000}.finding.warning{border-left-color:#d98c00}.finding.note{border-left-color:#2b6cb0}
.badge{display:inline-block;padding:0 .4em;border-radius:3px;color:#fff;font-size:.85em;margin-right:.3em}
.badge.error{background:#c00000}.badge.warning{background:#d98c00}.badge.note{background:#2b6cb0}
tr.cited{background:#fff3c4} .meta{color:#555;font-size:.9em} .legend span{display:inline-block;margin-right:1.2em;font-size:12px}
.sw{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:middle}
svg text{font-family:system-ui,sans-serif;font-size:11px}
";

/// The whole page as text (see [`write`]).
pub fn render(cx: &CiContext<'_>) -> String {
    super::pretty::to_string(|w| write(cx, w))
}

/// Writes the whole page, each finding's article as soon as it is built.
/// Needs the analysis to have kept its graphs (`Options::keep_graphs`) for
/// the chart, stats and timelines; without them those sections say so.
pub fn write(cx: &CiContext<'_>, w: &mut dyn io::Write) -> io::Result<()> {
    let a = cx.analysis;
    let sel = Selection::default();
    let mut h = String::new();
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n");
    h.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    h.push_str("<title>handlecheck report</title>\n<style>");
    h.push_str(STYLE);
    h.push_str("</style></head>\n<body>\n<h1>handlecheck report</h1>\n");
    let _ = writeln!(
        h,
        "<p class=\"summary\" id=\"summary\">{} finding{}: {}.</p>",
        cx.findings.len(),
        if cx.findings.len() == 1 { "" } else { "s" },
        esc(&cx.totals_line())
    );
    h.push_str("<table id=\"inputs\"><tr><th>input</th><th>format</th><th>lines/records</th><th>events</th><th>skipped</th></tr>\n");
    for i in &a.inputs {
        let _ = writeln!(
            h,
            "<tr><td class=\"mono\">{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(&cx.display_path(&i.path)),
            esc(i.format.as_str()),
            i.stats.units,
            i.stats.events,
            i.stats.skipped
        );
    }
    h.push_str("</table>\n");

    h.push_str("<section id=\"chart\"><h2>Live handles over time</h2>\n");
    if a.graphs.is_empty() {
        h.push_str("<p>No chart: the analysis did not keep its handle graphs.</p>\n");
    } else {
        let chart = crate::report::views::chart::build(a, &sel, &cx.findings);
        svg_chart(&mut h, &chart);
    }
    h.push_str("</section>\n");

    h.push_str("<section id=\"findings\"><h2>Findings</h2>\n");
    if cx.findings.is_empty() {
        h.push_str("<p>No findings.</p>\n");
    }
    w.write_all(h.as_bytes())?;
    let index = crate::report::views::timeline::GenerationIndex::new(a);
    for f in &cx.findings {
        h.clear();
        finding(&mut h, cx, f, &index);
        w.write_all(h.as_bytes())?;
    }
    h.clear();
    h.push_str("</section>\n");

    h.push_str("<section id=\"stats\"><h2>Handles per process and type</h2>\n");
    stats_tables(&mut h, &crate::report::views::stats::build(a, &sel));
    h.push_str("</section>\n</body></html>\n");
    w.write_all(h.as_bytes())
}

fn svg_chart(h: &mut String, c: &Chart) {
    const W: f64 = 1200.0;
    const HT: f64 = 340.0;
    const L: f64 = 60.0;
    const R: f64 = 20.0;
    const T: f64 = 28.0;
    const B: f64 = 40.0;
    let (pw, ph) = (W - L - R, HT - T - B);
    let x_max = if c.x_max > 0.0 { c.x_max } else { 1.0 };
    // Whole-number ticks: 0, step, .. up to the first at or above the highest count.
    let step = c.y_max.max(1).div_ceil(4);
    let ticks = c.y_max.max(1).div_ceil(step);
    let y_max = (step * ticks) as f64;
    let sx = |x: f64| L + x / x_max * pw;
    let sy = |y: f64| T + ph - y / y_max * ph;
    let _ = writeln!(
        h,
        "<svg id=\"live-chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {W} {HT}\" width=\"{W}\" height=\"{HT}\" role=\"img\" aria-label=\"live handles over time\">"
    );
    let _ = writeln!(
        h,
        "<rect x=\"{L}\" y=\"{T}\" width=\"{pw}\" height=\"{ph}\" fill=\"#fafafa\" stroke=\"#bbb\"/>"
    );
    for i in 0..=ticks {
        let yv = (step * i) as f64;
        let y = sy(yv);
        let _ = writeln!(
            h,
            "<line x1=\"{L}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#e4e4e4\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            L + pw,
            L - 6.0,
            y + 4.0,
            yv.round()
        );
    }
    // Seconds, or ms / µs for short traces, so the ticks differ.
    let (unit, scale) = match c.x_unit {
        "seconds" if x_max >= 1.0 => ("seconds", 1.0),
        "seconds" if x_max >= 1e-3 => ("milliseconds", 1e3),
        "seconds" => ("microseconds", 1e6),
        other => (other, 1.0),
    };
    for i in 0..=4u32 {
        let xv = x_max * f64::from(i) / 4.0;
        let x = sx(xv);
        let label = if c.x_unit == "seconds" {
            format!("{:.3}", xv * scale)
        } else {
            format!("{}", xv.round())
        };
        let _ = writeln!(
            h,
            "<text x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\">{label}</text>",
            T + ph + 16.0
        );
    }
    let _ = writeln!(
        h,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text><text x=\"14\" y=\"{}\" transform=\"rotate(-90 14 {})\" text-anchor=\"middle\">live handles</text>",
        L + pw / 2.0,
        HT - 6.0,
        esc(unit),
        T + ph / 2.0,
        T + ph / 2.0
    );
    for (i, s) in c.series.iter().enumerate() {
        let mut pts = String::new();
        let mut prev: Option<u64> = None;
        for (x, y) in &s.points {
            if let Some(p) = prev {
                let _ = write!(pts, "{:.1},{:.1} ", sx(*x), sy(p as f64));
            }
            let _ = write!(pts, "{:.1},{:.1} ", sx(*x), sy(*y as f64));
            prev = Some(*y);
        }
        let _ = writeln!(
            h,
            "<polyline class=\"series\" data-series=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.6\" points=\"{}\"><title>{} (peak {})</title></polyline>",
            esc(&s.name),
            PALETTE[i % PALETTE.len()],
            pts.trim_end(),
            esc(&s.name),
            s.peak
        );
    }
    for m in &c.marks {
        let x = sx(m.x);
        let color = match m.level {
            "error" => "#c00000",
            "warning" => "#d98c00",
            _ => "#2b6cb0",
        };
        let _ = writeln!(
            h,
            "<g class=\"mark\" data-finding=\"{}\"><line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{T}\" y2=\"{}\" stroke=\"{color}\" stroke-width=\"1.2\" stroke-dasharray=\"4 2\"/><text x=\"{x:.1}\" y=\"{}\" fill=\"{color}\" text-anchor=\"middle\">{}</text><title>{} {}</title></g>",
            esc(&m.fingerprint),
            T + ph,
            T - 6.0,
            esc(m.code),
            esc(m.code),
            esc(&m.fingerprint)
        );
    }
    h.push_str("</svg>\n<div class=\"legend\">");
    for (i, s) in c.series.iter().enumerate() {
        let _ = write!(
            h,
            "<span><i class=\"sw\" style=\"background:{}\"></i>{} (peak {})</span>",
            PALETTE[i % PALETTE.len()],
            esc(&s.name),
            s.peak
        );
    }
    if c.series.is_empty() {
        h.push_str("<span>no handles in the selection</span>");
    }
    h.push_str("<span>dashed lines: findings, at their primary event</span></div>\n");
}

fn finding(
    h: &mut String,
    cx: &CiContext<'_>,
    f: &Finding,
    index: &crate::report::views::timeline::GenerationIndex,
) {
    let a = cx.analysis;
    let lvl = f.level.as_str();
    let _ = writeln!(
        h,
        "<article class=\"finding {lvl}\" id=\"f-{}\" data-code=\"{}\"><h3><span class=\"badge {lvl}\">{lvl}</span>{} {}: {}</h3>",
        esc(&f.fingerprint),
        esc(f.code),
        esc(f.code),
        esc(f.name),
        esc(&f.message)
    );
    let at = cx
        .primary(f)
        .map(|p| format!("{}:{}", p.path, p.line_or_record()))
        .unwrap_or_default();
    let _ = writeln!(
        h,
        "<p class=\"meta\">pid {} · confidence {} · at <code>{}</code> · fingerprint <code>{}</code></p>",
        f.pid,
        f.confidence.as_str(),
        esc(&at),
        esc(&f.fingerprint)
    );
    h.push_str("<h4>Evidence</h4><table class=\"evidence\"><tr><th>role</th><th>pid/tid</th><th>where</th><th>what</th><th>trace</th></tr>\n");
    for l in &f.labels {
        let p = cx.locate(l);
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}/{}</td><td class=\"mono\">{}</td><td>{}</td><td class=\"trace\">{}</td></tr>",
            esc(l.role.as_str()),
            l.event.pid,
            l.event.tid,
            esc(&p.short()),
            esc(&crate::model::sanitize::for_terminal(&l.text)),
            esc(&p.text)
        );
    }
    h.push_str("</table>\n");
    if !f.notes.is_empty() {
        h.push_str("<h4>Notes</h4><ul>");
        for n in &f.notes {
            let _ = write!(
                h,
                "<li>{}</li>",
                esc(&crate::model::sanitize::for_terminal(n))
            );
        }
        h.push_str("</ul>\n");
    }
    if !a.graphs.is_empty() {
        let rows = crate::report::views::timeline::for_finding(a, f, index);
        let style = crate::report::views::handle_style(a);
        let mut values: Vec<i64> = f.labels.iter().map(|l| l.event.handle).collect();
        values.sort_unstable();
        values.dedup();
        let title = match values.as_slice() {
            [one] => format!("Timeline of {}", style.name(*one)),
            _ => "Timeline of the values in the evidence".to_string(),
        };
        let _ = writeln!(h, "<h4>{}</h4>", esc(&title));
        timeline_table(h, &rows, style);
    }
    h.push_str("</article>\n");
}

fn timeline_table(h: &mut String, rows: &[TimelineRow], style: crate::model::HandleStyle) {
    h.push_str("<table class=\"timeline\"><tr><th>time</th><th>pid/tid</th><th>op</th><th>call</th><th>handle</th><th>resource</th><th>result</th><th>at</th><th>finding</th></tr>\n");
    for r in rows.iter().take(MAX_TIMELINE_ROWS) {
        let cited = if r.role.is_some() {
            " class=\"cited\""
        } else {
            ""
        };
        let _ = writeln!(
            h,
            "<tr{cited}><td class=\"n\">{}</td><td>{}/{}</td><td>{}</td><td class=\"mono\">{}</td><td class=\"n\">{}</td><td class=\"mono\">{}</td><td>{}</td><td class=\"mono\">{}</td><td>{}</td></tr>",
            esc(r.time.as_deref().unwrap_or("-")),
            r.pid,
            r.tid,
            esc(r.op),
            esc(&r.call),
            esc(style.name(r.handle).rsplit(' ').next().unwrap_or_default()),
            esc(r.resource.as_deref().unwrap_or("")),
            esc(&r.result),
            esc(&r.at),
            esc(r.role.as_deref().unwrap_or(""))
        );
    }
    h.push_str("</table>\n");
    if rows.len() > MAX_TIMELINE_ROWS {
        let _ = writeln!(
            h,
            "<p class=\"meta\">{} more events not shown (`handlecheck timeline` shows them all).</p>",
            rows.len() - MAX_TIMELINE_ROWS
        );
    }
}

fn stats_tables(h: &mut String, procs: &[ProcessStats]) {
    if procs.is_empty() {
        h.push_str(
            "<p>No per-process counts (the analysis did not keep them, or saw no handles).</p>\n",
        );
        return;
    }
    for p in procs {
        let _ = writeln!(
            h,
            "<h3>pid {}{}</h3>",
            p.pid,
            p.program
                .as_deref()
                .map(|s| format!(" <code>{}</code>", esc(s)))
                .unwrap_or_default()
        );
        h.push_str("<table class=\"stats\"><tr><th>type</th><th>opened</th><th>duplicated</th><th>received</th><th>inherited</th><th>pre-existing</th><th>closed</th><th>peak live</th><th>live at end</th></tr>\n");
        for r in p.types.iter().chain(std::iter::once(&p.total)) {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                esc(&r.kind),
                r.opened,
                r.duplicated,
                r.received,
                r.inherited,
                r.preexisting,
                r.closed,
                r.peak_live,
                r.live_at_end
            );
        }
        h.push_str("</table>\n");
        if !p.top_sites.is_empty() {
            h.push_str("<table class=\"sites\"><tr><th>allocation site</th><th>type</th><th>resource</th><th>opened</th><th>released</th><th>peak live</th><th>open at end</th><th>culprit frame</th></tr>\n");
            for s in &p.top_sites {
                let _ = writeln!(
                    h,
                    "<tr><td class=\"mono\">{}</td><td>{}</td><td class=\"mono\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"mono\">{}</td></tr>",
                    esc(&s.call),
                    esc(&s.kind),
                    esc(s.resource.as_deref().unwrap_or("")),
                    s.opened,
                    s.released,
                    s.peak_live,
                    s.open_at_end,
                    esc(s.culprit.as_deref().unwrap_or(""))
                );
            }
            h.push_str("</table>\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_controls() {
        assert_eq!(
            esc("<a href='x'>&\"\u{1b}"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;\u{FFFD}"
        );
    }
}
