//! Inputs shaped to make the work or memory grow faster than the input: each
//! must be read in linear work (sizes where the old quadratic code took a
//! minute or more) and within the memory bound (4 × input + 64 MB, counted
//! by the test binary's allocator on this thread).

use handlecheck::analysis::{self, Analysis, Options};
use handlecheck::model::intern::MAX_TEXT;

use crate::common::alloc::assert_bounded;

fn analyze_text(name: &str, text: &[u8]) -> Analysis {
    analyze_with(name, text, true)
}

/// `bounded`: assert the memory bound too (off nowhere today; kept for a
/// case whose gap is known and stated).
fn analyze_with(name: &str, text: &[u8], bounded: bool) -> Analysis {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    let options = Options {
        threads: Some(1),
        ..Options::default()
    };
    let mut out = None;
    let mut run = || {
        out = Some(analysis::analyze(&[path.to_string_lossy().into_owned()], &options).unwrap());
    };
    if bounded {
        assert_bounded(name, text.len(), run);
    } else {
        run();
    }
    out.unwrap()
}

fn codes(a: &Analysis) -> Vec<&'static str> {
    a.findings.iter().map(|f| f.code).collect()
}

#[test]
fn many_pids_never_announced_by_clone() {
    let n = 20_000;
    let mut t = String::new();
    for i in 0..n {
        let pid = 1000 + i;
        t.push_str(&format!(
            "{pid} openat(AT_FDCWD, \"/etc/hostname\", O_RDONLY|O_CLOEXEC) = 3\n{pid} close(3) = 0\n"
        ));
    }
    // Two lines per process, within the bound (100,000 processes were too,
    // once the lifecycle's per-handle memory shrank; 3.9 KB each before).
    let a = analyze_with("pids.strace", t.as_bytes(), true);
    assert_eq!(a.inputs[0].stats.events, 2 * n as u64);
    assert_eq!(a.inputs[0].stats.skipped, 0);
    assert!(
        codes(&a)
            .iter()
            .all(|c| !["HC001", "HC002", "HC003", "HC004"].contains(c))
    );
}

#[test]
fn threads_that_each_make_an_eventfd_and_exit() {
    let n = 20_000u32;
    let mut t = String::from("100 execve(\"/bin/x\", [\"x\"], 0x7ffd /* 1 vars */) = 0\n");
    for i in 0..n {
        let tid = 1000 + i;
        t.push_str(&format!(
            "100 clone(child_stack=0x7f, flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM) = {tid}\n\
             {tid} eventfd2(0, EFD_CLOEXEC) = {}\n{tid} exit(0) = ?\n{tid} +++ exited with 0 +++\n",
            3 + i
        ));
    }
    let a = analyze_text("eventfd.strace", t.as_bytes());
    assert_eq!(a.inputs[0].stats.skipped, 0);
    // Each thread's eventfd outlived it: the worker-event leak is reported.
    assert!(codes(&a).contains(&"HC005"), "{:?}", codes(&a));
}

fn appverif_entry(i: u32) -> String {
    format!(
        "<avrf:logEntry Time=\"2024-12-21 : 20:20:24\" LayerName=\"Handles\" StopCode=\"0x300\" Severity=\"Error\">\
         <avrf:message>Invalid handle exception for current stack trace.</avrf:message>\
         <avrf:parameter1>c0000008 - Exception code.</avrf:parameter1>\
         <avrf:stackTrace><avrf:trace>app!f{i}+10 ( @ 0)</avrf:trace></avrf:stackTrace></avrf:logEntry>\n"
    )
}

fn appverif_log(body: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<avrf:logfile xmlns:avrf=\"Application Verifier\">\n\
         <avrf:logSession TimeStarted=\"2024-12-21 : 20:20:22\" PID=\"12836\" Version=\"2\">\n{body}\
         </avrf:logSession>\n</avrf:logfile>\n"
    )
}

#[test]
fn appverif_xml_with_many_entries() {
    let n = 20_000;
    let body: String = (0..n).map(appverif_entry).collect();
    let a = analyze_text("many.xml", appverif_log(&body).as_bytes());
    assert_eq!(a.inputs[0].stats.units, u64::from(n));
    assert_eq!(a.inputs[0].stats.events, u64::from(n));
}

