//! `kerust::saving`: Keras-written files load and predict as Keras does; kerust-written
//! files round-trip bit for bit and have Keras's layout; bad files give errors, not panics.
//!
//! The fixtures under `tests/fixtures/keras_files/` come from real Keras 3
//! (`tools/gen_keras_files.py`; the seed-003 model's test images are read from
//! `$KERUST_DATA`); `tools/check_kerust_files.py` checks the other direction (Keras loading
//! the kerust-written files under `tests/fixtures/kerust_files/`, report `keras_check.txt`
//! there).

use kerust::layers::{Dense, Dropout, Flatten};
use kerust::models::{FitOptions, Sequential};
use kerust::optimizers::{Adadelta, Adagrad, Adam, AdamW, Adamax, Nadam, Optimizer, RMSprop, SGD};
use kerust::saving::{load_model, load_model_from_bytes, model_from_json};
use kerust::Error;
use ndarray::{Array1, Array2, ArrayD, IxDyn};
use serde_json::Value;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

mod common;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/keras_files")
}

fn json(name: &str) -> Value {
    let s = std::fs::read_to_string(fixtures().join(name)).unwrap();
    serde_json::from_str(&s).unwrap()
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

/// The first 20 real Fashion-MNIST test images (uint8, read from `$KERUST_DATA` by kerust's
/// IDX loader) and their labels, checked against what the generator recorded of them.
fn seed003_images(p: &Value) -> (ArrayD<u8>, Array1<f32>) {
    static DATA: std::sync::OnceLock<(ArrayD<u8>, Vec<u8>)> = std::sync::OnceLock::new();
    let (images, labels) = DATA.get_or_init(|| {
        let dir = common::data_root().join("fashion-mnist");
        let images = kerust::datasets::idx::read_idx_images(dir.join("t10k-images-idx3-ubyte.gz"))
            .expect("the Fashion-MNIST test images ($KERUST_DATA/fashion-mnist)");
        let labels = kerust::datasets::idx::read_idx_labels(dir.join("t10k-labels-idx1-ubyte.gz"))
            .expect("the Fashion-MNIST test labels ($KERUST_DATA/fashion-mnist)");
        let n = p["test_images"]["first"].as_u64().unwrap() as usize;
        (
            images.slice(ndarray::s![..n, .., ..]).to_owned().into_dyn(),
            labels.slice(ndarray::s![..n]).to_vec(),
        )
    });
    let sum: u64 = images.iter().map(|&v| v as u64).sum();
    assert_eq!(
        sum,
        p["test_images_u8_sum"].as_u64().unwrap(),
        "not the test images Keras saw"
    );
    let want: Vec<u8> = p["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as u8)
        .collect();
    assert_eq!(labels, &want, "not the test labels Keras saw");
    (images.clone(), labels.iter().map(|&v| v as f32).collect())
}

/// The seed-003 test inputs: uint8 / 255 in float32, as the generator computes them.
fn seed003_inputs(p: &Value) -> ArrayD<f32> {
    seed003_images(p).0.mapv(|v| v as f32 / 255.0)
}

/// The seed-003 test labels.
fn seed003_labels(p: &Value) -> Array1<f32> {
    seed003_images(p).1
}

fn max_diff(a: &ArrayD<f32>, b: &ArrayD<f32>) -> f32 {
    assert_eq!(a.shape(), b.shape());
    a.iter()
        .zip(b.iter())
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn tmp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("kerust-saving-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn quiet(batch_size: usize) -> FitOptions<'static> {
    FitOptions {
        epochs: 1,
        batch_size,
        verbose: 0,
        shuffle: false,
        ..Default::default()
    }
}

fn check_seed003(model: &mut Sequential) {
    let p = json("seed003_predictions.json");
    assert_eq!(model.layers().len(), 3);
    assert_eq!(model.layers()[1].name(), "dense");
    assert_eq!(model.input_shape(), Some(&[28usize, 28][..]));
    assert_eq!(model.count_params(), 101_770);
    let opt = model.optimizer().expect("compiled from the file");
    assert_eq!(opt.class_name(), "Adam");
    assert_eq!(
        opt.iterations(),
        p["optimizer_iterations"].as_u64().unwrap()
    );
    let x = seed003_inputs(&p);
    let pred = model.predict(&x, 32).unwrap();
    let d = max_diff(&pred, &arr(&p["predictions"]));
    assert!(d <= 1e-5, "predictions differ from Keras's by {d}");
}

/// `evaluate` on the file's model gives Keras's figures, by Keras's names: the loss and the
/// metrics came back with the file (a model compiled with another loss or without the
/// metric would give other values or other names).
fn check_evaluation(model: &mut Sequential, x: &ArrayD<f32>, y: &ArrayD<f32>, keras: &Value) {
    let e = model.evaluate(x, y, 32, 0).unwrap();
    let ours: Vec<&str> = e.logs.iter().map(|(k, _)| k).collect();
    let mut want: Vec<&str> = keras
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    want.sort_unstable();
    assert_eq!(ours, want, "evaluate's names");
    for (name, v) in e.logs.iter() {
        let k = keras[name].as_f64().unwrap() as f32;
        assert!(
            (v - k).abs() <= 1e-5 * k.abs().max(1.0),
            "{name}: kerust {v}, Keras {k}"
        );
    }
}

/// Continues training as the generator did after loading: same data, no shuffling.
fn check_continue(model: &mut Sequential) {
    let p = json("seed003_predictions.json");
    let x = seed003_inputs(&p);
    let y = seed003_labels(&p);
    model.fit(&x, &y, quiet(10)).unwrap();
    let pred = model.predict(&x, 32).unwrap();
    let d = max_diff(&pred, &arr(&p["predictions_after_continue"]));
    assert!(
        d <= 1e-5,
        "after two more Adam steps, predictions differ from Keras's by {d}"
    );
}

#[test]
fn keras_written_seed003_keras_predicts_as_keras() {
    let mut m = load_model(fixtures().join("seed003.keras")).unwrap();
    check_seed003(&mut m);
}

#[test]
fn keras_written_legacy_h5_predicts_as_keras() {
    let mut m = load_model(fixtures().join("seed003.h5")).unwrap();
    check_seed003(&mut m);
}

#[test]
fn loss_and_metrics_come_back_from_keras_files() {
    let p = json("seed003_predictions.json");
    let x = seed003_inputs(&p);
    let y = seed003_labels(&p).into_dyn();
    for file in ["seed003.keras", "seed003.h5"] {
        let mut m = load_model(fixtures().join(file)).unwrap();
        check_evaluation(&mut m, &x, &y, &p["evaluation"]);
    }
    // categorical_crossentropy and accuracy on one-hot labels (categorical_accuracy).
    let p = json("activations_predictions.json");
    let mut m = load_model(fixtures().join("activations.keras")).unwrap();
    check_evaluation(
        &mut m,
        &arr(&p["inputs"]),
        &arr(&p["labels"]),
        &p["evaluation"],
    );
    // The same figures are not reached by a model compiled otherwise: the check can fail.
    let mut other = load_model(fixtures().join("activations.keras")).unwrap();
    other.compile("sgd", "mse", ["accuracy"]).unwrap();
    let e = other
        .evaluate(&arr(&p["inputs"]), &arr(&p["labels"]), 32, 0)
        .unwrap();
    let k = p["evaluation"]["loss"].as_f64().unwrap() as f32;
    assert!(
        (e.loss() - k).abs() > 1e-3,
        "mse {} vs crossentropy {k}",
        e.loss()
    );
}

/// Keras 2 (tf.keras 2.21 through `tf_keras`, tools/gen_keras2_files.py) legacy `.h5`
/// files with Dropout and Adam's state after 6 steps, from Keras 2's optimizer (its
/// variables: `iteration`, then `m` and `v` per variable, interleaved; no learning-rate
/// variable) and from its pre-2.11 "legacy" optimizer (`Adam/iter`, every `m`, then every
/// `v`, named after the variables).
#[test]
fn keras2_h5_files_load_with_their_optimizer_state_and_train_on_as_keras_2() {
    let all = json("keras2_predictions.json");
    for (file, p) in all["files"].as_object().unwrap() {
        let mut m = load_model(fixtures().join(file)).unwrap();
        let classes: Vec<&str> = m.layers().iter().map(|l| l.class_name()).collect();
        assert_eq!(classes, ["Dense", "Dropout", "Dense"], "{file}");
        let opt = m.optimizer().unwrap();
        assert_eq!((opt.class_name(), opt.iterations()), ("Adam", 6), "{file}");
        let x = arr(&p["inputs"]);
        let d = max_diff(&m.predict(&x, 32).unwrap(), &arr(&p["predictions"]));
        assert!(
            d <= 1e-5,
            "{file}: predictions differ from Keras 2's by {d}"
        );
        let y: ArrayD<f32> = Array1::from_iter(
            p["labels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32),
        )
        .into_dyn();
        check_evaluation(&mut m, &x, &y, &p["evaluation"]);
        // Keras 2 continued with Dropout's rate at 0; without the layer here (the same
        // function), with the weights and the optimizer state from the file.
        let mut m = strip_dropout(&m);
        let y1: Array1<f32> = y.into_dimensionality().unwrap();
        // (Without the file's optimizer state, the same two steps land elsewhere.)
        let mut fresh = strip_dropout(&m);
        fresh
            .compile(
                Adam::new(0.01),
                "sparse_categorical_crossentropy",
                ["accuracy"],
            )
            .unwrap();
        fresh.fit(&x, &y1, quiet(5)).unwrap();
        let d_fresh = max_diff(
            &fresh.predict(&x, 32).unwrap(),
            &arr(&p["predictions_after_continue"]),
        );
        m.fit(&x, &y1, quiet(5)).unwrap();
        let d = max_diff(
            &m.predict(&x, 32).unwrap(),
            &arr(&p["predictions_after_continue"]),
        );
        assert!(
            d <= 1e-5 && d_fresh > 1e-3,
            "{file}: after 2 more Adam steps, predictions differ from Keras 2's by {d} \
             ({d_fresh} from a fresh optimizer)"
        );
        eprintln!("{file}: continued training within {d} of Keras 2 (fresh optimizer: {d_fresh})");
        for (w, k) in m
            .get_weights()
            .iter()
            .zip(p["weights_after_continue"].as_array().unwrap())
        {
            let d = max_diff(w, &arr(k));
            assert!(d <= 1e-5, "{file}: weights after training differ by {d}");
        }
    }
}

#[test]
fn training_continues_from_keras_optimizer_state() {
    let mut m = load_model(fixtures().join("seed003.keras")).unwrap();
    check_continue(&mut m);
    let mut m = load_model(fixtures().join("seed003.h5")).unwrap();
    check_continue(&mut m);
}

#[test]
fn keras_written_dropout_and_activations_model_predicts_as_keras() {
    let p = json("activations_predictions.json");
    let mut m = load_model(fixtures().join("activations.keras")).unwrap();
    assert_eq!(m.name(), "activations");
    let classes: Vec<&str> = m.layers().iter().map(|l| l.class_name()).collect();
    assert!(classes.contains(&"Dropout") && classes.contains(&"Activation"));
    assert_eq!(m.optimizer().unwrap().class_name(), "SGD");
    let pred = m.predict(&arr(&p["inputs"]), 32).unwrap();
    let d = max_diff(&pred, &arr(&p["predictions"]));
    assert!(d <= 1e-5, "predictions differ from Keras's by {d}");
}

/// A small model trained a few steps with `opt`, so that the optimizer has state.
fn trained(opt: Optimizer, seed: u64) -> (Sequential, Array2<f32>, Array1<f32>) {
    let mut m = Sequential::empty();
    m.set_seed(seed);
    m.add(Dense::new(8).activation("tanh").input_dim(5))
        .unwrap();
    m.add(Dropout::new(0.2)).unwrap();
    m.add(Dense::new(3).activation("softmax")).unwrap();
    m.compile(opt, "sparse_categorical_crossentropy", ["accuracy"])
        .unwrap();
    let mut rng = kerust::Rng::new(seed);
    let x = Array2::from_shape_fn((24, 5), |_| rng.uniform_range(-1.0, 1.0));
    let y = Array1::from_shape_fn(24, |i| (i % 3) as f32);
    m.fit(&x, &y, quiet(8)).unwrap();
    (m, x, y)
}

fn optimizers() -> Vec<Optimizer> {
    vec![
        SGD::default(),
        SGD::new(0.05).momentum(0.9).nesterov(true),
        Adam::default(),
        Adam::new(0.01).amsgrad(true),
        AdamW::default(),
        RMSprop::default(),
        RMSprop::new(0.01).momentum(0.5).centered(true),
        Adagrad::default(),
        Adadelta::new(0.5),
        Adamax::default(),
        Nadam::default(),
    ]
}

#[test]
fn round_trip_is_bit_identical_and_training_continues_identically() {
    let dir = tmp_dir("roundtrip");
    for (k, opt) in optimizers().into_iter().enumerate() {
        let name = opt.class_name();
        let (mut a, x, y) = trained(opt, 100 + k as u64);
        let path = dir.join(format!("m{k}.keras"));
        a.save(&path).unwrap();
        let mut b = load_model(&path).unwrap();
        assert_eq!(a.get_weights(), b.get_weights(), "{name}: weights");
        let (oa, ob) = (a.optimizer().unwrap(), b.optimizer().unwrap());
        assert_eq!(oa.iterations(), ob.iterations(), "{name}: iterations");
        assert_eq!(oa.config(), ob.config(), "{name}: optimizer config");
        assert_eq!(
            a.predict(&x, 32).unwrap(),
            b.predict(&x, 32).unwrap(),
            "{name}: predictions"
        );
        // The optimizer's state came back whole: two more steps (in inference-free
        // layers: dropout masks come from each model's own generator, so compare with
        // dropout's rate at 0 by training on the same batches) agree bit for bit.
        let mut a2 = strip_dropout(&a);
        let mut b2 = strip_dropout(&b);
        a2.fit(&x, &y, quiet(8)).unwrap();
        b2.fit(&x, &y, quiet(8)).unwrap();
        assert_eq!(
            a2.get_weights(),
            b2.get_weights(),
            "{name}: continued training"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// The same model and optimizer state without its Dropout layer (saved and reloaded
/// through JSON + weights, which exercises `to_json`/`save_weights` too).
fn strip_dropout(m: &Sequential) -> Sequential {
    let mut v: Value = serde_json::from_str(&m.to_json().unwrap()).unwrap();
    let layers = v["config"]["layers"].as_array_mut().unwrap();
    layers.retain(|l| l["class_name"] != "Dropout");
    let mut out = model_from_json(&v.to_string()).unwrap();
    let dir = tmp_dir("strip");
    let path = dir.join(format!("{:p}.weights.h5", m));
    m.save_weights(&path).unwrap();
    // The file has a layer ('dropout') without variables: loading ignores it.
    out.load_weights(&path).unwrap();
    std::fs::remove_file(&path).ok();
    assert_eq!(
        out.optimizer().unwrap().iterations(),
        m.optimizer().unwrap().iterations()
    );
    out
}

#[test]
fn keras_loaded_then_saved_again_round_trips() {
    let dir = tmp_dir("resave");
    let mut m = load_model(fixtures().join("seed003.keras")).unwrap();
    let path = dir.join("again.keras");
    m.save(&path).unwrap();
    let mut again = load_model(&path).unwrap();
    check_seed003(&mut again);
    check_continue(&mut again);
    check_continue(&mut m);
    std::fs::remove_dir_all(&dir).ok();
}

/// Every group and dataset of an HDF5 file: path -> (kind, shape, dtype, attribute names).
fn h5_layout(bytes: Vec<u8>) -> std::collections::BTreeMap<String, String> {
    let f = hdf5_pure::File::from_bytes(bytes).unwrap();
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![String::new()];
    while let Some(g) = stack.pop() {
        let group = if g.is_empty() {
            f.root()
        } else {
            f.group(&g).unwrap()
        };
        let mut attrs: Vec<String> = group.attrs().unwrap().into_keys().collect();
        attrs.sort();
        out.insert(format!("{g}/"), format!("group {attrs:?}"));
        for d in group.datasets().unwrap() {
            let path = format!("{g}/{d}");
            let ds = f.dataset(path.trim_start_matches('/')).unwrap();
            let dtype = match ds.dtype().unwrap() {
                hdf5_pure::DType::F32 => "float32",
                hdf5_pure::DType::I32 => "int32",
                other => panic!("unexpected dtype {other}"),
            };
            let mut attrs: Vec<String> = ds.attrs().unwrap().into_keys().collect();
            attrs.sort();
            out.insert(
                path,
                format!("dataset {:?} {dtype} {attrs:?}", ds.shape().unwrap()),
            );
        }
        for c in group.groups().unwrap() {
            stack.push(format!("{g}/{c}"));
        }
    }
    out
}

fn keras_layout_of(v: &Value) -> std::collections::BTreeMap<String, String> {
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, d)| {
            let attrs: Vec<String> = d["attrs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_string())
                .collect();
            if d["kind"] == "group" {
                let k = if k == "/" {
                    "/".to_string()
                } else {
                    format!("{k}/")
                };
                (k, format!("group {attrs:?}"))
            } else {
                let shape: Vec<u64> = d["shape"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_u64().unwrap())
                    .collect();
                (
                    k.clone(),
                    format!(
                        "dataset {shape:?} {} {attrs:?}",
                        d["dtype"].as_str().unwrap()
                    ),
                )
            }
        })
        .collect()
}

fn zip_member(bytes: &[u8], name: &str) -> Vec<u8> {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut out = Vec::new();
    z.by_name(name).unwrap().read_to_end(&mut out).unwrap();
    out
}

#[test]
fn kerust_writes_the_layout_keras_writes() {
    // The seed-003 model built and trained by kerust, not loaded from Keras's file.
    let mut m = Sequential::new(vec![
        Flatten::new().input_shape(&[28, 28]).into(),
        Dense::new(128).activation("relu").into(),
        Dense::new(10).activation("softmax").into(),
    ])
    .unwrap();
    m.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
        .unwrap();
    let x = ArrayD::from_shape_fn(IxDyn(&[4, 28, 28]), |i| (i[1] * i[2]) as f32 / 784.0);
    m.fit(&x, &Array1::from(vec![1u8, 2, 3, 4]), quiet(4))
        .unwrap();
    let dir = tmp_dir("layout");
    let path = dir.join("seed003.keras");
    m.save(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let layout = json("seed003_layout.json");
    let mut members: Vec<String> = zip::ZipArchive::new(std::io::Cursor::new(&bytes[..]))
        .unwrap()
        .file_names()
        .map(|s| s.unwrap().to_string())
        .collect();
    members.sort();
    let mut want: Vec<String> = layout["zip_members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    // Keras's members, plus kerust's own (the random generator), which Keras ignores.
    want.push("kerust_state.json".into());
    want.sort();
    assert_eq!(members, want);
    let ours = h5_layout(zip_member(&bytes, "model.weights.h5"));
    let keras = keras_layout_of(&layout["weights_h5"]);
    assert_eq!(ours, keras);
    // config.json: same structure as Keras's, key for key, down to the layer configs'
    // keys (kerust writes no `quantization_config`, which Keras 3.15 added).
    let ours: Value = serde_json::from_slice(&zip_member(&bytes, "config.json")).unwrap();
    let keras_file = std::fs::read(fixtures().join("seed003.keras")).unwrap();
    let keras: Value = serde_json::from_slice(&zip_member(&keras_file, "config.json")).unwrap();
    let keys = |v: &Value| -> Vec<String> {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&ours), keys(&keras));
    assert_eq!(keys(&ours["config"]), keys(&keras["config"]));
    assert_eq!(
        keys(&ours["compile_config"]),
        keys(&keras["compile_config"])
    );
    assert_eq!(
        ours["compile_config"]["optimizer"],
        keras["compile_config"]["optimizer"]
    );
    for (a, b) in ours["config"]["layers"]
        .as_array()
        .unwrap()
        .iter()
        .zip(keras["config"]["layers"].as_array().unwrap())
    {
        assert_eq!(a["class_name"], b["class_name"]);
        assert_eq!(a["build_config"], b["build_config"]);
        let mut kb = keys(&b["config"]);
        kb.retain(|k| k != "quantization_config");
        assert_eq!(keys(&a["config"]), kb, "{}", a["class_name"]);
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn json_architecture_round_trips_and_reads_keras_json() {
    let (m, _, _) = trained(Adam::default(), 7);
    let j = m.to_json().unwrap();
    let back = Sequential::from_json(&j).unwrap();
    assert_eq!(back.to_json().unwrap(), j);
    assert_eq!(back.count_params(), m.count_params());
    // Keras's own JSON (config.json is what model.to_json() returns).
    let keras_file = std::fs::read(fixtures().join("seed003.keras")).unwrap();
    let cfg = String::from_utf8(zip_member(&keras_file, "config.json")).unwrap();
    let k = model_from_json(&cfg).unwrap();
    assert_eq!(k.count_params(), 101_770);
    assert_eq!(k.optimizer().unwrap().class_name(), "Adam");
}

// ------------------------------------------------------------------------------------
// Bad input
// ------------------------------------------------------------------------------------

/// seed003.keras with its config.json replaced by `edit(config)`.
fn with_config(edit: impl Fn(&mut Value)) -> Vec<u8> {
    let bytes = std::fs::read(fixtures().join("seed003.keras")).unwrap();
    let mut cfg: Value = serde_json::from_slice(&zip_member(&bytes, "config.json")).unwrap();
    edit(&mut cfg);
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let o =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for name in ["metadata.json", "config.json", "model.weights.h5"] {
        w.start_file(name, o).unwrap();
        if name == "config.json" {
            w.write_all(cfg.to_string().as_bytes()).unwrap();
        } else {
            w.write_all(&zip_member(&bytes, name)).unwrap();
        }
    }
    w.finish().unwrap().into_inner()
}

#[test]
fn unknown_layer_class_names_the_class_and_the_file() {
    // A Keras class kerust does not implement, and a registered custom class.
    assert!(!kerust::saving::LAYER_CLASSES.contains(&"MultiHeadAttention"));
    let bytes = with_config(|c| {
        c["config"]["layers"][2]["class_name"] = "MultiHeadAttention".into();
        c["config"]["layers"][2]["config"] = serde_json::json!({
            "name": "mha", "num_heads": 2, "key_dim": 16, "trainable": true,
        });
    });
    let e = load_model_from_bytes(&bytes, "bad_class.keras").unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, Error::Config { .. }), "{msg}");
    assert!(
        msg.contains("unknown layer class 'MultiHeadAttention'")
            && msg.contains("'mha'")
            && msg.contains("bad_class.keras"),
        "{msg}"
    );
    let bytes = with_config(|c| {
        let l = &mut c["config"]["layers"][2];
        l["module"] = Value::Null;
        l["class_name"] = "ScaledDense".into();
        l["registered_name"] = "my_package>ScaledDense".into();
    });
    let msg = load_model_from_bytes(&bytes, "custom.keras")
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("unknown layer class 'ScaledDense'")
            && msg.contains("my_package>ScaledDense")
            && msg.contains("custom.keras"),
        "{msg}"
    );
    // The same inside a wrapper (TimeDistributed's `layer`), read by the same function.
    let json = serde_json::json!({"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [null, 3, 4]}},
        {"class_name": "TimeDistributed", "config": {"name": "td", "layer":
            {"class_name": "MultiHeadAttention", "config": {"name": "inner"}}}}]}});
    let msg = model_from_json(&json.to_string()).unwrap_err().to_string();
    assert!(
        msg.contains("unknown layer class 'MultiHeadAttention'"),
        "{msg}"
    );
}

#[test]
fn unknown_or_unsupported_options_are_refused() {
    type Edit = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(Edit, &str)> = vec![
        (
            Box::new(|c| c["config"]["layers"][2]["config"]["fancy"] = 1.into()),
            "fancy",
        ),
        (
            Box::new(|c| {
                c["config"]["layers"][2]["config"]["kernel_constraint"] =
                    serde_json::json!({"class_name": "MaxNorm", "config": {}})
            }),
            "kernel_constraint",
        ),
        (
            Box::new(|c| c["config"]["layers"][2]["config"]["activation"] = "swishy".into()),
            "swishy",
        ),
        (
            Box::new(|c| {
                c["config"]["layers"][2]["config"]["dtype"]["config"]["name"] =
                    "mixed_float16".into()
            }),
            "mixed_float16",
        ),
        (
            Box::new(|c| c["compile_config"]["optimizer"]["config"]["use_ema"] = true.into()),
            "use_ema",
        ),
        (
            Box::new(|c| c["class_name"] = "Functional".into()),
            "Functional",
        ),
    ];
    for (edit, word) in cases {
        let bytes = with_config(edit);
        let e = load_model_from_bytes(&bytes, "opt.keras").unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains(word) && msg.contains("opt.keras"),
            "{word}: {msg}"
        );
    }
}

#[test]
fn weights_that_do_not_fit_the_config_are_refused() {
    // 64 units where the file holds 128: a shape error naming the dataset.
    let bytes = with_config(|c| c["config"]["layers"][2]["config"]["units"] = 64.into());
    let e = load_model_from_bytes(&bytes, "units.keras").unwrap_err();
    assert!(e.to_string().contains("units.keras"), "{e}");
    // Absurd sizes: refused before anything is allocated.
    let bytes = with_config(|c| c["config"]["layers"][2]["config"]["units"] = (1u64 << 40).into());
    let e = load_model_from_bytes(&bytes, "huge.keras").unwrap_err();
    assert!(matches!(e, Error::Config { .. }), "{e}");
    let bytes = with_config(|c| {
        c["config"]["layers"][0]["config"]["batch_shape"] =
            serde_json::json!([null, u64::MAX, u64::MAX])
    });
    assert!(load_model_from_bytes(&bytes, "overflow.keras").is_err());
}

#[test]
fn deep_nesting_and_garbage_json_are_errors() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(model_from_json(&deep).is_err());
    assert!(model_from_json("{\"class_name\": \"Sequential\"}").is_err());
    assert!(model_from_json("not json").is_err());
    let bytes = with_config(|c| *c = serde_json::json!([1, 2, 3]));
    assert!(load_model_from_bytes(&bytes, "list.keras").is_err());
}

#[test]
fn truncated_and_corrupted_files_are_errors_not_panics() {
    for name in ["seed003.keras", "seed003.h5", "activations.keras"] {
        let bytes = std::fs::read(fixtures().join(name)).unwrap();
        let n = bytes.len();
        for cut in [0, 1, 4, 100, 1000, n / 3, n / 2, n - 100, n - 1] {
            let r = load_model_from_bytes(&bytes[..cut], name);
            assert!(r.is_err(), "{name} cut at {cut} loaded");
        }
        // Flipped bytes across the file: an error or (for bytes no reader looks at) a
        // model, never a panic.
        let mut rng = kerust::Rng::new(5);
        for _ in 0..200 {
            let mut m = bytes.clone();
            for _ in 0..4 {
                let i = rng.below(n);
                m[i] ^= 1 << rng.below(8);
            }
            let _ = load_model_from_bytes(&m, name);
        }
    }
    let mut rng = kerust::Rng::new(9);
    for len in [0usize, 3, 8, 64, 4096] {
        let junk: Vec<u8> = (0..len).map(|_| rng.below(256) as u8).collect();
        assert!(load_model_from_bytes(&junk, "junk").is_err());
        let mut zipish = b"PK\x03\x04".to_vec();
        zipish.extend(&junk);
        assert!(load_model_from_bytes(&zipish, "junk.keras").is_err());
        let mut h5ish = b"\x89HDF\r\n\x1a\n".to_vec();
        h5ish.extend(&junk);
        assert!(load_model_from_bytes(&h5ish, "junk.h5").is_err());
    }
    let e = load_model(fixtures().join("no_such_file.keras")).unwrap_err();
    assert!(matches!(e, Error::Io { .. }));
}

#[test]
fn a_zip_member_declaring_a_bomb_size_is_refused_before_reading() {
    let mut bytes = std::fs::read(fixtures().join("seed003.keras")).unwrap();
    // Central directory entry of config.json: uncompressed size at offset 24.
    let name = b"config.json";
    let pos = (0..bytes.len() - 46)
        .find(|&i| bytes[i..i + 4] == *b"PK\x01\x02" && bytes[i + 46..].starts_with(name))
        .unwrap();
    bytes[pos + 24..pos + 28].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    let e = load_model_from_bytes(&bytes, "bomb.keras").unwrap_err();
    assert!(e.to_string().contains("bomb.keras"), "{e}");
}

#[test]
fn save_refuses_other_extensions_and_leaves_no_temporary_file() {
    let (m, _, _) = trained(SGD::default(), 3);
    let dir = tmp_dir("ext");
    assert!(m.save(dir.join("m.h5")).is_err());
    assert!(m.save(dir.join("m.txt")).is_err());
    assert!(m.save_weights(dir.join("m.h5")).is_err());
    m.save(dir.join("m.keras")).unwrap();
    m.save(dir.join("m.keras")).unwrap(); // replaces
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, vec!["m.keras".to_string()]);
    // A directory that does not exist: an I/O error naming the path.
    let e = m.save(dir.join("missing/m.keras")).unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}

/// A big model saved in a loop until killed (run by `kill_during_save_leaves_the_old_file`):
/// save number k holds k in every weight; "saved k" is printed once save k is complete.
#[test]
#[ignore = "helper process for kill_during_save_leaves_the_old_file"]
fn save_loop_child() {
    let Ok(path) = std::env::var("KERUST_SAVE_LOOP") else {
        return;
    };
    let mut m = Sequential::new(vec![
        Dense::new(1024).input_dim(1024).into(),
        Dense::new(1024).into(),
    ])
    .unwrap();
    m.compile("adam", "mse", ()).unwrap();
    let mut k = 0.0f32;
    loop {
        k += 1.0;
        let w: Vec<ArrayD<f32>> = m.get_weights().iter().map(|a| a.mapv(|_| k)).collect();
        m.set_weights(&w).unwrap();
        m.save(&path).unwrap();
        println!("saved {k}");
    }
}

fn tmp_files(dir: &Path) -> Vec<String> {
    file_names(dir)
        .into_iter()
        .filter(|n| n.ends_with(".tmp"))
        .collect()
}

#[test]
fn kill_during_save_leaves_the_old_file() {
    // The kill is aimed inside the write: the parent watches the folder and sends SIGKILL
    // the moment the child's temporary file appears (an 8 MiB file, written and synced:
    // milliseconds, against a directory poll of microseconds). A temporary file left
    // behind proves the kill landed inside the write window; the target must then still
    // be the last complete save, loadable and whole.
    use std::io::BufRead;
    let dir = tmp_dir("kill");
    let path = dir.join("victim.keras");
    let mut inside = 0;
    for (round, saves_before) in [1u64, 2, 3].into_iter().enumerate() {
        std::fs::remove_file(&path).ok();
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--ignored",
                "--exact",
                "save_loop_child",
                "--test-threads",
                "1",
                "--nocapture",
            ])
            .env("KERUST_SAVE_LOOP", &path)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // The last save the child reported complete, read as it goes.
        let out = child.stdout.take().unwrap();
        let last = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let reader = {
            let last = last.clone();
            std::thread::spawn(move || {
                for line in std::io::BufReader::new(out).lines() {
                    let Ok(line) = line else { break };
                    if let Some(k) = line.strip_prefix("saved ") {
                        last.store(
                            k.trim().parse().unwrap(),
                            std::sync::atomic::Ordering::SeqCst,
                        );
                    }
                }
            })
        };
        let t = std::time::Instant::now();
        while last.load(std::sync::atomic::Ordering::SeqCst) < saves_before
            && t.elapsed().as_secs() < 120
        {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(
            last.load(std::sync::atomic::Ordering::SeqCst) >= saves_before,
            "round {round}: the child completed no save in 120 s"
        );
        // The next save's temporary file: kill as soon as it exists.
        let t = std::time::Instant::now();
        while tmp_files(&dir).is_empty() && t.elapsed().as_secs() < 120 {
            std::hint::spin_loop();
        }
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        reader.join().unwrap();
        let reported = last.load(std::sync::atomic::Ordering::SeqCst) as f32;
        let interrupted = tmp_files(&dir);
        eprintln!("round {round}: killed after save {reported}; left behind: {interrupted:?}");
        // The interrupted save's temporary file is hidden and does not stand in for the file.
        assert!(interrupted.iter().all(|n| n.starts_with(".victim.keras.")));
        inside += !interrupted.is_empty() as usize;
        let m = load_model(&path).expect("the file survives a kill -9 during save");
        let w = m.get_weights();
        let k = w[0].iter().next().copied().unwrap();
        assert!(
            w.iter().all(|a| a.iter().all(|&v| v == k)),
            "a file mixing two saves"
        );
        // The file is the last complete save: the one reported, or the next one when the
        // kill landed between its rename and its report (then no temporary file is left).
        assert!(
            k == reported || (k == reported + 1.0 && interrupted.is_empty()),
            "file holds save {k}, last reported {reported}"
        );
        // The next save (this process) replaces it and sweeps the dead writer's leftovers.
        m.save(&path).unwrap();
        assert_eq!(tmp_files(&dir), Vec::<String>::new());
        assert_eq!(load_model(&path).unwrap().get_weights(), w);
    }
    assert!(
        inside >= 1,
        "no kill landed inside a write (no temporary file left behind)"
    );
    std::fs::remove_dir_all(&dir).ok();
}

