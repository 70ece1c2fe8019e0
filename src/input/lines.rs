//! Streams a reader as lines in large blocks: one buffer, no allocation per line.

use std::io::{Read, Write};

/// Block size for reads; lines longer than `MAX_LINE` are cut (and reported).
const BLOCK: usize = 4 << 20;
/// The first block: grown to [`BLOCK`] as reads fill it.
const FIRST_BLOCK: usize = 8 << 10;
pub const MAX_LINE: usize = 16 << 20;

/// A line as handed to the callback.
pub struct Line<'a> {
    /// Without the `\n` (and without a trailing `\r`).
    pub bytes: &'a [u8],
    /// 1-based.
    pub number: u32,
    /// Byte offset of the line start in the stream.
    pub offset: u64,
}

/// Lines dropped because they exceeded `MAX_LINE`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cut {
    pub count: u64,
    /// 1-based number of the first one (0 when none was cut).
    pub first_line: u64,
}

/// Calls `each` for every line of `reader`; copies every byte read into `spool`
/// when given. Returns what was cut because it exceeded `MAX_LINE`.
pub fn for_each_line(
    reader: &mut dyn Read,
    mut spool: Option<&mut dyn Write>,
    mut each: impl FnMut(Line<'_>),
) -> std::io::Result<Cut> {
    // Starts small and doubles while reads fill it, up to BLOCK: a small file
    // (one of hundreds of `-ff` files) does not pay for zeroing 4 MiB.
    let mut buf: Vec<u8> = vec![0u8; FIRST_BLOCK];
    // Bytes [start, end) of buf hold the unfinished line carried over.
    let mut start = 0usize;
    let mut end = 0usize;
    let mut offset: u64 = 0; // stream offset of buf[start]
    let mut number: u32 = 0;
    let mut cut = Cut::default();
    let mut skipping_long_line = false;
    loop {
        if end == buf.len() {
            if buf.len() < BLOCK {
                let new_len = (buf.len() * 2).min(BLOCK);
                buf.resize(new_len, 0);
            } else if start > 0 {
                buf.copy_within(start..end, 0);
                end -= start;
                start = 0;
            } else if buf.len() < MAX_LINE {
                let new_len = (buf.len() * 2).min(MAX_LINE);
                buf.resize(new_len, 0);
            } else {
                // A line longer than MAX_LINE: drop what we have of it.
                offset += (end - start) as u64;
                start = 0;
                end = 0;
                if !skipping_long_line {
                    number = number.saturating_add(1);
                    if cut.count == 0 {
                        cut.first_line = u64::from(number);
                    }
                    cut.count += 1;
                }
                skipping_long_line = true;
            }
        }
        let n = match reader.read(&mut buf[end..]) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if let Some(s) = spool.as_mut() {
            s.write_all(&buf[end..end + n])?;
        }
        if n == 0 {
            break;
        }
        let scan_from = end;
        end += n;
        let mut pos = scan_from;
        while let Some(i) = memchr::memchr(b'\n', &buf[pos..end]) {
            let nl = pos + i;
            if skipping_long_line {
                skipping_long_line = false;
            } else {
                number = number.saturating_add(1);
                let mut line = &buf[start..nl];
                if line.last() == Some(&b'\r') {
                    line = &line[..line.len() - 1];
                }
                each(Line {
                    bytes: line,
                    number,
                    offset,
                });
            }
            offset += (nl + 1 - start) as u64;
            start = nl + 1;
            pos = nl + 1;
        }
    }
    if start < end && !skipping_long_line {
        number = number.saturating_add(1);
        let mut line = &buf[start..end];
        if line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        each(Line {
            bytes: line,
            number,
            offset,
        });
    }
    Ok(cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(data: &[u8]) -> Vec<(String, u32, u64)> {
        let mut out = Vec::new();
        for_each_line(&mut &data[..], None, |l| {
            out.push((
                String::from_utf8_lossy(l.bytes).into_owned(),
                l.number,
                l.offset,
            ))
        })
        .unwrap();
        out
    }

    #[test]
    fn lines_numbers_and_offsets() {
        let got = collect(b"a\nbc\r\n\nd");
        assert_eq!(
            got,
            vec![
                ("a".into(), 1, 0),
                ("bc".into(), 2, 2),
                ("".into(), 3, 6),
                ("d".into(), 4, 7)
            ]
        );
    }

    #[test]
    fn a_cut_line_keeps_its_number() {
        let mut data = b"one\ntwo\n".to_vec();
        data.extend(std::iter::repeat_n(b'x', MAX_LINE + 10));
        data.extend_from_slice(b"\nfour\n");
        let mut seen = Vec::new();
        let cut = for_each_line(&mut &data[..], None, |l| {
            seen.push((String::from_utf8_lossy(l.bytes).into_owned(), l.number))
        })
        .unwrap();
        assert_eq!(
            cut,
            Cut {
                count: 1,
                first_line: 3
            }
        );
        assert_eq!(
            seen,
            vec![("one".into(), 1), ("two".into(), 2), ("four".into(), 4)]
        );
    }

    #[test]
    fn spool_gets_every_byte() {
        let data = b"one\ntwo\nthree";
        let mut spool = Vec::new();
        for_each_line(&mut &data[..], Some(&mut spool), |_| {}).unwrap();
        assert_eq!(spool, data);
    }
}
