//! Steady-state training allocates nothing: a counting global allocator watches the second
//! epoch of `fit` (the first one sizes every buffer, and the thread's packing buffer for
//! the matrix products is allocated at its first product).

use kerust::layers::{Dense, Dropout, Flatten};
use kerust::models::Sequential;
#[path = "common/alloc_counter.rs"]
mod alloc_counter;
use alloc_counter::Counting;

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn a_training_step_allocates_nothing() {
    // At two threads the step itself runs on one (too small to split) while a worker
    // gathers the next batch: the hand-over must not allocate either.
    for threads in [1, 2] {
        kerust::set_num_threads(threads);
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
        let n = alloc_counter::second_epoch_allocations(&mut model, &x, &y, 20);
        assert_eq!(
            n, 0,
            "{n} allocations in the 18 steps of the second epoch at {threads} thread(s)"
        );
    }
    kerust::set_num_threads(0);
}
