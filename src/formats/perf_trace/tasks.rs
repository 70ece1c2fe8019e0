//! Tasks: `perf trace` prints only `comm/TID`. Thread groups (pids) come from the
//! clone tree; a task first seen without a visible creation is its own process.
//!
//! clone3 passes its flags in a struct perf shows as a pointer, so whether a
//! clone3 child is a thread (sharing the fd table) or a process is inferred from
//! what the trace shows of the child afterwards, and said in every finding:
//! - it called execve, or its parent waited for it (wait4/waitid returned its tid),
//!   or it called exit_group and its parent went on running: a **process**
//!   (posix_spawn's clone3 is CLONE_VM|CLONE_VFORK, no CLONE_FILES);
//! - otherwise (it ended with `exit()`, as threads do, or the trace ends first):
//!   a **thread** (glibc's pthread_create is the other clone3 user).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// What the whole trace shows about each task, gathered before events are made.
#[derive(Default)]
pub struct Facts {
    pub execve_ok: HashSet<u32>,
    pub waited: HashSet<u32>,
    pub exit_group_at: HashMap<u32, i64>,
    pub ended_by_exit: HashSet<u32>,
    pub last_start: HashMap<u32, i64>,
}

impl Facts {
    pub fn saw_start(&mut self, tid: u32, time: i64) {
        let t = self.last_start.entry(tid).or_insert(time);
        *t = (*t).max(time);
    }

    /// (shares_table, thread) of a clone3 child, with the reason.
    pub fn clone3(&self, parent: u32, child: u32) -> (bool, bool, &'static str) {
        if self.execve_ok.contains(&child) {
            return (false, false, "it called execve");
        }
        if self.waited.contains(&child) {
            return (false, false, "its parent waited for it");
        }
        if let Some(t) = self.exit_group_at.get(&child)
            && self.last_start.get(&parent).is_some_and(|p| p > t)
        {
            return (false, false, "it called exit_group and its parent went on");
        }
        if self.ended_by_exit.contains(&child) {
            (
                true,
                true,
                "it ended with exit(), as threads do, and never called execve",
            )
        } else {
            (true, true, "it never called execve and was not waited for")
        }
    }
}

/// Thread groups and live tasks while events are made.
#[derive(Default)]
pub struct Tasks {
    tgid: HashMap<u32, u32>,
    live: BTreeMap<u32, BTreeSet<u32>>,
}

impl Tasks {
    /// The thread group of `tid` (a task never seen created is its own).
    pub fn pid_of(&mut self, tid: u32) -> u32 {
        let pid = *self.tgid.entry(tid).or_insert(tid);
        self.live.entry(pid).or_default().insert(tid);
        pid
    }

    /// A thread of a process that existed before the trace (`record --system`).
    pub fn known_group(&mut self, tid: u32, pid: u32) {
        self.tgid.entry(tid).or_insert(pid);
    }

    pub fn spawn(&mut self, parent: u32, child: u32, thread: bool) {
        let pid = if thread { self.pid_of(parent) } else { child };
        self.tgid.insert(child, pid);
        self.live.entry(pid).or_default().insert(child);
    }

    pub fn exit(&mut self, tid: u32) {
        let pid = self.pid_of(tid);
        if let Some(s) = self.live.get_mut(&pid) {
            s.remove(&tid);
        }
    }

    /// A successful execve: the kernel ends every other task of the group first.
    pub fn exec(&mut self, tid: u32) -> Vec<u32> {
        let pid = self.pid_of(tid);
        let Some(live) = self.live.get_mut(&pid) else {
            return Vec::new();
        };
        let others: Vec<u32> = live.iter().copied().filter(|t| *t != tid).collect();
        live.retain(|t| *t == tid);
        others
    }

    /// exit_group: every live task of the group, in tid order; they are gone.
    pub fn exit_group(&mut self, tid: u32) -> Vec<u32> {
        let pid = self.pid_of(tid);
        self.live
            .remove(&pid)
            .map(|s| s.into_iter().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clone3_guesses() {
        let mut f = Facts::default();
        f.execve_ok.insert(11);
        f.waited.insert(12);
        f.exit_group_at.insert(13, 100);
        f.saw_start(1, 200);
        f.ended_by_exit.insert(14);
        assert!(!f.clone3(1, 11).1);
        assert!(!f.clone3(1, 12).1);
        assert!(!f.clone3(1, 13).1);
        assert!(f.clone3(1, 14).1);
        assert!(f.clone3(1, 15).1);
        f.exit_group_at.insert(16, 300);
        assert!(f.clone3(1, 16).1, "the parent did not outlive it");
    }

    #[test]
    fn groups() {
        let mut t = Tasks::default();
        assert_eq!(t.pid_of(10), 10);
        t.spawn(10, 11, true);
        t.spawn(11, 12, false);
        assert_eq!(t.pid_of(11), 10);
        assert_eq!(t.pid_of(12), 12);
        t.spawn(10, 13, true);
        assert_eq!(t.exec(13), vec![10, 11], "execve ends the other threads");
        assert_eq!(t.exec(13), Vec::<u32>::new());
        t.spawn(13, 11, true);
        assert_eq!(t.exit_group(11), vec![11, 13]);
        assert_eq!(t.exit_group(12), vec![12]);
    }
}
