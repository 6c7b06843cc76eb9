//! Finite-difference checks of the backward passes of the normalization, global-pooling
//! and reshaping layers, in training and in inference mode.

use kerust::layers::*;
use kerust::{Rng, Tensor};

#[path = "common/finite_diff.rs"]
mod finite_diff;
use finite_diff::{agree, probe, random_shifted as random};

/// Builds `make()` for `in_shape` with non-trivial parameter values (positive where the
/// name says variance).
fn built(make: &dyn Fn() -> Box<dyn Layer>, in_shape: &[usize]) -> Box<dyn Layer> {
    let mut l = make();
    l.build(in_shape, &mut Rng::new(5)).unwrap();
    let mut rng = Rng::new(17);
    for p in l.params_mut() {
        for v in p.value.data_mut() {
            *v = match p.name {
                "gamma" => rng.uniform_range(0.5, 1.5),
                "moving_variance" => rng.uniform_range(0.5, 2.0),
                _ => rng.uniform_range(-0.5, 0.5),
            };
        }
    }
    l
}

/// Checks dL/dx and dL/d(every trainable parameter) of `make()` by central differences.
fn check(
    name: &str,
    make: &dyn Fn() -> Box<dyn Layer>,
    in_shape: &[usize],
    batch: usize,
    training: bool,
) {
    let name = format!("{name} (training={training})");
    let mut rng = Rng::new(11);
    let mut layer = built(make, in_shape);
    let mut xs = vec![batch];
    xs.extend_from_slice(in_shape);
    let x = random(&xs, &mut rng, 1.5, 0.3);
    let mut y = Tensor::default();
    layer.forward(&x, &mut y, training);
    let g: Vec<f32> = (0..y.len()).map(|_| rng.uniform_range(-1.0, 1.0)).collect();
    let mut gy = Tensor::from_vec(y.shape(), g.clone()).unwrap();
    let mut gx = Tensor::default();
    layer.backward(&x, &y, &mut gy, Some(&mut gx));
    assert_eq!(gx.shape(), x.shape(), "{name}: dx shape");
    let h = 1e-2f32;
    for i in 0..x.len() {
        let mut xp = x.clone();
        xp.data_mut()[i] += h;
        let mut xm = x.clone();
        xm.data_mut()[i] -= h;
        let fd = (probe(built(make, in_shape).as_mut(), &xp, &g, training)
            - probe(built(make, in_shape).as_mut(), &xm, &g, training))
            / (2.0 * h as f64);
        agree(&format!("{name} dx[{i}]"), gx.data()[i], fd);
    }
    for (pi, p) in layer.params().iter().enumerate() {
        if !p.trainable {
            continue;
        }
        for k in 0..p.value.len() {
            let eval = |delta: f32| {
                let mut l = built(make, in_shape);
                l.params_mut()[pi].value.data_mut()[k] += delta;
                probe(l.as_mut(), &x, &g, training)
            };
            let fd = (eval(h) - eval(-h)) / (2.0 * h as f64);
            agree(&format!("{name} {}[{k}]", p.name), p.grad.data()[k], fd);
        }
    }
}

fn both(name: &str, make: &dyn Fn() -> Box<dyn Layer>, in_shape: &[usize], batch: usize) {
    check(name, make, in_shape, batch, true);
    check(name, make, in_shape, batch, false);
}

#[test]
fn batch_normalization_backward() {
    both("BN", &|| Box::new(BatchNormalization::new()), &[4], 5);
    both(
        "BN 4d",
        &|| Box::new(BatchNormalization::new().momentum(0.5)),
        &[2, 3, 2],
        2,
    );
    both(
        "BN plain",
        &|| Box::new(BatchNormalization::new().center(false).scale(false)),
        &[3],
        4,
    );
    both(
        "BN scale only",
        &|| Box::new(BatchNormalization::new().center(false)),
        &[2, 3],
        3,
    );
}

