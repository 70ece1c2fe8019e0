//! The per-line fast path for the leader of the `-f -o` layouts: `PID␣+`
//! then optionally `HH:MM:SS[.frac]␣`, `EPOCH.frac␣` or a `-r` delta, then
//! the body. This is the shape of nearly every line of a prefixed trace; it
//! is read here in one pass over bytes known to be digits, without the
//! general parser's per-byte bounds checks and saturating arithmetic.
//!
//! Anything else (bracketed `[pid N]`, `-Y` comm, `-r -t`, `-i`/`-n` groups,
//! unusual digit counts, no task prefix) returns `None` and goes to
//! [`super::prefix::parse_leader`], whose answer this always equals where it
//! answers at all (tested over every bundled trace).

use super::prefix::{Leader, Stamp};
use super::tokenize::digits;

const NS_PER_SEC: i64 = 1_000_000_000;
/// Largest number of digits a pid can have (as in `prefix`).
const MAX_PID_DIGITS: usize = 7;
/// An integer part this long is an epoch, not a `-r` delta (as in `prefix`).
const MIN_EPOCH_DIGITS: usize = 9;

#[inline]
fn spaces(line: &[u8], mut i: usize) -> usize {
    while line.get(i) == Some(&b' ') {
        i += 1;
    }
    i
}

/// `.ddd` at `i` (the dot) as nanoseconds, 1 to 9 digits: (ns, end).
#[inline]
fn fraction(line: &[u8], i: usize) -> Option<(i64, usize)> {
    if line.get(i) != Some(&b'.') {
        return Some((0, i));
    }
    let (v, end) = digits(line, i + 1, 9)?;
    let n = end - i - 1;
    Some((v * 10i64.pow(9 - n as u32), end))
}

/// `HH:MM:SS.uuuuuu ` (16 bytes, -tt) as nanoseconds since midnight.
///
/// Read as two words: XOR with the template `00:00:00.000000 ` turns each
/// digit into its value and each separator into 0; then one test says every
/// digit byte is at most 9 and one that every separator matched.
#[inline]
fn tod_micros(t: &[u8]) -> Option<i64> {
    const TEMPLATE: &[u8; 16] = b"00:00:00.000000 ";
    /// Bytes that must equal the template exactly (`:`, `.`, ` `).
    const SEPS: [u64; 2] = [0x0000_ff00_00ff_0000, 0xff00_0000_0000_00ff];
    const LOW: u64 = 0x7676_7676_7676_7676;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let t: &[u8; 16] = t.try_into().ok()?;
    let mut v = [0u64; 2];
    for (k, x) in v.iter_mut().enumerate() {
        let mut w = [0u8; 8];
        let mut m = [0u8; 8];
        w.copy_from_slice(&t[k * 8..k * 8 + 8]);
        m.copy_from_slice(&TEMPLATE[k * 8..k * 8 + 8]);
        *x = u64::from_le_bytes(w) ^ u64::from_le_bytes(m);
        // A byte over 9 (or over 0x7f) sets its high bit; separators are 0.
        if (*x | x.wrapping_add(LOW)) & HIGH != 0 || *x & SEPS[k] != 0 {
            return None;
        }
    }
    // Each byte now holds its digit (0-9, separators 0). `x * 10 + (x >> 8)`
    // gives, in the byte of each pair's first digit, the pair's value (at
    // most 99: no carries between bytes): HH, MM, SS at bytes 0, 3, 6 of the
    // first word; the microseconds' pairs at bytes 1, 3, 5 of the second.
    let pairs = |x: u64| x.wrapping_mul(10).wrapping_add(x >> 8);
    let (p, q) = (pairs(v[0]), pairs(v[1]));
    let byte = |w: u64, k: u32| ((w >> (k * 8)) & 0xff) as i64;
    let secs = byte(p, 0) * 3600 + byte(p, 3) * 60 + byte(p, 6);
    let micros = byte(q, 1) * 10_000 + byte(q, 3) * 100 + byte(q, 5);
    Some(secs * NS_PER_SEC + micros * 1000)
}

