//! Helpers rules share: describing handles and building labels and sites.

use crate::lifecycle::{Generation, Table};
use crate::model::{Event, Finding, Handle, Label, Level, Role, Sym, Text};

use super::{RuleContext, RuleMeta};
pub use crate::model::site::{fold_digits, frame_site};

impl RuleContext<'_> {
    pub fn handle_name(&self, h: Handle) -> String {
        self.style.name(h)
    }

    pub fn text(&self, sym: Sym) -> String {
        crate::model::sanitize::for_terminal(self.interner.resolve(sym))
    }

    /// `line 33` for text inputs, `record 12` for binary ones.
    pub fn at(&self, ev: &Event) -> String {
        if ev.origin.is_line() {
            format!("line {}", ev.origin.line)
        } else {
            format!("record {}", ev.origin.record)
        }
    }

    pub fn call(&self, ev: &Event) -> String {
        self.text(ev.call)
    }

    /// `fd 3 (/etc/hostname)`, `handle 0x1a4 (Event)`.
    pub fn describe(&self, g: &Generation) -> String {
        let name = self.handle_name(g.handle);
        match (g.resource, g.kind) {
            (Some(r), _) => format!("{name} ({})", self.text(r)),
            (None, crate::model::ResourceKind::Unknown) => name,
            (None, k) => format!("{name} ({})", k.as_str()),
        }
    }

    /// Short text for what a generation was: the resource, else its kind.
    pub fn what(&self, g: &Generation) -> String {
        match (g.resource, g.kind) {
            (Some(r), _) => self.text(r),
            (None, k) => k.as_str().to_string(),
        }
    }

    pub fn table_of(&self, g: &Generation) -> &Table {
        self.graph.table(g.table)
    }

    pub fn program(&self, t: &Table) -> String {
        match t.program {
            Some(p) => {
                let full = self.text(p);
                full.rsplit('/').next().unwrap_or(&full).to_string()
            }
            None => String::new(),
        }
    }

    /// Stack frames by function name only (no offsets, no addresses, module
    /// paths cut to their file name), for fingerprints: a rebuilt program
    /// whose code moved keeps the same site.
    pub fn stack_site(&self, ev: &Event) -> String {
        let Some(stack) = ev.stack else {
            return String::new();
        };
        let frames = self.interner.frames(stack);
        let mut out = String::new();
        for f in frames.iter().take(6) {
            out.push_str(&frame_site(self.interner.resolve(*f)));
            out.push(';');
        }
        out
    }

    /// The stable site of an event: program, call, normalised resource kind, frames.
    pub fn site(&self, g: Option<&Generation>, ev: &Event) -> String {
        let program = g
            .map(|g| self.program(self.table_of(g)))
            .unwrap_or_default();
        let kind = g.map(|g| g.kind.as_str()).unwrap_or("");
        let resource = g
            .and_then(|g| g.resource)
            .map(|r| fold_digits(&self.text(r)))
            .unwrap_or_default();
        format!(
            "{program}|{}|{kind}|{resource}|{}",
            self.call(ev),
            self.stack_site(ev)
        )
    }

    pub fn finding(&self, meta: &'static RuleMeta, level: Level, message: String) -> Finding {
        Finding {
            code: meta.code,
            name: meta.name,
            level,
            confidence: crate::model::Confidence::High,
            message,
            labels: Vec::new(),
            notes: Vec::new(),
            pid: 0,
            site: String::new(),
            fingerprint: String::new(),
            count: 1,
            folded: false,
        }
    }
}

pub fn label(event: &Event, role: Role, text: impl Into<Text>) -> Label {
    Label {
        event: *event,
        role,
        text: text.into(),
    }
}

/// Labels for how a generation began: its open (or first sighting).
pub fn open_label(cx: &RuleContext<'_>, g: &Generation) -> Option<Label> {
    let ev = &g.open()?;
    let text = match g.provenance {
        crate::lifecycle::Provenance::Opened => format!("{} opened here", cx.describe(g)),
        crate::lifecycle::Provenance::Duplicated { .. } => {
            format!("{} made here as a duplicate", cx.describe(g))
        }
        crate::lifecycle::Provenance::Received => format!("{} received here", cx.describe(g)),
        crate::lifecycle::Provenance::Inherited { .. } => {
            format!("{} inherited here", cx.describe(g))
        }
        crate::lifecycle::Provenance::PreExisting => format!(
            "{} first seen here (opened before the trace)",
            cx.describe(g)
        ),
    };
    let role = match g.provenance {
        crate::lifecycle::Provenance::Inherited { .. } => Role::Inherit,
        crate::lifecycle::Provenance::Duplicated { .. } => Role::Duplicate,
        _ => Role::Open,
    };
    Some(label(ev, role, text))
}

/// The first three links of a recycle chain: the old generation's open, its
/// release, and the new generation taking over the value.
pub fn recycle_chain_labels(
    cx: &RuleContext<'_>,
    old: &Generation,
    new: &Generation,
    release_role: Role,
    release_text: String,
) -> Vec<Label> {
    let mut out = Vec::new();
    if let Some(l) = open_label(cx, old) {
        out.push(l);
    }
    if let Some(rel) = old.release() {
        out.push(label(&rel.event, release_role, release_text));
    }
    if let Some(open) = &new.open() {
        out.push(label(
            open,
            Role::Recycle,
            format!(
                "value recycled here for {} (task {})",
                cx.what(new),
                open.tid
            ),
        ));
    }
    out
}
