//! The triage views: `stats`, `timeline`, `graph`, and what `analyze`/`run`
//! need for `--format html` and `--pid/--handle/--program`.

use std::io::Write;

use handlecheck::analysis::{self, Options, Selection};
use handlecheck::report::{self, OutputFormat};

use crate::cli::{
    CommonArgs, FilterArgs, GraphArgs, GraphFormat, OutputFormatArg, StatsArgs, TimelineArgs,
    TimelineFormat,
};

pub fn selection(f: &FilterArgs) -> Selection {
    Selection {
        pid: f.pid,
        tid: None,
        handle: f.handle,
        program: f.program.clone(),
    }
}

/// True when a requested output needs the graphs kept (HTML).
pub fn wants_views(common: &CommonArgs) -> bool {
    common.format == OutputFormatArg::Html
        || common.report.iter().any(|r| r.format == OutputFormat::Html)
}

/// Writes to stdout or a file; a closed stdout pipe is not an error.
fn emit(text: &str, to: Option<&std::path::Path>) -> Result<u8, String> {
    match to {
        Some(p) => {
            handlecheck::report::output::write_atomically(p, |w| w.write_all(text.as_bytes()))
                .map_err(|e| format!("{}: {e}", p.display()))?
        }
        None => {
            let mut out = std::io::stdout().lock();
            match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                r => r.map_err(|e| e.to_string())?,
            }
        }
    }
    Ok(0)
}

pub fn stats(args: &StatsArgs, color: bool) -> Result<u8, String> {
    let format = args.format.to_output();
    let sel = Selection {
        pid: args.pid,
        program: args.program.clone(),
        ..Default::default()
    };
    let text = report::stats::render(
        &args.paths,
        args.input_format.map(Into::into),
        &sel,
        format,
        color,
    )
    .map_err(|e| e.report())?;
    emit(&text, None)
}

pub fn timeline(args: &TimelineArgs, color: bool) -> Result<u8, String> {
    let sel = Selection {
        pid: args.pid,
        tid: args.tid,
        handle: Some(args.handle),
        program: args.program.clone(),
    };
    let options = Options {
        input_format: args.input_format.map(Into::into),
        symbols: args.symbols.clone(),
        keep_graphs: true,
        selection: sel.clone(),
        ..Default::default()
    };
    let a = analysis::analyze(&args.paths, &options).map_err(|e| e.report())?;
    let Some(t) =
        handlecheck::report::views::timeline::build(&a, &sel, args.format == TimelineFormat::Json)
    else {
        return Err("--handle is required".to_string());
    };
    let text = match args.format {
        TimelineFormat::Json => report::timeline::json(&t),
        TimelineFormat::Human => report::timeline::human(
            &t,
            &report::timeline::TimelineOptions {
                color,
                stacks: args.verbose,
            },
        ),
    };
    emit(&text, None)
}

pub fn graph(args: &GraphArgs) -> Result<u8, String> {
    let sel = selection(&args.filter);
    let options = Options {
        input_format: args.input_format.map(Into::into),
        keep_graphs: true,
        selection: sel.clone(),
        ..Default::default()
    };
    let a = analysis::analyze(&args.paths, &options).map_err(|e| e.report())?;
    let g = handlecheck::report::views::graph::build(&a, &sel);
    let text = match args.format {
        GraphFormat::Dot => report::graph::dot(&g),
        GraphFormat::Json => report::graph::json(&g),
    };
    emit(&text, args.output.as_deref())
}
