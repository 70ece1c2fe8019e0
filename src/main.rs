//! The binary: wires the CLI to the library and maps outcomes to exit codes
//! (0 clean, 1 findings at or above --fail-on, 2 usage, I/O or unreadable input).

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use clap::Parser;

use handlecheck::analysis::{self, Options};
use handlecheck::model::{Finding, Level};
use handlecheck::output;
use handlecheck::report::{self, OutputFormat};
use handlecheck::rules;

mod run;

use handlecheck::baseline::Baseline;
use handlecheck::cli::{Cli, ColorChoice, Command, CommonArgs, FailOn, MinLevel};
use handlecheck::config::Config;
use handlecheck::report::{BaselineReport, CiContext};

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
            output::stderr(&format!("handlecheck: error: {m}\n"));
            ExitCode::from(2)
        }
        Err(Failure::Rendered(m)) => {
            output::stderr_rendered(&m);
            ExitCode::from(2)
        }
    }
}

enum Failure {
    BrokenPipe,
    Message(String),
    /// A diagnostic already rendered (miette), printed as is.
    Rendered(String),
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
            is_tty && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
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
            output::stdout(report::summary::rules_table(rules::registry(), color).as_bytes())?;
            Ok(0)
        }
        Command::Analyze(args) => analyze(&args.paths, &args.common, cli.color),
        Command::Stats(args) => {
            let text = report::stats::render(
                &args.path,
                args.input_format,
                args.format.to_output(),
                use_color(cli.color, stdout_tty),
            )
            .map_err(|e| Failure::Message(e.report()))?;
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            Ok(0)
        }
        Command::Completions { shell } => {
            let mut out = std::io::stdout().lock();
            out.write_all(&handlecheck::generate::completion(*shell))?;
            Ok(0)
        }
        Command::Man { out_dir } => man_pages(out_dir.as_deref()),
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
    let config = load_config(common, color)?;
    let options = Options {
        input_format: common.input_format,
        rules: without_disabled(selected_rules(common)?, &config),
        threads: common.threads,
        symbols: common.symbols.clone(),
        thresholds: handlecheck::rules::Thresholds {
            leak_min: config
                .thresholds
                .leak_min
                .unwrap_or(handlecheck::rules::Thresholds::default().leak_min),
        },
    };
    let started = Instant::now();
    let progress = install_progress(common, color);
    let result = analysis::analyze(paths, &options);
    if progress {
        handlecheck::input::progress::set_observer(None);
    }
    let mut analysis = result.map_err(|e| Failure::Message(e.report()))?;
    if common.verbose {
        print_verbose(&analysis, started);
    }
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
    let (baseline, baseline_written) =
        apply_config_and_baseline(&mut analysis, &config, common, &options.rules)?;
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
    let cx = ci_context(&analysis, shown.clone(), common, &options.rules, baseline);
    let text = match common.format {
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
        machine => report::render_machine(machine, &cx).unwrap_or_default(),
    };
    match &common.output {
        Some(p) => output::write_atomically(p, |w| w.write_all(text.as_bytes()))
            .map_err(|e| Failure::Message(format!("{}: {e}", p.display())))?,
        None => output::stdout(text.as_bytes())?,
    }
    write_extra_reports(&cx, common)?;
    report_stale_baseline(&cx, common);
    if baseline_written {
        return Ok(0);
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

// ---- CI reports, config, baselines, progress, man pages (issue #5) ----

fn fail_threshold(fail_on: FailOn) -> Option<Level> {
    match fail_on {
        FailOn::Error => Some(Level::Error),
        FailOn::Warning => Some(Level::Warning),
        FailOn::Note => Some(Level::Note),
        FailOn::Never => None,
    }
}

/// The config: `--config PATH`, else `handlecheck.toml` found upward from the
/// working directory, else the defaults (`--no-config`: always the defaults).
fn load_config(common: &CommonArgs, color: ColorChoice) -> Result<Config, Failure> {
    if common.no_config {
        return Ok(Config::default());
    }
    let path = match &common.config {
        Some(p) => Some(p.clone()),
        None => std::env::current_dir()
            .ok()
            .and_then(|d| handlecheck::config::discover(&d)),
    };
    let Some(path) = path else {
        return Ok(Config::default());
    };
    handlecheck::config::load(&path).map_err(|e| {
        let color = use_color(color, std::io::stderr().is_terminal());
        Failure::Rendered(render_diagnostic(&e, color))
    })
}

/// A miette diagnostic as text, in colour or not (the one colour decision).
fn render_diagnostic(diag: &dyn miette::Diagnostic, color: bool) -> String {
    let theme = if color {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::unicode_nocolor()
    };
    let handler = miette::GraphicalReportHandler::new_themed(theme)
        .with_width(terminal_width())
        .with_links(false);
    let mut out = String::new();
    if handler.render_report(&mut out, diag).is_err() {
        out = format!("handlecheck: error: {diag}\n");
    }
    out
}

fn without_disabled(
    rules: Vec<&'static dyn rules::Rule>,
    config: &Config,
) -> Vec<&'static dyn rules::Rule> {
    let off = config.disabled();
    rules
        .into_iter()
        .filter(|r| !off.contains(&r.meta().code))
        .collect()
}

