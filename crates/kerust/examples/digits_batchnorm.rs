//! The embedded 8 x 8 digits through normalization and reshaping layers: the images get a
//! channel axis (`Reshape`), are enlarged (`UpSampling2D`, bilinear), mixed per pixel by a
//! `Dense` layer and normalized by `BatchNormalization`, then flattened and classified by a
//! `LayerNormalization`ed hidden layer, with `GaussianNoise` and `Dropout` in training.
//!
//! Run: `cargo run --release --example digits_batchnorm` (`EPOCHS=5` overrides the 20
//! epochs). Prints the summary, each epoch's time and the test accuracy.

use kerust::datasets::digits;
use kerust::layers::{
    ActivationLayer, BatchNormalization, GaussianNoise, LayerNormalization, Reshape, UpSampling2D,
};
use kerust::prelude::*;
use kerust::preprocessing::train_test_split;

fn main() -> kerust::Result<()> {
    kerust::set_random_seed(6);
    let (images, labels) = digits::load_data()?;
    let x = images.mapv(|v| v as f32 / digits::MAX_PIXEL as f32);
    let (x_train, x_test, y_train, y_test) = train_test_split(&x, &labels, 0.25, 6, true)?;

    let mut model = Sequential::new(vec![
        Input::new(&[8, 8]).into(),
        Reshape::new(&[8, 8, 1]).into(),
        UpSampling2D::new(2).interpolation("bilinear").into(),
        Dense::new(8).into(),
        BatchNormalization::new().into(),
        ActivationLayer::new("relu").into(),
        Flatten::new().into(),
        GaussianNoise::new(0.05).into(),
        Dense::new(64).into(),
        LayerNormalization::new().into(),
        ActivationLayer::new("relu").into(),
        Dropout::new(0.2).into(),
        Dense::new(10).activation("softmax").into(),
    ])?
    .with_name("digits_batchnorm");
    model.summary();
    model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])?;
    let epochs = std::env::var("EPOCHS")
        .ok()
        .and_then(|e| e.parse().ok())
        .unwrap_or(20);
    let start = std::time::Instant::now();
    model.fit(
        &x_train,
        &y_train,
        FitOptions {
            epochs,
            batch_size: 32,
            verbose: 2,
            ..Default::default()
        },
    )?;
    let secs = start.elapsed().as_secs_f64();
    let result = model.evaluate(&x_test, &y_test, 32, 0)?;
    println!(
        "{epochs} epochs in {secs:.2} s ({:.1} ms per epoch); test accuracy: {:.4}",
        secs * 1000.0 / epochs as f64,
        result.get("accuracy").unwrap_or(f32::NAN)
    );
    Ok(())
}
