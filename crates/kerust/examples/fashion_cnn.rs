//! A small CNN on Fashion-MNIST: Conv2D 32 -> MaxPooling2D -> Conv2D 64 -> MaxPooling2D ->
//! Flatten -> Dense 128 -> Dropout 0.5 -> Dense 10, trained with Adam.
//!
//! Run: `KERUST_DATA=../shared/datasets cargo run --release --example fashion_cnn`
//! (`EPOCHS=n` changes the number of epochs, `KERUST_NUM_THREADS=n` the threads).

use kerust::datasets::fashion_mnist;
use kerust::layers::{Conv2D, MaxPooling2D};
use kerust::prelude::*;
use std::time::Instant;

fn main() -> kerust::Result<()> {
    kerust::set_random_seed(42);
    let ((train_images, train_labels), (test_images, test_labels)) = fashion_mnist::load_data()?;

    // Images as (n, 28, 28, 1) in [0, 1].
    let prep = |a: ndarray::Array3<u8>| {
        let n = a.shape()[0];
        a.mapv(|v| v as f32 / 255.0)
            .into_shape_with_order((n, 28, 28, 1))
            .expect("28x28 images")
    };
    let train_images = prep(train_images);
    let test_images = prep(test_images);

    let mut model = Sequential::new(vec![
        Conv2D::new(32, (3, 3))
            .activation("relu")
            .input_shape(&[28, 28, 1])
            .into(),
        MaxPooling2D::new((2, 2)).into(),
        Conv2D::new(64, (3, 3)).activation("relu").into(),
        MaxPooling2D::new((2, 2)).into(),
        Flatten::new().into(),
        Dense::new(128).activation("relu").into(),
        Dropout::new(0.5).into(),
        Dense::new(10).activation("softmax").into(),
    ])?;
    model.summary();
    model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])?;

    let epochs: usize = std::env::var("EPOCHS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(15);
    println!("threads: {}", kerust::num_threads());
    for epoch in 0..epochs {
        let start = Instant::now();
        model.fit(
            &train_images,
            &train_labels,
            FitOptions {
                epochs: epoch + 1,
                initial_epoch: epoch,
                verbose: 2,
                ..Default::default()
            },
        )?;
        println!(
            "epoch {} time: {:.2} s",
            epoch + 1,
            start.elapsed().as_secs_f64()
        );
    }

    let result = model.evaluate(&test_images, &test_labels, 32, 0)?;
    println!(
        "Test accuracy: {:.4}",
        result.get("accuracy").unwrap_or(f32::NAN)
    );
    Ok(())
}
