//! Every skip reason is counted: one input per [`SkipReason`] kind, read by
//! its reader, must show that reason (by its text) with the right count and
//! first place, and the total must equal the sum by reason.

use handlecheck::formats::{self, ReadStats, SkipReason};

use crate::common::etl_builder::EtlBuilder;
use crate::common::reader;

fn strace(text: &str) -> ReadStats {
    let c = reader::collect(0, |ctx| {
        let mut p = formats::strace::StraceParser::new();
        let mut offset = 0u64;
        for (n, line) in text.split_inclusive('\n').enumerate() {
            let bytes = line.strip_suffix('\n').unwrap_or(line).as_bytes();
            let origin = handlecheck::model::Origin::line(0, n as u32 + 1, offset);
            p.line(bytes, origin, None, ctx);
            offset += line.len() as u64;
        }
        p.finish(ctx);
    });
    c.stats
}

fn whole(format: formats::Format, bytes: &[u8]) -> ReadStats {
    let c = reader::collect(0, |ctx| formats::read_whole(format, bytes, "t", ctx));
    c.stats
}

fn stream(bytes: &[u8]) -> ReadStats {
    let mut interner = handlecheck::model::Interner::new();
    let mut builder = handlecheck::lifecycle::LifecycleBuilder::new(&mut interner);
    let mut stats = ReadStats::default();
    let opened = handlecheck::input::Opened {
        display: "t".into(),
        plain_path: None,
        compression: handlecheck::input::Compression::None,
        head: Vec::new(),
        rest: Box::new(std::io::Cursor::new(bytes.to_vec())),
    };
    let _ = formats::strace::stream::read(opened, 0, &mut builder, &mut stats);
    stats
}

fn appverif_xml(entry: &str) -> Vec<u8> {
    format!(
        "<?xml version=\"1.0\"?>\n<avrf:logfile xmlns:avrf=\"Application Verifier\">\n\
         <avrf:logSession PID=\"1\">\n{entry}\n</avrf:logSession></avrf:logfile>\n"
    )
    .into_bytes()
}

/// A small uncompressed ETL file: the header buffer and one of two handle events.
fn etl_file() -> Vec<u8> {
    let mut b = EtlBuilder::new(8);
    b.create_handle(0, 10, 4, 40, 0x44, 0x1234, 5);
    b.create_handle(0, 11, 4, 40, 0x45, 0x1238, 5);
    let bytes = b.build();
    assert_eq!(bytes.len(), 2048);
    bytes
}

