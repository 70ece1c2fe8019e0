//! What the CI reporters (SARIF, JUnit, GitHub, GitLab) share: the context they
//! render from, where a label points, and the rule doc split into sections.

use std::path::Path;

use crate::analysis::Analysis;
use crate::model::{Finding, Label, Level};
use crate::rules::Rule;

use super::OutputFormat;
use crate::baseline::BaselineReport;

/// Everything a machine reporter needs besides the analysis.
pub struct CiContext<'a> {
    pub analysis: &'a Analysis,
    /// The findings to report, in the engine's stable order.
    pub findings: Vec<&'a Finding>,
    /// The rules that ran (JUnit: one testcase each; SARIF: `tool.driver.rules`).
    pub rules: Vec<&'static dyn Rule>,
    /// `--fail-on`: findings at or above it are failures (JUnit); None: never.
    pub fail_on: Option<Level>,
    /// `--max-results` (SARIF).
    pub max_results: Option<usize>,
    /// Set when `--baseline` was given.
    pub baseline: Option<BaselineReport>,
    /// Directory paths are made relative to (the working directory).
    pub base_dir: Option<std::path::PathBuf>,
}

impl<'a> CiContext<'a> {
    pub fn new(analysis: &'a Analysis, findings: Vec<&'a Finding>) -> CiContext<'a> {
        CiContext {
            analysis,
            findings,
            rules: crate::rules::registry().to_vec(),
            fail_on: Some(Level::Error),
            max_results: None,
            baseline: None,
            base_dir: std::env::current_dir().ok(),
        }
    }

    /// The input path as a report should name it: relative to the working
    /// directory when it lies below it, with `/` separators; `-` is `stdin`.
    pub fn display_path(&self, input_path: &str) -> String {
        if input_path == "-" {
            return "stdin".to_string();
        }
        let p = Path::new(input_path);
        let rel = match (&self.base_dir, p.is_absolute()) {
            (Some(base), true) => p.strip_prefix(base).unwrap_or(p),
            _ => p,
        };
        let s = rel.to_string_lossy().replace('\\', "/");
        s.strip_prefix("./").map(str::to_string).unwrap_or(s)
    }

    /// Where a label points.
    pub fn locate(&self, l: &Label) -> Place {
        let o = l.event.origin;
        let input = self.analysis.input(o.input);
        let path = input
            .map(|i| self.display_path(&i.path))
            .unwrap_or_else(|| "unknown".to_string());
        let text = input
            .map(|i| i.evidence.text(&l.event, &self.analysis.interner))
            .unwrap_or_default();
        Place {
            path,
            line: o.is_line().then_some(o.line),
            record: (!o.is_line()).then_some(o.record),
            offset: o.offset,
            text,
        }
    }

    /// The primary place of a finding (`None` only for a finding without labels).
    pub fn primary(&self, f: &Finding) -> Option<Place> {
        f.primary().map(|l| self.locate(l))
    }

    /// The input a finding belongs to: its primary label's.
    pub fn input_of(&self, f: &Finding) -> Option<u16> {
        f.primary().map(|l| l.event.origin.input)
    }

    pub fn is_failure(&self, f: &Finding) -> bool {
        self.fail_on.is_some_and(|t| f.level >= t)
    }
}

/// A resolved location.
#[derive(Clone, Debug)]
pub struct Place {
    pub path: String,
    /// 1-based line of a text input.
    pub line: Option<u32>,
    /// Record number of a binary input.
    pub record: Option<u32>,
    /// Byte offset of the line or record.
    pub offset: u64,
    /// The evidence text (sanitized).
    pub text: String,
}

impl Place {
    /// `path:line` or `path record N`.
    pub fn short(&self) -> String {
        match (self.line, self.record) {
            (Some(l), _) => format!("{}:{l}", self.path),
            (None, Some(r)) => format!("{} record {r}", self.path),
            _ => self.path.clone(),
        }
    }
    /// A line number for formats that need one: the line, else the record number, else 1.
    pub fn line_or_record(&self) -> u32 {
        self.line.or(self.record).unwrap_or(1).max(1)
    }
}

/// Findings ordered errors first, then warnings, then notes; stable within a level.
pub fn by_severity<'a>(findings: &[&'a Finding]) -> Vec<&'a Finding> {
    let mut v = findings.to_vec();
    v.sort_by_key(|f| std::cmp::Reverse(f.level));
    v
}

/// One `## Heading` section of a rule doc, as one paragraph of plain text.
pub fn doc_section(doc: &str, heading: &str) -> String {
    let marker = format!("## {heading}");
    let Some(start) = doc.find(&marker) else {
        return String::new();
    };
    doc[start + marker.len()..]
        .lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with("##"))
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The evidence lines of a finding, one per label: `  path:line: label text | trace text`.
pub fn evidence_lines(cx: &CiContext<'_>, f: &Finding) -> Vec<String> {
    f.labels
        .iter()
        .map(|l| {
            let p = cx.locate(l);
            format!(
                "  {}: {}: {}",
                p.short(),
                super::sanitize::for_terminal(&l.text),
                p.text
            )
        })
        .collect()
}

/// Renders one machine format to a string (everything but `human`, which the
/// binary renders with the terminal width and colour).
pub fn render_machine(format: OutputFormat, cx: &CiContext<'_>) -> Option<String> {
    Some(match format {
        OutputFormat::Human => return None,
        OutputFormat::Json => {
            let s = super::json::render(cx.analysis, &cx.findings);
            match &cx.baseline {
                Some(b) => splice_json_baseline(&s, b),
                None => s,
            }
        }
        OutputFormat::Sarif => super::sarif::render(cx),
        OutputFormat::Junit => super::junit::render(cx),
        OutputFormat::Github => super::github::render(cx),
        OutputFormat::Gitlab => super::gitlab::render(cx),
        OutputFormat::Html => super::html::render(cx),
    })
}

/// Adds `"baseline": {...}` as the last member of the json report (keeping the
/// order of the other members).
fn splice_json_baseline(json: &str, b: &BaselineReport) -> String {
    let body = json.trim_end();
    let Some(open) = body.strip_suffix('}') else {
        return json.to_string();
    };
    let value = serde_json::to_string_pretty(b).unwrap_or_else(|_| "null".into());
    let value = value.replace('\n', "\n  ");
    format!("{},\n  \"baseline\": {value}\n}}\n", open.trim_end())
}
