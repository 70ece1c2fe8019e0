//! `handlecheck graph`: the selection's HandleGraph as Graphviz DOT or JSON.

use crate::report::views::graph::{GraphNode, GraphView};

pub fn json(g: &GraphView) -> String {
    serde_json::to_string_pretty(g).unwrap_or_default() + "\n"
}

/// A DOT string literal's content: quotes, backslashes and line breaks escaped,
/// other control characters dropped (trace text is sanitised before this).
pub fn dot_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

fn label(n: &GraphNode) -> String {
    let mut lines = vec![
        format!("{} · pid {}", n.handle, n.pid),
        format!("{} · {}", n.kind, n.how_made),
    ];
    if let Some(r) = &n.resource {
        lines.push(truncate(r, 60));
    }
    if let Some(at) = &n.opened_at {
        lines.push(format!("from {}", tail(at, 48)));
    }
    match (n.released, &n.released_at) {
        (Some(how), Some(at)) => lines.push(format!("{how} at {}", tail(at, 48))),
        _ if n.open_at_end => lines.push("open at end".to_string()),
        _ => {}
    }
    if !n.findings.is_empty() {
        lines.push(n.findings.join(" "));
    }
    lines
        .iter()
        .map(|l| dot_escape(l))
        .collect::<Vec<_>>()
        .join("\\n")
}

/// The end of a long `path:line` (where the line number is).
fn tail(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        s.to_string()
    } else {
        let mut t = String::from("…");
        t.extend(s.chars().skip(n - (max - 1)));
        t
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

pub fn dot(g: &GraphView) -> String {
    let mut out = String::from(
        "digraph handles {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\", fontsize=10];\n  edge [fontsize=9];\n",
    );
    for n in &g.nodes {
        let style = if n.findings.is_empty() {
            String::new()
        } else {
            ", style=filled, fillcolor=\"#f8d0d0\", color=\"#c00000\", penwidth=2".to_string()
        };
        out.push_str(&format!(
            "  \"{}\" [label=\"{}\"{style}];\n",
            dot_escape(&n.id),
            label(n)
        ));
    }
    for e in &g.edges {
        out.push_str(&format!(
            "  \"{}\" -> \"{}\" [label=\"{}\"];\n",
            dot_escape(&e.from),
            dot_escape(&e.to),
            dot_escape(&e.link)
        ));
    }
    if g.nodes_dropped > 0 {
        out.push_str(&format!(
            "  // {} more generations not shown\n",
            g.nodes_dropped
        ));
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_quotes_backslashes_and_controls() {
        assert_eq!(dot_escape("a\"b\\c\nd\u{7}e"), "a\\\"b\\\\c\\nde");
    }
}
