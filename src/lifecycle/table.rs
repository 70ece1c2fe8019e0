//! Handle tables (a Windows process, a Linux fd table) and the tasks using them.

use rustc_hash::FxHashMap;

use super::generation::{Capped, GenId, SiteKey, TableId};
use crate::model::{Event, Handle, Sym};

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
    pub live: FxHashMap<Handle, GenId>,
    /// Most recent generation per value, live or released.
    pub last: FxHashMap<Handle, GenId>,
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
            live: FxHashMap::default(),
            last: FxHashMap::default(),
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
