//! What a finding costs: constant texts are borrowed, not copied into every
//! finding, and a finding kept to the end of the run has no spare room (the
//! 500k-finding bench in `benches/README.md` is the full size; here the
//! structure that keeps it under 1 GB). The trace is SYNTHETIC, the shape
//! `benches/pathological.py findings` writes: distinct double closes of fd 3
//! (and every 8th file left open).

use std::borrow::Cow;

use handlecheck::analysis::{Options, analyze};
use handlecheck::model::Role;

#[test]
fn distinct_double_closes_share_their_constant_texts_and_keep_no_spare_room() {
    const N: usize = 300;
    let text = crate::common::synthetic::double_closes(N);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("trace.log");
    std::fs::write(&path, text).unwrap();

    let a = analyze(&[path.to_string_lossy().into_owned()], &Options::default()).unwrap();
    let hc001: Vec<_> = a.findings.iter().filter(|f| f.code == "HC001").collect();
    assert_eq!(hc001.len(), N, "one finding per double close");
    for f in &hc001 {
        assert_eq!(f.count, 1);
        assert_eq!(f.labels.len(), 3, "{f:?}");
        assert_eq!(f.labels.capacity(), f.labels.len(), "{}", f.message);
        assert_eq!(f.notes.capacity(), f.notes.len(), "{}", f.message);
        assert_eq!(f.message.capacity(), f.message.len(), "{}", f.message);
        assert_eq!(f.site.capacity(), f.site.len(), "{}", f.site);
        let note = &f.notes[0];
        assert!(
            note.starts_with("nothing could have taken the value"),
            "{note}"
        );
        assert!(
            matches!(note, Cow::Borrowed(_)),
            "the note is copied: {note}"
        );
        for l in &f.labels {
            match l.role {
                Role::FirstRelease | Role::BadRelease => assert!(
                    matches!(l.text, Cow::Borrowed(_)),
                    "a constant label text is copied: {}",
                    l.text
                ),
                // Names the file: built for this finding.
                _ => assert!(l.text.contains("/data/in-"), "{}", l.text),
            }
        }
    }
}
