//! Lifecycle: per handle table, each handle value becomes a sequence of
//! generations (open → uses → release), linked in a [`HandleGraph`].

mod builder;
#[cfg(test)]
mod builder_tests;
pub mod generation;
pub mod history;
pub mod ownership;
pub mod sites;
mod store;
pub mod table;

use petgraph::graph::{DiGraph, NodeIndex};
use rustc_hash::FxHashMap;

pub use builder::LifecycleBuilder;
pub use generation::{
    GenId, Generation, Provenance, Release, ReleaseHow, SiteId, SiteKey, TableId,
};
pub use sites::SiteStats;
pub use table::{ExecRecord, Table, ThreadRecord};

use crate::model::Event;

/// How two generations relate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Link {
    /// The next generation of the same value (the value was recycled).
    RecycledAs,
    /// Made from it by dup / DuplicateHandle.
    DuplicatedAs,
    /// Copied into a child's table by fork.
    InheritedBy,
    /// A holder of the source generation released the target (see [`ownership`]).
    StaleReleaseOf,
    /// A holder of the source generation used the target.
    StaleUseOf,
    /// The owner of the (killed) source generation released the target.
    Collateral,
}

/// What rules read: the generations kept by the builder, their tables, the
/// per-site counters, and the links between generations.
pub struct HandleGraph {
    /// In id order; boxed as the builder kept them (moving a million
    /// generations into one vector held two copies at once). Generation `i`
    /// of this vector is node `i` of `links`.
    pub gens: Vec<Box<Generation>>,
    pub tables: Vec<Table>,
    pub sites: Vec<(SiteKey, SiteStats)>,
    /// Site keys by number (`Generation::site`; see `site_of`).
    pub site_keys: Vec<SiteKey>,
    pub gc_events: Vec<Event>,
    pub rpc_events: Vec<Event>,
    pub links: DiGraph<GenId, Link>,
    /// Who meant which generation: computed once, after the graph is built.
    pub ownership: ownership::Ownership,
    /// Collected only when the views asked for it (`LifecycleBuilder::keep_history`).
    pub history: Option<history::History>,
}

/// Where generation `id` is in `gens` (sorted by id).
fn position(gens: &[Box<Generation>], id: GenId) -> Option<usize> {
    gens.binary_search_by_key(&id, |g| g.id).ok()
}

impl HandleGraph {
    fn build(
        gens: store::GenStore,
        tables: Vec<Table>,
        sites: FxHashMap<SiteKey, SiteStats>,
        site_keys: Vec<SiteKey>,
        gc_events: Vec<Event>,
        rpc_events: Vec<Event>,
    ) -> HandleGraph {
        // In id order already; sized once.
        let mut all: Vec<Box<Generation>> = Vec::with_capacity(gens.len());
        all.extend(gens.into_values());
        let gens = all;
        let mut links = DiGraph::with_capacity(gens.len(), 0);
        for g in &gens {
            links.add_node(g.id);
        }
        let node = |id: GenId| position(&gens, id).map(NodeIndex::new);
        let mut edges = Vec::new();
        for (i, g) in gens.iter().enumerate() {
            let to = NodeIndex::new(i);
            if let Some(p) = g.prev.and_then(node) {
                edges.push((p, to, Link::RecycledAs));
            }
            let from = match g.provenance {
                Provenance::Duplicated { from: Some(f) } => Some((f, Link::DuplicatedAs)),
                Provenance::Inherited { from } => Some((from, Link::InheritedBy)),
                _ => None,
            };
            if let Some((f, link)) = from
                && let Some(f) = node(f)
            {
                edges.push((f, to, link));
            }
        }
        for (from, to, link) in edges {
            links.add_edge(from, to, link);
        }
        let mut sites: Vec<(SiteKey, SiteStats)> = sites.into_iter().collect();
        sites.sort_unstable_by_key(|(k, s)| (k.table, s.first_open.seq));
        HandleGraph {
            gens,
            tables,
            sites,
            site_keys,
            gc_events,
            rpc_events,
            links,
            ownership: ownership::Ownership::default(),
            history: None,
        }
    }

    /// Runs the ownership pass (once, when the builder finishes).
    pub(crate) fn attribute_ownership(&mut self, interner: &crate::model::Interner) {
        ownership::attribute(self, interner);
    }

    /// The graph node of a generation: its position in `gens`.
    fn node(&self, id: GenId) -> Option<NodeIndex> {
        position(&self.gens, id).map(NodeIndex::new)
    }

    fn add_link(&mut self, from: GenId, to: GenId, link: Link) {
        if let (Some(f), Some(t)) = (self.node(from), self.node(to)) {
            self.links.add_edge(f, t, link);
        }
    }

    /// The generation linked to `g` by an incoming `link`, if any.
    pub fn incoming(&self, g: &Generation, link: Link) -> Option<&Generation> {
        let n = self.node(g.id)?;
        self.links
            .edges_directed(n, petgraph::Direction::Incoming)
            .find(|e| *e.weight() == link)
            .and_then(|e| self.links.node_weight(petgraph::visit::EdgeRef::source(&e)))
            .and_then(|id| self.gen_(*id))
    }

    pub fn gen_(&self, id: GenId) -> Option<&Generation> {
        position(&self.gens, id)
            .and_then(|i| self.gens.get(i))
            .map(|g| &**g)
    }

    /// The leak site of a generation.
    pub fn site_of(&self, g: &Generation) -> Option<SiteKey> {
        self.site_keys.get(g.site.0 as usize).copied()
    }

    pub fn table(&self, id: TableId) -> &Table {
        &self.tables[id.0 as usize]
    }

    /// The previous generation of the same value, when still kept.
    pub fn previous(&self, g: &Generation) -> Option<&Generation> {
        g.prev.and_then(|p| self.gen_(p))
    }

    /// Where an inherited generation really came from: follows inherit links
    /// back to the generation that was opened.
    pub fn linked_origin<'a>(&'a self, g: &'a Generation) -> Option<&'a Generation> {
        let mut cur = g;
        for _ in 0..64 {
            match cur.provenance {
                Provenance::Inherited { from } => cur = self.gen_(from)?,
                _ => return Some(cur),
            }
        }
        None
    }

    /// Generations linked from `g` by `link`.
    pub fn linked(&self, g: &Generation, link: Link) -> Vec<&Generation> {
        let Some(n) = self.node(g.id) else {
            return Vec::new();
        };
        self.links
            .edges(n)
            .filter(|e| *e.weight() == link)
            .filter_map(|e| self.links.node_weight(petgraph::visit::EdgeRef::target(&e)))
            .filter_map(|id| self.gen_(*id))
            .collect()
    }
}
