//! What the CI reporters (SARIF, JUnit, GitHub, GitLab) share: the context they
//! render from, where a label points, and the rule doc split into sections.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde::Serialize;

use crate::analysis::Analysis;
use crate::baseline::BaselineReport;
use crate::model::{Finding, Label, Level};
use crate::rules::Rule;

/// GitHub code scanning keeps at most this many results per run; SARIF is
/// capped here unless `--max-results` says otherwise (`0`: no cap).
pub const DEFAULT_MAX_RESULTS: usize = 25_000;

/// How many findings the filters hid, for the totals line and summaries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Below `--min-level`.
    pub hidden: usize,
    /// Known to the baseline.
    pub baselined: usize,
    /// Removed (whole) by the config's allowlists.
    pub allowed: usize,
}

/// The one resolved view every reporter (and the exit code) reads: the
/// findings after config, baseline and `--min-level`, ordered errors first,
/// then warnings, then notes (by location within a level), with their
/// evidence text read back once.
pub struct CiContext<'a> {
    pub analysis: &'a Analysis,
    /// The findings to report, in report order.
    pub findings: Vec<&'a Finding>,
    /// The rules that ran (JUnit: one testcase each; SARIF: `tool.driver.rules`).
    pub rules: Vec<&'static dyn Rule>,
    /// `--fail-on`: findings at or above it are failures (JUnit); None: never.
    pub fail_on: Option<Level>,
    /// SARIF result cap (None: no cap).
    pub max_results: Option<usize>,
    /// Set when `--baseline` was given.
    pub baseline: Option<BaselineReport>,
    /// The repository root report paths are relative to (`--base-dir`, else
    /// the git top level, else the working directory); None: paths as given.
    pub base_dir: Option<PathBuf>,
    /// Where relative input paths are relative to (the working directory).
    pub cwd: Option<PathBuf>,
    /// The name reports give stdin (`--stdin-filename`; default `stdin`).
    pub stdin_name: Option<String>,
    /// Report names for inputs whose path means nothing to a reader (the
    /// temporary trace of `run`), by the path the analysis knows them by.
    pub aliases: BTreeMap<String, String>,
    pub totals: Totals,
    /// The evidence text of every label of [`findings`](Self::findings).
    pub evidence: Evidence,
}

/// Evidence text resolved once, by (input, event sequence number), plus the
/// lines that could not be read (reported as warnings, never shown as text).
/// The texts sit end to end in one buffer, found by a binary search of the
/// sorted keys: a few bytes per label beyond the text itself.
#[derive(Clone, Debug, Default)]
pub struct Evidence {
    /// Sorted (input, seq) of every resolved label, with where its text is.
    keys: Vec<((u16, u64), Span)>,
    texts: String,
    pub warnings: Vec<String>,
}

#[derive(Clone, Copy, Debug)]
struct Span {
    start: usize,
    len: usize,
}

