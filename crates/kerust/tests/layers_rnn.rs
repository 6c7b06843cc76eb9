//! Recurrent layers (LSTM, GRU, SimpleRNN) against real Keras 3: forward outputs, input and
//! weight gradients (fixtures from `tools/gen_layer_fixtures_rnn.py`), finite-difference
//! checks of every backward pass (masks, dropout, go_backwards included), a Keras-written
//! `.keras` file, kerust's own round trip, and `summary()`.

use kerust::layers::{
    Bidirectional, Dense, Embedding, Layer, SimpleRNN, TimeDistributed, GRU, LSTM,
};
use kerust::models::{FitOptions, Sequential};
use kerust::saving::{load_model, model_from_json};
use kerust::{Rng, Tensor};
use ndarray::{ArrayD, IxDyn};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn read_json(path: PathBuf) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn tensor(v: &Value) -> Tensor {
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
    Tensor::from_vec(&shape, data).unwrap()
}

fn array(v: &Value) -> ArrayD<f32> {
    let t = tensor(v);
    ArrayD::from_shape_vec(IxDyn(t.shape()), t.data().to_vec()).unwrap()
}

#[track_caller]
fn close(what: &str, got: &[f32], want: &[f32], tol: f32) {
    assert_eq!(got.len(), want.len(), "{what}: sizes");
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        assert!(
            (a - b).abs() <= tol * (1.0 + b.abs()),
            "{what}[{i}]: kerust {a} vs Keras {b}"
        );
    }
}

/// A one-layer model read from the Keras config of the case (exercising `from_keys`).
fn model_for(case: &Value) -> Sequential {
    let mut batch_shape = case["x"]["shape"].as_array().unwrap().clone();
    batch_shape[0] = Value::Null;
    let cfg = json!({
        "class_name": "Sequential",
        "config": {"name": "s", "layers": [
            {"class_name": "InputLayer", "config": {"batch_shape": batch_shape}},
            {"class_name": case["class_name"], "config": case["config"]},
        ]}
    });
    model_from_json(&cfg.to_string()).unwrap()
}

#[test]
fn forward_and_gradients_match_keras() {
    let f = read_json(fixtures().join("layers_rnn.json"));
    let cases = f["cases"].as_array().unwrap();
    assert!(cases.len() >= 25);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let mut model = model_for(case);
        let layer = model
            .get_layer_mut(case["config"]["name"].as_str().unwrap())
            .unwrap();
        assert_eq!(layer.class_name(), case["class_name"].as_str().unwrap());
        let weights: Vec<Tensor> = case["weights"]
            .as_array()
            .unwrap()
            .iter()
            .map(tensor)
            .collect();
        assert_eq!(layer.params().len(), weights.len(), "{name}: variables");
        for (p, w) in layer.params_mut().iter_mut().zip(&weights) {
            assert_eq!(p.value.shape(), w.shape(), "{name}: {} shape", p.name);
            p.value.data_mut().copy_from_slice(w.data());
        }
        let x = tensor(&case["x"]);
        let mask = (!case["mask"].is_null()).then(|| tensor(&case["mask"]));
        layer.set_input_mask(mask.as_ref().map(|m| m.data()));
        let mut y = Tensor::default();
        layer.forward(&x, &mut y, false);
        let want_y = tensor(&case["y"]);
        assert_eq!(y.shape(), want_y.shape(), "{name}: output shape");
        close(&format!("{name} y"), y.data(), want_y.data(), 1e-4);
        if !case["output_mask"].is_null() {
            assert_eq!(
                layer.output_mask().unwrap(),
                tensor(&case["output_mask"]).data(),
                "{name}: output mask"
            );
        }
        let mut gy = tensor(&case["g"]);
        let mut gx = Tensor::default();
        layer.backward(&x, &y, &mut gy, Some(&mut gx));
        if !case["dx"].is_null() {
            close(
                &format!("{name} dx"),
                gx.data(),
                tensor(&case["dx"]).data(),
                1e-4,
            );
        }
        for (p, d) in layer
            .params()
            .iter()
            .zip(case["dweights"].as_array().unwrap())
        {
            close(
                &format!("{name} d{}", p.name),
                p.grad.data(),
                tensor(d).data(),
                1e-4,
            );
        }
        // Keras's config comes back out as Keras wrote it (minus object ids).
        same_config(name, &layer.config(), &case["config"]);
    }
}

