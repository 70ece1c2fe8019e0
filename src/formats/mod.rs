//! Readers: one module per input format, each turning bytes into [`Event`]s plus
//! an account of what it skipped. Readers know syntax and the format's own
//! semantics (what a syscall or an ETW opcode does), nothing about bugs.

use std::collections::BTreeMap;

use crate::model::{Event, InputId, Interner};

pub mod appverif;
pub mod etl;
pub mod htrace;
pub mod jsonl;
pub mod mda;
pub mod perf_trace;
pub mod strace;

/// Where readers send events (ripgrep's "sink"). The lifecycle builder is one.
pub trait EventSink {
    /// Called in stream order. `seq` is assigned by the sink.
    fn event(&mut self, event: Event);
}

impl EventSink for Vec<Event> {
    fn event(&mut self, mut event: Event) {
        event.seq = self.len() as u64;
        self.push(event);
    }
}

/// Lends a [`ReadContext`] for one input at a time: how a reader that feeds
/// several inputs into one stream (strace `-ff`) reaches the sink. The
/// lifecycle builder is one.
pub trait InputProvider {
    fn with_input(
        &mut self,
        input: InputId,
        stats: &mut ReadStats,
        read: &mut dyn FnMut(&mut ReadContext<'_>),
    );

    /// Appends to `out` the byte offset of every line of `input` in `range`
    /// that an event the provider still holds came from (what a diagnostic
    /// may cite later); false when it cannot tell (then every line is kept).
    /// The evidence spool of a stream asks before dropping a segment.
    fn held_offsets(
        &self,
        _input: crate::model::InputId,
        _range: std::ops::Range<u64>,
        _out: &mut Vec<u64>,
    ) -> bool {
        false
    }
}

/// Everything a reader needs besides its bytes.
pub struct ReadContext<'a> {
    pub input: InputId,
    pub interner: &'a mut Interner,
    pub sink: &'a mut dyn EventSink,
    pub stats: &'a mut ReadStats,
}

/// What a reader saw and what it could not use. Skips are counted by reason,
/// with the first place each reason occurred.
#[derive(Clone, Debug, Default)]
pub struct ReadStats {
    /// Lines (text formats) or records (binary formats) read.
    pub units: u64,
    pub events: u64,
    pub skipped: u64,
    pub skipped_by_reason: BTreeMap<String, SkipCount>,
    /// Data the tracer itself says it lost (ETW EVENTS_LOST, dropped buffers).
    pub lost: BTreeMap<String, u64>,
    /// Format-specific counters worth showing (`stats` subcommand).
    pub counters: BTreeMap<String, u64>,
    /// What the input cannot show and the user should know (e.g. an ETW trace
    /// recorded without handle events): printed with the summary and in JSON.
    pub notices: Vec<String>,
}

#[derive(Clone, Debug, Default)]
pub struct SkipCount {
    pub count: u64,
    /// 1-based line or record number of the first occurrence.
    pub first_at: u64,
    /// What `first_at` counts: [`SkipReason::place_unit`].
    pub unit: &'static str,
}

/// Why a reader skipped a line or record. The text (Display) is what every
/// report shows and the key of [`ReadStats::skipped_by_reason`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SkipReason {
    StraceNotStrace,
    StraceUnrecognisedLine,
    StraceUnparseableCall,
    StraceUnparseableCloseRange,
    StraceUnparseableExit,
    StraceUnrecognisedExit,
    StraceUnparseableResumed,
    StraceResumedWithoutEntry,
    StraceCutByNotice,
    /// Longer than [`crate::input::lines::MAX_LINE`]: cut off, not parsed.
    LineTooLong,
    EtlDamagedBuffer,
    EtlDamagedRecord,
    EtlUnreadableBufferHeader,
    EtlMissingHeader,
    EtlNoProcessId,
    HtraceMalformedHeader,
    HtraceIdsOutOfPlace,
    AppverifTruncatedEntry,
    AppverifMalformedEntry,
    AppverifNoStopCode,
    /// A stop whose handle (or socket) parameter is missing: its stop code.
    AppverifStopWithoutValue(u32),
    /// A handle stop of another layer (Print, Leak) without its Parameter 1.
    AppverifHandleStopWithoutHandle,
    /// A line of a `perf trace` input that is none of its line shapes.
    PerfNotPerfLine,
    MdaIncomplete,
    JsonlUnsupportedVersion,
    /// A JSON line the schema rejects, with what is wrong (`jsonl: ...`).
    Jsonl(&'static str),
}

