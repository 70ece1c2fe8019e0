//! Truncated and corrupted copies of real .etl files never panic: the reader
//! returns Ok (damage skipped and counted) or a clean InputError. The real
//! files are read from ../shared/samples (synthetic input alone without it).

use crate::common::reader;

use crate::common::etl_builder;

use handlecheck::formats::ReadStats;
use handlecheck::formats::etl;

use super::etl_samples::fixture;

/// Reads `bytes` both ways; returns whether `read` succeeded and its stats.
fn try_all(bytes: &[u8]) -> (bool, ReadStats) {
    let c = reader::collect(0, |ctx| etl::read(bytes, "damaged.etl", ctx));
    let ok = c.result.is_ok();
    let s = etl::stats(bytes, "damaged.etl");
    assert_eq!(ok, s.is_ok(), "read and stats disagree about acceptability");
    for ev in &c.events {
        let _ = etl::render_event(ev, &c.interner);
    }
    (ok, c.stats)
}

/// xorshift64*: a fixed-seed generator so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn inputs() -> Vec<(&'static str, Vec<u8>)> {
    let mut b = etl_builder::EtlBuilder::new(8)
        .compressed(true)
        .buffer_size(0x200);
    for i in 0..60u64 {
        b.create_handle((i % 3) as u16, i, 10, 11, i, 4 * i as u32, 16);
        b.stack((i % 3) as u16, i, i, 10, 11, &[0x7ff0_0000_0000 + i]);
    }
    let mut all = vec![("synthetic", b.build())];
    if let Some(mut x64) = fixture("perfview_net.4.5.2.x64.etl") {
        x64.truncate(400_000); // a prefix of real compressed buffers keeps the test fast
        all.push(("x64 prefix", x64));
    }
    for (name, file) in [
        (
            "SelfDescribingSingleEvent",
            "perfview_SelfDescribingSingleEvent.etl",
        ),
        ("primitive-types", "perfview_primitive-types.etl"),
    ] {
        if let Some(bytes) = fixture(file) {
            all.push((name, bytes));
        }
    }
    all
}

#[test]
fn truncation_at_many_offsets_never_panics() {
    for (name, bytes) in inputs() {
        let step = (bytes.len() / 97).max(1);
        let mut cuts: Vec<usize> = (0..bytes.len()).step_by(step).collect();
        cuts.extend([1, 4, 0x47, 0x48, 0x49, 0x4F, 0x50, bytes.len() - 1]);
        for cut in cuts {
            let (ok, stats) = try_all(&bytes[..cut]);
            if cut < 0x4C {
                assert!(!ok, "{name}: {cut} bytes accepted");
            }
            let _ = stats;
        }
    }
}

#[test]
fn truncating_a_real_file_mid_buffer_is_counted() {
    let Some(bytes) = fixture("perfview_net.4.5.2.x64.etl") else {
        return;
    };
    let (ok, stats) = try_all(&bytes[..bytes.len() - 100]);
    assert!(ok);
    assert_eq!(
        stats.skipped_by_reason["damaged buffer"].count, 1,
        "{:?}",
        stats.skipped_by_reason
    );
}

#[test]
fn random_byte_flips_never_panic() {
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    for (name, bytes) in inputs() {
        for round in 0..60 {
            let mut copy = bytes.clone();
            let flips = 1 + rng.below(16);
            for _ in 0..flips {
                let at = rng.below(copy.len());
                copy[at] ^= 1 << rng.below(8);
            }
            // Sometimes smash a whole run (length fields, LZ77 streams).
            if round % 5 == 0 {
                let at = rng.below(copy.len());
                let len = rng.below(64).min(copy.len() - at);
                for b in &mut copy[at..at + len] {
                    *b = rng.next() as u8;
                }
            }
            let _ = try_all(&copy);
            let _ = name;
        }
    }
}

#[test]
fn corrupt_compressed_buffer_is_skipped_and_counted() {
    let Some(mut bytes) = fixture("perfview_SelfDescribingSingleEvent.etl") else {
        return;
    };
    // Buffer 1 is compressed; make its inflated size absurd.
    let first = u32::from_le_bytes(bytes[0..4].try_into().unwrap()) as usize;
    bytes[first + 0x30..first + 0x34].copy_from_slice(&0x7fff_0000u32.to_le_bytes());
    let (ok, stats) = try_all(&bytes);
    assert!(ok);
    assert_eq!(stats.skipped_by_reason["damaged buffer"].count, 1);
    assert_eq!(
        stats.skipped_by_reason["damaged buffer"].first_at,
        first as u64
    );
    let s = etl::stats(&bytes, "x").unwrap();
    assert_eq!(s.damaged_buffers, 1);
}
