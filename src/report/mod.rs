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
pub mod output;
pub mod pretty;
pub mod progress;
pub mod sarif;
pub mod stats;
pub mod summary;
pub mod text;
pub mod timeline;
pub mod views;

use serde::Serialize;

/// Output formats of `analyze`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
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

    /// Every format, in the order help texts list them.
    pub const ALL: [OutputFormat; 7] = [
        OutputFormat::Human,
        OutputFormat::Json,
        OutputFormat::Sarif,
        OutputFormat::Junit,
        OutputFormat::Github,
        OutputFormat::Gitlab,
        OutputFormat::Html,
    ];

    /// The format named `name` (any case).
    pub fn parse(name: &str) -> Option<OutputFormat> {
        Self::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(name))
    }

    /// Formats read by programs; human text never goes into them.
    pub fn is_machine(self) -> bool {
        !matches!(self, OutputFormat::Human)
    }
}

pub mod color;

pub use crate::baseline::{BaselineReport, StaleEntry};
pub use crate::input::evidence;
pub use crate::model::sanitize;
pub use ci::{CiContext, Evidence, Totals};

/// Renders the resolved view in one format: the same call for stdout and every
/// `--report` file, human text included. As text; [`write`] streams it.
pub fn render(format: OutputFormat, cx: &CiContext<'_>, human: &human::HumanOptions) -> String {
    pretty::to_string(|w| write(format, cx, human, w))
}

/// Writes the resolved view in one format into `w` (give it a buffered
/// writer): every reporter writes finding by finding, so the report never
/// exists whole in memory.
pub fn write(
    format: OutputFormat,
    cx: &CiContext<'_>,
    human: &human::HumanOptions,
    w: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    match format {
        OutputFormat::Human => human::write(cx, human, w),
        OutputFormat::Json => json::write(cx, w),
        OutputFormat::Sarif => sarif::write(cx, w),
        OutputFormat::Junit => junit::write(cx, w),
        OutputFormat::Github => github::write(cx, w),
        OutputFormat::Gitlab => gitlab::write(cx, w),
        OutputFormat::Html => html::write(cx, w),
    }
}

/// Renders a machine format (everything but `human`; see [`render`]).
pub fn render_machine(format: OutputFormat, cx: &CiContext<'_>) -> Option<String> {
    if format == OutputFormat::Human {
        return None;
    }
    Some(render(format, cx, &human::HumanOptions::default()))
}
