//! The command line, defined once: help, completions and man pages come from
//! here. clap lives only in the binary: the library's enums are mapped here.

use std::path::PathBuf;

use clap::builder::PossibleValuesParser;
use clap::{Args, Parser, Subcommand, ValueEnum};

use handlecheck::formats::Format;
use handlecheck::report::OutputFormat;
use handlecheck::report::color::ColorWhen;

/// Input formats (`--input-format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum InputFormatArg {
    Strace,
    Etl,
    Htrace,
    Appverif,
    Mda,
    Jsonl,
    /// `perf trace` output (`perf trace -o FILE`, or its stderr).
    PerfTrace,
}

impl From<InputFormatArg> for Format {
    fn from(f: InputFormatArg) -> Format {
        match f {
            InputFormatArg::Strace => Format::Strace,
            InputFormatArg::Etl => Format::Etl,
            InputFormatArg::Htrace => Format::Htrace,
            InputFormatArg::Appverif => Format::Appverif,
            InputFormatArg::Mda => Format::Mda,
            InputFormatArg::Jsonl => Format::Jsonl,
            InputFormatArg::PerfTrace => Format::PerfTrace,
        }
    }
}

/// Output formats (`--format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormatArg {
    Human,
    Json,
    /// SARIF 2.1.0 (GitHub code scanning and other viewers).
    Sarif,
    /// JUnit XML: one testsuite per input, one testcase per rule.
    Junit,
    /// GitHub Actions workflow commands (annotations) plus a job summary.
    Github,
    /// GitLab Code Quality JSON.
    Gitlab,
    /// One self-contained HTML page: chart, findings with timelines, stats.
    Html,
}

impl From<OutputFormatArg> for OutputFormat {
    fn from(f: OutputFormatArg) -> OutputFormat {
        match f {
            OutputFormatArg::Human => OutputFormat::Human,
            OutputFormatArg::Json => OutputFormat::Json,
            OutputFormatArg::Sarif => OutputFormat::Sarif,
            OutputFormatArg::Junit => OutputFormat::Junit,
            OutputFormatArg::Github => OutputFormat::Github,
            OutputFormatArg::Gitlab => OutputFormat::Gitlab,
            OutputFormatArg::Html => OutputFormat::Html,
        }
    }
}

/// Rule codes and names, offered by completions and checked by clap (any case).
fn rule_values() -> PossibleValuesParser {
    let mut names: Vec<&'static str> = Vec::new();
    for r in handlecheck::rules::registry() {
        names.push(r.meta().code);
    }
    for r in handlecheck::rules::registry() {
        names.push(r.meta().name);
    }
    PossibleValuesParser::new(names)
}

/// Finds handle lifecycle bugs (double close, use after close, fd reuse, leaks)
/// in strace, perf trace, ETW, WinDbg and JSON-lines traces.
#[derive(Parser, Debug)]
#[command(name = "handlecheck", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// When to use colours: auto (a terminal, unless NO_COLOR, CLICOLOR=0, TERM=dumb or CI;
    /// CLICOLOR_FORCE or FORCE_COLOR force them), always, never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,
    #[command(subcommand)]
    pub command: Command,
}

/// The JSON-lines event schema, in `analyze --help` and its man page (the
/// full text is docs/jsonl-schema.md).
const JSONL_HELP: &str = "\
Inputs: strace (every layout), perf trace, ETW .etl, WinDbg !htrace dumps, Application Verifier
logs, .NET releaseHandleFailed messages, and JSON lines (schema v1), sniffed from content.

