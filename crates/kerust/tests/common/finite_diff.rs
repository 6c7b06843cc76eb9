//! Finite-difference checks of layer backward passes, shared by the gradient tests
//! (included with `#[path]`).

#![allow(dead_code)]

use kerust::layers::Layer;
use kerust::{Rng, Tensor};

/// `sum(layer(x) * g)` in f64.
pub fn probe(layer: &mut dyn Layer, x: &Tensor, g: &[f32], training: bool) -> f64 {
    let mut y = Tensor::default();
    layer.forward(x, &mut y, training);
    y.data()
        .iter()
        .zip(g)
        .map(|(a, b)| *a as f64 * *b as f64)
        .sum()
}

/// Values drawn uniformly from `[shift - scale, shift + scale)`.
pub fn random_shifted(shape: &[usize], rng: &mut Rng, scale: f32, shift: f32) -> Tensor {
    let n = shape.iter().product();
    Tensor::from_vec(
        shape,
        (0..n)
            .map(|_| shift + rng.uniform_range(-scale, scale))
            .collect(),
    )
    .unwrap()
}

/// Values drawn uniformly from `[-scale, scale)`.
pub fn random(shape: &[usize], rng: &mut Rng, scale: f32) -> Tensor {
    random_shifted(shape, rng, scale, 0.0)
}

/// The analytic gradient agrees with the central difference.
#[track_caller]
pub fn agree(what: &str, analytic: f32, numeric: f64) {
    let tol = 3e-3 * (1.0 + numeric.abs());
    assert!(
        (analytic as f64 - numeric).abs() < tol,
        "{what}: analytic {analytic} vs finite difference {numeric}"
    );
}

/// How [`check_layer`] picks its input and which entries it checks.
#[derive(Clone, Copy)]
pub struct Check {
    /// Inputs at least 3/n apart, shuffled: no two cells of a max-pooling window within the
    /// finite-difference step of each other.
    pub distinct_inputs: bool,
    /// Every how many parameter entries one is checked.
    pub param_stride: usize,
}

/// Checks dL/dx (every third entry) and dL/d(every parameter) of `make()`, in training
/// mode, by central differences. Fresh layers built with the same seed reproduce the same
/// weights and dropout masks.
pub fn check_layer(
    name: &str,
    make: &dyn Fn() -> Box<dyn Layer>,
    in_shape: &[usize],
    batch: usize,
    how: Check,
) {
    let mut rng = Rng::new(11);
    let mut layer = make();
    layer.build(in_shape, &mut Rng::new(5)).unwrap();
    let mut xs = vec![batch];
    xs.extend_from_slice(in_shape);
    let mut x = random(&xs, &mut rng, 1.5);
    if how.distinct_inputs {
        let n = x.len();
        let mut v: Vec<f32> = (0..n).map(|i| i as f32 * 3.0 / n as f32 - 1.5).collect();
        for i in (1..n).rev() {
            let j = (rng.uniform() * (i + 1) as f32) as usize % (i + 1);
            v.swap(i, j);
        }
        x.data_mut().copy_from_slice(&v);
    }
    let mut y = Tensor::default();
    layer.forward(&x, &mut y, true);
    let g: Vec<f32> = (0..y.len()).map(|_| rng.uniform_range(-1.0, 1.0)).collect();
    let mut gy = Tensor::from_vec(y.shape(), g.clone()).unwrap();
    let mut gx = Tensor::default();
    layer.backward(&x, &y, &mut gy, Some(&mut gx));
    let params: Vec<(Vec<f32>, Vec<f32>)> = layer
        .params()
        .iter()
        .map(|p| (p.value.data().to_vec(), p.grad.data().to_vec()))
        .collect();
    let h = 1e-2f32;
    let fresh = || {
        let mut l = make();
        l.build(in_shape, &mut Rng::new(5)).unwrap();
        l
    };
    for i in (0..x.len()).step_by(3) {
        let mut xp = x.clone();
        xp.data_mut()[i] += h;
        let mut xm = x.clone();
        xm.data_mut()[i] -= h;
        let fd = (probe(fresh().as_mut(), &xp, &g, true) - probe(fresh().as_mut(), &xm, &g, true))
            / (2.0 * h as f64);
        agree(&format!("{name} dx[{i}]"), gx.data()[i], fd);
    }
    for (pi, (value, grad)) in params.iter().enumerate() {
        for k in (0..value.len()).step_by(how.param_stride) {
            let eval = |delta: f32| {
                let mut l = fresh();
                l.params_mut()[pi].value.data_mut()[k] = value[k] + delta;
                probe(l.as_mut(), &x, &g, true)
            };
            let fd = (eval(h) - eval(-h)) / (2.0 * h as f64);
            agree(&format!("{name} param {pi}[{k}]"), grad[k], fd);
        }
    }
}
