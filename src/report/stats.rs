//! `handlecheck stats`: what a trace holds, without running rules.

use std::collections::BTreeMap;

use comfy_table::Table;
use comfy_table::presets::UTF8_FULL_CONDENSED;
use serde::Serialize;

use crate::analysis::{Options, analyze};
use crate::formats::{self, Format, InputError};
use crate::input;
use crate::report::OutputFormat;

/// Largest `.etl` file `stats` reads into memory.
const ETL_LIMIT: u64 = 16 << 30;

#[derive(Serialize)]
struct TextStats<'a> {
    path: &'a str,
    format: &'a str,
    /// Lines read.
    records: u64,
    events: u64,
    skipped: u64,
    skipped_by_reason: BTreeMap<&'a str, u64>,
    lost: &'a BTreeMap<String, u64>,
    by_event: &'a BTreeMap<String, u64>,
}

pub fn render(
    path: &str,
    input_format: Option<Format>,
    format: OutputFormat,
    color: bool,
) -> Result<String, crate::analysis::AnalysisError> {
    let opened = input::open(path)?;
    let fmt = match input_format {
        Some(f) => f,
        None => formats::sniff(&opened.head).ok_or_else(|| {
            if opened.head.is_empty() {
                InputError::new(path, "empty input")
            } else {
                InputError::new(path, "not a trace format handlecheck knows")
                    .hint("name the format with --input-format")
            }
        })?,
    };
    let pairs: Vec<(String, String)>;
    let json;
    if fmt == Format::Etl {
        let bytes = input::read_all(opened, ETL_LIMIT)?;
        let stats = formats::etl::stats(&bytes, path)?;
        json = serde_json::to_string_pretty(&stats).unwrap_or_default();
        let mut p = vec![("records".to_string(), stats.records.to_string())];
        p.push((
            "buffers".into(),
            format!(
                "{} ({} compressed, {} damaged)",
                stats.buffers, stats.compressed_buffers, stats.damaged_buffers
            ),
        ));
        for (k, v) in &stats.lost {
            p.push((format!("lost: {k}"), v.to_string()));
        }
        for (k, v) in &stats.by_event {
            p.push((k.clone(), v.to_string()));
        }
        pairs = p;
    } else {
        drop(opened);
        let options = Options {
            input_format: Some(fmt),
            rules: Vec::new(),
            threads: Some(1),
            ..Default::default()
        };
        let a = analyze(&[path.to_string()], &options)?;
        let Some(i) = a.inputs.first() else {
            return Err(InputError::new(path, "nothing read").into());
        };
        let t = TextStats {
            path: &i.path,
            format: i.format.as_str(),
            records: i.stats.units,
            events: i.stats.events,
            skipped: i.stats.skipped,
            skipped_by_reason: i
                .stats
                .skipped_by_reason
                .iter()
                .map(|(k, v)| (k.as_str(), v.count))
                .collect(),
            lost: &i.stats.lost,
            by_event: &i.stats.counters,
        };
        json = serde_json::to_string_pretty(&t).unwrap_or_default();
        let mut p = vec![
            ("lines".to_string(), t.records.to_string()),
            ("events".into(), t.events.to_string()),
            ("skipped".into(), t.skipped.to_string()),
        ];
        for (k, v) in &t.skipped_by_reason {
            p.push((format!("skipped: {k}"), v.to_string()));
        }
        for (k, v) in t.by_event {
            p.push((k.clone(), v.to_string()));
        }
        pairs = p;
    }
    Ok(match format {
        OutputFormat::Json => json + "\n",
        // Only human and json are offered for stats (cli::StatsFormat).
        _ => {
            let mut table = Table::new();
            table.load_style(UTF8_FULL_CONDENSED);
            if !color {
                table.force_no_tty();
            }
            table.set_header(vec!["what", "count"]);
            for (k, v) in pairs {
                table.add_row(vec![crate::report::sanitize::for_terminal(&k), v]);
            }
            format!(
                "{}: {}\n{table}\n",
                crate::report::sanitize::for_terminal(path),
                fmt.as_str()
            )
        }
    })
}
