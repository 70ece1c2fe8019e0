//! `handlecheck timeline`: one value's generations as tables (or JSON).

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, Table};

use crate::report::views::timeline::Timeline;

pub struct TimelineOptions {
    pub color: bool,
    /// `-v`: the stack of each event under its row.
    pub stacks: bool,
}

pub fn json(t: &Timeline) -> String {
    serde_json::to_string_pretty(t).unwrap_or_default() + "\n"
}

pub fn human(t: &Timeline, opts: &TimelineOptions) -> String {
    let mut out = String::new();
    let real = t.generations.iter().filter(|g| g.number > 0).count();
    out.push_str(&format!(
        "{}: {} generation{}, {} event{}\n",
        t.handle,
        real,
        if real == 1 { "" } else { "s" },
        t.generations.iter().map(|g| g.rows.len()).sum::<usize>(),
        if t.generations.iter().map(|g| g.rows.len()).sum::<usize>() == 1 {
            ""
        } else {
            "s"
        },
    ));
    if t.generations.is_empty() {
        out.push_str("  no event on this value in the selection\n");
    }
    for g in &t.generations {
        out.push('\n');
        let title = if g.number == 0 {
            format!("── not open (no generation seen) · pid {}", g.pid)
        } else {
            format!(
                "── generation {} · pid {}{} · {} · {}",
                g.number,
                g.pid,
                g.program
                    .as_deref()
                    .map(|p| format!(" ({p})"))
                    .unwrap_or_default(),
                g.how_made,
                g.kind
            )
        };
        out.push_str(&title);
        if !g.findings.is_empty() {
            let codes: Vec<&str> = t
                .findings
                .iter()
                .filter(|f| g.findings.contains(&f.fingerprint))
                .map(|f| f.code)
                .collect();
            out.push_str(&format!(" · findings: {}", codes.join(", ")));
        }
        out.push('\n');
        let mut table = Table::new();
        table.load_style(UTF8_FULL_CONDENSED);
        if !opts.color {
            table.force_no_tty();
        }
        table.set_header(vec![
            "time", "pid/tid", "op", "call", "resource", "result", "at", "finding",
        ]);
        for r in &g.rows {
            let mut finding = r.findings.join(",");
            if let Some(role) = &r.role {
                finding = format!("◀ {finding} {role}");
            }
            let mut at = r.at.clone();
            if opts.stacks && !r.stack.is_empty() {
                at.push('\n');
                at.push_str(&r.stack.join("\n"));
            }
            table.add_row(vec![
                Cell::new(r.time.as_deref().unwrap_or("-")),
                Cell::new(format!("{}/{}", r.pid, r.tid)),
                Cell::new(r.op),
                Cell::new(&r.call),
                Cell::new(r.resource.as_deref().unwrap_or("")),
                Cell::new(&r.result),
                Cell::new(at),
                Cell::new(finding),
            ]);
        }
        out.push_str(&table.to_string());
        out.push('\n');
    }
    if t.events_dropped > 0 {
        out.push_str(&format!(
            "\n{} more events on this value not shown (the timeline keeps 200,000)\n",
            t.events_dropped
        ));
    }
    if !t.findings.is_empty() {
        out.push_str("\nfindings on this value:\n");
        for f in &t.findings {
            out.push_str(&format!(
                "  {} {} {} [{}]\n",
                f.level, f.code, f.message, f.fingerprint
            ));
        }
    }
    out
}