/// Applies the config (levels, allowlists), writes `--write-baseline`, and
/// applies `--baseline`. Returns the baseline report and whether one was written.
fn apply_config_and_baseline(
    analysis: &mut analysis::Analysis,
    config: &Config,
    common: &CommonArgs,
    ran: &[&'static dyn rules::Rule],
) -> Result<(Option<BaselineReport>, bool), Failure> {
    let allowed = config.apply(&mut analysis.findings, &analysis.interner);
    if common.verbose && allowed > 0 {
        output::stderr(&format!(
            "handlecheck: {allowed} findings allowed by the config\n"
        ));
    }
    let mut written = false;
    if let Some(path) = &common.write_baseline {
        let b = Baseline::from_findings(&analysis.findings);
        output::write_atomically(path, |w| w.write_all(b.to_json().as_bytes()))
            .map_err(|e| Failure::Message(format!("{}: {e}", path.display())))?;
        if !common.quiet {
            output::stderr(&format!(
                "handlecheck: wrote {} findings to the baseline {}\n",
                b.entries.len(),
                path.display()
            ));
        }
        written = true;
    }
    let Some(path) = &common.baseline else {
        return Ok((None, written));
    };
    let b = Baseline::load(path).map_err(|e| Failure::Message(e.to_string()))?;
    let codes: Vec<&str> = ran.iter().map(|r| r.meta().code).collect();
    let report = b.apply(&mut analysis.findings, &codes, &path.display().to_string());
    Ok((Some(report), written))
}

fn ci_context<'a>(
    analysis: &'a analysis::Analysis,
    shown: Vec<&'a Finding>,
    common: &CommonArgs,
    ran: &[&'static dyn rules::Rule],
    baseline: Option<BaselineReport>,
) -> CiContext<'a> {
    let mut cx = CiContext::new(analysis, shown);
    cx.rules = ran.to_vec();
    cx.fail_on = fail_threshold(common.fail_on);
    cx.max_results = common.max_results;
    cx.baseline = baseline;
    cx
}

/// `--report FORMAT=PATH` files, and the GitHub job summary.
fn write_extra_reports(cx: &CiContext<'_>, common: &CommonArgs) -> Result<(), Failure> {
    for spec in &common.report {
        let text = match spec.format {
            OutputFormat::Human => {
                let opts = report::human::HumanOptions {
                    color: false,
                    width: 120,
                };
                let mut s = String::new();
                for f in &cx.findings {
                    s.push_str(&report::human::render_finding(cx.analysis, f, &opts));
                    s.push('\n');
                }
                s.push_str(&report::summary::render(cx.analysis, &cx.findings, false));
                s
            }
            machine => report::render_machine(machine, cx).unwrap_or_default(),
        };
        output::write_atomically(&spec.path, |w| w.write_all(text.as_bytes()))
            .map_err(|e| Failure::Message(format!("{}: {e}", spec.path.display())))?;
    }
    let github = common.format == OutputFormat::Github
        || common
            .report
            .iter()
            .any(|r| r.format == OutputFormat::Github);
    if github && let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty())
    {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| Failure::Message(format!("GITHUB_STEP_SUMMARY: {e}")))?;
        f.write_all(report::github::step_summary(cx).as_bytes())
            .map_err(|e| Failure::Message(format!("GITHUB_STEP_SUMMARY: {e}")))?;
    }
    Ok(())
}

/// One line on stderr about stale baseline entries (unless -q).
fn report_stale_baseline(cx: &CiContext<'_>, common: &CommonArgs) {
    let Some(b) = &cx.baseline else { return };
    if common.quiet || b.stale.is_empty() {
        return;
    }
    let codes: Vec<String> = b
        .stale
        .iter()
        .take(5)
        .map(|e| format!("{} {}", e.code, e.fingerprint))
        .collect();
    output::stderr(&format!(
        "handlecheck: baseline {}: {} stale entries (no longer found; rewrite it with --write-baseline): {}{}\n",
        b.path,
        b.stale.len(),
        codes.join(", "),
        if b.stale.len() > 5 { ", ..." } else { "" }
    ));
}

/// Installs the progress bar when stderr is a terminal and neither -q nor -v.
fn install_progress(common: &CommonArgs, color: ColorChoice) -> bool {
    if common.quiet || common.verbose || !std::io::stderr().is_terminal() {
        return false;
    }
    let color = use_color(color, true);
    handlecheck::input::progress::set_observer(Some(Arc::new(report::progress::Bar::new(color))));
    true
}

/// `-v`: per-input statistics and timings on stderr.
fn print_verbose(a: &analysis::Analysis, started: Instant) {
    for i in &a.inputs {
        output::stderr(&format!(
            "handlecheck: {}: {}, {} lines/records, {} events, {} skipped\n",
            report::sanitize::for_terminal(&i.path),
            i.format.as_str(),
            i.stats.units,
            i.stats.events,
            i.stats.skipped
        ));
        for (reason, s) in &i.stats.skipped_by_reason {
            output::stderr(&format!(
                "handlecheck:   skipped {} × {reason} (first at {})\n",
                s.count, s.first_at
            ));
        }
    }
    output::stderr(&format!(
        "handlecheck: analysed {} inputs in {:.3} s: {} findings before config and baseline\n",
        a.inputs.len(),
        started.elapsed().as_secs_f64(),
        a.findings.len()
    ));
}

/// `handlecheck man`: the main page on stdout, or every page into a directory.
fn man_pages(out_dir: Option<&std::path::Path>) -> Result<u8, Failure> {
    let pages = handlecheck::generate::man_pages();
    match out_dir {
        None => {
            let mut out = std::io::stdout().lock();
            if let Some((_, main)) = pages.first() {
                out.write_all(main)?;
            }
        }
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| Failure::Message(format!("{}: {e}", dir.display())))?;
            for (name, text) in &pages {
                let p = dir.join(name);
                std::fs::write(&p, text)
                    .map_err(|e| Failure::Message(format!("{}: {e}", p.display())))?;
            }
        }
    }
    Ok(0)
}
