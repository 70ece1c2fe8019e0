//! Which fds each table holds, as far as the trace shows, to name the fds of
//! `pipe`/`pipe2`/`socketpair`: perf prints only the pointer to the array the
//! kernel filled. The kernel gives a new fd the lowest free value, so when every
//! fd of the table is known the two new fds are the two lowest values not in use.
//!
//! A table is *known* only while nothing could have added an fd unseen: it was
//! started by the traced command's own execve (0, 1, 2 inherited), or spawned
//! from a known table, and it has not received a message (SCM_RIGHTS fds are not
//! shown). A trace with LOST events infers nothing. Inferred opens carry
//! [`flags::INFERRED`] and the findings built on them say so.

use std::collections::{BTreeMap, HashMap};

use crate::model::{Event, Handle, Op, flags};

#[derive(Clone, Default)]
struct Table {
    /// Live fd → close-on-exec.
    live: BTreeMap<Handle, bool>,
    known: bool,
}

#[derive(Default)]
pub struct Shadow {
    tables: Vec<Table>,
    of_task: HashMap<u32, usize>,
}

impl Shadow {
    fn table_of(&mut self, tid: u32) -> usize {
        if let Some(t) = self.of_task.get(&tid) {
            return *t;
        }
        self.tables.push(Table::default());
        let t = self.tables.len() - 1;
        self.of_task.insert(tid, t);
        t
    }

    /// The traced command itself: started by perf with fds 0, 1 and 2.
    pub fn root(&mut self, tid: u32) {
        if self.of_task.contains_key(&tid) {
            return;
        }
        let t = self.table_of(tid);
        let table = &mut self.tables[t];
        table.known = true;
        for fd in 0..3 {
            table.live.insert(fd, false);
        }
    }

    /// Something could have added fds to `tid`'s table unseen.
    pub fn taint(&mut self, tid: u32) {
        let t = self.table_of(tid);
        self.tables[t].known = false;
    }

    /// The two lowest free values of `tid`'s table, if it is known.
    pub fn next_two(&mut self, tid: u32) -> Option<[Handle; 2]> {
        let t = self.table_of(tid);
        let table = &self.tables[t];
        if !table.known {
            return None;
        }
        let mut free = (0..).filter(|fd| !table.live.contains_key(fd));
        Some([free.next()?, free.next()?])
    }

    /// Follows one event (after it was sent).
    pub fn apply(&mut self, ev: &Event) {
        let t = self.table_of(ev.tid);
        let ok = ev.outcome.is_ok();
        match ev.op {
            Op::Open { cloexec } | Op::Receive { cloexec } | Op::Dup { cloexec, .. }
                if ok && ev.handle >= 0 =>
            {
                self.tables[t].live.insert(ev.handle, cloexec);
            }
            // Linux frees the value whatever close returns, unless it was not open.
            Op::Close if !ev.outcome.is_bad_handle() && !ev.has(flags::RESUMED) => {
                self.tables[t].live.remove(&ev.handle);
            }
            Op::CloseRange { last, cloexec_only } if ok => {
                let table = &mut self.tables[t];
                let hit: Vec<Handle> = table
                    .live
                    .range(ev.handle..=last)
                    .map(|(h, _)| *h)
                    .collect();
                for h in hit {
                    if cloexec_only {
                        table.live.insert(h, true);
                    } else {
                        table.live.remove(&h);
                    }
                }
            }
            Op::SetCloexec(on) => {
                if let Some(c) = self.tables[t].live.get_mut(&ev.handle) {
                    *c = on;
                }
            }
            // A successful call on a value we did not know was open: it is (inherited).
            Op::Use | Op::Probe if ok && ev.handle >= 0 => {
                self.tables[t].live.entry(ev.handle).or_insert(false);
            }
            Op::Spawn {
                child,
                shares_table,
                ..
            } => {
                if shares_table {
                    self.of_task.insert(child, t);
                } else {
                    let copy = self.tables[t].clone();
                    self.tables.push(copy);
                    let n = self.tables.len() - 1;
                    self.of_task.insert(child, n);
                }
            }
            Op::Exec | Op::Unshare => {
                let mut copy = self.tables[t].clone();
                if ev.op == Op::Exec {
                    copy.live.retain(|_, cloexec| !*cloexec);
                }
                self.tables.push(copy);
                let n = self.tables.len() - 1;
                self.of_task.insert(ev.tid, n);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Interner, Origin, Outcome};

    fn ev(op: Op, tid: u32, handle: Handle) -> Event {
        let mut i = Interner::new();
        let mut e = Event::new(op, i.intern("x"), Origin::default());
        e.tid = tid;
        e.handle = handle;
        e.outcome = Outcome::Ok;
        e
    }

    #[test]
    fn lowest_free_in_a_known_table() {
        let mut s = Shadow::default();
        s.root(1);
        assert_eq!(s.next_two(1), Some([3, 4]));
        s.apply(&ev(Op::Open { cloexec: true }, 1, 3));
        s.apply(&ev(Op::Open { cloexec: false }, 1, 5));
        assert_eq!(s.next_two(1), Some([4, 6]));
        s.apply(&ev(Op::Close, 1, 3));
        assert_eq!(s.next_two(1), Some([3, 4]));
        // a fork child copies; exec drops close-on-exec fds
        s.apply(&ev(Op::Open { cloexec: true }, 1, 3));
        s.apply(&ev(
            Op::Spawn {
                child: 2,
                shares_table: false,
                thread: false,
            },
            1,
            -1,
        ));
        s.apply(&ev(Op::Exec, 2, -1));
        assert_eq!(s.next_two(2), Some([3, 4]));
        assert_eq!(s.next_two(1), Some([4, 6]));
        // a thread shares
        s.apply(&ev(
            Op::Spawn {
                child: 3,
                shares_table: true,
                thread: true,
            },
            1,
            -1,
        ));
        s.apply(&ev(Op::Open { cloexec: false }, 3, 4));
        assert_eq!(s.next_two(1), Some([6, 7]));
    }

    #[test]
    fn unknown_tables_infer_nothing() {
        let mut s = Shadow::default();
        assert_eq!(s.next_two(9), None, "a task seen without its start");
        s.root(1);
        s.taint(1);
        assert_eq!(s.next_two(1), None);
    }
}
