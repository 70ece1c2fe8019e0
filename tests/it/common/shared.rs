//! The real `.etl` samples of other projects, read from `../shared/samples/`
//! (never copied into this repository). A clone without `../shared` still
//! passes: tests that need a sample print why they skip and return.

use std::io::Read;
use std::path::PathBuf;

/// `../shared/samples/<rel>` from the project root (`HANDLECHECK_SHARED_SAMPLES`
/// names another root: set it to a missing folder to check the skips).
pub fn sample_path(rel: &str) -> PathBuf {
    match std::env::var_os("HANDLECHECK_SHARED_SAMPLES") {
        Some(root) => PathBuf::from(root).join(rel),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/samples")
            .join(rel),
    }
}

/// The trace in a sample file: `.zip` archives hold one `.etl` (the first is
/// taken), `.etlgz` is gzip; anything else is returned as is. `None` (with a
/// message on stderr) when the shared samples are not there.
pub fn sample(rel: &str) -> Option<Vec<u8>> {
    let path = sample_path(rel);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!(
                "skipping: shared sample {} not available ({e}); the ETL sample tests need ../shared/samples",
                path.display()
            );
            return None;
        }
    };
    if rel.ends_with(".zip") {
        return Some(unzip_first_etl(&bytes).unwrap_or_else(|| panic!("{rel}: no .etl entry")));
    }
    if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .unwrap_or_else(|e| panic!("{rel}: {e}"));
        return Some(out);
    }
    Some(bytes)
}

/// The shared sample as a plain file path for `analyze` (unpacked into a
/// temporary directory when it is an archive).
pub fn sample_file(rel: &str) -> Option<(tempfile::TempDir, String)> {
    let bytes = sample(rel)?;
    let dir = tempfile::tempdir().unwrap();
    let name = rel
        .rsplit('/')
        .next()
        .unwrap()
        .trim_end_matches(".zip")
        .trim_end_matches("gz");
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    let p = path.to_str().unwrap().to_string();
    Some((dir, p))
}

/// A zip archive's first `.etl` member (stored or deflated; local headers with
/// sizes, as the samples are written).
fn unzip_first_etl(zip: &[u8]) -> Option<Vec<u8>> {
    let u16_at = |at: usize| Some(u16::from_le_bytes(zip.get(at..at + 2)?.try_into().ok()?));
    let u32_at = |at: usize| Some(u32::from_le_bytes(zip.get(at..at + 4)?.try_into().ok()?));
    let mut at = 0usize;
    while u32_at(at)? == 0x0403_4b50 {
        let method = u16_at(at + 8)?;
        let compressed = u32_at(at + 18)? as usize;
        let name_len = u16_at(at + 26)? as usize;
        let extra_len = u16_at(at + 28)? as usize;
        let name = zip.get(at + 30..at + 30 + name_len)?;
        let data_at = at + 30 + name_len + extra_len;
        let data = zip.get(data_at..data_at + compressed)?;
        if name.ends_with(b".etl") {
            return match method {
                0 => Some(data.to_vec()),
                8 => {
                    let mut out = Vec::new();
                    flate2::read::DeflateDecoder::new(data)
                        .read_to_end(&mut out)
                        .ok()?;
                    Some(out)
                }
                _ => None,
            };
        }
        at = data_at + compressed;
    }
    None
}
