//! Human output: one miette diagnostic per finding, with the trace lines as
//! source and each line labelled with what happened there.

use std::fmt::Write as _;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, MietteError,
    MietteSpanContents, Report, Severity, SourceCode, SourceSpan, SpanContents,
};

use crate::analysis::Analysis;
use crate::model::{Finding, InputId, Level, Role};

/// Frames every stack ends in; they say nothing about the bug.
const STARTUP_FRAMES: &[&str] = &[
    "__libc_start_main",
    "__libc_init_first",
    "(_start+",
    "__libc_start_call_main",
    "RtlUserThreadStart",
    "BaseThreadInitThunk",
    "start_thread",
    "clone3+",
    "(clone+",
];

/// Lines of one finding's evidence, laid out in a virtual buffer so that miette
/// shows each with its real line number (and never the lines in between).
struct Excerpt {
    data: String,
    lines: Vec<ExcerptLine>,
}

struct ExcerptLine {
    input: InputId,
    name: String,
    /// 1-based line in the input (record number for binary inputs).
    number: u32,
    start: usize,
    len: usize,
}

impl Excerpt {
    fn find(&self, offset: usize) -> Option<usize> {
        self.lines
            .iter()
            .position(|l| offset >= l.start && offset <= l.start + l.len)
    }
}

impl SourceCode for Excerpt {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        _before: usize,
        _after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let first = self.find(span.offset()).ok_or(MietteError::OutOfBounds)?;
        let end = span.offset() + span.len().saturating_sub(1);
        let last = self.find(end).ok_or(MietteError::OutOfBounds)?;
        // Only consecutive lines of one input may be shown together.
        for i in first..last {
            let (a, b) = (&self.lines[i], &self.lines[i + 1]);
            if a.input != b.input || b.number != a.number + 1 {
                return Err(MietteError::OutOfBounds);
            }
        }
        let (f, l) = (&self.lines[first], &self.lines[last]);
        let start = f.start;
        let stop = l.start + l.len;
        let data = self.data.get(start..stop).ok_or(MietteError::OutOfBounds)?;
        Ok(Box::new(MietteSpanContents::new_named(
            f.name.clone(),
            data.as_bytes(),
            SourceSpan::from((start, stop - start)),
            f.number.saturating_sub(1) as usize,
            0,
            last - first + 1,
        )))
    }
}

pub struct HumanOptions {
    pub color: bool,
    pub width: usize,
}

fn severity(level: Level) -> Severity {
    match level {
        Level::Error => Severity::Error,
        Level::Warning => Severity::Warning,
        Level::Note => Severity::Advice,
    }
}