// ---------------------------------------------------------------------------------------
// Real Keras loads kerust's files: tools/check_kerust_files.py checked the files under
// tests/fixtures/kerust_files/ (its report: keras_check.txt there); kerust must still write
// exactly those files for that verdict to hold.

fn kerust_files_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/kerust_files")
}

fn json_array(a: &ArrayD<f32>) -> Value {
    serde_json::json!({
        "shape": a.shape(),
        "data": a.iter().map(|&v| v as f64).collect::<Vec<_>>(),
    })
}

/// Saves `m` as `<dir>/<name>.keras` and returns its index entry: the inputs, kerust's
/// predictions and, when `y` is given, kerust's predictions after one more epoch of `fit`
/// (batches of half the samples, no shuffling) from the saved state, for Keras to repeat.
fn record_file(
    dir: &Path,
    name: &str,
    m: &mut Sequential,
    x: ArrayD<f32>,
    y: Option<Array1<f32>>,
) -> Value {
    let file = format!("{name}.keras");
    // The generator kerust saves with the model (a model loaded from a Keras file or built
    // from JSON gets one from the clock): fixed, so that the file is the same on every run.
    m.set_seed(4);
    m.save(dir.join(&file)).unwrap();
    let pred = m.predict(&x, 32).unwrap();
    let mut entry = serde_json::json!({
        "file": file,
        "inputs": json_array(&x),
        "predictions": json_array(&pred),
    });
    if let Some(y) = y {
        let n = x.shape()[0];
        m.fit(&x, &y, quiet(n.div_ceil(2))).unwrap();
        let after = m.predict(&x, 32).unwrap();
        entry["labels"] = y.iter().map(|&v| v as f64).collect::<Vec<_>>().into();
        entry["batch_size"] = n.div_ceil(2).into();
        entry["predictions_after_continue"] = json_array(&after);
    }
    entry
}

