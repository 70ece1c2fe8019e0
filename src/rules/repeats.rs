//! One defect, one finding: the collector every rule pushes its findings
//! into. Findings of one rule with the same site (program, call, resource,
//! stack) fold into the first as they arrive, keeping the count, the primary
//! labels of the next few occurrences and the lines of the rest. A repeat is
//! dropped as soon as it is folded, so a rule that finds the same defect
//! 160,000 times holds one finding, not 160,000 until the end.

use std::hash::BuildHasher;

use crate::model::Finding;

/// Occurrences after the first whose primary labels are kept.
const SHOWN: usize = 3;
/// Later occurrences whose line numbers the note lists.
const LINES_LISTED: usize = 8;

/// Where a rule's findings go (see the module doc).
#[derive(Default)]
pub struct Findings {
    out: Vec<Finding>,
    /// Positions in `out` of the findings with a site, found by the hash of
    /// (code, site) and compared with the finding itself (no second copy of
    /// each site: 500k findings held 77 MB of copies).
    index: hashbrown::HashTable<usize>,
    /// Per finding in `out`: lines of occurrences past the labelled ones
    /// (at most [`LINES_LISTED`] + 1, enough to say "...").
    extra_lines: Vec<Vec<u32>>,
}

impl Findings {
    pub fn new() -> Findings {
        Findings::default()
    }

    pub fn push(&mut self, mut f: Finding) {
        match self.repeat_of(&f) {
            Some(i) => fold(&mut self.out[i], &f, &mut self.extra_lines[i]),
            None => {
                f.shrink_to_fit();
                self.out.push(f);
                self.extra_lines.push(Vec::new());
                self.index_last();
            }
        }
    }

    /// Pushes every finding of `v`, in order. Into an empty collector `v` is
    /// folded in place and becomes the list: a rule with 500k findings must
    /// not hold two lists of them.
    pub fn absorb(&mut self, mut v: Vec<Finding>) {
        if !self.out.is_empty() {
            v.reverse();
            while let Some(f) = v.pop() {
                self.push(f);
                if v.capacity() > 1024 && v.len() < v.capacity() / 2 {
                    v.shrink_to_fit();
                }
            }
            return;
        }
        self.out = v;
        self.extra_lines = vec![Vec::new(); self.out.len()];
        let repeats: Vec<bool> = (0..self.out.len()).map(|i| self.fold_in_place(i)).collect();
        if repeats.iter().any(|r| *r) {
            let mut repeat = repeats.iter();
            self.out
                .retain(|_| !repeat.next().copied().unwrap_or(false));
            let mut repeat = repeats.iter();
            self.extra_lines
                .retain(|_| !repeat.next().copied().unwrap_or(false));
            self.index.clear();
            for i in 0..self.out.len() {
                self.index_at(i);
            }
        }
    }

    /// Folds `out[i]` into the earlier finding it repeats (true: `out[i]`
    /// is to go), else indexes it as kept. The index holds only positions
    /// before `i`: the findings kept so far.
    fn fold_in_place(&mut self, i: usize) -> bool {
        match self.repeat_of(&self.out[i]) {
            Some(first) => {
                let (kept, rest) = self.out.split_at_mut(i);
                fold(&mut kept[first], &rest[0], &mut self.extra_lines[first]);
                true
            }
            None => {
                self.out[i].shrink_to_fit();
                self.index_at(i);
                false
            }
        }
    }

    /// The earlier finding of the same rule and site that `f` repeats.
    fn repeat_of(&self, f: &Finding) -> Option<usize> {
        if f.site.is_empty() {
            return None;
        }
        let out = &self.out;
        self.index
            .find(key_hash(f.code, &f.site), |&i| {
                out[i].code == f.code && out[i].site == f.site
            })
            .copied()
    }

    fn index_last(&mut self) {
        self.index_at(self.out.len() - 1);
    }

    /// Makes `out[i]` (not yet indexed) the one its repeats fold into.
    fn index_at(&mut self, i: usize) {
        let f = &self.out[i];
        if f.site.is_empty() {
            return;
        }
        let out = &self.out;
        self.index
            .insert_unique(key_hash(f.code, &f.site), i, |&j| {
                key_hash(out[j].code, &out[j].site)
            });
    }

