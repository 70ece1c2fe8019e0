//! stub
pub fn sniff(_h: &[u8]) -> bool { false }
