//! Record counts of every shared real .etl sample: handlecheck's reader against
//! an independent decoder, the PyPI `dissect.etl` package, run once by
//! `fixtures/etl/count_records.py` (its output is the table below). The samples
//! come from other projects and stay in ../shared/samples (never copied here):
//! without that folder every test here says so and passes.

use crate::common::shared;

use handlecheck::formats::etl;

/// `python3 fixtures/etl/count_records.py` with dissect.etl 3.14: records per
/// file, logfile header included.
const DISSECT_ETL_COUNTS: &[(&str, u64)] = &[
    ("etl/perfview_SelfDescribingSingleEvent.etl", 23),
    ("etl/perfview_gcevents.etl.zip", 71),
    ("etl/perfview_gcrundownevents.etl.zip", 112),
    ("etl/perfview_net.4.5.2.x64.etl.zip", 179474),
    ("etl/perfview_net.4.5.2.x86.etl.zip", 168298),
    ("etl/perfview_primitive-types.etl.zip", 7),
    ("etl-more/airbus_AMSITrace.etl", 21),
    ("etl-more/airbus_ShutdownPerfDiagLogger.etl", 17078),
    ("etl-more/airbus_lxcore_kernel.etl", 4),
    ("etl-more/attackhost_trace_wpr_merged.etl", 102),
    ("etl-more/hw3d_trace_wpr_metadata_only.etl", 3),
    ("etl-more/krabsetw_powershell.etl", 114),
    ("etl-more/perfview_smallEtlFile.etl", 2),
    ("etl-more/pyetw_out.etl", 114),
    ("etl-more/pyetw_user.etl", 6),
    ("etl-more/s4_SIH.20230422.etl", 12),
    ("etl-more/s4_WindowsUpdate.20251008.etl", 82),
    ("etl-more/s4_onedrive_CldFlt0.etlgz", 17),
    ("etl-more/s4_onedrive_CldFlt1.etlgz", 7),
    ("etl-more/s4_waasmedic.20251005.etl", 21),
    ("etl-more/sonde_test.etl", 112),
    ("etl-more/syzygy_sawbuck/log_lib_image_data_32_v0.etl", 27),
    ("etl-more/syzygy_sawbuck/log_lib_image_data_32_v1.etl", 27),
    ("etl-more/syzygy_sawbuck/log_lib_image_data_32_v2.etl", 27),
    ("etl-more/syzygy_sawbuck/log_lib_image_data_64_v0.etl", 27),
    ("etl-more/syzygy_sawbuck/log_lib_image_data_64_v1.etl", 27),
    ("etl-more/syzygy_sawbuck/log_lib_image_data_64_v2.etl", 27),
    ("etl-more/syzygy_sawbuck/log_lib_process_data_32_v1.etl", 3),
    ("etl-more/syzygy_sawbuck/log_lib_process_data_32_v2.etl", 9),
    ("etl-more/syzygy_sawbuck/log_lib_process_data_32_v3.etl", 9),
    ("etl-more/syzygy_sawbuck/log_lib_process_data_64_v2.etl", 9),
    ("etl-more/syzygy_sawbuck/log_lib_process_data_64_v3.etl", 9),
    ("etl-more/syzygy_sawbuck/viewer_test_data_32_v0.etl", 27),
    ("etl-more/syzygy_sawbuck/viewer_test_data_32_v1.etl", 27),
    ("etl-more/syzygy_sawbuck/viewer_test_data_32_v2.etl", 27),
    ("etl-more/syzygy_sawbuck/viewer_test_data_64_v0.etl", 27),
    ("etl-more/syzygy_sawbuck/viewer_test_data_64_v1.etl", 27),
    ("etl-more/syzygy_sawbuck/viewer_test_data_64_v2.etl", 27),
];

/// Files dissect.etl 3.14 could not count, with what handlecheck must do.
///  - CldFlt2: `BuffersWritten = 0` (the session was never closed): dissect.etl
///    walks BuffersWritten buffers and reports 0; the file holds one buffer with
///    2 records (the logfile header and one more), which handlecheck reads from
///    the file size.
const CLDFLT2: (&str, u64) = ("etl-more/s4_onedrive_CldFlt2_bufferswritten0.etlgz", 2);
/// dissect.etl: EOFError (0 bytes) and InvalidMarkerError (a text file named
/// .etl): handlecheck must refuse both with an error, not a count.
const REFUSED: &[&str] = &[
    "etl/etwanalyzer_EmptyETL.etl",
    "etl-more/linuxtracepoints_output_text_not_etl.etl",
];
/// A 7z archive: neither the script nor the tests unpack it.
const NOT_UNPACKED: &str = "etl-more/etwanalyzer_TraceLoggingTester.7z";

#[test]
fn record_counts_match_dissect_etl_on_every_shared_sample() {
    let mut checked = 0;
    for (rel, expected) in DISSECT_ETL_COUNTS {
        let Some(bytes) = shared::sample(rel) else {
            return;
        };
        let stats = etl::stats(&bytes, rel).unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert_eq!(
            stats.records, *expected,
            "{rel}: records (dissect.etl counts {expected})"
        );
        checked += 1;
    }
    assert_eq!(checked, DISSECT_ETL_COUNTS.len());
    eprintln!(
        "{} not counted: a 7z archive (no 7z decoder in the tests or the count script)",
        NOT_UNPACKED
    );
}

#[test]
fn unclosed_session_is_read_where_dissect_etl_reads_nothing() {
    let (rel, expected) = CLDFLT2;
    let Some(bytes) = shared::sample(rel) else {
        return;
    };
    let stats = etl::stats(&bytes, rel).unwrap();
    assert_eq!(stats.records, expected, "{rel}");
}

#[test]
fn files_dissect_etl_refuses_are_refused_cleanly() {
    for rel in REFUSED {
        let Some(bytes) = shared::sample(rel) else {
            return;
        };
        let err = etl::stats(&bytes, rel).err();
        assert!(err.is_some(), "{rel}: expected an error, not a count");
    }
}

/// No copy of another project's .etl stays in the repository: every .etl under
/// fixtures/ is a SYNTHETIC one built by this project.
#[test]
fn only_synthetic_etl_files_are_in_the_repository() {
    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures"),
        &mut files,
    );
    for p in files {
        let name = p.file_name().unwrap().to_string_lossy().to_lowercase();
        let etl_like = name.ends_with(".etl")
            || name.ends_with(".etl.zip")
            || name.ends_with(".etlgz")
            || name.contains(".baseline.txt");
        if etl_like {
            assert!(
                name.starts_with("synthetic_")
                    && p.parent().unwrap().ends_with("fixtures/etl/synthetic"),
                "{} looks like a copy of another project's trace",
                p.display()
            );
        }
    }
}