/// The first `n` samples of a fixture array.
fn first(a: ArrayD<f32>, n: usize) -> ArrayD<f32> {
    let n = n.min(a.shape()[0]);
    a.slice_axis(ndarray::Axis(0), ndarray::Slice::from(0..n))
        .to_owned()
}

/// Writes the files Keras checks into `dir` and returns their index.
fn write_kerust_files(dir: &Path) -> Vec<Value> {
    std::fs::create_dir_all(dir).unwrap();
    let mut index = Vec::new();
    let fx = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    // Keras-written files loaded and saved again by kerust: Dense with Keras's Adam state
    // (training continues in Keras from the state kerust wrote back), Dropout and every
    // activation, and the convolution, recurrent and normalization layers (the rnn files'
    // optimizers were saved by Keras before their first step).
    // (Dropout's masks differ between Keras and kerust: it is taken out for training to
    // continue identically, the weights and Keras's optimizer state kept.)
    let m = load_model(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fuzz/seeds/load_model_bytes/keras_tiny_adam.keras"),
    )
    .unwrap();
    let mut m = strip_dropout(&m);
    let shape = m.input_shape().unwrap().to_vec();
    let mut dims = vec![6];
    dims.extend(&shape);
    let x = ArrayD::from_shape_fn(IxDyn(&dims), |i| {
        ((ndarray::Dimension::slice(&i).iter().sum::<usize>() * 7 % 11) as f32 - 5.0) / 5.0
    });
    let classes = m.predict(&x, 32).unwrap().shape()[1];
    let y = Array1::from_shape_fn(6, |i| (i % classes) as f32);
    index.push(record_file(
        dir,
        "keras_tiny_adam_resaved",
        &mut m,
        x,
        Some(y),
    ));
    let p = json("activations_predictions.json");
    let mut m = load_model(fixtures().join("activations.keras")).unwrap();
    let x = first(arr(&p["inputs"]), 6);
    index.push(record_file(dir, "activations_resaved", &mut m, x, None));
    for (file, inputs) in [
        ("layers_conv", "inputs"),
        ("layers_conv_more", "inputs"),
        ("layers_rnn", "x"),
        ("layers_rnn_masked", "x"),
        ("layers_rnn_wrappers", "x"),
    ] {
        let p = json(&format!("{file}_predictions.json"));
        let mut m = load_model(fixtures().join(format!("{file}.keras"))).unwrap();
        let x = first(arr(&p[inputs]), 4);
        index.push(record_file(
            dir,
            &format!("{file}_resaved"),
            &mut m,
            x,
            None,
        ));
    }
    let p: Value =
        serde_json::from_slice(&std::fs::read(fx.join("layers_norm_model.json")).unwrap()).unwrap();
    let mut m = load_model(fixtures().join("layers_norm.keras")).unwrap();
    let y: Array1<f32> = arr(&p["y"]).into_dimensionality().unwrap();
    index.push(record_file(
        dir,
        "layers_norm_resaved",
        &mut m,
        arr(&p["x"]),
        Some(y),
    ));
    // kerust-built models, one per optimizer, without Dropout so that training continues
    // identically in Keras.
    for (k, opt) in optimizers().into_iter().enumerate() {
        let name = format!("opt{k:02}_{}", opt.class_name().to_lowercase());
        let (m, x, y) = trained(opt, 200 + k as u64);
        let mut m = strip_dropout(&m);
        index.push(record_file(dir, &name, &mut m, x.into_dyn(), Some(y)));
    }
    // Untrained and uncompiled.
    let mut m = Sequential::empty();
    m.set_seed(5);
    m.add(Flatten::new().input_shape(&[2, 3])).unwrap();
    m.add(Dense::new(4).activation("elu")).unwrap();
    m.add(kerust::layers::ActivationLayer::new("softmax"))
        .unwrap();
    let x = ArrayD::from_shape_fn(IxDyn(&[3, 2, 3]), |i| (i[0] + i[1] * 2 + i[2]) as f32 / 5.0);
    index.push(record_file(dir, "uncompiled", &mut m, x, None));
    index
}

