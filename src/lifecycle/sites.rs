//! Per allocation site counters: what the leak rules need about every
//! generation, including the ones the builder already dropped.

use crate::model::Event;

/// How many live-count samples a site keeps; older samples are thinned by half.
const MAX_SAMPLES: usize = 64;

#[derive(Clone, Debug)]
pub struct SiteStats {
    pub first_open: Event,
    pub last_open: Event,
    pub opened: u64,
    pub released: u64,
    pub live: u64,
    pub peak_live: u64,
    /// Still open when the table ended.
    pub open_at_exit: u64,
    /// (open number, live count after it), thinned to at most `MAX_SAMPLES`.
    pub samples: Vec<(u64, u64)>,
    sample_every: u64,
}

impl SiteStats {
    pub fn new(first: Event) -> SiteStats {
        SiteStats {
            first_open: first,
            last_open: first,
            opened: 0,
            released: 0,
            live: 0,
            peak_live: 0,
            open_at_exit: 0,
            samples: Vec::new(),
            sample_every: 1,
        }
    }

    pub fn opened(&mut self, ev: &Event) {
        self.opened += 1;
        self.live += 1;
        self.peak_live = self.peak_live.max(self.live);
        self.last_open = *ev;
        if self.opened.is_multiple_of(self.sample_every) {
            self.samples.push((self.opened, self.live));
            if self.samples.len() >= MAX_SAMPLES {
                let thinned: Vec<(u64, u64)> = self.samples.iter().copied().step_by(2).collect();
                self.samples = thinned;
                self.sample_every *= 2;
            }
        }
    }

    pub fn released(&mut self) {
        self.released += 1;
        self.live = self.live.saturating_sub(1);
    }

    /// True when the live count keeps rising: each quarter of the samples ends
    /// higher than the one before, and most opens were never released.
    pub fn keeps_rising(&self) -> bool {
        if self.samples.len() < 8 {
            return false;
        }
        let q = self.samples.len() / 4;
        let at = |i: usize| self.samples.get(i).map(|s| s.1).unwrap_or(0);
        let marks = [
            at(q - 1),
            at(2 * q - 1),
            at(3 * q - 1),
            at(self.samples.len() - 1),
        ];
        marks.windows(2).all(|w| w[1] > w[0])
    }
}