JSON-lines schema v1, one object per line:
  {\"v\":1, \"ts\":<ns or RFC 3339>, \"pid\":N, \"tid\":N, \"op\":OP, ...}
  open          handle, optional type, object, name, stack
  close         handle, stack
  close-failed  handle, status, stack
  dup           handle (the new value), source_handle, optional source_pid, target_pid
  use           handle, call, status (0 = success, else the error)
  thread-start  thread (the new tid, emitted by the creating thread)
  thread-exit, process-exit, gc-start, gc-end
  rpc-ctx-create, rpc-ctx-close, rpc-ctx-rundown, rpc-call, rpc-destroy-client-context
                ctx (opaque id), side (client|server), optional status
handle is a number or a \"0x...\" string; stack an array of \"module!function+0xoff\".
Unknown fields are ignored; a malformed line is skipped and counted with its line number.";

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Analyze traces and report handle bugs.
    #[command(after_long_help = JSONL_HELP)]
    Analyze(AnalyzeArgs),
    /// Record a command with the real strace (or perf trace), then analyze the trace.
    Run(RunArgs),
    /// Record every process on the machine with `perf trace -a` for a while, then analyze it per process.
    Record(RecordArgs),
    /// Show a rule's documentation: what it finds, why, an example, how to fix.
    Explain {
        /// Rule code (HC001) or name (double-release).
        #[arg(value_parser = rule_values(), ignore_case = true)]
        rule: String,
        /// terminal (rendered text) or markdown (the doc as written).
        #[arg(long, short = 'f', value_enum, default_value_t = ExplainFormat::Terminal)]
        format: ExplainFormat,
    },
    /// List the rules.
    Rules {
        /// table or json.
        #[arg(long, short = 'f', value_enum, default_value_t = RulesFormat::Table)]
        format: RulesFormat,
    },
    /// Count what traces hold: records or lines, events by kind, what was skipped or lost;
    /// per process and handle type: opened, closed, duplicated, inherited, peak and live at end.
    Stats(StatsArgs),
    /// One handle value's history: every generation in order, the findings that touch it.
    Timeline(TimelineArgs),
    /// The handle graph of a selection (generations and their links) as Graphviz DOT or JSON.
    Graph(GraphArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page, or write every page (one per subcommand) into a directory.
    Man {
        /// Write handlecheck.1 and handlecheck-SUBCOMMAND.1 here instead of printing handlecheck.1.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
}

/// Formats `explain` can print.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExplainFormat {
    Terminal,
    Markdown,
}

/// Formats `rules` can print.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RulesFormat {
    Table,
    Json,
}

/// Formats `stats` can print.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StatsFormat {
    Human,
    Json,
}

impl StatsFormat {
    pub fn to_output(self) -> OutputFormat {
        match self {
            StatsFormat::Human => OutputFormat::Human,
            StatsFormat::Json => OutputFormat::Json,
        }
    }
}

/// One `--report FORMAT=PATH`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportSpec {
    pub format: OutputFormat,
    pub path: PathBuf,
}

/// Parses `FORMAT=PATH` (`sarif=out.sarif`).
pub fn parse_report_spec(s: &str) -> Result<ReportSpec, String> {
    let (format, path) = s
        .split_once('=')
        .ok_or_else(|| format!("expected FORMAT=PATH (e.g. sarif=handles.sarif), got `{s}`"))?;
    let format = OutputFormat::parse(format).ok_or_else(|| {
        format!(
            "unknown report format `{format}` (json, sarif, junit, github, gitlab, html, human)"
        )
    })?;
    if path.is_empty() {
        return Err("the report path is empty".into());
    }
    Ok(ReportSpec {
        format,
        path: PathBuf::from(path),
    })
}

#[derive(Args, Debug)]
pub struct StatsArgs {
    /// Trace files (`-` for stdin). strace `-ff` per-task files given together are merged.
    #[arg(required = true, value_name = "TRACE")]
    pub paths: Vec<String>,
    /// Only this process.
    #[arg(long, value_name = "PID")]
    pub pid: Option<u32>,
    /// Only processes running this program (path or file name).
    #[arg(long, value_name = "NAME")]
    pub program: Option<String>,
    /// Output format (human or json).
    #[arg(long, short = 'f', value_enum, default_value_t = StatsFormat::Human)]
    pub format: StatsFormat,
    /// Input format, instead of sniffing the content.
    #[arg(long, value_enum)]
    pub input_format: Option<InputFormatArg>,
}

/// Parses a handle value: decimal (`3`, `-1`) or hexadecimal (`0x1a4`).
pub fn parse_handle(s: &str) -> Result<i64, String> {
    let t = s.trim();
    let (neg, body) = match t.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, t),
    };
    let v = match body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        Some(hex) => i64::from_str_radix(hex, 16),
        None => body.parse::<i64>(),
    }
    .map_err(|_| format!("expected a handle value like 3 or 0x1a4, got `{s}`"))?;
    Ok(if neg { -v } else { v })
}

/// `--pid`, `--handle`, `--program`: narrow what is reported.
#[derive(Args, Debug, Clone, Default)]
pub struct FilterArgs {
    /// Only findings (and views) in this process.
    #[arg(long, value_name = "PID")]
    pub pid: Option<u32>,
    /// Only findings about this handle value (`3`, `0x1a4`).
    #[arg(long, value_name = "VALUE", value_parser = parse_handle, allow_hyphen_values = true)]
    pub handle: Option<i64>,
    /// Only findings in processes running this program (path or file name).
    #[arg(long, value_name = "NAME")]
    pub program: Option<String>,
}

/// Formats `timeline` can print.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TimelineFormat {
    Human,
    Json,
}

