//! Bounds-checked little-endian reads. Every read of input-derived data goes
//! through these: out of range gives `None`, never a panic.

#[inline]
pub fn u8_at(b: &[u8], at: usize) -> Option<u8> {
    b.get(at).copied()
}

#[inline]
pub fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([s[0], s[1]]))
}

#[inline]
pub fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

#[inline]
pub fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    let s = b.get(at..at.checked_add(8)?)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Some(u64::from_le_bytes(a))
}

/// A pointer-sized field (4 or 8 bytes), zero-extended.
#[inline]
pub fn ptr_at(b: &[u8], at: usize, ptr_size: usize) -> Option<u64> {
    if ptr_size == 4 {
        u32_at(b, at).map(u64::from)
    } else {
        u64_at(b, at)
    }
}

/// A NUL-terminated UTF-16LE string starting at `at` (unterminated: up to the
/// end). Returns the text (lossy) and the offset after the terminator.
pub fn utf16z_at(b: &[u8], at: usize) -> Option<(String, usize)> {
    let rest = b.get(at..)?;
    let mut units = Vec::new();
    let mut end = at + rest.len() - rest.len() % 2;
    for (i, c) in rest.chunks_exact(2).enumerate() {
        let u = u16::from_le_bytes([c[0], c[1]]);
        if u == 0 {
            end = at + 2 * i + 2;
            break;
        }
        units.push(u);
    }
    Some((String::from_utf16_lossy(&units), end))
}

/// A NUL-terminated 8-bit string starting at `at`; offset after the terminator.
pub fn ansiz_at(b: &[u8], at: usize) -> Option<(&[u8], usize)> {
    let rest = b.get(at..)?;
    match rest.iter().position(|&c| c == 0) {
        Some(n) => Some((&rest[..n], at + n + 1)),
        None => Some((rest, at + rest.len())),
    }
}

/// A Windows GUID as stored on disk (Data1..3 little-endian).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Guid(pub [u8; 16]);

impl Guid {
    pub fn at(b: &[u8], at: usize) -> Option<Guid> {
        let s = b.get(at..at.checked_add(16)?)?;
        let mut g = [0u8; 16];
        g.copy_from_slice(s);
        Some(Guid(g))
    }

    /// Parses `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (for constants).
    pub const fn from_u128(v: u128) -> Guid {
        let be = v.to_be_bytes();
        Guid([
            be[3], be[2], be[1], be[0], be[5], be[4], be[7], be[6], be[8], be[9], be[10], be[11],
            be[12], be[13], be[14], be[15],
        ])
    }
}

impl std::fmt::Display for Guid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let g = &self.0;
        write!(
            f,
            "{:08x}-{:04x}-{:04x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
            u32::from_le_bytes([g[0], g[1], g[2], g[3]]),
            u16::from_le_bytes([g[4], g[5]]),
            u16::from_le_bytes([g[6], g[7]]),
            g[8],
            g[9],
            g[10],
            g[11],
            g[12],
            g[13],
            g[14],
            g[15]
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_round_trips_through_display() {
        let g = Guid::from_u128(0xe13c0d23_ccbc_4e12_931b_d9cc2eee27e4);
        assert_eq!(g.0[..4], [0x23, 0x0d, 0x3c, 0xe1]);
        assert_eq!(g.to_string(), "e13c0d23-ccbc-4e12-931b-d9cc2eee27e4");
    }

    #[test]
    fn strings_stop_at_terminator_or_end() {
        let b = [b'A', 0, b'B', 0, 0, 0, b'C', 0];
        assert_eq!(utf16z_at(&b, 0), Some(("AB".to_string(), 6)));
        assert_eq!(utf16z_at(&b, 6), Some(("C".to_string(), 8)));
        assert_eq!(utf16z_at(&b, 9), None);
        assert_eq!(ansiz_at(b"ab\0c", 0), Some((&b"ab"[..], 3)));
    }
}
