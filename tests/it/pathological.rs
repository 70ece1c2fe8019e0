//! The shapes that used to cost quadratic time or memory per handle, at small
//! sizes, with the results they must give (their full sizes are timed by
//! `benches/pathological.sh`; no timing here). The traces are SYNTHETIC: built
//! line by line in the `strace -f -o` layout the real fixtures show, the same
//! shapes `benches/pathological.py` writes.

use std::fmt::Write as _;
use std::path::PathBuf;

use assert_cmd::Command;
use handlecheck::analysis::{Analysis, Options, analyze};
use handlecheck::model::{Finding, Level, Role};

const ROOT: u32 = 1000;

fn exec_line() -> String {
    format!("{ROOT} execve(\"./prog\", [\"./prog\"], 0x7ffe /* 5 vars */) = 0\n")
}

fn open_line(pid: u32, path: &str, fd: i64) -> String {
    format!("{pid} openat(AT_FDCWD, \"{path}\", O_RDONLY|O_CLOEXEC) = {fd}\n")
}

fn fork_line(parent: u32, child: u32) -> String {
    format!(
        "{parent} clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f3c1a2b4a10) = {child}\n"
    )
}

fn thread_line(parent: u32, child: u32) -> String {
    format!(
        "{parent} clone3({{flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, child_tid=0x7f38ae7f2990, parent_tid=0x7f38ae7f2990, exit_signal=0, stack=0x7f38adff2000, stack_size=0x7fff80, tls=0x7f38ae7f26c0}} => {{parent_tid=[{child}]}}, 88) = {child}\n"
    )
}

fn exit_lines(pid: u32) -> String {
    format!("{pid} exit_group(0) = ?\n{pid} +++ exited with 0 +++\n")
}

struct Trace {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

fn write_trace(text: &str) -> Trace {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trace.log");
    std::fs::write(&path, text).unwrap();
    Trace { _dir: dir, path }
}

fn run(trace: &Trace) -> Analysis {
    analyze(
        &[trace.path.to_string_lossy().into_owned()],
        &Options::default(),
    )
    .unwrap()
}

fn of<'a>(a: &'a Analysis, code: &str) -> Vec<&'a Finding> {
    a.findings.iter().filter(|f| f.code == code).collect()
}

fn lines_of(f: &Finding, role: Role) -> Vec<u32> {
    f.labels
        .iter()
        .filter(|l| l.role == role)
        .map(|l| l.event.origin.line)
        .collect()
}

#[test]
fn one_fd_opened_and_closed_many_times_is_clean() {
    let mut t = exec_line();
    for _ in 0..5000 {
        t += &open_line(ROOT, "/etc/hostname", 3);
        t += &format!("{ROOT} close(3) = 0\n");
    }
    t += &exit_lines(ROOT);
    let a = run(&write_trace(&t));
    assert!(a.findings.is_empty(), "{:?}", a.findings);
    // execve, the opens and closes, the exit (exit_group touches no fd).
    assert_eq!(a.inputs[0].stats.events, 1 + 10_000 + 1);
}

#[test]
fn thread_exits_mark_only_the_handles_made_for_them() {
    // Many live fds the main thread made, then threads that each make an
    // eventfd right after they start and exit without closing it.
    let mut t = exec_line();
    for fd in 3..203 {
        t += &open_line(ROOT, &format!("/tmp/f{fd}"), fd);
    }
    let threads = 40u32;
    for i in 0..threads {
        let tid = 5000 + i;
        let fd = 203 + i64::from(i);
        t += &thread_line(ROOT, tid);
        t += &format!("{tid} eventfd2(0, EFD_CLOEXEC) = {fd}\n");
        t += &format!("{tid} read(3, \"x\", 1) = 1\n");
        t += &format!("{tid} +++ exited with 0 +++\n");
    }
    t += &exit_lines(ROOT);
    let a = run(&write_trace(&t));
    let hc005 = of(&a, "HC005");
    assert_eq!(hc005.len(), 1, "{:?}", a.findings);
    // The last thread's exit is followed only by the process's: it did not
    // end while the process went on, so its eventfd is not counted.
    let outlived = threads - 1;
    assert!(
        hc005[0].message.starts_with(&format!(
            "{outlived} eventfd handles made while creating worker threads outlived their purpose ({outlived} outlived their thread"
        )),
        "{}",
        hc005[0].message
    );
}

