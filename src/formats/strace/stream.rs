//! One strace trace as a stream of lines (a file, stdin, a compressed file).

use crate::formats::{InputProvider, ReadStats};
use crate::input::evidence::EvidenceSource;
use crate::input::{self, InputError, lines};
use crate::model::{InputId, Origin};

use super::StraceParser;

/// Reads one strace input through `provider`. Streams that cannot be read
/// twice (stdin, compressed files) are spooled as they are read, so that
/// diagnostics can show their lines afterwards ([`input::spool`]).
pub fn read(
    o: input::Opened,
    id: InputId,
    provider: &mut dyn InputProvider,
    stats: &mut ReadStats,
) -> Result<EvidenceSource, InputError> {
    let display = o.display.clone();
    let plain = o.plain_path.clone();
    let threads = rayon::current_num_threads();
    if plain.is_some() && threads > 1 {
        return read_mapped(o, id, threads, provider, stats);
    }
    // A stream is spooled for its evidence lines; the spool drops what
    // nothing can cite any more as the lifecycle goes ([`input::spool`]).
    let (mut spool, mut writer) = match plain {
        None => {
            let (spool, writer) = input::spool::Spool::new();
            (Some(spool), Some(writer))
        }
        Some(_) => (None, None),
    };
    let empty = o.head.iter().all(|b| b.is_ascii_whitespace());
    let mut reader = o.into_reader();
    let mut parser = StraceParser::new();
    let cut = if threads > 1 {
        // A reader thread cuts the stream into blocks and spools them; the
        // blocks are parsed on every thread ([`super::parallel`]).
        let spool_writer: Option<&mut (dyn std::io::Write + Send)> = writer
            .as_mut()
            .map(|w| w as &mut (dyn std::io::Write + Send));
        let mut retire = |end: usize, parser: &StraceParser, provider: &mut dyn InputProvider| {
            if let Some(spool) = spool.as_mut() {
                retire_consumed(spool, end as u64, parser, id, &*provider);
            }
        };
        super::parallel::read_stream(
            &mut *reader,
            spool_writer,
            id,
            threads,
            provider,
            stats,
            &mut retire,
        )
        .map_err(|e| input::io_error(&display, &e))?
    } else {
        let spool_writer: Option<&mut dyn std::io::Write> =
            writer.as_mut().map(|w| w as &mut dyn std::io::Write);
        let mut feed = |line: lines::Line<'_>| {
            let origin = Origin::line(id, line.number, line.offset);
            provider.with_input(id, stats, &mut |ctx| {
                parser.line(line.bytes, origin, None, ctx)
            });
            if let Some(spool) = spool.as_mut() {
                retire_consumed(spool, line.offset, &parser, id, &*provider);
            }
        };
        let cut = lines::for_each_line(&mut reader, spool_writer, &mut feed)
            .map_err(|e| input::io_error(&display, &e))?;
        provider.with_input(id, stats, &mut |ctx| parser.finish(ctx));
        cut
    };
    if let Some(w) = writer.as_mut() {
        w.finish();
    }
    if let Some(spool) = spool.as_mut() {
        // Every line went through: only what the lifecycle holds stays.
        spool.retire(u64::MAX, &mut |range, out| {
            provider.held_offsets(id, range, out)
        });
    }
    check_read(&display, empty, cut, stats)?;
    Ok(match (plain, spool) {
        (Some(p), _) => EvidenceSource::Path(p),
        (None, Some(s)) => EvidenceSource::Spool(s.into_evidence()),
        (None, None) => EvidenceSource::Memory(Vec::new()),
    })
}

/// Every line starting below `next` went through `parser` into `provider`:
/// lets the spool drop what lies below both that and the oldest line the
/// parser still holds an event of (a line waiting for its `-k` frames, a
/// call cut by program output), keeping the lines `provider` still holds.
fn retire_consumed(
    spool: &mut input::spool::Spool,
    next: u64,
    parser: &StraceParser,
    id: InputId,
    provider: &dyn InputProvider,
) {
    let held = parser.held.iter().map(|e| e.origin.offset);
    let cut = parser.cut_by_output.as_ref().map(|c| c.cur.origin.offset);
    let consumed = held.chain(cut).fold(next, u64::min);
    spool.retire(consumed, &mut |range, out| {
        provider.held_offsets(id, range, out)
    });
}

/// A plain file: mapped and read on `threads` threads ([`super::parallel`]).
fn read_mapped(
    o: input::Opened,
    id: InputId,
    threads: usize,
    provider: &mut dyn InputProvider,
    stats: &mut ReadStats,
) -> Result<EvidenceSource, InputError> {
    let map = input::map_file(&o)?;
    let empty = o.head.iter().all(|b| b.is_ascii_whitespace());
    let cut = super::parallel::read(&map, id, threads, provider, stats);
    check_read(&o.display, empty, cut, stats)?;
    let path = o.plain_path.unwrap_or_default();
    Ok(EvidenceSource::Path(path))
}

/// Counts the lines dropped for length; refuses an input with nothing strace in it.
fn check_read(
    display: &str,
    empty: bool,
    cut: lines::Cut,
    stats: &mut ReadStats,
) -> Result<(), InputError> {
    let display = display.to_string();
    stats.skip_many(
        crate::formats::SkipReason::LineTooLong,
        cut.count,
        cut.first_line,
    );
    if empty || stats.units == 0 {
        return Err(InputError::new(display, "empty input: no strace lines")
            .hint("with strace, did you forget `2>&1` or `-o /dev/stderr`?"));
    }
    if stats.events == 0 && stats.skipped == stats.units {
        return Err(
            InputError::new(display, "no line could be read as strace output")
                .at(crate::input::error::Location::Line(1))
                .hint("name the format with --input-format if this is not strace"),
        );
    }
    Ok(())
}