/// Every key Keras wrote has the same value in ours (dtype policies and initializers, which
/// carry Python object ids, aside), recursively through wrapped layers.
fn same_config(what: &str, ours: &Value, theirs: &Value) {
    match theirs {
        Value::Object(o) => {
            for (k, v) in o {
                // `build_config` records the batch Keras happened to build with.
                if k == "dtype"
                    || k == "shared_object_id"
                    || k == "build_config"
                    || k.ends_with("initializer")
                {
                    continue;
                }
                same_config(&format!("{what}.{k}"), &ours[k], v);
            }
        }
        _ => assert_eq!(ours, theirs, "{what}"),
    }
}

/// `sum(layer(x) * g)` in f64, training mode (dropout masks come from the layer's seed).
fn probe(layer: &mut dyn Layer, x: &Tensor, mask: Option<&[f32]>, g: &[f32]) -> f64 {
    let mut y = Tensor::default();
    layer.set_input_mask(mask);
    layer.forward(x, &mut y, true);
    y.data()
        .iter()
        .zip(g)
        .map(|(a, b)| *a as f64 * *b as f64)
        .sum()
}

/// Central differences of every input and weight entry against `backward`.
fn gradcheck(name: &str, make: &dyn Fn() -> Box<dyn Layer>, shape: &[usize], mask: Option<&[f32]>) {
    let fresh = || {
        let mut l = make();
        l.build(&shape[1..], &mut Rng::new(5)).unwrap();
        // Larger weights than the initializers give, so every path carries signal.
        let mut r = Rng::new(9);
        for p in l.params_mut() {
            for v in p.value.data_mut() {
                *v = r.uniform_range(-0.7, 0.7);
            }
        }
        l
    };
    let mut rng = Rng::new(11);
    let n: usize = shape.iter().product();
    let x = Tensor::from_vec(
        shape,
        (0..n).map(|_| rng.uniform_range(-1.5, 1.5)).collect(),
    )
    .unwrap();
    let mut layer = fresh();
    let mut y = Tensor::default();
    layer.set_input_mask(mask);
    layer.forward(&x, &mut y, true);
    let g: Vec<f32> = (0..y.len()).map(|_| rng.uniform_range(-1.0, 1.0)).collect();
    let mut gy = Tensor::from_vec(y.shape(), g.clone()).unwrap();
    let mut gx = Tensor::default();
    layer.backward(&x, &y, &mut gy, Some(&mut gx));
    // A second backward pass after the same forward one gives the same gradients (the
    // fused LSTM turns its saved gates into gradients in place, so it must recompute them).
    let grads: Vec<Vec<f32>> = layer
        .params()
        .iter()
        .map(|p| p.grad.data().to_vec())
        .collect();
    let gx1 = gx.data().to_vec();
    let mut gy2 = Tensor::from_vec(y.shape(), g.clone()).unwrap();
    layer.backward(&x, &y, &mut gy2, Some(&mut gx));
    assert_eq!(gx.data(), &gx1[..], "{name}: dx of a second backward pass");
    for (p, g1) in layer.params().iter().zip(&grads) {
        assert_eq!(
            p.grad.data(),
            &g1[..],
            "{name}: d{} of a second backward pass",
            p.name
        );
    }
    let h = 1e-2f32;
    let agree = |what: String, a: f32, fd: f64| {
        let tol = 3e-3 * (1.0 + fd.abs());
        assert!(
            (a as f64 - fd).abs() < tol,
            "{name} {what}: analytic {a} vs finite difference {fd}"
        );
    };
    for i in 0..x.len() {
        let mut xp = x.clone();
        xp.data_mut()[i] += h;
        let mut xm = x.clone();
        xm.data_mut()[i] -= h;
        let fd = (probe(fresh().as_mut(), &xp, mask, &g) - probe(fresh().as_mut(), &xm, mask, &g))
            / (2.0 * h as f64);
        agree(format!("dx[{i}]"), gx.data()[i], fd);
    }
    for (pi, p) in layer.params().iter().enumerate() {
        for k in (0..p.value.len()).step_by(2) {
            let eval = |delta: f32| {
                let mut l = fresh();
                l.params_mut()[pi].value.data_mut()[k] += delta;
                probe(l.as_mut(), &x, mask, &g)
            };
            let fd = (eval(h) - eval(-h)) / (2.0 * h as f64);
            agree(format!("d{}[{k}]", p.name), p.grad.data()[k], fd);
        }
    }
}

