//! `--format junit`: one `testsuite` per input (an `strace -ff` set is one
//! input, named by its prefix), one `testcase` per rule that
//! ran on it, named `HC001 double-release` (stable and unique, so GitLab's
//! merge-request widget can say "newly failed" and "resolved").
//!
//! A rule with findings at or above `--fail-on` gets one `<failure>` listing
//! them all with their evidence lines; findings below it are printed in the
//! testcase's `<system-out>` and the case passes. A rule with no findings is a
//! passing testcase.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{self, Write};

use crate::model::Finding;

use super::ci::{CiContext, evidence_lines};

/// Escapes text for XML content and attribute values, and replaces characters
/// XML 1.0 does not allow at all (most C0 controls) with U+FFFD.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            // Bidi overrides would reorder the text a CI viewer shows.
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// [`escape`] for attribute values: tab, CR and LF as character references,
/// which a parser would otherwise normalise to spaces.
pub fn escape_attr(s: &str) -> String {
    escape(s)
        .replace('\t', "&#9;")
        .replace('\n', "&#10;")
        .replace('\r', "&#13;")
}

/// `handlecheck.<file name without extension>`, dots folded to `_`: Jenkins
/// splits a classname at its last dot into package and class.
fn classname(path: &str) -> String {
    let (dir, name) = match path.rfind(['/', '\\']) {
        Some(i) => (&path[..=i], &path[i + 1..]),
        None => ("", path),
    };
    let stem = name.split_once('.').map_or(name, |(s, _)| s);
    let stem: String = dir
        .chars()
        .chain(stem.chars())
        .map(|c| {
            if c.is_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let stem = stem.trim_start_matches('_');
    format!(
        "handlecheck.{}",
        if stem.is_empty() { "input" } else { stem }
    )
}

fn finding_text(cx: &CiContext<'_>, f: &Finding) -> String {
    let mut s = String::new();
    let at = cx.primary(f).map(|p| p.short()).unwrap_or_default();
    let _ = writeln!(
        s,
        "{at}: {}: {} [{} confidence]",
        f.level.as_str(),
        crate::model::sanitize::for_terminal(&f.message),
        f.confidence.as_str()
    );
    for l in evidence_lines(cx, f) {
        let _ = writeln!(s, "{l}");
    }
    for n in &f.notes {
        let _ = writeln!(s, "  note: {}", crate::model::sanitize::for_terminal(n));
    }
    let _ = writeln!(s, "  fingerprint: {}", f.fingerprint);
    s
}

/// The JUnit report as text (see [`write`]).
pub fn render(cx: &CiContext<'_>) -> String {
    super::pretty::to_string(|w| write(cx, w))
}

/// Writes the JUnit report: the counts first (they are attributes of the
/// enclosing elements), then each testcase with its findings written one at
/// a time into the `<failure>` or `<system-out>` body.
pub fn write(cx: &CiContext<'_>, w: &mut dyn Write) -> io::Result<()> {
    // One suite per job (one trace, or one `strace -ff` set named by its
    // prefix), so names stay the same from run to run.
    let mut jobs: Vec<u32> = cx.analysis.inputs.iter().map(|i| i.job).collect();
    jobs.dedup();
    // The findings of each (job, rule), in report order: one pass over them.
    let mut by_case: HashMap<(u32, &'static str), Vec<&Finding>> = HashMap::new();
    for f in &cx.findings {
        if let Some(job) = cx.job_of(f) {
            by_case.entry((job, f.code)).or_default().push(f);
        }
    }
    let none: Vec<&Finding> = Vec::new();
    let case = |job: u32, code: &'static str| by_case.get(&(job, code)).unwrap_or(&none);
    let failures_of = |job: u32| {
        cx.rules
            .iter()
            .filter(|r| case(job, r.meta().code).iter().any(|f| cx.is_failure(f)))
            .count()
    };
    let all_tests = jobs.len() * cx.rules.len();
    let all_failures: usize = jobs.iter().map(|j| failures_of(*j)).sum();
    write!(
        w,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"handlecheck\" tests=\"{all_tests}\" failures=\"{all_failures}\" errors=\"0\">\n"
    )?;
    for &job in &jobs {
        let path = cx.job_name(job);
        let class = classname(&path);
        writeln!(
            w,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"0\" time=\"0\">",
            escape_attr(&path),
            cx.rules.len(),
            failures_of(job)
        )?;
        for r in &cx.rules {
            let m = r.meta();
            let mine = case(job, m.code);
            let name = format!("{} {}", m.code, m.name);
            write!(
                w,
                "    <testcase name=\"{}\" classname=\"{}\" file=\"{}\" time=\"0\"",
                escape_attr(&name),
                escape_attr(&class),
                escape_attr(&path)
            )?;
            if mine.is_empty() {
                w.write_all(b"/>\n")?;
                continue;
            }
            w.write_all(b">\n")?;
            let failing = || mine.iter().filter(|f| cx.is_failure(f));
            let passing = || mine.iter().filter(|f| !cx.is_failure(f));
            let count = failing().count();
            if let Some(first) = failing().next() {
                let first = crate::model::sanitize::for_terminal(&first.message);
                let message = if count == 1 {
                    first
                } else {
                    format!("{count} findings; first: {first}")
                };
                write!(
                    w,
                    "      <failure message=\"{}\" type=\"{}\">",
                    escape_attr(&message),
                    escape_attr(m.code)
                )?;
                for f in failing() {
                    w.write_all(escape(&finding_text(cx, f)).as_bytes())?;
                }
                w.write_all(b"</failure>\n")?;
            }
            if passing().next().is_some() {
                w.write_all(b"      <system-out>")?;
                for f in passing() {
                    w.write_all(escape(&finding_text(cx, f)).as_bytes())?;
                }
                w.write_all(b"</system-out>\n")?;
            }
            w.write_all(b"    </testcase>\n")?;
        }
        let lost = cx
            .analysis
            .inputs
            .iter()
            .filter(|i| i.job == job)
            .flat_map(|i| i.stats.lost.iter());
        for (what, n) in lost {
            writeln!(
                w,
                "    <system-err>{}</system-err>",
                escape(&format!(
                    "the tracer lost {n} {what}; findings an unseen event could explain have low confidence"
                ))
            )?;
        }
        w.write_all(b"  </testsuite>\n")?;
    }
    w.write_all(b"</testsuites>\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_forbidden_controls() {
        assert_eq!(
            escape("a<b & \"c\"\u{1b}"),
            "a&lt;b &amp; &quot;c&quot;\u{FFFD}"
        );
        assert_eq!(escape("tab\tok"), "tab\tok");
        assert_eq!(escape("a\u{202e}b"), "a\u{FFFD}b");
        assert_eq!(escape_attr("a\nb\tc"), "a&#10;b&#9;c");
    }

    #[test]
    fn classnames_have_no_inner_dots() {
        assert_eq!(
            classname("traces/nightly.strace.log"),
            "handlecheck.traces_nightly"
        );
        assert_eq!(classname("stdin"), "handlecheck.stdin");
        assert_eq!(classname("a b/x y.etl"), "handlecheck.a_b_x_y");
    }
}
