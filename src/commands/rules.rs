//! `handlecheck rules`: the rule table, or the rules as JSON.

use handlecheck::report;
use handlecheck::rules;

use super::{Failure, write_stdout};
use crate::cli::RulesFormat;

pub fn rules(format: RulesFormat, color: bool) -> Result<u8, Failure> {
    let text = match format {
        RulesFormat::Table => report::summary::rules_table(rules::registry(), color),
        RulesFormat::Json => report::summary::rules_json(rules::registry()),
    };
    write_stdout(&text)?;
    Ok(0)
}