#[test]
fn backward_passes_agree_with_finite_differences() {
    let shape = [3, 5, 3];
    // Sample 0 ends in padding, sample 1 starts with it, sample 2 has a hole.
    let mut mask = [1.0f32; 15];
    mask[3] = 0.0;
    mask[4] = 0.0;
    mask[5] = 0.0;
    mask[6] = 0.0;
    mask[12] = 0.0;
    type Make = Box<dyn Fn() -> Box<dyn Layer>>;
    let cases: Vec<(&str, Make, bool)> = vec![
        ("lstm", Box::new(|| Box::new(LSTM::new(4))), false),
        (
            "lstm_seq_back",
            Box::new(|| Box::new(LSTM::new(3).return_sequences(true).go_backwards(true))),
            false,
        ),
        (
            "lstm_mask",
            Box::new(|| Box::new(LSTM::new(3).return_sequences(true))),
            true,
        ),
        (
            "lstm_mask_zero",
            Box::new(|| {
                Box::new(
                    LSTM::new(3)
                        .return_sequences(true)
                        .zero_output_for_mask(true),
                )
            }),
            true,
        ),
        (
            "lstm_dropout",
            Box::new(|| Box::new(LSTM::new(3).dropout(0.3).recurrent_dropout(0.4).seed(3))),
            false,
        ),
        (
            "lstm_softsign",
            Box::new(|| {
                Box::new(
                    LSTM::new(3)
                        .activation("softsign")
                        .recurrent_activation("hard_sigmoid")
                        .use_bias(false),
                )
            }),
            false,
        ),
        ("gru", Box::new(|| Box::new(GRU::new(4))), false),
        (
            "gru_seq_back",
            Box::new(|| Box::new(GRU::new(3).return_sequences(true).go_backwards(true))),
            false,
        ),
        (
            "gru_mask",
            Box::new(|| Box::new(GRU::new(3).return_sequences(true))),
            true,
        ),
        (
            "gru_dropout",
            Box::new(|| {
                Box::new(
                    GRU::new(3)
                        .dropout(0.3)
                        .recurrent_dropout(0.4)
                        .seed(3)
                        .return_sequences(true),
                )
            }),
            false,
        ),
        ("simple", Box::new(|| Box::new(SimpleRNN::new(4))), false),
        (
            "simple_mask_back",
            Box::new(|| Box::new(SimpleRNN::new(3).go_backwards(true).return_sequences(true))),
            true,
        ),
        (
            "simple_dropout_elu",
            Box::new(|| {
                Box::new(
                    SimpleRNN::new(3)
                        .activation("elu")
                        .dropout(0.5)
                        .recurrent_dropout(0.5)
                        .seed(1),
                )
            }),
            false,
        ),
    ];
    let more: Vec<(&str, Make, bool)> = vec![
        (
            "bidi_concat_seq",
            Box::new(|| Box::new(Bidirectional::new(LSTM::new(3).return_sequences(true)))),
            true,
        ),
        (
            "bidi_mul",
            Box::new(|| Box::new(Bidirectional::new(GRU::new(2)).merge_mode("mul"))),
            false,
        ),
        (
            "bidi_ave_seq",
            Box::new(|| {
                Box::new(
                    Bidirectional::new(SimpleRNN::new(3).return_sequences(true)).merge_mode("ave"),
                )
            }),
            true,
        ),
        (
            "bidi_sum_dropout",
            Box::new(|| {
                Box::new(
                    Bidirectional::new(LSTM::new(2).dropout(0.3).recurrent_dropout(0.3).seed(5))
                        .merge_mode("sum"),
                )
            }),
            false,
        ),
        (
            "time_distributed",
            Box::new(|| Box::new(TimeDistributed::new(Dense::new(2).activation("tanh")))),
            false,
        ),
    ];
    for (name, make, masked) in cases.iter().chain(&more) {
        gradcheck(name, make.as_ref(), &shape, masked.then_some(&mask[..]));
    }
}

