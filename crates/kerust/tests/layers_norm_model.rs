//! A model of normalization and global-pooling layers against real Keras 3
//! (`tools/gen_layer_fixtures_norm.py`): `summary()` text, `fit` with BatchNormalization's
//! non-trainable moving statistics (Adam), a Keras-written `.keras` file (weights and
//! optimizer state) that predicts and keeps training as in Keras, and kerust's own files
//! that round-trip bit for bit.

use kerust::layers::{
    BatchNormalization, Dense, GlobalAveragePooling2D, GroupNormalization, Input,
    LayerNormalization, UnitNormalization,
};
use kerust::models::{FitOptions, Sequential};
use kerust::optimizers::Adam;
use kerust::saving::load_model;
use ndarray::{ArrayD, IxDyn};
use serde_json::Value;

fn fixture() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/layers_norm_model.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn arr(v: &Value) -> ArrayD<f32> {
    let shape: Vec<usize> = v["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect();
    let data: Vec<f32> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect();
    ArrayD::from_shape_vec(IxDyn(&shape), data).unwrap()
}

fn arrs(v: &Value) -> Vec<ArrayD<f32>> {
    v.as_array().unwrap().iter().map(arr).collect()
}

#[track_caller]
fn close(what: &str, got: &ArrayD<f32>, want: &ArrayD<f32>) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    for (i, (g, w)) in got.iter().zip(want.iter()).enumerate() {
        let tol = 1e-5 + 1e-4 * w.abs();
        assert!((g - w).abs() <= tol, "{what}[{i}]: got {g}, Keras {w}");
    }
}

fn model() -> Sequential {
    Sequential::new(vec![
        Input::new(&[4, 4, 3]).into(),
        Dense::new(6).into(),
        BatchNormalization::new().into(),
        GroupNormalization::new(3).into(),
        LayerNormalization::new().into(),
        UnitNormalization::new().into(),
        GlobalAveragePooling2D::new().into(),
        Dense::new(3).activation("softmax").into(),
    ])
    .unwrap()
    .with_name("norm_model")
}

fn quiet() -> FitOptions<'static> {
    FitOptions {
        batch_size: 4,
        epochs: 2,
        shuffle: false,
        verbose: 0,
        ..Default::default()
    }
}

#[test]
fn summary_prints_as_in_keras_with_non_trainable_params() {
    let f = fixture();
    let m = model();
    assert_eq!(m.summary_string(), f["summary"].as_str().unwrap());
}

#[test]
fn fit_updates_weights_and_moving_statistics_as_keras() {
    let f = fixture();
    let (x, y) = (arr(&f["x"]), arr(&f["y"]));
    let mut m = model();
    m.set_weights(&arrs(&f["initial_weights"])).unwrap();
    m.compile(Adam::new(0.01), "sparse_categorical_crossentropy", ())
        .unwrap();
    let h = m.fit(&x, &y, quiet()).unwrap();
    let losses = h.history["loss"].clone();
    for (g, w) in losses.iter().zip(f["losses"].as_array().unwrap()) {
        let w = w.as_f64().unwrap() as f32;
        assert!((g - w).abs() <= 1e-4 * w.abs(), "loss {g} vs Keras {w}");
    }
    let want = arrs(&f["weights_after_fit"]);
    let names: Vec<String> = m
        .layers()
        .iter()
        .flat_map(|l| {
            l.params()
                .iter()
                .map(move |p| format!("{}/{}", l.name(), p.name))
        })
        .collect();
    // That bias feeds BatchNormalization's moving mean: each step adds (1 - momentum) x the
    // batch mean, bias included, so the two moving means may differ by up to the bias noise
    // (< 1e-3 on either side) times the weight of all the steps, 1 - 0.99^steps.
    let steps = 2 * x.shape()[0].div_ceil(4) as i32;
    let mean_noise = 2e-3 * (1.0 - 0.99f32.powi(steps));
    for ((g, w), n) in m.get_weights().iter().zip(&want).zip(&names) {
        if n == "batch_normalization/moving_mean" {
            for (i, (g, w)) in g.iter().zip(w.iter()).enumerate() {
                let tol = 1e-5 + 1e-4 * w.abs() + mean_noise;
                assert!((g - w).abs() <= tol, "{n}[{i}]: got {g}, Keras {w}");
            }
            continue;
        }
        if n == "dense/bias" {
            // The bias before BatchNormalization has a zero gradient in exact arithmetic
            // (the batch mean removes it): Adam moves it by rounding noise only, ~1e-4.
            let small = |a: &ArrayD<f32>| a.iter().all(|v| v.abs() < 1e-3);
            assert!(small(g) && small(w), "{n}: {g} vs Keras {w}");
            continue;
        }
        close(n, g, w);
    }
    // Only the 81 trainable values have Adam slots (plus iterations and learning rate,
    // as Keras counts "Optimizer params").
    assert_eq!(m.optimizer().unwrap().state_size(), 2 * 81 + 2);
}

