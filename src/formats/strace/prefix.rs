//! The leader of a strace line: the task prefix and the timestamp.
//!
//! Task prefixes (strace `printleader`): none; `PID␣` padded to 5 columns
//! (`-o FILE` with `-f`); `[pid %5u] ` (stderr, only while more than one task
//! lives); and the `-Y` forms `PID<comm> ` / `[pid  N<comm>] `.
//! Timestamps: `-t` `HH:MM:SS`, `-tt` `HH:MM:SS.frac`, `-ttt` `epoch.frac`,
//! `--absolute-timestamps=...,precision:s` `epoch`, `-r` `%6ld.frac` (delta to
//! the previous line, left-padded), `-r -t` `HH:MM:SS (+ %6ld.frac)`.
//! After them `-i` (`[00007f...] `) and `-n` (`[ 257] `) groups may follow.

/// A timestamp as printed, before it is turned into a time by [`Clock`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stamp {
    /// Nanoseconds since local midnight (`-t`, `-tt`).
    TimeOfDay(i64),
    /// Nanoseconds since the Unix epoch (`-ttt`, `--absolute-timestamps=format:unix`).
    Epoch(i64),
    /// Nanoseconds since the previous printed line (`-r`).
    Delta(i64),
    /// `-r -t`: time of day plus the delta to the previous line.
    TimeOfDayDelta(i64, i64),
}

/// What [`parse_leader`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Leader {
    /// The task number printed in the prefix, if any.
    pub tid: Option<u32>,
    /// True for the `[pid N]` form (stderr layout).
    pub bracketed: bool,
    pub stamp: Option<Stamp>,
    /// Byte index where the body (`name(`, `<...`, `+++`, `---`) starts.
    pub body: usize,
}

/// Largest number of digits a pid can have (pid_max is at most 4194304).
const MAX_PID_DIGITS: usize = 7;
/// An integer part this long is an epoch, not a `-r` delta.
const MIN_EPOCH_DIGITS: usize = 9;

const NS_PER_SEC: i64 = 1_000_000_000;

/// Parses the leader of `line`. Never fails: unknown shapes leave `body` at
/// the first byte that is not part of a recognised leader.
pub fn parse_leader(line: &[u8]) -> Leader {
    let mut leader = Leader {
        tid: None,
        bracketed: false,
        stamp: None,
        body: 0,
    };
    let mut i = 0;
    if line.starts_with(b"[pid ") {
        let mut j = skip_spaces(line, 5);
        let (num, digits, end) = parse_digits(line, j);
        if digits > 0 {
            j = end;
            if line.get(j) == Some(&b'<') {
                j = skip_comm(line, j);
            }
            if line.get(j) == Some(&b']') {
                leader.tid = u32::try_from(num).ok();
                leader.bracketed = true;
                i = skip_spaces(line, j + 1);
            }
        }
    } else if line.first().is_some_and(u8::is_ascii_digit) {
        let (num, digits, end) = parse_digits(line, 0);
        match line.get(end) {
            Some(b'<') => {
                let j = skip_comm(line, end);
                if line.get(j) == Some(&b' ') {
                    leader.tid = u32::try_from(num).ok();
                    i = skip_spaces(line, j);
                }
            }
            Some(b' ') if digits <= MAX_PID_DIGITS => {
                leader.tid = u32::try_from(num).ok();
                i = skip_spaces(line, end);
            }
            _ => {}
        }
    } else {
        // stderr layout with -r: the delta is left-padded with spaces.
        i = skip_spaces(line, 0);
        if !line.get(i).is_some_and(u8::is_ascii_digit) {
            i = 0;
        }
    }
    if line.get(i).is_some_and(u8::is_ascii_digit)
        && let Some((stamp, end)) = parse_stamp(line, i)
    {
        leader.stamp = Some(stamp);
        i = skip_spaces(line, end);
    }
    // -i `[00007f1e686b8011] ` and -n `[ 257] ` groups.
    while line.get(i) == Some(&b'[') {
        let mut j = i + 1;
        while line
            .get(j)
            .is_some_and(|b| *b == b' ' || b.is_ascii_hexdigit())
        {
            j += 1;
        }
        if j > i + 1 && line.get(j) == Some(&b']') && line.get(j + 1) == Some(&b' ') {
            i = skip_spaces(line, j + 1);
        } else {
            break;
        }
    }
    leader.body = i;
    leader
}

fn skip_comm(line: &[u8], lt: usize) -> usize {
    // `<comm>`: comm has no `>` (strace escapes it).
    match memchr::memchr(b'>', line.get(lt..).unwrap_or(&[])) {
        Some(k) => lt + k + 1,
        None => line.len(),
    }
}

