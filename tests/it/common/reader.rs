//! Runs a reader with a fresh interner, a `Vec` sink and fresh stats, and
//! hands back what it emitted (shared by the reader tests).

use handlecheck::formats::{ReadContext, ReadStats};
use handlecheck::model::{Event, InputId, Interner};

pub struct Collected<R> {
    pub result: R,
    pub events: Vec<Event>,
    pub interner: Interner,
    pub stats: ReadStats,
}

pub fn collect<R>(input: InputId, read: impl FnOnce(&mut ReadContext<'_>) -> R) -> Collected<R> {
    let mut events: Vec<Event> = Vec::new();
    let mut interner = Interner::new();
    let mut stats = ReadStats::default();
    let result = {
        let mut ctx = ReadContext {
            input,
            interner: &mut interner,
            sink: &mut events,
            stats: &mut stats,
        };
        read(&mut ctx)
    };
    Collected {
        result,
        events,
        interner,
        stats,
    }
}
