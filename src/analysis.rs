//! The pipeline: inputs → readers → lifecycle → rules → sorted, fingerprinted findings.

use crate::formats::{self, Format, InputError, ReadMode, ReadStats};
use crate::input;
use crate::input::evidence::EvidenceSource;
use crate::lifecycle::history::HistoryFilter;
use crate::lifecycle::{HandleGraph, LifecycleBuilder};
pub use crate::model::site::fingerprint;
use crate::model::{Finding, InputId, Interner};
use crate::rules::{self, HandleStyle, Rule, RuleContext};

/// Formats read into memory whole are refused above this size.
const WHOLE_INPUT_LIMIT: u64 = 8 << 30;

/// The most rule worker threads a pool gets (`--threads` refuses more).
const MAX_THREADS: usize = 256;

pub struct Options {
    /// Overrides sniffing.
    pub input_format: Option<Format>,
    pub rules: Vec<&'static dyn Rule>,
    /// Worker threads for the readers that decode in parallel and for the rules
    /// (None: rayon's default).
    pub threads: Option<usize>,
    pub thresholds: rules::Thresholds,
    /// Folder of PDB files naming `module+0xoffset` frames (`--symbols`).
    pub symbols: Option<std::path::PathBuf>,
    /// Also count every record by event kind (`stats`): binary inputs are
    /// scanned once more in the same mapping, never reopened.
    pub count_events: bool,
    /// `--pid/--tid/--handle/--program`: only findings touching the selection are kept.
    pub selection: Selection,
    /// Keep each job's HandleGraph, with the history the views read (`Analysis::graphs`).
    pub keep_graphs: bool,
}

/// A narrowing of the analysis to one process, thread, value or program. Every
/// event is still read (a fork's inherited handles need the parent's history);
/// only what is reported is narrowed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    pub pid: Option<u32>,
    pub tid: Option<u32>,
    pub handle: Option<crate::model::Handle>,
    /// A program path, or its file name (`cat` matches `/usr/bin/cat`).
    pub program: Option<String>,
}

impl Selection {
    pub fn is_empty(&self) -> bool {
        *self == Selection::default()
    }

    /// True when `path` (a table's program) is the selected program.
    pub fn program_matches(&self, path: Option<&str>) -> bool {
        let Some(want) = &self.program else {
            return true;
        };
        let Some(path) = path else { return false };
        let path = path.trim_matches('"');
        let base = path.rsplit(['/', '\\']).next().unwrap_or(path);
        path == want || base == want || base.strip_suffix(".exe") == Some(want.as_str())
    }

    /// True when the finding's evidence touches the selected process, thread
    /// and value (the program is checked once every input is read: `keeps_program`).
    pub fn keeps(&self, f: &Finding) -> bool {
        // The process the finding is in (a fork's child, not the parent that opened the value).
        let pid_ok = self.pid.is_none_or(|p| f.pid == p);
        let tid_ok = self
            .tid
            .is_none_or(|t| f.labels.iter().any(|l| l.event.tid == t));
        let handle_ok = self.handle.is_none_or(|h| {
            f.labels.iter().any(|l| {
                l.event.handle == h
                    || matches!(l.event.op, crate::model::Op::Dup { source, .. } if source == h)
            })
        });
        pid_ok && tid_ok && handle_ok
    }

    /// True when the finding is in a process whose last program is the selected one.
    pub fn keeps_program(&self, f: &Finding, a: &Analysis) -> bool {
        self.program.is_none()
            || a.graphs
                .iter()
                .any(|g| self.program_matches(a.program_of(g, f.pid).as_deref()))
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            input_format: None,
            rules: rules::registry().to_vec(),
            threads: None,
            thresholds: rules::Thresholds::default(),
            symbols: None,
            count_events: false,
            selection: Selection::default(),
            keep_graphs: false,
        }
    }
}

pub struct InputReport {
    pub path: String,
    /// Inputs analysed together (one trace, or one `strace -ff` set) share a job number.
    pub job: u32,
    pub format: Format,
    pub stats: ReadStats,
    pub evidence: EvidenceSource,
}

pub struct Analysis {
    pub inputs: Vec<InputReport>,
    /// Inputs that could not be read; the others were analysed.
    pub errors: Vec<InputError>,
    pub findings: Vec<Finding>,
    pub interner: Interner,
    /// One per job, when `Options::keep_graphs` (the triage views read them).
    pub graphs: Vec<HandleGraph>,
}

