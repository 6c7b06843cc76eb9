//! MNIST read as sequences: each image is 28 timesteps (rows) of 28 pixels, classified by an
//! `LSTM(128)` and a softmax `Dense(10)`, trained with Adam.
//!
//! Run: `KERUST_DATA=../shared/datasets cargo run --release --example mnist_lstm`
//!
//! Environment: `EPOCHS` (default 3), `THREADS` (default: all cores), `BATCH` (default 32),
//! `TRAIN_SAMPLES` (default all 60000). Prints the time and the test accuracy of each epoch.

use kerust::datasets::mnist;
use kerust::layers::LSTM;
use kerust::prelude::*;
use std::time::Instant;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> kerust::Result<()> {
    kerust::set_random_seed(42);
    kerust::set_num_threads(env("THREADS", 0));
    let ((x_train, y_train), (x_test, y_test)) = mnist::load_data()?;
    let n = env("TRAIN_SAMPLES", x_train.shape()[0]).min(x_train.shape()[0]);
    // (n, 28, 28): 28 rows of 28 pixels, scaled to [0, 1].
    let x_train = x_train
        .slice(ndarray::s![..n, .., ..])
        .mapv(|v| v as f32 / 255.0);
    let y_train = y_train.slice(ndarray::s![..n]).to_owned();
    let x_test = x_test.mapv(|v| v as f32 / 255.0);

    let mut model = Sequential::new(vec![
        LSTM::new(128).input_shape(&[28, 28]).into(),
        Dense::new(10).activation("softmax").into(),
    ])?;
    model.summary();
    model.compile(
        Adam::new(1e-3),
        "sparse_categorical_crossentropy",
        ["accuracy"],
    )?;

    let epochs = env("EPOCHS", 3);
    let batch_size = env("BATCH", 32);
    println!(
        "{} threads, batch {batch_size}, {n} training samples",
        kerust::num_threads()
    );
    for epoch in 0..epochs {
        let t = Instant::now();
        let h = model.fit(
            &x_train,
            &y_train,
            FitOptions {
                epochs: epoch + 1,
                initial_epoch: epoch,
                batch_size,
                verbose: 0,
                ..Default::default()
            },
        )?;
        let secs = t.elapsed().as_secs_f64();
        let test = model.evaluate(&x_test, &y_test, 256, 0)?;
        let train_acc = h
            .history
            .get("accuracy")
            .and_then(|v| v.last().copied())
            .unwrap_or(f32::NAN);
        println!(
            "epoch {}/{epochs}: {secs:.1} s, train accuracy {train_acc:.4}, test accuracy {:.4}, test loss {:.4}",
            epoch + 1,
            test.get("accuracy").unwrap_or(f32::NAN),
            test.loss()
        );
    }
    Ok(())
}