impl Evidence {
    /// Reads the evidence of every label of `findings`, each input opened
    /// (and mapped, when it is a plain file) once and closed before the next.
    pub fn resolve(analysis: &Analysis, findings: &[&Finding]) -> Evidence {
        let mut wanted: Vec<(u16, u64, &Label)> = findings
            .iter()
            .flat_map(|f| &f.labels)
            .map(|l| (l.event.origin.input, l.event.seq, l))
            .collect();
        wanted.sort_unstable_by_key(|(input, seq, _)| (*input, *seq));
        wanted.dedup_by_key(|(input, seq, _)| (*input, *seq));
        let mut out = Evidence {
            keys: Vec::with_capacity(wanted.len()),
            ..Evidence::default()
        };
        for labels in wanted.chunk_by(|a, b| a.0 == b.0) {
            let input = labels[0].0;
            let Some(i) = analysis.input(input) else {
                continue;
            };
            let mut file = match i.evidence.open() {
                Ok(f) => f,
                Err(e) => {
                    out.warnings.push(format!(
                        "{}: cannot reopen the input to show its evidence lines: {e} ({} lines not shown)",
                        crate::model::sanitize::for_terminal(&i.path),
                        labels.len()
                    ));
                    continue;
                }
            };
            let map = file.as_ref().and_then(|f| i.evidence.map(f));
            let mut failed: Vec<(u32, String)> = Vec::new();
            for &(_, seq, l) in labels {
                let text = match &map {
                    Some(bytes) => i.evidence.resolve_mapped(bytes, &l.event),
                    None => i
                        .evidence
                        .resolve(file.as_mut(), &l.event, &analysis.interner),
                };
                match text {
                    Ok(text) => out.push((input, seq), &text),
                    Err(e) => failed.push((l.event.origin.line.max(l.event.origin.record), e)),
                }
            }
            if let Some((at, why)) = failed.first() {
                out.warnings.push(format!(
                    "{}: {} evidence lines cannot be read (first: line {at}: {why})",
                    crate::model::sanitize::for_terminal(&i.path),
                    failed.len()
                ));
            }
        }
        out.texts.shrink_to_fit();
        out
    }

    /// Appends the text of `key` (keys come in sorted order).
    fn push(&mut self, key: (u16, u64), text: &str) {
        let span = Span {
            start: self.texts.len(),
            len: text.len(),
        };
        self.texts.push_str(text);
        self.keys.push((key, span));
    }

    /// The text of a label's line or record ("" when it could not be read).
    pub fn text(&self, l: &Label) -> &str {
        let key = (l.event.origin.input, l.event.seq);
        self.keys
            .binary_search_by_key(&key, |(k, _)| *k)
            .ok()
            .and_then(|i| {
                let s = self.keys[i].1;
                self.texts.get(s.start..s.start + s.len)
            })
            .unwrap_or("")
    }
}

/// The git top level above `dir`: the nearest ancestor holding `.git`.
pub fn git_top_level(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
}

/// `a/./b/../c` → `a/c`, without touching the file system.
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// Report order: errors, then warnings, then notes; within a level by input
/// and line (the engine's order, kept by the stable sort).
pub fn report_order<'a>(findings: &[&'a Finding]) -> Vec<&'a Finding> {
    let mut v = findings.to_vec();
    v.sort_by_key(|f| std::cmp::Reverse(f.level));
    v
}