pub(crate) fn skip_spaces(line: &[u8], mut i: usize) -> usize {
    while line.get(i) == Some(&b' ') {
        i += 1;
    }
    i
}

/// Parses decimal digits at `i`: (value saturating, digit count, end index).
pub(crate) fn parse_digits(line: &[u8], mut i: usize) -> (i64, usize, usize) {
    let start = i;
    let mut v: i64 = 0;
    while let Some(b) = line.get(i).filter(|b| b.is_ascii_digit()) {
        v = v.saturating_mul(10).saturating_add(i64::from(b - b'0'));
        i += 1;
    }
    (v, i - start, i)
}

/// Parses a fraction `.ddd` at `i` (pointing at the dot) into nanoseconds.
fn parse_frac(line: &[u8], i: usize) -> (i64, usize) {
    if line.get(i) != Some(&b'.') {
        return (0, i);
    }
    let mut j = i + 1;
    let mut ns: i64 = 0;
    let mut scale = NS_PER_SEC;
    while let Some(b) = line.get(j).filter(|b| b.is_ascii_digit()) {
        scale /= 10;
        ns += i64::from(b - b'0') * scale;
        j += 1;
    }
    (ns, j)
}

fn parse_stamp(line: &[u8], i: usize) -> Option<(Stamp, usize)> {
    let (first, digits, end) = parse_digits(line, i);
    if line.get(end) == Some(&b':') {
        // HH:MM:SS[.frac]
        let (min, d2, e2) = parse_digits(line, end + 1);
        if d2 == 0 || line.get(e2) != Some(&b':') {
            return None;
        }
        let (sec, d3, e3) = parse_digits(line, e2 + 1);
        if d3 == 0 {
            return None;
        }
        let (frac, e4) = parse_frac(line, e3);
        // Checked: the digit runs come from the trace (found by fuzzing).
        let tod = first
            .checked_mul(60)?
            .checked_add(min)?
            .checked_mul(60)?
            .checked_add(sec)?
            .checked_mul(NS_PER_SEC)?
            .checked_add(frac)?;
        // `-r -t`: ` (+     0.000352)`
        let j = skip_spaces(line, e4);
        if line.get(j..j + 2) == Some(b"(+") {
            let k = skip_spaces(line, j + 2);
            let (dsec, dd, de) = parse_digits(line, k);
            let (dfrac, df) = parse_frac(line, de);
            if dd > 0 && line.get(df) == Some(&b')') {
                let delta = dsec.checked_mul(NS_PER_SEC)?.checked_add(dfrac)?;
                return Some((Stamp::TimeOfDayDelta(tod, delta), df + 1));
            }
        }
        return Some((Stamp::TimeOfDay(tod), e4));
    }
    let (frac, e2) = parse_frac(line, end);
    if line.get(e2) != Some(&b' ') {
        return None;
    }
    let ns = first.checked_mul(NS_PER_SEC)?.checked_add(frac)?;
    if digits >= MIN_EPOCH_DIGITS {
        Some((Stamp::Epoch(ns), e2))
    } else {
        Some((Stamp::Delta(ns), e2))
    }
}

/// Turns stamps into event times: day rollover for time-of-day stamps,
/// accumulation for deltas.
#[derive(Default, Debug)]
pub struct Clock {
    last_tod: Option<i64>,
    day: i64,
    acc: Option<i64>,
}

const HALF_DAY: i64 = 12 * 3600 * NS_PER_SEC;
const DAY: i64 = 24 * 3600 * NS_PER_SEC;