/// Writes the files for `tools/check_kerust_files.py` (real Keras loads them) into
/// `$KERUST_SAVING_OUT`, with `index.json`: run by that script.
#[test]
#[ignore = "run by tools/check_kerust_files.py"]
fn write_files_for_keras() {
    let Ok(out) = std::env::var("KERUST_SAVING_OUT") else {
        return;
    };
    let out = PathBuf::from(out);
    let index = write_kerust_files(&out);
    let text = serde_json::to_string(&index).unwrap();
    std::fs::write(out.join("index.json"), text + "\n").unwrap();
}

/// The members of a `.keras` file: name -> bytes.
fn members(bytes: &[u8]) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let names: Vec<String> = z.file_names().map(|n| n.unwrap().to_string()).collect();
    names
        .into_iter()
        .map(|n| {
            let mut out = Vec::new();
            z.by_name(&n).unwrap().read_to_end(&mut out).unwrap();
            (n, out)
        })
        .collect()
}

/// JSON equality with numbers compared as float32 bits (serde_json's float reading may
/// be one f64 ulp off, never one f32 ulp).
fn same_f32(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            (x.as_f64().unwrap() as f32).to_bits() == (y.as_f64().unwrap() as f32).to_bits()
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_f32(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_f32(v, w)))
        }
        _ => a == b,
    }
}

