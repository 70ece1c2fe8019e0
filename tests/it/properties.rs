//! Properties (proptest): random interleavings of open, dup, dup2, close,
//! close_range, fork, clone(CLONE_FILES), pthread creation (clone3 with
//! CLONE_THREAD), execve from any thread, thread exit and exit_group over
//! several tasks, written as the strace text a kernel following those rules
//! would produce (lowest free fd, CLOEXEC pruned at exec, CLONE_FILES sharing
//! one table, exec unsharing it from other processes, killing the other
//! threads of its group and moving the exec'ing thread to the leader's pid),
//! checked against the lifecycle graph and the rules; and the ETL test
//! builder's output read back equals what was written.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use proptest::strategy::ValueTree;

use handlecheck::formats::{self, ReadStats};
use handlecheck::lifecycle::{HandleGraph, LifecycleBuilder, ReleaseHow};
use handlecheck::model::Interner;

use crate::common::etl_builder::EtlBuilder;
use crate::common::reader;

/// What the model says became of a generation created on a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    Open,
    Closed,
    ClosedByRange,
    ReplacedByDup,
    ExecCloexec,
}

#[derive(Default)]
struct Model {
    lines: Vec<String>,
    /// tid → fd table (model group); alive tasks only.
    tasks: BTreeMap<u32, usize>,
    /// tid → thread group (its leader's tid); alive tasks only.
    tgid: BTreeMap<u32, u32>,
    /// Multi-threaded execs rendered (thread group of more than one task),
    /// and those of them that unshared a table from a CLONE_FILES process.
    threaded_execs: usize,
    threaded_unshares: usize,
    /// Leaders that ended alone (pthread_exit in the main thread): zombies
    /// until their group ends or one of its threads execs.
    zombies: BTreeSet<u32>,
    /// Group → fd → (cloexec, creation line when the trace made it here).
    groups: Vec<BTreeMap<i64, (bool, Option<usize>)>>,
    /// Creation line → (group, fate).
    fates: BTreeMap<usize, (usize, Fate)>,
    /// Group → values released there and not reopened since: a close_range
    /// over one of them is a double release (HC001), so a clean run avoids it.
    released: Vec<BTreeSet<i64>>,
    /// Group → fd → the tasks that made or used its current generation.
    holders: Vec<BTreeMap<i64, BTreeSet<u32>>>,
    /// Group → fd → the tasks that held an earlier generation of the value.
    /// Such a task acting on the value without holding the current one is a
    /// stale holder (the HC003/HC004 bug), so a clean run never does that.
    past: Vec<BTreeMap<i64, BTreeSet<u32>>>,
    next_tid: u32,
    files: u32,
}

impl Model {
    fn new() -> Model {
        let mut m = Model {
            next_tid: 101,
            ..Model::default()
        };
        m.groups.push(BTreeMap::new());
        m.released.push(BTreeSet::new());
        m.holders.push(BTreeMap::new());
        m.past.push(BTreeMap::new());
        m.tasks.insert(100, 0);
        m.tgid.insert(100, 100);
        m.lines
            .push("100 execve(\"/bin/app\", [\"app\"], 0x7ffd /* 1 vars */) = 0".into());
        m
    }

    fn line(&mut self, text: String) -> usize {
        self.lines.push(text);
        self.lines.len()
    }

    fn lowest_free(&self, g: usize) -> i64 {
        (3..).find(|fd| !self.groups[g].contains_key(fd)).unwrap()
    }

    /// True when `tid` would act on `fd` as a stale holder: it held an earlier
    /// generation of the value (made, used, closed or dup2-replaced it; a
    /// close_range sweep names no value) and neither made nor used the current one.
    fn stale(&self, g: usize, fd: i64, tid: u32) -> bool {
        let held_before = self.past[g].get(&fd).is_some_and(|p| p.contains(&tid));
        let holds = self.holders[g].get(&fd).is_some_and(|h| h.contains(&tid));
        held_before && !holds
    }

    fn hold(&mut self, g: usize, fd: i64, tid: u32) {
        self.holders[g].entry(fd).or_default().insert(tid);
    }