impl Clock {
    pub fn time(&mut self, stamp: Stamp) -> i64 {
        match stamp {
            Stamp::TimeOfDay(tod) => {
                if let Some(last) = self.last_tod
                    && tod.saturating_add(HALF_DAY) < last
                {
                    self.day += 1;
                }
                self.last_tod = Some(tod);
                self.day.saturating_mul(DAY).saturating_add(tod)
            }
            Stamp::Epoch(ns) => ns,
            Stamp::Delta(d) => {
                let t = self.acc.unwrap_or(0).saturating_add(d);
                self.acc = Some(t);
                t
            }
            Stamp::TimeOfDayDelta(tod, d) => {
                let t = match self.acc {
                    Some(a) => a.saturating_add(d),
                    None => tod,
                };
                self.acc = Some(t);
                t
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lead(s: &str) -> Leader {
        parse_leader(s.as_bytes())
    }

    #[test]
    fn huge_time_of_day_digits_are_no_stamp() {
        // Found by fuzzing: the hours overflowed i64 before the checked steps.
        let l = lead("99999999999999999:16:08.875588 execve(\"./x\") = 0");
        assert_eq!(l.stamp, None);
    }

    #[test]
    fn file_layout_with_tt() {
        let l = lead("32444 02:45:15.216818 execve(\"./x\") = 0");
        assert_eq!(l.tid, Some(32444));
        assert_eq!(
            l.stamp,
            Some(Stamp::TimeOfDay(
                ((2 * 60 + 45) * 60 + 15) * NS_PER_SEC + 216_818_000
            ))
        );
        assert_eq!(
            &"32444 02:45:15.216818 execve(\"./x\") = 0"[l.body..l.body + 6],
            "execve"
        );
    }

    #[test]
    fn short_pid_padded() {
        let l = lead("887   --- SIGCHLD {si_signo=SIGCHLD} ---");
        assert_eq!(l.tid, Some(887));
        assert_eq!(l.stamp, None);
        assert_eq!(l.body, 6);
    }

    #[test]
    fn stderr_bracketed() {
        let l = lead("[pid   455] 02:45:47.378211 rseq(0x7f, 0x20 <unfinished ...>");
        assert_eq!(l.tid, Some(455));
        assert!(l.bracketed);
        assert!(matches!(l.stamp, Some(Stamp::TimeOfDay(_))));
    }

    #[test]
    fn decode_pids_comm() {
        let l = lead("2153<procs> clone(child_stack=NULL) = 2154<procs>");
        assert_eq!(l.tid, Some(2153));
        assert_eq!(l.body, 12);
        let l = lead("[pid  2170<threads>] read(3, \"\", 1) = 0");
        assert_eq!(l.tid, Some(2170));
        assert_eq!(l.body, 21);
    }

    #[test]
    fn epoch_forms() {
        let l = lead("5397  1795314759.801144 read(3) = 1");
        assert_eq!(l.stamp, Some(Stamp::Epoch(1_795_314_759_801_144_000)));
        let l = lead("5477  1795314759.997645912 read(3) = 1");
        assert_eq!(l.stamp, Some(Stamp::Epoch(1_795_314_759_997_645_912)));
        let l = lead("1795315652 close(3)                     = 0");
        assert_eq!(l.tid, None);
        assert_eq!(l.stamp, Some(Stamp::Epoch(1_795_315_652 * NS_PER_SEC)));
        assert_eq!(l.body, 11);
    }

    #[test]
    fn relative_forms() {
        let l = lead("5408       0.000018 read(3) = 1");
        assert_eq!(l.tid, Some(5408));
        assert_eq!(l.stamp, Some(Stamp::Delta(18_000)));
        let l = lead("     0.000 close(3)                     = 0");
        assert_eq!(l.tid, None);
        assert_eq!(l.stamp, Some(Stamp::Delta(0)));
        assert_eq!(l.body, 11);
        let l = lead("02:47:32 (+     0.000352) close(3)      = 0");
        assert_eq!(
            l.stamp,
            Some(Stamp::TimeOfDayDelta(
                (2 * 3600 + 47 * 60 + 32) * NS_PER_SEC,
                352_000
            ))
        );
        assert_eq!(l.body, 26);
    }

    #[test]
    fn ip_and_syscall_number_groups() {
        let s = "[ 257] openat(AT_FDCWD, \"/x\", O_RDONLY) = 3";
        assert_eq!(lead(s).body, 7);
        let s = "12 [00007f1e686b8011] openat(AT_FDCWD, \"/x\", O_RDONLY) = 3";
        let l = lead(s);
        assert_eq!(l.tid, Some(12));
        assert_eq!(&s[l.body..l.body + 6], "openat");
        // `[ Process PID=...` is a body, not a group.
        assert_eq!(lead("[ Process PID=5 runs in 32 bit mode. ]").body, 0);
    }

    #[test]
    fn clock_rollover_and_accumulation() {
        let mut c = Clock::default();
        let late = 23 * 3600 * NS_PER_SEC;
        assert_eq!(c.time(Stamp::TimeOfDay(late)), late);
        assert_eq!(c.time(Stamp::TimeOfDay(5)), DAY + 5);
        let mut c = Clock::default();
        assert_eq!(c.time(Stamp::Delta(0)), 0);
        assert_eq!(c.time(Stamp::Delta(10)), 10);
        assert_eq!(c.time(Stamp::Delta(5)), 15);
        let mut c = Clock::default();
        assert_eq!(c.time(Stamp::TimeOfDayDelta(100, 0)), 100);
        assert_eq!(c.time(Stamp::TimeOfDayDelta(100, 7)), 107);
    }
}
