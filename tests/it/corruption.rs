//! The corruption corpus: damaged and hostile inputs each end with no panic,
//! no hang and memory within the bound (4 × input + 64 MB), and either exit 2
//! naming the file and the place of the damage, or findings with the damage
//! counted. (Random truncations and flips of real .etl files: etl_robust.)

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use handlecheck::formats::{self, ReadStats};
use predicates::prelude::*;

use crate::common::alloc::assert_bounded;
use crate::common::etl_builder::EtlBuilder;
use crate::common::reader;

const STRACE: &str = "fixtures/strace/samples/double_close/trace-k.log";

fn fixture(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

fn hc() -> Command {
    let mut c = Command::cargo_bin("handlecheck").unwrap();
    c.env("NO_COLOR", "1")
        .args(["--color", "never"])
        .timeout(std::time::Duration::from_secs(120));
    c
}

/// Reads ETL bytes within the memory bound; returns (accepted, stats).
fn etl_read(bytes: &[u8]) -> (bool, ReadStats) {
    let mut out = None;
    assert_bounded("etl", bytes.len(), || {
        let c = reader::collect(0, |ctx| formats::etl::read(bytes, "damaged.etl", ctx));
        out = Some((c.result.is_ok(), c.stats));
    });
    out.unwrap()
}

/// An uncompressed or compressed synthetic file of several buffers.
fn etl_file(compressed: bool) -> Vec<u8> {
    let mut b = EtlBuilder::new(8).compressed(compressed).buffer_size(0x200);
    for i in 0..40u64 {
        b.create_handle(0, 10 + i, 4, 40, 0xFFFF_0000 + i, 4 * i as u32 + 4, 5);
        b.close_handle(0, 11 + i, 4, 40, 0xFFFF_0000 + i, 4 * i as u32 + 4, 5, "");
    }
    b.build()
}

#[test]
fn etl_truncated_at_every_buffer_and_record_boundary() {
    for compressed in [false, true] {
        let bytes = etl_file(compressed);
        // Records are 8-aligned and buffers 0x200: every multiple of 8 is a
        // candidate record boundary, every multiple of 0x200 a buffer one.
        for cut in (0..bytes.len()).step_by(8) {
            let (ok, stats) = etl_read(&bytes[..cut]);
            // Cut inside an uncompressed buffer: the damage is counted, not
            // hidden. (A compressed buffer's data may end before the cut.)
            if ok && !compressed && cut % 0x200 != 0 {
                let counted =
                    stats.skipped > 0 || stats.counters.contains_key("etl truncated last buffer");
                assert!(counted, "cut at {cut} (compressed {compressed}): {stats:?}");
            }
        }
    }
}

#[test]
fn etl_bit_flips_and_length_fields_outside() {
    let bytes = etl_file(true);
    for i in 0..bytes.len() {
        let mut b = bytes.clone();
        b[i] ^= 1 << (i % 8);
        etl_read(&b);
    }
    // BufferSize 0 and 0xFFFFFFF0, and a record size past the buffer.
    for size in [0u32, 0xFFFF_FFF0] {
        for at in [0usize, 0x200] {
            let mut b = bytes.clone();
            b[at..at + 4].copy_from_slice(&size.to_le_bytes());
            let (ok, stats) = etl_read(&b);
            let counted =
                stats.skipped > 0 || stats.counters.contains_key("etl truncated last buffer");
            assert!(
                !ok || counted || at > 0,
                "size {size:#x} at {at}: {stats:?}"
            );
        }
    }
    let mut b = etl_file(false);
    b[0x200 + 0x48 + 4..0x200 + 0x48 + 6].copy_from_slice(&0xFFF0u16.to_le_bytes());
    let (ok, stats) = etl_read(&b);
    assert!(ok);
    assert_eq!(
        stats.skipped_by_reason["damaged record (rest of buffer skipped)"].first_at,
        0x200
    );
}

#[test]
fn etl_compressed_data_inflating_past_its_size() {
    let mut bytes = etl_file(true);
    // Buffer 1 declares (Offset @0x30) far less than its data inflates to.
    bytes[0x200 + 0x30..0x200 + 0x34].copy_from_slice(&0x50u32.to_le_bytes());
    let (ok, stats) = etl_read(&bytes);
    assert!(ok);
    assert_eq!(
        stats.skipped_by_reason["damaged buffer"].first_at, 0x200,
        "{stats:?}"
    );
    let s = formats::etl::stats(&bytes, "x").unwrap();
    assert_eq!(s.damaged_buffers, 1);
}

#[test]
fn a_50_mb_line_is_cut_and_counted() {
    let mut t = b"100 openat(AT_FDCWD, \"/etc/x\", O_RDONLY) = 3\n100 write(3, \"".to_vec();
    t.extend(std::iter::repeat_n(b'x', 50 << 20));
    t.extend_from_slice(
        b"\", 5) = 5\n100 close(3) = 0\n100 close(3) = -1 EBADF (Bad file descriptor)\n",
    );
    let mut stats = ReadStats::default();
    assert_bounded("50 MB line", t.len(), || {
        let mut interner = handlecheck::model::Interner::new();
        let mut builder = handlecheck::lifecycle::LifecycleBuilder::new(&mut interner);
        let split = t.len().min(64 << 10);
        let opened = handlecheck::input::Opened {
            display: "long.strace".into(),
            plain_path: None,
            compression: handlecheck::input::Compression::None,
            head: t[..split].to_vec(),
            rest: Box::new(std::io::Cursor::new(t[split..].to_vec())),
        };
        formats::strace::stream::read(opened, 0, &mut builder, &mut stats).unwrap();
        let _ = builder.finish();
    });
    assert_eq!(stats.skipped_by_reason["line longer than 16 MiB"].count, 1);
    assert_eq!(stats.events, 3, "the lines around the long one are read");
}

fn analyze_bytes(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> std::process::Output {
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).unwrap();
    hc().args(["analyze", "--no-config", "-f", "json", "--fail-on", "never"])
        .arg(&p)
        .output()
        .unwrap()
}

fn json_of(out: &std::process::Output) -> serde_json::Value {
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn nul_bytes_invalid_utf8_and_crlf_in_strace() {
    let dir = tempfile::tempdir().unwrap();
    let clean = std::fs::read(fixture(STRACE)).unwrap();
    let base = json_of(&analyze_bytes(&dir, "clean.log", &clean));
    let codes = |v: &serde_json::Value| -> Vec<String> {
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["code"].as_str().unwrap().to_string())
            .collect()
    };
    // CRLF line ends: the same findings.
    let crlf: Vec<u8> = clean
        .split(|b| *b == b'\n')
        .flat_map(|l| l.iter().copied().chain(*b"\r\n"))
        .collect();
    assert_eq!(
        codes(&json_of(&analyze_bytes(&dir, "crlf.log", &crlf))),
        codes(&base)
    );
    // A line of NUL bytes and one of invalid UTF-8 in the middle: skipped and
    // counted, the findings stay.
    let mut damaged = Vec::new();
    for (i, line) in clean.split_inclusive(|b| *b == b'\n').enumerate() {
        damaged.extend_from_slice(line);
        if i == 3 {
            damaged.extend_from_slice(b"\0\0\0\0\0\0\n\xff\xfe\xc3\x28 garbage\n");
        }
    }
    let v = json_of(&analyze_bytes(&dir, "damaged.log", &damaged));
    assert_eq!(codes(&v), codes(&base));
    assert_eq!(v["inputs"][0]["skipped"], 2, "{}", v["inputs"][0]);
}

#[test]
fn a_directory_dev_null_and_empty_stdin_exit_2_with_the_name() {
    let dir = tempfile::tempdir().unwrap();
    hc().args(["analyze"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is a directory"));
    hc().args(["analyze", "/dev/null"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("/dev/null").and(predicate::str::contains("empty")));
    hc().args(["analyze", "-"])
        .write_stdin("")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("-: empty input"));
}

#[test]
fn an_empty_fifo_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("empty.fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let writer_path = fifo.clone();
    let writer = std::thread::spawn(move || {
        drop(
            std::fs::OpenOptions::new()
                .write(true)
                .open(writer_path)
                .unwrap(),
        );
    });
    hc().args(["analyze"])
        .arg(&fifo)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("empty.fifo").and(predicate::str::contains("empty")));
    writer.join().unwrap();
}

#[test]
fn damaged_etl_through_the_cli_names_file_and_place_or_counts() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = etl_file(true);
    bytes[0x200 + 0x30..0x200 + 0x34].copy_from_slice(&0x50u32.to_le_bytes());
    let v = json_of(&analyze_bytes(&dir, "damaged.etl", &bytes));
    assert!(
        v["inputs"][0]["skipped"].as_u64().unwrap() >= 1,
        "{}",
        v["inputs"][0]
    );
    // Not an ETL file past its magic: exit 2 with the name.
    let out = analyze_bytes(&dir, "cut.etl", &etl_file(false)[..0x30]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cut.etl"),
        "{out:?}"
    );
}
