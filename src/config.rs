//! `handlecheck.toml`: rule levels, allowlists and thresholds.
//!
//! Found with `--config PATH`, else by walking up from the working directory
//! (`.handlecheck.toml`, then `handlecheck.toml`, in each directory; the walk
//! stops after the directory holding `.git`). Applied after analysis: a level
//! override changes `Finding::level`, `off` removes the rule's findings, and
//! the allowlists act on each location: a finding about one resource goes
//! when its resource is allowed; a grouped finding (several handles: fds
//! leaked across an exec, handles open at exit) loses the allowed handles and
//! goes only when all of them are allowed.
//!
//! Globs: `?` one character, `*` any run within one path part (it stops at
//! `/` and `\`), `**` any run at all; `[` and `]` are plain characters.
//! Resources as the traces name them: files by path (`/tmp/cache-*`), pipes
//! `pipe:[*]`, sockets `socket:[*]` (with `strace -yy`: `TCP:[*]`,
//! `UNIX-STREAM:[*]`), anonymous inodes `anon_inode:[eventfd]`,
//! `anon_inode:*`, ETW object names `\BaseNamedObjects\Global*` or
//! `\Device\**`.
//!
//! ```toml
//! [rules]
//! HC006 = "error"          # or the name: handle-leak = "error"
//! HC010 = "off"
//!
//! [allow]
//! paths = ["/dev/shm/**", "/tmp/cache-*"]   # resources; `*` stops at `/`, `**` does not
//! types = ["eventfd"]                       # resource kinds
//! frames = ["libfoo.so*"]                   # stack frames; `*` matches anything
//! programs = ["dash"]                       # programs (exec'd name or path) whose findings are accepted
//!
//! [thresholds]
//! leak_min = 8             # HC006: live handles from one site before it is a leak
//! worker_exit_grace_ms = 100  # HC005: a thread ending this close to its process's exit is shutdown
//! leak_tail_percent = 50   # HC006: no new handle in this last part of a site's life: a pool, not growth
//! ```
//!
//! Every bad key or value is an error pointing into the file (miette).

// A config error carries the file text for miette; it happens once per run.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use miette::{Diagnostic, NamedSource, SourceSpan};
use serde::Deserialize;
use toml::Spanned;

use crate::model::{Event, Finding, Interner, Level, ResourceKind};

/// File names looked for in each directory, in order.
pub const FILE_NAMES: [&str; 2] = [".handlecheck.toml", "handlecheck.toml"];

/// What the config says about one rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleSetting {
    Off,
    Level(Level),
}

#[derive(Debug, Default)]
pub struct Allow {
    pub paths: Vec<String>,
    pub types: Vec<ResourceKind>,
    pub frames: Vec<String>,
    /// Programs whose own findings are accepted (a system tool's known defect):
    /// matched against the program the finding is in, by name or full path.
    pub programs: Vec<String>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// HC006: live handles from one allocation site before the rule reports a
    /// leak (default 8).
    pub leak_min: Option<u64>,
    /// HC005: see `rules::Thresholds::worker_exit_grace_ms` (default 100).
    pub worker_exit_grace_ms: Option<u64>,
    /// HC006: see `rules::Thresholds::leak_tail_percent` (default 50).
    pub leak_tail_percent: Option<u64>,
}

#[derive(Debug, Default)]
pub struct Config {
    /// Where it was read from (None: the empty default).
    pub path: Option<PathBuf>,
    /// By rule code.
    pub rules: BTreeMap<&'static str, RuleSetting>,
    pub allow: Allow,
    pub thresholds: Thresholds,
}

