//! A counting global allocator for the test binary: live bytes and their peak
//! per thread, so a test can assert the memory bound of what it runs on its
//! own thread (the readers are single-threaded) while other tests run.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

pub struct Counting;

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn add(by: isize) {
    // try_with: the thread-local may be gone while a thread shuts down.
    let _ = LIVE.try_with(|l| {
        let now = l.get() + by;
        l.set(now);
        let _ = PEAK.try_with(|p| p.set(p.get().max(now)));
    });
}

// SAFETY: every call goes to the system allocator unchanged; only counted.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            add(layout.size() as isize);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            add(layout.size() as isize);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        add(-(layout.size() as isize));
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            add(new_size as isize - layout.size() as isize);
        }
        p
    }
}

/// Runs `f` and returns the peak bytes it had allocated at once on this thread.
pub fn peak_of(f: impl FnOnce()) -> usize {
    let start = LIVE.with(|l| l.get());
    PEAK.with(|p| p.set(start));
    f();
    let peak = PEAK.with(|p| p.get());
    (peak - start).max(0) as usize
}

/// The bound of the issue: peak allocation ≤ 4 × input + 64 MB.
pub fn assert_bounded(what: &str, input_len: usize, f: impl FnOnce()) {
    let peak = peak_of(f);
    let bound = 4 * input_len + (64 << 20);
    assert!(
        peak <= bound,
        "{what}: peak {peak} bytes for {input_len} input bytes (bound {bound})"
    );
}
