//! The binary: parses the command line, resolves it once into settings and
//! dispatches to one module per subcommand (`commands/`). Exit status: 0
//! clean, 1 findings at or above --fail-on, 2 usage, I/O or unreadable input
//! (`run`: see `--exit-from`).

use std::process::ExitCode;

use clap::Parser;

/// `eprintln!` that never panics on a closed or broken stderr and makes the
/// text terminal-safe (see `handlecheck::report::output::stderr`).
macro_rules! say {
    ($($arg:tt)*) => {
        handlecheck::report::output::stderr(&format!("{}\n", format_args!($($arg)*)))
    };
}

mod cli;
mod commands;
mod generate;
mod run;

use cli::{Cli, Command};
use commands::{Colors, Failure, Settings};

fn main() -> ExitCode {
    run::perf::exec_hook();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match dispatch(&cli) {
        Ok(code) => ExitCode::from(code),
        Err(Failure::BrokenPipe) => ExitCode::SUCCESS,
        Err(Failure::Message(m)) => {
            handlecheck::report::output::stderr(&format!("handlecheck: error: {m}\n"));
            ExitCode::from(2)
        }
        Err(Failure::Rendered(m)) => {
            handlecheck::report::output::stderr_rendered(&m);
            ExitCode::from(2)
        }
    }
}

fn dispatch(cli: &Cli) -> Result<u8, Failure> {
    let colors = Colors::decide(cli.color.into());
    match &cli.command {
        Command::Explain { rule, format } => {
            commands::explain::explain(rule, *format, colors.stdout)
        }
        Command::Rules { format } => commands::rules::rules(*format, colors.stdout),
        Command::Analyze(args) => {
            let settings = Settings::resolve(&args.common, colors)?;
            commands::analyze::analyze(
                &args.paths,
                &settings,
                commands::analyze::Sink::Stdout,
                Default::default(),
            )
        }
        Command::Run(args) => {
            let settings = Settings::resolve(&args.common, colors)?;
            commands::run::run(args, &settings)
        }
        Command::Record(args) => {
            let trace = run::perf::record_system(args).map_err(Failure::Message)?;
            let common = run::perf::default_common().map_err(Failure::Message)?;
            let settings = Settings::resolve(&common, colors)?;
            commands::analyze::analyze(
                &[trace],
                &settings,
                commands::analyze::Sink::Stdout,
                Default::default(),
            )
        }
        Command::Stats(args) => commands::stats::stats(args, colors.stdout),
        Command::Timeline(args) => {
            commands::views::timeline(args, colors.stdout).map_err(Failure::Message)
        }
        Command::Graph(args) => commands::views::graph(args).map_err(Failure::Message),
        Command::Completions { shell } => commands::completions::completions(*shell),
        Command::Man { out_dir } => commands::man::man(out_dir.as_deref()),
    }
}
