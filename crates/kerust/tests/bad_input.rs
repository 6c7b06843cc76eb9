//! Every bad input to the public API is a typed error that says what was wrong and what
//! was expected; none panics.

use kerust::layers::{Dense, Dropout, Flatten};
use kerust::models::{FitOptions, Sequential};
use kerust::Error;
use ndarray::{Array1, Array2, Array3, ArrayD, IxDyn};

fn model() -> Sequential {
    let mut m = Sequential::new(vec![
        Dense::new(8).activation("relu").input_dim(4).into(),
        Dense::new(3).activation("softmax").into(),
    ])
    .unwrap();
    m.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
        .unwrap();
    m
}

fn data(n: usize) -> (Array2<f32>, Array1<f32>) {
    (
        Array2::from_shape_fn((n, 4), |(i, j)| (i * 4 + j) as f32 * 0.01),
        Array1::from_shape_fn(n, |i| (i % 3) as f32),
    )
}

fn quiet() -> FitOptions<'static> {
    FitOptions {
        verbose: 0,
        ..Default::default()
    }
}

#[track_caller]
fn says(e: Error, words: &[&str]) {
    let msg = e.to_string();
    for w in words {
        assert!(
            msg.contains(w),
            "error message {msg:?} should mention {w:?}"
        );
    }
}

#[test]
fn fit_before_compile() {
    let mut m = Sequential::new(vec![Dense::new(2).input_dim(4).into()]).unwrap();
    let (x, y) = data(5);
    let e = m.fit(&x, &y, quiet()).unwrap_err();
    assert!(matches!(e, Error::NotCompiled(_)));
    says(e, &["compile"]);
    assert!(matches!(
        m.evaluate(&x, &y, 32, 0).unwrap_err(),
        Error::NotCompiled(_)
    ));
}

#[test]
fn mismatched_lengths_and_feature_counts() {
    let mut m = model();
    let (x, _) = data(5);
    let (_, y) = data(6);
    says(
        m.fit(&x, &y, quiet()).unwrap_err(),
        &["5 samples", "6 samples"],
    );
    let wide = Array2::<f32>::zeros((5, 7));
    let (_, y5) = data(5);
    says(
        m.fit(&wide, &y5, quiet()).unwrap_err(),
        &["(None, 4)", "(5, 7)"],
    );
    says(m.predict(&wide, 32).unwrap_err(), &["(None, 4)"]);
}

#[test]
fn labels_out_of_range_and_non_integer() {
    let mut m = model();
    let (x, _) = data(4);
    let y = Array1::from_vec(vec![0.0f32, 1.0, 3.0, 2.0]);
    let e = m.fit(&x, &y, quiet()).unwrap_err();
    assert!(matches!(e, Error::InvalidData { .. }));
    says(e, &["label 3", "sample 2", "[0, 3)"]);
    let y = Array1::from_vec(vec![0.0f32, 1.5, 1.0, 2.0]);
    says(m.fit(&x, &y, quiet()).unwrap_err(), &["1.5"]);
    let y = Array1::from_vec(vec![0i64, -1, 1, 2]);
    says(m.fit(&x, &y, quiet()).unwrap_err(), &["-1"]);
}

#[test]
fn nan_and_infinity_in_data() {
    let mut m = model();
    let (mut x, y) = data(4);
    x[[2, 1]] = f32::NAN;
    says(
        m.fit(&x, &y, quiet()).unwrap_err(),
        &["x", "NaN", "sample 2"],
    );
    let (x, _) = data(4);
    let mut m = Sequential::new(vec![Dense::new(1).input_dim(4).into()]).unwrap();
    m.compile("sgd", "mse", ()).unwrap();
    let y = Array1::from_vec(vec![0.0, f32::INFINITY, 1.0, 2.0]);
    says(m.fit(&x, &y, quiet()).unwrap_err(), &["y", "inf"]);
    let (x, _) = data(4);
    says(
        m.predict(&x.mapv(|_| f32::NAN), 2).unwrap_err(),
        &["not finite"],
    );
}

