//! `--format json`: a versioned, documented schema (version 1).

use serde::Serialize;

use crate::analysis::Analysis;
use crate::model::{Confidence, Finding, Level, Role};

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Report<'a> {
    version: u32,
    tool: Tool,
    inputs: Vec<InputJson<'a>>,
    findings: Vec<FindingJson<'a>>,
    summary: Summary,
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct InputJson<'a> {
    path: &'a str,
    format: &'a str,
    /// Lines (text) or records (binary) read.
    units: u64,
    events: u64,
    skipped: u64,
    skipped_by_reason: Vec<SkipJson<'a>>,
    lost: &'a std::collections::BTreeMap<String, u64>,
}

#[derive(Serialize)]
struct SkipJson<'a> {
    reason: &'a str,
    count: u64,
    first_at: u64,
}

#[derive(Serialize)]
struct FindingJson<'a> {
    code: &'static str,
    name: &'static str,
    level: Level,
    confidence: Confidence,
    message: &'a str,
    pid: u32,
    locations: Vec<LocationJson>,
    notes: &'a [String],
    fingerprint: &'a str,
    /// Occurrences of the same defect merged into this finding (absent: 1).
    #[serde(skip_serializing_if = "is_one")]
    count: u32,
    /// Folded in human output (noise on real software); absent: false.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    folded: bool,
}

fn is_one(n: &u32) -> bool {
    *n == 1
}

#[derive(Serialize)]
struct LocationJson {
    path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    record: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    offset: Option<u64>,
    role: Role,
    message: String,
    pid: u32,
    tid: u32,
    handle: i64,
    call: String,
    text: String,
}

#[derive(Serialize)]
struct Summary {
    errors: usize,
    warnings: usize,
    notes: usize,
}

fn finding_json<'a>(a: &'a Analysis, f: &'a Finding) -> FindingJson<'a> {
    let locations = f
        .labels
        .iter()
        .map(|l| {
            let o = l.event.origin;
            let input = a.input(o.input);
            let binary = !o.is_line();
            LocationJson {
                path: input.map(|i| i.path.clone()).unwrap_or_default(),
                line: (!binary).then_some(o.line),
                record: binary.then_some(o.record),
                offset: binary.then_some(o.offset),
                role: l.role,
                message: l.text.clone(),
                pid: l.event.pid,
                tid: l.event.tid,
                handle: l.event.handle,
                call: crate::report::sanitize::for_terminal(a.interner.resolve(l.event.call)),
                text: input
                    .map(|i| i.evidence.text(&l.event, &a.interner))
                    .unwrap_or_default(),
            }
        })
        .collect();
    FindingJson {
        code: f.code,
        name: f.name,
        level: f.level,
        confidence: f.confidence,
        message: &f.message,
        pid: f.pid,
        locations,
        notes: &f.notes,
        fingerprint: &f.fingerprint,
        count: f.count,
        folded: f.folded,
    }
}

pub fn render(a: &Analysis, findings: &[&Finding]) -> String {
    let report = Report {
        version: SCHEMA_VERSION,
        tool: Tool {
            name: "handlecheck",
            version: env!("CARGO_PKG_VERSION"),
        },
        inputs: a
            .inputs
            .iter()
            .map(|i| InputJson {
                path: &i.path,
                format: i.format.as_str(),
                units: i.stats.units,
                events: i.stats.events,
                skipped: i.stats.skipped,
                skipped_by_reason: i
                    .stats
                    .skipped_by_reason
                    .iter()
                    .map(|(r, s)| SkipJson {
                        reason: r,
                        count: s.count,
                        first_at: s.first_at,
                    })
                    .collect(),
                lost: &i.stats.lost,
            })
            .collect(),
        findings: findings.iter().map(|f| finding_json(a, f)).collect(),
        summary: Summary {
            errors: findings.iter().filter(|f| f.level == Level::Error).count(),
            warnings: findings
                .iter()
                .filter(|f| f.level == Level::Warning)
                .count(),
            notes: findings.iter().filter(|f| f.level == Level::Note).count(),
        },
    };
    let mut s =
        serde_json::to_string_pretty(&report).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    s.push('\n');
    s
}
