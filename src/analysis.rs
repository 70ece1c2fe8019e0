//! The pipeline: inputs → readers → lifecycle → rules → sorted, fingerprinted findings.

use std::collections::BTreeMap;
use std::io::Read;

use crate::formats::{self, Format, InputError, ReadStats};
use crate::input::{self, lines};
use crate::lifecycle::LifecycleBuilder;
use crate::model::{Finding, InputId, Interner, Origin};
use crate::report::evidence::EvidenceSource;
use crate::rules::{self, HandleStyle, Rule, RuleContext};

/// Formats read into memory whole are refused above this size.
const WHOLE_INPUT_LIMIT: u64 = 8 << 30;

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

/// Inputs analysed together: one trace, or the per-task files of one `strace -ff` run.
fn group_jobs(paths: &[String]) -> Vec<Vec<String>> {
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut jobs: Vec<Vec<String>> = Vec::new();
    for p in paths {
        if let Some(prefix) = ff_prefix(p) {
            groups.entry(prefix).or_default().push(p.clone());
        } else {
            jobs.push(vec![p.clone()]);
        }
    }
    for (_, mut members) in groups {
        if members.len() == 1 {
            jobs.push(members);
        } else {
            members.sort();
            jobs.push(members);
        }
    }
    // Keep the user's order for the first member of each job.
    jobs.sort_by_key(|j| {
        paths
            .iter()
            .position(|p| Some(p) == j.first())
            .unwrap_or(usize::MAX)
    });
    jobs
}

/// `trace.1234` → `trace` (strace -ff names files PREFIX.TID).
fn ff_prefix(path: &str) -> Option<String> {
    let (prefix, tid) = path.rsplit_once('.')?;
    (!tid.is_empty() && tid.len() <= 10 && tid.bytes().all(|b| b.is_ascii_digit()))
        .then(|| prefix.to_string())
}

fn ff_tid(path: &str) -> Option<u32> {
    path.rsplit_once('.').and_then(|(_, t)| t.parse().ok())
}