#[test]
fn dropout_is_training_only_with_masks_fixed_across_timesteps() {
    let mut l = LSTM::new(4).dropout(0.5).recurrent_dropout(0.5).seed(2);
    l.build(&[6, 3], &mut Rng::new(1)).unwrap();
    let mut plain = LSTM::new(4);
    plain.build(&[6, 3], &mut Rng::new(1)).unwrap();
    let x = Tensor::from_vec(
        &[2, 6, 3],
        (0..36).map(|i| (i as f32 * 0.37).sin()).collect(),
    )
    .unwrap();
    let (mut a, mut b) = (Tensor::default(), Tensor::default());
    l.forward(&x, &mut a, false);
    plain.forward(&x, &mut b, false);
    assert_eq!(a, b, "inference ignores dropout");
    l.forward(&x, &mut a, true);
    assert_ne!(a, b, "training drops");
    // An input feature dropped for a sample is dropped at every timestep: its gradient is
    // zero at all of them or at none.
    let mut gy = Tensor::from_vec(a.shape(), vec![1.0; a.len()]).unwrap();
    let mut gx = Tensor::default();
    l.backward(&x, &a, &mut gy, Some(&mut gx));
    for s in 0..2 {
        for f in 0..3 {
            let zeros = (0..6)
                .filter(|t| gx.data()[(s * 6 + t) * 3 + f] == 0.0)
                .count();
            assert!(
                zeros == 0 || zeros == 6,
                "sample {s} feature {f}: {zeros} zeros"
            );
        }
    }
}

fn keras_file() -> (Value, PathBuf) {
    let dir = fixtures().join("keras_files");
    (
        read_json(dir.join("layers_rnn_predictions.json")),
        dir.join("layers_rnn.keras"),
    )
}

#[test]
fn a_keras_written_file_loads_and_predicts_as_keras() {
    let (p, path) = keras_file();
    let mut m = load_model(&path).unwrap();
    let classes: Vec<&str> = m.layers().iter().map(|l| l.class_name()).collect();
    assert_eq!(classes, ["LSTM", "GRU", "SimpleRNN", "Dense"]);
    let pred = m.predict(&array(&p["x"]), 32).unwrap();
    let want = array(&p["predictions"]);
    assert_eq!(pred.shape(), want.shape());
    close(
        "predictions",
        pred.as_slice().unwrap(),
        want.as_slice().unwrap(),
        1e-5,
    );
}