/// Renders one finding.
pub fn render_finding(a: &Analysis, f: &Finding, opts: &HumanOptions) -> String {
    // Collect the distinct evidence lines in input order.
    let mut keys: Vec<(InputId, u32, usize)> = Vec::new();
    for (i, l) in f.labels.iter().enumerate() {
        let o = l.event.origin;
        let n = if o.is_line() { o.line } else { o.record };
        if !keys
            .iter()
            .any(|(inp, num, _)| *inp == o.input && *num == n)
        {
            keys.push((o.input, n, i));
        }
    }
    // In time order (the event sequence): one file reads top to bottom, and
    // `-ff` per-task files interleave as the events happened.
    keys.sort_by_key(|(input, number, i)| (f.labels[*i].event.seq, *input, *number));
    let mut excerpt = Excerpt {
        data: String::new(),
        lines: Vec::new(),
    };
    for (input, number, label_index) in &keys {
        let label = &f.labels[*label_index];
        let (name, text) = match a.input(*input) {
            Some(inp) => (
                crate::model::sanitize::for_terminal(&inp.path),
                inp.evidence.text(&label.event, &a.interner),
            ),
            None => (String::from("?"), String::new()),
        };
        let start = excerpt.data.len();
        excerpt.data.push_str(&text);
        excerpt.lines.push(ExcerptLine {
            input: *input,
            name,
            number: *number,
            start,
            len: text.len(),
        });
        excerpt.data.push('\n');
    }
    let mut spans = Vec::new();
    let primary = f.primary().map(|p| p.event.seq);
    for l in &f.labels {
        let o = l.event.origin;
        let n = if o.is_line() { o.line } else { o.record };
        let Some(line) = excerpt
            .lines
            .iter()
            .find(|x| x.input == o.input && x.number == n)
        else {
            continue;
        };
        let text = &excerpt.data[line.start..line.start + line.len];
        // Point at the call itself when we can find it, else the whole line.
        let call = a.interner.resolve(l.event.call);
        let (from, len) = match text.find(&format!("{call}(")) {
            Some(i) => (i, line.len - i),
            None => (0, line.len),
        };
        let label_text = crate::report::sanitize::for_terminal(&l.text);
        let span = if Some(l.event.seq) == primary {
            LabeledSpan::new_primary_with_span(Some(label_text), (line.start + from, len.max(1)))
        } else {
            LabeledSpan::new_with_span(Some(label_text), (line.start + from, len.max(1)))
        };
        spans.push(span);
    }
    let mut help = String::new();
    let first_help_line = crate::rules::find(f.code)
        .map(|r| fix_line(r.doc()))
        .unwrap_or_default();
    for note in &f.notes {
        let _ = writeln!(help, "{}", crate::report::sanitize::for_terminal(note));
    }
    // Stacks of the labels that matter most (the bad call, the first release,
    // the victim), without process start-up frames and raw addresses.
    let key_labels: Vec<&crate::model::Label> = f
        .labels
        .iter()
        .filter(|l| {
            matches!(
                l.role,
                Role::BadRelease
                    | Role::BadUse
                    | Role::FirstRelease
                    | Role::Release
                    | Role::Victim
                    | Role::InFlight
                    | Role::Failure
            )
        })
        .filter(|l| l.event.stack.is_some())
        .take(4)
        .collect();
    // Leak findings have no bad call: the first creation stack is the evidence.
    let stacked: Vec<&crate::model::Label> = if key_labels.is_empty() {
        f.labels
            .iter()
            .filter(|l| l.event.stack.is_some())
            .take(1)
            .collect()
    } else {
        key_labels
    };
    for l in stacked {
        let Some(stack) = l.event.stack else { continue };
        let frames: Vec<String> = a
            .interner
            .frames(stack)
            .iter()
            .map(|s| a.interner.resolve(*s))
            .filter(|t| !STARTUP_FRAMES.iter().any(|s| t.contains(s)))
            .take(6)
            .map(|t| crate::report::sanitize::for_terminal(t.split(" [0x").next().unwrap_or(t)))
            .collect();
        let o = l.event.origin;
        let _ = writeln!(
            help,
            "stack at {} {}: {}",
            if o.is_line() { "line" } else { "record" },
            o.line.max(o.record),
            frames.join(" ← ")
        );
    }
    if !first_help_line.is_empty() {
        let _ = write!(help, "fix: {first_help_line}");
    }
    let diag = MietteDiagnostic::new(format!(
        "{} [{} confidence]",
        crate::report::sanitize::for_terminal(&f.message),
        f.confidence.as_str()
    ))
    .with_code(format!("{}({})", f.code, f.name))
    .with_severity(severity(f.level))
    .with_labels(spans)
    .with_help(help.trim_end().to_string());
    let report = Report::new(diag).with_source_code(excerpt);
    let theme = if opts.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_context_lines(0)
        .with_width(opts.width)
        .with_links(false);
    let mut out = String::new();
    if handler.render_report(&mut out, report.as_ref()).is_err() {
        out = format!("{}: {}\n", f.code, f.message);
    }
    out
}

/// The first sentence of a rule's "How to fix" section.
fn fix_line(doc: &str) -> String {
    let Some(start) = doc.find("## How to fix") else {
        return String::new();
    };
    let body: String = doc[start + "## How to fix".len()..]
        .lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with("##"))
        .collect::<Vec<_>>()
        .join(" ");
    let body = body.trim();
    match body.find(". ") {
        Some(i) => body[..=i].to_string(),
        None => body.to_string(),
    }
}
