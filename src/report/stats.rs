//! `handlecheck stats`: what traces hold, without running rules. The inputs
//! are read once, by the analysis pipeline (one open, one sniff, its limits;
//! stdin included); this only renders what the pipeline counted.

use std::collections::BTreeMap;

use comfy_table::Table;
use comfy_table::presets::UTF8_FULL_CONDENSED;
use serde::Serialize;

use crate::analysis::{InputReport, Options, Selection, analyze};
use crate::formats::{Format, InputError};
use crate::report::OutputFormat;

#[derive(Serialize)]
struct InputStats<'a> {
    path: &'a str,
    format: &'a str,
    /// Lines (text formats) or records (binary formats) read.
    units: u64,
    events: u64,
    skipped: u64,
    skipped_by_reason: BTreeMap<&'a str, u64>,
    lost: &'a BTreeMap<String, u64>,
    /// Format-specific counts (records by PerfView event name, buffers, ...).
    counters: &'a BTreeMap<String, u64>,
}

/// Counters of one input: the JSON object, the (what, count) rows, the format.
type InputCounts = (serde_json::Value, Vec<(String, String)>, Format);

/// What the pipeline counted while reading one input.
fn input_counts(i: &InputReport) -> InputCounts {
    let t = InputStats {
        path: &i.path,
        format: i.format.as_str(),
        units: i.stats.units,
        events: i.stats.events,
        skipped: i.stats.skipped,
        skipped_by_reason: i
            .stats
            .skipped_by_reason
            .iter()
            .map(|(k, v)| (k.as_str(), v.count))
            .collect(),
        lost: &i.stats.lost,
        counters: &i.stats.counters,
    };
    let unit = if i.format == Format::Etl {
        "records"
    } else {
        "lines"
    };
    let mut pairs = vec![
        (unit.to_string(), t.units.to_string()),
        ("events".into(), t.events.to_string()),
        ("skipped".into(), t.skipped.to_string()),
    ];
    for (k, v) in &t.skipped_by_reason {
        pairs.push((format!("skipped: {k}"), v.to_string()));
    }
    for (k, v) in t.lost {
        pairs.push((format!("lost: {k}"), v.to_string()));
    }
    for (k, v) in t.counters {
        pairs.push((k.clone(), v.to_string()));
    }
    (
        serde_json::to_value(&t).unwrap_or_default(),
        pairs,
        i.format,
    )
}

/// `handlecheck stats TRACE...`: per input, what it holds (for ETL, records per
/// PerfView event name); then, from one analysis of all inputs (no rules), per
/// process and handle type the counts, peaks and top allocation sites.
pub fn render(
    paths: &[String],
    input_format: Option<Format>,
    selection: &Selection,
    format: OutputFormat,
    color: bool,
) -> Result<String, crate::analysis::AnalysisError> {
    let options = Options {
        input_format,
        rules: Vec::new(),
        threads: Some(1),
        keep_graphs: true,
        count_events: true,
        selection: selection.clone(),
        ..Default::default()
    };
    let mut a = analyze(paths, &options)?;
    if let Some(e) = a.errors.pop() {
        return Err(e.into());
    }
    if a.inputs.is_empty() {
        let path = paths.first().map_or("-", String::as_str);
        return Err(InputError::new(path, "nothing read").into());
    }
    let inputs: Vec<(&str, InputCounts)> = a
        .inputs
        .iter()
        .map(|i| (i.path.as_str(), input_counts(i)))
        .collect();
    let procs = crate::report::views::stats::build(&a, selection);
    if format == OutputFormat::Json {
        let doc = serde_json::json!({
            "inputs": inputs.iter().map(|(_, (j, _, _))| j).collect::<Vec<_>>(),
            "processes": procs,
        });
        return Ok(serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n");
    }
    let mut out = String::new();
    for (path, (_, pairs, fmt)) in &inputs {
        let mut table = new_table(color);
        table.set_header(vec!["what", "count"]);
        for (k, v) in pairs {
            table.add_row(vec![crate::report::sanitize::for_terminal(k), v.clone()]);
        }
        out.push_str(&format!(
            "{}: {}\n{table}\n",
            crate::report::sanitize::for_terminal(path),
            fmt.as_str()
        ));
    }
    for p in &procs {
        out.push_str(&format!(
            "\npid {}{}\n",
            p.pid,
            p.program
                .as_deref()
                .map(|s| format!(" ({s})"))
                .unwrap_or_default()
        ));
        let mut table = new_table(color);
        table.set_header(vec![
            "type",
            "opened",
            "duplicated",
            "received",
            "inherited",
            "pre-existing",
            "closed",
            "peak live",
            "live at end",
        ]);
        for r in p.types.iter().chain(std::iter::once(&p.total)) {
            table.add_row(vec![
                r.kind.clone(),
                r.opened.to_string(),
                r.duplicated.to_string(),
                r.received.to_string(),
                r.inherited.to_string(),
                r.preexisting.to_string(),
                r.closed.to_string(),
                r.peak_live.to_string(),
                r.live_at_end.to_string(),
            ]);
        }
        out.push_str(&format!("{table}\n"));
        if !p.top_sites.is_empty() {
            let mut sites = new_table(color);
            sites.set_header(vec![
                "top allocation sites",
                "type",
                "resource",
                "opened",
                "released",
                "open at end",
                "culprit frame",
            ]);
            for s in &p.top_sites {
                sites.add_row(vec![
                    s.call.clone(),
                    s.kind.clone(),
                    s.resource.clone().unwrap_or_default(),
                    s.opened.to_string(),
                    s.released.to_string(),
                    s.open_at_end.to_string(),
                    s.culprit.clone().unwrap_or_default(),
                ]);
            }
            out.push_str(&format!("{sites}\n"));
        }
    }
    if procs.is_empty() {
        out.push_str("\nno handles seen in the selection\n");
    }
    Ok(out)
}

fn new_table(color: bool) -> Table {
    let mut table = Table::new();
    table.load_style(UTF8_FULL_CONDENSED);
    if !color {
        table.force_no_tty();
    }
    table
}
