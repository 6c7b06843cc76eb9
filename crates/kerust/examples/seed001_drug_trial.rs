//! Seed 001: "Deep Learning Fundamentals" (deeplizard), the drug-trial data, line for line.
//!
//! Run: `cargo run --release --example seed001_drug_trial` (no dataset needed: the data are
//! generated, as in the tutorial).

use kerust::prelude::*;
use kerust::preprocessing::MinMaxScaler;
use kerust::Rng;
use ndarray::{Array1, Array2};

/// Python's `randint(lo, hi)`: uniform in `lo..=hi`.
fn randint(rng: &mut Rng, lo: u32, hi: u32) -> u32 {
    lo + rng.below((hi - lo + 1) as usize) as u32
}

fn main() -> kerust::Result<()> {
    kerust::set_random_seed(1);

    // layers = [
    //     Dense(3, input_shape=(2,), activation='relu'),
    //     Dense(2, activation='softmax')
    // ]
    // model = Sequential(layers)
    let layers: Vec<Box<dyn Layer>> = vec![
        Dense::new(3).input_shape(&[2]).activation("relu").into(),
        Dense::new(2).activation("softmax").into(),
    ];
    let model = Sequential::new(layers)?.with_name("sequential");
    model.summary();

    // model = Sequential([
    //     Dense(5, input_shape=(3,), activation='relu')
    // ])
    let model = Sequential::new(vec![Dense::new(5)
        .input_shape(&[3])
        .activation("relu")
        .into()])?
    .with_name("sequential_1");
    model.summary();

    // model = Sequential()
    // model.add(Dense(5, input_shape=(3,)))
    // model.add(Activation('relu'))
    let mut model = Sequential::empty().with_name("sequential_2");
    model.add(Dense::new(5).input_shape(&[3]))?;
    model.add(kerust::layers::Activation::new("relu"))?;
    model.summary();

    // train_labels = []
    // train_samples = []
    let mut train_labels: Vec<u8> = Vec::new();
    let mut train_samples: Vec<u32> = Vec::new();
    let mut rng = Rng::new(2100);

    // for i in range(1000):
    for _ in 0..1000 {
        // random_younger = randint(13, 64)
        let random_younger = randint(&mut rng, 13, 64);
        train_samples.push(random_younger);
        train_labels.push(0);

        // random_older = randint(65, 100)
        let random_older = randint(&mut rng, 65, 100);
        train_samples.push(random_older);
        train_labels.push(1);
    }

    // for i in range(50):
    for _ in 0..50 {
        let random_younger = randint(&mut rng, 13, 64);
        train_samples.push(random_younger);
        train_labels.push(1);

        let random_older = randint(&mut rng, 65, 100);
        train_samples.push(random_older);
        train_labels.push(0);
    }

    // len(train_samples) == len(train_labels)
    println!("{}", train_samples.len() == train_labels.len());

    // train_labels = np.array(train_labels)
    // train_samples = np.array(train_samples)
    let train_labels = Array1::from(train_labels);
    let train_samples = Array1::from(train_samples);
    // train_samples.shape, train_labels.shape
    println!("{:?}", train_samples.shape());
    println!("{:?}", train_labels.shape());

    // scalar = MinMaxScaler(feature_range=(0, 1))
    // scaled_train_samples = scalar.fit_transform(train_samples.reshape(len(train_samples), 1))
    let mut scalar = MinMaxScaler::new((0.0, 1.0))?;
    let column = Array2::from_shape_fn((train_samples.len(), 1), |(i, _)| train_samples[i] as f32);
    let scaled_train_samples = scalar.fit_transform(&column)?;
    println!("{:.8}", scaled_train_samples.slice(ndarray::s![..3, ..]));

    // model = Sequential([
    //     Dense(6, input_shape = (1,), activation='relu'),
    //     Dense(32, activation='relu'),
    //     Dense(2, activation='sigmoid')
    // ])
    let mut model = Sequential::new(vec![
        Dense::new(6).input_shape(&[1]).activation("relu").into(),
        Dense::new(32).activation("relu").into(),
        Dense::new(2).activation("sigmoid").into(),
    ])?
    .with_name("sequential_3");
    model.summary();

    // model.compile(optimizer=Adam(lr=0.0001), loss='sparse_categorical_crossentropy',
    //               metrics=['accuracy'])
    model.compile(
        Adam::new(0.0001),
        "sparse_categorical_crossentropy",
        ["accuracy"],
    )?;

    // model.fit(x=scaled_train_samples, y=train_labels, batch_size=10, epochs=20,
    //           shuffle=True, verbose=2)
    let history = model.fit(
        &scaled_train_samples,
        &train_labels,
        FitOptions {
            batch_size: 10,
            epochs: 20,
            shuffle: true,
            verbose: 2,
            ..Default::default()
        },
    )?;

    let accuracy = history
        .get("accuracy")
        .and_then(|a| a.last().copied())
        .unwrap_or(f32::NAN);
    println!("Final training accuracy: {accuracy:.4}");

    // Beyond this part of the tutorial (the series' next lesson): a test set made the same
    // way (420 patients, 95% of them following the rule), scaled with the training scaler.
    let mut test_samples: Vec<u32> = Vec::new();
    let mut test_labels: Vec<u8> = Vec::new();
    let mut rng = Rng::new(420);
    for (iterations, younger_label) in [(200, 0u8), (10, 1u8)] {
        for _ in 0..iterations {
            test_samples.push(randint(&mut rng, 13, 64));
            test_labels.push(younger_label);
            test_samples.push(randint(&mut rng, 65, 100));
            test_labels.push(1 - younger_label);
        }
    }
    let test_column =
        Array2::from_shape_fn((test_samples.len(), 1), |(i, _)| test_samples[i] as f32);
    let scaled_test_samples = scalar.transform(&test_column)?;
    let predictions = model.predict(&scaled_test_samples, 10)?;
    let correct = predictions
        .outer_iter()
        .zip(&test_labels)
        .filter(|(p, &label)| usize::from(p[1] > p[0]) == label as usize)
        .count();
    println!(
        "Test accuracy: {:.4} ({correct}/{})",
        correct as f64 / test_labels.len() as f64,
        test_labels.len()
    );
    Ok(())
}
