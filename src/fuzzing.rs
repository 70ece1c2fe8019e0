//! Entry points shared by the `fuzz/` targets and the corpus replay test
//! (`tests/it/fuzz_corpus.rs`): each takes arbitrary bytes, drives one reader
//! (or the whole pipeline) and panics only when an invariant breaks: the
//! skip accounting adds up, machine reports parse, nothing raw reaches a
//! terminal. Not part of the tool's interface.

use std::io::Write;

use crate::analysis::{self, Options};
use crate::formats::{self, Format, ReadStats};
use crate::lifecycle::LifecycleBuilder;
use crate::model::{Event, Interner};
use crate::report::{self, CiContext, OutputFormat};

/// A target's entry function: arbitrary bytes in, a panic on a broken invariant.
pub type Entry = fn(&[u8]);

/// Every target: its name (the `fuzz/fuzz_targets/<name>.rs` file and the
/// `fuzz/corpus/<name>/` folder) and its entry function.
pub const TARGETS: &[(&str, Entry)] = &[
    ("strace_line", strace_line),
    ("strace_stream", strace_stream),
    ("etl_buffer", etl_buffer),
    ("etl_file", etl_file),
    ("lz77", lz77),
    ("htrace", htrace),
    ("appverif_xml", appverif_xml),
    ("appverif_text", appverif_text),
    ("mda", mda),
    ("jsonl", jsonl),
    ("config", config),
    ("baseline", baseline),
    ("end_to_end", end_to_end),
    ("strace_parallel", strace_parallel),
];

/// The entry function of a target by name.
pub fn target(name: &str) -> Option<Entry> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

/// The skip accounting adds up: the total equals the sum by reason.
fn check_stats(stats: &ReadStats) {
    let by_reason: u64 = stats.skipped_by_reason.values().map(|s| s.count).sum();
    assert_eq!(
        stats.skipped, by_reason,
        "skipped total {} but {} by reason: {:?}",
        stats.skipped, by_reason, stats.skipped_by_reason
    );
}

/// Feeds each line to a fresh strace parser, one line per input.
pub fn strace_line(data: &[u8]) {
    let mut interner = Interner::new();
    let mut events: Vec<Event> = Vec::new();
    let mut stats = ReadStats::default();
    let mut parser = formats::strace::StraceParser::new();
    let mut ctx = formats::ReadContext {
        input: 0,
        interner: &mut interner,
        sink: &mut events,
        stats: &mut stats,
    };
    let mut offset = 0u64;
    for (n, line) in data.split(|b| *b == b'\n').enumerate() {
        let origin = crate::model::Origin::line(0, n as u32 + 1, offset);
        parser.line(line, origin, None, &mut ctx);
        offset += line.len() as u64 + 1;
    }
    parser.finish(&mut ctx);
    check_stats(&stats);
}

/// An in-memory strace stream through the line splitter, the parser and the
/// lifecycle builder, as `analyze -` reads stdin.
pub fn strace_stream(data: &[u8]) {
    let mut interner = Interner::new();
    let mut builder = LifecycleBuilder::new(&mut interner);
    let mut stats = ReadStats::default();
    let opened = in_memory(data);
    let _ = formats::strace::stream::read(opened, 0, &mut builder, &mut stats);
    let _ = builder.finish();
    check_stats(&stats);
}

/// Differential: the parallel strace reader (mapped and streamed) against the
/// sequential one. The first byte picks the chunk length (1 to 64 bytes), so
/// chunk edges fall everywhere; any difference in events, interner order,
/// counters or skips panics.
pub fn strace_parallel(data: &[u8]) {
    let (chunk_len, rest) = match data.split_first() {
        Some((b, rest)) => (usize::from(*b % 64) + 1, rest),
        None => (1, data),
    };
    formats::strace::parallel::equivalence::assert_same("fuzz input", rest, 2, chunk_len);
}

fn in_memory(data: &[u8]) -> crate::input::Opened {
    let split = data.len().min(crate::input::SNIFF_LEN);
    crate::input::Opened {
        display: "fuzz".to_string(),
        plain_path: None,
        compression: crate::input::Compression::None,
        head: data[..split].to_vec(),
        rest: Box::new(std::io::Cursor::new(data[split..].to_vec())),
    }
}

/// The ETL container walk and every buffer's scan, without the event decoder.
pub fn etl_buffer(data: &[u8]) {
    let layout = formats::etl::container::walk(data);
    let opts = formats::etl::scan::ScanOptions {
        count_events: true,
        decode_items: true,
        max_inflated: formats::etl::scan::max_inflated(None),
    };
    let mut scratch = Vec::new();
    for info in &layout.buffers {
        let scan = formats::etl::scan::scan_buffer(data, info, opts, &mut scratch);
        assert!(scratch.len() <= opts.max_inflated.max(data.len()));
        let _ = scan;
    }
}

/// A whole `.etl` file through the reader into the lifecycle builder.
pub fn etl_file(data: &[u8]) {
    read_whole(Format::Etl, data);
}