impl SkipReason {
    /// One of each kind (every stop code the readers check), for tests.
    pub const KINDS: &'static [SkipReason] = &[
        SkipReason::StraceNotStrace,
        SkipReason::StraceUnrecognisedLine,
        SkipReason::StraceUnparseableCall,
        SkipReason::StraceUnparseableCloseRange,
        SkipReason::StraceUnparseableExit,
        SkipReason::StraceUnrecognisedExit,
        SkipReason::StraceUnparseableResumed,
        SkipReason::StraceResumedWithoutEntry,
        SkipReason::StraceCutByNotice,
        SkipReason::LineTooLong,
        SkipReason::EtlDamagedBuffer,
        SkipReason::EtlDamagedRecord,
        SkipReason::EtlUnreadableBufferHeader,
        SkipReason::EtlMissingHeader,
        SkipReason::EtlNoProcessId,
        SkipReason::HtraceMalformedHeader,
        SkipReason::HtraceIdsOutOfPlace,
        SkipReason::AppverifTruncatedEntry,
        SkipReason::AppverifMalformedEntry,
        SkipReason::AppverifNoStopCode,
        SkipReason::AppverifStopWithoutValue(0x305),
        SkipReason::AppverifStopWithoutValue(0x901),
        SkipReason::AppverifStopWithoutValue(0xE101),
        SkipReason::AppverifHandleStopWithoutHandle,
        SkipReason::PerfNotPerfLine,
        SkipReason::MdaIncomplete,
        SkipReason::JsonlUnsupportedVersion,
        SkipReason::Jsonl("jsonl: malformed JSON"),
    ];
}

impl SkipReason {
    /// What [`SkipCount::first_at`] counts for this reason: `line`, `byte`
    /// (file offset) or `record`.
    pub fn place_unit(&self) -> &'static str {
        match self {
            SkipReason::EtlDamagedBuffer
            | SkipReason::EtlDamagedRecord
            | SkipReason::EtlUnreadableBufferHeader
            | SkipReason::EtlMissingHeader => "byte",
            SkipReason::EtlNoProcessId => "record",
            _ => "line",
        }
    }
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = match self {
            SkipReason::StraceNotStrace => "not strace output",
            SkipReason::StraceUnrecognisedLine => "unrecognised strace line",
            SkipReason::StraceUnparseableCall => "unparseable call",
            SkipReason::StraceUnparseableCloseRange => "unparseable close_range",
            SkipReason::StraceUnparseableExit => "unparseable exit line",
            SkipReason::StraceUnrecognisedExit => "unrecognised +++ line",
            SkipReason::StraceUnparseableResumed => "unparseable resumed line",
            SkipReason::StraceResumedWithoutEntry => "resumed call without its entry",
            SkipReason::StraceCutByNotice => "line cut by a notice and never continued",
            SkipReason::LineTooLong => {
                return write!(
                    f,
                    "line longer than {} MiB",
                    crate::input::lines::MAX_LINE >> 20
                );
            }
            SkipReason::EtlDamagedBuffer => "damaged buffer",
            SkipReason::EtlDamagedRecord => "damaged record (rest of buffer skipped)",
            SkipReason::EtlUnreadableBufferHeader => {
                "unreadable buffer header (skipped to the next readable buffer or the end)"
            }
            SkipReason::EtlMissingHeader => "missing EventTrace header record (times unknown)",
            SkipReason::EtlNoProcessId => "handle event without a process id",
            SkipReason::HtraceMalformedHeader => "htrace: malformed record header",
            SkipReason::HtraceIdsOutOfPlace => "htrace: Thread ID line out of place",
            SkipReason::AppverifTruncatedEntry => "appverif: truncated logEntry",
            SkipReason::AppverifMalformedEntry => "appverif: malformed logEntry XML",
            SkipReason::AppverifNoStopCode => "appverif: logEntry without a valid StopCode",
            SkipReason::AppverifStopWithoutValue(code) => {
                let what = if *code == 0xE101 { "socket" } else { "handle" };
                return write!(f, "appverif: stop {code:#X} without a {what} value");
            }
            SkipReason::AppverifHandleStopWithoutHandle => {
                "appverif: handle stop without Parameter 1 (the handle)"
            }
            SkipReason::PerfNotPerfLine => "perf: not a perf trace line",
            SkipReason::MdaIncomplete => "mda: incomplete releaseHandleFailed message",
            SkipReason::JsonlUnsupportedVersion => "unsupported schema version",
            SkipReason::Jsonl(what) => what,
        };
        f.write_str(text)
    }
}

impl ReadStats {
    pub fn skip(&mut self, reason: SkipReason, at: u64) {
        self.skip_many(reason, 1, at);
    }

    /// `count` skips of one reason, the first at `at`.
    pub fn skip_many(&mut self, reason: SkipReason, count: u64, at: u64) {
        if count == 0 {
            return;
        }
        self.skipped += count;
        let key = reason.to_string();
        match self.skipped_by_reason.get_mut(&key) {
            Some(s) => s.count += count,
            None => {
                self.skipped_by_reason.insert(
                    key,
                    SkipCount {
                        count,
                        first_at: at,
                        unit: reason.place_unit(),
                    },
                );
            }
        }
    }
    /// Adds a notice for the user (once per text).
    pub fn notice(&mut self, text: impl Into<String>) {
        let text = text.into();
        if !self.notices.contains(&text) {
            self.notices.push(text);
        }
    }
    pub fn bump(&mut self, counter: &str, by: u64) {
        match self.counters.get_mut(counter) {
            Some(c) => *c += by,
            None => {
                self.counters.insert(counter.to_string(), by);
            }
        }
    }
}