    fn end(&mut self, g: usize, fd: i64, fate: Fate) {
        if let Some(h) = self.holders[g].remove(&fd) {
            self.past[g].entry(fd).or_default().extend(h);
        }
        match self.groups[g].remove(&fd) {
            Some((_, Some(line))) => {
                if let Some(f) = self.fates.get_mut(&line) {
                    f.1 = fate;
                }
            }
            Some((_, None)) => {}
            None => return,
        }
        self.released[g].insert(fd);
    }

    /// A copy of group `g` (fork, exec unsharing): its values, not their lines.
    fn copy_group(&mut self, g: usize) -> usize {
        let copy = self.groups[g]
            .iter()
            .map(|(fd, (c, _))| (*fd, (*c, None)))
            .collect();
        self.groups.push(copy);
        let released = self.released[g].clone();
        self.released.push(released);
        let holders = self.holders[g].clone();
        self.holders.push(holders);
        let past = self.past[g].clone();
        self.past.push(past);
        self.groups.len() - 1
    }

    fn create(&mut self, g: usize, fd: i64, cloexec: bool, tid: u32, text: String) {
        let line = self.line(text);
        self.holders[g].insert(fd, BTreeSet::from([tid]));
        self.released[g].remove(&fd);
        self.groups[g].insert(fd, (cloexec, Some(line)));
        self.fates.insert(line, (g, Fate::Open));
    }

    /// The other live tasks of `tid`'s thread group, in tid order.
    fn other_threads(&self, tid: u32) -> Vec<u32> {
        let leader = self.tgid[&tid];
        self.tgid
            .iter()
            .filter(|(t, l)| **l == leader && **t != tid)
            .map(|(t, _)| *t)
            .collect()
    }

    fn remove_task(&mut self, tid: u32) {
        self.tasks.remove(&tid);
        self.tgid.remove(&tid);
    }

    /// execve by `tid`, in any thread of its group, as Linux does it: every
    /// other thread dies, the exec'ing thread takes over the leader's tid,
    /// the table is unshared from processes outside the group (CLONE_FILES
    /// without CLONE_THREAD) and then loses its CLOEXEC fds. Rendered as
    /// strace 6.1 prints it (`-f`, observed in research strace.md §1.4): the
    /// execve left unfinished, each other thread's exit (after its blocked
    /// call ends with `= ?` when `blocked`), the leader's `+++ superseded by
    /// execve in pid T +++`, and the execve resumed under the leader. With
    /// `late_open`, one other thread is in an openat that completes after the
    /// execve began (observed): its fd is in the table the exec then prunes.
    fn exec(&mut self, tid: u32, blocked: bool, late_open: Option<bool>) {
        let call = "execve(\"/bin/x\", [\"x\"], 0x7ffd /* 1 vars */";
        let leader = self.tgid[&tid];
        let others = self.other_threads(tid);
        if self.zombies.contains(&leader) {
            // Observed only with the exec'ing thread the one left: the execve
            // line ends with `<pid changed to LEADER ...>`.
            if !others.is_empty() {
                return;
            }
            self.threaded_execs += 1;
            self.line(format!("{tid} {call} <pid changed to {leader} ...>"));
            self.line(format!(
                "{leader} +++ superseded by execve in pid {tid} +++"
            ));
            self.line(format!("{leader} <... execve resumed>) = 0"));
            self.zombies.remove(&leader);
            let g = self.tasks[&tid];
            self.remove_task(tid);
            self.tasks.insert(leader, g);
            self.tgid.insert(leader, leader);
        } else if others.is_empty() {
            self.line(format!("{tid} {call}) = 0"));
        } else {
            self.threaded_execs += 1;
            let g = self.tasks[&tid];
            // The last other thread: not the leader when there is a choice.
            let opener = late_open.and_then(|c| Some((*others.last()?, c)));
            if let Some((t, cloexec)) = opener {
                self.files += 1;
                let flags = if cloexec {
                    "O_RDONLY|O_CLOEXEC"
                } else {
                    "O_RDONLY"
                };
                let n = self.files;
                self.line(format!(
                    "{t} openat(AT_FDCWD, \"/tmp/f{n}\", {flags} <unfinished ...>"
                ));
            }
            if blocked {
                for t in others
                    .iter()
                    .filter(|t| opener.is_none_or(|(o, _)| o != **t))
                {
                    self.line(format!("{t} pause( <unfinished ...>"));
                }
            }
            self.line(format!("{tid} {call} <unfinished ...>"));
            if let Some((t, cloexec)) = opener {
                let fd = self.lowest_free(g);
                self.create(
                    g,
                    fd,
                    cloexec,
                    t,
                    format!("{t} <... openat resumed>) = {fd}"),
                );
            }
            for &t in others.iter().filter(|t| **t != leader) {
                if blocked && opener.is_none_or(|(o, _)| o != t) {
                    self.line(format!("{t} <... pause resumed>) = ?"));
                }
                self.line(format!("{t} +++ exited with 0 +++"));
                self.remove_task(t);
            }
            if tid != leader {
                if blocked && opener.is_none_or(|(o, _)| o != leader) {
                    self.line(format!("{leader} <... pause resumed>) = ?"));
                }
                self.line(format!(
                    "{leader} +++ superseded by execve in pid {tid} +++"
                ));
                let g = self.tasks[&tid];
                self.remove_task(tid);
                self.tasks.insert(leader, g);
            }
            self.line(format!("{leader} <... execve resumed>) = 0"));
        }
        let g = self.tasks[&leader];
        let outside = self
            .tasks
            .iter()
            .any(|(t, x)| *x == g && self.tgid[t] != leader);
        if outside && !others.is_empty() {
            self.threaded_unshares += 1;
        }
        let g = if outside {
            // exec unshares the table: a private copy, then pruned; the
            // partner keeps every fd.
            let ng = self.copy_group(g);
            self.tasks.insert(leader, ng);
            ng
        } else {
            g
        };
        let doomed: Vec<i64> = self.groups[g]
            .iter()
            .filter(|(_, (c, _))| *c)
            .map(|(fd, _)| *fd)
            .collect();
        for fd in doomed {
            self.end(g, fd, Fate::ExecCloexec);
        }
        // The new program (one thread, the leader's tid) holds every fd left.
        let left: Vec<i64> = self.groups[g].keys().copied().collect();
        for fd in left {
            self.hold(g, fd, leader);
        }
    }

