//! Properties (proptest): random interleavings of open, dup, dup2, close,
//! close_range, fork, clone(CLONE_FILES), execve and exit over several tasks,
//! written as the strace text a kernel following those rules would produce
//! (lowest free fd, CLOEXEC pruned at exec, CLONE_FILES sharing one table,
//! exec unsharing it), checked against the lifecycle graph and the rules;
//! and the ETL test builder's output read back equals what was written.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

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
    /// generation of the value and neither made nor used the current one.
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

    fn sharers(&self, g: usize) -> usize {
        self.tasks.values().filter(|x| **x == g).count()
    }

    /// Applies one generated step (skipped when it does not apply).
    fn step(&mut self, op: u8, who: u8, a: u8, b: u8) {
        let tids: Vec<u32> = self.tasks.keys().copied().collect();
        let tid = tids[usize::from(who) % tids.len()];
        let g = self.tasks[&tid];
        let open: Vec<i64> = self.groups[g].keys().copied().collect();
        let pick = |n: u8| open.get(usize::from(n) % open.len().max(1)).copied();
        match op % 9 {
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
                let shares = op % 9 == 6;
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
            }
            7 => {
                self.line(format!(
                    "{tid} execve(\"/bin/x\", [\"x\"], 0x7ffd /* 1 vars */) = 0"
                ));
                let g = if self.sharers(g) > 1 {
                    // exec unshares the table: a private copy, then pruned.
                    let ng = self.copy_group(g);
                    self.tasks.insert(tid, ng);
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
            }
            _ => {
                if tid == 100 {
                    return;
                }
                self.line(format!("{tid} exit_group(0) = ?"));
                self.line(format!("{tid} +++ exited with 0 +++"));
                self.tasks.remove(&tid);
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
    let mut interner = Interner::new();
    let mut stats = ReadStats::default();
    let graph = {
        let mut builder = LifecycleBuilder::new(&mut interner);
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

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn lifecycle_follows_the_kernel_rules(steps in steps()) {
        let mut m = Model::new();
        for (op, who, a, b) in steps {
            m.step(op, who, a, b);
        }
        let text = m.text();
        let (graph, stats) = graph_of(&text);
        prop_assert_eq!(stats.skipped, 0, "{:?}\n{}", stats.skipped_by_reason, text);
        // graph table ↔ model group, both ways a function (sharing follows CLONE_FILES).
        let mut to_group: BTreeMap<u32, usize> = BTreeMap::new();
        let mut to_table: BTreeMap<usize, u32> = BTreeMap::new();
        for g in &graph.gens {
            // A generation ends at most once: released, or open at its table's end.
            prop_assert!(!(g.release.is_some() && g.open_at_exit.is_some()), "{:?}", g);
            let Some(open) = g.open else { continue };
            let line = open.origin.line as usize;
            let Some((group, fate)) = m.fates.get(&line).copied() else { continue };
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
            if matches!(g.provenance, handlecheck::lifecycle::Provenance::Inherited { .. }) {
                continue;
            }
            let t = g.table.0;
            prop_assert_eq!(*to_group.entry(t).or_insert(group), group, "table {} \n{}", t, text);
            prop_assert_eq!(*to_table.entry(group).or_insert(t), t, "group {} \n{}", group, text);
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
            .filter_map(|g| g.open.map(|o| o.origin.line as usize))
            .collect();
        prop_assert!(open_lines.is_subset(&kept_open), "{:?} not in {:?}\n{}", open_lines, kept_open, text);
    }

    #[test]
    fn a_clean_interleaving_has_no_ownership_errors(steps in steps()) {
        let mut m = Model::new();
        for (op, who, a, b) in steps {
            m.step(op, who, a, b);
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clean.strace");
        std::fs::write(&path, m.text()).unwrap();
        let options = handlecheck::analysis::Options { threads: Some(1), ..Default::default() };
        let a = handlecheck::analysis::analyze(&[path.to_string_lossy().into_owned()], &options).unwrap();
        let bad: Vec<_> = a
            .findings
            .iter()
            .filter(|f| ["HC001", "HC002", "HC003", "HC004"].contains(&f.code))
            .map(|f| format!("{}: {}", f.code, f.message))
            .collect();
        prop_assert!(bad.is_empty(), "{:?}\n{}", bad, m.text());
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
