//! A reader thread for inputs read once (stdin, compressed files): it reads
//! (and decompresses) large blocks, copies each to the evidence spool, and
//! hands them to the parse thread through a short queue. The parse thread
//! never waits on a `read` or a spool write while a block is ready, and the
//! two cores share the work (decompression, pipe reads and spooling on one,
//! parsing on the other).

use std::io::{self, Read, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

/// Bytes per block handed over.
const BLOCK: usize = 1 << 20;
/// Blocks queued ahead of the parser: bounds memory to a few MiB.
const QUEUE: usize = 4;

/// A `Read` over the blocks the reader thread produces.
pub struct Prefetch {
    rx: Receiver<io::Result<Vec<u8>>>,
    /// Emptied blocks go back to the reader thread.
    spare: SyncSender<Vec<u8>>,
    current: Vec<u8>,
    at: usize,
    done: bool,
    thread: Option<JoinHandle<()>>,
}

impl Prefetch {
    /// Starts the reader thread over `source`, copying every byte to `spool`.
    pub fn spawn(
        mut source: Box<dyn Read + Send>,
        mut spool: Option<Box<dyn Write + Send>>,
    ) -> io::Result<Prefetch> {
        let (tx, rx) = sync_channel::<io::Result<Vec<u8>>>(QUEUE);
        let (spare_tx, spare_rx) = sync_channel::<Vec<u8>>(QUEUE + 2);
        let thread = std::thread::Builder::new()
            .name("input-reader".into())
            .spawn(move || {
                loop {
                    let mut block = spare_rx.try_recv().unwrap_or_default();
                    block.clear();
                    block.resize(BLOCK, 0);
                    let n = match super::read_full(&mut source, &mut block) {
                        Ok(n) => n,
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            return;
                        }
                    };
                    block.truncate(n);
                    if let Some(s) = spool.as_mut()
                        && let Err(e) = s.write_all(&block)
                    {
                        let _ = tx.send(Err(e));
                        return;
                    }
                    if n == 0 {
                        if let Some(s) = spool.as_mut()
                            && let Err(e) = s.flush()
                        {
                            let _ = tx.send(Err(e));
                        }
                        return; // dropping `tx` ends the stream
                    }
                    if tx.send(Ok(block)).is_err() {
                        return; // the parser stopped reading
                    }
                }
            })?;
        Ok(Prefetch {
            rx,
            spare: spare_tx,
            current: Vec::new(),
            at: 0,
            done: false,
            thread: Some(thread),
        })
    }

    /// Waits for the reader thread (after the stream ended or was abandoned).
    fn join(&mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Read for Prefetch {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.current.len() {
            if self.done {
                return Ok(0);
            }
            match self.rx.recv() {
                Ok(Ok(block)) => {
                    let old = std::mem::replace(&mut self.current, block);
                    self.at = 0;
                    let _ = self.spare.try_send(old);
                }
                Ok(Err(e)) => {
                    self.done = true;
                    self.join();
                    return Err(e);
                }
                Err(_) => {
                    self.done = true;
                    self.join();
                    return Ok(0);
                }
            }
        }
        let n = buf.len().min(self.current.len() - self.at);
        buf[..n].copy_from_slice(&self.current[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        // Unblock a reader thread waiting to send, then wait for it.
        let (_, dead) = sync_channel(0);
        self.rx = dead;
        self.join();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A spool the test can look into after the thread wrote it.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_byte_arrives_in_order_and_reaches_the_spool() {
        let data: Vec<u8> = (0..3 * BLOCK + 12345).map(|i| (i % 251) as u8).collect();
        let spool = Shared::default();
        let mut p = Prefetch::spawn(
            Box::new(io::Cursor::new(data.clone())),
            Some(Box::new(spool.clone())),
        )
        .unwrap();
        let mut got = Vec::new();
        p.read_to_end(&mut got).unwrap();
        assert_eq!(got, data);
        drop(p);
        assert_eq!(*spool.0.lock().unwrap(), data);
    }

    struct Failing;
    impl Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::other("disk on fire"))
        }
    }

    #[test]
    fn a_read_error_reaches_the_parser() {
        let mut p = Prefetch::spawn(Box::new(Failing), None).unwrap();
        let mut got = Vec::new();
        let e = p.read_to_end(&mut got).unwrap_err();
        assert_eq!(e.to_string(), "disk on fire");
    }

    #[test]
    fn dropping_early_does_not_hang() {
        let data = vec![b'x'; 20 * BLOCK];
        let mut p = Prefetch::spawn(Box::new(io::Cursor::new(data)), None).unwrap();
        let mut first = [0u8; 10];
        p.read_exact(&mut first).unwrap();
        drop(p);
    }
}