    /// Applies one generated step (skipped when it does not apply).
    fn step(&mut self, op: u8, who: u8, a: u8, b: u8) {
        let tids: Vec<u32> = self.tasks.keys().copied().collect();
        let tid = tids[usize::from(who) % tids.len()];
        let g = self.tasks[&tid];
        let open: Vec<i64> = self.groups[g].keys().copied().collect();
        let pick = |n: u8| open.get(usize::from(n) % open.len().max(1)).copied();
        match op % 13 {
            0 => {
                let fd = self.lowest_free(g);
                let cloexec = a.is_multiple_of(2);
                self.files += 1;
                let flags = if cloexec {
                    "O_RDONLY|O_CLOEXEC"
                } else {
                    "O_RDONLY"
                };
                let n = self.files;
                self.create(
                    g,
                    fd,
                    cloexec,
                    tid,
                    format!("{tid} openat(AT_FDCWD, \"/tmp/f{n}\", {flags}) = {fd}"),
                );
            }
            1 => {
                let Some(src) = pick(a) else { return };
                if self.stale(g, src, tid) {
                    return;
                }
                self.hold(g, src, tid);
                let fd = self.lowest_free(g);
                self.create(g, fd, false, tid, format!("{tid} dup({src}) = {fd}"));
            }
            2 => {
                let Some(src) = pick(a) else { return };
                let target = 3 + i64::from(b % 8);
                if target == src || self.stale(g, src, tid) || self.stale(g, target, tid) {
                    return;
                }
                self.hold(g, src, tid);
                // dup2 names its target: replacing it holds what it replaced.
                if self.groups[g].contains_key(&target) {
                    self.hold(g, target, tid);
                }
                self.end(g, target, Fate::ReplacedByDup);
                self.create(
                    g,
                    target,
                    false,
                    tid,
                    format!("{tid} dup2({src}, {target}) = {target}"),
                );
            }
            3 => {
                let Some(fd) = pick(a) else { return };
                if self.stale(g, fd, tid) {
                    return;
                }
                // The closer named the value: it held this generation (the
                // rules count a task that released a value as its holder).
                self.hold(g, fd, tid);
                self.line(format!("{tid} close({fd}) = 0"));
                self.end(g, fd, Fate::Closed);
            }
            4 => {
                let lo = 3 + i64::from(a % 6);
                let hi = lo + i64::from(b % 4);
                if (lo..=hi).any(|fd| self.released[g].contains(&fd) || self.stale(g, fd, tid)) {
                    return;
                }
                self.line(format!("{tid} close_range({lo}, {hi}, 0) = 0"));
                for fd in lo..=hi {
                    self.end(g, fd, Fate::ClosedByRange);
                }
            }
            5 | 6 => {
                if self.tasks.len() >= 5 {
                    return;
                }
                let child = self.next_tid;
                self.next_tid += 1;
                let shares = op % 13 == 6;
                let flags = if shares {
                    "CLONE_FILES|SIGCHLD"
                } else {
                    "CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD"
                };
                self.line(format!(
                    "{tid} clone(child_stack=NULL, flags={flags}, child_tidptr=0x7f0) = {child}"
                ));
                let cg = if shares { g } else { self.copy_group(g) };
                self.tasks.insert(child, cg);
                self.tgid.insert(child, child);
            }
            9 => {
                // A pthread: same thread group, same table (strace 6.1 with glibc 2.36).
                if self.tasks.len() >= 5 {
                    return;
                }
                let child = self.next_tid;
                self.next_tid += 1;
                self.line(format!(
                    "{tid} clone3({{flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|\
                     CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, \
                     child_tid=0x7f280a244990, parent_tid=0x7f280a244990, exit_signal=0, \
                     stack=0x7f2809a44000, stack_size=0x7fff80, tls=0x7f280a2446c0}} => \
                     {{parent_tid=[{child}]}}, 88) = {child}"
                ));
                self.tasks.insert(child, g);
                let leader = self.tgid[&tid];
                self.tgid.insert(child, leader);
            }
            10 => {
                // A thread (not its group's leader) ends alone; the last one
                // ends the group of a zombie leader (not the first process's).
                let leader = self.tgid[&tid];
                let last = self.other_threads(tid).is_empty();
                if leader == tid || last && leader == 100 && self.zombies.contains(&100) {
                    return;
                }
                self.line(format!("{tid} exit(0) = ?"));
                self.line(format!("{tid} +++ exited with 0 +++"));
                self.remove_task(tid);
                if last && self.zombies.remove(&leader) {
                    self.line(format!("{leader} +++ exited with 0 +++"));
                }
            }
            12 => {
                // The main thread ends alone (pthread_exit): `exit(0) = ?` and
                // no exit line; the group lives on in its other threads.
                if self.tgid[&tid] != tid || self.other_threads(tid).is_empty() {
                    return;
                }
                self.line(format!("{tid} exit(0) = ?"));
                self.remove_task(tid);
                self.zombies.insert(tid);
            }
            7 | 11 => self.exec(tid, b & 1 != 0, (b & 2 != 0).then_some(b & 4 != 0)),
            _ => {
                // exit_group: the whole thread group ends (never the first process's).
                if self.tgid[&tid] == 100 {
                    return;
                }
                let leader = self.tgid[&tid];
                self.line(format!("{tid} exit_group(0) = ?"));
                for t in self.other_threads(tid) {
                    self.line(format!("{t} +++ exited with 0 +++"));
                    self.remove_task(t);
                }
                self.line(format!("{tid} +++ exited with 0 +++"));
                self.remove_task(tid);
                if self.zombies.remove(&leader) {
                    self.line(format!("{leader} +++ exited with 0 +++"));
                }
            }
        }
    }