#[test]
fn many_live_fds_are_counted_once_each() {
    let n = 3000;
    let mut t = exec_line();
    for fd in 3..3 + n {
        t += &open_line(ROOT, &format!("/data/part{fd}"), fd);
    }
    t += &exit_lines(ROOT);
    let a = run(&write_trace(&t));
    let leaks = of(&a, "HC006");
    assert_eq!(leaks.len(), 1, "{:?}", a.findings);
    // Each names a different file, opened once (a cache kept until exit):
    // open at exit, not a growing leak.
    assert!(
        leaks[0]
            .message
            .starts_with(&format!("{n} handles still open at exit")),
        "{}",
        leaks[0].message
    );
}

#[test]
fn forks_of_a_process_with_many_fds_report_the_parent_only() {
    let fds = 300;
    let forks = 40u32;
    let mut t = exec_line();
    for fd in 3..3 + fds {
        t += &open_line(ROOT, &format!("/tmp/f{fd}"), fd);
    }
    for i in 0..forks {
        let child = 20_000 + i;
        t += &fork_line(ROOT, child);
        t += &format!("{child} close(3) = 0\n");
        t += &exit_lines(child);
    }
    t += &exit_lines(ROOT);
    let a = run(&write_trace(&t));
    let leaks = of(&a, "HC006");
    assert_eq!(leaks.len(), 1, "{:?}", a.findings);
    assert_eq!(leaks[0].pid, ROOT);
    assert!(
        leaks[0]
            .message
            .starts_with(&format!("{fds} handles still open at exit")),
        "{}",
        leaks[0].message
    );
    assert_eq!(a.findings.len(), 1);
}

#[test]
fn an_fd_inherited_through_an_exited_parent_still_leads_to_its_open() {
    // ROOT opens fd 5 without O_CLOEXEC and forks A; A forks B and exits;
    // only then does B exec: the fd crossed the exec, and its origin is the
    // open in ROOT, two tables away, one of them already ended.
    let (a_pid, b_pid) = (2000, 3000);
    let mut t = exec_line();
    t += &format!("{ROOT} openat(AT_FDCWD, \"/var/log/app.log\", O_WRONLY|O_APPEND) = 5\n");
    t += &fork_line(ROOT, a_pid);
    t += &fork_line(a_pid, b_pid);
    t += &exit_lines(a_pid);
    t += &format!("{b_pid} execve(\"/bin/true\", [\"true\"], 0x7ffe /* 5 vars */) = 0\n");
    t += &exit_lines(b_pid);
    t += &format!("{ROOT} close(5) = 0\n");
    t += &exit_lines(ROOT);
    let a = run(&write_trace(&t));
    let hc010 = of(&a, "HC010");
    assert_eq!(hc010.len(), 1, "{:?}", a.findings);
    let open_line_no = 2;
    let all: Vec<u32> = hc010[0]
        .labels
        .iter()
        .map(|l| l.event.origin.line)
        .collect();
    assert!(all.contains(&open_line_no), "{all:?}");
    assert_eq!(lines_of(hc010[0], Role::Exec), vec![7]);
}

#[test]
fn short_processes_each_get_their_own_note() {
    let n = 400u32;
    let mut t = exec_line();
    for i in 0..n {
        let child = 20_000 + i;
        t += &fork_line(ROOT, child);
        for fd in 3..6 {
            t += &open_line(child, &format!("/run/job{i}/f{fd}"), fd);
        }
        t += &exit_lines(child);
    }
    t += &exit_lines(ROOT);
    let a = run(&write_trace(&t));
    // One defect, one finding: the same note of the same program, counted.
    let leaks = of(&a, "HC006");
    assert_eq!(leaks.len(), 1, "{:?}", a.findings.first());
    let f = leaks[0];
    assert_eq!(f.level, Level::Note);
    assert!(f.folded);
    assert_eq!(f.count, n);
    assert!(
        f.message
            .starts_with("3 handles still open at exit: fd 3 (/run/job0/f3)"),
        "{}",
        f.message
    );
}

