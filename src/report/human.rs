//! Human output: one miette diagnostic per finding, with the trace lines as
//! source and each line labelled with what happened there.

use std::fmt::Write as _;
use std::io::{self, Write};

use miette::{
    Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, MietteError,
    MietteSpanContents, Severity, SourceCode, SourceSpan, SpanContents,
};

use crate::analysis::Analysis;
use crate::model::{Finding, InputId, Level, Role};

use super::ci::CiContext;

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
#[derive(Debug)]
struct Excerpt {
    data: String,
    lines: Vec<ExcerptLine>,
}

#[derive(Debug)]
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

/// A diagnostic with its excerpt as source: what `miette::Report` with
/// `with_source_code` would be, without the report hook `Report::new` runs
/// (it probes the terminal) for every finding.
#[derive(Debug)]
struct WithSource {
    diag: MietteDiagnostic,
    source: Excerpt,
}

impl std::fmt::Display for WithSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.diag, f)
    }
}

impl std::error::Error for WithSource {}

impl Diagnostic for WithSource {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.diag.code()
    }
    fn url<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.diag.url()
    }
    fn severity(&self) -> Option<Severity> {
        self.diag.severity()
    }
    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.diag.help()
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.diag.labels()
    }
    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.source)
    }
}

pub struct HumanOptions {
    pub color: bool,
    /// Columns of the terminal (or of the file's text).
    pub width: usize,
    /// `-q`: the findings only, no summary tables or totals.
    pub quiet: bool,
    /// `-v`: also the folded notes (handles open at exit, sweeps over closed fds).
    pub show_folded: bool,
}

impl Default for HumanOptions {
    fn default() -> Self {
        HumanOptions {
            color: false,
            width: 100,
            quiet: false,
            show_folded: false,
        }
    }
}

/// The whole human report as text (see [`write`]).
pub fn render(cx: &CiContext<'_>, opts: &HumanOptions) -> String {
    super::pretty::to_string(|w| write(cx, opts, w))
}

/// Writes the whole human report: every finding (errors, warnings, notes),
/// each written as soon as it is rendered, then the input and rule tables and
/// the totals line (unless quiet).
pub fn write(cx: &CiContext<'_>, opts: &HumanOptions, w: &mut dyn Write) -> io::Result<()> {
    for f in cx.findings.iter().filter(|f| opts.show_folded || !f.folded) {
        w.write_all(render_in(cx, f, opts).as_bytes())?;
        w.write_all(b"\n")?;
    }
    if !opts.quiet {
        w.write_all(super::summary::render_view(cx, opts.color, opts.width).as_bytes())?;
        w.write_all(super::summary::folded_line(&cx.findings, opts.show_folded).as_bytes())?;
    }
    Ok(())
}

/// One finding of an analysis, outside a resolved view (tests, snapshots).
pub fn render_finding(a: &Analysis, f: &Finding, opts: &HumanOptions) -> String {
    let mut cx = CiContext::new(a, vec![f]);
    cx.base_dir = None;
    render_in(&cx, f, opts)
}

/// Shortens a trace line to `budget` characters around the call at byte
/// `call`: a long prefix (pid, time) and a long argument list lose their
/// middle (`…`), the call name and the result (` = ...`) stay. Returns the
/// text and the byte position of the call in it.
pub fn elide(text: &str, call: usize, budget: usize) -> (String, usize) {
    let chars = text.chars().count();
    if chars <= budget || budget < 20 || !text.is_char_boundary(call) {
        return (text.to_string(), call);
    }
    let take = |s: &str, n: usize| -> String { s.chars().take(n).collect() };
    let (prefix, body) = text.split_at(call);
    let mut out = String::new();
    // Room for `PID  HH:MM:SS.ffffff ` at any width handlecheck supports.
    let prefix_budget = (budget / 3).max(24);
    if prefix.chars().count() > prefix_budget {
        out.push_str(&take(prefix, prefix_budget.saturating_sub(1)));
        out.push('…');
    } else {
        out.push_str(prefix);
    }
    let at = out.len();
    let left = budget.saturating_sub(out.chars().count());
    if body.chars().count() <= left {
        out.push_str(body);
        return (out, at);
    }
    // Keep the result: from the last `) = ` (at most half the room).
    let tail = body
        .rfind(") = ")
        .map(|i| &body[i..])
        .filter(|t| t.chars().count() <= left / 2)
        .unwrap_or("");
    let head_room = left.saturating_sub(tail.chars().count() + 1);
    out.push_str(&take(body, head_room));
    out.push('…');
    out.push_str(tail);
    (out, at)
}

fn severity(level: Level) -> Severity {
    match level {
        Level::Error => Severity::Error,
        Level::Warning => Severity::Warning,
        Level::Note => Severity::Advice,
    }
}