#[test]
fn keras_written_file_predicts_and_keeps_training_as_keras() {
    let f = fixture();
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/keras_files/layers_norm.keras"
    );
    let mut m = load_model(path).unwrap();
    assert!(m
        .summary_string()
        .contains(" Non-trainable params: 12 (48.00 B)"));
    let (x, y) = (arr(&f["x"]), arr(&f["y"]));
    close(
        "predictions",
        &m.predict(&x, 32).unwrap(),
        &arr(&f["predictions"]),
    );
    let bn = m.layers()[1].as_ref();
    assert_eq!(bn.class_name(), "BatchNormalization");
    assert_eq!(
        bn.params().iter().map(|p| p.trainable).collect::<Vec<_>>(),
        [true, true, false, false]
    );
    let h = m
        .fit(
            &x,
            &y,
            FitOptions {
                epochs: 1,
                ..quiet()
            },
        )
        .unwrap();
    let w = f["more_loss"].as_f64().unwrap() as f32;
    let g = h.history["loss"][0];
    assert!((g - w).abs() <= 1e-4 * w, "loss {g} vs Keras {w}");
    for (i, (g, w)) in m
        .get_weights()
        .iter()
        .zip(&arrs(&f["weights_after_more"]))
        .enumerate()
    {
        if i == 1 {
            // dense/bias, before BatchNormalization: zero gradient but for rounding noise.
            let small = |a: &ArrayD<f32>| a.iter().all(|v| v.abs() < 1e-3);
            assert!(small(g) && small(w), "dense/bias: {g} vs Keras {w}");
            continue;
        }
        close(&format!("weight {i} after more training"), g, w);
    }
}