    fn text(&self) -> String {
        let mut t = self.lines.join("\n");
        t.push('\n');
        t
    }
}

fn graph_of(text: &str) -> (HandleGraph, ReadStats) {
    graph_keeping(text, None)
}

/// The graph, keeping every generation of the value `keep` (the views'
/// history filter) instead of only the notable ones.
fn graph_keeping(text: &str, keep: Option<i64>) -> (HandleGraph, ReadStats) {
    let mut interner = Interner::new();
    let mut stats = ReadStats::default();
    let graph = {
        let mut builder = LifecycleBuilder::new(&mut interner);
        if keep.is_some() {
            builder.keep_history(handlecheck::lifecycle::history::HistoryFilter {
                pid: None,
                tid: None,
                handle: keep,
            });
        }
        let opened = handlecheck::input::Opened {
            display: "prop".into(),
            plain_path: None,
            compression: handlecheck::input::Compression::None,
            head: text.as_bytes().to_vec(),
            rest: Box::new(std::io::empty()),
        };
        formats::strace::stream::read(opened, 0, &mut builder, &mut stats).unwrap();
        builder.finish()
    };
    (graph, stats)
}

fn steps() -> impl Strategy<Value = Vec<(u8, u8, u8, u8)>> {
    prop::collection::vec(any::<(u8, u8, u8, u8)>(), 1..60)
}

