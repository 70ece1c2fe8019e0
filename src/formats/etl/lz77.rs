//! MS-XCA "plain LZ77" (LZXpress without Huffman), the compression ETW uses for
//! buffers flagged `ETW_BUFFER_FLAG_COMPRESSED` (0x40). Spec: [MS-XCA] 2.3/2.4.
//!
//! Stream: a 32-bit little-endian flag word whose bits are consumed MSB first;
//! 0 = one literal byte, 1 = a match: u16 `v`, `offset = (v >> 3) + 1`,
//! `len = v & 7`; 7 means "read a nibble" (two matches share one byte), 15 in the
//! nibble means "read a byte", 255 there means "read a u16 (0: a u32) that is the
//! whole length minus 3". Final length = len + 3.
//!
//! [`compress`] is a small greedy encoder; the reader never needs it, tests and
//! benches use it to build compressed buffers.

/// Why a compressed stream could not be inflated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lz77Error {
    /// A match points before the start of the output.
    BadOffset { at: usize },
    /// The stream inflates to more than the caller allowed.
    TooLong,
    /// A match header or length field runs past the end of the input.
    Truncated { at: usize },
}

impl std::fmt::Display for Lz77Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Lz77Error::BadOffset { at } => {
                write!(f, "LZ77 match before output start (input byte {at})")
            }
            Lz77Error::TooLong => write!(f, "LZ77 data inflates past the declared size"),
            Lz77Error::Truncated { at } => {
                write!(f, "LZ77 data ends inside a match (input byte {at})")
            }
        }
    }
}

#[inline]
fn u16_at(input: &[u8], at: usize) -> Option<usize> {
    let b = input.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([b[0], b[1]]) as usize)
}

