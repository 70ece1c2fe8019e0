//! `handlecheck stats`: what a trace holds, without running rules. The input
//! is read by the analysis pipeline (one open, one sniff, its limits); this
//! only renders what the pipeline counted.

use std::collections::BTreeMap;

use comfy_table::Table;
use comfy_table::presets::UTF8_FULL_CONDENSED;
use serde::Serialize;

use crate::analysis::{Options, analyze};
use crate::formats::{Format, InputError};
use crate::report::OutputFormat;

#[derive(Serialize)]
struct Stats<'a> {
    path: &'a str,
    format: &'a str,
    /// Lines (text formats) or records (binary formats) read.
    units: u64,
    events: u64,
    skipped: u64,
    skipped_by_reason: BTreeMap<&'a str, u64>,
    lost: &'a BTreeMap<String, u64>,
    /// Format-specific counts (records by event kind, buffers, ...).
    counters: &'a BTreeMap<String, u64>,
}

pub fn render(
    path: &str,
    input_format: Option<Format>,
    format: OutputFormat,
    color: bool,
) -> Result<String, crate::analysis::AnalysisError> {
    let options = Options {
        input_format,
        rules: Vec::new(),
        threads: Some(1),
        count_events: true,
        ..Default::default()
    };
    let mut a = analyze(&[path.to_string()], &options)?;
    if let Some(e) = a.errors.pop() {
        return Err(e.into());
    }
    let Some(i) = a.inputs.first() else {
        return Err(InputError::new(path, "nothing read").into());
    };
    let t = Stats {
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
    if format == OutputFormat::Json {
        return Ok(serde_json::to_string_pretty(&t).unwrap_or_default() + "\n");
    }
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
    let mut table = Table::new();
    table.load_style(UTF8_FULL_CONDENSED);
    if !color {
        table.force_no_tty();
    }
    table.set_header(vec!["what", "count"]);
    for (k, v) in pairs {
        table.add_row(vec![crate::model::sanitize::for_terminal(&k), v]);
    }
    Ok(format!(
        "{}: {}\n{table}\n",
        crate::model::sanitize::for_terminal(path),
        i.format.as_str()
    ))
}
