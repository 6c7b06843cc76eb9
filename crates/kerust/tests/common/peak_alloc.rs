//! A global allocator that records the peak of live bytes allocated by one thread (included
//! with `#[path]` by the tests that install it, as `alloc_counter.rs`). Only the thread that
//! switched measuring on is measured; memory it frees that was allocated before (or by
//! another thread) lowers the live count, so call [`peak_bytes`] on work that frees nothing
//! older than itself (loading from bytes in memory does not).

#![allow(dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicIsize, Ordering};

pub struct Peak;

thread_local! {
    static ON: Cell<bool> = const { Cell::new(false) };
}
static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

fn on() -> bool {
    ON.try_with(|c| c.get()).unwrap_or(false)
}

fn grow(by: isize) {
    let now = LIVE.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

unsafe impl GlobalAlloc for Peak {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        if on() && !p.is_null() {
            grow(l.size() as isize);
        }
        p
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(l) };
        if on() && !p.is_null() {
            grow(l.size() as isize);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        if on() {
            LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        }
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, l, n) };
        if on() && !q.is_null() {
            grow(n as isize - l.size() as isize);
        }
        q
    }
}

/// Runs `f` and returns its result with the peak of bytes it had allocated and not yet
/// freed at any moment (on this thread). Measurements are serialized by a lock: the counters
/// are global.
pub fn peak_bytes<R>(f: impl FnOnce() -> R) -> (R, usize) {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    LIVE.store(0, Ordering::SeqCst);
    PEAK.store(0, Ordering::SeqCst);
    ON.with(|c| c.set(true));
    let r = f();
    ON.with(|c| c.set(false));
    (r, PEAK.load(Ordering::SeqCst).max(0) as usize)
}
