//! The seed tutorials' accuracy targets, on the real data, with the same models as the
//! examples (`examples/seed00*.rs`):
//!
//! * Fashion-MNIST, seed 003's model (10 epochs): test accuracy >= 0.875;
//! * MNIST, seed 002's model: test accuracy >= 0.97;
//! * the drug trial, seed 001's model (20 epochs): accuracy >= 0.90 on a held-out test set.
//!
//! The datasets are read from `$KERUST_DATA`, or else from the shared copy at
//! `<workspace>/../shared/datasets`. Every model is seeded, so each run gives the same
//! figures.

use std::path::PathBuf;
use std::time::Instant;

use kerust::datasets::{fashion_mnist, mnist};
use kerust::prelude::*;
use kerust::preprocessing::MinMaxScaler;
use kerust::Rng;
use ndarray::{Array1, Array2, Array3, Axis};

fn data_root() -> PathBuf {
    match std::env::var_os("KERUST_DATA") {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/datasets"
        )),
    }
}

/// A model whose weights and shuffling come from `seed` alone (no global state, so the
/// tests can run side by side).
fn seeded(seed: u64, layers: Vec<Box<dyn Layer>>) -> Sequential {
    let mut model = Sequential::empty();
    model.set_seed(seed);
    for layer in layers {
        model.add(layer).unwrap();
    }
    model
}

/// Seed 003: `Flatten((28, 28))`, `Dense(128, relu)`, `Dense(10, softmax)`; adam.
fn fashion_model(seed: u64) -> Sequential {
    let mut model = seeded(
        seed,
        vec![
            Flatten::new().input_shape(&[28, 28]).into(),
            Dense::new(128).activation("relu").into(),
            Dense::new(10).activation("softmax").into(),
        ],
    );
    model
        .compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
        .unwrap();
    model
}

/// Seed 002: `Dense(64, relu, input_shape=(784,))`, `Dense(64, relu)`, `Dense(10, softmax)`;
/// adam.
fn mnist_dense_model(seed: u64) -> Sequential {
    let mut model = seeded(
        seed,
        vec![
            Dense::new(64).activation("relu").input_shape(&[784]).into(),
            Dense::new(64).activation("relu").into(),
            Dense::new(10).activation("softmax").into(),
        ],
    );
    model
        .compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
        .unwrap();
    model
}

/// Seed 001: `Dense(6, relu, input_shape=(1,))`, `Dense(32, relu)`, `Dense(2, sigmoid)`;
/// `Adam(lr=0.0001)`.
fn drug_trial_model(seed: u64) -> Sequential {
    let mut model = seeded(
        seed,
        vec![
            Dense::new(6).input_shape(&[1]).activation("relu").into(),
            Dense::new(32).activation("relu").into(),
            Dense::new(2).activation("sigmoid").into(),
        ],
    );
    model
        .compile(
            Adam::new(1e-4),
            "sparse_categorical_crossentropy",
            ["accuracy"],
        )
        .unwrap();
    model
}

/// Seed 001's data: `majority` iterations of a younger patient (13..=64) without side
/// effects (0) and an older one (65..=100) with (1), then `minority` iterations of the
/// reverse. Returns the ages as a `(n, 1)` column and the labels.
fn drug_trial_data(seed: u64, majority: usize, minority: usize) -> (Array2<f32>, Array1<u8>) {
    let mut rng = Rng::new(seed);
    let mut randint = |lo: u32, hi: u32| lo + rng.below((hi - lo + 1) as usize) as u32;
    let mut samples = Vec::new();
    let mut labels = Vec::new();
    for (iterations, younger_label) in [(majority, 0u8), (minority, 1u8)] {
        for _ in 0..iterations {
            samples.push(randint(13, 64) as f32);
            labels.push(younger_label);
            samples.push(randint(65, 100) as f32);
            labels.push(1 - younger_label);
        }
    }
    let n = samples.len();
    (
        Array2::from_shape_vec((n, 1), samples).unwrap(),
        Array1::from(labels),
    )
}

/// Pixels to [0, 1], each image flattened to 784 values.
fn flat_pixels(images: &Array3<u8>) -> Array2<f32> {
    let n = images.len_of(Axis(0));
    images
        .mapv(|v| v as f32 / 255.0)
        .into_shape_with_order((n, 784))
        .unwrap()
}

fn quiet(epochs: usize, batch_size: usize) -> FitOptions<'static> {
    FitOptions {
        epochs,
        batch_size,
        verbose: 0,
        ..Default::default()
    }
}

#[test]
fn fashion_mnist_seed003_model_reaches_0_875() {
    let start = Instant::now();
    let ((x_train, y_train), (x_test, y_test)) =
        fashion_mnist::load_data_from(data_root()).unwrap();
    let x_train = x_train.mapv(|v| v as f32 / 255.0);
    let x_test = x_test.mapv(|v| v as f32 / 255.0);
    let mut model = fashion_model(3);
    model.fit(&x_train, &y_train, quiet(10, 32)).unwrap();
    let accuracy = model
        .evaluate(&x_test, &y_test, 32, 0)
        .unwrap()
        .get("accuracy")
        .unwrap();
    eprintln!(
        "fashion-mnist (seed 003 model, 10 epochs): test accuracy {accuracy:.4} in {:.1?}",
        start.elapsed()
    );
    assert!(accuracy >= 0.875, "test accuracy {accuracy} < 0.875");
}

#[test]
fn mnist_seed002_model_reaches_0_97() {
    let start = Instant::now();
    let ((x_train, y_train), (x_test, y_test)) = mnist::load_data_from(data_root()).unwrap();
    let (x_train, x_test) = (flat_pixels(&x_train), flat_pixels(&x_test));
    let mut model = mnist_dense_model(2);
    model
        .fit(&x_train, &y_train, quiet(MNIST_EPOCHS, 32))
        .unwrap();
    let accuracy = model
        .evaluate(&x_test, &y_test, 32, 0)
        .unwrap()
        .get("accuracy")
        .unwrap();
    eprintln!(
        "mnist (seed 002 model, {MNIST_EPOCHS} epochs): test accuracy {accuracy:.4} in {:.1?}",
        start.elapsed()
    );
    assert!(accuracy >= 0.97, "test accuracy {accuracy} < 0.97");
}

/// Epochs of the MNIST test (the tutorial trains 20).
const MNIST_EPOCHS: usize = 10;

#[test]
fn drug_trial_seed001_model_reaches_0_90_on_a_test_set() {
    let start = Instant::now();
    let (train_samples, train_labels) = drug_trial_data(2100, 1000, 50);
    let (test_samples, test_labels) = drug_trial_data(420, 200, 10);
    let mut scaler = MinMaxScaler::new((0.0, 1.0)).unwrap();
    let scaled_train_samples = scaler.fit_transform(&train_samples).unwrap();
    let scaled_test_samples = scaler.transform(&test_samples).unwrap();
    let mut model = drug_trial_model(1);
    let history = model
        .fit(&scaled_train_samples, &train_labels, quiet(20, 10))
        .unwrap();
    let train_accuracy = *history.get("accuracy").unwrap().last().unwrap();
    let accuracy = model
        .evaluate(&scaled_test_samples, &test_labels, 10, 0)
        .unwrap()
        .get("accuracy")
        .unwrap();
    eprintln!(
        "drug trial (seed 001 model, 20 epochs): train accuracy {train_accuracy:.4}, \
         test accuracy {accuracy:.4} in {:.1?}",
        start.elapsed()
    );
    assert!(accuracy >= 0.90, "test accuracy {accuracy} < 0.90");
}
