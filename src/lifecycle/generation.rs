//! One generation of a handle value: open → uses → release.

use crate::model::{Event, Handle, ResourceKind, StackId, Sym};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GenId(pub u32);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TableId(pub u32);

/// How a generation came to exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provenance {
    /// Created in this table (open, socket, pipe, CreateHandle...).
    Opened,
    /// A duplicate of another generation (dup, dup2, DuplicateHandle).
    Duplicated { from: Option<GenId> },
    /// Received from another process (SCM_RIGHTS).
    Received,
    /// Copied into this table by fork (or the parent's table at exec).
    Inherited { from: GenId },
    /// Existed before the trace saw it (0/1/2, launcher fds, attach mid-life, rundown).
    PreExisting,
}

impl Provenance {
    /// True when the program under trace made this handle (directly or by inheriting one it made).
    pub fn made_in_trace(self, parent_made: bool) -> bool {
        match self {
            Provenance::Opened | Provenance::Duplicated { .. } | Provenance::Received => true,
            Provenance::Inherited { .. } => parent_made,
            Provenance::PreExisting => false,
        }
    }
}

/// How a generation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReleaseHow {
    Close,
    CloseRange,
    /// dup2/dup3 onto an open value closed it first.
    ReplacedByDup,
    /// execve closed it (close-on-exec).
    ExecCloexec,
    /// The kernel said the value was not open although we thought it was:
    /// something the trace cannot see closed it.
    Vanished,
    /// A new handle appeared at this value without a release we saw.
    Superseded,
}

#[derive(Clone, Copy, Debug)]
pub struct Release {
    pub event: Event,
    pub how: ReleaseHow,
}

/// A bounded list: keeps the first `N` items and counts the rest.
#[derive(Clone, Debug)]
pub struct Capped<T> {
    /// A thin vector (one pointer, no allocation while empty): most
    /// generations never fill most of their lists.
    pub items: thin_vec::ThinVec<T>,
    pub dropped: u32,
}

impl<T> Default for Capped<T> {
    fn default() -> Self {
        Capped {
            items: thin_vec::ThinVec::new(),
            dropped: 0,
        }
    }
}

impl<T> Capped<T> {
    /// Empty (usable in a `static`).
    pub const fn new() -> Capped<T> {
        Capped {
            items: thin_vec::ThinVec::new(),
            dropped: 0,
        }
    }

    pub fn push(&mut self, item: T, cap: usize) {
        if self.items.len() < cap {
            // Most lists hold one or two events: grow one at a time at first
            // (a first push otherwise reserves four, 480 bytes of events).
            if self.items.len() < 4 && self.items.len() == self.items.capacity() {
                self.items.reserve_exact(1);
            }
            self.items.push(item);
        } else {
            self.dropped = self.dropped.saturating_add(1);
        }
    }
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    pub fn total(&self) -> usize {
        self.items.len() + self.dropped as usize
    }
}

/// Leak-statistics key: where handles come from. Resolved to text by `site_text`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SiteKey {
    pub table: TableId,
    pub call: Sym,
    pub kind: ResourceKind,
    /// Normalised resource (digits folded), when known.
    pub resource: Option<Sym>,
    pub stack: Option<StackId>,
}

/// The parts of a generation that only used, released-again or otherwise
/// eventful generations fill: kept apart so that a handle that is opened and
/// then only held (a million live fds) costs a pointer for all of them.
#[derive(Clone, Debug)]
pub struct ColdPart {
    /// The latest use.
    pub last_use: Option<Event>,
    /// Distinct (call, stack, tid) use sites, first occurrence of each.
    pub use_sites: Capped<Event>,
    /// Uses that failed while the generation was open (wrong type, etc.).
    pub failed_uses: Capped<Event>,
    /// Operations on the value after this generation's release and before the
    /// next generation: double releases, uses of a closed value.
    pub after_release: Capped<Event>,
    /// Calls other tasks had in flight on this value when it was released.
    pub in_flight_at_release: Capped<Event>,
    /// The linked thread ended while this generation was still open: the
    /// `seq` of its exit event (the thread's record holds the event).
    pub outlived_thread: Option<u64>,
    /// Use events that look like a stale holder's (same call site as the previous generation).
    pub stale_use_candidates: Capped<Event>,
}

impl ColdPart {
    const EMPTY: ColdPart = ColdPart {
        last_use: None,
        use_sites: Capped::new(),
        failed_uses: Capped::new(),
        after_release: Capped::new(),
        in_flight_at_release: Capped::new(),
        outlived_thread: None,
        stale_use_candidates: Capped::new(),
    };
}

/// What a generation without a cold part reads: every list empty.
static NO_COLD_PART: ColdPart = ColdPart::EMPTY;

/// A generation's [`ColdPart`], allocated on the first write: reads see an
/// empty one until then (`g.cold.use_sites`); writes go through [`Cold::make`].
#[derive(Clone, Debug, Default)]
pub struct Cold(Option<Box<ColdPart>>);