#[test]
fn empty_inputs_and_scalars() {
    let mut m = model();
    let x = Array2::<f32>::zeros((0, 4));
    let y = Array1::<f32>::zeros(0);
    says(m.fit(&x, &y, quiet()).unwrap_err(), &["empty"]);
    says(m.predict(&x, 4).unwrap_err(), &["empty"]);
    let scalar = ArrayD::<f32>::zeros(IxDyn(&[]));
    says(m.predict(&scalar, 4).unwrap_err(), &["batch axis"]);
}

#[test]
fn bad_options() {
    let mut m = model();
    let (x, y) = data(10);
    says(
        m.fit(
            &x,
            &y,
            FitOptions {
                batch_size: 0,
                ..quiet()
            },
        )
        .unwrap_err(),
        &["batch_size"],
    );
    says(
        m.fit(
            &x,
            &y,
            FitOptions {
                validation_split: 1.5,
                ..quiet()
            },
        )
        .unwrap_err(),
        &["validation_split", "[0, 1)"],
    );
    says(
        m.fit(
            &x,
            &y,
            FitOptions {
                validation_split: -0.1,
                ..quiet()
            },
        )
        .unwrap_err(),
        &["validation_split"],
    );
    says(
        m.fit(
            &x,
            &y,
            FitOptions {
                validation_split: 0.01,
                ..quiet()
            },
        )
        .unwrap_err(),
        &["empty"],
    );
    says(
        m.fit(
            &x,
            &y,
            FitOptions {
                verbose: 3,
                ..quiet()
            },
        )
        .unwrap_err(),
        &["verbose"],
    );
    says(
        m.fit(
            &x,
            &y,
            FitOptions {
                sample_weight: Some(vec![1.0; 3]),
                ..quiet()
            },
        )
        .unwrap_err(),
        &["sample_weight", "10 weights"],
    );
    says(m.evaluate(&x, &y, 0, 0).unwrap_err(), &["batch_size"]);
    says(m.predict(&x, 0).unwrap_err(), &["batch_size"]);
    let vx = Array2::<f32>::zeros((3, 5));
    let vy = Array1::<f32>::zeros(3);
    says(
        m.fit(&x, &y, quiet().validation_data(&vx, &vy))
            .unwrap_err(),
        &["validation_data"],
    );
}

#[test]
fn unknown_names_list_the_valid_ones() {
    let mut m = model();
    says(
        m.compile("adamm", "mse", ()).unwrap_err(),
        &["unknown optimizer 'adamm'", "adam", "rmsprop"],
    );
    says(
        m.compile("adam", "mse_typo", ()).unwrap_err(),
        &["unknown loss", "mean_squared_error"],
    );
    says(
        m.compile("adam", "mse", ["acuracy"]).unwrap_err(),
        &["unknown metric", "accuracy"],
    );
    let e =
        Sequential::new(vec![Dense::new(2).activation("rellu").input_dim(3).into()]).unwrap_err();
    says(e, &["unknown activation 'rellu'", "relu"]);
    let e = Sequential::new(vec![Dense::new(2)
        .kernel_initializer("glorot")
        .input_dim(3)
        .into()])
    .unwrap_err();
    says(e, &["unknown initializer", "glorot_uniform"]);
    says("l3".parse::<kerust::losses::Loss>().unwrap_err(), &["l3"]);
}