#[test]
fn saved_model_round_trips_bit_for_bit_and_trains_on_identically() {
    let f = fixture();
    let (x, y) = (arr(&f["x"]), arr(&f["y"]));
    let mut a = model();
    a.set_weights(&arrs(&f["initial_weights"])).unwrap();
    a.compile(Adam::new(0.01), "sparse_categorical_crossentropy", ())
        .unwrap();
    a.fit(&x, &y, quiet()).unwrap();
    let dir = std::env::temp_dir().join(format!("kerust-layers-norm-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("m.keras");
    a.save(&path).unwrap();
    let mut b = load_model(&path).unwrap();
    assert_eq!(a.get_weights(), b.get_weights());
    assert_eq!(a.predict(&x, 5).unwrap(), b.predict(&x, 5).unwrap());
    assert_eq!(a.summary_string(), b.summary_string());
    a.fit(&x, &y, quiet()).unwrap();
    b.fit(&x, &y, quiet()).unwrap();
    assert_eq!(a.get_weights(), b.get_weights());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn frozen_batch_normalization_uses_its_moving_statistics_and_stays_frozen() {
    let f = fixture();
    let (x, y) = (arr(&f["x"]), arr(&f["y"]));
    let mut m = model();
    m.set_weights(&arrs(&f["initial_weights"])).unwrap();
    m.get_layer_mut("batch_normalization")
        .unwrap()
        .set_trainable(false);
    let text = m.summary_string();
    assert!(
        text.contains(" Non-trainable params: 24 (96.00 B)"),
        "{text}"
    );
    let before: Vec<_> = m.get_layer("batch_normalization").unwrap().params()[2..]
        .iter()
        .map(|p| p.value.clone())
        .collect();
    m.compile(Adam::new(0.01), "sparse_categorical_crossentropy", ())
        .unwrap();
    m.fit(&x, &y, quiet()).unwrap();
    let bn = m.get_layer("batch_normalization").unwrap();
    assert!(!bn.trainable());
    for (p, b) in bn.params()[2..].iter().zip(&before) {
        assert_eq!(&p.value, b, "{} moved while frozen", p.name);
    }
    // Frozen in the file too.
    let dir =
        std::env::temp_dir().join(format!("kerust-layers-norm-frozen-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("m.keras");
    m.save(&path).unwrap();
    let back = load_model(&path).unwrap();
    let bn = back.get_layer("batch_normalization").unwrap();
    assert!(!bn.trainable());
    assert!(bn.params().iter().all(|p| !p.trainable));
    std::fs::remove_dir_all(&dir).ok();

    // A BatchNormalization without gamma/beta has only non-trainable variables but still
    // trains its statistics, and is written as trainable.
    let mut plain = Sequential::new(vec![
        Input::new(&[3]).into(),
        BatchNormalization::new().center(false).scale(false).into(),
        Dense::new(2).into(),
    ])
    .unwrap();
    assert!(plain.layers()[0].trainable());
    let json = plain.to_json().unwrap();
    assert!(!json.contains("\"trainable\":false"), "{json}");
    plain.compile("sgd", "mse", ()).unwrap();
    let xs = ndarray::Array2::from_shape_fn((8, 3), |(i, j)| (i * 3 + j) as f32 * 0.1);
    let ys = ndarray::Array2::<f32>::zeros((8, 2));
    plain
        .fit(
            &xs,
            &ys,
            FitOptions {
                epochs: 1,
                batch_size: 8,
                verbose: 0,
                ..Default::default()
            },
        )
        .unwrap();
    let mm = &plain.layers()[0].params()[0];
    assert!(
        mm.value.data().iter().all(|&v| v != 0.0),
        "moving mean did not move"
    );
}

fn shape_fixture() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/layers_norm_shape_model.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn shape_model() -> Sequential {
    use kerust::layers::*;
    Sequential::new(vec![
        Input::new(&[6, 5, 2]).into(),
        ZeroPadding2D::new(((1, 0), (0, 2))).into(),
        Cropping2D::new(((0, 1), (1, 0))).into(),
        UpSampling2D::new((2, 1)).into(),
        UpSampling2D::new(2).interpolation("bilinear").into(),
        SpatialDropout2D::new(0.3).seed(4).into(),
        GaussianNoise::new(0.2).seed(5).into(),
        GaussianDropout::new(0.2).seed(6).into(),
        Permute::new(&[2, 1, 3]).into(),
        Reshape::new(&[-1, 4]).into(),
        GlobalMaxPooling1D::new().into(),
        RepeatVector::new(3).into(),
        GlobalAveragePooling1D::new().keepdims(true).into(),
        Reshape::new(&[4]).into(),
        Dense::new(3).activation("softmax").into(),
    ])
    .unwrap()
    .with_name("shape_model")
}

#[test]
fn reshaping_and_noise_layers_from_a_keras_file_predict_as_keras() {
    let f = shape_fixture();
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/keras_files/layers_norm_shape.keras"
    );
    let mut m = load_model(path).unwrap();
    let x = arr(&f["x"]);
    close(
        "predictions",
        &m.predict(&x, 32).unwrap(),
        &arr(&f["predictions"]),
    );
    assert_eq!(
        shape_model().summary_string(),
        f["summary"].as_str().unwrap()
    );

    // kerust's own file of the same model: bit for bit.
    let dir = std::env::temp_dir().join(format!("kerust-layers-shape-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("m.keras");
    m.save(&file).unwrap();
    let mut back = load_model(&file).unwrap();
    assert_eq!(back.predict(&x, 3).unwrap(), m.predict(&x, 3).unwrap());
    assert_eq!(back.summary_string(), m.summary_string());
    std::fs::remove_dir_all(&dir).ok();
}
