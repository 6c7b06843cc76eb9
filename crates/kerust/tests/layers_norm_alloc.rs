//! Steady-state training through the normalization, pooling, reshaping and noise layers
//! allocates nothing: a counting global allocator watches the second epoch of `fit` (the
//! first one sizes every buffer). No Dense layer, so no gemm packing buffers either.

use kerust::layers::*;
use kerust::models::Sequential;
#[path = "common/alloc_counter.rs"]
mod alloc_counter;
use alloc_counter::Counting;

#[global_allocator]
static GLOBAL: Counting = Counting;

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
    let n = alloc_counter::second_epoch_allocations(&mut model, &x, &y, 10);
    assert_eq!(n, 0, "{n} allocations in 8 training steps");
}