#[test]
fn save_load_predict_round_trip_is_bit_identical() {
    let (p, path) = keras_file();
    let mut m = load_model(&path).unwrap();
    let x = array(&p["x"]);
    let y = ndarray::Array1::from(vec![0.0f32, 1.0, 1.0, 0.0]);
    m.fit(
        &x,
        &y,
        FitOptions {
            epochs: 2,
            batch_size: 2,
            verbose: 0,
            ..Default::default()
        },
    )
    .unwrap();
    let dir = std::env::temp_dir().join(format!("kerust-rnn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("rnn.keras");
    m.save(&out).unwrap();
    let mut again = load_model(&out).unwrap();
    assert_eq!(m.get_weights(), again.get_weights());
    assert_eq!(m.predict(&x, 32).unwrap(), again.predict(&x, 32).unwrap());
    // The file keeps Keras's layout: the cell's variables under `cell/vars`.
    let w = dir.join("rnn.weights.h5");
    m.save_weights(&w).unwrap();
    let mut fresh = model_from_json(&m.to_json().unwrap()).unwrap();
    fresh.load_weights(&w).unwrap();
    assert_eq!(m.predict(&x, 32).unwrap(), fresh.predict(&x, 32).unwrap());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn summary_matches_keras() {
    let (p, _) = keras_file();
    let m = Sequential::new(vec![
        kerust::layers::Input::new(&[6, 4]).into(),
        LSTM::new(5).return_sequences(true).into(),
        GRU::new(4).return_sequences(true).go_backwards(true).into(),
        SimpleRNN::new(3).into(),
        Dense::new(2).activation("softmax").into(),
    ])
    .unwrap()
    .with_name("rnn_stack");
    assert_eq!(m.count_params() as u64, p["total_params"].as_u64().unwrap());
    assert_eq!(m.summary_string(), p["summary_text"].as_str().unwrap());
}

#[test]
fn bad_uses_are_errors_naming_the_layer() {
    let e = Sequential::new(vec![LSTM::new(4)
        .return_state(true)
        .input_shape(&[5, 3])
        .into()])
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("return_state") && e.contains("Sequential"),
        "{e}"
    );
    let e = Sequential::new(vec![GRU::new(4).input_shape(&[15]).into()])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("GRU layer 'gru'") && e.contains("timesteps"),
        "{e}"
    );
    let e = Sequential::new(vec![SimpleRNN::new(4)
        .dropout(1.5)
        .input_shape(&[5, 3])
        .into()])
    .unwrap_err()
    .to_string();
    assert!(e.contains("dropout"), "{e}");
    // A config option kerust cannot honor is refused.
    let cfg = json!({"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [null, 5, 3]}},
        {"class_name": "GRU", "config": {"name": "g", "units": 3, "reset_after": false}}]}});
    let e = model_from_json(&cfg.to_string()).unwrap_err().to_string();
    assert!(e.contains("reset_after"), "{e}");
    let cfg = json!({"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [null, 5, 3]}},
        {"class_name": "LSTM", "config": {"name": "l", "units": 3, "stateful": true}}]}});
    let e = model_from_json(&cfg.to_string()).unwrap_err().to_string();
    assert!(e.contains("stateful"), "{e}");
}

/// The LSTM at batch 32 is large enough for the recurrence to split the batch over
/// the threads (forward and backward, with and without return_sequences): the weights
/// after training and the predictions must be the same bits at 1, 2 and 3 threads.
#[test]
fn split_recurrence_keeps_the_bits() {
    for seq in [false, true] {
        let mut rng = Rng::new(8);
        let x = ndarray::Array3::from_shape_fn((64, 28, 28), |_| rng.uniform_range(0.0, 1.0));
        let y = ndarray::Array1::from_shape_fn(64, |i| (i % 10) as f32);
        let run = |threads: usize| {
            kerust::set_num_threads(threads);
            let mut m = Sequential::empty();
            m.set_seed(6);
            m.add(LSTM::new(128).return_sequences(seq).input_shape(&[28, 28]))
                .unwrap();
            if seq {
                m.add(LSTM::new(128)).unwrap();
            }
            m.add(Dense::new(10).activation("softmax")).unwrap();
            m.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
                .unwrap();
            let options = FitOptions {
                epochs: 1,
                batch_size: 32,
                verbose: 0,
                shuffle: false,
                ..Default::default()
            };
            m.fit(&x, &y, options).unwrap();
            (m.get_weights(), m.predict(&x, 32).unwrap())
        };
        let runs: Vec<_> = [1, 2, 3].into_iter().map(run).collect();
        kerust::set_num_threads(0);
        assert_eq!(runs[0], runs[1], "return_sequences {seq}");
        assert_eq!(runs[0], runs[2], "return_sequences {seq}");
    }
}