/// The MS-XCA LZ77 decoder: output never exceeds the limit asked for.
pub fn lz77(data: &[u8]) {
    let limit = 1 << 20;
    let mut out = Vec::new();
    let _ = formats::etl::lz77::decompress_into(data, &mut out, limit);
    assert!(out.len() <= limit, "inflated {} > {limit}", out.len());
}

pub fn htrace(data: &[u8]) {
    read_whole(Format::Htrace, data);
}

/// Verifier XML: the bytes after the XML declaration the sniffer expects.
pub fn appverif_xml(data: &[u8]) {
    let mut bytes = b"<?xml version=\"1.0\"?>\n<!-- Application Verifier -->\n".to_vec();
    bytes.extend_from_slice(data);
    read_whole(Format::Appverif, &bytes);
}

pub fn appverif_text(data: &[u8]) {
    read_whole(Format::Appverif, data);
}

pub fn mda(data: &[u8]) {
    read_whole(Format::Mda, data);
}

pub fn jsonl(data: &[u8]) {
    read_whole(Format::Jsonl, data);
}

fn read_whole(format: Format, data: &[u8]) {
    let mut interner = Interner::new();
    let mut builder = LifecycleBuilder::new(&mut interner);
    builder.set_complete_history(format.records_every_open());
    builder.set_rundown_preexisting(format.rundown_seeds_handles());
    let mut stats = ReadStats::default();
    let _ = builder.with_context(0, &mut stats, |ctx| {
        formats::read_whole(format, data, "fuzz", ctx)
    });
    let _ = builder.finish();
    check_stats(&stats);
}

/// `handlecheck.toml`: parse errors are values, and their text is terminal-safe.
pub fn config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Err(e) = crate::config::parse(&text, "fuzz.toml") {
        assert_terminal_safe(&e.to_string());
    }
}

/// Baseline JSON: parse, and a parsed baseline survives a write and re-read.
pub fn baseline(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    match crate::baseline::Baseline::parse(&text, "fuzz.json") {
        Ok(b) => {
            let again = crate::baseline::Baseline::parse(&b.to_json(), "again.json")
                .expect("a written baseline reads back");
            assert_eq!(again.entries.len(), b.entries.len());
        }
        Err(e) => assert_terminal_safe(&e.to_string()),
    }
}

/// Bytes as a trace file (its name hostile on purpose) → analysis → every
/// report format. Machine formats must parse; terminal text must be clean.
pub fn end_to_end(data: &[u8]) {
    let Ok(dir) = tempfile::tempdir() else { return };
    let path = dir.path().join("t\u{1b}[31m\u{7}\u{202e}\"<&>'.log");
    let Ok(mut f) = std::fs::File::create(&path) else {
        return;
    };
    if f.write_all(data).is_err() {
        return;
    }
    drop(f);
    let options = Options {
        threads: Some(1),
        ..Options::default()
    };
    let paths = [path.to_string_lossy().into_owned()];
    let analysis = match analysis::analyze(&paths, &options) {
        Ok(a) => a,
        Err(e) => {
            assert_terminal_safe(&e.report());
            return;
        }
    };
    for i in &analysis.inputs {
        check_stats(&i.stats);
    }
    let shown: Vec<_> = analysis.findings.iter().collect();
    let cx = CiContext::new(&analysis, shown);
    let human = report::human::HumanOptions {
        color: false,
        width: 100,
        quiet: false,
        show_folded: true,
    };
    let text = report::render(OutputFormat::Human, &cx, &human);
    assert_terminal_safe(&text);
    for format in [
        OutputFormat::Json,
        OutputFormat::Sarif,
        OutputFormat::Gitlab,
        OutputFormat::Junit,
        OutputFormat::Github,
        OutputFormat::Html,
    ] {
        let out = report::render_machine(format, &cx).unwrap_or_default();
        check_machine(format, &out);
    }
}

/// A machine report is well-formed for its consumer.
pub fn check_machine(format: OutputFormat, out: &str) {
    match format {
        OutputFormat::Json | OutputFormat::Sarif | OutputFormat::Gitlab => {
            if let Err(e) = serde_json::from_str::<serde_json::Value>(out) {
                panic!("{} output does not parse: {e}", format.as_str());
            }
        }
        OutputFormat::Junit => {
            if let Err(e) = roxmltree::Document::parse(out) {
                panic!("junit output does not parse: {e}");
            }
        }
        OutputFormat::Github => {
            for line in out.lines() {
                assert!(
                    !line.chars().any(|c| c.is_control() && c != '\t'),
                    "raw control character in a workflow command: {line:?}"
                );
            }
        }
        OutputFormat::Html => {
            assert!(
                out.starts_with("<!DOCTYPE html>"),
                "html output has no doctype"
            );
            assert!(
                !out.to_ascii_lowercase().contains("<script"),
                "html output carries a script"
            );
        }
        OutputFormat::Human => assert_terminal_safe(out),
    }
}

/// No control character but newline and tab, and no bidi override, reaches a
/// terminal.
pub fn assert_terminal_safe(text: &str) {
    for c in text.chars() {
        let bad = (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        assert!(!bad, "raw {c:?} would reach the terminal in {text:?}");
    }
}
