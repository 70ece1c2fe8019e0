//! The binary: wires the CLI to the library and maps outcomes to exit codes
//! (0 clean, 1 findings at or above --fail-on, 2 usage, I/O or unreadable input).

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::Parser;

use handlecheck::analysis::{self, Options};
use handlecheck::model::{Finding, Level};
use handlecheck::report::{self, OutputFormat};
use handlecheck::rules;

mod run;

use handlecheck::cli::{Cli, ColorChoice, Command, CommonArgs, FailOn, MinLevel};

fn main() -> ExitCode {
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
            eprintln!("handlecheck: error: {m}");
            ExitCode::from(2)
        }
    }
}

enum Failure {
    BrokenPipe,
    Message(String),
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Failure {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            Failure::BrokenPipe
        } else {
            Failure::Message(e.to_string())
        }
    }
}

/// One decision for colour, from --color, NO_COLOR, CLICOLOR_FORCE and the stream.
fn use_color(choice: ColorChoice, is_tty: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
                return false;
            }
            if std::env::var_os("CLICOLOR_FORCE").is_some_and(|v| !v.is_empty() && v != "0") {
                return true;
            }
            is_tty
        }
    }
}

fn dispatch(cli: &Cli) -> Result<u8, Failure> {
    let stdout_tty = std::io::stdout().is_terminal();
    match &cli.command {
        Command::Explain { rule } => match rules::find(rule) {
            Some(r) => {
                let m = r.meta();
                let mut out = std::io::stdout().lock();
                writeln!(
                    out,
                    "{} {} (default level: {})\n",
                    m.code,
                    m.name,
                    m.level.as_str()
                )?;
                write!(out, "{}", r.doc())?;
                Ok(0)
            }
            None => Err(Failure::Message(format!(
                "no rule named `{rule}` (see `handlecheck rules`)"
            ))),
        },
        Command::Rules => {
            let color = use_color(cli.color, stdout_tty);
            print!("{}", report::summary::rules_table(rules::registry(), color));
            Ok(0)
        }
        Command::Analyze(args) => analyze(&args.paths, &args.common, cli.color),
        Command::Stats(args) => {
            let text = report::stats::render(
                &args.path,
                args.input_format,
                args.format,
                use_color(cli.color, stdout_tty),
            )
            .map_err(|e| Failure::Message(e.to_string()))?;
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            Ok(0)
        }
        Command::Run(args) => {
            let trace = run::record(args).map_err(Failure::Message)?;
            let code = analyze(&[trace.path_string()], &args.common, cli.color);
            drop(trace);
            code
        }
    }
}

fn selected_rules(common: &CommonArgs) -> Result<Vec<&'static dyn rules::Rule>, Failure> {
    for name in common.select.iter().chain(&common.ignore) {
        if rules::find(name).is_none() {
            return Err(Failure::Message(format!(
                "no rule named `{name}` (see `handlecheck rules`)"
            )));
        }
    }
    Ok(rules::registry()
        .iter()
        .copied()
        .filter(|r| {
            common.select.is_empty()
                || common
                    .select
                    .iter()
                    .any(|s| rules::find(s).is_some_and(|x| x.meta().code == r.meta().code))
        })
        .filter(|r| {
            !common
                .ignore
                .iter()
                .any(|s| rules::find(s).is_some_and(|x| x.meta().code == r.meta().code))
        })
        .collect())
}

fn analyze(paths: &[String], common: &CommonArgs, color: ColorChoice) -> Result<u8, Failure> {
    let options = Options {
        input_format: common.input_format,
        rules: selected_rules(common)?,
        threads: common.threads,
    };
    let analysis =
        analysis::analyze(paths, &options).map_err(|e| Failure::Message(e.to_string()))?;
    if common.strict
        && let Some(i) = analysis.inputs.iter().find(|i| i.stats.skipped > 0)
    {
        let (reason, s) = i
            .stats
            .skipped_by_reason
            .iter()
            .next()
            .map(|(r, s)| (r.clone(), s.first_at))
            .unwrap_or_default();
        return Err(Failure::Message(format!(
            "{}: line {}: {} ({} unusable lines or records in all; --strict makes this an error)",
            i.path, s, reason, i.stats.skipped
        )));
    }
    let min = match common.min_level {
        MinLevel::Error => Level::Error,
        MinLevel::Warning => Level::Warning,
        MinLevel::Note => Level::Note,
    };
    let shown: Vec<&Finding> = analysis
        .findings
        .iter()
        .filter(|f| f.level >= min)
        .collect();
    let to_file = common.output.is_some();
    let color = use_color(color, stdout_tty_for(to_file));
    let text = match common.format {
        OutputFormat::Json => report::json::render(&analysis, &shown),
        OutputFormat::Human => {
            let width = terminal_width();
            let opts = report::human::HumanOptions { color, width };
            let mut s = String::new();
            for f in &shown {
                s.push_str(&report::human::render_finding(&analysis, f, &opts));
                s.push('\n');
            }
            if !common.quiet {
                s.push_str(&report::summary::render(&analysis, &shown, color));
            }
            s
        }
    };
    match &common.output {
        Some(p) => std::fs::write(p, text)
            .map_err(|e| Failure::Message(format!("{}: {e}", p.display())))?,
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
        }
    }
    let threshold = match common.fail_on {
        FailOn::Error => Some(Level::Error),
        FailOn::Warning => Some(Level::Warning),
        FailOn::Note => Some(Level::Note),
        FailOn::Never => None,
    };
    let failing = threshold.is_some_and(|t| analysis.findings.iter().any(|f| f.level >= t));
    Ok(if failing { 1 } else { 0 })
}

fn stdout_tty_for(to_file: bool) -> bool {
    !to_file && std::io::stdout().is_terminal()
}

fn terminal_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .filter(|w: &usize| *w >= 40)
        .unwrap_or(120)
}