#[test]
fn layer_group_and_unit_normalization_backward() {
    both("LN", &|| Box::new(LayerNormalization::new()), &[5], 3);
    both("LN 3d", &|| Box::new(LayerNormalization::new()), &[2, 4], 2);
    both(
        "LN rms",
        &|| Box::new(LayerNormalization::new().rms_scaling(true)),
        &[5],
        3,
    );
    both(
        "LN no center",
        &|| Box::new(LayerNormalization::new().center(false)),
        &[4],
        2,
    );
    both(
        "GN",
        &|| Box::new(GroupNormalization::new(2)),
        &[2, 3, 4],
        2,
    );
    both(
        "GN instance",
        &|| Box::new(GroupNormalization::new(-1)),
        &[3, 3],
        2,
    );
    both(
        "GN no scale",
        &|| Box::new(GroupNormalization::new(1).scale(false)),
        &[3, 4],
        2,
    );
    both("UN", &|| Box::new(UnitNormalization::new()), &[4], 3);
    both("UN 3d", &|| Box::new(UnitNormalization::new()), &[2, 3], 2);
}

#[test]
fn global_pooling_backward() {
    both("GMP1D", &|| Box::new(GlobalMaxPooling1D::new()), &[4, 3], 2);
    both(
        "GMP2D",
        &|| Box::new(GlobalMaxPooling2D::new().keepdims(true)),
        &[2, 3, 2],
        2,
    );
    both(
        "GMP3D",
        &|| Box::new(GlobalMaxPooling3D::new()),
        &[2, 1, 2, 2],
        2,
    );
    both(
        "GAP1D",
        &|| Box::new(GlobalAveragePooling1D::new()),
        &[4, 3],
        2,
    );
    both(
        "GAP2D",
        &|| Box::new(GlobalAveragePooling2D::new()),
        &[2, 3, 2],
        2,
    );
    both(
        "GAP3D",
        &|| Box::new(GlobalAveragePooling3D::new().keepdims(true)),
        &[2, 2, 2, 2],
        2,
    );
}

#[test]
fn global_max_pooling_splits_the_gradient_between_ties_as_jax() {
    let mut l = GlobalMaxPooling1D::new();
    l.build(&[3, 1], &mut Rng::new(0)).unwrap();
    let x = Tensor::from_vec(&[1, 3, 1], vec![2.0, 1.0, 2.0]).unwrap();
    let mut y = Tensor::default();
    l.forward(&x, &mut y, false);
    let mut gy = Tensor::from_vec(&[1, 1], vec![1.0]).unwrap();
    let mut gx = Tensor::default();
    l.backward(&x, &y, &mut gy, Some(&mut gx));
    assert_eq!(gx.data(), &[0.5, 0.0, 0.5]);
}

#[test]
fn reshaping_layers_backward() {
    both("Reshape", &|| Box::new(Reshape::new(&[3, -1])), &[2, 6], 2);
    both(
        "Permute",
        &|| Box::new(Permute::new(&[3, 1, 2])),
        &[2, 3, 2],
        2,
    );
    both("RepeatVector", &|| Box::new(RepeatVector::new(3)), &[4], 2);
    both(
        "ZeroPadding2D",
        &|| Box::new(ZeroPadding2D::new(((1, 0), (2, 1)))),
        &[2, 3, 2],
        2,
    );
    both(
        "Cropping2D",
        &|| Box::new(Cropping2D::new(((1, 0), (0, 2)))),
        &[3, 4, 2],
        2,
    );
    both(
        "UpSampling2D",
        &|| Box::new(UpSampling2D::new((2, 3))),
        &[2, 2, 2],
        2,
    );
    both(
        "UpSampling2D bilinear",
        &|| Box::new(UpSampling2D::new(2).interpolation("bilinear")),
        &[3, 2, 2],
        2,
    );
}

#[test]
fn noise_layers_backward() {
    // Seeded: every fresh layer draws the same noise, so finite differences see one
    // function of x.
    both(
        "SpatialDropout2D",
        &|| Box::new(SpatialDropout2D::new(0.4).seed(3)),
        &[2, 2, 3],
        3,
    );
    both(
        "GaussianNoise",
        &|| Box::new(GaussianNoise::new(0.5).seed(3)),
        &[5],
        3,
    );
    both(
        "GaussianDropout",
        &|| Box::new(GaussianDropout::new(0.3).seed(3)),
        &[5],
        3,
    );
}