#[test]
fn layers_that_do_not_fit_together() {
    says(
        Sequential::new(vec![Dense::new(0).input_dim(3).into()]).unwrap_err(),
        &["units"],
    );
    says(
        Sequential::new(vec![Dropout::new(1.5).into(), Dense::new(2).into()])
            .and_then(|mut m| m.build(&[3]))
            .unwrap_err(),
        &["rate", "[0, 1)"],
    );
    // As in Keras, input_shape on a later layer is ignored, not checked.
    let m = Sequential::new(vec![
        Dense::new(4).input_dim(3).into(),
        Dense::new(2).input_dim(5).into(),
    ])
    .unwrap();
    assert_eq!(m.count_params(), 16 + 10);
    let e = Sequential::new(vec![
        Dense::new(4).name("a").input_dim(3).into(),
        Dense::new(2).name("a").into(),
    ])
    .unwrap_err();
    says(e, &["unique", "'a'"]);
    let e = Sequential::new(vec![
        Dense::new(4).input_dim(3).into(),
        kerust::layers::Input::new(&[3]).into(),
    ])
    .unwrap_err();
    says(e, &["first layer"]);
}

#[test]
fn wrong_target_shapes_for_the_loss() {
    let mut m = Sequential::new(vec![
        Flatten::new().input_shape(&[2, 2]).into(),
        Dense::new(3).activation("softmax").into(),
    ])
    .unwrap();
    m.compile("adam", "categorical_crossentropy", ["accuracy"])
        .unwrap();
    let x = Array3::<f32>::zeros((4, 2, 2));
    let y = Array1::<f32>::zeros(4);
    says(
        m.fit(&x, &y, quiet()).unwrap_err(),
        &["categorical_crossentropy", "(4, 3)"],
    );
}

#[test]
fn weights_of_the_wrong_shape() {
    let mut m = model();
    let mut w = m.get_weights();
    says(
        m.set_weights(&w[..1]).unwrap_err(),
        &["4 arrays", "1 arrays"],
    );
    w[0] = ArrayD::zeros(IxDyn(&[3, 8]));
    says(
        m.set_weights(&w).unwrap_err(),
        &["dense", "kernel", "[4, 8]", "[3, 8]"],
    );
    says(
        m.apply_gradients(&[vec![0.0; 2]]).unwrap_err(),
        &["4 gradient arrays"],
    );
}

#[test]
fn bad_optimizer_settings() {
    use kerust::optimizers::Adam;
    let mut m = model();
    says(
        m.compile(Adam::new(-1.0), "mse", ()).unwrap_err(),
        &["learning_rate"],
    );
    says(
        m.compile(Adam::new(1e-3).clipnorm(1.0).clipvalue(1.0), "mse", ())
            .unwrap_err(),
        &["only one of"],
    );
    says(
        m.compile(Adam::new(f32::NAN), "mse", ()).unwrap_err(),
        &["finite"],
    );
}

/// A sweep of arbitrary shapes and values through the public entry points: whatever comes
/// back, nothing panics.
#[test]
fn no_panic_on_arbitrary_shapes() {
    let mut rng = kerust::Rng::new(99);
    for _ in 0..200 {
        let n = rng.below(4);
        let f = rng.below(6);
        let yn = rng.below(4);
        let ydim = rng.below(4);
        let x = Array2::from_shape_fn((n, f), |_| rng.uniform_range(-2.0, 2.0));
        let y = if ydim == 0 {
            Array1::from_shape_fn(yn, |_| rng.below(4) as f32).into_dyn()
        } else {
            Array2::from_shape_fn((yn, ydim), |_| rng.uniform()).into_dyn()
        };
        let loss = [
            "sparse_categorical_crossentropy",
            "mse",
            "categorical_crossentropy",
            "binary_crossentropy",
            "hinge",
        ][rng.below(5)];
        let mut m = model();
        let _ = m.compile("sgd", loss, ["accuracy"]);
        let bs = rng.below(3);
        let _ = m.fit(
            &x,
            &y,
            FitOptions {
                batch_size: bs,
                verbose: 0,
                validation_split: rng.uniform() * 0.9,
                ..Default::default()
            },
        );
        let _ = m.evaluate(&x, &y, bs, 0);
        let _ = m.predict(&x, bs);
        let _ = m.train_on_batch(&x, &y);
        let _ = m.test_on_batch(&x, &y);
        let _ = m.predict_on_batch(&x);
    }
}