#[test]
fn training_is_deterministic_across_thread_counts() {
    let run = |threads: usize| {
        kerust::set_num_threads(threads);
        let mut m = Sequential::empty();
        m.set_seed(4);
        m.add(
            LSTM::new(16)
                .dropout(0.2)
                .recurrent_dropout(0.2)
                .input_shape(&[7, 5]),
        )
        .unwrap();
        m.add(Dense::new(3).activation("softmax")).unwrap();
        m.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
            .unwrap();
        let x = ndarray::Array3::from_shape_fn((64, 7, 5), |(a, b, c)| {
            ((a * 31 + b * 7 + c) as f32 * 0.13).sin()
        });
        let y = ndarray::Array1::from_shape_fn(64, |i| (i % 3) as f32);
        m.fit(
            &x,
            &y,
            FitOptions {
                epochs: 2,
                verbose: 0,
                ..Default::default()
            },
        )
        .unwrap();
        m.get_weights()
    };
    let one = run(1);
    let two = run(2);
    kerust::set_num_threads(0);
    assert_eq!(one, two);
    assert_eq!(one, run(1));
}

#[test]
fn a_mask_from_embedding_flows_through_dropout_into_the_recurrent_layers_as_in_keras() {
    let dir = fixtures().join("keras_files");
    let p = read_json(dir.join("layers_rnn_masked_predictions.json"));
    let mut m = load_model(dir.join("layers_rnn_masked.keras")).unwrap();
    let classes: Vec<&str> = m.layers().iter().map(|l| l.class_name()).collect();
    assert_eq!(classes, ["Embedding", "Dropout", "LSTM", "GRU", "Dense"]);
    let x = array(&p["x"]);
    let pred = m.predict(&x, 32).unwrap();
    close(
        "masked predictions",
        pred.as_slice().unwrap(),
        array(&p["predictions"]).as_slice().unwrap(),
        1e-5,
    );
    // Two SGD steps on MSE: every gradient through the masked layers, as Keras computes it.
    let t = array(&p["targets"]);
    m.train_on_batch(&x, &t).unwrap();
    m.train_on_batch(&x, &t).unwrap();
    for (i, (w, want)) in m
        .get_weights()
        .iter()
        .zip(p["weights_after_two_sgd_steps"].as_array().unwrap())
        .enumerate()
    {
        close(
            &format!("weight {i} after two steps"),
            w.as_slice().unwrap(),
            array(want).as_slice().unwrap(),
            1e-4,
        );
    }
    let after = m.predict(&x, 32).unwrap();
    close(
        "predictions after",
        after.as_slice().unwrap(),
        array(&p["predictions_after"]).as_slice().unwrap(),
        1e-4,
    );
    // Without the mask the results differ: the mask did reach the recurrent layers.
    let mut masked = load_model(dir.join("layers_rnn_masked.keras")).unwrap();
    let mut v: Value = serde_json::from_str(&masked.to_json().unwrap()).unwrap();
    v["config"]["layers"][1]["config"]["mask_zero"] = false.into();
    let mut plain = model_from_json(&v.to_string()).unwrap();
    plain.set_weights(&masked.get_weights()).unwrap();
    let d = plain.predict(&x, 32).unwrap() - masked.predict(&x, 32).unwrap();
    assert!(d.iter().any(|v| v.abs() > 1e-3));
}

#[test]
fn embedding_indices_outside_the_vocabulary_are_errors_not_panics() {
    let mut m = Sequential::new(vec![
        Embedding::new(10, 4).input_shape(&[3]).into(),
        LSTM::new(2).into(),
    ])
    .unwrap();
    m.compile("adam", "mse", ()).unwrap();
    let ok = ndarray::arr2(&[[1.0f32, 9.0, 0.0]]);
    assert!(m.predict(&ok, 32).is_ok());
    for bad in [10.0f32, -1.0, 1e9] {
        let x = ndarray::arr2(&[[1.0f32, 2.0, 3.0], [4.0, bad, 0.0]]);
        let e = m.predict(&x, 32).unwrap_err().to_string();
        assert!(
            e.contains("embedding") && e.contains("sample 1") && e.contains("[0, 10)"),
            "{e}"
        );
        let y = ndarray::Array2::<f32>::zeros((2, 2));
        let e = m
            .fit(
                &x,
                &y,
                FitOptions {
                    verbose: 0,
                    ..Default::default()
                },
            )
            .unwrap_err()
            .to_string();
        assert!(e.contains("outside the vocabulary"), "{e}");
        assert!(m.train_on_batch(&x, &y).is_err());
    }
}

