//! Steady-state training allocates nothing of its own: a counting global allocator watches
//! the second epoch of `fit` (the first one sizes every buffer). The `gemm` crate allocates
//! its packing buffers on every product; the test measures those same five products alone
//! and requires a training step to allocate exactly that and nothing more.

use kerust::callbacks::{Callback, Logs};
use kerust::layers::{Dense, Dropout, Flatten};
use kerust::models::{FitOptions, Sequential};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

struct Counting;
static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Counts allocations between the first and the last batch of the second epoch.
struct Window {
    epoch: usize,
    steps: usize,
}

impl Callback for Window {
    fn on_epoch_begin(&mut self, epoch: usize, _: &mut Sequential) {
        self.epoch = epoch;
    }
    fn on_train_batch_end(&mut self, batch: usize, _: &Logs, _: &mut Sequential) {
        if self.epoch == 1 && batch == 0 {
            COUNTING.store(true, Ordering::SeqCst);
        }
        if self.epoch == 1 && batch + 2 == self.steps {
            COUNTING.store(false, Ordering::SeqCst);
        }
    }
}

#[test]
fn a_training_step_allocates_nothing() {
    kerust::set_num_threads(1);
    let x = ndarray::Array3::<f32>::from_shape_fn((640, 28, 28), |(i, j, k)| {
        ((i + j * k) % 7) as f32 / 7.0
    });
    let y = ndarray::Array1::<u8>::from_shape_fn(640, |i| (i % 10) as u8);
    let mut model = Sequential::new(vec![
        Flatten::new().input_shape(&[28, 28]).into(),
        Dense::new(128).activation("relu").into(),
        Dropout::new(0.2).into(),
        Dense::new(10).activation("softmax").into(),
    ])
    .unwrap();
    model
        .compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
        .unwrap();
    let mut w = Window {
        epoch: 0,
        steps: 20,
    };
    model
        .fit(
            &x,
            &y,
            FitOptions {
                epochs: 2,
                verbose: 0,
                callbacks: vec![&mut w],
                ..Default::default()
            },
        )
        .unwrap();
    let n = ALLOCS.load(Ordering::SeqCst);

    // The five matrix products of one step: two forward, the output layer's weight and
    // input gradients, the hidden layer's weight gradient.
    let (b, i, h, o) = (32, 784, 128, 10);
    let buf = |n: usize| vec![0.5f32; n];
    let (xb, w1, a1, w2, g2) = (buf(b * i), buf(i * h), buf(b * h), buf(h * o), buf(b * o));
    let (mut c1, mut c2, mut dw2, mut da1, mut dw1) =
        (buf(b * h), buf(b * o), buf(h * o), buf(b * h), buf(i * h));
    ALLOCS.store(0, Ordering::SeqCst);
    COUNTING.store(true, Ordering::SeqCst);
    kerust::kernels::matmul(&mut c1, &xb, &w1, b, i, h, false);
    kerust::kernels::matmul(&mut c2, &a1, &w2, b, h, o, false);
    kerust::kernels::matmul_at_b(&mut dw2, &a1, &g2, h, b, o, false);
    kerust::kernels::matmul_a_bt(&mut da1, &g2, &w2, b, o, h, false);
    kerust::kernels::matmul_at_b(&mut dw1, &xb, &a1, i, b, h, false);
    COUNTING.store(false, Ordering::SeqCst);
    let per_step_in_gemm = ALLOCS.load(Ordering::SeqCst);
    assert_eq!(
        n,
        18 * per_step_in_gemm,
        "{n} allocations in 18 steps; gemm alone makes {per_step_in_gemm} per step"
    );
}