impl<'a> CiContext<'a> {
    /// The view of `findings` (already filtered), paths relative to the git
    /// top level of the working directory, evidence resolved.
    pub fn new(analysis: &'a Analysis, findings: Vec<&'a Finding>) -> CiContext<'a> {
        let findings = report_order(&findings);
        let evidence = Evidence::resolve(analysis, &findings);
        let cwd = std::env::current_dir().ok();
        CiContext {
            analysis,
            findings,
            rules: crate::rules::registry().to_vec(),
            fail_on: Some(Level::Error),
            max_results: Some(DEFAULT_MAX_RESULTS),
            baseline: None,
            base_dir: cwd
                .as_deref()
                .map(|d| git_top_level(d).unwrap_or(d.to_path_buf())),
            cwd,
            stdin_name: None,
            aliases: BTreeMap::new(),
            totals: Totals::default(),
            evidence,
        }
    }

    /// The input path as every report names it: relative to the repository
    /// root when it lies below it (absolute otherwise), with `/` separators;
    /// `-` is `--stdin-filename` (default `stdin`).
    pub fn display_path(&self, input_path: &str) -> String {
        if input_path == "-" {
            return self
                .stdin_name
                .clone()
                .unwrap_or_else(|| "stdin".to_string());
        }
        if let Some(name) = self.aliases.get(input_path) {
            return name.clone();
        }
        let p = Path::new(input_path);
        let shown = match &self.base_dir {
            Some(base) => {
                let abs = match (&self.cwd, p.is_absolute()) {
                    (Some(cwd), false) => normalize(&cwd.join(p)),
                    _ => normalize(p),
                };
                match abs.strip_prefix(normalize(base)) {
                    Ok(rel) => rel.to_path_buf(),
                    Err(_) => abs,
                }
            }
            None => p.to_path_buf(),
        };
        let s = shown.to_string_lossy().replace('\\', "/");
        s.strip_prefix("./").map(str::to_string).unwrap_or(s)
    }

    /// The report name of input `id`.
    pub fn input_name(&self, id: u16) -> String {
        self.analysis
            .input(id)
            .map(|i| self.display_path(&i.path))
            .unwrap_or_else(|| "unknown".to_string())
    }

    /// Name of a job (one trace, or one `strace -ff` set named by its prefix):
    /// stable across runs, unlike the task ids in `-ff` file names.
    pub fn job_name(&self, job: u32) -> String {
        let members: Vec<&crate::analysis::InputReport> = self
            .analysis
            .inputs
            .iter()
            .filter(|i| i.job == job)
            .collect();
        match members.as_slice() {
            [] => "unknown".to_string(),
            [one] => self.display_path(&one.path),
            [first, ..] => {
                let name = self.display_path(&first.path);
                match name.rsplit_once('.') {
                    Some((prefix, tid)) if tid.bytes().all(|b| b.is_ascii_digit()) => {
                        prefix.to_string()
                    }
                    _ => name,
                }
            }
        }
    }

    /// Where a label points.
    pub fn locate(&self, l: &Label) -> Place {
        let o = l.event.origin;
        Place {
            path: self.input_name(o.input),
            line: o.is_line().then_some(o.line),
            record: (!o.is_line()).then_some(o.record),
            offset: o.offset,
            text: self.evidence.text(l).to_string(),
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

    /// The job a finding belongs to.
    pub fn job_of(&self, f: &Finding) -> Option<u32> {
        self.input_of(f)
            .and_then(|i| self.analysis.input(i))
            .map(|i| i.job)
    }

    pub fn is_failure(&self, f: &Finding) -> bool {
        self.fail_on.is_some_and(|t| f.level >= t)
    }

    /// Whether the run fails (`--fail-on`): decided from the reported findings
    /// only, so the exit code and every report agree.
    pub fn fails(&self) -> bool {
        self.findings.iter().any(|f| self.is_failure(f))
    }

    /// `(errors, warnings, notes)` reported.
    pub fn counts(&self) -> (usize, usize, usize) {
        let of = |l: Level| self.findings.iter().filter(|f| f.level == l).count();
        (of(Level::Error), of(Level::Warning), of(Level::Note))
    }

    /// `2 errors, 1 warning, 14 notes (13 hidden), 3 baselined, 1 allowed`.
    pub fn totals_line(&self) -> String {
        let (e, w, n) = self.counts();
        let plural =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let mut s = format!(
            "{}, {}, {}",
            plural(e, "error", "errors"),
            plural(w, "warning", "warnings"),
            plural(n, "note", "notes")
        );
        if self.totals.hidden > 0 {
            s.push_str(&format!(" ({} hidden by --min-level)", self.totals.hidden));
        }
        if self.totals.baselined > 0 {
            s.push_str(&format!(", {} baselined", self.totals.baselined));
        }
        if self.totals.allowed > 0 {
            s.push_str(&format!(", {} allowed by the config", self.totals.allowed));
        }
        s
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

/// Findings ordered errors first, then warnings, then notes; stable within a
/// level. A view's findings are in that order already: then they are lent,
/// not copied.
pub fn by_severity<'b, 'a>(findings: &'b [&'a Finding]) -> std::borrow::Cow<'b, [&'a Finding]> {
    if findings.is_sorted_by_key(|f| std::cmp::Reverse(f.level)) {
        std::borrow::Cow::Borrowed(findings)
    } else {
        std::borrow::Cow::Owned(report_order(findings))
    }
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
                crate::model::sanitize::for_terminal(&l.text),
                p.text
            )
        })
        .collect()
}
