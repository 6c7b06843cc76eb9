//! Seed 003: "Introduction to Neural Networks" on Fashion-MNIST, line for line.
//!
//! Run: `KERUST_DATA=../shared/datasets cargo run --release --example seed003_fashion_mnist`

use kerust::datasets::fashion_mnist;
use kerust::prelude::*;

fn main() -> kerust::Result<()> {
    kerust::set_random_seed(42);
    let ((train_images, train_labels), (test_images, test_labels)) = fashion_mnist::load_data()?;

    // train_images = train_images / 255.0
    let train_images = train_images.mapv(|v| v as f32 / 255.0);
    let test_images = test_images.mapv(|v| v as f32 / 255.0);

    let mut model = Sequential::new(vec![
        Flatten::new().input_shape(&[28, 28]).into(), // input layer (1)
        Dense::new(128).activation("relu").into(),    // hidden layer (2)
        Dense::new(10).activation("softmax").into(),  // output layer (3)
    ])?;
    model.summary();

    model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])?;

    let epochs = std::env::var("EPOCHS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    model.fit(
        &train_images,
        &train_labels,
        FitOptions {
            epochs,
            ..Default::default()
        },
    )?;

    let result = model.evaluate(&test_images, &test_labels, 32, 1)?;
    println!(
        "Test accuracy: {}",
        result.get("accuracy").unwrap_or(f32::NAN)
    );

    let predictions = model.predict(&test_images, 32)?;
    let first = predictions.index_axis(ndarray::Axis(0), 0);
    let guess = first
        .iter()
        .enumerate()
        .fold(0, |b, (i, &v)| if v > first[b] { i } else { b });
    println!(
        "First test image: predicted {} ({}), true {} ({})",
        guess,
        fashion_mnist::CLASS_NAMES[guess],
        test_labels[0],
        fashion_mnist::CLASS_NAMES[test_labels[0] as usize]
    );
    Ok(())
}