#[derive(Args, Debug)]
pub struct TimelineArgs {
    /// Trace files (`-` for stdin). strace `-ff` per-task files given together are merged.
    #[arg(required = true, value_name = "TRACE")]
    pub paths: Vec<String>,
    /// The handle value (`3`, `0x1a4`).
    #[arg(long, value_name = "VALUE", value_parser = parse_handle, allow_hyphen_values = true)]
    pub handle: i64,
    /// Only this process.
    #[arg(long, value_name = "PID")]
    pub pid: Option<u32>,
    /// Only events of this thread.
    #[arg(long, value_name = "TID")]
    pub tid: Option<u32>,
    /// Only processes running this program (path or file name).
    #[arg(long, value_name = "NAME")]
    pub program: Option<String>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = TimelineFormat::Human)]
    pub format: TimelineFormat,
    /// Show the stack of each event.
    #[arg(long, short = 'v')]
    pub verbose: bool,
    /// Input format, instead of sniffing the content.
    #[arg(long, value_enum)]
    pub input_format: Option<InputFormatArg>,
    /// Folder of PDB files (`module.pdb`): names `module+0xoffset` frames of ETW stacks.
    #[arg(long, value_name = "DIR")]
    pub symbols: Option<PathBuf>,
}

/// Formats `graph` can print.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// Graphviz DOT (`dot -Tsvg`).
    Dot,
    Json,
}

#[derive(Args, Debug)]
pub struct GraphArgs {
    /// Trace files (`-` for stdin). strace `-ff` per-task files given together are merged.
    #[arg(required = true, value_name = "TRACE")]
    pub paths: Vec<String>,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = GraphFormat::Dot)]
    pub format: GraphFormat,
    /// Write the graph here instead of stdout.
    #[arg(long, short = 'o', value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Input format, instead of sniffing the content.
    #[arg(long, value_enum)]
    pub input_format: Option<InputFormatArg>,
}

#[derive(Args, Debug)]
pub struct AnalyzeArgs {
    /// Trace files (`-` for stdin). strace `-ff` per-task files given together are merged.
    #[arg(required = true, value_name = "TRACE")]
    pub paths: Vec<String>,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Keep the recorded trace at this path (default: a temporary file).
    #[arg(long, value_name = "PATH")]
    pub keep_trace: Option<PathBuf>,
    /// Record stack traces (strace -k): slower, but makes ownership findings certain.
    #[arg(long)]
    pub stacks: bool,
    /// Exit status: auto (the command's status, or 1 when the analysis finds
    /// something at --fail-on), child (always the command's), analysis (0 or 1).
    #[arg(long, value_enum, default_value_t = ExitFrom::Auto)]
    pub exit_from: ExitFrom,
    /// The recorder: strace (ptrace, every detail) or perf (`perf trace`: less overhead, no
    /// paths; falls back to strace when perf is missing or not permitted).
    #[arg(long, value_enum, default_value_t = Recorder::Strace)]
    pub recorder: Recorder,
    /// perf trace buffer per CPU, in pages (`perf trace -m`); too small loses events.
    #[arg(long, value_name = "PAGES", default_value_t = DEFAULT_PERF_PAGES)]
    pub perf_pages: u32,
    #[command(flatten)]
    pub common: CommonArgs,
    /// The command to run, after `--`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// Who records `run`'s command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Recorder {
    Strace,
    Perf,
}

/// `perf trace -m` default: 8192 pages (32 MiB) per CPU lost nothing on the
/// fixtures' and the benchmark's workloads (one page lost most of them).
pub const DEFAULT_PERF_PAGES: u32 = 8192;

#[derive(Args, Debug)]
pub struct RecordArgs {
    /// Record every process on the machine (`perf trace -a`; needs root or CAP_PERFMON).
    #[arg(long, required = true)]
    pub system: bool,
    /// How long to record: `60s`, `1500ms`, `2m`, `1h` (a bare number is seconds).
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    pub duration: std::time::Duration,
    /// Where to write the trace.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: PathBuf,
    /// perf trace buffer per CPU, in pages (`perf trace -m`); too small loses events.
    #[arg(long, value_name = "PAGES", default_value_t = DEFAULT_PERF_PAGES)]
    pub perf_pages: u32,
}

