//! Reporters: one module per output format. They read [`Analysis`] and never
//! change it.

pub mod evidence;
pub mod human;
pub mod json;
pub mod sanitize;
pub mod stats;
pub mod summary;

use serde::Serialize;

/// Output formats of `analyze`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    Human,
    Json,
}
