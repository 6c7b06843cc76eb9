//! Steady-state training through the normalization, pooling, reshaping and noise layers
//! allocates nothing: a counting global allocator watches the second epoch of `fit` (the
//! first one sizes every buffer). No Dense layer, so no gemm packing buffers either.

use kerust::callbacks::{Callback, Logs};
use kerust::layers::*;
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
fn a_training_step_through_these_layers_allocates_nothing() {
    kerust::set_num_threads(1);
    let x = ndarray::Array4::<f32>::from_shape_fn((320, 6, 6, 4), |(i, j, k, c)| {
        ((i + j * k + c) % 7) as f32 / 7.0
    });
    let y = ndarray::Array2::<f32>::from_shape_fn((320, 4), |(i, c)| ((i + c) % 3) as f32);
    let mut model = Sequential::new(vec![
        Input::new(&[6, 6, 4]).into(),
        BatchNormalization::new().into(),
        GroupNormalization::new(2).into(),
        LayerNormalization::new().into(),
        UnitNormalization::new().into(),
        ZeroPadding2D::new(1).into(),
        Cropping2D::new((1, 2)).into(),
        UpSampling2D::new(2).into(),
        UpSampling2D::new(2).interpolation("bilinear").into(),
        SpatialDropout2D::new(0.2).into(),
        GaussianNoise::new(0.1).into(),
        GaussianDropout::new(0.1).into(),
        Permute::new(&[2, 1, 3]).into(),
        Reshape::new(&[-1, 4]).into(),
        GlobalMaxPooling1D::new().into(),
        RepeatVector::new(2).into(),
        GlobalAveragePooling1D::new().into(),
    ])
    .unwrap();
    model.compile("adam", "mse", ["mae"]).unwrap();
    let mut w = Window {
        epoch: 0,
        steps: 10,
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
    assert_eq!(n, 0, "{n} allocations in 8 training steps");
}