impl Analysis {
    pub fn input(&self, id: InputId) -> Option<&InputReport> {
        self.inputs.get(id as usize)
    }

    /// The program last run by process `pid` of `graph`: the table's program
    /// when the reader named it, else the path its last exec shows in the
    /// trace line (strace `execve("/bin/ls", ...)`). Needs the graph's history.
    pub fn program_of(&self, graph: &HandleGraph, pid: u32) -> Option<String> {
        let named = graph
            .tables
            .iter()
            .rev()
            .filter(|t| t.pid == pid)
            .find_map(|t| t.program)
            .map(|s| self.interner.resolve(s).to_string());
        named.or_else(|| {
            let h = graph.history.as_ref()?;
            let exec = h.execs.iter().rev().find(|e| e.pid == pid)?;
            let input = self.input(exec.event.origin.input)?;
            first_quoted(&input.evidence.text(&exec.event, &self.interner))
        })
    }
}

/// The first `"..."` of a line, escapes kept as written.
fn first_quoted(line: &str) -> Option<String> {
    let start = line.find('"')? + 1;
    let rest = &line[start..];
    let mut escaped = false;
    for (i, c) in rest.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return Some(rest[..i].to_string()).filter(|s| !s.is_empty()),
            _ => escaped = false,
        }
    }
    None
}

/// Why an analysis could not run (exit 2).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum AnalysisError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Input(#[from] InputError),
    #[error("cannot start {threads} worker threads: {source}")]
    Threads {
        threads: usize,
        source: rayon::ThreadPoolBuildError,
    },
}

impl AnalysisError {
    /// The error line, and its hint on a line of its own.
    pub fn report(&self) -> String {
        match self {
            AnalysisError::Input(e) => e.report(),
            other => other.to_string(),
        }
    }
}

pub fn analyze(paths: &[String], options: &Options) -> Result<Analysis, AnalysisError> {
    let mut interner = Interner::new();
    let mut inputs: Vec<InputReport> = Vec::new();
    let mut findings = Vec::new();
    let mut graphs = Vec::new();
    // `--program` is checked against the graphs once every input is read.
    let keep_graphs = options.keep_graphs || options.selection.program.is_some();
    // Bounded whatever the caller asks: spawning more only costs time.
    let threads = options.threads.map(|n| n.min(MAX_THREADS));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.unwrap_or(0))
        // Readers run on a pool thread now: give it the main thread's stack.
        .stack_size(8 << 20)
        .build()
        .map_err(|source| AnalysisError::Threads {
            threads: options.threads.unwrap_or(0),
            source,
        })?;
    let symbolizer = match &options.symbols {
        Some(dir) => Some(formats::etl::symbols::Symbolizer::load(dir)?),
        None => None,
    };
    let mut errors = Vec::new();
    for (job_no, job) in formats::strace::ff::group(paths).into_iter().enumerate() {
        let mut builder = LifecycleBuilder::new(&mut interner);
        if keep_graphs {
            builder.keep_history(HistoryFilter {
                pid: options.selection.pid,
                tid: options.selection.tid,
                handle: options.selection.handle,
            });
        }
        let before = inputs.len();
        // In the pool, so that readers that work in parallel (ETL) use `--threads`.
        let style = match pool.install(|| read_job(&job, options, &mut builder, &mut inputs)) {
            Ok(style) => style,
            Err(e) => {
                // One unreadable input costs only its own job.
                inputs.truncate(before);
                errors.push(e);
                continue;
            }
        };
        for i in &mut inputs[before..] {
            i.job = job_no as u32;
        }
        let graph = builder.finish();
        if let Some(sym) = &symbolizer {
            sym.symbolize(&mut interner);
        }

        let active: Vec<&'static str> = options.rules.iter().map(|r| r.meta().code).collect();
        let cx = RuleContext {
            graph: &graph,
            interner: &interner,
            style,
            thresholds: options.thresholds,
            active: &active,
        };
        let mut job_findings = pool.install(|| rules::run(&cx, &options.rules));
        for f in &mut job_findings {
            f.labels.sort_by_key(|l| l.event.seq);
        }
        if !options.selection.is_empty() {
            job_findings.retain(|f| options.selection.keeps(f));
        }
        if findings.is_empty() {
            findings = job_findings;
        } else {
            findings.extend(job_findings);
        }
        if keep_graphs {
            graphs.push(graph);
        } else {
            drop(graph);
            give_back_freed_memory();
        }
    }
    add_format_caveats(&mut findings, &inputs);
    finalize(&mut findings, &inputs);
    let mut a = Analysis {
        inputs,
        errors,
        findings,
        interner,
        graphs,
    };
    if options.selection.program.is_some() {
        let keep: Vec<bool> = a
            .findings
            .iter()
            .map(|f| options.selection.keeps_program(f, &a))
            .collect();
        let mut keep = keep.into_iter();
        a.findings.retain(|_| keep.next().unwrap_or(false));
    }
    if !options.keep_graphs {
        a.graphs.clear();
    }
    Ok(a)
}

