//! Ownership attribution, computed once per analysis after the generations are
//! built: for every release and use of a recycled value, which generation its
//! caller meant (the current one, or an earlier one it still held), with the
//! evidence and a confidence; and the collision chains (offender → bystander →
//! victim) as paths in the [`HandleGraph`](super::HandleGraph) links.
//!
//! Evidence kinds are independent and each is stated in findings:
//! - *holder*: the caller held the earlier generation (made, used or released
//!   it) and never took part in the current one, which another task made;
//! - *code path*: the program's own frames (see [`frames`]) of the call match
//!   those of a call on the earlier generation, while the two generations were
//!   created by different code (the same creation path is a loop, not a stale holder);
//! - *resource*: the call fits only the earlier kind (lseek on a pipe), or the
//!   owner's failing call fits only the current kind;
//! - *victim*: the owner of the killed generation acts later as if it still
//!   held it: fails with EBADF, or uses / releases whatever took the value next
//!   (success is not innocence).

mod attribute;
mod chains;
mod facts;
pub mod frames;

use rustc_hash::{FxHashMap, FxHashSet};

use crate::model::{Confidence, Event};

use super::GenId;

pub use chains::{Chain, ChainLink, ChainRole};

/// One kind of ownership evidence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EvidenceKind {
    Holder,
    CodePath,
    Resource,
    Victim,
}

impl EvidenceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EvidenceKind::Holder => "holder",
            EvidenceKind::CodePath => "code path",
            EvidenceKind::Resource => "resource",
            EvidenceKind::Victim => "victim",
        }
    }
}

/// One piece of evidence, with the sentence that states it.
#[derive(Clone, Debug)]
pub struct Evidence {
    pub kind: EvidenceKind,
    pub text: String,
}

/// A release or use whose caller meant an earlier generation than the one it hit.
#[derive(Clone, Debug)]
pub struct Attribution {
    /// The stale call (for uses: the first one).
    pub event: Event,
    /// The generation the caller held.
    pub meant: GenId,
    /// The generation the call hit.
    pub hit: GenId,
    pub evidence: Vec<Evidence>,
    pub confidence: Confidence,
    /// What the trace lacks that would make the attribution certain.
    pub to_be_certain: Vec<String>,
}

impl Attribution {
    pub fn has(&self, kind: EvidenceKind) -> bool {
        self.evidence.iter().any(|e| e.kind == kind)
    }

    /// Evidence kinds used, in a fixed order, for messages: `holder, victim`.
    pub fn kinds(&self) -> String {
        let mut k: Vec<EvidenceKind> = self.evidence.iter().map(|e| e.kind).collect();
        k.sort_unstable();
        k.dedup();
        k.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
    }

    /// The finding note naming the evidence: `evidence (holder, victim): a; b`.
    pub fn evidence_note(&self) -> String {
        let texts: Vec<&str> = self.evidence.iter().map(|e| e.text.as_str()).collect();
        format!("evidence ({}): {}", self.kinds(), texts.join("; "))
    }
}

/// What the owner of a killed generation did next.
#[derive(Clone, Copy, Debug)]
pub struct VictimAct {
    pub event: Event,
    /// The act did not fail: it silently hit whatever took the value next.
    pub silent: bool,
    /// The generation the act hit (the killed one for failures, a later one for silent acts).
    pub hit: GenId,
}

/// A stale release: the caller released the value as the holder of `meant`,
/// killing `hit`.
#[derive(Clone, Debug)]
pub struct StaleRelease {
    pub attr: Attribution,
    pub victim: Option<VictimAct>,
}

/// Stale uses of one generation by one task.
#[derive(Clone, Debug)]
pub struct StaleUse {
    pub attr: Attribution,
    /// Every stale call seen (first occurrences per call site), in trace order.
    pub uses: Vec<Event>,
}

/// The result of the ownership pass.
#[derive(Clone, Debug, Default)]
pub struct Ownership {
    pub releases: Vec<StaleRelease>,
    pub uses: Vec<StaleUse>,
    pub chains: Vec<Chain>,
    /// Index of the stale release that ended each generation.
    by_hit: FxHashMap<GenId, usize>,
    /// Sequence numbers of every chain link.
    chain_events: FxHashSet<u64>,
    /// Index of the chain each generation takes part in.
    chain_of: FxHashMap<GenId, usize>,
}

impl Ownership {
    pub(super) fn new(
        releases: Vec<StaleRelease>,
        uses: Vec<StaleUse>,
        chains: Vec<Chain>,
    ) -> Self {
        let by_hit = releases
            .iter()
            .enumerate()
            .map(|(i, r)| (r.attr.hit, i))
            .collect();
        let chain_events = chains
            .iter()
            .flat_map(|c| c.links.iter().map(|l| l.event.seq))
            .collect();
        let mut chain_of = FxHashMap::default();
        for (i, c) in chains.iter().enumerate() {
            for g in &c.gens {
                chain_of.entry(*g).or_insert(i);
            }
        }
        Ownership {
            releases,
            uses,
            chains,
            by_hit,
            chain_events,
            chain_of,
        }
    }

    /// The stale release that ended generation `g`, if its release was one.
    pub fn release_of(&self, g: GenId) -> Option<&StaleRelease> {
        self.by_hit.get(&g).and_then(|i| self.releases.get(*i))
    }

    /// The chain a generation takes part in (killed in it, or hit by its victim).
    pub fn chain_with(&self, g: GenId) -> Option<&Chain> {
        self.chain_of.get(&g).and_then(|i| self.chains.get(*i))
    }

    /// True when the event is a link of some chain.
    pub fn event_in_chain(&self, seq: u64) -> bool {
        self.chain_events.contains(&seq)
    }
}

/// Computes the ownership of every recycled value of `graph`, links the
/// attributions into it and reads the chains back as paths in it.
pub(super) fn attribute(graph: &mut super::HandleGraph, interner: &crate::model::Interner) {
    let (releases, uses) = attribute::attribute_calls(graph, interner);
    chains::link(graph, &releases, &uses);
    let chains = chains::build(graph, &releases, &uses);
    graph.ownership = Ownership::new(releases, uses, chains);
}