pub use crate::input::InputError;

/// Input formats handlecheck reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    Strace,
    Etl,
    Htrace,
    Appverif,
    Mda,
    Jsonl,
    /// `perf trace` output (Linux perf).
    PerfTrace,
}

/// How a format's bytes reach its reader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadMode {
    /// Line by line, in bounded memory (strace).
    Stream,
    /// Memory-mapped when it is a plain file (binary ETW), else read whole.
    Mapped,
    /// Read whole into memory (the debugger-text formats, JSON lines).
    Whole,
}

/// What each format is, in one place: the pipeline asks, never matches on formats.
impl Format {
    /// How handle values are spelled in diagnostics.
    pub fn handle_style(self) -> crate::model::HandleStyle {
        match self {
            Format::Strace | Format::PerfTrace => crate::model::HandleStyle::Fd,
            _ => crate::model::HandleStyle::Windows,
        }
    }

    /// True when the format records every open it covers, so a release of a
    /// value never seen opened is evidence, not an attach-mid-life artefact.
    pub fn records_every_open(self) -> bool {
        !matches!(self, Format::Strace | Format::PerfTrace)
    }

    /// True when rundown events list the handles that existed before the trace
    /// started (ETW's Object rundown).
    pub fn rundown_seeds_handles(self) -> bool {
        matches!(self, Format::Etl)
    }

    /// What the format cannot show, said on every finding that rests on it
    /// (for perf trace also what its lost events do to the finding).
    pub fn add_caveats(self, finding: &mut crate::model::Finding, stats: &ReadStats) {
        match self {
            Format::Etl => finding.notes.push(
                "ETW records only what succeeded: failed closes and uses of invalid handles leave no event, so the victim's own failure is not in the trace".into(),
            ),
            Format::Htrace => finding.notes.push(
                "!htrace keeps a bounded history (16 frames per stack, oldest records dropped): events before the oldest record are not seen".into(),
            ),
            Format::PerfTrace => perf_trace::caveats::apply(finding, stats),
            _ => {}
        }
    }

    pub fn read_mode(self) -> ReadMode {
        match self {
            Format::Strace => ReadMode::Stream,
            Format::Etl => ReadMode::Mapped,
            _ => ReadMode::Whole,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Strace => "strace",
            Format::Etl => "etl",
            Format::Htrace => "htrace",
            Format::Appverif => "appverif",
            Format::Mda => "mda",
            Format::Jsonl => "jsonl",
            Format::PerfTrace => "perf-trace",
        }
    }
}

/// Guesses the format from the first bytes of the (decompressed) input.
/// Content decides, never the file name.
pub fn sniff(head: &[u8]) -> Option<Format> {
    // Most specific first: structured formats, then debugger text, then strace.
    if etl::sniff(head) {
        Some(Format::Etl)
    } else if jsonl::sniff(head) {
        Some(Format::Jsonl)
    } else if appverif::sniff(head) {
        Some(Format::Appverif)
    } else if htrace::sniff(head) {
        Some(Format::Htrace)
    } else if mda::sniff(head) {
        Some(Format::Mda)
    } else if perf_trace::sniff(head) {
        Some(Format::PerfTrace)
    } else if strace::sniff(head) {
        Some(Format::Strace)
    } else {
        None
    }
}

/// Reads a format that is parsed from one buffer (everything but strace).
pub fn read_whole(
    format: Format,
    bytes: &[u8],
    path: &str,
    ctx: &mut ReadContext<'_>,
) -> Result<(), InputError> {
    match format {
        Format::Htrace => htrace::read(bytes, path, ctx),
        Format::Appverif => appverif::read(bytes, path, ctx),
        Format::Mda => mda::read(bytes, path, ctx),
        Format::Jsonl => jsonl::read(bytes, path, ctx),
        Format::Etl => etl::read(bytes, path, ctx),
        Format::PerfTrace => perf_trace::read(bytes, path, ctx),
        Format::Strace => Err(InputError::new(
            path.to_string(),
            format!("the {} reader is not part of this build", format.as_str()),
        )),
    }
}

/// How diagnostics get the text of an event of this format back.
pub fn evidence_for(format: Format, bytes: Vec<u8>) -> crate::input::evidence::EvidenceSource {
    match format {
        Format::Etl => crate::input::evidence::EvidenceSource::Rendered(etl::render_event),
        _ => crate::input::evidence::EvidenceSource::Memory(bytes),
    }
}