/// Returns the memory freed so far to the system. glibc keeps freed small
/// blocks in the arena of the thread that allocated them: a dropped graph's
/// (330 MB with 500k findings, built on a pool thread) would stay resident
/// while the report, on the main thread, allocates afresh.
fn give_back_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory of the allocator's arenas.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Reads every input of one job into `builder`; returns how handles are spelled.
fn read_job(
    job: &[String],
    options: &Options,
    builder: &mut LifecycleBuilder<'_>,
    inputs: &mut Vec<InputReport>,
) -> Result<HandleStyle, InputError> {
    let mut opened: Vec<(input::Opened, Format)> = Vec::new();
    for path in job {
        let o = input::open(path)?;
        // The other files of an `-ff` set are strace's too: one cheap check
        // each instead of every sniffer (hundreds of small files).
        let set_of_strace = opened.first().is_some_and(|(_, f)| *f == Format::Strace);
        let format = match options.input_format {
            Some(f) => f,
            None if set_of_strace && formats::strace::sniff(&o.head) => Format::Strace,
            None => formats::sniff(&o.head).ok_or_else(|| unknown_format(&o))?,
        };
        opened.push((o, format));
    }
    let first_format = opened.first().map(|(_, f)| *f);
    let style = first_format.map_or(HandleStyle::Fd, Format::handle_style);
    builder.set_rundown_preexisting(first_format.is_some_and(Format::rundown_seeds_handles));
    builder.set_complete_history(first_format.is_some_and(Format::records_every_open));
    if opened.len() > 1 && opened.iter().all(|(_, f)| *f == Format::Strace) {
        read_strace_ff(opened, builder, inputs)?;
        return Ok(style);
    }
    for (o, format) in opened {
        let id = inputs.len() as InputId;
        let display = o.display.clone();
        let mut stats = ReadStats::default();
        let mode = match format.read_mode() {
            ReadMode::Mapped if o.plain_path.is_none() => ReadMode::Whole,
            mode => mode,
        };
        let evidence = match mode {
            ReadMode::Stream => formats::strace::stream::read(o, id, builder, &mut stats)?,
            ReadMode::Mapped => {
                let map = input::map_file(&o)?;
                builder.with_context(id, &mut stats, |ctx| {
                    formats::read_whole(format, &map, &display, ctx)
                })?;
                if options.count_events && format == Format::Etl {
                    count_etl_events(&map, &display, &mut stats)?;
                }
                formats::evidence_for(format, Vec::new())
            }
            ReadMode::Whole => {
                let bytes = input::read_all(o, WHOLE_INPUT_LIMIT)?;
                builder.with_context(id, &mut stats, |ctx| {
                    formats::read_whole(format, &bytes, &display, ctx)
                })?;
                formats::evidence_for(format, bytes)
            }
        };
        inputs.push(InputReport {
            path: display,
            job: 0,
            format,
            stats,
            evidence,
        });
    }
    Ok(style)
}

/// `strace -ff` per-task files, merged into one stream by the strace reader.
fn read_strace_ff(
    opened: Vec<(input::Opened, Format)>,
    builder: &mut LifecycleBuilder<'_>,
    inputs: &mut Vec<InputReport>,
) -> Result<(), InputError> {
    let mut members = Vec::new();
    for (o, _) in opened {
        let id = inputs.len() as InputId;
        let display = o.display.clone();
        let plain = o.plain_path.clone();
        let member = formats::strace::ff::Member::read(o, id)?;
        let evidence = plain
            .as_ref()
            .map(|p| EvidenceSource::Path(p.clone()))
            .unwrap_or_else(|| EvidenceSource::Memory(member.bytes_for_evidence()));
        members.push(member);
        inputs.push(InputReport {
            path: display,
            job: 0,
            format: Format::Strace,
            stats: ReadStats::default(),
            evidence,
        });
    }
    let mut stats = vec![ReadStats::default(); members.len()];
    formats::strace::ff::merge(&members, builder, &mut stats);
    let first = inputs.len() - members.len();
    for (input, st) in inputs[first..].iter_mut().zip(stats) {
        input.stats = st;
    }
    Ok(())
}

