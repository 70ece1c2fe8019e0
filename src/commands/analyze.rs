//! `handlecheck analyze`: the pipeline, then config, baseline and
//! `--min-level` into one resolved view that every report and the exit code
//! read (0 clean, 1 findings at or above `--fail-on`, 2 unreadable input).

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::Instant;

use handlecheck::analysis::{self, Analysis};
use handlecheck::baseline::Baseline;
use handlecheck::model::Finding;
use handlecheck::report::human::HumanOptions;
use handlecheck::report::{self, BaselineReport, CiContext, OutputFormat, Totals};

use super::terminal::{self, Stream};
use super::{Failure, Settings};

/// Where the main report goes when there is no `-o`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sink {
    Stdout,
    /// `run`: the command keeps stdout; the report goes to stderr.
    Stderr,
}

/// Names for inputs whose path means nothing to a reader (run's temporary trace).
pub type Aliases = BTreeMap<String, String>;

pub fn analyze(
    paths: &[String],
    settings: &Settings,
    sink: Sink,
    aliases: Aliases,
) -> Result<u8, Failure> {
    let started = Instant::now();
    let progress = install_progress(settings);
    let result = analysis::analyze(paths, &settings.options);
    if progress {
        handlecheck::input::progress::set_observer(None);
    }
    let mut analysis = result.map_err(|e| Failure::Message(e.to_string()))?;
    if settings.verbose {
        print_verbose(&analysis, started);
    }
    if analysis.inputs.is_empty() {
        print_input_errors(&analysis);
        return Ok(2);
    }
    if settings.strict
        && let Some(i) = analysis.inputs.iter().find(|i| i.stats.skipped > 0)
    {
        let (reason, s, unit) = i
            .stats
            .skipped_by_reason
            .iter()
            .next()
            .map(|(r, s)| (r.clone(), s.first_at, s.unit))
            .unwrap_or_default();
        return Err(Failure::Message(format!(
            "{}: {} {}: {} ({} unusable lines or records in all; --strict makes this an error)",
            i.path, unit, s, reason, i.stats.skipped
        )));
    }
    let mut totals = Totals::default();
    let (baseline, baseline_written) =
        apply_config_and_baseline(&mut analysis, settings, &mut totals)?;
    let shown: Vec<&Finding> = analysis
        .findings
        .iter()
        .filter(|f| f.level >= settings.min_level)
        .collect();
    totals.hidden = analysis.findings.len() - shown.len();

    // The one resolved view: evidence is read here, once.
    let mut cx = CiContext::new(&analysis, shown);
    cx.rules = settings.options.rules.clone();
    cx.fail_on = settings.fail_on;
    cx.max_results = settings.max_results;
    cx.baseline = baseline;
    if let Some(base) = &settings.base_dir {
        cx.base_dir = Some(base.clone());
    }
    cx.stdin_name = settings.stdin_name.clone();
    cx.aliases = aliases;
    cx.totals = totals;
    // Human text on stdout says it in its summary; everything else on stderr.
    let human_on_stdout = settings.format == OutputFormat::Human
        && settings.output.is_none()
        && sink == Sink::Stdout
        && !settings.quiet;
    if !human_on_stdout {
        for w in &cx.evidence.warnings {
            say!("handlecheck: warning: {w}");
        }
    }

    let (color, stream) = match (&settings.output, sink) {
        (Some(_), _) => (false, None),
        (None, Sink::Stdout) => (settings.colors.stdout, Some(Stream::Stdout)),
        (None, Sink::Stderr) => (settings.colors.stderr, Some(Stream::Stderr)),
    };
    let human = HumanOptions {
        color,
        width: stream.map_or(terminal::DEFAULT_WIDTH, terminal::width),
        quiet: settings.quiet,
        show_folded: settings.verbose,
    };
    let write = |w: &mut dyn Write| report::write(settings.format, &cx, &human, w);
    match (&settings.output, sink) {
        (Some(p), _) => handlecheck::report::output::write_atomically(p.as_ref(), write)
            .map_err(|e| Failure::Message(format!("{}: {e}", p.display())))?,
        (None, Sink::Stdout) => handlecheck::report::output::stdout_with(write)?,
        (None, Sink::Stderr) => handlecheck::report::output::stderr_with(write)?,
    }
    write_extra_reports(&cx, settings)?;
    report_stale_baseline(&cx, settings);
    print_input_errors(&analysis);
    if !analysis.errors.is_empty() {
        return Ok(2);
    }
    if baseline_written {
        return Ok(0);
    }
    Ok(if cx.fails() { 1 } else { 0 })
}

