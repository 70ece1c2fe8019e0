//! `--format gitlab`: GitLab Code Quality (a JSON array, Code Climate subset).
//!
//! Severity: an error with high confidence is `blocker` (someone else's handle
//! was, or could have been, hit and the trace proves it), other errors
//! `critical`, warnings `major`, notes `minor` (`info` at low confidence).
//! `location.lines.begin` is the line, or the record number of a binary input.
//! Fingerprints are the engine's, which are unique within a run (GitLab keeps
//! only the first issue of a repeated fingerprint).

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

pub fn render(cx: &CiContext<'_>) -> String {
    let issues: Vec<Issue> = cx
        .findings
        .iter()
        .map(|f| {
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
        })
        .collect();
    let mut s = serde_json::to_string_pretty(&issues).unwrap_or_else(|_| "[]".into());
    s.push('\n');
    s
}