/// The input that makes each reason occur: (stats, expected count, first at).
fn case(reason: SkipReason) -> (ReadStats, u64, Option<u64>) {
    use SkipReason as S;
    match reason {
        S::StraceNotStrace => (strace("hello there\n"), 1, Some(1)),
        S::StraceUnrecognisedLine => (
            strace("100 close(3) = 0\n100 ~~~ what\n100 ~~~ again\n"),
            2,
            Some(2),
        ),
        S::StraceUnparseableCall => (strace("100 close(3 = 0\n"), 1, Some(1)),
        S::StraceUnparseableCloseRange => (strace("100 close_range(x) = 0\n"), 1, Some(1)),
        S::StraceUnparseableExit => (
            strace("100 close(3) = 0\n100 +++ superseded by execve in pid x +++\n"),
            1,
            Some(2),
        ),
        S::StraceUnrecognisedExit => (strace("100 +++ what +++\n"), 1, Some(1)),
        S::StraceUnparseableResumed => (strace("100 <... resumed>) = 0\n"), 1, Some(1)),
        S::StraceResumedWithoutEntry => {
            (strace("100 <... close resumed>) = 0\n"), 1, Some(1))
        }
        S::StraceCutByNotice => (
            strace("100 close(3strace: Process 101 attached\n"),
            1,
            None,
        ),
        S::LineTooLong => {
            let mut t = b"100 close(3) = 0\n100 write(1, \"".to_vec();
            t.extend(std::iter::repeat_n(b'a', handlecheck::input::lines::MAX_LINE + 10));
            t.extend_from_slice(b"\", 1) = 1\n100 close(4) = 0\n");
            (stream(&t), 1, None)
        }
        S::EtlDamagedBuffer => {
            let mut bytes = etl_file();
            // The second buffer claims to be compressed with an absurd size.
            bytes[1024 + 0x30..1024 + 0x34].copy_from_slice(&0x7fff_0000u32.to_le_bytes());
            bytes[1024 + 0x34..1024 + 0x36].copy_from_slice(&0x40u16.to_le_bytes());
            (whole(formats::Format::Etl, &bytes), 1, Some(1024))
        }
        S::EtlDamagedRecord => {
            let mut bytes = etl_file();
            // The first record of the second buffer has a size past its end.
            bytes[1024 + 0x48 + 4..1024 + 0x48 + 6].copy_from_slice(&0xFFF0u16.to_le_bytes());
            (whole(formats::Format::Etl, &bytes), 1, Some(1024))
        }
        // Not covered here yet (see etl_robust for damaged files in general).
        S::EtlUnreadableBufferHeader
        | S::EtlMissingHeader
        | S::EtlNoProcessId => (ReadStats::default(), 0, None),
        S::AppverifHandleStopWithoutHandle => (
            whole(
                formats::Format::Appverif,
                b"=======================================\n\
                  VERIFIER STOP 0000A00E : pid 0xB0: Attempt to use a closed PrintTicket provider handle (HPTPROVIDER)\n\n\
                  =======================================\n",
            ),
            1,
            Some(2),
        ),
        S::PerfNotPerfLine => (
            whole(
                formats::Format::PerfTrace,
                b"     0.258 ( 0.004 ms): sh/15055 close(fd: 4) = 0\nthis is not perf output\n",
            ),
            1,
            Some(2),
        ),
        S::HtraceMalformedHeader => (
            whole(
                formats::Format::Htrace,
                b"0:000> !htrace\n--------------------------------------\nHandle = 0xZZ - OPEN\n\
                  --------------------------------------\nHandle = 0x0000000000000048 - OPEN\n\
                  Thread ID = 0x0000000000001b00, Process ID = 0x0000000000002f10\n\n\
                  0x00007ffd1c08f6b4: ntdll!NtCreateFile+0x14\n",
            ),
            1,
            Some(3),
        ),
        S::HtraceIdsOutOfPlace => (
            whole(
                formats::Format::Htrace,
                b"0:000> !htrace\n--------------------------------------\nHandle = 0x0000000000000048 - OPEN\n\
                  Thread ID = 0x0000000000001b00, Process ID = 0x0000000000002f10\n\n\
                  0x00007ffd1c08f6b4: ntdll!NtCreateFile+0x14\n\
                  Thread ID = 0x0000000000001b00, Process ID = 0x0000000000002f10\n",
            ),
            1,
            Some(7),
        ),
        S::AppverifTruncatedEntry => (
            whole(
                formats::Format::Appverif,
                &appverif_xml("<avrf:logEntry StopCode=\"0x300\">\n<avrf:logEntry StopCode=\"0x300\"></avrf:logEntry>"),
            ),
            1,
            Some(4),
        ),
        S::AppverifMalformedEntry => (
            whole(
                formats::Format::Appverif,
                &appverif_xml("<avrf:logEntry StopCode=\"0x300\"><x></avrf:logEntry>\n<avrf:logEntry StopCode=\"0x300\"></avrf:logEntry>"),
            ),
            1,
            Some(4),
        ),
        S::AppverifNoStopCode => (
            whole(
                formats::Format::Appverif,
                &appverif_xml("<avrf:logEntry StopCode=\"zz\"></avrf:logEntry>\n<avrf:logEntry StopCode=\"0x300\"></avrf:logEntry>"),
            ),
            1,
            Some(4),
        ),
        S::AppverifStopWithoutValue(code) => (
            whole(
                formats::Format::Appverif,
                &appverif_xml(&format!(
                    "<avrf:logEntry StopCode=\"{code:#x}\"></avrf:logEntry>"
                )),
            ),
            1,
            Some(4),
        ),
        S::MdaIncomplete => (
            whole(
                formats::Format::Mda,
                b"A SafeHandle or CriticalHandle of type 'X' failed to properly release the handle with value 0x1.\n\
                  A SafeHandle or CriticalHandle of type 'Y' failed\n\n",
            ),
            1,
            Some(2),
        ),
        S::JsonlUnsupportedVersion => (
            whole(
                formats::Format::Jsonl,
                b"{\"v\":1,\"op\":\"open\",\"pid\":1,\"handle\":4}\n{\"v\":9,\"op\":\"open\",\"pid\":1,\"handle\":4}\n",
            ),
            1,
            Some(2),
        ),
        S::Jsonl(_) => (
            whole(
                formats::Format::Jsonl,
                b"{\"v\":1,\"op\":\"open\",\"pid\":1,\"handle\":4}\n{not json\n{oops\n",
            ),
            2,
            Some(2),
        ),
    }
}

#[test]
fn every_skip_reason_is_counted() {
    let mut failures = Vec::new();
    for reason in SkipReason::KINDS {
        let (stats, count, first) = case(*reason);
        if count == 0 {
            continue;
        }
        let key = reason.to_string();
        let by_reason: u64 = stats.skipped_by_reason.values().map(|s| s.count).sum();
        match stats.skipped_by_reason.get(&key) {
            Some(s) if s.count == count && first.is_none_or(|f| f == s.first_at) => {}
            other => failures.push(format!(
                "{reason:?} ({key}): expected {count} first at {first:?}, got {other:?}; all: {:?}",
                stats.skipped_by_reason
            )),
        }
        if by_reason != stats.skipped {
            failures.push(format!(
                "{reason:?}: total {} != {by_reason}",
                stats.skipped
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn skip_texts_are_unchanged() {
    // The texts reports have always shown (JSON `skipped_by_reason`, summaries).
    assert_eq!(SkipReason::StraceNotStrace.to_string(), "not strace output");
    assert_eq!(
        SkipReason::LineTooLong.to_string(),
        "line longer than 16 MiB"
    );
    assert_eq!(
        SkipReason::AppverifStopWithoutValue(0xE101).to_string(),
        "appverif: stop 0xE101 without a socket value"
    );
    assert_eq!(
        SkipReason::AppverifStopWithoutValue(0x305).to_string(),
        "appverif: stop 0x305 without a handle value"
    );
}
