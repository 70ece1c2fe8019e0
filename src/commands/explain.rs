//! `handlecheck explain RULE`: the rule's doc, rendered for a terminal
//! (headings, indented examples, wrapped paragraphs) or as Markdown.

use handlecheck::rules;

use super::terminal::{self, Stream};
use super::{Failure, write_stdout};
use crate::cli::ExplainFormat;

pub fn explain(rule: &str, format: ExplainFormat, color: bool) -> Result<u8, Failure> {
    let Some(r) = rules::find(rule) else {
        return Err(Failure::Message(format!(
            "no rule named `{rule}` (see `handlecheck rules`)"
        )));
    };
    let m = r.meta();
    let doc = dedent(r.doc());
    let text = match format {
        ExplainFormat::Markdown => format!(
            "# {} {}\n\nDefault level: {}.\n\n{}\n",
            m.code,
            m.name,
            m.level.as_str(),
            doc.trim()
        ),
        ExplainFormat::Terminal => {
            let title = format!(
                "{} {} (default level: {})",
                m.code,
                m.name,
                m.level.as_str()
            );
            let mut out = format!("{}\n\n", bold(&title, color));
            out.push_str(&render_markdown(
                &doc,
                terminal::width(Stream::Stdout).min(100),
                color,
            ));
            out
        }
    };
    write_stdout(&text)?;
    Ok(0)
}

/// A rule doc without the one space `///` comments leave at each line start.
fn dedent(doc: &str) -> String {
    doc.lines()
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n")
}

fn bold(s: &str, color: bool) -> String {
    if color {
        format!("\x1b[1m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

/// The small Markdown of rule docs as terminal text: `## Heading` becomes an
/// (upper-case) heading, fenced code is indented by four spaces without its
/// fences, inline `code` and *emphasis* lose their markers, paragraphs are
/// re-wrapped at `width` (between words only).
pub fn render_markdown(doc: &str, width: usize, color: bool) -> String {
    let mut out = String::new();
    let mut para: Vec<String> = Vec::new();
    let mut in_code = false;
    let flush = |para: &mut Vec<String>, out: &mut String| {
        if !para.is_empty() {
            let text = para.join(" ");
            out.push_str(&wrap(&inline(&text), width, "  ", "  "));
            out.push('\n');
            para.clear();
        }
    };
    for line in doc.lines() {
        let t = line.trim_end();
        if t.trim_start().starts_with("```") {
            flush(&mut para, &mut out);
            in_code = !in_code;
            continue;
        }
        if in_code {
            out.push_str("      ");
            out.push_str(t);
            out.push('\n');
            continue;
        }
        if let Some(h) = t.strip_prefix("## ").or_else(|| t.strip_prefix("# ")) {
            flush(&mut para, &mut out);
            if !out.is_empty() && !out.ends_with("\n\n") {
                out.push('\n');
            }
            out.push_str(&bold(&h.trim().to_uppercase(), color));
            out.push('\n');
            continue;
        }
        if t.trim().is_empty() {
            flush(&mut para, &mut out);
            if !out.ends_with("\n\n") && !out.is_empty() {
                out.push('\n');
            }
            continue;
        }
        let item = t.trim_start();
        if let Some(rest) = item.strip_prefix("- ").or_else(|| item.strip_prefix("* ")) {
            flush(&mut para, &mut out);
            out.push_str(&wrap(&format!("• {}", inline(rest)), width, "  ", "    "));
            out.push('\n');
            continue;
        }
        para.push(item.to_string());
    }
    flush(&mut para, &mut out);
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// Drops inline Markdown markers: backticks, `**`, and `*` around words.
fn inline(s: &str) -> String {
    let s = s.replace("**", "").replace('`', "");
    let mut out = String::with_capacity(s.len());
    let chars: Vec<char> = s.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if *c == '*' {
            let prev = i.checked_sub(1).and_then(|j| chars.get(j));
            let next = chars.get(i + 1);
            let opens = prev.is_none_or(|p| p.is_whitespace() || *p == '(')
                && next.is_some_and(|n| n.is_alphanumeric());
            let closes = prev.is_some_and(|p| p.is_alphanumeric())
                && next.is_none_or(|n| !n.is_alphanumeric());
            if opens || closes {
                continue;
            }
        }
        out.push(*c);
    }
    out
}

/// Greedy wrap at spaces; a word longer than the line stays whole.
pub fn wrap(text: &str, width: usize, indent: &str, rest: &str) -> String {
    let mut out = String::new();
    let mut line = String::from(indent);
    let mut empty = true;
    for word in text.split_whitespace() {
        let need = line.chars().count() + usize::from(!empty) + word.chars().count();
        if !empty && need > width {
            out.push_str(line.trim_end());
            out.push('\n');
            line = rest.to_string();
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    out.push_str(line.trim_end());
    out
}
