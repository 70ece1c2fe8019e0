//! `--symbols DIR`: ETW stack frames named from a real PDB.
//!
//! fixtures/etl/symbols/pool.pdb is a real PDB, built here from pool.c with
//! clang + lld-link (build.sh). The .etl is SYNTHETIC (built with the test
//! builder in the real on-disk layout): Event handles created from pool.exe
//! inside `create_event_for_worker`, right before each worker thread starts.

use crate::common::etl_builder;

use std::path::Path;

use assert_cmd::Command;
use etl_builder::EtlBuilder;
use handlecheck::formats::etl::symbols::Symbolizer;

const SYMBOLS: &str = "fixtures/etl/symbols";

#[test]
fn resolves_rvas_to_functions_of_the_real_pdb() {
    let s = Symbolizer::load(Path::new(SYMBOLS)).unwrap();
    assert_eq!(s.modules(), 1);
    assert_eq!(
        s.resolve("pool.exe+0x1004").as_deref(),
        Some("pool.exe!create_event_for_worker+0x4")
    );
    assert_eq!(
        s.resolve("pool.exe+0x1010").as_deref(),
        Some("pool.exe!start_worker+0x0")
    );
    assert_eq!(
        s.resolve("POOL.EXE+0x1000").as_deref(),
        Some("POOL.EXE!create_event_for_worker+0x0")
    );
    // Outside the code section, unknown module, not a module+offset frame.
    assert_eq!(s.resolve("pool.exe+0x9000"), None);
    assert_eq!(s.resolve("clr.dll+0x1000"), None);
    assert_eq!(s.resolve("ntdll!NtClose+0x14"), None);
}

#[test]
fn a_folder_without_pdbs_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = Symbolizer::load(dir.path()).err().expect("error");
    assert!(err.message.contains("no .pdb"), "{err}");
    let bad = dir.path().join("broken.pdb");
    std::fs::write(&bad, b"not a pdb at all").unwrap();
    let err = Symbolizer::load(dir.path()).err().expect("error");
    assert!(err.to_string().contains("broken.pdb"), "{err}");
}

fn pool_trace() -> Vec<u8> {
    const PID: u32 = 4000;
    const APP: u64 = 0x7ff6_5000_0000;
    const MAIN: u32 = 40;
    let mut b = EtlBuilder::new(8);
    b.type_dc_start(0, 1, 16, "Event");
    b.image_load(
        0,
        2,
        PID,
        APP,
        0x10_0000,
        "\\Device\\HarddiskVolume2\\pool\\pool.exe",
    );
    for i in 0..4u32 {
        let t = 1000 + u64::from(i) * 1000;
        b.create_handle(
            0,
            t,
            PID,
            MAIN,
            0xffff_c283_1000_0000 + u64::from(i) * 0x100,
            0x100 + 4 * i,
            16,
        );
        b.stack(
            0,
            t + 1,
            t,
            PID,
            MAIN,
            &[APP + 0x1004, APP + 0x1012, APP + 0x1024],
        );
        b.thread_start(0, t + 10, PID, MAIN, 100 + i);
        b.thread_end(0, t + 500, PID, 100 + i);
    }
    b.build()
}

#[test]
fn analyze_names_the_frames_in_its_findings() {
    let dir = tempfile::tempdir().unwrap();
    let etl = dir.path().join("pool.etl");
    std::fs::write(&etl, pool_trace()).unwrap();
    let bin = || Command::cargo_bin("handlecheck").unwrap();
    let plain = bin()
        .args(["analyze", "--no-config", "--color", "never"])
        .arg(&etl)
        .output()
        .unwrap();
    let plain = String::from_utf8_lossy(&plain.stdout);
    assert!(
        plain.contains("HC005") && plain.contains("pool.exe+0x1004"),
        "{plain}"
    );
    let named = bin()
        .args([
            "analyze",
            "--no-config",
            "--color",
            "never",
            "--format",
            "json",
            "--symbols",
            SYMBOLS,
        ])
        .arg(&etl)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&named.stdout).unwrap();
    let text = v.to_string();
    assert!(text.contains("HC005"), "{text}");
    let human = bin()
        .args([
            "analyze",
            "--no-config",
            "--color",
            "never",
            "--symbols",
            SYMBOLS,
        ])
        .arg(&etl)
        .output()
        .unwrap();
    let human = String::from_utf8_lossy(&human.stdout);
    assert!(
        human.contains("pool.exe!create_event_for_worker+0x4"),
        "{human}"
    );
    assert!(human.contains("pool.exe!start_worker+0x2"), "{human}");
    bin()
        .args(["analyze", "--symbols", "no/such/dir"])
        .arg(&etl)
        .assert()
        .code(2);
}
