//! `strace -ff -o PREFIX`: one file per task (`PREFIX.TID`), no pid column.
//! The files of one run are grouped by prefix and merged back into one stream
//! by timestamp; each line's task comes from its file name.

use std::collections::BTreeMap;
use std::io::Read;

use crate::formats::{InputProvider, ReadStats};
use crate::input::{self, InputError, lines};
use crate::model::{InputId, Origin};

use super::StraceParser;
use super::prefix::{Stamp, parse_leader};

/// Groups paths into jobs analysed together: a lone trace is a job of its own,
/// the per-task files of one `-ff` run (same prefix, numeric suffix) one job
/// in tid order. Jobs keep the order in which the user named their first file.
pub fn group(paths: &[String]) -> Vec<Vec<String>> {
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut jobs: Vec<Vec<String>> = Vec::new();
    for p in paths {
        match prefix(p) {
            Some(prefix) => groups
                .entry(prefix.to_string())
                .or_default()
                .push(p.clone()),
            None => jobs.push(vec![p.clone()]),
        }
    }
    for (_, mut members) in groups {
        members.sort();
        jobs.push(members);
    }
    jobs.sort_by_key(|j| {
        paths
            .iter()
            .position(|p| Some(p) == j.first())
            .unwrap_or(usize::MAX)
    });
    jobs
}

/// `trace.1234` → `trace` (strace -ff names files PREFIX.TID).
fn prefix(path: &str) -> Option<&str> {
    let (prefix, tid) = path.rsplit_once('.')?;
    (!tid.is_empty() && tid.len() <= 10 && tid.bytes().all(|b| b.is_ascii_digit()))
        .then_some(prefix)
}

/// The task of an `-ff` file, from its name.
fn tid(path: &str) -> Option<u32> {
    path.rsplit_once('.').and_then(|(_, t)| t.parse().ok())
}

/// One per-task file, read into memory: its lines in one buffer (a vector per
/// line cost an allocation per line, hundreds of files over).
pub struct Member {
    pub id: InputId,
    tid: Option<u32>,
    /// The file's bytes as read.
    text: Vec<u8>,
    lines: Vec<LineAt>,
    /// Lines dropped for length (counted into the member's stats by [`merge`]).
    cut: lines::Cut,
}

/// Where one line of a member is: its number and byte offset in the file,
/// and its span in `Member::text` (without the `\n` and one `\r` before it).
struct LineAt {
    number: u32,
    offset: u64,
    start: usize,
    end: usize,
}

impl Member {
    /// Reads the lines of one `-ff` file. Its bytes are kept for evidence when
    /// the file cannot be read again (`bytes_for_evidence`).
    pub fn read(o: input::Opened, id: InputId) -> Result<Member, InputError> {
        let display = o.display.clone();
        let tid = tid(&display);
        let mut reader = o.into_reader();
        // The whole file in one read: hundreds of small files each paid for
        // a zeroed, doubling line buffer and a second copy of every line.
        let mut text = Vec::new();
        reader
            .read_to_end(&mut text)
            .map_err(|e| input::io_error(&display, &e))?;
        let (lines, cut) = line_spans(&text);
        Ok(Member {
            id,
            tid,
            text,
            lines,
            cut,
        })
    }

    /// The file's text again, for a stream that cannot be re-read.
    pub fn bytes_for_evidence(&self) -> Vec<u8> {
        self.text.clone()
    }

    fn line(&self, i: usize) -> Option<(&LineAt, &[u8])> {
        let at = self.lines.get(i)?;
        Some((at, self.text.get(at.start..at.end)?))
    }

    fn key_at(&self, i: usize) -> u64 {
        self.line(i).and_then(|(_, l)| merge_key(l)).unwrap_or(0)
    }
}

/// The lines of `text` as [`lines::for_each_line`] hands them over: numbered
/// from 1, without their `\n` and one trailing `\r`, a last line without a
/// newline included, and a line of [`lines::MAX_LINE`] bytes or more dropped
/// (its number used up, and counted in the [`lines::Cut`]).
fn line_spans(text: &[u8]) -> (Vec<LineAt>, lines::Cut) {
    let mut out = Vec::with_capacity(text.len() / 64);
    let mut cut = lines::Cut::default();
    let mut start = 0usize;
    let mut number: u32 = 0;
    while start < text.len() {
        let nl = memchr::memchr(b'\n', &text[start..]).map(|k| start + k);
        let end = nl.unwrap_or(text.len());
        number = number.saturating_add(1);
        if end - start < lines::MAX_LINE {
            let content = if end > start && text.get(end - 1) == Some(&b'\r') {
                end - 1
            } else {
                end
            };
            out.push(LineAt {
                number,
                offset: start as u64,
                start,
                end: content,
            });
        } else {
            if cut.count == 0 {
                cut.first_line = u64::from(number);
            }
            cut.count += 1;
        }
        start = end + 1;
    }
    (out, cut)
}

