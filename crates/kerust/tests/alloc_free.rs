//! Steady-state training allocates nothing of its own: a counting global allocator watches
//! the second epoch of `fit` (the first one sizes every buffer). The `gemm` crate allocates
//! its packing buffers on every product; the test measures those same five products alone
//! and requires a training step to allocate exactly that and nothing more.

use kerust::layers::{Dense, Dropout, Flatten};
use kerust::models::{FitOptions, Sequential};
#[path = "common/alloc_counter.rs"]
mod alloc_counter;
use alloc_counter::{Counting, Window};

#[global_allocator]
static GLOBAL: Counting = Counting;

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
    let mut w = Window::new(20);
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
    let n = alloc_counter::allocations();

    // The five matrix products of one step: two forward, the output layer's weight and
    // input gradients, the hidden layer's weight gradient.
    let (b, i, h, o) = (32, 784, 128, 10);
    let buf = |n: usize| vec![0.5f32; n];
    let (xb, w1, a1, w2, g2) = (buf(b * i), buf(i * h), buf(b * h), buf(h * o), buf(b * o));
    let (mut c1, mut c2, mut dw2, mut da1, mut dw1) =
        (buf(b * h), buf(b * o), buf(h * o), buf(b * h), buf(i * h));
    let per_step_in_gemm = alloc_counter::counted(|| {
        kerust::kernels::matmul(&mut c1, &xb, &w1, b, i, h, false);
        kerust::kernels::matmul(&mut c2, &a1, &w2, b, h, o, false);
        kerust::kernels::matmul_at_b(&mut dw2, &a1, &g2, h, b, o, false);
        kerust::kernels::matmul_a_bt(&mut da1, &g2, &w2, b, o, h, false);
        kerust::kernels::matmul_at_b(&mut dw1, &xb, &a1, i, b, h, false);
    });
    assert_eq!(
        n,
        18 * per_step_in_gemm,
        "{n} allocations in 18 steps; gemm alone makes {per_step_in_gemm} per step"
    );
}