/// One line per unreadable input, at the end where it is seen.
fn print_input_errors(analysis: &Analysis) {
    for e in &analysis.errors {
        say!("handlecheck: error: {}", e.report());
    }
    if !analysis.errors.is_empty() && !analysis.inputs.is_empty() {
        say!(
            "handlecheck: {} of {} inputs could not be read; the others were analysed",
            analysis.errors.len(),
            analysis.errors.len() + analysis.inputs.len()
        );
    }
}

/// Applies the config (levels, allowlists), writes `--write-baseline`, and
/// applies `--baseline`. Returns the baseline report and whether one was written.
fn apply_config_and_baseline(
    analysis: &mut Analysis,
    settings: &Settings,
    totals: &mut Totals,
) -> Result<(Option<BaselineReport>, bool), Failure> {
    let allowed = settings
        .config
        .apply(&mut analysis.findings, &analysis.interner);
    totals.allowed = allowed;
    if settings.verbose && allowed > 0 {
        say!("handlecheck: {allowed} findings allowed by the config");
    }
    let mut written = false;
    if let Some(path) = &settings.write_baseline {
        let b = Baseline::from_findings(&analysis.findings);
        handlecheck::report::output::write_atomically(path.as_ref(), |w| {
            w.write_all(b.to_json().as_bytes())
        })
        .map_err(|e| Failure::Message(format!("{}: {e}", path.display())))?;
        if !settings.quiet {
            say!(
                "handlecheck: wrote {} findings to the baseline {}",
                b.entries.len(),
                path.display()
            );
        }
        written = true;
    }
    let Some(path) = &settings.baseline else {
        return Ok((None, written));
    };
    let b = Baseline::load(path).map_err(|e| Failure::Message(e.to_string()))?;
    let codes: Vec<&str> = settings
        .options
        .rules
        .iter()
        .map(|r| r.meta().code)
        .collect();
    let report = b.apply(&mut analysis.findings, &codes, &path.display().to_string());
    totals.baselined = report.suppressed;
    Ok((Some(report), written))
}

/// `--report FORMAT=PATH` files (the same renderer as stdout), and the GitHub job summary.
fn write_extra_reports(cx: &CiContext<'_>, settings: &Settings) -> Result<(), Failure> {
    let file = HumanOptions::default();
    for spec in &settings.reports {
        handlecheck::report::output::write_atomically(spec.path.as_ref(), |w| {
            report::write(spec.format, cx, &file, w)
        })
        .map_err(|e| Failure::Message(format!("{}: {e}", spec.path.display())))?;
    }
    let github = settings.format == OutputFormat::Github
        || settings
            .reports
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
fn report_stale_baseline(cx: &CiContext<'_>, settings: &Settings) {
    let Some(b) = &cx.baseline else { return };
    if settings.quiet || b.stale.is_empty() {
        return;
    }
    let codes: Vec<String> = b
        .stale
        .iter()
        .take(5)
        .map(|e| format!("{} {}", e.code, e.fingerprint))
        .collect();
    say!(
        "handlecheck: baseline {}: {} stale entries (no longer found; rewrite it with --write-baseline): {}{}",
        b.path,
        b.stale.len(),
        codes.join(", "),
        if b.stale.len() > 5 { ", ..." } else { "" }
    );
}

/// Installs the progress bar when stderr is a terminal and neither -q nor -v.
fn install_progress(settings: &Settings) -> bool {
    if settings.quiet || settings.verbose || !std::io::stderr().is_terminal() {
        return false;
    }
    handlecheck::input::progress::set_observer(Some(Arc::new(report::progress::Bar::new(
        settings.colors.stderr,
    ))));
    true
}

/// `-v`: per-input statistics and timings on stderr.
fn print_verbose(a: &Analysis, started: Instant) {
    for i in &a.inputs {
        say!(
            "handlecheck: {}: {}, {} lines/records, {} events, {} skipped",
            report::sanitize::for_terminal(&i.path),
            i.format.as_str(),
            i.stats.units,
            i.stats.events,
            i.stats.skipped
        );
    }
    say!(
        "handlecheck: analysed {} inputs in {:.3} s: {} findings before config and baseline",
        a.inputs.len(),
        started.elapsed().as_secs_f64(),
        a.findings.len()
    );
}