#[inline]
fn u32_at(input: &[u8], at: usize) -> Option<u32> {
    let b = input.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Inflates `input` into `out` (cleared first), producing at most `max_out`
/// bytes. Decoding stops when the input is used up or `max_out` bytes have
/// been produced. `out` is reused by callers to avoid one allocation per buffer.
pub fn decompress_into(input: &[u8], out: &mut Vec<u8>, max_out: usize) -> Result<(), Lz77Error> {
    out.clear();
    decompress_append(input, out, max_out)
}

/// Like [`decompress_into`] but appends to `out`, keeping what is there;
/// matches may not reach back into those earlier bytes.
pub fn decompress_append(input: &[u8], out: &mut Vec<u8>, max_out: usize) -> Result<(), Lz77Error> {
    let base = out.len();
    let max_out = base.saturating_add(max_out);
    // Do not trust the declared size for the allocation: grow as data arrives.
    out.reserve((max_out - base).min(input.len().saturating_mul(4).saturating_add(4096)));
    let mut ip = 0usize;
    let mut flags: u32 = 0;
    let mut flag_count: u32 = 0;
    let mut half_byte_at: Option<usize> = None;
    loop {
        if out.len() >= max_out {
            // Full: the stream must end here. Another symbol (a literal byte,
            // or a match's two) means it inflates past the declared size.
            let next_bit_set = if flag_count == 0 {
                match u32_at(input, ip) {
                    Some(f) => {
                        ip += 4;
                        f & (1 << 31) != 0
                    }
                    None => return Ok(()),
                }
            } else {
                flags & (1u32 << (flag_count - 1)) != 0
            };
            let symbol = if next_bit_set { 2 } else { 1 };
            return if input.len() >= ip.saturating_add(symbol) {
                Err(Lz77Error::TooLong)
            } else {
                Ok(())
            };
        }
        if flag_count == 0 {
            match u32_at(input, ip) {
                Some(f) => flags = f,
                None => return Ok(()),
            }
            ip += 4;
            flag_count = 32;
            // Fast path: a whole flag word of literals.
            if flags == 0 && ip + 32 <= input.len() && out.len() + 32 <= max_out {
                out.extend_from_slice(&input[ip..ip + 32]);
                ip += 32;
                flag_count = 0;
                continue;
            }
        }
        flag_count -= 1;
        if flags & (1u32 << flag_count) == 0 {
            match input.get(ip) {
                Some(&b) => out.push(b),
                None => return Ok(()),
            }
            ip += 1;
            continue;
        }
        if ip >= input.len() {
            return Ok(());
        }
        let at = ip;
        let v = u16_at(input, ip).ok_or(Lz77Error::Truncated { at })?;
        ip += 2;
        let offset = (v >> 3) + 1;
        let mut len = v & 7;
        if len == 7 {
            match half_byte_at.take() {
                None => {
                    len = (*input.get(ip).ok_or(Lz77Error::Truncated { at })? & 0x0F) as usize;
                    half_byte_at = Some(ip);
                    ip += 1;
                }
                Some(h) => {
                    len = (*input.get(h).ok_or(Lz77Error::Truncated { at })? >> 4) as usize;
                }
            }
            if len == 15 {
                len = *input.get(ip).ok_or(Lz77Error::Truncated { at })? as usize;
                ip += 1;
                if len == 255 {
                    len = u16_at(input, ip).ok_or(Lz77Error::Truncated { at })?;
                    ip += 2;
                    if len == 0 {
                        len = u32_at(input, ip).ok_or(Lz77Error::Truncated { at })? as usize;
                        ip += 4;
                    }
                    len = len.checked_sub(15 + 7).ok_or(Lz77Error::Truncated { at })?;
                }
                len += 15;
            }
            len += 7;
        }
        len += 3;
        let start = out
            .len()
            .checked_sub(offset)
            .filter(|&s| s >= base)
            .ok_or(Lz77Error::BadOffset { at })?;
        let end_len = out.len().checked_add(len).ok_or(Lz77Error::TooLong)?;
        if end_len > max_out {
            return Err(Lz77Error::TooLong);
        }
        if offset >= len {
            out.extend_from_within(start..start + len);
        } else {
            // Overlapping copy (runs): byte by byte semantics.
            for i in 0..len {
                let b = out[start + i];
                out.push(b);
            }
        }
    }
}

/// Greedy MS-XCA plain LZ77 encoder (hash of 3 bytes → last position).
/// Output inflates with [`decompress_into`] to exactly `input`.
pub fn compress(input: &[u8]) -> Vec<u8> {
    const HASH_BITS: u32 = 14;
    const MAX_OFFSET: usize = 8192;
    let mut table = vec![usize::MAX; 1 << HASH_BITS];
    let mut out = Vec::with_capacity(input.len() + input.len() / 8 + 8);
    let mut flag_pos = 0usize;
    let mut flags: u32 = 0;
    let mut flag_count = 0u32;
    let mut half_byte: Option<usize> = None;
    out.extend_from_slice(&[0; 4]);

    let hash = |p: usize| -> usize {
        let v = u32::from(input[p]) | u32::from(input[p + 1]) << 8 | u32::from(input[p + 2]) << 16;
        (v.wrapping_mul(2_654_435_761) >> (32 - HASH_BITS)) as usize
    };

    let push_flag = |out: &mut Vec<u8>,
                     bit: u32,
                     flags: &mut u32,
                     flag_count: &mut u32,
                     flag_pos: &mut usize| {
        *flags = (*flags << 1) | bit;
        *flag_count += 1;
        if *flag_count == 32 {
            out[*flag_pos..*flag_pos + 4].copy_from_slice(&flags.to_le_bytes());
            *flag_pos = out.len();
            out.extend_from_slice(&[0; 4]);
            *flags = 0;
            *flag_count = 0;
        }
    };

    let mut p = 0usize;
    while p < input.len() {
        let mut best = 0usize;
        let mut best_off = 0usize;
        if p + 3 <= input.len() {
            let h = hash(p);
            let cand = table[h];
            table[h] = p;
            if cand != usize::MAX && p - cand <= MAX_OFFSET {
                let mut l = 0;
                while p + l < input.len() && input[cand + l] == input[p + l] {
                    l += 1;
                }
                if l >= 3 {
                    best = l;
                    best_off = p - cand;
                }
            }
        }
        if best < 3 {
            // The match token must be written before its flag word is flushed,
            // so write the data first, then the flag.
            out.push(input[p]);
            push_flag(&mut out, 0, &mut flags, &mut flag_count, &mut flag_pos);
            p += 1;
            continue;
        }
        let m = best - 3;
        let low = m.min(7);
        out.extend_from_slice(&((((best_off - 1) << 3) | low) as u16).to_le_bytes());
        if m >= 7 {
            let m2 = m - 7;
            let nibble = m2.min(15) as u8;
            match half_byte.take() {
                None => {
                    half_byte = Some(out.len());
                    out.push(nibble);
                }
                Some(h) => out[h] |= nibble << 4,
            }
            if m2 >= 15 {
                let m3 = m2 - 15;
                if m3 < 255 {
                    out.push(m3 as u8);
                } else {
                    out.push(255);
                    if m < 65536 {
                        out.extend_from_slice(&(m as u16).to_le_bytes());
                    } else {
                        out.extend_from_slice(&[0, 0]);
                        out.extend_from_slice(&(m as u32).to_le_bytes());
                    }
                }
            }
        }
        push_flag(&mut out, 1, &mut flags, &mut flag_count, &mut flag_pos);
        p += best;
    }
    // Unused flag bits are set to 1: the decoder then finds "match at end of input".
    let rest = 32 - flag_count;
    let last = if rest == 32 {
        u32::MAX
    } else {
        (flags << rest) | ((1u32 << rest) - 1)
    };
    out[flag_pos..flag_pos + 4].copy_from_slice(&last.to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(data: &[u8]) {
        let c = compress(data);
        let mut out = Vec::new();
        decompress_into(&c, &mut out, data.len()).unwrap();
        assert_eq!(out, data);
    }

    #[test]
    fn round_trips_literals_runs_and_long_matches() {
        round_trip(b"");
        round_trip(b"a");
        round_trip(b"abcabcabcabcabcabcabcabcabcabc");
        round_trip(&[0xFFu8; 100_000]);
        let mut v = Vec::new();
        let mut x = 12345u32;
        for i in 0..70_000u32 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            v.push(if i % 7 == 0 {
                (x >> 16) as u8
            } else {
                (i % 13) as u8
            });
        }
        round_trip(&v);
    }

    #[test]
    fn spec_example_abc() {
        // [MS-XCA] 3.2 example: "abc" repeated 100 times.
        let c = [
            0xff, 0xff, 0xff, 0x1f, b'a', b'b', b'c', 0x17, 0x00, 0x0F, 0xFF, 0x26, 0x01,
        ];
        let mut out = Vec::new();
        decompress_into(&c, &mut out, 1000).unwrap();
        assert_eq!(out, b"abc".repeat(100));
    }

    #[test]
    fn bad_offset_and_cap_are_errors() {
        // flag word: first token is a match with nothing before it.
        let c = [0, 0, 0, 0x80, 0x08, 0x00];
        let mut out = Vec::new();
        assert_eq!(
            decompress_into(&c, &mut out, 100),
            Err(Lz77Error::BadOffset { at: 4 })
        );
        let c = compress(&[7u8; 1000]);
        assert_eq!(decompress_into(&c, &mut out, 10), Err(Lz77Error::TooLong));
        // Literals only, one more than allowed: an error, not a silent cut.
        let mut lit = vec![0u8; 4];
        lit.extend_from_slice(b"0123456789");
        assert_eq!(decompress_into(&lit, &mut out, 9), Err(Lz77Error::TooLong));
        assert_eq!(decompress_into(&lit, &mut out, 10), Ok(()));
        assert_eq!(out, b"0123456789");
        // Exactly full at a flag-word boundary with input left over.
        let mut two = vec![0u8; 4];
        two.extend_from_slice(&[b'a'; 32]);
        two.extend_from_slice(&[0, 0, 0, 0, b'z']);
        assert_eq!(decompress_into(&two, &mut out, 32), Err(Lz77Error::TooLong));
        assert_eq!(decompress_into(&two, &mut out, 33), Ok(()));
    }
}
