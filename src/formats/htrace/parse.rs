//! `!htrace` text → dumps of records (still newest first, as printed).

use crate::formats::ReadStats;
use crate::model::{Interner, Sym};

use super::text::{
    Lines, find, parse_hex, prompt_command, split_offset, take_0x, take_hex, trim, trim_start,
    without_annotation, write_frame,
};

/// `PROCESS_HANDLE_TRACE_TYPE_*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum TraceType {
    Open,
    Close,
    BadRef,
}

impl TraceType {
    pub(crate) fn label(self) -> &'static str {
        match self {
            TraceType::Open => "htrace/OPEN",
            TraceType::Close => "htrace/CLOSE",
            TraceType::BadRef => "htrace/BAD REFERENCE",
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Record {
    pub handle: i64,
    pub ty: TraceType,
    /// `Thread ID`/`Process ID` (user-mode layout only).
    pub ids: Option<(u32, u32)>,
    /// Range into [`Parsed::frames`].
    pub frames: (usize, usize),
    pub line: u32,
    pub offset: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DumpMode {
    /// `!htrace` / `!htrace <handle>`: the whole (bounded) history.
    Full { filter: Option<i64> },
    /// `!htrace -diff`: handles still open that were opened since the last snapshot.
    Diff,
}

#[derive(Clone, Debug)]
pub(crate) struct Dump {
    pub mode: DumpMode,
    pub records: Vec<Record>,
    /// The debugger's own count of the records it printed (`Dumped 0x..` /
    /// `Displayed 0x.. stack traces`), with its line: more than `records.len()`
    /// means the paste left records out.
    pub announced: Option<(u64, u32)>,
    /// `-diff`: `0x.. new stack traces since the previous snapshot` (opens and
    /// closes; -diff shows only the handles still open).
    pub new_since_snapshot: Option<u64>,
}

#[derive(Default, Debug)]
pub(crate) struct Parsed {
    pub dumps: Vec<Dump>,
    /// Interned frames of all records, innermost first per record.
    pub frames: Vec<Sym>,
}

/// One line, classified.
enum Line<'a> {
    /// `Handle = 0x.. - OPEN` / `Handle 0x.. - CLOSE:`.
    Header(i64, TraceType),
    /// A line that starts like a header but does not parse.
    BadHeader,
    Ids(u32, u32),
    Frame(&'a [u8], Option<u64>),
    Separator,
    /// `Parsed 0x..`, `Dumped 0x..`, `Displayed 0x..`: the end of a dump, with
    /// the count of `Dumped`/`Displayed` (what was printed).
    Summary(Option<u64>),
    /// `0x.. new stack traces since the previous snapshot.` (before a -diff's records).
    NewTraces(u64),
    /// `Outstanding handles opened since the previous snapshot:`.
    DiffStart,
    Prompt(&'a [u8]),
    Blank,
    Other,
}

fn trace_type(label: &[u8]) -> Option<TraceType> {
    // User mode prints `*** BAD REFERENCE ***`.
    let mut label = label;
    while let Some(rest) = label.strip_prefix(b"*") {
        label = trim(rest);
    }
    while let Some(rest) = label.strip_suffix(b"*") {
        label = trim(rest);
    }
    match label {
        b"OPEN" => Some(TraceType::Open),
        b"CLOSE" => Some(TraceType::Close),
        b"BAD REFERENCE" | b"BAD_REF" | b"BADREF" | b"BAD REF" | b"BAD_REFERENCE" => {
            Some(TraceType::BadRef)
        }
        _ => None,
    }
}

fn header(line: &[u8]) -> Option<(i64, TraceType)> {
    let rest = line.strip_prefix(b"Handle")?;
    let rest = trim_start(rest);
    let (rest, kernel) = match rest.strip_prefix(b"=") {
        Some(r) => (trim_start(r), false),
        None => (rest, true),
    };
    let (digits_rest, after) = {
        let r = rest
            .strip_prefix(b"0x")
            .or_else(|| rest.strip_prefix(b"0X"))?;
        take_hex(r)
    };
    if digits_rest.len() > 16 {
        return None;
    }
    let value = parse_hex(digits_rest)? as i64;
    let after = trim_start(after).strip_prefix(b"-")?;
    let mut label = trim(after);
    if kernel || label.ends_with(b":") {
        label = trim(label.strip_suffix(b":").unwrap_or(label));
    }
    Some((value, trace_type(label)?))
}

fn ids(line: &[u8]) -> Option<(u32, u32)> {
    let rest = line.strip_prefix(b"Thread ID = ")?;
    let (tid, rest) = take_0x(rest)?;
    let rest = rest.strip_prefix(b", Process ID = ")?;
    let (pid, rest) = take_0x(rest)?;
    if !trim(rest).is_empty() {
        return None;
    }
    Some((u32::try_from(tid).ok()?, u32::try_from(pid).ok()?))
}

/// `0xADDR: module!symbol+0xOFF`, `0xADDR : sym + 0xOFF`, `0xADDR: +0xADDR`.
fn frame(line: &[u8]) -> Option<(&[u8], Option<u64>)> {
    let (_, rest) = take_0x(line)?;
    let rest = trim_start(rest).strip_prefix(b":")?;
    let body = without_annotation(trim(rest));
    if body.is_empty() {
        return None;
    }
    Some(split_offset(body, false))
}

/// The hex count after `prefix` (`Dumped 0xC stack traces.` → 12).
fn count_after(line: &[u8], prefix: &[u8]) -> Option<u64> {
    let rest = line.strip_prefix(prefix)?;
    take_0x(rest).map(|(v, _)| v)
}

fn classify(raw: &[u8]) -> Line<'_> {
    let line = trim(raw);
    if line.is_empty() {
        return Line::Blank;
    }
    if line.len() >= 20 && line.iter().all(|&b| b == b'-') {
        return Line::Separator;
    }
    if line.starts_with(b"Handle")
        && (line.starts_with(b"Handle = ") || line.starts_with(b"Handle 0x"))
    {
        return match header(line) {
            Some((h, t)) => Line::Header(h, t),
            None => Line::BadHeader,
        };
    }
    if line.starts_with(b"Thread ID = ") {
        return match ids(line) {
            Some((t, p)) => Line::Ids(t, p),
            None => Line::Other,
        };
    }
    if line.starts_with(b"0x")
        && let Some((sym, off)) = frame(line)
    {
        return Line::Frame(sym, off);
    }
    if (line.starts_with(b"Parsed 0x")
        || line.starts_with(b"Dumped 0x")
        || line.starts_with(b"Displayed 0x"))
        && find(line, b"stack traces").is_some()
    {
        let printed = count_after(line, b"Dumped ").or_else(|| count_after(line, b"Displayed "));
        return Line::Summary(printed);
    }
    if line.starts_with(b"0x")
        && find(line, b" new stack traces since the previous snapshot").is_some()
        && let Some(n) = count_after(line, b"")
    {
        return Line::NewTraces(n);
    }
    if line.starts_with(b"Outstanding handles opened since the previous snapshot") {
        return Line::DiffStart;
    }
    if let Some(cmd) = prompt_command(raw) {
        return Line::Prompt(cmd);
    }
    Line::Other
}

/// What an `!htrace` command line means for the dump that follows.
fn command_mode(cmd: &[u8]) -> Option<Option<DumpMode>> {
    let at = find(cmd, b"!htrace")?;
    let args = trim(cmd.get(at + 7..).unwrap_or(b""));
    if args.starts_with(b"-diff") {
        return Some(Some(DumpMode::Diff));
    }
    if args.starts_with(b"-") {
        // -enable, -snapshot, -disable, -?: no records follow.
        return Some(None);
    }
    let first = args
        .split(|b| b.is_ascii_whitespace())
        .next()
        .unwrap_or(b"");
    let digits = first
        .strip_prefix(b"0x")
        .or_else(|| first.strip_prefix(b"0X"))
        .unwrap_or(first);
    let filter = if digits.is_empty() || digits.len() > 16 {
        None
    } else {
        parse_hex(digits).map(|v| v as i64)
    };
    Some(Some(DumpMode::Full { filter }))
}

struct Builder {
    parsed: Parsed,
    /// Mode of the dump records currently go to (`None`: start an implicit full dump).
    mode: Option<DumpMode>,
    /// The dump of `mode` has been pushed to `parsed.dumps`.
    open_dump: bool,
    in_record: bool,
    /// A `new stack traces` count for the next dump.
    pending_new: Option<u64>,
}

impl Builder {
    fn end_dump(&mut self, next: Option<DumpMode>) {
        self.in_record = false;
        self.open_dump = false;
        self.mode = next;
    }

    fn current_dump(&mut self) -> Option<&mut Dump> {
        if !self.open_dump {
            let mode = self.mode.unwrap_or(DumpMode::Full { filter: None });
            self.mode = Some(mode);
            self.parsed.dumps.push(Dump {
                mode,
                records: Vec::new(),
                announced: None,
                new_since_snapshot: self.pending_new.take(),
            });
            self.open_dump = true;
        }
        self.parsed.dumps.last_mut()
    }
}

/// Parses every dump in `bytes`; `base` is added to byte offsets (BOM).
pub(crate) fn parse(
    bytes: &[u8],
    base: u64,
    interner: &mut Interner,
    stats: &mut ReadStats,
) -> Parsed {
    let mut b = Builder {
        parsed: Parsed::default(),
        mode: None,
        open_dump: false,
        in_record: false,
        pending_new: None,
    };
    let mut buf = String::new();
    for (line_no, offset, raw) in Lines::new(bytes) {
        stats.units += 1;
        match classify(raw) {
            Line::Header(handle, ty) => {
                let start = b.parsed.frames.len();
                if let Some(dump) = b.current_dump() {
                    dump.records.push(Record {
                        handle,
                        ty,
                        ids: None,
                        frames: (start, start),
                        line: line_no,
                        offset: base + offset as u64,
                    });
                }
                b.in_record = true;
            }
            Line::BadHeader => {
                stats.skip(
                    crate::formats::SkipReason::HtraceMalformedHeader,
                    u64::from(line_no),
                );
                b.in_record = false;
            }
            Line::Ids(tid, pid) if b.in_record => {
                if let Some(r) = b.parsed.dumps.last_mut().and_then(|d| d.records.last_mut()) {
                    if r.ids.is_none() && r.frames.0 == r.frames.1 {
                        r.ids = Some((tid, pid));
                    } else {
                        stats.skip(
                            crate::formats::SkipReason::HtraceIdsOutOfPlace,
                            u64::from(line_no),
                        );
                    }
                }
            }
            Line::Frame(sym, off) if b.in_record => {
                write_frame(&mut buf, sym, off);
                let id = b.parsed.frames.len();
                let frame = interner.intern(&buf);
                b.parsed.frames.push(frame);
                if let Some(r) = b.parsed.dumps.last_mut().and_then(|d| d.records.last_mut()) {
                    r.frames.1 = id + 1;
                }
            }
            Line::Separator => b.in_record = false,
            Line::Summary(printed) => {
                // `Dumped`/`Displayed` follows `Parsed`, after the dump ended:
                // it belongs to the last dump that has records.
                if let Some(n) = printed
                    && let Some(d) = b.parsed.dumps.last_mut()
                    && d.announced.is_none()
                {
                    d.announced = Some((n, line_no));
                }
                b.end_dump(None)
            }
            Line::NewTraces(n) => b.pending_new = Some(n),
            Line::DiffStart => {
                b.end_dump(Some(DumpMode::Diff));
            }
            Line::Prompt(cmd) => match command_mode(cmd) {
                Some(mode) => b.end_dump(mode),
                None => b.end_dump(None),
            },
            Line::Blank => {}
            Line::Ids(..) | Line::Frame(..) => {
                stats.bump("htrace: record-like lines outside a record", 1)
            }
            Line::Other => {
                if b.in_record {
                    stats.bump("htrace: debugger noise lines inside records", 1);
                }
            }
        }
    }
    b.parsed.dumps.retain(|d| !d.records.is_empty());
    b.parsed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        assert_eq!(
            header(b"Handle = 0x0000003c - OPEN"),
            Some((0x3c, TraceType::Open))
        );
        assert_eq!(
            header(b"Handle = 0x0000000000003300 - CLOSE"),
            Some((0x3300, TraceType::Close))
        );
        assert_eq!(
            header(b"Handle = 0x3c - BAD_REF"),
            Some((0x3c, TraceType::BadRef))
        );
        assert_eq!(
            header(b"Handle 0x7DC - BAD REFERENCE:"),
            Some((0x7dc, TraceType::BadRef))
        );
        assert_eq!(
            header(b"Handle 0x7CC - CLOSE:"),
            Some((0x7cc, TraceType::Close))
        );
        assert_eq!(header(b"Handle = 0x3c - SOMETHING"), None);
        assert_eq!(header(b"Handle = 0x11111111111111111 - OPEN"), None);
    }

    #[test]
    fn frames() {
        assert_eq!(
            frame(b"0x77ca310c: ntdll!ZwDuplicateObject+0x0000000c"),
            Some((&b"ntdll!ZwDuplicateObject"[..], Some(12)))
        );
        assert_eq!(
            frame(b"0x4aa4fe76: +0x4aa4fe76"),
            Some((&b""[..], Some(0x4aa4fe76)))
        );
        assert_eq!(
            frame(b"0x7704979c : ntdll!NtCreateWaitCompletionPacket + 0x0000000c"),
            Some((&b"ntdll!NtCreateWaitCompletionPacket"[..], Some(12)))
        );
        assert_eq!(
            ids(b"Thread ID = 0x000017ec, Process ID = 0x000017e8"),
            Some((0x17ec, 0x17e8))
        );
        assert_eq!(ids(b"Thread ID = 0x1ffffffff, Process ID = 0x1"), None);
    }
}
