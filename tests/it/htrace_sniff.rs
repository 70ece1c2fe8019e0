//! The four Windows-side sniffers claim their own samples and nothing else
//! (not each other's, not strace text).

use handlecheck::formats::{appverif, htrace, jsonl, mda};

fn head(path: &str) -> Vec<u8> {
    let b = std::fs::read(path).unwrap();
    b[..b.len().min(64 * 1024)].to_vec()
}

fn claims(bytes: &[u8]) -> [bool; 4] {
    [
        htrace::sniff(bytes),
        appverif::sniff(bytes),
        mda::sniff(bytes),
        jsonl::sniff(bytes),
    ]
}

#[test]
fn each_sample_is_claimed_by_exactly_its_reader() {
    let cases: [(&str, [bool; 4]); 13] = [
        (
            "fixtures/htrace/cppresourceleaks_x86_session.txt",
            [true, false, false, false],
        ),
        (
            "fixtures/htrace/x64_and_x86_issue_excerpts.txt",
            [true, false, false, false],
        ),
        (
            "fixtures/htrace/diff_wow64_appverif_windowdemo.txt",
            [true, false, false, false],
        ),
        (
            "fixtures/htrace/repeated_dumps_x64.txt",
            [true, false, false, false],
        ),
        (
            "fixtures/appverif/trippy1443_handles_0x300.xml",
            [false, true, false, false],
        ),
        (
            "fixtures/appverif/multi_layer_synthetic.xml",
            [false, true, false, false],
        ),
        (
            "fixtures/appverif/verifier_stops_handles.txt",
            [false, true, false, false],
        ),
        (
            "fixtures/appverif/stop_with_kb_synthetic.txt",
            [false, true, false, false],
        ),
        (
            "fixtures/mda/vs_x64_globalmousekeyhook.txt",
            [false, false, true, false],
        ),
        (
            "fixtures/mda/doc_x86_wrapped.txt",
            [false, false, true, false],
        ),
        (
            "fixtures/mda/windbg_session_synthetic.txt",
            [false, false, true, false],
        ),
        ("fixtures/jsonl/all_ops.jsonl", [false, false, false, true]),
        (
            "fixtures/htrace/strace_head_for_sniff.txt",
            [false, false, false, false],
        ),
    ];
    for (path, want) in cases {
        assert_eq!(claims(&head(path)), want, "{path}");
    }
}

#[test]
fn strace_quoting_windows_text_is_not_claimed() {
    let strace = b"1234 12:00:00.000001 write(2, \"A SafeHandle or CriticalHandle of type 'X' failed to properly release the handle with value 0x1\", 99) = 99\n\
1234 12:00:00.000002 write(1, \"Handle = 0x3c - OPEN\\n\", 21) = 21\n\
1234 12:00:00.000003 write(1, \"VERIFIER STOP 00000300: pid 0x1: x\", 34) = 34\n";
    assert_eq!(claims(strace), [false, false, false, false]);
}

#[test]
fn a_session_with_htrace_and_verifier_text_goes_to_htrace() {
    let mut mixed = head("fixtures/appverif/stop_with_kb_synthetic.txt");
    mixed.extend_from_slice(&head("fixtures/htrace/repeated_dumps_x64.txt"));
    assert_eq!(claims(&mixed), [true, false, false, false]);
}
