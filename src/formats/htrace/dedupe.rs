//! Overlap of a new dump with what earlier dumps showed.

/// Longest `k` such that `new[..k] == old[old.len() - k..]`: the part of a new
/// ring-buffer dump (chronological) that an earlier dump already showed.
/// KMP over `old` with the failure function of `new`: O(n + m).
pub(crate) fn overlap(new: &[u64], old: &[u64]) -> usize {
    if new.is_empty() || old.is_empty() {
        return 0;
    }
    let mut pi = vec![0usize; new.len()];
    let mut j = 0usize;
    for i in 1..new.len() {
        while j > 0 && new.get(i) != new.get(j) {
            j = pi.get(j - 1).copied().unwrap_or(0);
        }
        if new.get(i) == new.get(j) {
            j += 1;
        }
        if let Some(p) = pi.get_mut(i) {
            *p = j;
        }
    }
    // Only the last new.len() items of old can overlap.
    let start = old.len().saturating_sub(new.len());
    let mut j = 0usize;
    for item in old.get(start..).unwrap_or(&[]) {
        while j > 0 && (j == new.len() || new.get(j) != Some(item)) {
            j = pi.get(j - 1).copied().unwrap_or(0);
        }
        if new.get(j) == Some(item) {
            j += 1;
        }
    }
    j
}

#[cfg(test)]
mod tests {
    use super::overlap;

    #[test]
    fn overlaps() {
        assert_eq!(overlap(&[3, 4, 5, 6], &[1, 2, 3, 4]), 2);
        assert_eq!(overlap(&[1, 2, 3], &[1, 2, 3]), 3);
        assert_eq!(overlap(&[9], &[1, 2]), 0);
        // Repeated identical records (a loop): only the true suffix counts.
        assert_eq!(overlap(&[7, 7, 7, 8], &[7, 7]), 2);
        assert_eq!(overlap(&[1, 2, 1, 2, 3], &[5, 1, 2, 1, 2]), 4);
        assert_eq!(overlap(&[], &[1]), 0);
    }
}