fn model_of(steps: &[(u8, u8, u8, u8)]) -> Model {
    let mut m = Model::new();
    for &(op, who, a, b) in steps {
        m.step(op, who, a, b);
    }
    m
}

/// The lifecycle graph of the model's trace agrees with the model.
fn check_lifecycle(m: &Model) -> Result<(), TestCaseError> {
    let text = m.text();
    let (graph, stats) = graph_of(&text);
    prop_assert_eq!(stats.skipped, 0, "{:?}\n{}", stats.skipped_by_reason, text);
    // graph table ↔ model group, both ways a function (sharing follows CLONE_FILES).
    let mut to_group: BTreeMap<u32, usize> = BTreeMap::new();
    let mut to_table: BTreeMap<usize, u32> = BTreeMap::new();
    for g in &graph.gens {
        // A generation ends at most once: released, or open at its table's end.
        prop_assert!(
            !(g.release.is_some() && g.open_at_exit.is_some()),
            "{:?}",
            g
        );
        let Some(open) = g.open() else { continue };
        let line = open.origin.line as usize;
        let Some((group, fate)) = m.fates.get(&line).copied() else {
            continue;
        };
        let got = match g.release.as_ref().map(|r| r.how) {
            None => Fate::Open,
            Some(ReleaseHow::Close) => Fate::Closed,
            Some(ReleaseHow::CloseRange) => Fate::ClosedByRange,
            Some(ReleaseHow::ReplacedByDup) => Fate::ReplacedByDup,
            // Exec prunes exactly the CLOEXEC fds.
            Some(ReleaseHow::ExecCloexec) => Fate::ExecCloexec,
            Some(other) => panic!("line {line}: {other:?}\n{text}"),
        };
        prop_assert_eq!(got, fate, "line {}: {}\n{}", line, m.lines[line - 1], text);
        if matches!(
            g.provenance,
            handlecheck::lifecycle::Provenance::Inherited { .. }
        ) {
            continue;
        }
        let t = g.table.0;
        prop_assert_eq!(
            *to_group.entry(t).or_insert(group),
            group,
            "table {} \n{}",
            t,
            text
        );
        prop_assert_eq!(
            *to_table.entry(group).or_insert(t),
            t,
            "group {} \n{}",
            group,
            text
        );
    }
    // Everything the model holds open at the end is in the graph, open.
    let open_lines: BTreeSet<usize> = m
        .fates
        .iter()
        .filter(|(_, (_, f))| *f == Fate::Open)
        .map(|(l, _)| *l)
        .collect();
    let kept_open: BTreeSet<usize> = graph
        .gens
        .iter()
        .filter(|g| g.release.is_none())
        .filter_map(|g| g.open().map(|o| o.origin.line as usize))
        .collect();
    prop_assert!(
        open_lines.is_subset(&kept_open),
        "{:?} not in {:?}\n{}",
        open_lines,
        kept_open,
        text
    );
    Ok(())
}

