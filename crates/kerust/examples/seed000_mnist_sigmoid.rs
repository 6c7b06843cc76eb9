//! Seed 000: "The heart of Deep Learning", a sigmoid network on MNIST, line for line.
//!
//! Run: `KERUST_DATA=../shared/datasets cargo run --release --example seed000_mnist_sigmoid`
//!
//! The tutorial trains 20 epochs at batch size 10 (5,940 steps an epoch); set `EPOCHS=2`
//! for a quick run.

use kerust::datasets::mnist;
use kerust::metrics::confusion_matrix;
use kerust::prelude::*;
use ndarray::{Array2, Axis};

/// Prints the confusion matrix as a table: true labels down, predictions across.
fn print_confusion_matrix(cm: &Array2<u64>) {
    let k = cm.nrows();
    println!("Confusion matrix (rows: true label, columns: predicted label)");
    print!("true\\pred");
    for j in 0..k {
        print!("{j:>6}");
    }
    println!();
    for i in 0..k {
        print!("{i:>9}");
        for j in 0..k {
            print!("{:>6}", cm[[i, j]]);
        }
        println!();
    }
}

fn main() -> kerust::Result<()> {
    kerust::set_random_seed(0);
    // from keras.datasets import mnist
    let ((x_train, y_train), (x_test, y_test)) = mnist::load_data()?;

    // "we have vectorized and normalized each image into an array of values between 0 and 1"
    let image_size = 28 * 28;
    let n_train = x_train.len_of(Axis(0));
    let n_test = x_test.len_of(Axis(0));
    let x_train = x_train
        .mapv(|v| v as f32 / 255.0)
        .into_shape_with_order((n_train, image_size))
        .expect("60000 x 28 x 28 pixels");
    let x_test = x_test
        .mapv(|v| v as f32 / 255.0)
        .into_shape_with_order((n_test, image_size))
        .expect("10000 x 28 x 28 pixels");

    // model = Sequential()
    let mut model = Sequential::empty();

    // layer_input = Dense(units=512, activation='sigmoid', input_shape=(image_size,))
    // model.add(layer_input)
    let layer_input = Dense::new(512)
        .activation("sigmoid")
        .input_shape(&[image_size]);
    model.add(layer_input)?;

    // new_layer = Dense(units=512, activation='sigmoid')
    // model.add(new_layer)
    let new_layer = Dense::new(512).activation("sigmoid");
    model.add(new_layer)?;

    // layer_output = Dense(units=10, activation='softmax', input_shape=(image_size,))
    // model.add(layer_output)
    // Keras ignores `input_shape` on a layer that is not the first; kerust checks it against
    // the previous layer's output (512 here) and would reject (784,), so it is left out.
    let layer_output = Dense::new(10).activation("softmax");
    model.add(layer_output)?;

    // model.summary()
    model.summary();

    // model.compile(loss='sparse_categorical_crossentropy', optimizer='sgd', metrics=['accuracy'])
    model.compile("sgd", "sparse_categorical_crossentropy", ["accuracy"])?;

    // model.fit(x_train, y_train, batch_size=10, epochs=20, shuffle=True, verbose=True,
    //           validation_split=.01)
    let epochs = std::env::var("EPOCHS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    model.fit(
        &x_train,
        &y_train,
        FitOptions {
            batch_size: 10,
            epochs,
            shuffle: true,
            verbose: 1,
            validation_split: 0.01,
            ..Default::default()
        },
    )?;

    // predictions = model.predict(x=x_test, batch_size=10, verbose=0)
    let predictions = model.predict(&x_test, 10)?;

    // rounded_preds = np.argmax(predictions, axis=-1)
    let rounded_preds: Vec<usize> = predictions
        .outer_iter()
        .map(|row| {
            row.iter()
                .enumerate()
                .fold(0, |b, (i, &v)| if v > row[b] { i } else { b })
        })
        .collect();
    // y_true = np.argmax(y_test, axis=-1): the tutorial's labels were one-hot; ours are the
    // class ids already.
    let y_true: Vec<usize> = y_test.iter().map(|&l| l as usize).collect();

    // confusion_matrix(y_true, rounded_preds), drawn as a table instead of a plot
    let cm = confusion_matrix(&y_true, &rounded_preds, Some(10))?;
    print_confusion_matrix(&cm);
    let correct: u64 = cm.diag().sum();
    println!(
        "Test accuracy: {:.4} ({correct}/{n_test})",
        correct as f64 / n_test as f64
    );
    Ok(())
}
