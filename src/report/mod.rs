//! Reporters: one module per output format. They read [`Analysis`] and never
//! change it.

pub mod ci;
pub mod github;
pub mod gitlab;
pub mod graph;
pub mod html;
pub mod human;
pub mod json;
pub mod junit;
pub mod progress;
pub mod sarif;
pub mod stats;
pub mod summary;
pub mod timeline;

use serde::Serialize;

/// Output formats of `analyze`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    Human,
    Json,
    /// SARIF 2.1.0 (GitHub code scanning and other viewers).
    Sarif,
    /// JUnit XML: one testsuite per input, one testcase per rule.
    Junit,
    /// GitHub Actions workflow commands (annotations) plus a job summary.
    Github,
    /// GitLab Code Quality JSON.
    Gitlab,
    /// One self-contained HTML page: chart, findings with timelines, stats.
    Html,
}

impl OutputFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            OutputFormat::Human => "human",
            OutputFormat::Json => "json",
            OutputFormat::Sarif => "sarif",
            OutputFormat::Junit => "junit",
            OutputFormat::Github => "github",
            OutputFormat::Gitlab => "gitlab",
            OutputFormat::Html => "html",
        }
    }

    /// Formats read by programs; human text never goes into them.
    pub fn is_machine(self) -> bool {
        !matches!(self, OutputFormat::Human)
    }
}

pub use crate::baseline::{BaselineReport, StaleEntry};
pub use crate::input::evidence;
pub use crate::model::sanitize;
pub use ci::{CiContext, render_machine};