/// The model's trace (clean by construction) gives no HC001-HC004.
fn check_clean(m: &Model) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clean.strace");
    std::fs::write(&path, m.text()).unwrap();
    let options = handlecheck::analysis::Options {
        threads: Some(1),
        ..Default::default()
    };
    let a =
        handlecheck::analysis::analyze(&[path.to_string_lossy().into_owned()], &options).unwrap();
    let bad: Vec<_> = a
        .findings
        .iter()
        .filter(|f| ["HC001", "HC002", "HC003", "HC004"].contains(&f.code))
        .map(|f| format!("{}: {}", f.code, f.message))
        .collect();
    prop_assert!(bad.is_empty(), "{:?}\n{}", bad, m.text());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn lifecycle_follows_the_kernel_rules(steps in steps()) {
        check_lifecycle(&model_of(&steps))?;
    }

    #[test]
    fn a_clean_interleaving_has_no_ownership_errors(steps in steps()) {
        check_clean(&model_of(&steps))?;
    }

    #[test]
    fn etl_builder_output_reads_back(
        events in prop::collection::vec((0u32..4, 1u32..3000, 0u8..3), 1..40),
        compressed in any::<bool>(),
    ) {
        let mut b = EtlBuilder::new(8).compressed(compressed);
        let mut written = Vec::new();
        for (i, (pid_sel, handle, kind)) in events.iter().enumerate() {
            let pid = 10 + pid_sel;
            let handle = handle * 4;
            let ts = 100 + i as u64;
            let object = 0xFFFF_0000_0000 + u64::from(handle);
            match kind {
                0 => b.create_handle(0, ts, pid, pid + 1, object, handle, 5),
                _ => b.close_handle(0, ts, pid, pid + 1, object, handle, 5, ""),
            }
            written.push((pid, i64::from(handle), *kind == 0));
        }
        let bytes = b.build();
        let c = reader::collect(0, |ctx| formats::etl::read(&bytes, "prop.etl", ctx));
        prop_assert!(c.result.is_ok(), "{:?}", c.result.err());
        prop_assert_eq!(c.stats.skipped, 0, "{:?}", c.stats.skipped_by_reason);
        let read: Vec<(u32, i64, bool)> = c
            .events
            .iter()
            .map(|e| (e.pid, e.handle, matches!(e.op, handlecheck::model::Op::Open { .. })))
            .collect();
        prop_assert_eq!(read, written);
    }
}

/// The generator does reach exec from multi-threaded processes: over the
/// same number of cases the properties run, some execs kill other threads,
/// some come from a thread that is not the leader, some unshare a table
/// shared with a CLONE_FILES process, some have a thread's openat finish
/// after the execve began, some come after the leader ended alone.
#[test]
fn the_generator_makes_multi_threaded_execs() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let count = |m: &Model, what: &str| m.lines.iter().filter(|l| l.contains(what)).count();
    let (mut threaded, mut superseded, mut unshared, mut late, mut zombie) = (0, 0, 0, 0, 0);
    for _ in 0..64 {
        let steps = steps().new_tree(&mut runner).unwrap().current();
        let m = model_of(&steps);
        threaded += m.threaded_execs;
        superseded += count(&m, "+++ superseded by execve");
        unshared += m.threaded_unshares;
        late += count(&m, "<... openat resumed>");
        zombie += count(&m, "<pid changed to");
    }
    eprintln!(
        "multi-threaded execs {threaded}, superseded {superseded}, unsharing {unshared}, \
         late opens {late}, after the leader ended {zombie}"
    );
    assert!(
        threaded >= 10 && superseded >= 5 && unshared >= 2 && late >= 5 && zombie >= 2,
        "{threaded} {superseded} {unshared} {late} {zombie}"
    );
}

