//! `handlecheck stats TRACE`: what a trace holds, without running rules.

use handlecheck::report;

use super::{Failure, write_stdout};
use crate::cli::StatsArgs;

pub fn stats(args: &StatsArgs, color: bool) -> Result<u8, Failure> {
    let text = report::stats::render(
        &args.path,
        args.input_format.map(Into::into),
        args.format.to_output(),
        color,
    )
    .map_err(|e| Failure::Message(e.to_string()))?;
    write_stdout(&text)?;
    Ok(0)
}