impl Cold {
    /// The cold part, made empty first if there was none.
    pub fn make(&mut self) -> &mut ColdPart {
        self.0.get_or_insert_with(|| Box::new(ColdPart::EMPTY))
    }
}

impl std::ops::Deref for Cold {
    type Target = ColdPart;
    fn deref(&self) -> &ColdPart {
        self.0.as_deref().unwrap_or(&NO_COLD_PART)
    }
}

#[derive(Clone, Debug)]
pub struct Generation {
    pub id: GenId,
    pub table: TableId,
    pub handle: Handle,
    pub provenance: Provenance,
    /// The event that created it (open, dup, receive); for inherited and
    /// pre-existing generations, the first event that showed it.
    pub open: Option<Event>,
    pub kind: ResourceKind,
    pub resource: Option<Sym>,
    pub cloexec: bool,
    /// True when it, or the generation it was inherited from, was made by the traced program.
    pub made_in_trace: bool,
    pub site: Option<SiteKey>,
    pub uses: u64,
    /// Boxed: a live generation costs a pointer here, not an event.
    pub release: Option<Box<Release>>,
    /// Number of tasks sharing the table when the value was released.
    pub sharers_at_release: u32,
    /// Previous and next generation of the same value in the same table.
    pub prev: Option<GenId>,
    pub next: Option<GenId>,
    /// Thread this handle was created for (HC005): created by the spawner right
    /// before the spawn, or by the thread itself right after it started.
    pub thread_link: Option<u32>,
    /// The table ended (process exit) while this generation was open: the
    /// `seq` of the event that ended it (the table's `ended` holds the event).
    /// A number, not the event, so that a table with many open handles does not
    /// keep a copy of its end per handle.
    pub open_at_exit: Option<u64>,
    /// What most generations never get (uses, events after the release):
    /// one pointer until the first of them.
    pub cold: Cold,
    /// Kept past the recycle window because a rule may need it.
    pub notable: bool,
    /// Copied into another table by fork: a generation there names it as its origin.
    pub inherited: bool,
    /// Close-on-exec was cleared on purpose (`fcntl(fd, F_SETFD, 0)`, FIONCLEX):
    /// meant for a child (jobserver, `pass_fds`). Copied to inherited generations.
    pub made_inheritable: bool,
    /// Someone opened the value by its path (`/dev/fd/N`): a process-substitution
    /// hand-over. Copied to inherited generations.
    pub reopened_by_path: bool,
}

impl Generation {
    /// A generation with nothing recorded yet: no open event, no uses, no
    /// release, not linked. The builder and tests fill in the rest.
    pub fn new(id: GenId, table: TableId, handle: Handle, provenance: Provenance) -> Generation {
        Generation {
            id,
            table,
            handle,
            provenance,
            open: None,
            kind: ResourceKind::Unknown,
            resource: None,
            cloexec: false,
            made_in_trace: false,
            site: None,
            uses: 0,
            release: None,
            sharers_at_release: 0,
            prev: None,
            next: None,
            thread_link: None,
            open_at_exit: None,
            cold: Cold::default(),
            notable: false,
            inherited: false,
            made_inheritable: false,
            reopened_by_path: false,
        }
    }

    /// How it ended, by value (stored boxed: see the field).
    pub fn release(&self) -> Option<Release> {
        self.release.as_deref().copied()
    }

    pub fn is_live(&self) -> bool {
        self.release.is_none() && self.open_at_exit.is_none()
    }

    /// Never released: still open when its table ended (or when the trace stopped).
    pub fn is_live_at_end(&self) -> bool {
        self.release.is_none()
    }

    /// Open at exit, yet nothing any rule reads: a handle the table only
    /// inherited (or had before the trace), never touched, never copied on.
    /// Dropped when its table ends, so that forks of a process with many open
    /// handles do not keep a copy of each for every child.
    pub fn untouched_at_exit(&self) -> bool {
        self.open_at_exit.is_some()
            && !self.notable
            && !self.inherited
            && self.uses == 0
            && self.release.is_none()
            && self.thread_link.is_none()
            && !self.kind.is_signal_object()
            && matches!(
                self.provenance,
                Provenance::Inherited { .. } | Provenance::PreExisting
            )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Memory per live handle is mostly one generation: keep it from growing
    /// back (it was 992 bytes with the exit and thread-end events by value, 664
    /// with the last use, the release and five lists inline, 352 with the
    /// lists and the last use inline instead of in the cold part).
    #[test]
    fn generations_stay_compact() {
        assert!(std::mem::size_of::<Event>() <= 120);
        eprintln!(
            "Generation {} Event {}",
            std::mem::size_of::<Generation>(),
            std::mem::size_of::<Event>()
        );
        assert!(std::mem::size_of::<Generation>() <= 256);
    }
}
