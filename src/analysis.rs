//! The pipeline: inputs → readers → lifecycle → rules → sorted, fingerprinted findings.

use std::collections::BTreeMap;

use crate::formats::{self, Format, InputError, ReadMode, ReadStats};
use crate::input;
use crate::input::evidence::EvidenceSource;
use crate::lifecycle::LifecycleBuilder;
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
    /// Worker threads for the rules (None: rayon's default).
    pub threads: Option<usize>,
    pub thresholds: rules::Thresholds,
    /// Folder of PDB files naming `module+0xoffset` frames (`--symbols`).
    pub symbols: Option<std::path::PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            input_format: None,
            rules: rules::registry().to_vec(),
            threads: None,
            thresholds: rules::Thresholds::default(),
            symbols: None,
        }
    }
}

pub struct InputReport {
    pub path: String,
    pub format: Format,
    pub stats: ReadStats,
    pub evidence: EvidenceSource,
}

pub struct Analysis {
    pub inputs: Vec<InputReport>,
    pub findings: Vec<Finding>,
    pub interner: Interner,
}

impl Analysis {
    pub fn input(&self, id: InputId) -> Option<&InputReport> {
        self.inputs.get(id as usize)
    }
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
    // Bounded whatever the caller asks: spawning more only costs time.
    let threads = options.threads.map(|n| n.min(MAX_THREADS));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.unwrap_or(0))
        .build()
        .map_err(|source| AnalysisError::Threads {
            threads: options.threads.unwrap_or(0),
            source,
        })?;
    let symbolizer = match &options.symbols {
        Some(dir) => Some(formats::etl::symbols::Symbolizer::load(dir)?),
        None => None,
    };
    for job in formats::strace::ff::group(paths) {
        let mut builder = LifecycleBuilder::new(&mut interner);
        let style = read_job(&job, options, &mut builder, &mut inputs)?;
        let graph = builder.finish();
        if let Some(sym) = &symbolizer {
            sym.symbolize(&mut interner);
        }

        let cx = RuleContext {
            graph: &graph,
            interner: &interner,
            style,
            thresholds: options.thresholds,
        };
        let mut job_findings = pool.install(|| rules::run(&cx, &options.rules));
        for f in &mut job_findings {
            f.labels.sort_by_key(|l| l.event.seq);
        }
        findings.extend(job_findings);
    }
    add_format_caveats(&mut findings, &inputs);
    finalize(&mut findings);
    Ok(Analysis {
        inputs,
        findings,
        interner,
    })
}

/// Reads every input of one job into `builder`; returns how handles are spelled.
fn read_job(
    job: &[String],
    options: &Options,
    builder: &mut LifecycleBuilder<'_>,
    inputs: &mut Vec<InputReport>,
) -> Result<HandleStyle, InputError> {
    let mut opened = Vec::new();
    for path in job {
        let o = input::open(path)?;
        let format = match options.input_format {
            Some(f) => f,
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
            .and_then(EvidenceSource::file)
            .unwrap_or_else(|| EvidenceSource::Memory(member.bytes_for_evidence()));
        members.push(member);
        inputs.push(InputReport {
            path: display,
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

fn unknown_format(o: &input::Opened) -> InputError {
    let hint = if o.head.is_empty() {
        Some(
            "the input is empty: with strace, did you forget `2>&1` or `-o /dev/stderr`?"
                .to_string(),
        )
    } else {
        Some(
            "name the format with --input-format (strace, etl, htrace, appverif, mda, jsonl)"
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
        if let Some(caveat) = input.format.caveat() {
            f.notes.push(caveat.to_string());
        }
    }
}

/// Fingerprints, stable order, unique fingerprints.
fn finalize(findings: &mut [Finding]) {
    for f in findings.iter_mut() {
        f.fingerprint = fingerprint(f.code, &f.site);
    }
    findings.sort_by(|a, b| sort_key(a).cmp(&sort_key(b)));
    let mut seen: BTreeMap<String, u32> = BTreeMap::new();
    for f in findings.iter_mut() {
        let n = seen.entry(f.fingerprint.clone()).or_insert(0);
        *n += 1;
        if *n > 1 {
            f.fingerprint = format!("{}:{}", f.fingerprint, n);
        }
    }
}

/// Findings in input order, then by primary location, rule and message.
fn sort_key(f: &Finding) -> (u16, u32, u32, &'static str, &str) {
    let p = f.primary().map(|l| l.event.origin).unwrap_or_default();
    (p.input, p.line.max(p.record), p.record, f.code, &f.message)
}

/// 64-bit FNV-1a of the rule code and site, as 16 hex digits: stable across
/// runs, machines and versions (never from pids or handle values).
pub fn fingerprint(code: &str, site: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in code.bytes().chain([0u8]).chain(site.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_stable() {
        assert_eq!(
            fingerprint("HC001", "prog|close|file|/etc/hostname|"),
            fingerprint("HC001", "prog|close|file|/etc/hostname|")
        );
        assert_ne!(fingerprint("HC001", "a"), fingerprint("HC002", "a"));
        assert_eq!(fingerprint("HC001", "").len(), 16);
    }
}
