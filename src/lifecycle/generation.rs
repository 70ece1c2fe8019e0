//! One generation of a handle value: open → uses → release.

use std::sync::Arc;

use rustc_hash::FxHashSet;

use crate::model::{Event, Handle, InputId, Op, Origin, Outcome, ResourceKind, StackId, Sym};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GenId(pub u32);

/// What the open events of many generations have in common (task, call,
/// stack, op, outcome, kind, flags, input): shared, so that a generation's
/// open event costs 48 bytes instead of 120 (a million live fds opened by
/// one call site share one shape).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EventShape {
    pid: u32,
    tid: u32,
    call: Sym,
    stack: Option<StackId>,
    op: Op,
    outcome: Outcome,
    kind: ResourceKind,
    flags: u8,
    input: InputId,
}

/// A generation's open event: the fields of its own (sequence, time,
/// position, resource) and a shared [`EventShape`]; the value is the
/// generation's own (every open event the builder records is about the
/// generation's value). [`OpenEvent::event`] gives back exactly the event it
/// was made from.
#[derive(Clone, Debug)]
pub struct OpenEvent {
    shape: Arc<EventShape>,
    seq: u64,
    /// Valid when `has & HAS_TIME`.
    time: i64,
    offset: u64,
    line: u32,
    record: u32,
    /// Valid when `has & HAS_RESOURCE`.
    resource: u32,
    has: u8,
}

const HAS_TIME: u8 = 1;
const HAS_RESOURCE: u8 = 2;

impl OpenEvent {
    fn with_shape(ev: &Event, shape: Arc<EventShape>) -> OpenEvent {
        OpenEvent {
            shape,
            seq: ev.seq,
            time: ev.time.unwrap_or(0),
            offset: ev.origin.offset,
            line: ev.origin.line,
            record: ev.origin.record,
            resource: ev.resource.map_or(0, |r| r.0),
            has: if ev.time.is_some() { HAS_TIME } else { 0 }
                | if ev.resource.is_some() {
                    HAS_RESOURCE
                } else {
                    0
                },
        }
    }

    /// An open event with a shape of its own (no sharing).
    pub fn new(ev: &Event) -> OpenEvent {
        OpenEvent::with_shape(ev, Arc::new(EventShape::of(ev)))
    }

    /// The event, as it was: `handle` is the value it was about (the
    /// generation's).
    pub fn event(&self, handle: Handle) -> Event {
        let s = &*self.shape;
        Event {
            seq: self.seq,
            time: (self.has & HAS_TIME != 0).then_some(self.time),
            pid: s.pid,
            tid: s.tid,
            handle,
            op: s.op,
            call: s.call,
            resource: (self.has & HAS_RESOURCE != 0).then_some(Sym(self.resource)),
            kind: s.kind,
            outcome: s.outcome,
            stack: s.stack,
            origin: Origin {
                input: s.input,
                line: self.line,
                record: self.record,
                offset: self.offset,
            },
            flags: s.flags,
        }
    }
}

impl EventShape {
    fn of(ev: &Event) -> EventShape {
        EventShape {
            pid: ev.pid,
            tid: ev.tid,
            call: ev.call,
            stack: ev.stack,
            op: ev.op,
            outcome: ev.outcome,
            kind: ev.kind,
            flags: ev.flags,
            input: ev.origin.input,
        }
    }
}

/// Shapes seen recently, to share (see [`EventShape`]). Bounded: when it
/// holds `MAX_SHAPES`, it starts over (shapes already shared stay shared).
#[derive(Default)]
pub struct Shapes {
    seen: FxHashSet<Arc<EventShape>>,
    /// The shape of the last open: runs of opens from one task and call
    /// share it without a hash look-up.
    last: Option<Arc<EventShape>>,
}

const MAX_SHAPES: usize = 1 << 16;

