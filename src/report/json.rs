//! `--format json`: a versioned, documented schema (version 1).

use std::io::{self, Write};

use serde::Serialize;

use crate::analysis::Analysis;
use crate::model::{Confidence, Finding, Level, Role, Text};

use super::ci::CiContext;
use super::pretty;

pub const SCHEMA_VERSION: u32 = 1;

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
    locations: Vec<LocationJson<'a>>,
    notes: &'a [Text],
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
struct LocationJson<'a> {
    path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    record: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    offset: Option<u64>,
    role: Role,
    message: &'a str,
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
                message: &l.text,
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

/// The json report of a resolved view, as text (see [`write`]).
pub fn render_view(cx: &CiContext<'_>) -> String {
    super::pretty::to_string(|w| write(cx, w))
}

/// Writes the json report of a resolved view: the inputs, then the findings
/// one at a time, then the summary, the errors and warnings, and the baseline
/// (`--baseline`) as the last member.
pub fn write(cx: &CiContext<'_>, w: &mut dyn Write) -> io::Result<()> {
    let a = cx.analysis;
    let findings = &cx.findings;
    let inputs: Vec<InputJson<'_>> = a
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
        .collect();
    let (errors, warnings, notes) = cx.counts();
    let summary = Summary {
        errors,
        warnings,
        notes,
        hidden: cx.totals.hidden,
        baselined: cx.totals.baselined,
        allowed: cx.totals.allowed,
    };
    let mut doc = pretty::Object::begin(w, 0)?;
    doc.member(w, "version", &SCHEMA_VERSION)?;
    doc.member(
        w,
        "tool",
        &Tool {
            name: "handlecheck",
            version: env!("CARGO_PKG_VERSION"),
        },
    )?;
    doc.member(w, "inputs", &inputs)?;
    let mut list = doc.array(w, "findings")?;
    for f in findings {
        list.item(w, &finding_json(cx, f))?;
    }
    list.end(w)?;
    doc.member(w, "summary", &summary)?;
    // Inputs that could not be read (the others were analysed).
    if !a.errors.is_empty() {
        let input_errors: Vec<String> = a.errors.iter().map(|e| e.to_string()).collect();
        doc.member(w, "input_errors", &input_errors)?;
    }
    // Evidence lines that could not be read back (their `text` is empty).
    if !cx.evidence.warnings.is_empty() {
        doc.member(w, "warnings", &cx.evidence.warnings)?;
    }
    if let Some(b) = &cx.baseline {
        doc.member(w, "baseline", b)?;
    }
    doc.end(w)?;
    w.write_all(b"\n")
}