/// `stats` on an `.etl` file: records by event, buffers, damage, as counters.
fn count_etl_events(bytes: &[u8], display: &str, stats: &mut ReadStats) -> Result<(), InputError> {
    let s = formats::etl::stats(bytes, display)?;
    // Records and buffers are counted by the reader already.
    stats.bump("etl damaged buffers", s.damaged_buffers);
    for (k, v) in &s.damage {
        stats.bump(&format!("damaged: {k}"), *v);
    }
    for (k, v) in &s.by_event {
        stats.bump(k, *v);
    }
    for (k, v) in &s.lost {
        stats.lost.entry(k.clone()).or_insert(*v);
    }
    Ok(())
}

fn unknown_format(o: &input::Opened) -> InputError {
    let hint = if o.head.is_empty() {
        Some(
            "the input is empty: with strace, did you forget `2>&1` or `-o /dev/stderr`?"
                .to_string(),
        )
    } else {
        Some(
            "name the format with --input-format (strace, perf-trace, etl, htrace, appverif, mda, jsonl)"
                .to_string(),
        )
    };
    let e = InputError::new(
        o.display.clone(),
        if o.head.is_empty() {
            "empty input"
        } else {
            "not a trace format handlecheck knows"
        },
    );
    match hint {
        Some(h) => e.hint(h),
        None => e,
    }
}

/// What a format cannot show, said on every finding that rests on it.
fn add_format_caveats(findings: &mut [Finding], inputs: &[InputReport]) {
    for f in findings.iter_mut() {
        let Some(input) = f
            .primary()
            .and_then(|p| inputs.get(p.event.origin.input as usize))
        else {
            continue;
        };
        input.format.add_caveats(f, &input.stats);
    }
}

/// Fingerprints, stable order, unique fingerprints. Repeats of one site are
/// numbered in order within their own job (one trace or one `-ff` set), so the
/// number does not depend on which other traces are analysed with it.
fn finalize(findings: &mut [Finding], inputs: &[InputReport]) {
    for f in findings.iter_mut() {
        f.fingerprint = fingerprint(f.code, &f.site);
    }
    findings.sort_by(|a, b| sort_key(a).cmp(&sort_key(b)));
    // The occurrence number of each finding's (job, fingerprint), counted
    // over borrowed fingerprints (500k findings: no copy of each), then written.
    let numbers: Vec<u32> = {
        let mut seen: rustc_hash::FxHashMap<(u32, &str), u32> = Default::default();
        findings
            .iter()
            .map(|f| {
                let job = f
                    .primary()
                    .and_then(|p| inputs.get(p.event.origin.input as usize))
                    .map_or(u32::MAX, |i| i.job);
                let n = seen.entry((job, f.fingerprint.as_str())).or_insert(0);
                *n += 1;
                *n
            })
            .collect()
    };
    for (f, n) in findings.iter_mut().zip(numbers) {
        if n > 1 {
            f.fingerprint = format!("{}:{}", f.fingerprint, n);
        }
    }
}

/// Findings in input order, then by primary location, rule and message.
fn sort_key(f: &Finding) -> (u16, u32, u32, &'static str, &str) {
    let p = f.primary().map(|l| l.event.origin).unwrap_or_default();
    (p.input, p.line.max(p.record), p.record, f.code, &f.message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_quoted_string() {
        assert_eq!(
            first_quoted(r#"5695  03:16:11.171550 execve("/bin/ls", ["ls"], 0x7ff) = 0"#)
                .as_deref(),
            Some("/bin/ls")
        );
        assert_eq!(first_quoted(r#"x("a\"b", 1)"#).as_deref(), Some(r#"a\"b"#));
        assert_eq!(first_quoted(r#"x("a\\", 1)"#).as_deref(), Some(r#"a\\"#));
        assert_eq!(first_quoted("no strings"), None);
    }

    #[test]
    fn program_names() {
        let sel = Selection {
            program: Some("ls".into()),
            ..Default::default()
        };
        assert!(sel.program_matches(Some("/bin/ls")));
        assert!(sel.program_matches(Some("ls")));
        assert!(!sel.program_matches(Some("/bin/lsof")));
        assert!(!sel.program_matches(None));
        let exe = Selection {
            program: Some("app".into()),
            ..Default::default()
        };
        assert!(exe.program_matches(Some("C:\\Program Files\\app.exe")));
    }
}
