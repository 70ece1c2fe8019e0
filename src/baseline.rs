//! Baselines: adopt handlecheck on a legacy service without a red build.
//!
//! `--write-baseline FILE` records the current findings by fingerprint;
//! `--baseline FILE` hides the findings it knows and reports its stale entries
//! (known findings that no longer appear). Fingerprints come from the rule and
//! the normalised site, never from pids or handle values, so they survive
//! re-recording; the engine suffixes repeats (`…:2`, `…:3`), so a baseline
//! with two entries of one site tolerates two findings there and reports a third.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::model::Finding;

pub const BASELINE_VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// Format version of this file.
    pub version: u32,
    /// Always `handlecheck`.
    pub tool: String,
    pub entries: Vec<Entry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub fingerprint: String,
    /// Rule code and name and the message, for people reading the file.
    pub code: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    #[error("{path}: cannot read the baseline: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not a handlecheck baseline: {message}")]
    Parse { path: String, message: String },
    #[error(
        "{path}: baseline version {found} is newer than this handlecheck reads ({BASELINE_VERSION})"
    )]
    Version { path: String, found: u32 },
}

impl Baseline {
    /// A baseline of these findings, sorted by fingerprint (stable diffs).
    pub fn from_findings<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> Baseline {
        let mut entries: Vec<Entry> = findings
            .into_iter()
            .map(|f| Entry {
                fingerprint: f.fingerprint.clone(),
                code: f.code.to_string(),
                name: f.name.to_string(),
                message: f.message.clone(),
            })
            .collect();
        entries.sort_by(|a, b| a.fingerprint.cmp(&b.fingerprint));
        entries.dedup_by(|a, b| a.fingerprint == b.fingerprint);
        Baseline {
            version: BASELINE_VERSION,
            tool: "handlecheck".into(),
            entries,
        }
    }

    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".into());
        s.push('\n');
        s
    }

    pub fn parse(text: &str, path: &str) -> Result<Baseline, BaselineError> {
        // The file's own text (unknown keys, the tool name) is quoted in the
        // message: made terminal-safe here, where it is quoted.
        let safe = crate::model::sanitize::for_terminal;
        let b: Baseline = serde_json::from_str(text).map_err(|e| BaselineError::Parse {
            path: safe(path),
            message: safe(&e.to_string()),
        })?;
        if b.tool != "handlecheck" {
            return Err(BaselineError::Parse {
                path: safe(path),
                message: format!("written by `{}`", safe(&b.tool)),
            });
        }
        if b.version > BASELINE_VERSION {
            return Err(BaselineError::Version {
                path: path.into(),
                found: b.version,
            });
        }
        Ok(b)
    }

    pub fn load(path: &std::path::Path) -> Result<Baseline, BaselineError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| BaselineError::Io {
            path: shown.clone(),
            source,
        })?;
        Baseline::parse(&text, &shown)
    }

    /// Removes the findings the baseline knows. Entries of rules not in
    /// `ran` (deselected or off) are neither used nor stale.
    pub fn apply(&self, findings: &mut Vec<Finding>, ran: &[&str], path: &str) -> BaselineReport {
        let known: BTreeSet<&str> = self
            .entries
            .iter()
            .map(|e| e.fingerprint.as_str())
            .collect();
        let present: BTreeSet<String> = findings.iter().map(|f| f.fingerprint.clone()).collect();
        let before = findings.len();
        findings.retain(|f| !known.contains(f.fingerprint.as_str()));
        let stale = self
            .entries
            .iter()
            .filter(|e| ran.contains(&e.code.as_str()) && !present.contains(&e.fingerprint))
            .map(|e| StaleEntry {
                fingerprint: e.fingerprint.clone(),
                code: e.code.clone(),
                message: e.message.clone(),
            })
            .collect();
        BaselineReport {
            path: path.to_string(),
            suppressed: before - findings.len(),
            stale,
        }
    }
}

/// A baseline entry that matched no current finding (the bug was fixed, or
/// the trace no longer shows it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StaleEntry {
    pub fingerprint: String,
    pub code: String,
    pub message: String,
}

/// What applying a baseline did; shown in json and sarif properties.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BaselineReport {
    pub path: String,
    /// Findings hidden because the baseline knows them.
    pub suppressed: usize,
    pub stale: Vec<StaleEntry>,
}