impl Shapes {
    /// `ev` as an open event, sharing its shape with earlier ones.
    pub fn open(&mut self, ev: &Event) -> OpenEvent {
        let shape = EventShape::of(ev);
        if let Some(last) = &self.last
            && **last == shape
        {
            return OpenEvent::with_shape(ev, Arc::clone(last));
        }
        let shared = match self.seen.get(&shape) {
            Some(s) => Arc::clone(s),
            None => {
                if self.seen.len() >= MAX_SHAPES {
                    self.seen.clear();
                }
                let s = Arc::new(shape);
                self.seen.insert(Arc::clone(&s));
                s
            }
        };
        self.last = Some(Arc::clone(&shared));
        OpenEvent::with_shape(ev, shared)
    }
}

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
        self.push_pooled(item, cap, None);
    }

    /// [`Capped::push`]; a list that grows takes its new one from `pool` and
    /// gives the old one back there.
    pub fn push_pooled(&mut self, item: T, cap: usize, pool: Option<&mut ListPool<T>>) {
        if self.items.len() < cap {
            // Most lists hold one or two events: room for one, then two, then
            // doubling up to the cap (a first push otherwise reserves four,
            // 480 bytes of events; growing one at a time copied every event
            // again at each push).
            let len = self.items.len();
            if len == self.items.capacity() {
                // A new list and a move, not `reserve_exact`: the allocator's
                // realloc of these small blocks cost about twice a fresh
                // allocation, a copy of at most a few events and a free.
                let want = (len * 2).clamp(1, cap);
                match pool {
                    Some(pool) => {
                        let mut grown = pool.take(want);
                        grown.extend(self.items.drain(..));
                        pool.give(std::mem::replace(&mut self.items, grown));
                    }
                    None => {
                        let mut grown = thin_vec::ThinVec::with_capacity(want);
                        grown.extend(std::mem::take(&mut self.items));
                        self.items = grown;
                    }
                }
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

/// Emptied lists of capacity 1, 2, 4 and 8, at most one of each, for
/// [`Capped::push_pooled`]: a list grows without an allocation and a free,
/// into the capacity it would have had anyway.
pub struct ListPool<T>([thin_vec::ThinVec<T>; 4]);

impl<T> Default for ListPool<T> {
    fn default() -> Self {
        ListPool(std::array::from_fn(|_| thin_vec::ThinVec::new()))
    }
}

impl<T> ListPool<T> {
    /// The place of lists of capacity `cap`, if kept.
    fn slot(cap: usize) -> Option<usize> {
        (cap.is_power_of_two() && cap <= 8).then(|| cap.trailing_zeros() as usize)
    }

    /// An empty list of capacity `cap` exactly.
    pub fn take(&mut self, cap: usize) -> thin_vec::ThinVec<T> {
        match Self::slot(cap) {
            Some(i) if self.0[i].capacity() == cap => std::mem::take(&mut self.0[i]),
            _ => thin_vec::ThinVec::with_capacity(cap),
        }
    }

    /// Keeps `list`, emptied, if there is no list of its capacity yet.
    pub fn give(&mut self, mut list: thin_vec::ThinVec<T>) {
        if let Some(i) = Self::slot(list.capacity())
            && self.0[i].capacity() == 0
        {
            list.clear();
            self.0[i] = list;
        }
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

/// Whether a generation was open when its table ended, in one byte: reads
/// as the option it replaces (`is_some`, `is_none`); the end event itself is
/// the table's `ended`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ExitMark(bool);

impl ExitMark {
    pub const NONE: ExitMark = ExitMark(false);
    pub const SET: ExitMark = ExitMark(true);

    pub fn is_some(self) -> bool {
        self.0
    }

    pub fn is_none(self) -> bool {
        !self.0
    }
}

/// The parts of a generation that only used, released-again or otherwise
/// eventful generations fill: kept apart so that a handle that is opened and
/// then only held (a million live fds) costs a pointer for all of them.
#[derive(Clone, Debug)]
pub struct ColdPart {
    /// How many uses it had.
    pub uses: u64,
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
    /// Thread this handle was created for (HC005): created by the spawner right
    /// before the spawn, or by the thread itself right after it started.
    pub thread_link: Option<u32>,
    /// The linked thread ended while this generation was still open: the
    /// `seq` of its exit event (the thread's record holds the event).
    pub outlived_thread: Option<u64>,
    /// Use events that look like a stale holder's (same call site as the previous generation).
    pub stale_use_candidates: Capped<Event>,
}

impl ColdPart {
    const EMPTY: ColdPart = ColdPart {
        uses: 0,
        last_use: None,
        thread_link: None,
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

/// Boxes that dropped generations gave up, for the next ones to reuse: one
/// allocation and one free fewer per recycled value. At most one of each kind
/// is held, emptied, so memory stays that of the generations kept.
#[derive(Default)]
pub struct Spares {
    release: Option<Box<Release>>,
    cold: Option<Box<ColdPart>>,
    /// For the use-site lists (the lists most used generations grow).
    pub use_sites: ListPool<Event>,
}

impl Spares {
    /// Keeps `g`'s boxes where there is room (`g` is about to go).
    pub fn take_from(&mut self, g: &mut Generation) {
        if self.release.is_none() {
            self.release = g.release.take();
        }
        if let Some(c) = g.cold.0.as_mut() {
            self.use_sites.give(std::mem::take(&mut c.use_sites.items));
        }
        if self.cold.is_none()
            && let Some(mut c) = g.cold.0.take()
        {
            // Its lists are freed now, not when the box is used again.
            *c = ColdPart::EMPTY;
            self.cold = Some(c);
        }
    }

    /// `r`, boxed (in the spare box if there is one).
    pub fn release(&mut self, r: Release) -> Box<Release> {
        match self.release.take() {
            Some(mut b) => {
                *b = r;
                b
            }
            None => Box::new(r),
        }
    }

    /// [`Cold::make`], with the spare box if a new part is needed.
    pub fn cold<'c>(&mut self, cold: &'c mut Cold) -> &'c mut ColdPart {
        if cold.0.is_none() {
            cold.0 = self.cold.take();
        }
        cold.make()
    }
}

/// An optional generation id in 4 bytes (an `Option<GenId>` takes 8): reads
/// as an option (`get`, `and_then`, `is_some`) and compares with one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MaybeGen(u32);

impl MaybeGen {
    /// No generation (`GenId(u32::MAX)`, which no count of generations reaches).
    pub const NONE: MaybeGen = MaybeGen(u32::MAX);

    pub fn get(self) -> Option<GenId> {
        (self != MaybeGen::NONE).then_some(GenId(self.0))
    }

    pub fn and_then<T>(self, f: impl FnOnce(GenId) -> Option<T>) -> Option<T> {
        self.get().and_then(f)
    }

    pub fn is_some(self) -> bool {
        self != MaybeGen::NONE
    }

    pub fn is_none(self) -> bool {
        self == MaybeGen::NONE
    }
}

impl From<Option<GenId>> for MaybeGen {
    fn from(id: Option<GenId>) -> MaybeGen {
        id.map_or(MaybeGen::NONE, |g| MaybeGen(g.0))
    }
}

impl PartialEq<Option<GenId>> for MaybeGen {
    fn eq(&self, other: &Option<GenId>) -> bool {
        self.get() == *other
    }
}

/// A leak site's number: its key is `HandleGraph::site_keys[id]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SiteId(pub u32);

impl SiteId {
    /// No site (an index no site list reaches).
    pub const NONE: SiteId = SiteId(u32::MAX);
}

#[derive(Clone, Debug)]
pub struct Generation {
    pub id: GenId,
    pub table: TableId,
    pub handle: Handle,
    pub provenance: Provenance,
    /// The event that created it (open, dup, receive); for inherited and
    /// pre-existing generations, the first event that showed it. Read it with
    /// [`Generation::open`].
    pub opened: Option<OpenEvent>,
    pub kind: ResourceKind,
    pub resource: Option<Sym>,
    pub cloexec: bool,
    /// True when it, or the generation it was inherited from, was made by the traced program.
    pub made_in_trace: bool,
    /// Its leak site: an index into the builder's (and then the graph's)
    /// site keys (`HandleGraph::site_of`), 4 bytes instead of a 28-byte key;
    /// [`SiteId::NONE`] when it has none.
    pub site: SiteId,
    /// Boxed: a live generation costs a pointer here, not an event.
    pub release: Option<Box<Release>>,
    /// Number of tasks sharing the table when the value was released.
    pub sharers_at_release: u32,
    /// Previous and next generation of the same value in the same table.
    pub prev: MaybeGen,
    pub next: MaybeGen,
    /// The table ended (process exit) while this generation was open (the
    /// table's `ended` holds the event): a mark, not the event, so that a
    /// table with many open handles does not keep a copy of its end per handle.
    pub open_at_exit: ExitMark,
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
            opened: None,
            kind: ResourceKind::Unknown,
            resource: None,
            cloexec: false,
            made_in_trace: false,
            site: SiteId::NONE,
            release: None,
            sharers_at_release: 0,
            prev: MaybeGen::NONE,
            next: MaybeGen::NONE,
            open_at_exit: ExitMark::NONE,
            cold: Cold::default(),
            notable: false,
            inherited: false,
            made_inheritable: false,
            reopened_by_path: false,
        }
    }

    /// The event that created it (see `opened`).
    pub fn open(&self) -> Option<Event> {
        self.opened.as_ref().map(|o| o.event(self.handle))
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
            && self.cold.uses == 0
            && self.release.is_none()
            && self.cold.thread_link.is_none()
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

    /// Every field of an event survives the trip through [`OpenEvent`],
    /// shared shape or not.
    #[test]
    fn open_events_give_back_the_event() {
        let mut ev = Event::new(
            Op::Dup {
                source: -7,
                cloexec: true,
                replaces: true,
                source_pid: Some(u32::MAX),
            },
            Sym(3),
            Origin::line(2, 41, 1 << 40),
        );
        ev.seq = u64::MAX;
        ev.time = Some(i64::MIN);
        ev.pid = 9;
        ev.tid = 10;
        ev.handle = i64::MIN;
        ev.resource = Some(Sym(0));
        ev.kind = ResourceKind::Socket;
        ev.outcome = Outcome::Failed {
            class: crate::model::ErrorClass::Interrupted,
            name: Sym(5),
        };
        ev.stack = Some(StackId(4));
        ev.flags = 0xff;
        let plain = Event::new(Op::Open { cloexec: false }, Sym(1), Origin::record(0, 3, 0));
        let mut shapes = Shapes::default();
        for e in [ev, plain] {
            let want = format!("{e:?}");
            let h = e.handle;
            assert_eq!(format!("{:?}", OpenEvent::new(&e).event(h)), want);
            assert_eq!(format!("{:?}", shapes.open(&e).event(h)), want);
            // The second time, the shape is shared.
            assert_eq!(format!("{:?}", shapes.open(&e).event(h)), want);
        }
        let a = shapes.open(&plain);
        let mut later = plain;
        later.seq = 77;
        later.handle = 4;
        let b = shapes.open(&later);
        assert!(Arc::ptr_eq(&a.shape, &b.shape));
        assert_eq!(b.event(4).seq, 77);
    }

    /// Memory per live handle is mostly one generation: keep it from growing
    /// back (it was 992 bytes with the exit and thread-end events by value, 664
    /// with the last use, the release and five lists inline, 352 with the
    /// lists and the last use inline instead of in the cold part, 248 with
    /// the open event whole instead of its own fields and a shared shape, 184
    /// with the use count and an `Option<u64>` exit mark, 168 with the site
    /// key instead of its number, 152 with the open event's value stored
    /// twice and the site number as an option, 136 with `Option<GenId>`
    /// links to the previous and next generation, 128 with the exit event's
    /// seq: 120 is the most a 128-byte allocation holds).
    #[test]
    fn generations_stay_compact() {
        assert!(std::mem::size_of::<Event>() <= 120);
        assert!(std::mem::size_of::<Option<OpenEvent>>() <= 48);
        eprintln!(
            "Generation {} Event {}",
            std::mem::size_of::<Generation>(),
            std::mem::size_of::<Event>()
        );
        assert!(std::mem::size_of::<Generation>() <= 120);
    }
}
