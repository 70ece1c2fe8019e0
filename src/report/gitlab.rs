//! `--format gitlab`: GitLab Code Quality (a JSON array, Code Climate subset).
//!
//! Severity: an error with high confidence is `blocker` (someone else's handle
//! was, or could have been, hit and the trace proves it), other errors
//! `critical`, warnings `major`, notes `minor` (`info` at low confidence).
//! `location.lines.begin` is the line, or the record number of a binary input.
//! Fingerprints are the engine's, which are unique within a run (GitLab keeps
//! only the first issue of a repeated fingerprint).

use std::io::{self, Write};

use serde::Serialize;

use crate::model::{Confidence, Finding, Level};

use super::ci::CiContext;

#[derive(Serialize)]
struct Issue {
    #[serde(rename = "type")]
    kind: &'static str,
    description: String,
    check_name: &'static str,
    fingerprint: String,
    severity: &'static str,
    categories: [&'static str; 1],
    location: Location,
}

#[derive(Serialize)]
struct Location {
    path: String,
    lines: Lines,
}

#[derive(Serialize)]
struct Lines {
    begin: u32,
}

pub fn severity(f: &Finding) -> &'static str {
    match (f.level, f.confidence) {
        (Level::Error, Confidence::High) => "blocker",
        (Level::Error, _) => "critical",
        (Level::Warning, _) => "major",
        (Level::Note, Confidence::Low) => "info",
        (Level::Note, _) => "minor",
    }
}

fn issue(cx: &CiContext<'_>, f: &Finding) -> Issue {
    let p = cx.primary(f);
    Issue {
        kind: "issue",
        description: format!(
            "{} {}: {}",
            f.code,
            f.name,
            crate::model::sanitize::for_terminal(&f.message)
        ),
        check_name: f.code,
        fingerprint: f.fingerprint.clone(),
        severity: severity(f),
        categories: ["Bug Risk"],
        location: Location {
            path: p.as_ref().map(|p| p.path.clone()).unwrap_or_default(),
            lines: Lines {
                begin: p.as_ref().map_or(1, |p| p.line_or_record()),
            },
        },
    }
}

/// The Code Quality report as text (see [`write`]).
pub fn render(cx: &CiContext<'_>) -> String {
    super::pretty::to_string(|w| write(cx, w))
}

/// Writes the Code Quality array, one issue at a time. Uncapped: GitLab
/// reads every issue of the artifact.
pub fn write(cx: &CiContext<'_>, w: &mut dyn Write) -> io::Result<()> {
    let mut list = super::pretty::Array::begin(w, 0)?;
    for f in &cx.findings {
        list.item(w, &issue(cx, f))?;
    }
    list.end(w)?;
    w.write_all(b"\n")
}