#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum ConfigError {
    #[error(
        "{}: cannot read the config: {message}",
        crate::model::sanitize::for_terminal(path)
    )]
    #[diagnostic(code(handlecheck::config))]
    Io { path: String, message: String },
    #[error("{message}")]
    #[diagnostic(code(handlecheck::config))]
    Invalid {
        message: String,
        #[source_code]
        src: NamedSource<String>,
        #[label("{label}")]
        span: SourceSpan,
        label: String,
        #[help]
        help: Option<String>,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    rules: BTreeMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    allow: RawAllow,
    #[serde(default)]
    thresholds: RawThresholds,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAllow {
    #[serde(default)]
    paths: Vec<Spanned<String>>,
    #[serde(default)]
    types: Vec<Spanned<String>>,
    #[serde(default)]
    frames: Vec<Spanned<String>>,
    #[serde(default)]
    programs: Vec<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawThresholds {
    leak_min: Option<Spanned<i64>>,
    worker_exit_grace_ms: Option<Spanned<i64>>,
    leak_tail_percent: Option<Spanned<i64>>,
}

/// The config file that applies to `start`: the first of [`FILE_NAMES`] found
/// walking up; the walk ends at the repository root (a directory with `.git`).
pub fn discover(start: &Path) -> Option<PathBuf> {
    for dir in start.ancestors() {
        for name in FILE_NAMES {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
        if dir.join(".git").exists() {
            return None;
        }
    }
    None
}

pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    let mut c = parse(&text, &path.display().to_string())?;
    c.path = Some(path.to_path_buf());
    Ok(c)
}

fn invalid(
    text: &str,
    name: &str,
    span: std::ops::Range<usize>,
    message: String,
    label: &str,
    help: Option<String>,
) -> ConfigError {
    let start = span.start.min(text.len());
    let len = span.end.min(text.len()).saturating_sub(start);
    ConfigError::Invalid {
        message: crate::model::sanitize::for_terminal(&format!("{name}: {message}")),
        src: NamedSource::new(
            crate::model::sanitize::for_terminal(name),
            crate::model::sanitize::source_for_terminal(text),
        ),
        span: (start, len).into(),
        label: label.to_string(),
        help,
    }
}

pub fn parse(text: &str, name: &str) -> Result<Config, ConfigError> {
    let raw: Raw = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        let msg = e.message().trim().to_string();
        invalid(
            text,
            name,
            span,
            msg,
            "here",
            Some("the sections are [rules], [allow] (paths, types, frames, programs) and [thresholds] (leak_min, worker_exit_grace_ms, leak_tail_percent)".into()),
        )
    })?;
    let mut config = Config::default();
    for (key, value) in &raw.rules {
        let Some(rule) = crate::rules::find(key.get_ref()) else {
            return Err(invalid(
                text,
                name,
                key.span(),
                format!("no rule named `{}`", key.get_ref()),
                "unknown rule",
                Some("rule codes are HC001..HC011; `handlecheck rules` lists them".into()),
            ));
        };
        let setting = match value.get_ref().to_ascii_lowercase().as_str() {
            "off" | "allow" | "none" => RuleSetting::Off,
            "note" | "info" => RuleSetting::Level(Level::Note),
            "warning" | "warn" => RuleSetting::Level(Level::Warning),
            "error" => RuleSetting::Level(Level::Error),
            other => {
                return Err(invalid(
                    text,
                    name,
                    value.span(),
                    format!("`{other}` is not a rule level"),
                    "expected \"error\", \"warning\", \"note\" or \"off\"",
                    None,
                ));
            }
        };
        config.rules.insert(rule.meta().code, setting);
    }
    for p in &raw.allow.paths {
        check_glob(text, name, p)?;
        config.allow.paths.push(p.get_ref().clone());
    }
    for f in &raw.allow.frames {
        check_glob(text, name, f)?;
        config.allow.frames.push(f.get_ref().clone());
    }
    for p in &raw.allow.programs {
        check_glob(text, name, p)?;
        config.allow.programs.push(p.get_ref().clone());
    }
    for t in &raw.allow.types {
        let want = t.get_ref();
        let Some(kind) = ResourceKind::ALL
            .iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(want))
        else {
            let names: Vec<&str> = ResourceKind::ALL.iter().map(|k| k.as_str()).collect();
            return Err(invalid(
                text,
                name,
                t.span(),
                format!("`{want}` is not a resource type"),
                "unknown type",
                Some(format!("types are: {}", names.join(", "))),
            ));
        };
        config.allow.types.push(*kind);
    }
    if let Some(v) = &raw.thresholds.leak_min {
        let n = *v.get_ref();
        if n < 1 {
            return Err(invalid(
                text,
                name,
                v.span(),
                format!("leak_min must be at least 1, not {n}"),
                "too small",
                None,
            ));
        }
        config.thresholds.leak_min = Some(n as u64);
    }
    if let Some(v) = &raw.thresholds.worker_exit_grace_ms {
        let n = *v.get_ref();
        if n < 0 {
            return Err(invalid(
                text,
                name,
                v.span(),
                format!("worker_exit_grace_ms cannot be negative ({n})"),
                "negative",
                None,
            ));
        }
        config.thresholds.worker_exit_grace_ms = Some(n as u64);
    }
    if let Some(v) = &raw.thresholds.leak_tail_percent {
        let n = *v.get_ref();
        if !(0..=100).contains(&n) {
            return Err(invalid(
                text,
                name,
                v.span(),
                format!("leak_tail_percent must be between 0 and 100, not {n}"),
                "out of range",
                None,
            ));
        }
        config.thresholds.leak_tail_percent = Some(n as u64);
    }
    Ok(config)
}