/// Renders one finding of a resolved view.
pub fn render_in(cx: &CiContext<'_>, f: &Finding, opts: &HumanOptions) -> String {
    let a = cx.analysis;
    // Room for a trace line: the width less miette's gutter.
    let budget = opts.width.saturating_sub(10).max(40);
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
        let name = super::text::elide_left(
            &crate::model::sanitize::for_terminal(&cx.input_name(*input)),
            opts.width.saturating_sub(24).max(20),
        );
        let raw = cx.evidence.text(label);
        let call = a.interner.resolve(label.event.call);
        // Elide around the call: from `<... ` of a resumed call, else its name.
        let at = call_at(raw, call).map_or(0, |i| {
            if raw[..i].ends_with("<... ") {
                i - 5
            } else {
                i
            }
        });
        let (text, _) = elide(raw, at, budget);
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
    let max_number = excerpt.lines.iter().map(|l| l.number).max().unwrap_or(1);
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
        // Point at the call itself when we can find it (an elided line keeps
        // it), else the whole line.
        let call = a.interner.resolve(l.event.call);
        // Underline the call's name: the label then hangs near the line start.
        let (from, len) = match call_at(text, call) {
            Some(i) => (i, call.len()),
            None => (0, line.len.min(8)),
        };
        // miette does not wrap labels: wrap them to the room right of where
        // they hang (gutter, span middle, `╰── `), between words only.
        let gutter = digits(max_number) + 4;
        let hang = gutter + text[..from].chars().count() + len / 2 + 4;
        let room = opts.width.saturating_sub(hang).max(24);
        let label_text = wrap_words(&crate::model::sanitize::for_terminal(&l.text), room);
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
        let _ = writeln!(help, "{}", crate::model::sanitize::for_terminal(note));
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
                    | Role::Collateral
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
            .map(|t| crate::model::sanitize::for_terminal(t.split(" [0x").next().unwrap_or(t)))
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
    let _ = write!(
        help,
        "\nrule: {} {} (`handlecheck explain {}`)",
        f.code, f.name, f.code
    );
    let diag = MietteDiagnostic::new(format!(
        "{} [{} confidence]",
        crate::model::sanitize::for_terminal(&f.message),
        f.confidence.as_str()
    ))
    .with_severity(severity(f.level))
    .with_labels(spans)
    .with_help(help.trim_end().to_string());
    let report = WithSource {
        diag,
        source: excerpt,
    };
    let mut theme = if opts.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    // rustc's header: `error[HC004]: message`, greppable by level and code.
    let header = format!("{}[{}]:", f.level.as_str(), f.code);
    theme.characters.error = header.clone();
    theme.characters.warning = header.clone();
    theme.characters.advice = header;
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_context_lines(0)
        .with_width(opts.width)
        .with_break_words(false)
        .with_word_separator(textwrap::WordSeparator::AsciiSpace)
        .with_links(false);
    let mut out = String::new();
    if handler.render_report(&mut out, &report).is_err() {
        out = format!("{}[{}]: {}\n", f.level.as_str(), f.code, f.message);
    }
    match out.strip_prefix("  ") {
        Some(rest) => rest.to_string(),
        None => out,
    }
}

/// Where the call's name is in a trace line: `close(`, or the name inside
/// `<... close resumed>`.
fn call_at(text: &str, call: &str) -> Option<usize> {
    if call.is_empty() {
        return None;
    }
    text.find(&format!("{call}("))
        .or_else(|| text.find(&format!("<... {call} resumed>")).map(|i| i + 5))
        .or_else(|| text.find(&format!("{call} resumed>")))
}

fn digits(n: u32) -> usize {
    n.max(1).ilog10() as usize + 1
}

/// Breaks `text` into lines of at most `width` characters at spaces; a word
/// longer than a line stays whole on its own line.
pub fn wrap_words(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut len = 0usize;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let n = word.chars().count();
        if len > 0 && len + 1 + n > width {
            out.push('\n');
            len = 0;
        } else if len > 0 {
            out.push(' ');
            len += 1;
        }
        out.push_str(word);
        len += n;
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

#[cfg(test)]
mod tests {
    use super::elide;

    #[test]
    fn long_lines_keep_the_call_and_the_result() {
        let line = format!(
            "5625  03:16:10.399635 clone3({{flags=CLONE_VM|CLONE_FS, {}}}, 88) = 5626 <0.000060>",
            "x".repeat(300)
        );
        let call = line.find("clone3(").unwrap();
        let (short, at) = elide(&line, call, 70);
        assert!(short.chars().count() <= 70, "{short}");
        assert!(short[at..].starts_with("clone3("), "{short}");
        assert!(short.ends_with(") = 5626 <0.000060>"), "{short}");
        assert!(short.contains('…'));
        let (same, _) = elide("3 close(3) = 0", 2, 70);
        assert_eq!(same, "3 close(3) = 0");
    }
}
