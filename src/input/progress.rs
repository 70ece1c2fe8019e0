//! A hook for progress display: every input opened by [`super::open`] reports
//! the raw bytes read from it to the process-wide observer, if one is set.
//!
//! The library draws nothing; the binary installs an observer (an indicatif
//! bar on a terminal) with [`set_observer`]. Reports are batched per
//! [`STEP`] bytes, so the cost per read is one addition.

use std::io::Read;
use std::sync::{Arc, RwLock};

/// Bytes between two `advance` calls.
pub const STEP: u64 = 1 << 20;

pub trait Observer: Send + Sync {
    /// An input was opened; `total` is its size when known (not for stdin).
    fn start(&self, path: &str, total: Option<u64>);
    /// `bytes` more bytes of the current input were read.
    fn advance(&self, bytes: u64);
    /// The current input was read to its end (or dropped).
    fn finish(&self);
}

static OBSERVER: RwLock<Option<Arc<dyn Observer>>> = RwLock::new(None);

/// Installs (or, with None, removes) the observer.
pub fn set_observer(observer: Option<Arc<dyn Observer>>) {
    if let Ok(mut o) = OBSERVER.write() {
        *o = observer;
    }
}

fn current() -> Option<Arc<dyn Observer>> {
    OBSERVER.read().ok().and_then(|o| o.clone())
}

/// Counts the bytes read through it and reports them.
pub struct Counting<R> {
    inner: R,
    observer: Option<Arc<dyn Observer>>,
    pending: u64,
}

impl<R: Read> Counting<R> {
    pub fn new(inner: R, path: &str, total: Option<u64>) -> Counting<R> {
        let observer = current();
        if let Some(o) = &observer {
            o.start(path, total);
        }
        Counting {
            inner,
            observer,
            pending: 0,
        }
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(o) = &self.observer {
            self.pending += n as u64;
            if self.pending >= STEP || n == 0 {
                o.advance(self.pending);
                self.pending = 0;
            }
        }
        Ok(n)
    }
}

impl<R> Drop for Counting<R> {
    fn drop(&mut self) {
        if let Some(o) = &self.observer {
            if self.pending > 0 {
                o.advance(self.pending);
            }
            o.finish();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Log(Mutex<Vec<String>>);
    impl Observer for Log {
        fn start(&self, path: &str, total: Option<u64>) {
            self.0
                .lock()
                .unwrap()
                .push(format!("start {path} {total:?}"));
        }
        fn advance(&self, bytes: u64) {
            self.0.lock().unwrap().push(format!("+{bytes}"));
        }
        fn finish(&self) {
            self.0.lock().unwrap().push("finish".into());
        }
    }

    #[test]
    fn reports_every_byte_once() {
        let log = Arc::new(Log::default());
        let data = vec![7u8; (STEP as usize) * 2 + 10];
        {
            let obs: Arc<dyn Observer> = log.clone();
            let mut r = Counting {
                inner: &data[..],
                observer: Some(obs.clone()),
                pending: 0,
            };
            obs.start("x", Some(data.len() as u64));
            let mut sink = Vec::new();
            r.read_to_end(&mut sink).unwrap();
            assert_eq!(sink.len(), data.len());
        }
        let got = log.0.lock().unwrap().clone();
        let total: u64 = got
            .iter()
            .filter_map(|s| s.strip_prefix('+'))
            .map(|n| n.parse::<u64>().unwrap())
            .sum();
        assert_eq!(total, data.len() as u64);
        assert_eq!(
            got.first().map(String::as_str),
            Some("start x Some(2097162)")
        );
        assert_eq!(got.last().map(String::as_str), Some("finish"));
    }
}