fn check_glob(text: &str, name: &str, g: &Spanned<String>) -> Result<(), ConfigError> {
    if g.get_ref().is_empty() {
        return Err(invalid(
            text,
            name,
            g.span(),
            "an empty pattern matches nothing".into(),
            "empty",
            None,
        ));
    }
    Ok(())
}

/// Glob match: `?` one character, `*` any run (not crossing `/` or `\` when
/// `slash_stops`), `**` any run at all.
pub fn glob_match(pattern: &str, text: &str, slash_stops: bool) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // Iterative matcher with backtracking to the last star (linear-ish, no recursion).
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize, bool)> = None; // (pattern after star, text pos, crosses '/')
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                let double = p.get(pi + 1) == Some(&'*');
                let skip = if double { 2 } else { 1 };
                star = Some((pi + skip, ti, double || !slash_stops));
                pi += skip;
                continue;
            }
            Some('?') if !(slash_stops && is_sep(t[ti])) => {
                pi += 1;
                ti += 1;
                continue;
            }
            Some(c) if *c != '?' && *c == t[ti] => {
                pi += 1;
                ti += 1;
                continue;
            }
            _ => {}
        }
        match star {
            Some((sp, st, crosses)) if crosses || !is_sep(t[st]) => {
                star = Some((sp, st + 1, crosses));
                pi = sp;
                ti = st + 1;
            }
            _ => return false,
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

fn is_sep(c: char) -> bool {
    c == '/' || c == '\\'
}

impl Config {
    /// The level a rule's findings get, or None when the rule is off.
    pub fn setting(&self, code: &str) -> Option<RuleSetting> {
        self.rules.get(code).copied()
    }

    /// Codes of the rules switched off.
    pub fn disabled(&self) -> Vec<&'static str> {
        self.rules
            .iter()
            .filter(|(_, s)| **s == RuleSetting::Off)
            .map(|(c, _)| *c)
            .collect()
    }

    /// Applies levels, `off` and the allowlists; returns how many findings
    /// the allowlists removed whole (grouped findings may only shrink).
    pub fn apply(&self, findings: &mut Vec<Finding>, interner: &Interner) -> usize {
        findings.retain(|f| self.setting(f.code) != Some(RuleSetting::Off));
        for f in findings.iter_mut() {
            if let Some(RuleSetting::Level(l)) = self.setting(f.code) {
                f.level = l;
            }
        }
        let before = findings.len();
        findings.retain_mut(|f| !self.filter(f, interner));
        before - findings.len()
    }

    /// True when the finding goes; a grouped finding loses its allowed
    /// handles instead (and goes only when none is left).
    fn filter(&self, f: &mut Finding, interner: &Interner) -> bool {
        if self.program_allowed(f) {
            return true;
        }
        let Some(members) = group_members(f) else {
            return self.allowed(f, interner);
        };
        let allowed: Vec<usize> = members
            .iter()
            .copied()
            .filter(|i| self.location_allowed(&f.labels[*i].event, interner))
            .collect();
        if allowed.is_empty() {
            return false;
        }
        if allowed.len() == members.len() {
            return true;
        }
        let shown: Vec<String> = allowed
            .iter()
            .filter_map(|i| f.labels[*i].event.resource)
            .map(|r| interner.resolve(r).to_string())
            .take(4)
            .collect();
        let mut i = 0;
        f.labels.retain(|_| {
            i += 1;
            !allowed.contains(&(i - 1))
        });
        f.message = format!(
            "{}; {} of them allowed by the config: {}",
            f.message,
            allowed.len(),
            shown.join(", ")
        );
        f.notes.push(
            format!(
                "the config allows {} of these handles, not shown: {}",
                allowed.len(),
                shown.join(", ")
            )
            .into(),
        );
        false
    }

    /// Whether the allowlists cover one location: its resource, its kind,
    /// or a frame of its stack.
    pub fn location_allowed(&self, ev: &Event, interner: &Interner) -> bool {
        if let Some(r) = ev.resource.map(|s| interner.resolve(s))
            && self.allow.paths.iter().any(|g| glob_match(g, r, true))
        {
            return true;
        }
        if ev.kind != ResourceKind::Unknown && self.allow.types.contains(&ev.kind) {
            return true;
        }
        !self.allow.frames.is_empty() && self.frames_match(ev, interner)
    }

    /// Whether the allowlists cover a finding about one resource. Its primary
    /// label decides; when that label has no resource name or kind (an
    /// undecorated `close(3)`), the first label that has one (usually the
    /// open) stands in.
    pub fn allowed(&self, f: &Finding, interner: &Interner) -> bool {
        if self.program_allowed(f) {
            return true;
        }
        let Some(primary) = f.primary() else {
            return false;
        };
        let ev = &primary.event;
        let resource = ev
            .resource
            .or_else(|| f.labels.iter().find_map(|l| l.event.resource))
            .map(|s| interner.resolve(s));
        if let Some(r) = resource
            && self.allow.paths.iter().any(|g| glob_match(g, r, true))
        {
            return true;
        }
        let kind = if ev.kind != ResourceKind::Unknown {
            ev.kind
        } else {
            f.labels
                .iter()
                .map(|l| l.event.kind)
                .find(|k| *k != ResourceKind::Unknown)
                .unwrap_or(ResourceKind::Unknown)
        };
        if kind != ResourceKind::Unknown && self.allow.types.contains(&kind) {
            return true;
        }
        !self.allow.frames.is_empty() && self.frames_match(ev, interner)
    }

    /// `[allow] programs`: the program a finding is in is the first field of
    /// its site (`dash|close|pipe|...`); a pattern matches its name, and a
    /// pattern with `/` the program of an exec finding's full path too.
    fn program_allowed(&self, f: &Finding) -> bool {
        if self.allow.programs.is_empty() {
            return false;
        }
        let program = f.site.split('|').next().unwrap_or("");
        !program.is_empty()
            && self.allow.programs.iter().any(|g| {
                let name = g.rsplit('/').next().unwrap_or(g);
                glob_match(name, program, true)
            })
    }

    /// The rule thresholds: the config's values over the defaults.
    pub fn rule_thresholds(&self) -> crate::rules::Thresholds {
        let d = crate::rules::Thresholds::default();
        crate::rules::Thresholds {
            leak_min: self.thresholds.leak_min.unwrap_or(d.leak_min),
            worker_exit_grace_ms: self
                .thresholds
                .worker_exit_grace_ms
                .unwrap_or(d.worker_exit_grace_ms),
            leak_tail_percent: self
                .thresholds
                .leak_tail_percent
                .unwrap_or(d.leak_tail_percent),
        }
    }

    fn frames_match(&self, ev: &Event, interner: &Interner) -> bool {
        let Some(stack) = ev.stack else { return false };
        interner.frames(stack).iter().any(|s| {
            let frame = interner.resolve(*s);
            self.allow
                .frames
                .iter()
                .any(|g| glob_match(g, frame, false))
        })
    }
}