#[test]
fn many_close_range_double_closes_stay_one_finding_each() {
    let n = 600;
    let mut t = exec_line();
    for _ in 0..n {
        t += &open_line(ROOT, "/etc/hostname", 3);
        t += &format!("{ROOT} close_range(3, 3, 0) = 0\n");
        t += &format!("{ROOT} close_range(3, 3, 0) = 0\n");
    }
    t += &exit_lines(ROOT);
    let a = run(&write_trace(&t));
    // One defect, one finding: the repeats are counted, the first labelled.
    let hc001 = of(&a, "HC001");
    assert_eq!(hc001.len(), 1, "{:?}", a.findings.first());
    let f = hc001[0];
    assert_eq!(f.count, n as u32);
    assert_eq!(lines_of(f, Role::BadRelease), vec![4, 7, 10, 13]);
    assert_eq!(lines_of(f, Role::FirstRelease), vec![3]);
}

#[test]
fn one_close_range_over_many_closed_fds_is_one_finding() {
    let mut t = exec_line();
    for fd in 3..13 {
        t += &open_line(ROOT, &format!("/tmp/f{fd}"), fd);
    }
    t += &format!("{ROOT} close_range(3, 12, 0) = 0\n");
    t += &format!("{ROOT} close_range(3, 12, 0) = 0\n");
    t += &exit_lines(ROOT);
    let a = run(&write_trace(&t));
    let hc001 = of(&a, "HC001");
    assert_eq!(hc001.len(), 1, "{:?}", a.findings);
    let names: Vec<String> = (3..13).map(|fd| format!("fd {fd}")).collect();
    assert_eq!(
        hc001[0].message,
        format!(
            "{} released twice: a close_range finds them already closed",
            names.join(", ")
        )
    );
    assert_eq!(lines_of(hc001[0], Role::FirstRelease), vec![12]);
}

#[test]
fn a_first_line_longer_than_the_sniff_head_is_still_strace() {
    let mut t = format!("{ROOT} write(1, \"");
    t += &"a".repeat(200_000);
    t += "\", 200000) = 200000\n";
    t += &exec_line();
    t += &open_line(ROOT, "/etc/hostname", 3);
    t += &format!("{ROOT} close(3) = 0\n{ROOT} close(3) = -1 EBADF (Bad file descriptor)\n");
    t += &exit_lines(ROOT);
    let a = run(&write_trace(&t));
    let hc001 = of(&a, "HC001");
    assert_eq!(hc001.len(), 1, "{:?}", a.findings);
    assert_eq!(lines_of(hc001[0], Role::BadRelease), vec![5]);
    assert_eq!(a.inputs[0].stats.skipped, 0);
}

#[test]
fn a_line_too_long_to_keep_is_reported_at_its_own_line() {
    let mut t = exec_line();
    t += &open_line(ROOT, "/etc/hostname", 3);
    let _ = write!(t, "{ROOT} write(1, \"");
    t += &"b".repeat(17 << 20);
    t += "\", 17825792) = 17825792\n";
    t += &format!("{ROOT} close(3) = 0\n");
    t += &exit_lines(ROOT);
    let a = run(&write_trace(&t));
    let stats = &a.inputs[0].stats;
    assert_eq!(stats.skipped, 1);
    let (reason, count) = stats.skipped_by_reason.iter().next().unwrap();
    assert_eq!(reason, "line longer than 16 MiB");
    assert_eq!((count.count, count.first_at), (1, 3));
    assert!(a.findings.is_empty(), "{:?}", a.findings);
}