    /// The findings in the order first seen, repeats noted.
    pub fn finish(self) -> Vec<Finding> {
        let mut out = self.out;
        for (f, more) in out.iter_mut().zip(self.extra_lines) {
            if f.count > 1 {
                f.labels.sort_by_key(|l| l.event.seq);
                f.labels.dedup_by_key(|l| (l.event.seq, l.role));
                let mut note = format!(
                    "the same defect occurred {} times at this site of the program; the first {} are labelled",
                    f.count,
                    (f.count as usize).min(SHOWN + 1)
                );
                if !more.is_empty() {
                    let lines: Vec<String> = more
                        .iter()
                        .take(LINES_LISTED)
                        .map(|l| l.to_string())
                        .collect();
                    note.push_str(&format!(
                        "; later at lines {}{}",
                        lines.join(", "),
                        if more.len() > LINES_LISTED {
                            ", ..."
                        } else {
                            ""
                        }
                    ));
                }
                f.notes.push(note.into());
                f.message = format!("{} ({} times)", f.message, f.count);
            }
        }
        out
    }
}

/// Folds the repeat `f` into `first`: its count, the worst level, and its
/// primary label (the first few) or line (`extra`: the next few).
fn fold(first: &mut Finding, f: &Finding, extra: &mut Vec<u32>) {
    first.count = first.count.saturating_add(f.count);
    first.level = first.level.max(f.level);
    first.folded &= f.folded;
    if let Some(p) = f.primary() {
        if (first.count as usize) <= SHOWN + 1 {
            first.labels.push(p.clone());
        } else if p.event.origin.line > 0 && extra.len() <= LINES_LISTED {
            extra.push(p.event.origin.line);
        }
    }
}

fn key_hash(code: &str, site: &str) -> u64 {
    rustc_hash::FxBuildHasher.hash_one((code, site))
}

impl Extend<Finding> for Findings {
    fn extend<I: IntoIterator<Item = Finding>>(&mut self, iter: I) {
        for f in iter {
            self.push(f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Confidence, Event, Interner, Label, Level, Op, Origin, Role, Text};

    fn finding(call: crate::model::Sym, site: &str, line: u32) -> Finding {
        let mut event = Event::new(Op::Close, call, Origin::line(0, line, 0));
        event.seq = u64::from(line);
        Finding {
            code: "HC001",
            name: "double-release",
            level: if line == 5 {
                Level::Error
            } else {
                Level::Warning
            },
            confidence: Confidence::High,
            message: format!("at line {line}"),
            labels: vec![Label {
                event,
                role: Role::BadRelease,
                text: "released again here".into(),
            }],
            notes: Vec::new(),
            pid: 1,
            site: site.to_string(),
            fingerprint: String::new(),
            count: 1,
            folded: false,
        }
    }

    /// (site, count, level, labelled lines, notes, message) of a finding.
    type Summary = (String, u32, Level, Vec<u32>, Vec<Text>, String);

    fn summary(v: &[Finding]) -> Vec<Summary> {
        v.iter()
            .map(|f| {
                let lines = f.labels.iter().map(|l| l.event.origin.line).collect();
                (
                    f.site.clone(),
                    f.count,
                    f.level,
                    lines,
                    f.notes.clone(),
                    f.message.clone(),
                )
            })
            .collect()
    }

    #[test]
    fn folding_in_place_gives_what_pushing_one_by_one_gives() {
        let mut interner = Interner::new();
        let close = interner.intern("close");
        // Site "a" 8 times (labels, then listed lines, then "..."), "b"
        // twice, findings without a site never folded.
        let sites = [
            "a", "b", "a", "", "a", "a", "", "b", "a", "a", "c", "a", "a",
        ];
        let list = || -> Vec<Finding> {
            (1..)
                .zip(sites)
                .map(|(line, site)| finding(close, site, line))
                .collect()
        };
        let mut one_by_one = Findings::new();
        for f in list() {
            one_by_one.push(f);
        }
        let mut in_place = Findings::new();
        in_place.absorb(list());
        let expected = summary(&one_by_one.finish());
        assert_eq!(summary(&in_place.finish()), expected);
        let sites_kept: Vec<&str> = expected.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(sites_kept, ["a", "b", "", "", "c"]);
        assert_eq!(expected[0].1, 8);
        assert_eq!(
            expected[0].2,
            Level::Error,
            "the worst level of the repeats"
        );
        assert_eq!(expected[0].3, [1, 3, 5, 6]);
        assert_eq!(expected[1].1, 2);

        // A collector that holds findings already folds a later list into them.
        let mut later = Findings::new();
        later.push(finding(close, "c", 100));
        later.absorb(list());
        let after = summary(&later.finish());
        assert_eq!(after[0].0, "c");
        assert_eq!(after[0].1, 2);
        assert_eq!(after.len(), 5, "c, a, b and the two without a site");
    }
}
