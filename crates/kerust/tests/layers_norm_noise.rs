//! The noise layers in training mode: the statistics Keras's layers have (Keras's random
//! streams differ from kerust's, so only inference mode is compared value for value, in
//! `layers_norm.rs`), determinism for a seed, and the model's seed reaching them.

use kerust::layers::{Dense, GaussianDropout, GaussianNoise, Layer, SpatialDropout2D};
use kerust::models::{FitOptions, Sequential};
use kerust::{Rng, Tensor};
use ndarray::{Array2, Array4};

fn run(layer: &mut dyn Layer, x: &Tensor) -> Tensor {
    let mut y = Tensor::default();
    layer.forward(x, &mut y, true);
    y
}

fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n;
    (m, var.sqrt())
}

#[test]
fn gaussian_noise_adds_zero_mean_noise_of_stddev() {
    let mut l = GaussianNoise::new(0.3).seed(1);
    l.build(&[1000], &mut Rng::new(0)).unwrap();
    let x = Tensor::from_vec(&[50, 1000], vec![2.0; 50_000]).unwrap();
    let y = run(&mut l, &x);
    let d: Vec<f64> = y.data().iter().map(|&v| v as f64 - 2.0).collect();
    let (m, s) = mean_std(&d);
    assert!(
        m.abs() < 0.005 && (s - 0.3).abs() < 0.005,
        "mean {m}, std {s}"
    );
    let mut inf = Tensor::default();
    l.forward(&x, &mut inf, false);
    assert_eq!(inf, x, "inference is the identity");
}

#[test]
fn gaussian_dropout_multiplies_by_unit_mean_noise() {
    let rate = 0.2f64;
    let mut l = GaussianDropout::new(rate as f32).seed(2);
    l.build(&[1000], &mut Rng::new(0)).unwrap();
    let x = Tensor::from_vec(&[50, 1000], vec![3.0; 50_000]).unwrap();
    let y = run(&mut l, &x);
    let r: Vec<f64> = y.data().iter().map(|&v| v as f64 / 3.0).collect();
    let (m, s) = mean_std(&r);
    let want = (rate / (1.0 - rate)).sqrt();
    assert!(
        (m - 1.0).abs() < 0.01 && (s - want).abs() < 0.01,
        "mean {m}, std {s} (want {want})"
    );
}

#[test]
fn spatial_dropout_drops_whole_channels_at_rate() {
    let rate = 0.3f32;
    let mut l = SpatialDropout2D::new(rate).seed(3);
    l.build(&[4, 4, 8], &mut Rng::new(0)).unwrap();
    let x = Tensor::from_vec(&[500, 4, 4, 8], vec![1.0; 500 * 128]).unwrap();
    let y = run(&mut l, &x);
    let scale = 1.0 / (1.0 - rate);
    let mut dropped = 0;
    for s in y.data().chunks_exact(128) {
        for c in 0..8 {
            let vals: Vec<f32> = (0..16).map(|p| s[p * 8 + c]).collect();
            assert!(
                vals.iter().all(|&v| v == 0.0) || vals.iter().all(|&v| (v - scale).abs() < 1e-6),
                "channel {c} is neither dropped nor kept whole: {vals:?}"
            );
            dropped += (vals[0] == 0.0) as usize;
        }
    }
    let frac = dropped as f64 / 4000.0;
    assert!((frac - rate as f64).abs() < 0.03, "dropped {frac}");
}

fn noisy_model(seed: u64) -> Sequential {
    let mut m = Sequential::empty();
    m.set_seed(seed);
    let layers: [Box<dyn Layer>; 5] = [
        SpatialDropout2D::new(0.3).input_shape(&[3, 3, 2]).into(),
        GaussianNoise::new(0.1).into(),
        GaussianDropout::new(0.2).into(),
        kerust::layers::Flatten::new().into(),
        Dense::new(2).into(),
    ];
    for l in layers {
        m.add(l).unwrap();
    }
    m.compile("sgd", "mse", ()).unwrap();
    m
}

#[test]
fn training_is_deterministic_for_a_model_seed() {
    let x = Array4::from_shape_fn((16, 3, 3, 2), |(a, b, c, d)| {
        ((a + b * 3 + c * 5 + d) % 7) as f32 * 0.1
    });
    let y = Array2::from_shape_fn((16, 2), |(a, b)| (a + b) as f32 * 0.05);
    let opts = || FitOptions {
        epochs: 2,
        batch_size: 4,
        verbose: 0,
        ..Default::default()
    };
    let mut a = noisy_model(9);
    let mut b = noisy_model(9);
    let mut c = noisy_model(10);
    a.fit(&x, &y, opts()).unwrap();
    b.fit(&x, &y, opts()).unwrap();
    c.fit(&x, &y, opts()).unwrap();
    assert_eq!(a.get_weights(), b.get_weights());
    assert_ne!(a.get_weights(), c.get_weights());
    // Inference ignores the noise layers.
    assert_eq!(a.predict(&x, 16).unwrap(), a.predict(&x, 3).unwrap());
}
