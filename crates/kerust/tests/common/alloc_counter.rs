//! A counting global allocator for the allocation tests (included with `#[path]` by the
//! tests that install it; a global allocator in `common/mod.rs` would land in every test).
//! Only the thread that switched counting on counts: the test harness allocates on its own
//! thread (reporting finished tests) while a test is counting. The tests run kerust on one
//! thread, so everything a training step allocates happens on the counting thread.

#![allow(dead_code)]

use kerust::callbacks::{Callback, Logs};
use kerust::models::{FitOptions, IntoTargets, Sequential};
use ndarray::{ArrayBase, Data, Dimension};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

fn counting() -> bool {
    COUNTING.try_with(|c| c.get()).unwrap_or(false)
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if counting() {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        if counting() {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.realloc(p, l, n) }
    }
}

/// Starts or stops counting on this thread.
pub fn set_counting(on: bool) {
    COUNTING.with(|c| c.set(on));
}

/// Allocations counted so far.
pub fn allocations() -> usize {
    ALLOCS.load(Ordering::SeqCst)
}

/// The allocations `f` makes on this thread.
pub fn counted(f: impl FnOnce()) -> usize {
    ALLOCS.store(0, Ordering::SeqCst);
    set_counting(true);
    f();
    set_counting(false);
    allocations()
}

/// Counts allocations from the end of the second epoch's first batch to the end of its
/// second-to-last batch (the first epoch sizes every buffer).
pub struct Window {
    pub epoch: usize,
    pub steps: usize,
}

impl Window {
    /// A window over an epoch of `steps` batches.
    pub fn new(steps: usize) -> Self {
        Window { epoch: 0, steps }
    }
}

impl Callback for Window {
    fn on_epoch_begin(&mut self, epoch: usize, _: &mut Sequential) {
        self.epoch = epoch;
    }
    fn on_train_batch_end(&mut self, batch: usize, _: &Logs, _: &mut Sequential) {
        if self.epoch == 1 && batch == 0 {
            ALLOCS.store(0, Ordering::SeqCst);
            set_counting(true);
        }
        if self.epoch == 1 && batch + 2 == self.steps {
            set_counting(false);
        }
    }
}

/// Trains `model` two epochs of `steps` batches on `x`, `y` and returns the allocations of
/// the second epoch's steady state, as [`Window`] counts them.
pub fn second_epoch_allocations<S, D>(
    model: &mut Sequential,
    x: &ArrayBase<S, D>,
    y: impl IntoTargets,
    steps: usize,
) -> usize
where
    S: Data<Elem = f32>,
    D: Dimension,
{
    let mut w = Window::new(steps);
    model
        .fit(
            x,
            y,
            FitOptions {
                epochs: 2,
                verbose: 0,
                callbacks: vec![&mut w],
                ..Default::default()
            },
        )
        .unwrap();
    allocations()
}
