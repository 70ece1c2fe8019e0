//! Handle tables (a Windows process, a Linux fd table) and the tasks using them.

use rustc_hash::FxHashMap;

use super::generation::{Capped, GenId, SiteKey, TableId};
use crate::model::{Event, Handle, Sym};

/// No generation at this slot of [`HandleMap::dense`].
const NO_GEN: GenId = GenId(u32::MAX);

/// Values below this always go in the dense part (a table's first fds).
const DENSE_SLACK: i64 = 1024;

/// A generation per handle value: values that are small next to the number of
/// entries (fds are the lowest free numbers; Windows handles are multiples of
/// 4) sit in a vector indexed by value, 4 bytes each, instead of a hash map
/// (about 30 bytes an entry); the rest (sparse, huge or negative values) in a
/// hash map. The dense part grows only while it stays at least a quarter full,
/// so a hostile value costs no more than four slots per entry.
#[derive(Debug, Default)]
pub struct HandleMap {
    dense: Vec<GenId>,
    /// Entries of `dense` that are not `NO_GEN`.
    dense_count: usize,
    sparse: FxHashMap<Handle, GenId>,
}

impl HandleMap {
    fn dense_index(&self, h: Handle) -> Option<usize> {
        usize::try_from(h).ok().filter(|&i| i < self.dense.len())
    }

    pub fn get(&self, h: &Handle) -> Option<&GenId> {
        match self.dense_index(*h) {
            Some(i) => self.dense.get(i).filter(|g| **g != NO_GEN),
            None => self.sparse.get(h),
        }
    }

    pub fn contains_key(&self, h: &Handle) -> bool {
        self.get(h).is_some()
    }

    pub fn len(&self) -> usize {
        self.dense_count + self.sparse.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn insert(&mut self, h: Handle, id: GenId) {
        let grow = h >= self.dense.len() as i64
            && h < DENSE_SLACK.saturating_add(4 * (self.len() as i64 + 1));
        if grow {
            let old_len = self.dense.len();
            self.dense.resize(h as usize + 1, NO_GEN);
            // Values now in the dense range move over from the hash map (a
            // look-up per new slot: the dense part's growth pays for it).
            if !self.sparse.is_empty() {
                for k in old_len..self.dense.len() {
                    if let Some(g) = self.sparse.remove(&(k as Handle)) {
                        self.dense[k] = g;
                        self.dense_count += 1;
                    }
                }
            }
        }
        match self.dense_index(h) {
            Some(i) => {
                if self.dense[i] == NO_GEN {
                    self.dense_count += 1;
                }
                self.dense[i] = id;
            }
            None => {
                self.sparse.insert(h, id);
            }
        }
    }

    pub fn remove(&mut self, h: &Handle) -> Option<GenId> {
        match self.dense_index(*h) {
            Some(i) => {
                let g = std::mem::replace(&mut self.dense[i], NO_GEN);
                (g != NO_GEN).then(|| {
                    self.dense_count -= 1;
                    g
                })
            }
            None => self.sparse.remove(h),
        }
    }

    /// Empties it and gives its memory back.
    pub fn clear(&mut self) {
        *self = HandleMap::default();
    }

    /// Every (value, generation): the dense part in value order, then the rest
    /// in no particular order (callers that need an order sort).
    pub fn iter(&self) -> impl Iterator<Item = (Handle, GenId)> + '_ {
        self.dense
            .iter()
            .enumerate()
            .filter(|(_, g)| **g != NO_GEN)
            .map(|(h, g)| (h as Handle, *g))
            .chain(self.sparse.iter().map(|(h, g)| (*h, *g)))
    }

    pub fn values(&self) -> impl Iterator<Item = GenId> + '_ {
        self.iter().map(|(_, g)| g)
    }

    pub fn into_values(self) -> impl Iterator<Item = GenId> {
        self.dense
            .into_iter()
            .filter(|g| *g != NO_GEN)
            .chain(self.sparse.into_values())
    }
}

/// A successful exec and the handles that crossed it (HC010).
#[derive(Clone, Debug)]
pub struct ExecRecord {
    pub event: Event,
    /// Handles without close-on-exec alive after the exec, made by the traced program.
    pub inherited: Vec<GenId>,
    /// The program the table ran before this exec (the one that made the handles).
    pub program_before: Option<Sym>,
}

/// A spawned thread (HC005 reads these).
#[derive(Clone, Copy, Debug)]
pub struct ThreadRecord {
    pub spawn: Event,
    pub tid: u32,
    pub exit: Option<Event>,
    /// After the thread ended, a call of another task of the process returned:
    /// the process went on without it (HC005).
    pub process_went_on: bool,
}

