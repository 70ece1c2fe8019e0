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
        if f.site.is_empty() {
            f.labels.shrink_to_fit();
            f.notes.shrink_to_fit();
            self.out.push(f);
            self.extra_lines.push(Vec::new());
            return;
        }
        let hash = key_hash(f.code, &f.site);
        let out = &self.out;
        let found = self
            .index
            .find(hash, |&i| out[i].code == f.code && out[i].site == f.site)
            .copied();
        match found {
            Some(i) => {
                let first = &mut self.out[i];
                first.count = first.count.saturating_add(f.count);
                first.level = first.level.max(f.level);
                first.folded &= f.folded;
                if let Some(p) = f.primary() {
                    if (first.count as usize) <= SHOWN + 1 {
                        first.labels.push(p.clone());
                    } else if p.event.origin.line > 0 && self.extra_lines[i].len() <= LINES_LISTED {
                        self.extra_lines[i].push(p.event.origin.line);
                    }
                }
            }
            None => {
                let out = &self.out;
                self.index.insert_unique(hash, self.out.len(), |&i| {
                    key_hash(out[i].code, &out[i].site)
                });
                // Kept to the end of the run: no spare room (a label vector
                // grown to four for two labels cost 300 bytes a finding).
                f.labels.shrink_to_fit();
                f.notes.shrink_to_fit();
                self.out.push(f);
                self.extra_lines.push(Vec::new());
            }
        }
    }

    /// Pushes every finding of `v`, in order, giving `v`'s memory back as it
    /// empties (a rule with 500k findings must not hold two lists of them).
    pub fn absorb(&mut self, mut v: Vec<Finding>) {
        v.reverse();
        while let Some(f) = v.pop() {
            self.push(f);
            if v.capacity() > 1024 && v.len() < v.capacity() / 2 {
                v.shrink_to_fit();
            }
        }
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
