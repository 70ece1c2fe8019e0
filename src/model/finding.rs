//! What rules produce and reporters print.

use std::borrow::Cow;

use serde::Serialize;

use super::event::Event;

/// A text a finding shows (a label's text, a note): constant text is
/// borrowed, so one copy serves every finding that says it (500k double
/// closes share one note); text built for the finding is owned.
pub type Text = Cow<'static, str>;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Note,
    Warning,
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Note => "note",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

/// What happened at a labelled location; JSON `role`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Open,
    Duplicate,
    Inherit,
    Use,
    Release,
    /// The first release of a value released twice.
    FirstRelease,
    /// The release (or use) the finding is about.
    BadRelease,
    BadUse,
    /// The value was handed out again to a new resource.
    Recycle,
    /// The rightful owner of the recycled value failing afterwards.
    Victim,
    /// A link of a collision chain: the owner of a killed handle releasing
    /// what took the value next.
    Collateral,
    /// A call in flight (blocked) on the value.
    InFlight,
    Exec,
    Spawn,
    Exit,
    Failure,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Open => "open",
            Role::Duplicate => "duplicate",
            Role::Inherit => "inherit",
            Role::Use => "use",
            Role::Release => "release",
            Role::FirstRelease => "first-release",
            Role::BadRelease => "bad-release",
            Role::BadUse => "bad-use",
            Role::Recycle => "recycle",
            Role::Victim => "victim",
            Role::Collateral => "collateral",
            Role::InFlight => "in-flight",
            Role::Exec => "exec",
            Role::Spawn => "spawn",
            Role::Exit => "exit",
            Role::Failure => "failure",
        }
    }
}

/// One piece of evidence: an event and what it means for this finding.
#[derive(Clone, Debug)]
pub struct Label {
    pub event: Event,
    pub role: Role,
    /// Short text shown next to the trace line ("first closed here").
    pub text: Text,
}

#[derive(Clone, Debug)]
pub struct Finding {
    /// Rule code, `HC001`.
    pub code: &'static str,
    /// Rule name, `double-release`.
    pub name: &'static str,
    pub level: Level,
    pub confidence: Confidence,
    /// One sentence, no trailing period: what is wrong, with the handle and resource.
    pub message: String,
    /// Evidence in trace order; see [`Finding::primary`] for the location reporters point at.
    pub labels: Vec<Label>,
    /// Why we believe it, what the trace cannot show, what would make it certain.
    pub notes: Vec<Text>,
    /// Pid of the table (process) the finding is in, for display only.
    pub pid: u32,
    /// Stable description of where in the program this happens (program, call,
    /// normalised resource, stack frames without addresses): hashed into the fingerprint.
    pub site: String,
    /// Filled by the engine from (code, program, site).
    pub fingerprint: String,
    /// How many times the same defect (rule, site, program) occurred; the
    /// labels show the first occurrences.
    pub count: u32,
    /// A note that is noise on real software (open at exit, a sweep over fds
    /// already closed): human output folds it unless asked (`-v`); machine
    /// formats keep it at note level.
    pub folded: bool,
}

impl Finding {
    /// Gives back spare room, for a finding kept to the end of the run: a
    /// label vector grown to four for three labels costs 150 bytes, and
    /// `format!` leaves a message about 60 % longer than its text (500k
    /// findings: 150 MB).
    pub fn shrink_to_fit(&mut self) {
        self.labels.shrink_to_fit();
        self.notes.shrink_to_fit();
        self.message.shrink_to_fit();
        self.site.shrink_to_fit();
    }

    /// The label a reporter points at first: the bad release or use, the
    /// failure, the victim, the blocked call, the exec; else the first label.
    pub fn primary(&self) -> Option<&Label> {
        const PRIORITY: [Role; 6] = [
            Role::BadRelease,
            Role::BadUse,
            Role::Failure,
            Role::Victim,
            Role::InFlight,
            Role::Exec,
        ];
        PRIORITY
            .iter()
            .find_map(|role| self.labels.iter().find(|l| l.role == *role))
            .or_else(|| self.labels.first())
    }
}
