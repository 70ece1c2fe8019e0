//! Unit tests of the lifecycle builder, each driven by a few inline JSON-lines
//! events (the project's own schema, docs/jsonl-schema.md): what generations,
//! releases, links and per-table facts a stream of events produces.

use super::{GenId, HandleGraph, LifecycleBuilder, Link, Provenance, ReleaseHow};
use crate::formats::{ReadStats, jsonl};
use crate::model::{Handle, Interner};

/// Builds the graph of `lines` (one JSON event per line) as a complete-history
/// format, the way the pipeline builds it for JSON-lines input.
fn graph(lines: &str) -> (HandleGraph, Interner) {
    let mut interner = Interner::new();
    let graph = {
        let mut builder = LifecycleBuilder::new(&mut interner);
        builder.set_complete_history(true);
        let mut stats = ReadStats::default();
        builder
            .with_context(0, &mut stats, |ctx| {
                jsonl::read(lines.as_bytes(), "inline.jsonl", ctx)
            })
            .expect("the inline events are valid JSON lines");
        assert_eq!(
            stats.skipped, 0,
            "no inline line may be skipped: {:?}",
            stats.skipped_by_reason
        );
        builder.finish()
    };
    (graph, interner)
}

/// The generations of `handle`, oldest first.
fn gens_of(g: &HandleGraph, handle: Handle) -> Vec<&super::Generation> {
    g.gens
        .iter()
        .map(|x| &**x)
        .filter(|x| x.handle == handle)
        .collect()
}

#[test]
fn a_cleanly_closed_generation_is_not_kept_once_its_table_ends() {
    // Memory follows live handles: nothing a rule reads happened to it.
    let (g, _) = graph(
        r#"{"v":1,"pid":10,"op":"open","handle":4,"type":"file","name":"/etc/hostname"}
{"v":1,"pid":10,"op":"use","handle":4,"call":"read","status":0}
{"v":1,"pid":10,"op":"close","handle":4}
{"v":1,"pid":10,"op":"open","handle":3,"type":"file","name":"/etc/passwd"}"#,
    );
    assert!(gens_of(&g, 4).is_empty());
    let kept = gens_of(&g, 3);
    assert_eq!(kept.len(), 1, "the handle still open at the end is kept");
    assert_eq!(kept[0].provenance, Provenance::Opened);
    assert!(kept[0].open_at_exit.is_some());
}

#[test]
fn a_recycled_value_is_a_new_generation_linked_to_the_old_one() {
    let (g, _) = graph(
        r#"{"v":1,"pid":10,"op":"open","handle":5,"type":"file","name":"/tmp/a"}
{"v":1,"pid":10,"op":"close","handle":5}
{"v":1,"pid":10,"op":"close-failed","handle":5,"status":"EBADF"}
{"v":1,"pid":10,"op":"open","handle":5,"type":"socket"}"#,
    );
    let gens = gens_of(&g, 5);
    assert_eq!(gens.len(), 2, "the reopen starts a second generation");
    let (old, new) = (gens[0], gens[1]);
    assert_eq!(old.release().map(|r| r.how), Some(ReleaseHow::Close));
    assert_eq!(old.next, Some(new.id));
    assert_eq!(new.prev, Some(old.id));
    assert!(new.is_live() || new.open_at_exit.is_some());
    assert_eq!(g.previous(new).map(|p| p.id), Some(old.id));
    let recycled = g.linked(old, Link::RecycledAs);
    assert_eq!(
        recycled.iter().map(|x| x.id).collect::<Vec<GenId>>(),
        vec![new.id]
    );
}

#[test]
fn a_second_close_lands_after_the_release() {
    let (g, _) = graph(
        r#"{"v":1,"pid":10,"op":"open","handle":6,"type":"Event"}
{"v":1,"pid":10,"op":"close","handle":6}
{"v":1,"pid":10,"op":"close-failed","handle":6,"status":"ERROR_INVALID_HANDLE"}"#,
    );
    let gens = gens_of(&g, 6);
    assert_eq!(gens.len(), 1, "a failed close opens nothing");
    assert_eq!(gens[0].cold.after_release.total(), 1);
    assert!(
        gens[0].notable,
        "a generation with a release after its release is kept"
    );
}

#[test]
fn a_duplicate_is_linked_to_its_source() {
    let (g, _) = graph(
        r#"{"v":1,"pid":10,"op":"open","handle":"0x1c","type":"Event"}
{"v":1,"pid":10,"op":"dup","handle":"0x20","source_handle":"0x1c"}"#,
    );
    let src = gens_of(&g, 0x1c)[0];
    let dup = gens_of(&g, 0x20)[0];
    assert_eq!(
        dup.provenance,
        Provenance::Duplicated { from: Some(src.id) }
    );
    assert_eq!(
        g.linked(src, Link::DuplicatedAs)
            .iter()
            .map(|x| x.id)
            .collect::<Vec<_>>(),
        vec![dup.id]
    );
}