#[test]
fn embedding_gradients_agree_with_finite_differences() {
    let mut e = Embedding::new(6, 3);
    e.build(&[4], &mut Rng::new(2)).unwrap();
    let x = Tensor::from_vec(&[2, 4], vec![1.0, 5.0, 1.0, 0.0, 2.0, 2.0, 3.0, 5.0]).unwrap();
    let mut y = Tensor::default();
    e.forward(&x, &mut y, true);
    let g: Vec<f32> = (0..y.len()).map(|i| ((i * 7) % 5) as f32 - 2.0).collect();
    let mut gy = Tensor::from_vec(y.shape(), g.clone()).unwrap();
    e.backward(&x, &y, &mut gy, None);
    let base = e.params()[0].value.clone();
    for k in 0..base.len() {
        let f = |d: f32| {
            let mut l = Embedding::new(6, 3);
            l.build(&[4], &mut Rng::new(2)).unwrap();
            l.params_mut()[0].value.data_mut()[k] += d;
            probe(&mut l, &x, None, &g)
        };
        let fd = (f(1e-2) - f(-1e-2)) / 2e-2;
        assert!(
            (e.params()[0].grad.data()[k] as f64 - fd).abs() < 1e-3,
            "d[{k}]"
        );
    }
}

#[test]
fn a_keras_written_file_with_wrappers_loads_predicts_and_round_trips() {
    let dir = fixtures().join("keras_files");
    let p = read_json(dir.join("layers_rnn_wrappers_predictions.json"));
    let mut m = load_model(dir.join("layers_rnn_wrappers.keras")).unwrap();
    let classes: Vec<&str> = m.layers().iter().map(|l| l.class_name()).collect();
    assert_eq!(
        classes,
        ["Bidirectional", "TimeDistributed", "Bidirectional", "Dense"]
    );
    let x = array(&p["x"]);
    let pred = m.predict(&x, 32).unwrap();
    close(
        "wrapper predictions",
        pred.as_slice().unwrap(),
        array(&p["predictions"]).as_slice().unwrap(),
        1e-5,
    );
    let out = std::env::temp_dir().join(format!("kerust-rnn-wrap-{}.keras", std::process::id()));
    m.save(&out).unwrap();
    let mut again = load_model(&out).unwrap();
    std::fs::remove_file(&out).ok();
    assert_eq!(m.get_weights(), again.get_weights());
    assert_eq!(m.predict(&x, 32).unwrap(), again.predict(&x, 32).unwrap());
    // summary() as Keras prints it for the same architecture.
    let fresh = Sequential::new(vec![
        kerust::layers::Input::new(&[5, 3]).into(),
        Bidirectional::new(LSTM::new(4).return_sequences(true)).into(),
        TimeDistributed::new(Dense::new(3).activation("relu")).into(),
        Bidirectional::new(GRU::new(2)).merge_mode("ave").into(),
        // Keras's name counter is global to the session, so the Dense wrapped above took
        // `dense`; kerust names per model, by the model's own layers.
        Dense::new(1).name("dense_1").into(),
    ])
    .unwrap()
    .with_name("wrappers");
    assert_eq!(fresh.summary_string(), p["summary_text"].as_str().unwrap());
    let e = Sequential::new(vec![Bidirectional::new(LSTM::new(4))
        .merge_mode("max")
        .input_shape(&[3, 2])
        .into()])
    .unwrap_err()
    .to_string();
    assert!(e.contains("merge_mode") && e.contains("concat"), "{e}");
}
