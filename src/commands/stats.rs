//! `handlecheck stats TRACE...`: what traces hold, without running rules.

use super::{Failure, views};
use crate::cli::StatsArgs;

pub fn stats(args: &StatsArgs, color: bool) -> Result<u8, Failure> {
    views::stats(args, color).map_err(Failure::Message)
}
