//! Seed 002: "Introduction to Deep Learning - I", a dense network on MNIST, line for line.
//!
//! Run: `KERUST_DATA=../shared/datasets cargo run --release --example seed002_mnist_dense`
//!
//! `EPOCHS=5` overrides the tutorial's 20 epochs.

use kerust::datasets::mnist;
use kerust::prelude::*;
use ndarray::{s, Axis};

fn main() -> kerust::Result<()> {
    kerust::set_random_seed(2);
    // (x_train, y_train), (x_test, y_test) = tf.keras.datasets.mnist.load_data()
    let ((x_train, y_train), (x_test, y_test)) = mnist::load_data()?;

    // image_index = 7777 # You may select anything up to 60,000
    // print(y_train[image_index]) # The label is 8
    let image_index = 7777;
    println!("{}", y_train[image_index]);

    // x_train.shape
    println!("{:?}", x_train.shape());

    // x_train = x_train.astype('float32'); x_train /= 255
    // x_train = x_train.reshape((-1, 784))
    let n_train = x_train.len_of(Axis(0));
    let n_test = x_test.len_of(Axis(0));
    let x_train = x_train
        .mapv(|v| v as f32 / 255.0)
        .into_shape_with_order((n_train, 784))
        .expect("28 x 28 images");
    let x_test = x_test
        .mapv(|v| v as f32 / 255.0)
        .into_shape_with_order((n_test, 784))
        .expect("28 x 28 images");

    // print('x_train shape:', x_train.shape)
    // print('Number of images in x_train', x_train.shape[0])
    // print('Number of images in x_test', x_test.shape[0])
    println!("x_train shape: {:?}", x_train.shape());
    println!("Number of images in x_train {}", x_train.shape()[0]);
    println!("Number of images in x_test {}", x_test.shape()[0]);

    // model = Sequential()
    let mut model = Sequential::empty();
    // model.add(Dense(64, activation=tf.nn.relu, input_shape=(784,)))
    model.add(Dense::new(64).activation("relu").input_shape(&[784]))?;
    // model.add(Dense(64, activation=tf.nn.relu))
    model.add(Dense::new(64).activation("relu"))?;
    // model.add(Dense(10, activation=tf.nn.softmax))
    model.add(Dense::new(10).activation("softmax"))?;
    model.summary();

    // model.compile(optimizer='adam', loss='sparse_categorical_crossentropy', metrics=['accuracy'])
    model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])?;

    // model.fit(x=x_train, y=y_train, epochs=20)
    let epochs = std::env::var("EPOCHS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    model.fit(
        &x_train,
        &y_train,
        FitOptions {
            epochs,
            ..Default::default()
        },
    )?;

    // model.evaluate(x_test, y_test)
    let result = model.evaluate(&x_test, &y_test, 32, 1)?;
    println!(
        "[{}, {}]",
        result.loss(),
        result.get("accuracy").unwrap_or(f32::NAN)
    );

    // image_index = 9
    // pred = model.predict(x_test[image_index].reshape((-1, 784)))
    // print("Predicted Number:", pred.argmax())
    let image_index = 9;
    let pred = model.predict(&x_test.slice(s![image_index..image_index + 1, ..]), 32)?;
    let probs: Vec<f32> = pred.iter().copied().collect();
    let argmax = (0..probs.len()).fold(0, |b, i| if probs[i] > probs[b] { i } else { b });
    println!("Predicted Number: {argmax}");
    println!("True Number: {}", y_test[image_index]);
    Ok(())
}