#[test]
fn a_line_too_long_to_keep_in_an_ff_file_is_counted_at_its_own_line() {
    // `strace -ff -o t`: no pid column, the task is the file's suffix.
    let dir = tempfile::tempdir().unwrap();
    let mut t =
        "10:00:00.000001 execve(\"./prog\", [\"./prog\"], 0x7ffe /* 5 vars */) = 0\n".to_string();
    t += "10:00:00.000002 openat(AT_FDCWD, \"/etc/hostname\", O_RDONLY|O_CLOEXEC) = 3\n";
    t += "10:00:00.000003 write(1, \"";
    t += &"b".repeat(17 << 20);
    t += "\", 17825792) = 17825792\n";
    t += "10:00:00.000004 close(3) = 0\n10:00:00.000005 exit_group(0) = ?\n";
    let first = dir.path().join("t.1000");
    std::fs::write(&first, t).unwrap();
    let second = dir.path().join("t.1001");
    std::fs::write(&second, "10:00:00.000006 getpid() = 1001\n").unwrap();
    let paths = [first, second].map(|p| p.to_string_lossy().into_owned());
    let a = analyze(&paths, &Options::default()).unwrap();
    let stats = &a.inputs[0].stats;
    assert_eq!(stats.skipped, 1, "{stats:?}");
    let (reason, count) = stats.skipped_by_reason.iter().next().unwrap();
    assert_eq!(reason, "line longer than 16 MiB");
    assert_eq!((count.count, count.first_at), (1, 3));
    assert_eq!(a.inputs[1].stats.skipped, 0);
    assert!(a.findings.is_empty(), "{:?}", a.findings);
}

#[test]
fn output_is_the_same_with_one_and_two_threads() {
    let files = [
        "fixtures/strace/clean/python_threads/trace.log",
        "fixtures/strace/clean/git_status/trace.log",
        "fixtures/strace/rules/close_range_double/trace.log",
        "fixtures/strace/rules/cross_thread_double_close/trace.log",
        "fixtures/strace/rules/fork_exec_leak/trace.log",
        "fixtures/strace/rules/growing_leak/trace.log",
    ];
    for f in files {
        let run = |threads: &str| {
            Command::cargo_bin("handlecheck")
                .unwrap()
                .args(["analyze", "--format", "json", "--threads", threads, f])
                .output()
                .unwrap()
                .stdout
        };
        let one = run("1");
        assert!(!one.is_empty(), "{f}");
        assert_eq!(one, run("2"), "{f}: --threads 1 and 2 differ");
    }
}

#[test]
fn calls_on_never_open_values_beyond_the_kept_ones_are_said() {
    // The builder keeps the first 128 such calls of a table and counts the
    // rest; the finding must say how many it did not keep.
    let mut t = exec_line();
    for _ in 0..1000 {
        t += &format!("{ROOT} close(-1) = -1 EBADF (Bad file descriptor)\n");
    }
    t += &exit_lines(ROOT);
    let a = run(&write_trace(&t));
    let hc008 = of(&a, "HC008");
    assert_eq!(hc008.len(), 1, "{:?}", a.findings);
    assert!(
        hc008[0]
            .notes
            .iter()
            .any(|n| n.starts_with("872 more calls on values never open")),
        "{:?}",
        hc008[0].notes
    );
}

#[test]
fn a_split_close_of_a_value_never_seen_open_counts_like_a_whole_one() {
    // A value inherited from before the trace, closed by a line strace split
    // into halves (another task printed between them), then closed again.
    let whole = format!(
        "{ROOT} close(7) = 0\n{ROOT} close(7) = -1 EBADF (Bad file descriptor)\n{}",
        exit_lines(ROOT)
    );
    let split = format!(
        "{ROOT} close(7 <unfinished ...>\n1001 getpid() = 1001\n{ROOT} <... close resumed>) = 0\n\
         {ROOT} close(7) = -1 EBADF (Bad file descriptor)\n{}",
        exit_lines(ROOT)
    );
    let codes = |text: &str| -> Vec<String> {
        let a = run(&write_trace(text));
        a.findings.iter().map(|f| f.code.to_string()).collect()
    };
    let expected = codes(&whole);
    assert!(expected.contains(&"HC001".to_string()), "{expected:?}");
    assert_eq!(codes(&split), expected);
}
