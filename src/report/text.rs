//! Small text helpers the human reporters share.

/// A path shortened from the left to `max` characters (`…/dir/file`), so the
/// file name, the part that tells inputs apart, stays.
pub fn elide_left(path: &str, max: usize) -> String {
    let n = path.chars().count();
    if n <= max {
        return path.to_string();
    }
    let tail: String = path.chars().skip(n + 1 - max).collect();
    format!("…{tail}")
}