/// The leader of a `PID ...` line, or `None` to ask the general parser.
pub(super) fn leader(line: &[u8]) -> Option<Leader> {
    let (pid, end) = digits(line, 0, MAX_PID_DIGITS)?;
    if line.get(end) != Some(&b' ') {
        return None;
    }
    let tid = u32::try_from(pid).ok();
    let mut i = spaces(line, end);
    if let Some(t) = line.get(i..i + 16)
        && let Some(tod) = tod_micros(t)
    {
        // `HH:MM:SS.uuuuuu ` (-tt): fixed offsets.
        let j = spaces(line, i + 15);
        if matches!(line.get(j), Some(b'(' | b'[')) {
            return None;
        }
        return Some(Leader {
            tid,
            bracketed: false,
            stamp: Some(Stamp::TimeOfDay(tod)),
            body: j,
        });
    }
    let mut stamp = None;
    if line.get(i).is_some_and(u8::is_ascii_digit) {
        let (first, e1) = digits(line, i, 10)?;
        if line.get(e1) == Some(&b':') {
            // HH:MM:SS[.frac]: exactly two digits each.
            if e1 - i != 2 || line.get(e1 + 3) != Some(&b':') {
                return None;
            }
            let (min, e2) = digits(line, e1 + 1, 2)?;
            let (sec, e3) = digits(line, e2 + 1, 2)?;
            if e2 != e1 + 3 || e3 != e2 + 3 {
                return None;
            }
            let (frac, e4) = fraction(line, e3)?;
            if line.get(e4) != Some(&b' ') {
                return None;
            }
            let j = spaces(line, e4);
            if line.get(j) == Some(&b'(') {
                return None; // `-r -t`: ` (+ delta)`
            }
            stamp = Some(Stamp::TimeOfDay(
                ((first * 60 + min) * 60 + sec) * NS_PER_SEC + frac,
            ));
            i = j;
        } else {
            let (frac, e2) = fraction(line, e1)?;
            if line.get(e2) != Some(&b' ') {
                return None;
            }
            let ns = first.checked_mul(NS_PER_SEC)?.checked_add(frac)?;
            stamp = Some(if e1 - i >= MIN_EPOCH_DIGITS {
                Stamp::Epoch(ns)
            } else {
                Stamp::Delta(ns)
            });
            i = spaces(line, e2);
        }
    }
    if line.get(i) == Some(&b'[') {
        return None; // `-i` / `-n` groups
    }
    Some(Leader {
        tid,
        bracketed: false,
        stamp,
        body: i,
    })
}

#[cfg(test)]
mod tests {
    use super::super::prefix::parse_leader;
    use super::*;

    fn agrees(line: &[u8]) -> bool {
        match leader(line) {
            Some(fast) => fast == parse_leader(line),
            None => true,
        }
    }

    #[test]
    fn common_shapes_take_the_fast_path() {
        for line in [
            &b"6113  03:16:14.853430 execve(\"/usr/bin/make\") = 0"[..],
            b"26623 02:39:34.746107 brk(NULL) = 0x5",
            b"32444 close(3) = 0",
            b"32444 1795314759.801144 close(3) = 0",
            b"32444 1795314759 close(3) = 0",
            b"32444      0.000352 close(3) = 0",
            b"7 02:45:15 close(3) = 0",
            b"7 02:45:15.1 close(3) = 0",
            b"6113  +++ exited with 0 +++",
        ] {
            let fast = leader(line);
            assert!(fast.is_some(), "{}", String::from_utf8_lossy(line));
            assert_eq!(
                fast,
                Some(parse_leader(line)),
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }

    /// The word-at-a-time read of `HH:MM:SS.uuuuuu ` against a byte-by-byte
    /// one, for the real shape and every byte of it replaced by each value.
    #[test]
    fn time_of_day_words_read_as_bytes() {
        let reference = |t: &[u8]| -> Option<i64> {
            let shape = b"00:00:00.000000 ";
            let ok = t.len() == 16
                && t.iter().zip(shape).all(|(b, s)| match s {
                    b'0' => b.is_ascii_digit(),
                    _ => b == s,
                });
            ok.then(|| {
                let n = |r: std::ops::Range<usize>| {
                    t[r].iter().fold(0i64, |v, b| v * 10 + i64::from(b - b'0'))
                };
                (n(0..2) * 3600 + n(3..5) * 60 + n(6..8)) * NS_PER_SEC + n(9..15) * 1000
            })
        };
        let real = *b"23:59:58.123456 ";
        assert_eq!(tod_micros(&real), Some(86_398_123_456_000));
        for at in 0..16 {
            for value in 0..=255u8 {
                let mut t = real;
                t[at] = value;
                assert_eq!(
                    tod_micros(&t),
                    reference(&t),
                    "{}",
                    String::from_utf8_lossy(&t)
                );
            }
        }
        assert_eq!(tod_micros(b"23:59:58.123456"), None);
    }

    #[test]
    fn other_shapes_fall_back() {
        for line in [
            &b"[pid   455] 02:45:47.378211 rseq(0x7f) = 0"[..],
            b"455<python3> close(3) = 0",
            b"455 02:45:47 (+     0.000352) close(3) = 0",
            b"455 [00007f1e686b8011] close(3) = 0",
            b"close(3) = 0",
            b"     0.000000 close(3) = 0",
            b"12345678 close(3) = 0",
            b"455 2:45:47.1 close(3) = 0",
            b"455 02:45:47.1234567890 close(3) = 0",
            b"455 02:45:47.1x close(3) = 0",
        ] {
            assert_eq!(leader(line), None, "{}", String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn agrees_with_the_general_parser_on_every_bundled_trace() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/strace");
        let mut stack = vec![root];
        let mut lines = 0usize;
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "log")
                    || path.parent().is_some_and(|p| p.ends_with("ff"))
                {
                    let bytes = std::fs::read(&path).unwrap();
                    for line in bytes.split(|b| *b == b'\n') {
                        lines += 1;
                        assert!(
                            agrees(line),
                            "{}: {}",
                            path.display(),
                            String::from_utf8_lossy(line)
                        );
                    }
                }
            }
        }
        assert!(lines > 10_000, "{lines}");
    }
}