/// One interleaving written out: pid 100 opens fd 3 and fd 4 (CLOEXEC),
/// starts a CLONE_FILES process (101) and a thread (102); the thread opens
/// fd 5 and execs while 100 is blocked in pause. 101 keeps every fd (it
/// closes 4); the new program in 100 has 3 and 5, gets 4 again from its
/// next open (as in the real trace, research strace.md), and closes 5.
#[test]
fn exec_from_a_thread_sharing_its_table_with_another_process() {
    let steps = [
        (0, 0, 1, 0),
        (0, 0, 0, 0),
        (6, 0, 0, 0),
        (9, 0, 0, 0),
        (0, 2, 1, 0),
        (11, 2, 0, 1),
        (3, 1, 1, 0),
        (0, 0, 1, 0),
        (3, 0, 2, 0),
    ];
    let m = model_of(&steps);
    let want = [
        "100 execve(\"/bin/app\", [\"app\"], 0x7ffd /* 1 vars */) = 0",
        "100 openat(AT_FDCWD, \"/tmp/f1\", O_RDONLY) = 3",
        "100 openat(AT_FDCWD, \"/tmp/f2\", O_RDONLY|O_CLOEXEC) = 4",
        "100 clone(child_stack=NULL, flags=CLONE_FILES|SIGCHLD, child_tidptr=0x7f0) = 101",
    ];
    assert_eq!(m.lines[..4], want);
    assert!(m.lines[4].starts_with(
        "100 clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|"
    ));
    assert!(m.lines[4].ends_with("=> {parent_tid=[102]}, 88) = 102"));
    let rest = [
        "102 openat(AT_FDCWD, \"/tmp/f3\", O_RDONLY) = 5",
        "100 pause( <unfinished ...>",
        "102 execve(\"/bin/x\", [\"x\"], 0x7ffd /* 1 vars */ <unfinished ...>",
        "100 <... pause resumed>) = ?",
        "100 +++ superseded by execve in pid 102 +++",
        "100 <... execve resumed>) = 0",
        "101 close(4) = 0",
        "100 openat(AT_FDCWD, \"/tmp/f4\", O_RDONLY) = 4",
        "100 close(5) = 0",
    ];
    assert_eq!(m.lines[5..], rest);
    check_lifecycle(&m).unwrap();
    check_clean(&m).unwrap();
    // Every generation of fd 4: opened on line 3 in the shared table, where
    // 101's close ends it; its copy in 100's unshared table, ended by the
    // exec (resumed on line 11); the new program's open of 4 (line 13),
    // still open at the end.
    let (graph, _) = graph_keeping(&m.text(), Some(4));
    let mut fours: Vec<(u32, usize, String)> = graph
        .gens
        .iter()
        .filter(|g| g.handle == 4)
        .map(|g| {
            let how = match &g.release {
                Some(r) => format!("{:?}@{}", r.how, r.event.origin.line),
                None => format!("open at end: {}", g.open_at_exit.is_some()),
            };
            (
                g.table.0,
                g.open().map_or(0, |o| o.origin.line as usize),
                how,
            )
        })
        .collect();
    fours.sort();
    assert_eq!(
        fours,
        vec![
            (0, 3, "Close@12".to_string()),
            (1, 11, "ExecCloexec@11".to_string()),
            (1, 13, "open at end: true".to_string()),
        ],
        "{:?}",
        graph.gens
    );
}

/// Exec from the third thread while the second is in an openat that
/// returns after the execve began (as observed with strace 6.1, research
/// strace.md): the late fd is CLOEXEC, so the exec closes it; the leader's
/// fd 3 survives.
#[test]
fn exec_from_a_thread_while_another_opens() {
    let m = model_of(&[(0, 0, 1, 0), (9, 0, 0, 0), (9, 0, 0, 0), (11, 2, 0, 7)]);
    let want = [
        "101 openat(AT_FDCWD, \"/tmp/f2\", O_RDONLY|O_CLOEXEC <unfinished ...>",
        "100 pause( <unfinished ...>",
        "102 execve(\"/bin/x\", [\"x\"], 0x7ffd /* 1 vars */ <unfinished ...>",
        "101 <... openat resumed>) = 4",
        "101 +++ exited with 0 +++",
        "100 <... pause resumed>) = ?",
        "100 +++ superseded by execve in pid 102 +++",
        "100 <... execve resumed>) = 0",
    ];
    assert_eq!(m.lines[4..], want);
    assert_eq!(m.fates.get(&8), Some(&(0, Fate::ExecCloexec)));
    check_lifecycle(&m).unwrap();
    check_clean(&m).unwrap();
    let (graph, _) = graph_keeping(&m.text(), Some(4));
    let four: Vec<(usize, Option<(ReleaseHow, u32)>)> = graph
        .gens
        .iter()
        .filter(|g| g.handle == 4)
        .map(|g| {
            (
                g.open().map_or(0, |o| o.origin.line as usize),
                g.release.as_ref().map(|r| (r.how, r.event.origin.line)),
            )
        })
        .collect();
    assert_eq!(four, vec![(8, Some((ReleaseHow::ExecCloexec, 12)))]);
}

/// Every generation of `handle` opened in the trace (not inherited copies):
/// (open line, `How@line/pid` of its release or `open`), sorted.
fn real_fates(text: &str, handle: i64) -> Vec<(usize, String)> {
    let (graph, stats) = graph_keeping(text, Some(handle));
    assert_eq!(stats.skipped, 0);
    let mut v: Vec<(usize, String)> = graph
        .gens
        .iter()
        .filter(|g| {
            g.handle == handle
                && !matches!(
                    g.provenance,
                    handlecheck::lifecycle::Provenance::Inherited { .. }
                )
        })
        .map(|g| {
            let how = match &g.release {
                Some(r) => format!("{:?}@{}/{}", r.how, r.event.origin.line, r.event.pid),
                None => "open".to_string(),
            };
            (g.open().map_or(0, |o| o.origin.line as usize), how)
        })
        .collect();
    v.sort();
    v
}

