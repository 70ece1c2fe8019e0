//! Rules: one file per rule; the doc comment on each rule struct is its
//! `handlecheck explain` text (What it finds / Why it matters / Example / How to fix).
//! A rule is a pure function from the [`HandleGraph`] to findings.

mod evidence;
mod repeats;

pub mod hc001_double_release;
pub mod hc002_use_after_close;
pub mod hc003_reuse_after_close;
pub mod hc004_namespace_collision;
pub mod hc005_worker_event_leak;
pub mod hc006_handle_leak;
pub mod hc007_release_failed;
pub mod hc008_invalid_handle;
pub mod hc009_close_while_in_use;
pub mod hc010_leaked_across_exec;
pub mod hc011_context_handle_mismatch;

use rayon::prelude::*;

use crate::lifecycle::HandleGraph;
use crate::model::{Finding, Interner, Level};

pub use crate::model::HandleStyle;
pub use repeats::Findings;

/// Declares a rule in one place (ruff's shape): its doc comment is the
/// `explain` text, the fields its identity and defaults. The rule file then
/// only writes `impl Name { fn check(&self, cx: &RuleContext<'_>) -> Vec<Finding> }`;
/// the module's `META` is what findings cite.
///
/// ```text
/// declare_rule! {
///     /// ## What it finds ...
///     pub struct DoubleRelease {
///         code: "HC001",
///         name: "double-release",
///         level: Level::Error,
///         summary: "a handle released again after its release",
///     }
/// }
/// ```
macro_rules! declare_rule {
    (
        $(#[doc = $doc:literal])*
        pub struct $name:ident {
            code: $code:literal,
            name: $kebab:literal,
            level: $level:expr,
            summary: $summary:literal $(,)?
        }
    ) => {
        $(#[doc = $doc])*
        pub struct $name;

        impl $name {
            /// The doc comment above, as text.
            pub const DOC: &'static str = concat!($($doc, "\n"),*);
        }

        static META: $crate::rules::RuleMeta = $crate::rules::RuleMeta {
            code: $code,
            name: $kebab,
            level: $level,
            summary: $summary,
        };

        impl $crate::rules::Rule for $name {
            fn meta(&self) -> &'static $crate::rules::RuleMeta {
                &META
            }
            fn doc(&self) -> &'static str {
                Self::DOC
            }
            fn check(
                &self,
                cx: &$crate::rules::RuleContext<'_>,
                out: &mut $crate::rules::Findings,
            ) {
                $name::check(self, cx, out)
            }
        }
    };
}
pub(crate) use declare_rule;

/// A rule's identity and defaults.
pub struct RuleMeta {
    pub code: &'static str,
    pub name: &'static str,
    pub level: Level,
    /// One line for tables and SARIF `shortDescription`.
    pub summary: &'static str,
}

/// Tunable thresholds (config `[thresholds]`).
#[derive(Clone, Copy, Debug)]
pub struct Thresholds {
    /// HC006: handles from one site still open at the end before a rising
    /// live count is reported as a leak.
    pub leak_min: u64,
    /// HC005: a worker thread that ends less than this before its process
    /// ends is part of the shutdown, and its handles are not worker leaks.
    pub worker_exit_grace_ms: u64,
    /// HC006: a site with no new handle in this last part (percent) of the time
    /// from its first open to the process's end was a pool opened at start.
    pub leak_tail_percent: u64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            leak_min: 8,
            worker_exit_grace_ms: 100,
            leak_tail_percent: 50,
        }
    }
}

/// What a rule sees.
pub struct RuleContext<'a> {
    pub graph: &'a HandleGraph,
    pub interner: &'a Interner,
    pub style: HandleStyle,
    pub thresholds: Thresholds,
    /// Codes of the rules that run: a rule that defers a finding to another
    /// rule reports it itself when that rule is off (`--select`, `--ignore`, config).
    pub active: &'a [&'static str],
}

impl RuleContext<'_> {
    /// True when the rule with this code runs in this analysis.
    pub fn runs(&self, code: &str) -> bool {
        self.active.contains(&code)
    }
}

pub trait Rule: Sync {
    fn meta(&self) -> &'static RuleMeta;
    /// The explain text: the doc comment of the rule struct.
    fn doc(&self) -> &'static str;
    /// Pushes what it finds into `out`, which folds repeats as they come.
    fn check(&self, cx: &RuleContext<'_>, out: &mut Findings);
}

/// Every rule, in code order. A new rule adds one line here.
pub fn registry() -> &'static [&'static dyn Rule] {
    &[
        &hc001_double_release::DoubleRelease,
        &hc002_use_after_close::UseAfterClose,
        &hc003_reuse_after_close::ReuseAfterClose,
        &hc004_namespace_collision::NamespaceCollision,
        &hc005_worker_event_leak::WorkerEventLeak,
        &hc006_handle_leak::HandleLeak,
        &hc007_release_failed::ReleaseFailed,
        &hc008_invalid_handle::InvalidHandle,
        &hc009_close_while_in_use::CloseWhileInUse,
        &hc010_leaked_across_exec::LeakedAcrossExec,
        &hc011_context_handle_mismatch::ContextHandleMismatch,
    ]
}

pub fn find(code_or_name: &str) -> Option<&'static dyn Rule> {
    registry()
        .iter()
        .copied()
        .find(|r| r.meta().code.eq_ignore_ascii_case(code_or_name) || r.meta().name == code_or_name)
}

/// Runs the selected rules in parallel. The result is in rule order, each
/// rule's findings in its own order; the engine sorts afterwards.
pub fn run(cx: &RuleContext<'_>, rules: &[&'static dyn Rule]) -> Vec<Finding> {
    let per_rule: Vec<Vec<Finding>> = rules
        .par_iter()
        .map(|r| {
            let mut out = Findings::new();
            r.check(cx, &mut out);
            out.finish()
        })
        .collect();
    // The first rule's list is extended in place instead of copied (a rule
    // with 500k findings is 90 MB of them).
    let rest: usize = per_rule.iter().skip(1).map(Vec::len).sum();
    let mut lists = per_rule.into_iter();
    let mut all = lists.next().unwrap_or_default();
    all.reserve_exact(rest);
    for list in lists {
        all.extend(list);
    }
    all
}