#[test]
fn kerust_still_writes_the_files_keras_checked() {
    let committed = kerust_files_dir();
    let index: Vec<Value> =
        serde_json::from_slice(&std::fs::read(committed.join("index.json")).unwrap()).unwrap();
    let dir = tmp_dir("kerust-files");
    let now = write_kerust_files(&dir);
    // The same files, with the same inputs and kerust's same predictions, bit for bit.
    assert_eq!(
        now.len(),
        index.len(),
        "files written vs files Keras checked"
    );
    for (a, b) in now.iter().zip(&index) {
        let file = a["file"].as_str().unwrap();
        assert!(
            same_f32(a, b),
            "{file}: index entry (inputs, kerust's predictions) differs:\n{a}\n{b}"
        );
        let ours = members(&std::fs::read(dir.join(file)).unwrap());
        let checked = members(&std::fs::read(committed.join(file)).unwrap());
        assert_eq!(
            ours.keys().collect::<Vec<_>>(),
            checked.keys().collect::<Vec<_>>(),
            "{file}: members"
        );
        for (name, bytes) in &ours {
            if name == "metadata.json" {
                // Only the date differs.
                let mut x: Value = serde_json::from_slice(bytes).unwrap();
                let mut y: Value = serde_json::from_slice(&checked[name]).unwrap();
                x["date_saved"] = Value::Null;
                y["date_saved"] = Value::Null;
                assert_eq!(x, y, "{file}: metadata.json");
            } else {
                // config.json byte for byte; model.weights.h5 byte for byte (so the same
                // groups, datasets, shapes, dtypes and values); kerust_state.json too.
                assert!(
                    bytes == &checked[name],
                    "{file}: {name} differs from the file Keras checked"
                );
            }
        }
    }
    std::fs::remove_dir_all(&dir).ok();
    // And Keras's verdict on exactly those files: every one passed.
    let report = std::fs::read_to_string(committed.join("keras_check.txt")).unwrap();
    for e in &index {
        let line = format!("PASS {}", e["file"].as_str().unwrap());
        assert!(
            report.lines().any(|l| l == line),
            "no '{line}' in keras_check.txt"
        );
    }
    let last = report.lines().rev().find(|l| !l.trim().is_empty()).unwrap();
    assert_eq!(last, format!("{} passed, 0 failed", index.len()));
}