/// Asserts each (fd, open line, fate) is among the generations of the fd.
fn real_has(text: &str, want: &[(i64, usize, &str)]) {
    for (fd, line, how) in want {
        let got = real_fates(text, *fd);
        assert!(
            got.contains(&(*line, how.to_string())),
            "fd {fd}: {line} {how} not in {got:?}"
        );
    }
}

fn real_trace(folder: &str) -> String {
    let path = format!(
        "{}/fixtures/strace/clean/{folder}/trace.log",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(path).unwrap()
}

/// The real recording of an exec from a non-leader thread (strace 6.1,
/// fixtures/strace/clean/thread_exec): what the model renders, the kernel and
/// strace did; the graph prunes the CLOEXEC fds at the resumed execve and the
/// new program, under the leader's pid, closes the handed-over fd 6 and gets
/// fd 3 again from its next open.
#[test]
fn real_exec_from_a_thread_is_read_as_the_kernel_did_it() {
    let text = real_trace("thread_exec");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[66].contains(" execve(\"/proc/self/exe\", [\"thread_exec\", \"6\"]"));
    assert!(lines[66].ends_with("<unfinished ...>"));
    assert!(lines[70].ends_with("+++ superseded by execve in pid 28921 +++"));
    assert!(lines[71].starts_with("28918 ") && lines[71].contains("<... execve resumed>) = 0"));
    // (The new program's loader also opens and closes fd 3, on lines 76-90.)
    real_has(
        &text,
        &[
            (3, 30, "ExecCloexec@72/28918"),
            (3, 103, "Close@105/28918"),
            (4, 32, "ExecCloexec@72/28918"),
            (5, 32, "ExecCloexec@72/28918"),
            (6, 33, "Close@102/28918"),
        ],
    );
}

/// The same after the main thread ended with pthread_exit (a zombie leader:
/// `exit(0) = ?`, no exit line), where strace prints the execve with
/// `<pid changed to LEADER ...>` (fixtures/strace/clean/thread_exec_leader_gone).
#[test]
fn real_exec_from_a_thread_after_the_leader_ended() {
    let text = real_trace("thread_exec_leader_gone");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[67].starts_with("3504 ") && lines[67].contains(" exit(0) "));
    assert!(lines[69].starts_with("3505 ") && lines[69].ends_with("<pid changed to 3504 ...>"));
    assert!(lines[70].ends_with("+++ superseded by execve in pid 3505 +++"));
    real_has(
        &text,
        &[
            (3, 30, "ExecCloexec@72/3504"),
            (3, 103, "Close@105/3504"),
            (4, 32, "Close@102/3504"),
        ],
    );
}

/// The main thread ends alone, then its last thread execs: the model's lines
/// are those of the real recording (fixtures/strace/clean/thread_exec_leader_gone).
#[test]
fn exec_from_a_thread_after_the_leader_ended() {
    let m = model_of(&[
        (0, 0, 0, 0),
        (0, 0, 1, 0),
        (9, 0, 0, 0),
        (12, 0, 0, 0),
        (7, 0, 0, 0),
        (0, 0, 1, 0),
    ]);
    let want = [
        "100 exit(0) = ?",
        "101 execve(\"/bin/x\", [\"x\"], 0x7ffd /* 1 vars */ <pid changed to 100 ...>",
        "100 +++ superseded by execve in pid 101 +++",
        "100 <... execve resumed>) = 0",
        "100 openat(AT_FDCWD, \"/tmp/f3\", O_RDONLY) = 3",
    ];
    assert_eq!(m.lines[4..], want);
    assert_eq!(m.fates.get(&2), Some(&(0, Fate::ExecCloexec)));
    assert_eq!(m.fates.get(&3), Some(&(0, Fate::Open)));
    check_lifecycle(&m).unwrap();
    check_clean(&m).unwrap();
}
