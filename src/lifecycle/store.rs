//! Where the builder keeps generations: indexed by id (ids are handed out in
//! order), in fixed chunks of boxed slots.
//!
//! A hash map of generations by value cost a hash per lookup (several per
//! event) and, while growing, held the old and the new table at once: twice
//! the memory of every live handle. Here a lookup is two index operations,
//! growth adds one chunk of pointers at a time, and a chunk whose generations
//! were all dropped is freed, so memory follows the generations kept, not the
//! number ever made.

use super::generation::{GenId, Generation};

/// Slots per chunk: one chunk of pointers is 32 KiB.
const CHUNK: usize = 4096;

struct Chunk {
    slots: Vec<Option<Box<Generation>>>,
    used: usize,
}

#[derive(Default)]
pub(super) struct GenStore {
    chunks: Vec<Option<Chunk>>,
    len: usize,
}

fn split(id: GenId) -> (usize, usize) {
    let i = id.0 as usize;
    (i / CHUNK, i % CHUNK)
}

impl GenStore {
    pub fn get(&self, id: &GenId) -> Option<&Generation> {
        let (c, s) = split(*id);
        self.chunks.get(c)?.as_ref()?.slots.get(s)?.as_deref()
    }

    pub fn get_mut(&mut self, id: &GenId) -> Option<&mut Generation> {
        let (c, s) = split(*id);
        self.chunks
            .get_mut(c)?
            .as_mut()?
            .slots
            .get_mut(s)?
            .as_deref_mut()
    }

    pub fn insert(&mut self, id: GenId, g: Generation) {
        self.insert_boxed(id, Box::new(g));
    }

    /// Inserts a generation already boxed (the box of one just removed: one
    /// allocation and one free fewer than a new box).
    pub fn insert_boxed(&mut self, id: GenId, g: Box<Generation>) {
        let (c, s) = split(id);
        if self.chunks.len() <= c {
            self.chunks.resize_with(c + 1, || None);
        }
        let chunk = self.chunks[c].get_or_insert_with(|| Chunk {
            slots: (0..CHUNK).map(|_| None).collect(),
            used: 0,
        });
        let slot = &mut chunk.slots[s];
        if slot.is_none() {
            chunk.used += 1;
            self.len += 1;
        }
        *slot = Some(g);
    }

    /// Removes a generation; its box is given back whole, for a new
    /// generation to reuse (see [`GenStore::insert_boxed`]).
    pub fn remove(&mut self, id: &GenId) -> Option<Box<Generation>> {
        let (c, s) = split(*id);
        let entry = self.chunks.get_mut(c)?;
        let chunk = entry.as_mut()?;
        let g = chunk.slots.get_mut(s)?.take()?;
        chunk.used -= 1;
        self.len -= 1;
        if chunk.used == 0 {
            *entry = None;
        }
        Some(g)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// Every generation kept, in id order, by reference.
    pub fn iter(&self) -> impl Iterator<Item = &Generation> {
        self.chunks
            .iter()
            .flatten()
            .flat_map(|c| c.slots.iter().flatten().map(|g| &**g))
    }

    /// Every generation, in id order.
    pub fn into_values(self) -> impl Iterator<Item = Box<Generation>> {
        self.chunks
            .into_iter()
            .flatten()
            .flat_map(|c| c.slots.into_iter().flatten())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::generation::{Provenance, TableId};
    use crate::model::ResourceKind;

    fn generation(id: u32) -> Generation {
        Generation {
            kind: ResourceKind::File,
            made_in_trace: true,
            ..Generation::new(GenId(id), TableId(0), i64::from(id), Provenance::Opened)
        }
    }

    #[test]
    fn insert_get_remove_and_order() {
        let mut s = GenStore::default();
        for id in [5u32, 0, 9000, 4095, 4096] {
            s.insert(GenId(id), generation(id));
        }
        assert_eq!(s.len(), 5);
        assert_eq!(s.get(&GenId(9000)).map(|g| g.handle), Some(9000));
        assert!(s.get(&GenId(6)).is_none());
        assert!(s.get(&GenId(1 << 30)).is_none());
        s.get_mut(&GenId(5)).unwrap().cold.make().uses = 3;
        assert_eq!(s.remove(&GenId(5)).map(|g| g.cold.uses), Some(3));
        assert!(s.remove(&GenId(5)).is_none());
        assert_eq!(s.len(), 4);
        let ids: Vec<u32> = s.into_values().map(|g| g.id.0).collect();
        assert_eq!(ids, vec![0, 4095, 4096, 9000]);
    }

    #[test]
    fn an_emptied_chunk_is_freed() {
        let mut s = GenStore::default();
        for id in 0..(2 * CHUNK as u32) {
            s.insert(GenId(id), generation(id));
        }
        for id in 0..CHUNK as u32 {
            s.remove(&GenId(id));
        }
        assert!(s.chunks[0].is_none());
        assert!(s.chunks[1].is_some());
        assert_eq!(s.len(), CHUNK);
    }
}
