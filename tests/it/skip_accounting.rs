//! Every skip reason is counted: one input per [`SkipReason`] kind, read by
//! its reader, must show that reason (by its text) with the right count and
//! first place, and the total must equal the sum by reason.

use handlecheck::formats::{self, ReadStats, SkipReason};
use handlecheck::model::Op;

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

fn etl_read(bytes: &[u8]) -> reader::Collected<Result<(), formats::InputError>> {
    reader::collect(0, |ctx| formats::etl::read(bytes, "t.etl", ctx))
}

/// Buffer size of [`etl_pairs`]: 10 handle records (0x30 bytes each) per
/// buffer, so each buffer holds 5 whole create/close pairs.
const PAIRS_BUFFER: usize = 0x48 + 10 * 0x30;

/// Handle values of the pairs written to buffer `n` (1-based, after the header buffer).
fn pair_handles(n: u32) -> std::ops::RangeInclusive<u32> {
    let first = (n - 1) * 5 + 1;
    first * 4..=(first + 4) * 4
}

/// An uncompressed file: the header buffer, then 3 buffers of 5 handles each
/// created and closed by pid 4 (handles 4..=60).
fn etl_pairs(b: EtlBuilder) -> Vec<u8> {
    let mut b = b.buffer_size(PAIRS_BUFFER);
    for i in 0..15u32 {
        let h = 4 * (i + 1);
        let ts = 10 + 2 * u64::from(i);
        b.create_handle(0, ts, 4, 40, 0xFFFF_0000 + u64::from(h), h, 5);
        b.close_handle(0, ts + 1, 4, 40, 0xFFFF_0000 + u64::from(h), h, 5, "");
    }
    b.build()
}

/// [`etl_pairs`] with buffer 2's `BufferSize` overwritten by `size`.
fn etl_with_unreadable_header(size: u32) -> Vec<u8> {
    let mut bytes = etl_pairs(EtlBuilder::new(8));
    assert_eq!(bytes.len(), 4 * PAIRS_BUFFER);
    let at = 2 * PAIRS_BUFFER;
    bytes[at..at + 4].copy_from_slice(&size.to_le_bytes());
    bytes
}

/// [`etl_pairs`] with no header buffer: the first buffer is CPU 0's.
fn etl_without_header_record() -> Vec<u8> {
    let bytes = etl_pairs(EtlBuilder::new(8).without_header_record());
    assert_eq!(bytes.len(), 3 * PAIRS_BUFFER);
    bytes
}