#[derive(Debug)]
pub struct Table {
    pub id: TableId,
    /// Process id shown in messages (the first task that used the table).
    pub pid: u32,
    /// Program running in it (last exec'd path), when the trace says.
    pub program: Option<Sym>,
    /// Live generation per handle value.
    pub live: HandleMap,
    /// Most recent generation per value, live or released.
    pub last: HandleMap,
    /// Tasks using the table now.
    pub sharers: u32,
    /// Every task that ever used the table.
    pub tasks_seen: u32,
    /// Failed releases/uses of values this table never showed (HC008 candidates).
    pub never_valid: Capped<Event>,
    /// EMFILE/ENFILE failures (HC006), with the live count at the time.
    pub table_full: Capped<(Event, usize)>,
    pub execs: Vec<ExecRecord>,
    pub threads: Vec<ThreadRecord>,
    /// When the last task left (the process exited).
    pub ended: Option<Box<Event>>,
    /// The table was seeded by a rundown (ETW DCStart): a close of an unknown value is suspicious.
    pub seeded: bool,
    /// Highest number of live handles seen.
    pub peak_live: usize,
    /// Distinct leak sites so far (bounds site memory; see the builder).
    pub site_count: u32,
    /// The leak sites first opened in this table, so that pruning them when the
    /// table ends costs its own sites, not every site of the trace.
    pub site_keys: Vec<SiteKey>,
    /// Calls in flight on this table: (tid, begin event, generation at entry).
    pub in_flight: Vec<(u32, Event, Option<GenId>)>,
    /// Threads (index in `threads`) that ended and have not yet seen the process go on.
    pub threads_ended_pending: Vec<usize>,
}

impl Table {
    pub fn new(id: TableId, pid: u32) -> Table {
        Table {
            id,
            pid,
            program: None,
            live: HandleMap::default(),
            last: HandleMap::default(),
            sharers: 0,
            tasks_seen: 0,
            never_valid: Capped::default(),
            table_full: Capped::default(),
            execs: Vec::new(),
            threads: Vec::new(),
            ended: None,
            seeded: false,
            peak_live: 0,
            site_count: 0,
            site_keys: Vec::new(),
            in_flight: Vec::new(),
            threads_ended_pending: Vec::new(),
        }
    }
}

/// A thread of execution (strace task, Windows thread).
#[derive(Debug, Clone)]
pub struct Task {
    pub table: TableId,
    /// Thread-group (process) id.
    pub tgid: u32,
    pub alive: bool,
    /// Events of this task the lifecycle has seen (for "right before/after" tests).
    pub events_seen: u32,
    /// Set for threads: their spawn index in `Table::threads`, and events seen at start.
    pub thread_index: Option<usize>,
    /// Signal-object generations this task opened since its last spawn (HC005).
    pub recent_signal_opens: Vec<(GenId, u32)>,
    /// A close entered but not finished (`close(3 <unfinished ...>`).
    pub pending_close: Option<Option<GenId>>,
    /// Last close by this task: (value, events_seen at the time, index in never_valid or gen after_release) for sweep detection.
    pub last_close: Option<(i64, u32)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handle_map_behaves_as_a_map_for_any_value() {
        let mut m = HandleMap::default();
        let values = [3i64, 4, -1, 1 << 40, 5000, 7, i64::MIN, 0x1a4, 2, 2000];
        for (i, h) in values.iter().enumerate() {
            m.insert(*h, GenId(i as u32));
        }
        assert_eq!(m.len(), values.len());
        for (i, h) in values.iter().enumerate() {
            assert_eq!(m.get(h), Some(&GenId(i as u32)), "value {h}");
        }
        assert!(m.get(&6).is_none() && m.get(&(1 << 41)).is_none());
        // Overwrite, remove, and removing again.
        m.insert(4, GenId(99));
        assert_eq!(m.get(&4), Some(&GenId(99)));
        assert_eq!(m.remove(&4), Some(GenId(99)));
        assert_eq!(m.remove(&4), None);
        assert_eq!(m.remove(&(1 << 40)), Some(GenId(3)));
        assert_eq!(m.len(), values.len() - 2);
        let mut all: Vec<(Handle, GenId)> = m.iter().collect();
        all.sort_unstable();
        let mut want: Vec<(Handle, GenId)> = values
            .iter()
            .enumerate()
            .filter(|(_, h)| **h != 4 && **h != 1 << 40)
            .map(|(i, h)| (*h, GenId(i as u32)))
            .collect();
        want.sort_unstable();
        assert_eq!(all, want);
        let mut ids: Vec<GenId> = m.into_values().collect();
        ids.sort_unstable();
        assert_eq!(ids.len(), values.len() - 2);
    }

    #[test]
    fn values_that_became_dense_move_out_of_the_hash_map() {
        let mut m = HandleMap::default();
        // 5000 is too far for an empty map: hashed.
        m.insert(5000, GenId(1));
        assert_eq!(m.sparse.len(), 1);
        // Enough entries that the dense part reaches past 5000.
        for h in 0..1200 {
            m.insert(h, GenId(10 + h as u32));
        }
        m.insert(5005, GenId(2));
        assert!(m.sparse.is_empty());
        assert_eq!(m.get(&5000), Some(&GenId(1)));
        assert_eq!(m.len(), 1202);
        // A hostile value far beyond the entries stays hashed.
        m.insert(1 << 30, GenId(3));
        assert!(m.dense.len() < 10_000);
        assert_eq!(m.get(&(1 << 30)), Some(&GenId(3)));
        m.clear();
        assert!(m.is_empty() && m.get(&5000).is_none());
    }
}
