//! Putting perf's lines back in time order.
//!
//! perf writes a line when a call *returns*, stamped with the time it was
//! *entered*, and drains its per-CPU buffers in turn: lines are not in time order,
//! not even one task's. Each task's records are sorted by entry time (a task makes
//! one call at a time, so that is its program order), then the tasks are merged by
//! the time each record acts on the fd table: its return for a call that installs
//! a new fd (an fd returned by `openat` exists only once it returns), its entry
//! for everything else (a close releases at entry; a clone's child runs before the
//! clone returns). The merge never reorders one task's records.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

/// What ordering needs of a record.
#[derive(Clone, Copy, Debug)]
pub struct Stamp {
    pub tid: u32,
    /// Entry time (ns); `None` for `?`.
    pub start: Option<i64>,
    /// When it acts on the fd table (ns); `None` = at `start`.
    pub acts: Option<i64>,
    /// Position in the file (tie-breaker).
    pub seq: usize,
}

/// Record indices in time order.
pub fn order(stamps: &[Stamp]) -> Vec<usize> {
    // A record without a time takes the time of the task's record before it in
    // the file (perf prints `?` for a call entered before it saw the task).
    let mut last: HashMap<u32, i64> = HashMap::new();
    let mut starts = Vec::with_capacity(stamps.len());
    for s in stamps {
        let t = match s.start {
            Some(t) => {
                last.insert(s.tid, t);
                t
            }
            None => last.get(&s.tid).copied().unwrap_or(i64::MIN),
        };
        starts.push(t);
    }
    let mut per_task: HashMap<u32, Vec<usize>> = HashMap::new();
    for (i, s) in stamps.iter().enumerate() {
        per_task.entry(s.tid).or_default().push(i);
    }
    let mut tasks: Vec<(u32, Vec<usize>)> = per_task.into_iter().collect();
    tasks.sort_unstable_by_key(|(tid, _)| *tid);
    for (_, v) in &mut tasks {
        v.sort_by_key(|&i| (starts[i], stamps[i].seq));
    }
    let key = |i: usize| {
        let s = &stamps[i];
        (s.acts.unwrap_or(starts[i]).max(starts[i]), starts[i], s.seq)
    };
    let mut heap = BinaryHeap::new();
    for (t, (_, v)) in tasks.iter().enumerate() {
        if let Some(&i) = v.first() {
            heap.push(Reverse((key(i), t, 0usize)));
        }
    }
    let mut out = Vec::with_capacity(stamps.len());
    while let Some(Reverse((_, t, pos))) = heap.pop() {
        let v = &tasks[t].1;
        out.push(v[pos]);
        if let Some(&next) = v.get(pos + 1) {
            heap.push(Reverse((key(next), t, pos + 1)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(tid: u32, start: Option<i64>, acts: Option<i64>, seq: usize) -> Stamp {
        Stamp {
            tid,
            start,
            acts,
            seq,
        }
    }

    #[test]
    fn sorts_tasks_by_entry_and_merges_by_effect() {
        let s = [
            st(2, Some(50), None, 0),     // B close at 50, printed first
            st(1, Some(10), Some(60), 1), // A openat entered 10, returned 60
            st(1, Some(5), None, 2),      // A's earlier call, printed late
            st(2, None, None, 3),         // B, no time: after B's 50
        ];
        assert_eq!(order(&s), vec![2, 0, 3, 1]);
    }

    #[test]
    fn one_task_is_never_reordered_by_effect_time() {
        // A creation that returns "after" the task's next entry (rounding) stays first.
        let s = [st(1, Some(10), Some(21), 0), st(1, Some(20), None, 1)];
        assert_eq!(order(&s), vec![0, 1]);
    }
}
