//! Seed 004: "The Art of Training Neural Networks with Keras", the Sequential API, line for
//! line, then a short training run on a real binary task (MNIST zeros against ones).
//!
//! Run: `KERUST_DATA=../shared/datasets cargo run --release --example seed004_sequential_api`
//!
//! `EPOCHS=1` overrides the 2 epochs of each training run.

use kerust::datasets::mnist;
use kerust::prelude::*;
use ndarray::{Array1, Array2, Axis};

/// The images of digits 0 and 1, flattened and scaled to [0, 1], labelled 1.0 for a zero.
fn zeros_and_ones(images: &ndarray::Array3<u8>, labels: &Array1<u8>) -> (Array2<f32>, Array1<f32>) {
    let keep: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] <= 1).collect();
    let x = Array2::from_shape_fn((keep.len(), 784), |(r, c)| {
        images[[keep[r], c / 28, c % 28]] as f32 / 255.0
    });
    let y = keep
        .iter()
        .map(|&i| if labels[i] == 0 { 1.0 } else { 0.0 })
        .collect();
    (x, y)
}

fn main() -> kerust::Result<()> {
    kerust::set_random_seed(4);

    // from keras.layers.core import Dense
    // layer1 = Dense(units = 32, activation = 'sigmoid')
    let layer1 = Dense::new(32).activation("sigmoid");
    println!("layer1: Dense with {} units", layer1.units());

    // model = Sequential([
    //     Dense(32, input_shape=(784,), activation = 'sigmoid'),
    //     Dense(10, activation = 'sigmoid'),
    //     Dense(1, activation = 'sigmoid')
    // ])
    let model = Sequential::new(vec![
        Dense::new(32)
            .input_shape(&[784])
            .activation("sigmoid")
            .into(),
        Dense::new(10).activation("sigmoid").into(),
        Dense::new(1).activation("sigmoid").into(),
    ])?;
    model.summary();

    // neural_network = Sequential()
    let mut neural_network = Sequential::empty().with_name("sequential_1");
    // neural_network.add(Dense(32, input_dim=784, activation = 'sigmoid'))
    neural_network.add(Dense::new(32).input_dim(784).activation("sigmoid"))?;
    // neural_network.add(Dense(10, activation = 'sigmoid'))
    neural_network.add(Dense::new(10).activation("sigmoid"))?;
    // neural_network.add(Dense(1, activation = 'sigmoid'))
    neural_network.add(Dense::new(1).activation("sigmoid"))?;

    // neural_network.summary()
    neural_network.summary();

    // from keras.optimizers import SGD
    // customized_optimizer = SGD(lr = 0.0001)
    let customized_optimizer = SGD::new(0.0001);

    // neural_network.compile(loss = 'binary_crossentropy', optimizer = 'sgd', metrics = ['accuracy'])
    neural_network.compile("sgd", "binary_crossentropy", ["accuracy"])?;

    // neural_network.compile(loss = 'binary_crossentropy', optimizer = customized_optimizer,
    //                        metrics = ['accuracy'])
    neural_network.compile(customized_optimizer, "binary_crossentropy", ["accuracy"])?;

    // The tutorial stops before `fit`. Train on a real binary task: is this MNIST digit a
    // zero (1) or a one (0)?
    let ((x_train, y_train), (x_test, y_test)) = mnist::load_data()?;
    let (x_train, y_train) = zeros_and_ones(&x_train, &y_train);
    let (x_test, y_test) = zeros_and_ones(&x_test, &y_test);
    println!(
        "{} training and {} test images of zeros and ones",
        x_train.len_of(Axis(0)),
        x_test.len_of(Axis(0))
    );
    let epochs = std::env::var("EPOCHS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);

    // With SGD(lr = 0.0001) the weights barely move in two epochs ...
    println!("Training with SGD(learning_rate=0.0001):");
    neural_network.fit(
        &x_train,
        &y_train,
        FitOptions {
            epochs,
            ..Default::default()
        },
    )?;
    let slow = neural_network.evaluate(&x_test, &y_test, 32, 1)?;

    // ... while the default 'sgd' (learning rate 0.01) converges: the tutorial's point about
    // the learning rate.
    println!("Training on with 'sgd' (learning_rate=0.01):");
    neural_network.compile("sgd", "binary_crossentropy", ["accuracy"])?;
    neural_network.fit(
        &x_train,
        &y_train,
        FitOptions {
            epochs,
            ..Default::default()
        },
    )?;
    let fast = neural_network.evaluate(&x_test, &y_test, 32, 1)?;

    println!(
        "Test accuracy after SGD(lr=0.0001): {:.4}",
        slow.get("accuracy").unwrap_or(f32::NAN)
    );
    println!(
        "Test accuracy after 'sgd' (lr=0.01): {:.4}",
        fast.get("accuracy").unwrap_or(f32::NAN)
    );
    Ok(())
}
