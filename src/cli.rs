//! The command line, defined once: help, completions and man pages come from here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::formats::Format;
use crate::report::OutputFormat;

/// Finds handle lifecycle bugs (double close, use after close, fd reuse, leaks)
/// in strace, ETW, WinDbg and JSON-lines traces.
#[derive(Parser, Debug)]
#[command(name = "handlecheck", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// When to use colours: auto (a terminal, and neither NO_COLOR nor CI), always, never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,
    #[command(subcommand)]
    pub command: Command,
}

/// The JSON-lines event schema, in `analyze --help` and its man page (the
/// full text is docs/jsonl-schema.md).
const JSONL_HELP: &str = "\
Inputs: strace (every layout), ETW .etl, WinDbg !htrace dumps, Application Verifier logs,
.NET releaseHandleFailed messages, and JSON lines (schema v1), sniffed from content.

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
    /// Record a command with the real strace, then analyze the trace.
    Run(RunArgs),
    /// Show a rule's documentation: what it finds, why, an example, how to fix.
    Explain {
        /// Rule code (HC001) or name (double-release).
        rule: String,
    },
    /// List the rules.
    Rules,
    /// Count what a trace holds: records or lines, events by kind, what was skipped or lost.
    Stats(StatsArgs),
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
    let format = OutputFormat::from_str(format, true).map_err(|_| {
        format!("unknown report format `{format}` (json, sarif, junit, github, gitlab, human)")
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
    /// Trace file (`-` for stdin).
    #[arg(value_name = "TRACE")]
    pub path: String,
    /// Output format (human or json).
    #[arg(long, short = 'f', value_enum, default_value_t = StatsFormat::Human)]
    pub format: StatsFormat,
    /// Input format, instead of sniffing the content.
    #[arg(long, value_enum)]
    pub input_format: Option<Format>,
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
    #[command(flatten)]
    pub common: CommonArgs,
    /// The command to run, after `--`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

#[derive(Args, Debug)]
pub struct CommonArgs {
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = OutputFormat::Human)]
    pub format: OutputFormat,
    /// Write the report here instead of stdout.
    #[arg(long, short = 'o', value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// Exit 1 when a finding at or above this level is reported.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,
    /// Lowest level to report.
    #[arg(long, value_enum, default_value_t = MinLevel::Note)]
    pub min_level: MinLevel,
    /// Input format, instead of sniffing the content.
    #[arg(long, value_enum)]
    pub input_format: Option<Format>,
    /// Only these rules (codes or names, comma separated).
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    pub select: Vec<String>,
    /// Skip these rules (codes or names, comma separated).
    #[arg(long, value_delimiter = ',', value_name = "RULES")]
    pub ignore: Vec<String>,
    /// Worker threads for the rules (default: one per core). Output is the same for any count.
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
    /// (GitHub keeps 5,000 per run).
    #[arg(long, value_name = "N")]
    pub max_results: Option<usize>,
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
