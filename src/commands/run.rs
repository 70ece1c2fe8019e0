//! `handlecheck run -- CMD`: record with strace, analyse, and exit with the
//! command's status unless the analysis fails the run (`--exit-from`).
//!
//! The report goes to stderr (or `-o`), never into the command's stdout.

use super::analyze::{Aliases, Sink, analyze};
use super::{Failure, Settings};
use crate::cli::{ExitFrom, RunArgs};

pub fn run(args: &RunArgs, settings: &Settings) -> Result<u8, Failure> {
    let trace = crate::run::record(args).map_err(Failure::Message)?;
    let mut aliases = Aliases::new();
    if !trace.kept {
        // A temporary path changes every run and is gone afterwards.
        aliases.insert(
            trace.path_string(),
            format!("handlecheck-run/{}.strace", trace.program),
        );
    }
    if !settings.quiet {
        say!(
            "handlecheck: {} {} (the command exited with {})",
            if trace.interrupted {
                "interrupted: analysing what was recorded of"
            } else {
                "recorded"
            },
            trace.program,
            trace.status
        );
    }
    let analysis = analyze(&[trace.path_string()], settings, Sink::Stderr, aliases)?;
    if trace.kept && (!settings.quiet || trace.interrupted) {
        say!("handlecheck: the trace is kept at {}", trace.path.display());
    } else if !trace.kept && trace.interrupted {
        say!("handlecheck: the trace was removed (--keep-trace PATH keeps it)");
    }
    let child = trace.child_code();
    drop(trace);
    Ok(match args.exit_from {
        ExitFrom::Analysis => analysis,
        ExitFrom::Child if analysis == 2 => 2,
        ExitFrom::Child => child,
        ExitFrom::Auto if analysis != 0 => analysis,
        ExitFrom::Auto => child,
    })
}
