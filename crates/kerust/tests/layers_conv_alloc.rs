//! Convolution and pooling layers allocate nothing of their own once warm: a counting global
//! allocator watches steady-state forward + backward passes (the matrix products' packing
//! buffer belongs to the thread and is allocated at its first product).

use kerust::layers::{
    AveragePooling2D, Conv2D, Conv2DTranspose, Layer, MaxPooling2D, MaxPooling3D,
};
use kerust::{Rng, Tensor};
use std::sync::Mutex;

#[path = "common/alloc_counter.rs"]
mod alloc_counter;
use alloc_counter::{counted, Counting};

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The tests take turns: the count is one global number.
static TURN: Mutex<()> = Mutex::new(());

/// Allocations of one warm forward + backward step of `layer` on `(batch, *shape)`.
fn step_allocs(layer: &mut dyn Layer, shape: &[usize], batch: usize) -> usize {
    layer.build(shape, &mut Rng::new(1)).unwrap();
    let mut xs = vec![batch];
    xs.extend_from_slice(shape);
    let n: usize = xs.iter().product();
    let x = Tensor::from_vec(&xs, (0..n).map(|i| (i as f32 * 0.37).sin()).collect()).unwrap();
    let (mut y, mut gy, mut gx) = (Tensor::default(), Tensor::default(), Tensor::default());
    let mut step = |y: &mut Tensor, gy: &mut Tensor, gx: &mut Tensor| {
        layer.forward(&x, y, true);
        gy.resize(y.shape());
        gy.data_mut().fill(0.25);
        layer.backward(&x, y, gy, Some(gx));
    };
    step(&mut y, &mut gy, &mut gx);
    step(&mut y, &mut gy, &mut gx);
    counted(|| step(&mut y, &mut gy, &mut gx))
}

#[test]
fn pooling_allocates_nothing() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    kerust::set_num_threads(1);
    assert_eq!(step_allocs(&mut MaxPooling2D::new(2), &[8, 9, 3], 4), 0);
    assert_eq!(
        step_allocs(
            &mut AveragePooling2D::new(3).strides(2).padding("same"),
            &[8, 9, 3],
            4
        ),
        0
    );
    assert_eq!(
        step_allocs(
            &mut MaxPooling2D::new(2).data_format("channels_first"),
            &[3, 8, 9],
            4
        ),
        0
    );
    assert_eq!(step_allocs(&mut MaxPooling3D::new(2), &[4, 4, 4, 2], 2), 0);
}

#[test]
fn convolutions_allocate_nothing() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    kerust::set_num_threads(1);
    let (b, h, w, c, f, k) = (4, 10, 9, 3, 5, 3);
    let (oh, ow) = (h - k + 1, w - k + 1);
    let conv = step_allocs(&mut Conv2D::new(f, k).activation("relu"), &[h, w, c], b);
    assert_eq!(conv, 0, "Conv2D");
    let conv_cf = step_allocs(
        &mut Conv2D::new(f, k)
            .activation("softmax")
            .data_format("channels_first"),
        &[c, h, w],
        b,
    );
    assert_eq!(conv_cf, 0, "Conv2D channels_first");
    let t = step_allocs(
        &mut Conv2DTranspose::new(c, k).activation("tanh"),
        &[oh, ow, f],
        b,
    );
    assert_eq!(t, 0, "Conv2DTranspose");
    // Winograd's path (3x3, stride 1, 16 channels and more), on one thread and cut into
    // runs over two.
    for threads in [1, 2] {
        kerust::set_num_threads(threads);
        let w = step_allocs(
            &mut Conv2D::new(32, 3).padding("same").activation("relu"),
            &[12, 12, 32],
            16,
        );
        assert_eq!(w, 0, "Conv2D (Winograd) at {threads} thread(s)");
    }
    kerust::set_num_threads(1);
}