// ---------------------------------------------------------------------------------------
// ModelCheckpoint and BackupAndRestore

use kerust::callbacks::{BackupAndRestore, Callback, Mode, ModelCheckpoint, SaveFreq};

fn file_names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// A fresh compiled model with Dropout, and data, both from `seed`.
fn dropout_model(seed: u64) -> (Sequential, Array2<f32>, Array1<f32>) {
    let mut m = Sequential::empty();
    m.set_seed(seed);
    m.add(Dense::new(16).activation("relu").input_dim(5))
        .unwrap();
    m.add(Dropout::new(0.3)).unwrap();
    m.add(Dense::new(3).activation("softmax")).unwrap();
    m.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
        .unwrap();
    let mut rng = kerust::Rng::new(seed + 1);
    let x = Array2::from_shape_fn((40, 5), |_| rng.uniform_range(-1.0, 1.0));
    let y = Array1::from_shape_fn(40, |i| ((i * 7) % 3) as f32);
    (m, x, y)
}

fn opts<'a>(epochs: usize, callbacks: Vec<&'a mut dyn Callback>) -> FitOptions<'a> {
    FitOptions {
        epochs,
        batch_size: 8,
        verbose: 0,
        shuffle: true,
        validation_split: 0.2,
        callbacks,
        ..Default::default()
    }
}