/// Feeds the members' records to one parser in time order. A record is a call
/// line plus the `-k` frame lines after it. `stats[i]` belongs to `members[i]`.
pub fn merge(members: &[Member], provider: &mut dyn InputProvider, stats: &mut [ReadStats]) {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    // The member whose next record is earliest, ties to the lower index: a heap
    // of (key, index), so hundreds of per-task files cost log(files) per record.
    let mut next = vec![0usize; members.len()];
    let mut heap: BinaryHeap<Reverse<(u64, usize)>> = members
        .iter()
        .enumerate()
        .filter(|(_, m)| !m.lines.is_empty())
        .map(|(i, m)| Reverse((m.key_at(0), i)))
        .collect();
    for (m, st) in members.iter().zip(stats.iter_mut()) {
        st.skip_many(
            crate::formats::SkipReason::LineTooLong,
            m.cut.count,
            m.cut.first_line,
        );
    }
    let mut parser = StraceParser::new();
    while let Some(Reverse((_, i))) = heap.pop() {
        let m = &members[i];
        let Some(st) = stats.get_mut(i) else {
            break;
        };
        // One record after another from this member while its next one is
        // still the earliest (a task's lines come in runs): what a push and
        // a pop would say, without them.
        loop {
            let mut first = true;
            while let Some((at, l)) = m.line(next[i]) {
                if !first && !l.starts_with(b" > ") {
                    break;
                }
                first = false;
                let origin = Origin::line(m.id, at.number, at.offset);
                provider.with_input(m.id, st, &mut |ctx| parser.line(l, origin, m.tid, ctx));
                next[i] += 1;
            }
            if next[i] >= m.lines.len() {
                break;
            }
            let key = (m.key_at(next[i]), i);
            if heap.peek().is_some_and(|Reverse(top)| *top < key) {
                heap.push(Reverse(key));
                break;
            }
        }
    }
    if let (Some(m), Some(st)) = (members.first(), stats.first_mut()) {
        provider.with_input(m.id, st, &mut |ctx| parser.finish(ctx));
    }
}

/// Merge key of an `-ff` line: its timestamp (`-t`, `-tt`, `-ttt`) in
/// microseconds, read by the one leader grammar ([`parse_leader`]); frame lines
/// and untimed lines have none.
fn merge_key(line: &[u8]) -> Option<u64> {
    if line.starts_with(b" > ") {
        return None;
    }
    let ns = match parse_leader(line).stamp? {
        Stamp::TimeOfDay(ns) | Stamp::Epoch(ns) => ns,
        Stamp::Delta(_) | Stamp::TimeOfDayDelta(..) => return None,
    };
    u64::try_from(ns / 1000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_keys_from_the_leader_grammar() {
        assert_eq!(merge_key(b"02:32:39.750798 read(3, "), Some(9_159_750_798));
        assert_eq!(merge_key(b"02:32:39 read(3, "), Some(9_159_000_000));
        assert_eq!(
            merge_key(b"1795314759.801144 read(3"),
            Some(1_795_314_759_801_144)
        );
        assert_eq!(
            merge_key(b"1795314759.997645912 read"),
            Some(1_795_314_759_997_645)
        );
        assert_eq!(merge_key(b" > libc.so.6(read+0x4c) [0xf82ec]"), None);
        assert_eq!(merge_key(b"read(3, \"x\", 1) = 1"), None);
    }

    #[test]
    fn line_spans_are_the_line_readers_lines() {
        let long = vec![b'x'; lines::MAX_LINE];
        let shorter = vec![b'y'; lines::MAX_LINE - 1];
        let mut cases: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"\n".to_vec(),
            b"\n\n\r\n".to_vec(),
            b"a\r\nb\r\r\nc".to_vec(),
            b"no newline at the end".to_vec(),
            b"\r".to_vec(),
            [&b"first\n"[..], &long, b"\nafter\n"].concat(),
            [&b"first\n"[..], &shorter, b"\r\nafter"].concat(),
            [&b"first\n"[..], &long].concat(),
        ];
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/strace/samples");
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path().join("trace.log");
            if let Ok(bytes) = std::fs::read(path) {
                cases.push(bytes);
            }
        }
        for text in &cases {
            let mut expected = Vec::new();
            let expected_cut = lines::for_each_line(&mut &text[..], None, |l| {
                expected.push((l.number, l.offset, l.bytes.to_vec()));
            })
            .unwrap();
            let (spans, cut) = line_spans(text);
            assert_eq!(cut, expected_cut);
            let got: Vec<_> = spans
                .iter()
                .map(|l| (l.number, l.offset, text[l.start..l.end].to_vec()))
                .collect();
            assert_eq!(
                got,
                expected,
                "{}",
                String::from_utf8_lossy(&text[..text.len().min(80)])
            );
        }
    }

    #[test]
    fn prefix_needs_a_numeric_suffix() {
        assert_eq!(prefix("out/trace.5866"), Some("out/trace"));
        assert_eq!(prefix("trace.log"), None);
        assert_eq!(tid("out/trace.5866"), Some(5866));
    }

    #[test]
    fn groups_keep_the_users_order() {
        let paths: Vec<String> = ["b.log", "ff/t.20", "a.log", "ff/t.10"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            group(&paths),
            vec![
                vec!["b.log".to_string()],
                vec!["a.log".into()],
                vec!["ff/t.10".into(), "ff/t.20".into()]
            ]
        );
    }
}