pub fn analyze(paths: &[String], options: &Options) -> Result<Analysis, InputError> {
    let mut interner = Interner::new();
    let mut inputs: Vec<InputReport> = Vec::new();
    let mut findings = Vec::new();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.threads.unwrap_or(0))
        // Readers run on a pool thread now: give it the main thread's stack.
        .stack_size(8 << 20)
        .build()
        .map_err(|e| InputError {
            path: String::new(),
            at: String::new(),
            message: e.to_string(),
            hint: None,
        })?;
    let symbolizer = match &options.symbols {
        Some(dir) => Some(formats::etl::symbols::Symbolizer::load(dir)?),
        None => None,
    };
    for job in group_jobs(paths) {
        let mut builder = LifecycleBuilder::new(&mut interner);
        // In the pool, so that readers that work in parallel (ETL) use `--threads`.
        let style = pool.install(|| read_job(&job, options, &mut builder, &mut inputs))?;
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
    let style = match first_format {
        Some(Format::Strace) | None => HandleStyle::Fd,
        Some(_) => HandleStyle::Windows,
    };
    builder.set_rundown_preexisting(matches!(first_format, Some(Format::Etl)));
    builder.set_complete_history(matches!(
        first_format,
        Some(Format::Htrace | Format::Jsonl | Format::Mda | Format::Appverif | Format::Etl)
    ));
    if opened.len() > 1 && opened.iter().all(|(_, f)| *f == Format::Strace) {
        read_strace_ff(opened, builder, inputs)?;
        return Ok(style);
    }
    for (o, format) in opened {
        let id = inputs.len() as InputId;
        let display = o.display.clone();
        let mut stats = ReadStats::default();
        let evidence = match format {
            Format::Strace => read_strace(o, id, builder, &mut stats)?,
            Format::Etl if o.plain_path.is_some() => {
                // Binary traces are memory-mapped: the reader decodes buffers in place.
                let map = input::map_file(&o)?;
                builder.with_context(id, &mut stats, |ctx| {
                    formats::read_whole(Format::Etl, &map, &display, ctx)
                })?;
                formats::evidence_for(Format::Etl, Vec::new())
            }
            other => {
                let bytes = input::read_all(o, WHOLE_INPUT_LIMIT)?;
                builder.with_context(id, &mut stats, |ctx| {
                    formats::read_whole(other, &bytes, &display, ctx)
                })?;
                formats::evidence_for(other, bytes)
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
    InputError {
        path: o.display.clone(),
        at: String::new(),
        message: if o.head.is_empty() {
            "empty input".into()
        } else {
            "not a trace format handlecheck knows".into()
        },
        hint,
    }
}

fn read_strace(
    o: input::Opened,
    id: InputId,
    builder: &mut LifecycleBuilder<'_>,
    stats: &mut ReadStats,
) -> Result<EvidenceSource, InputError> {
    let display = o.display.clone();
    let plain = o.plain_path.clone();
    let mut spool = if plain.is_none() {
        Some(tempfile::NamedTempFile::new().map_err(|e| input::io_error(&display, &e))?)
    } else {
        None
    };
    let empty = o.head.iter().all(|b| b.is_ascii_whitespace());
    let mut reader = o.into_reader();
    let mut parser = formats::strace::StraceParser::new();
    let cut = {
        let spool_writer: Option<&mut dyn std::io::Write> = spool
            .as_mut()
            .map(|s| s.as_file_mut() as &mut dyn std::io::Write);
        let mut feed = |line: lines::Line<'_>| {
            builder.with_context(id, stats, |ctx| {
                parser.line(
                    line.bytes,
                    Origin::line(id, line.number, line.offset),
                    None,
                    ctx,
                )
            });
        };
        lines::for_each_line(&mut reader, spool_writer, &mut feed)
            .map_err(|e| input::io_error(&display, &e))?
    };
    builder.with_context(id, stats, |ctx| parser.finish(ctx));
    if cut.count > 0 {
        stats.skipped += cut.count;
        stats.skipped_by_reason.insert(
            format!("line longer than {} MiB", lines::MAX_LINE >> 20),
            formats::SkipCount {
                count: cut.count,
                first_at: cut.first_line,
            },
        );
    }
    if empty || stats.units == 0 {
        return Err(InputError {
            path: display,
            at: String::new(),
            message: "empty input: no strace lines".into(),
            hint: Some("with strace, did you forget `2>&1` or `-o /dev/stderr`?".into()),
        });
    }
    if stats.events == 0 && stats.skipped == stats.units {
        return Err(InputError {
            path: display,
            at: "line 1".into(),
            message: "no line could be read as strace output".into(),
            hint: Some("name the format with --input-format if this is not strace".into()),
        });
    }
    Ok(match (plain, spool) {
        (Some(p), _) => EvidenceSource::file(&p).unwrap_or(EvidenceSource::Memory(Vec::new())),
        (None, Some(s)) => EvidenceSource::Spool(std::sync::Mutex::new(s)),
        (None, None) => EvidenceSource::Memory(Vec::new()),
    })
}

/// `strace -ff` per-task files: merged by timestamp, each line's task from its file name.
fn read_strace_ff(
    opened: Vec<(input::Opened, Format)>,
    builder: &mut LifecycleBuilder<'_>,
    inputs: &mut Vec<InputReport>,
) -> Result<(), InputError> {
    struct Member {
        id: InputId,
        tid: Option<u32>,
        lines: Vec<(u32, u64, Vec<u8>)>,
        next: usize,
        /// Timestamp of the record at `next` (0 when untimed), parsed once.
        key: u64,
    }
    let key_at = |lines: &[(u32, u64, Vec<u8>)], i: usize| {
        lines
            .get(i)
            .and_then(|(_, _, l)| ff_time_key(l))
            .unwrap_or(0)
    };
    let mut members = Vec::new();
    for (o, _) in opened {
        let id = inputs.len() as InputId;
        let display = o.display.clone();
        let tid = ff_tid(&display);
        let plain = o.plain_path.clone();
        let mut reader: Box<dyn Read + Send> = o.into_reader();
        let mut lines_vec = Vec::new();
        lines::for_each_line(&mut reader, None, |l| {
            lines_vec.push((l.number, l.offset, l.bytes.to_vec()))
        })
        .map_err(|e| input::io_error(&display, &e))?;
        let evidence = match &plain {
            Some(p) => EvidenceSource::file(p).unwrap_or(EvidenceSource::Memory(Vec::new())),
            None => {
                let mut all = Vec::new();
                for (_, _, l) in &lines_vec {
                    all.extend_from_slice(l);
                    all.push(b'\n');
                }
                EvidenceSource::Memory(all)
            }
        };
        let key = key_at(&lines_vec, 0);
        members.push(Member {
            id,
            tid,
            lines: lines_vec,
            next: 0,
            key,
        });
        inputs.push(InputReport {
            path: display,
            format: Format::Strace,
            stats: ReadStats::default(),
            evidence,
        });
    }
    let mut parser = formats::strace::StraceParser::new();
    // A record is a call line plus the `-k` frame lines after it; merge records by time.
    while let Some(i) = members
        .iter()
        .enumerate()
        .filter(|(_, m)| m.next < m.lines.len())
        .min_by_key(|(i, m)| (m.key, *i))
        .map(|(i, _)| i)
    {
        let m = &mut members[i];
        let stats = &mut inputs[m.id as usize].stats;
        let mut first = true;
        while let Some((number, offset, l)) = m.lines.get(m.next) {
            if !first && !l.starts_with(b" > ") {
                break;
            }
            first = false;
            let origin = Origin::line(m.id, *number, *offset);
            let tid = m.tid;
            builder.with_context(m.id, stats, |ctx| parser.line(l, origin, tid, ctx));
            m.next += 1;
        }
        m.key = key_at(&m.lines, m.next);
    }
    if let Some(m) = members.first() {
        builder.with_context(m.id, &mut inputs[m.id as usize].stats, |ctx| {
            parser.finish(ctx)
        });
    }
    Ok(())
}

/// Merge key of an `-ff` line: its timestamp in microseconds (`-t`, `-tt`,
/// `-ttt`); frame lines and untimed lines have none.
fn ff_time_key(line: &[u8]) -> Option<u64> {
    ff_timestamp(line).ok().map(|(_, t)| t)
}

/// `HH:MM:SS[.ffffff]` or `EPOCH[.ffffff]` followed by a space, in microseconds.
fn ff_timestamp(input: &[u8]) -> nom::IResult<&[u8], u64> {
    use nom::Parser;
    use nom::branch::alt;
    use nom::bytes::complete::tag;
    use nom::character::complete::{char, digit1, u64 as number};
    use nom::combinator::{map, opt};
    use nom::sequence::{preceded, terminated};

    let clock = map(
        (
            number,
            preceded(char(':'), number),
            preceded(char(':'), number),
        ),
        |(h, m, s)| {
            h.saturating_mul(3600)
                .saturating_add(m.saturating_mul(60))
                .saturating_add(s)
        },
    );
    // Fractions are scaled to microseconds whatever their precision.
    let fraction = map(preceded(char('.'), digit1), |d: &[u8]| {
        d.iter().take(6).enumerate().fold(0u64, |acc, (i, c)| {
            acc + u64::from(c - b'0') * 10u64.pow(5 - i as u32)
        })
    });
    map(
        terminated((alt((clock, number)), opt(fraction)), tag(" ")),
        |(secs, frac)| {
            secs.saturating_mul(1_000_000)
                .saturating_add(frac.unwrap_or(0))
        },
    )
    .parse(input)
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
        match input.format {
            Format::Etl => f.notes.push(
                "ETW records only what succeeded: failed closes and uses of invalid handles leave no event, so the victim's own failure is not in the trace".to_string(),
            ),
            Format::Htrace => f.notes.push(
                "!htrace keeps a bounded history (16 frames per stack, oldest records dropped): events before the oldest record are not seen".to_string(),
            ),
            _ => {}
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
    fn ff_timestamps() {
        assert_eq!(
            ff_time_key(b"02:32:39.750798 read(3, "),
            Some(9_159_750_798)
        );
        assert_eq!(ff_time_key(b"02:32:39 read(3, "), Some(9_159_000_000));
        assert_eq!(
            ff_time_key(b"1795314759.801144 read(3"),
            Some(1_795_314_759_801_144)
        );
        assert_eq!(
            ff_time_key(b"1795314759.997645912 read"),
            Some(1_795_314_759_997_645)
        );
        assert_eq!(ff_time_key(b" > libc.so.6(read+0x4c) [0xf82ec]"), None);
        assert_eq!(ff_time_key(b"read(3, \"x\", 1) = 1"), None);
    }

    #[test]
    fn ff_prefix_needs_a_numeric_suffix() {
        assert_eq!(ff_prefix("out/trace.5866").as_deref(), Some("out/trace"));
        assert_eq!(ff_prefix("trace.log"), None);
        assert_eq!(ff_tid("out/trace.5866"), Some(5866));
    }

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
