//! `--format json`: a versioned, documented schema (version 1).

use serde::Serialize;

use crate::analysis::Analysis;
use crate::model::{Confidence, Finding, Level, Role};

use super::ci::CiContext;

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Report<'a> {
    version: u32,
    tool: Tool,
    inputs: Vec<InputJson<'a>>,
    findings: Vec<FindingJson<'a>>,
    summary: Summary,
    /// Inputs that could not be read (the others were analysed).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    input_errors: Vec<String>,
    /// Evidence lines that could not be read back (their `text` is empty).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<String>,
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct InputJson<'a> {
    path: String,
    format: &'a str,
    /// Lines (text) or records (binary) read.
    units: u64,
    events: u64,
    skipped: u64,
    skipped_by_reason: Vec<SkipJson<'a>>,
    lost: &'a std::collections::BTreeMap<String, u64>,
    /// What the input cannot show (only present when there is something to say).
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    notices: &'a [String],
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
    /// Findings below `--min-level`.
    #[serde(skip_serializing_if = "is_zero")]
    hidden: usize,
    /// Findings the baseline knows.
    #[serde(skip_serializing_if = "is_zero")]
    baselined: usize,
    /// Findings the config's allowlists removed.
    #[serde(skip_serializing_if = "is_zero")]
    allowed: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

fn finding_json<'a>(cx: &CiContext<'a>, f: &'a Finding) -> FindingJson<'a> {
    let a = cx.analysis;
    let locations = f
        .labels
        .iter()
        .map(|l| {
            let o = l.event.origin;
            let binary = !o.is_line();
            LocationJson {
                path: cx.input_name(o.input),
                line: (!binary).then_some(o.line),
                record: binary.then_some(o.record),
                offset: binary.then_some(o.offset),
                role: l.role,
                message: l.text.clone(),
                pid: l.event.pid,
                tid: l.event.tid,
                handle: l.event.handle,
                call: crate::model::sanitize::for_terminal(a.interner.resolve(l.event.call)),
                text: cx.evidence.text(l).to_string(),
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

/// The report of an analysis outside a resolved view (tests, snapshots):
/// paths as the analysis knows them.
pub fn render(a: &Analysis, findings: &[&Finding]) -> String {
    let mut cx = CiContext::new(a, findings.to_vec());
    cx.base_dir = None;
    render_view(&cx)
}

/// The json report of a resolved view.
pub fn render_view(cx: &CiContext<'_>) -> String {
    let a = cx.analysis;
    let findings = &cx.findings;
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
                path: cx.display_path(&i.path),
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
                notices: &i.stats.notices,
            })
            .collect(),
        findings: findings.iter().map(|f| finding_json(cx, f)).collect(),
        summary: Summary {
            errors: findings.iter().filter(|f| f.level == Level::Error).count(),
            warnings: findings
                .iter()
                .filter(|f| f.level == Level::Warning)
                .count(),
            notes: findings.iter().filter(|f| f.level == Level::Note).count(),
            hidden: cx.totals.hidden,
            baselined: cx.totals.baselined,
            allowed: cx.totals.allowed,
        },
        input_errors: a.errors.iter().map(|e| e.to_string()).collect(),
        warnings: cx.evidence.warnings.clone(),
    };
    let mut s =
        serde_json::to_string_pretty(&report).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    s.push('\n');
    s
}