#[test]
fn model_checkpoint_names_files_from_the_logs_and_keeps_the_best() {
    let dir = tmp_dir("ckpt-best");
    let (mut m, x, y) = dropout_model(11);
    let template = dir.join("m-{epoch:02d}-{val_loss:.4f}.keras");
    let mut ckpt = ModelCheckpoint::new(template.to_str().unwrap()).save_best_only(true);
    let h = m.fit(&x, &y, opts(6, vec![&mut ckpt])).unwrap();
    // The files are exactly the epochs whose val_loss beat every earlier one.
    let vl = h.get("val_loss").unwrap();
    let mut want = Vec::new();
    let mut best = f32::INFINITY;
    for (e, &v) in vl.iter().enumerate() {
        if v < best {
            best = v;
            want.push(format!("m-{:02}-{:.4}.keras", e + 1, v as f64));
        }
    }
    assert_eq!(file_names(&dir), want);
    assert_eq!(ckpt.best(), Some(best as f64));
    // The last file is the model as it was at that epoch's end.
    let last = ckpt.saved().last().unwrap().clone();
    let mut back = load_model(&last).unwrap();
    if vl.last() == Some(&best) {
        assert_eq!(back.get_weights(), m.get_weights());
    }
    assert!(back.predict(&x, 8).is_ok());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn model_checkpoint_modes_threshold_weights_only_and_batches() {
    let dir = tmp_dir("ckpt-modes");
    let (mut m, x, y) = dropout_model(12);
    // Auto on an accuracy is "max"; a threshold no accuracy reaches saves nothing.
    let mut never = ModelCheckpoint::new(dir.join("never.keras").to_str().unwrap())
        .monitor("val_accuracy")
        .save_best_only(true)
        .initial_value_threshold(1.5);
    // Min on the loss, weights only, one file overwritten.
    let mut weights = ModelCheckpoint::new(dir.join("w.weights.h5").to_str().unwrap())
        .monitor("loss")
        .mode(Mode::Min)
        .save_weights_only(true);
    // Every 3 batches with the 1-based batch in the name (4 batches per epoch).
    let mut batches = ModelCheckpoint::new(dir.join("b-{epoch}-{batch}.keras").to_str().unwrap())
        .save_freq(SaveFreq::Batches(3));
    m.fit(
        &x,
        &y,
        opts(3, vec![&mut never, &mut weights, &mut batches]),
    )
    .unwrap();
    assert!(never.saved().is_empty());
    assert_eq!(weights.saved().len(), 3);
    // Keras counts batches across epochs: 12 batches, a save after every third.
    assert_eq!(
        file_names(&dir),
        [
            "b-1-3.keras",
            "b-2-2.keras",
            "b-3-1.keras",
            "b-3-4.keras",
            "w.weights.h5"
        ]
    );
    let (mut fresh, _, _) = dropout_model(99);
    fresh.load_weights(dir.join("w.weights.h5")).unwrap();
    assert_eq!(fresh.get_weights(), m.get_weights());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn model_checkpoint_errors_are_keras_errors_and_stop_fit() {
    let dir = tmp_dir("ckpt-err");
    let (mut m, x, y) = dropout_model(13);
    let run = |m: &mut Sequential, c: &mut ModelCheckpoint| {
        m.fit(&x, &y, opts(2, vec![c])).unwrap_err().to_string()
    };
    let mut c = ModelCheckpoint::new(dir.join("{epoch}-{val_los:.2f}.keras").to_str().unwrap());
    let e = run(&mut m, &mut c);
    assert!(
        e.contains("Failed to format this callback filepath") && e.contains("'val_los'"),
        "{e}"
    );
    let mut c = ModelCheckpoint::new(dir.join("m.weights.h5").to_str().unwrap());
    let e = run(&mut m, &mut c);
    assert!(
        e.contains("must end in `.keras`") || e.contains("legacy HDF5"),
        "{e}"
    );
    let mut c = ModelCheckpoint::new(dir.join("m.keras").to_str().unwrap()).save_weights_only(true);
    let e = run(&mut m, &mut c);
    assert!(e.contains("must end in `.weights.h5`"), "{e}");
    let mut c = ModelCheckpoint::new(dir.join("m.txt").to_str().unwrap());
    assert!(run(&mut m, &mut c).contains("Received: filepath="));
    let mut c = ModelCheckpoint::new(dir.join("m-{epoch:d}.keras").to_str().unwrap())
        .monitor("val_what")
        .save_best_only(true);
    let e = run(&mut m, &mut c);
    assert!(e.contains("isn't able to automatically determine"), "{e}");
    let mut c = ModelCheckpoint::new(dir.join("m-{loss:d}.keras").to_str().unwrap());
    assert!(run(&mut m, &mut c).contains("Unknown format code 'd'"));
    // A monitored value missing from the logs: Keras 3 warns and saves anyway.
    let mut c = ModelCheckpoint::new(dir.join("nomon.keras").to_str().unwrap())
        .monitor("val_what")
        .mode(Mode::Min)
        .save_best_only(true);
    m.fit(&x, &y, opts(1, vec![&mut c])).unwrap();
    assert_eq!(c.saved().len(), 1);
    // No epoch ran for the failing configurations: only the last file exists.
    assert_eq!(file_names(&dir), ["nomon.keras"]);
    std::fs::remove_dir_all(&dir).ok();
}

/// Fails `fit` at the start of epoch `at`, as a crash would.
struct Interrupt {
    at: usize,
}

impl Callback for Interrupt {
    fn on_epoch_begin(&mut self, epoch: usize, model: &mut Sequential) {
        if epoch == self.at {
            model.abort_training(Error::callback("Interrupt", "simulated interruption"));
        }
    }
}

#[test]
fn backup_and_restore_resumes_bit_identically_with_shuffle_and_dropout() {
    const EPOCHS: usize = 6;
    let (mut straight, x, y) = dropout_model(21);
    let h_straight = straight.fit(&x, &y, opts(EPOCHS, vec![])).unwrap();
    for at in [1, 3, 5] {
        let dir = tmp_dir(&format!("backup-{at}"));
        let backup_dir = dir.join("backup");
        let (mut m, _, _) = dropout_model(21);
        let mut backup = BackupAndRestore::new(&backup_dir);
        let mut stop = Interrupt { at };
        let e = m
            .fit(&x, &y, opts(EPOCHS, vec![&mut backup, &mut stop]))
            .unwrap_err();
        assert!(e.to_string().contains("simulated interruption"));
        assert_eq!(
            file_names(&backup_dir),
            ["latest.weights.h5", "training_metadata.json"]
        );
        // A new process: a new model whose generator is elsewhere, restored from the backup.
        let (mut resumed, _, _) = dropout_model(777);
        let mut backup = BackupAndRestore::new(&backup_dir);
        let h = resumed
            .fit(&x, &y, opts(EPOCHS, vec![&mut backup]))
            .unwrap();
        assert_eq!(backup.restored_epoch, Some(at));
        assert_eq!(h.epoch, (at..EPOCHS).collect::<Vec<_>>());
        assert_eq!(
            resumed.get_weights(),
            straight.get_weights(),
            "interrupted at {at}"
        );
        assert_eq!(
            h.get("loss").unwrap(),
            &h_straight.get("loss").unwrap()[at..]
        );
        assert!(!backup_dir.exists(), "deleted when fit completes");
        std::fs::remove_dir_all(&dir).ok();
    }
}

#[test]
fn backup_files_are_keras_files_and_a_torn_backup_falls_back_or_errors() {
    let dir = tmp_dir("backup-files");
    let backup_dir = dir.join("b");
    let (mut m, x, y) = dropout_model(31);
    let mut backup = BackupAndRestore::new(&backup_dir)
        .double_checkpoint(true)
        .delete_checkpoint(false);
    m.fit(&x, &y, opts(3, vec![&mut backup])).unwrap();
    assert_eq!(
        file_names(&backup_dir),
        [
            "latest.weights.h5",
            "latest.weights.h5.bkp",
            "training_metadata.json",
            "training_metadata.json.bkp"
        ]
    );
    let meta: Value =
        serde_json::from_slice(&std::fs::read(backup_dir.join("training_metadata.json")).unwrap())
            .unwrap();
    assert_eq!(meta["epoch"], 3);
    // The weights file is a Keras weights file: a fresh model loads it.
    let (mut fresh, _, _) = dropout_model(5);
    fresh
        .load_weights(backup_dir.join("latest.weights.h5"))
        .unwrap();
    assert_eq!(fresh.get_weights(), m.get_weights());
    // A crash between the two files (weights of a later epoch): the checksum tells, and the
    // previous backup (epoch 2) is restored.
    let w = std::fs::read(backup_dir.join("latest.weights.h5")).unwrap();
    let mut torn = w.clone();
    let n = torn.len();
    torn[n - 9] ^= 0x55;
    std::fs::write(backup_dir.join("latest.weights.h5"), &torn).unwrap();
    let (mut r, _, _) = dropout_model(5);
    let mut backup = BackupAndRestore::new(&backup_dir).delete_checkpoint(false);
    let h = r.fit(&x, &y, opts(3, vec![&mut backup])).unwrap();
    assert_eq!(backup.restored_epoch, Some(2));
    assert_eq!(h.epoch, vec![2]);
    // Without a previous backup the error names the file.
    std::fs::write(backup_dir.join("latest.weights.h5"), &torn).unwrap();
    std::fs::remove_file(backup_dir.join("latest.weights.h5.bkp")).unwrap();
    let (mut r, _, _) = dropout_model(5);
    let mut backup = BackupAndRestore::new(&backup_dir);
    let e = r.fit(&x, &y, opts(3, vec![&mut backup])).unwrap_err();
    assert!(e.to_string().contains("checksum"), "{e}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn save_load_and_fit_again_continues_bit_identically_with_shuffle() {
    let (mut straight, x, y) = dropout_model(41);
    straight.fit(&x, &y, opts(5, vec![])).unwrap();
    let dir = tmp_dir("resume-save");
    let (mut m, _, _) = dropout_model(41);
    m.fit(&x, &y, opts(2, vec![])).unwrap();
    m.save(dir.join("m.keras")).unwrap();
    let mut back = load_model(dir.join("m.keras")).unwrap();
    let mut o = opts(5, vec![]);
    o.initial_epoch = 2;
    back.fit(&x, &y, o).unwrap();
    assert_eq!(back.get_weights(), straight.get_weights());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn hdf5_datasets_declaring_absurd_shapes_are_refused_before_allocating() {
    // A weights file whose kernel's dataspace says (2^40, 4) (or more) where the model and
    // the file's bytes hold (1000, 4): an error naming the variable, no 16 TiB allocation.
    let mut m = Sequential::new(vec![Dense::new(4).input_dim(1000).into()]).unwrap();
    m.compile("adam", "mse", ()).unwrap();
    let dir = tmp_dir("absurd-h5");
    let path = dir.join("w.weights.h5");
    m.save_weights(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let dims: Vec<u8> = [1000u64.to_le_bytes(), 4u64.to_le_bytes()].concat();
    let spots: Vec<usize> = (0..bytes.len() - 16)
        .filter(|&i| bytes[i..i + 16] == dims[..])
        .collect();
    assert!(!spots.is_empty(), "no dataspace (1000, 4) in the file");
    for absurd in [1u64 << 40, u64::MAX, 1001] {
        let mut b = bytes.clone();
        for &i in &spots {
            b[i..i + 8].copy_from_slice(&absurd.to_le_bytes());
        }
        std::fs::write(&path, &b).unwrap();
        let mut fresh = Sequential::new(vec![Dense::new(4).input_dim(1000).into()]).unwrap();
        fresh.compile("adam", "mse", ()).unwrap();
        let before = fresh.get_weights();
        let e = fresh.load_weights(&path).unwrap_err();
        assert!(e.to_string().contains("w.weights.h5"), "{e}");
        assert_eq!(
            fresh.get_weights(),
            before,
            "a refused file changes nothing"
        );
        // The same inside a .keras archive.
        let mut keras = Vec::new();
        {
            let mut w = zip::ZipWriter::new(std::io::Cursor::new(&mut keras));
            let o = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Stored);
            let cfg = m.to_json().unwrap();
            for (name, data) in [
                ("metadata.json", &b"{}"[..]),
                ("config.json", cfg.as_bytes()),
                ("model.weights.h5", &b[..]),
            ] {
                w.start_file(name, o).unwrap();
                w.write_all(data).unwrap();
            }
            w.finish().unwrap();
        }
        assert!(load_model_from_bytes(&keras, "absurd.keras").is_err());
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn zip_members_whose_size_lies_are_refused() {
    // config.json deflated; the central directory then claims 10 bytes fewer or more than the
    // member inflates to: an error naming the member, never more read than declared.
    let bytes = std::fs::read(fixtures().join("seed003.keras")).unwrap();
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for name in ["metadata.json", "config.json", "model.weights.h5"] {
        let method = if name == "config.json" {
            zip::CompressionMethod::Deflated
        } else {
            zip::CompressionMethod::Stored
        };
        let o = zip::write::SimpleFileOptions::default().compression_method(method);
        w.start_file(name, o).unwrap();
        w.write_all(&zip_member(&bytes, name)).unwrap();
    }
    let good = w.finish().unwrap().into_inner();
    assert!(load_model_from_bytes(&good, "good.keras").is_ok());
    let name = b"config.json";
    let pos = (0..good.len() - 46)
        .find(|&i| good[i..i + 4] == *b"PK\x01\x02" && good[i + 46..].starts_with(name))
        .unwrap();
    let size = u32::from_le_bytes(good[pos + 24..pos + 28].try_into().unwrap());
    for lie in [size - 10, size + 10] {
        let mut b = good.clone();
        b[pos + 24..pos + 28].copy_from_slice(&lie.to_le_bytes());
        let e = load_model_from_bytes(&b, "liar.keras")
            .unwrap_err()
            .to_string();
        assert!(e.contains("liar.keras") && e.contains("config.json"), "{e}");
    }
}