#[test]
fn threads_share_their_process_table() {
    let (g, _) = graph(
        r#"{"v":1,"pid":10,"tid":10,"op":"thread-start","thread":11}
{"v":1,"pid":10,"tid":11,"op":"open","handle":7,"type":"Event"}
{"v":1,"pid":10,"tid":10,"op":"close","handle":7}
{"v":1,"pid":10,"tid":11,"op":"close-failed","handle":7,"status":"ERROR_INVALID_HANDLE"}"#,
    );
    let gen7 = gens_of(&g, 7);
    assert_eq!(
        gen7.len(),
        1,
        "the worker's second close finds the one generation released"
    );
    assert_eq!(gen7[0].cold.after_release.total(), 1);
    assert_eq!(g.tables.len(), 1, "both threads use pid 10's table");
    let table = g.table(gen7[0].table);
    assert_eq!(table.pid, 10);
    assert!(table.tasks_seen >= 2);
}

#[test]
fn handles_of_separate_processes_are_separate_tables() {
    let (g, _) = graph(
        r#"{"v":1,"pid":10,"op":"open","handle":8,"type":"Event"}
{"v":1,"pid":20,"op":"open","handle":8,"type":"File"}
{"v":1,"pid":20,"op":"close-failed","handle":9,"status":"ERROR_INVALID_HANDLE"}"#,
    );
    let gens = gens_of(&g, 8);
    assert_eq!(gens.len(), 2);
    assert_ne!(gens[0].table, gens[1].table);
    let never_valid: Vec<usize> = g.tables.iter().map(|t| t.never_valid.total()).collect();
    assert_eq!(
        never_valid.iter().sum::<usize>(),
        1,
        "only pid 20 saw the bad close: {never_valid:?}"
    );
}

#[test]
fn a_close_of_a_value_never_opened_in_a_complete_history_is_recorded_as_never_valid() {
    let (g, _) = graph(
        r#"{"v":1,"pid":10,"op":"close-failed","handle":"0x99","status":"ERROR_INVALID_HANDLE"}"#,
    );
    assert!(
        gens_of(&g, 0x99).is_empty(),
        "nothing was ever open at 0x99"
    );
    assert_eq!(g.tables[0].never_valid.total(), 1);
}

#[test]
fn process_exit_ends_the_table_with_its_handles_open_at_exit() {
    let (g, _) = graph(
        r#"{"v":1,"pid":10,"op":"open","handle":9,"type":"file","name":"/tmp/leak"}
{"v":1,"pid":10,"op":"process-exit"}"#,
    );
    let gen9 = gens_of(&g, 9)[0];
    assert!(
        gen9.open_at_exit.is_some(),
        "the exit is remembered as where the handle was still open"
    );
}

/// Site numbers of pruned sites are given back and reused, so that many
/// short processes each opening distinct files do not keep a number per site
/// ever seen; a generation that is kept keeps its site.
#[test]
fn site_numbers_follow_the_sites_kept() {
    use crate::formats::EventSink;
    use crate::model::{Event, Interner, Op, Origin};
    let mut interner = Interner::new();
    let open = interner.intern("openat");
    let close = interner.intern("close");
    let clone = interner.intern("clone");
    let mut b = LifecycleBuilder::new(&mut interner);
    let mut seq_line = 0u32;
    let mut ev = |op: Op, call, pid: u32, handle: i64, resource: Option<crate::model::Sym>| {
        seq_line += 1;
        let mut e = Event::new(op, call, Origin::line(0, seq_line, 0));
        e.pid = pid;
        e.tid = pid;
        e.handle = handle;
        e.resource = resource;
        e.kind = crate::model::ResourceKind::File;
        e
    };
    let mut paths = Vec::new();
    for i in 0..200u32 {
        paths.push(
            b.interner()
                .intern(&format!("/src/{}.h", "x".repeat(1 + i as usize % 50))),
        );
    }
    // 200 short children, each opening and closing 3 distinct files (folded
    // to the same site names per child), then exiting.
    for child in 0..200u32 {
        let pid = 1000 + child;
        b.event(ev(
            Op::Spawn {
                child: pid,
                shares_table: false,
                thread: false,
            },
            clone,
            1,
            -1,
            None,
        ));
        for (k, fd) in (3..6).enumerate() {
            let path = paths[(child as usize + k) % paths.len()];
            b.event(ev(Op::Open { cloexec: false }, open, pid, fd, Some(path)));
            b.event(ev(Op::Close, close, pid, fd, None));
        }
        b.event(ev(Op::TaskExit, close, pid, -1, None));
    }
    // One that leaves two handles open: its site is kept.
    b.event(ev(
        Op::Spawn {
            child: 5000,
            shares_table: false,
            thread: false,
        },
        clone,
        1,
        -1,
        None,
    ));
    b.event(ev(
        Op::Open { cloexec: false },
        open,
        5000,
        3,
        Some(paths[0]),
    ));
    b.event(ev(
        Op::Open { cloexec: false },
        open,
        5000,
        4,
        Some(paths[0]),
    ));
    b.event(ev(Op::TaskExit, close, 5000, -1, None));
    assert!(
        b.site_list.len() < 20,
        "{} site numbers for 601 sites, nearly all pruned",
        b.site_list.len()
    );
    let g = b.finish();
    let kept: Vec<_> = g.gens.iter().filter(|x| x.open_at_exit.is_some()).collect();
    assert_eq!(kept.len(), 2);
    for k in kept {
        let site = g.site_of(k).expect("a kept generation keeps its site");
        assert!(
            g.sites
                .iter()
                .any(|(key, s)| *key == site && s.open_at_exit == 2)
        );
    }
}