/// Records after the header (record 1): a pair by pid 4 (2, 4) around a user
/// handle created under a PERFINFO header, which has no process id (3), then
/// a kernel handle created and closed likewise (5, 6: kernel handles belong
/// to pid 4 whatever the header says, so these are read).
fn etl_with_event_without_pid() -> Vec<u8> {
    let mut b = EtlBuilder::new(8);
    b.create_handle(0, 10, 4, 40, 0xFFFF_0044, 0x44, 5);
    b.handle_event_without_pid(false, 0, 11, 0xFFFF_0048, 0x48, 5);
    b.close_handle(0, 12, 4, 40, 0xFFFF_0044, 0x44, 5, "");
    b.handle_event_without_pid(false, 0, 13, 0xFFFF_0099, 0x8000_0010, 5);
    b.handle_event_without_pid(true, 0, 14, 0xFFFF_0099, 0x8000_0010, 5);
    b.build()
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
        S::EtlUnreadableBufferHeader => {
            (etl_read(&etl_with_unreadable_header(0x10)).stats, 1, Some(2 * PAIRS_BUFFER as u64))
        }
        S::EtlMissingHeader => (etl_read(&etl_without_header_record()).stats, 1, Some(0)),
        S::EtlNoProcessId => (etl_read(&etl_with_event_without_pid()).stats, 1, Some(3)),
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

/// (pid, handle, is it an open) of every handle event read.
fn handle_events(c: &reader::Collected<Result<(), formats::InputError>>) -> Vec<(u32, i64, bool)> {
    c.events
        .iter()
        .filter(|e| matches!(e.op, Op::Open { .. } | Op::Close))
        .map(|e| (e.pid, e.handle, matches!(e.op, Op::Open { .. })))
        .collect()
}

fn only_reason(stats: &ReadStats, reason: SkipReason, count: u64, first_at: u64) {
    let all: Vec<(&String, u64, u64)> = stats
        .skipped_by_reason
        .iter()
        .map(|(k, s)| (k, s.count, s.first_at))
        .collect();
    assert_eq!(
        all,
        vec![(&reason.to_string(), count, first_at)],
        "{stats:?}"
    );
    assert_eq!(stats.skipped, count);
}

#[test]
fn an_unreadable_buffer_header_costs_only_its_buffer() {
    // Too small, zero (not the zero-filled tail: a readable buffer follows),
    // past the end of the file, just under a header, and one that would
    // swallow buffer 3 (twice the buffer size, ending at the end of the file).
    for size in [0x10u32, 0, 0xFFFF_FFF0, 0x47, 2 * PAIRS_BUFFER as u32] {
        let c = etl_read(&etl_with_unreadable_header(size));
        assert!(c.result.is_ok(), "size {size:#x}");
        only_reason(
            &c.stats,
            SkipReason::EtlUnreadableBufferHeader,
            1,
            2 * PAIRS_BUFFER as u64,
        );
        let seen = handle_events(&c);
        // Buffers 1 and 3 read whole, buffer 2 not at all.
        for n in [1, 3] {
            for h in pair_handles(n).step_by(4) {
                assert!(
                    seen.contains(&(4, i64::from(h), true)),
                    "size {size:#x}: {h} in {seen:?}"
                );
                assert!(
                    seen.contains(&(4, i64::from(h), false)),
                    "size {size:#x}: {h} in {seen:?}"
                );
            }
        }
        assert_eq!(seen.len(), 20, "size {size:#x}: {seen:?}");
        assert!(
            seen.iter()
                .all(|&(_, h, _)| !pair_handles(2).contains(&(h as u32)))
        );
        // Record numbers continue over the skipped buffer: the first event of
        // buffer 3 is record 1 (header) + 10 (buffer 1) + 1.
        let first3 = c.events.iter().find(|e| e.handle == 44).unwrap();
        assert_eq!(first3.origin.record, 12);
        assert_eq!(first3.origin.offset, 3 * PAIRS_BUFFER as u64 + 0x48);
    }
}

#[test]
fn an_unreadable_last_header_is_counted_and_the_rest_kept() {
    let mut bytes = etl_pairs(EtlBuilder::new(8));
    let at = 3 * PAIRS_BUFFER;
    bytes[at..at + 4].copy_from_slice(&0x20u32.to_le_bytes());
    let c = etl_read(&bytes);
    only_reason(
        &c.stats,
        SkipReason::EtlUnreadableBufferHeader,
        1,
        at as u64,
    );
    assert_eq!(handle_events(&c).len(), 20);
    // A zero-filled tail is the end of the data, not damage.
    let mut bytes = etl_pairs(EtlBuilder::new(8));
    bytes.extend(std::iter::repeat_n(0u8, 3 * PAIRS_BUFFER));
    let c = etl_read(&bytes);
    assert_eq!(c.stats.skipped, 0, "{:?}", c.stats);
    assert_eq!(handle_events(&c).len(), 30);
}

#[test]
fn a_missing_header_record_is_counted_and_every_event_read_without_times() {
    let c = etl_read(&etl_without_header_record());
    assert!(c.result.is_ok());
    only_reason(&c.stats, SkipReason::EtlMissingHeader, 1, 0);
    let seen = handle_events(&c);
    assert_eq!(seen.len(), 30, "{seen:?}");
    assert!(c.events.iter().all(|e| e.time.is_none()));
    // With the header, the same events have times.
    let c = etl_read(&etl_pairs(EtlBuilder::new(8)));
    assert_eq!(c.stats.skipped, 0);
    assert_eq!(handle_events(&c), seen);
    assert!(c.events.iter().all(|e| e.time.is_some()));
}

#[test]
fn a_user_handle_event_without_a_process_id_is_counted_and_the_rest_read() {
    let c = etl_read(&etl_with_event_without_pid());
    assert!(c.result.is_ok());
    // Record 3 (the header buffer's record is 1): the user handle 0x48.
    only_reason(&c.stats, SkipReason::EtlNoProcessId, 1, 3);
    assert_eq!(
        handle_events(&c),
        vec![
            (4, 0x44, true),
            (4, 0x44, false),
            (4, 0x8000_0010, true),
            (4, 0x8000_0010, false)
        ]
    );
    assert_eq!(c.stats.events, 4);
}

fn hc() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("handlecheck").unwrap();
    c.env("NO_COLOR", "1")
        .args(["--color", "never"])
        .timeout(std::time::Duration::from_secs(120));
    c
}

#[test]
fn strict_turns_each_etl_skip_into_exit_2() {
    use predicates::prelude::*;
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "unreadable.etl",
            etl_with_unreadable_header(0x10),
            SkipReason::EtlUnreadableBufferHeader,
            format!("byte {}", 2 * PAIRS_BUFFER),
        ),
        (
            "headerless.etl",
            etl_without_header_record(),
            SkipReason::EtlMissingHeader,
            "byte 0".to_string(),
        ),
        (
            "nopid.etl",
            etl_with_event_without_pid(),
            SkipReason::EtlNoProcessId,
            "record 3".to_string(),
        ),
    ];
    for (name, bytes, reason, place) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        // Usable: read with the skip counted, nothing found, exit 0.
        let out = hc()
            .args(["analyze", "--format", "json"])
            .arg(&path)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["inputs"][0]["skipped"], 1, "{name}: {v}");
        hc().args(["analyze", "--strict"])
            .arg(&path)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(name))
            .stderr(predicate::str::contains(format!("{place}: {reason}")))
            .stderr(predicate::str::contains("--strict"));
    }
}