#[test]
fn appverif_xml_with_unclosed_entries() {
    let n = 20_000;
    // Every entry but the last lacks its closing tag: each is skipped, counted.
    let mut body = String::new();
    for i in 0..n {
        let e = appverif_entry(i);
        body.push_str(e.trim_end().strip_suffix("</avrf:logEntry>").unwrap());
        body.push('\n');
    }
    body.push_str(&appverif_entry(n));
    let a = analyze_text("unclosed.xml", appverif_log(&body).as_bytes());
    let s = &a.inputs[0].stats;
    assert_eq!(s.units, u64::from(n) + 1);
    assert_eq!(s.events, 1);
    assert_eq!(s.skipped, u64::from(n));
    assert_eq!(
        s.skipped_by_reason["appverif: truncated logEntry"].count,
        u64::from(n)
    );
}

#[test]
fn htrace_frame_of_12_mb_of_backslashes() {
    let mut t = String::from(
        "0:000> !htrace\n--------------------------------------\n\
         Handle = 0x0000000000000048 - CLOSE\n\
         Thread ID = 0x0000000000001b00, Process ID = 0x0000000000002f10\n\n",
    );
    t.push_str("0x00007ffd1c08f5f4: ");
    t.push_str(&"\\".repeat(12 << 20));
    t.push_str("!NtClose+0x14\n--------------------------------------\n");
    t.push_str(
        "Handle = 0x0000000000000048 - CLOSE\n\
         Thread ID = 0x0000000000001b00, Process ID = 0x0000000000002f10\n\n\
         0x00007ffd1c08f5f4: ntdll!NtClose+0x0000000000000014\n",
    );
    let a = analyze_text("bs.htrace", t.as_bytes());
    assert_eq!(a.inputs[0].stats.events, 2);
    for f in &a.findings {
        for n in &f.notes {
            assert!(n.len() < 3 * MAX_TEXT, "note of {} bytes", n.len());
        }
    }
}

#[test]
fn strace_k_frame_of_8_mb() {
    let frame = format!(" > /usr/lib/{}(f+0x1) [0x1]\n", "a".repeat(8 << 20));
    let t = format!(
        "100 openat(AT_FDCWD, \"/etc/x\", O_RDONLY) = 3\n{frame}100 close(3) = 0\n\
         100 close(3) = -1 EBADF (Bad file descriptor)\n{frame}"
    );
    let a = analyze_text("k.strace", t.as_bytes());
    assert!(codes(&a).contains(&"HC001"), "{:?}", codes(&a));
    for f in &a.findings {
        for n in &f.notes {
            assert!(n.len() < 3 * MAX_TEXT, "note of {} bytes", n.len());
        }
    }
}

/// 160,000 releaseHandleFailed messages of one SafeHandle type (64 MB): one
/// finding, within the memory bound (320 MB here). Each message was kept as
/// a whole finding until the rule ended before: about 350 MB of heap.
#[test]
fn many_release_handle_failed_messages() {
    let n = 160_000u32;
    let mut t = String::new();
    for i in 0..n {
        t.push_str(&format!(
            "Managed Debugging Assistant 'ReleaseHandleFailed' has detected a problem in 'C:\\app\\x.exe'.\n\
             Additional Information: A SafeHandle or CriticalHandle of type 'Microsoft.Win32.SafeHandles.SafeFileHandle' \
             failed to properly release the handle with value 0x{:016X}. This usually indicates that the handle was \
             released incorrectly via another means (such as using the CloseHandle method directly).\n",
            0x1000 + 4 * i
        ));
    }
    let a = analyze_text("mda.txt", t.as_bytes());
    assert_eq!(a.inputs[0].stats.events, u64::from(n));
    let hc007: Vec<_> = a.findings.iter().filter(|f| f.code == "HC007").collect();
    assert_eq!(hc007.len(), 1, "{:?}", codes(&a));
    assert_eq!(hc007[0].count, n);
}