/// Parses `60s`, `1500ms`, `2m`, `1h` or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("expected a duration like 60s, 1500ms or 2m, got `{s}`"))?;
    let secs = match unit {
        "" | "s" => n,
        "ms" => n / 1000.0,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("unknown unit `{unit}` in `{s}` (ms, s, m, h)")),
    };
    if !(secs.is_finite() && secs > 0.0 && secs <= 7.0 * 24.0 * 3600.0) {
        return Err(format!("duration `{s}` must be above 0 and at most a week"));
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

/// The most worker threads `--threads` accepts: more only costs time spawning them.
pub const MAX_THREADS: usize = 256;

fn parse_threads(s: &str) -> Result<usize, String> {
    let n: usize = s
        .parse()
        .map_err(|_| format!("`{s}` is not a number of threads"))?;
    if n > MAX_THREADS {
        return Err(format!("at most {MAX_THREADS} worker threads"));
    }
    Ok(n)
}

/// Where `run` takes its exit status from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExitFrom {
    Auto,
    Child,
    Analysis,
}

#[derive(Args, Debug)]
pub struct CommonArgs {
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = OutputFormatArg::Human, alias = "output-format")]
    pub format: OutputFormatArg,
    /// Write the report here instead of stdout (`run`: instead of stderr).
    #[arg(long, short = 'o', value_name = "PATH")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Exit 1 when a finding at or above this level is reported.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,
    /// Lowest level to report.
    #[arg(long, value_enum, default_value_t = MinLevel::Note)]
    pub min_level: MinLevel,
    /// Input format, instead of sniffing the content.
    #[arg(long, value_enum)]
    pub input_format: Option<InputFormatArg>,
    /// Only these rules (codes or names, comma separated).
    #[arg(long, value_delimiter = ',', value_name = "RULES", value_parser = rule_values(), ignore_case = true)]
    pub select: Vec<String>,
    /// Skip these rules (codes or names, comma separated).
    #[arg(long, value_delimiter = ',', value_name = "RULES", value_parser = rule_values(), ignore_case = true)]
    pub ignore: Vec<String>,
    /// Worker threads for the readers and rules (default: one per core; at most 256).
    /// Output is the same for any count.
    #[arg(long, value_name = "N", value_parser = parse_threads)]
    pub threads: Option<usize>,
    /// Folder of PDB files (`module.pdb`): names `module+0xoffset` frames of ETW stacks.
    #[arg(long, value_name = "DIR")]
    pub symbols: Option<PathBuf>,
    /// Treat skipped (unparseable) input as an error (exit 2).
    #[arg(long)]
    pub strict: bool,
    /// Print only the findings: no summary table, no progress bar, no notes on stderr.
    #[arg(long, short = 'q', conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print per-input statistics and timings to stderr.
    #[arg(long, short = 'v')]
    pub verbose: bool,
    /// Also write a report in FORMAT to PATH (repeatable): `--report sarif=handles.sarif`.
    #[arg(long, value_name = "FORMAT=PATH", value_parser = parse_report_spec)]
    pub report: Vec<ReportSpec>,
    /// At most N results in SARIF output, errors first, then warnings, then notes
    /// (GitHub accepts 25,000 per run); 0: no cap.
    #[arg(long, value_name = "N", default_value_t = handlecheck::report::ci::DEFAULT_MAX_RESULTS)]
    pub max_results: usize,
    /// Report paths relative to this folder (default: the git top level of the
    /// working directory, else the working directory).
    #[arg(long, value_name = "DIR")]
    pub base_dir: Option<PathBuf>,
    /// The name reports give stdin (`-`), e.g. the file it was piped from.
    #[arg(long, value_name = "NAME")]
    pub stdin_filename: Option<String>,
    /// Read this config file instead of looking for handlecheck.toml.
    #[arg(long, value_name = "PATH", conflicts_with = "no_config")]
    pub config: Option<PathBuf>,
    /// Ignore handlecheck.toml files.
    #[arg(long)]
    pub no_config: bool,
    /// Hide the findings recorded in this baseline file; report its stale entries.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Record the current findings in this baseline file (then exit 0).
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl From<ColorChoice> for ColorWhen {
    fn from(c: ColorChoice) -> ColorWhen {
        match c {
            ColorChoice::Auto => ColorWhen::Auto,
            ColorChoice::Always => ColorWhen::Always,
            ColorChoice::Never => ColorWhen::Never,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Note,
    Never,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MinLevel {
    Error,
    Warning,
    Note,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("1500ms"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("5"), Ok(Duration::from_secs(5)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("10x").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("9999h").is_err());
    }

    #[test]
    fn the_clap_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
        let spec = parse_report_spec("SARIF=a=b.sarif").unwrap();
        assert_eq!(spec.format, OutputFormat::Sarif);
        assert_eq!(spec.path, std::path::Path::new("a=b.sarif"));
        assert!(parse_report_spec("sarif=").is_err());
    }
}
