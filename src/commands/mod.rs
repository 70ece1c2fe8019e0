//! One module per subcommand, and the settings they share: the command line
//! resolved once (rules, config, colour, levels, fail-on, paths).

pub mod analyze;
pub mod completions;
pub mod explain;
pub mod man;
pub mod rules;
pub mod run;
pub mod stats;
pub mod terminal;
pub mod views;

use std::io::IsTerminal;
use std::path::PathBuf;

use handlecheck::analysis::Options;
use handlecheck::config::Config;
use handlecheck::model::Level;
use handlecheck::report::OutputFormat;
use handlecheck::report::color::{ColorWhen, decide_from_env};
use handlecheck::rules::{self as rule_registry, Rule};

use crate::cli::{CommonArgs, FailOn, MinLevel, ReportSpec};

/// Why a command stopped; `main` maps it to exit status 2 (a closed pipe: 0).
pub enum Failure {
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

/// The colour decision, made once per stream from `--color` and the environment.
#[derive(Clone, Copy, Debug)]
pub struct Colors {
    pub stdout: bool,
    pub stderr: bool,
}

impl Colors {
    pub fn decide(when: ColorWhen) -> Colors {
        Colors {
            stdout: decide_from_env(when, std::io::stdout().is_terminal()),
            stderr: decide_from_env(when, std::io::stderr().is_terminal()),
        }
    }
}

/// `analyze` and `run` settings: the command line and the config, resolved once.
pub struct Settings {
    pub options: Options,
    pub config: Config,
    pub colors: Colors,
    pub min_level: Level,
    pub fail_on: Option<Level>,
    pub format: OutputFormat,
    pub output: Option<PathBuf>,
    pub reports: Vec<ReportSpec>,
    pub max_results: Option<usize>,
    pub base_dir: Option<PathBuf>,
    pub stdin_name: Option<String>,
    pub baseline: Option<PathBuf>,
    pub write_baseline: Option<PathBuf>,
    pub strict: bool,
    pub quiet: bool,
    pub verbose: bool,
}

impl Settings {
    pub fn resolve(common: &CommonArgs, colors: Colors) -> Result<Settings, Failure> {
        let config = load_config(common, colors)?;
        let rules = without_disabled(selected_rules(common)?, &config);
        let options = Options {
            input_format: common.input_format.map(Into::into),
            rules,
            threads: common.threads,
            symbols: common.symbols.clone(),
            count_events: false,
            selection: views::selection(&common.filter),
            keep_graphs: views::wants_views(common),
            thresholds: config.rule_thresholds(),
        };
        let base_dir = match &common.base_dir {
            Some(d) => Some(
                std::path::absolute(d)
                    .map_err(|e| Failure::Message(format!("--base-dir {}: {e}", d.display())))?,
            ),
            None => None,
        };
        Ok(Settings {
            options,
            config,
            colors,
            min_level: match common.min_level {
                MinLevel::Error => Level::Error,
                MinLevel::Warning => Level::Warning,
                MinLevel::Note => Level::Note,
            },
            fail_on: match common.fail_on {
                FailOn::Error => Some(Level::Error),
                FailOn::Warning => Some(Level::Warning),
                FailOn::Note => Some(Level::Note),
                FailOn::Never => None,
            },
            format: common.format.into(),
            output: common.output.clone(),
            reports: common.report.clone(),
            max_results: (common.max_results > 0).then_some(common.max_results),
            base_dir,
            stdin_name: common.stdin_filename.clone(),
            baseline: common.baseline.clone(),
            write_baseline: common.write_baseline.clone(),
            strict: common.strict,
            quiet: common.quiet,
            verbose: common.verbose,
        })
    }
}

fn selected_rules(common: &CommonArgs) -> Result<Vec<&'static dyn Rule>, Failure> {
    let code_of = |name: &str| -> Result<&'static str, Failure> {
        rule_registry::find(name)
            .map(|r| r.meta().code)
            .ok_or_else(|| {
                Failure::Message(format!("no rule named `{name}` (see `handlecheck rules`)"))
            })
    };
    let select = common
        .select
        .iter()
        .map(|s| code_of(s))
        .collect::<Result<Vec<_>, _>>()?;
    let ignore = common
        .ignore
        .iter()
        .map(|s| code_of(s))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rule_registry::registry()
        .iter()
        .copied()
        .filter(|r| select.is_empty() || select.contains(&r.meta().code))
        .filter(|r| !ignore.contains(&r.meta().code))
        .collect())
}

fn without_disabled(rules: Vec<&'static dyn Rule>, config: &Config) -> Vec<&'static dyn Rule> {
    let off = config.disabled();
    rules
        .into_iter()
        .filter(|r| !off.contains(&r.meta().code))
        .collect()
}

/// The config: `--config PATH`, else `handlecheck.toml` found upward from the
/// working directory, else the defaults (`--no-config`: always the defaults).
fn load_config(common: &CommonArgs, colors: Colors) -> Result<Config, Failure> {
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
    handlecheck::config::load(&path)
        .map_err(|e| Failure::Rendered(render_diagnostic(&e, colors.stderr)))
}

/// A miette diagnostic as text, in colour or not.
pub fn render_diagnostic(diag: &dyn miette::Diagnostic, color: bool) -> String {
    let theme = if color {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::unicode_nocolor()
    };
    let handler = miette::GraphicalReportHandler::new_themed(theme)
        .with_width(terminal::width(terminal::Stream::Stderr))
        .with_break_words(false)
        .with_links(false);
    let mut out = String::new();
    if handler.render_report(&mut out, diag).is_err() {
        out = format!("handlecheck: error: {diag}\n");
    }
    out
}

/// Writes `text` to stdout, flushing (a closed pipe is not an error).
pub fn write_stdout(text: &str) -> Result<(), Failure> {
    handlecheck::report::output::stdout(text.as_bytes())?;
    Ok(())
}