/// The labels of a grouped finding, one per handle (fds leaked across an
/// exec, handles open at exit): two or more opening labels of distinct
/// handles and no label that is about one bad call. None for any other finding.
fn group_members(f: &Finding) -> Option<Vec<usize>> {
    use crate::model::Role;
    let about_one_call = f.labels.iter().any(|l| {
        matches!(
            l.role,
            Role::BadRelease
                | Role::BadUse
                | Role::FirstRelease
                | Role::Recycle
                | Role::Victim
                | Role::InFlight
                | Role::Failure
        )
    });
    if about_one_call {
        return None;
    }
    let members: Vec<usize> = f
        .labels
        .iter()
        .enumerate()
        .filter(|(_, l)| matches!(l.role, Role::Open | Role::Duplicate | Role::Inherit))
        .map(|(i, _)| i)
        .collect();
    let mut handles: Vec<(u32, i64)> = members
        .iter()
        .map(|i| (f.labels[*i].event.pid, f.labels[*i].event.handle))
        .collect();
    handles.sort_unstable();
    handles.dedup();
    (handles.len() >= 2).then_some(members)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("/tmp/*", "/tmp/x", true));
        assert!(!glob_match("/tmp/*", "/tmp/a/b", true));
        assert!(glob_match("/tmp/**", "/tmp/a/b", true));
        assert!(glob_match(
            "libfoo.so*",
            "libfoo.so.1(bar+0x1) [0x2]",
            false
        ));
        assert!(!glob_match("libfoo.so*", "libbar.so", false));
        assert!(glob_match("a?c", "abc", true));
        assert!(!glob_match("a?c", "a/c", true));
        assert!(glob_match("*", "", true));
        assert!(glob_match("*.log", "x.y.log", true));
    }

    #[test]
    fn globs_for_pipes_sockets_anon_inodes_and_etw_names() {
        assert!(glob_match("pipe:*", "pipe:[59631]", true));
        assert!(glob_match("pipe:[*]", "pipe:[59631]", true));
        assert!(!glob_match("pipe:[*]", "socket:[59631]", true));
        assert!(glob_match("socket:[*]", "socket:[13361]", true));
        assert!(glob_match(
            "TCP:[*]",
            "TCP:[127.0.0.1:40000->127.0.0.1:8080]",
            true
        ));
        assert!(glob_match(
            "anon_inode:[eventfd]",
            "anon_inode:[eventfd]",
            true
        ));
        assert!(glob_match("anon_inode:*", "anon_inode:[timerfd]", true));
        assert!(!glob_match(
            "anon_inode:[eventfd]",
            "anon_inode:[timerfd]",
            true
        ));
        assert!(glob_match(
            "\\BaseNamedObjects\\Global*",
            "\\BaseNamedObjects\\GlobalReady",
            true
        ));
        // `*` stops at `\` as at `/`; `**` does not.
        assert!(!glob_match(
            "\\Device\\*",
            "\\Device\\HarddiskVolume3\\x.dll",
            true
        ));
        assert!(glob_match(
            "\\Device\\**",
            "\\Device\\HarddiskVolume3\\x.dll",
            true
        ));
    }

    #[test]
    fn precision_thresholds_and_programs() {
        let c = parse(
            "[allow]\nprograms = [\"dash\", \"/usr/bin/apt-get\"]\n[thresholds]\nworker_exit_grace_ms = 250\nleak_tail_percent = 30\n",
            "t.toml",
        )
        .unwrap();
        assert_eq!(c.allow.programs, vec!["dash", "/usr/bin/apt-get"]);
        let t = c.rule_thresholds();
        assert_eq!(
            (t.worker_exit_grace_ms, t.leak_tail_percent, t.leak_min),
            (250, 30, 8)
        );
        let mut f = crate::model::Finding {
            code: "HC001",
            name: "double-release",
            level: Level::Error,
            confidence: crate::model::Confidence::High,
            message: String::new(),
            labels: Vec::new(),
            notes: Vec::new(),
            pid: 1,
            site: "dash|close|pipe|pipe:[N]|".into(),
            fingerprint: String::new(),
            count: 1,
            folded: false,
        };
        assert!(c.program_allowed(&f));
        f.site = "apt-get|exec|dpkg".into();
        assert!(c.program_allowed(&f));
        f.site = "make|close|pipe|pipe:[N]|".into();
        assert!(!c.program_allowed(&f));
        assert!(parse("[thresholds]\nleak_tail_percent = 101\n", "t.toml").is_err());
        assert!(parse("[thresholds]\nworker_exit_grace_ms = -1\n", "t.toml").is_err());
    }

    #[test]
    fn names_and_codes_are_accepted() {
        let c = parse(
            "[rules]\nHC006 = \"error\"\nleaked-across-exec = \"off\"\n[allow]\ntypes=[\"EventFd\"]\n[thresholds]\nleak_min = 3\n",
            "t.toml",
        )
        .unwrap();
        assert_eq!(c.setting("HC006"), Some(RuleSetting::Level(Level::Error)));
        assert_eq!(c.setting("HC010"), Some(RuleSetting::Off));
        assert_eq!(c.allow.types, vec![ResourceKind::EventFd]);
        assert_eq!(c.thresholds.leak_min, Some(3));
    }

    #[test]
    fn errors_point_at_the_bad_text() {
        let text = "[rules]\nHC006 = \"loud\"\n";
        let Err(ConfigError::Invalid { span, .. }) = parse(text, "t.toml") else {
            panic!("expected an error")
        };
        assert_eq!(&text[span.offset()..span.offset() + span.len()], "\"loud\"");
        let text = "[rulez]\n";
        let Err(ConfigError::Invalid { span, message, .. }) = parse(text, "t.toml") else {
            panic!("expected an error")
        };
        assert!(message.contains("rulez"), "{message}");
        assert!(text[span.offset()..].starts_with("rulez"));
        let text = "[rules]\nHC999 = \"off\"\n";
        let Err(ConfigError::Invalid { span, .. }) = parse(text, "t.toml") else {
            panic!("expected an error")
        };
        assert_eq!(&text[span.offset()..span.offset() + span.len()], "HC999");
    }
}
