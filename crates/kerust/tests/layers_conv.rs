//! Convolution and pooling layers against real Keras 3 (fixtures from
//! `tools/gen_layer_fixtures_conv.py`): forward values, input and weight gradients, configs,
//! a Keras-written `.keras` file, summaries; plus finite-difference checks of every backward
//! pass, save/load round trips, determinism and error messages.

use kerust::layers::{
    AveragePooling1D, AveragePooling2D, AveragePooling3D, Conv1D, Conv1DTranspose, Conv2D,
    Conv2DTranspose, Conv3D, Conv3DTranspose, Dense, DepthwiseConv1D, DepthwiseConv2D, Flatten,
    Layer, MaxPooling1D, MaxPooling2D, MaxPooling3D, SeparableConv1D, SeparableConv2D,
};
use kerust::models::{FitOptions, Sequential};
use kerust::saving::{load_model, model_from_json};
use kerust::{Rng, Tensor};
use ndarray::{ArrayD, IxDyn};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

mod common;
#[path = "common/finite_diff.rs"]
mod finite_diff;
use finite_diff::Check;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn fixture(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixtures().join(name)).unwrap()).unwrap()
}

fn arr(v: &Value) -> (Vec<usize>, Vec<f32>) {
    let shape = v["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect();
    let data = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_f64().unwrap() as f32)
        .collect();
    (shape, data)
}

fn nd(v: &Value) -> ArrayD<f32> {
    let (s, d) = arr(v);
    ArrayD::from_shape_vec(IxDyn(&s), d).unwrap()
}

fn tensor(v: &Value) -> Tensor {
    let (s, d) = arr(v);
    Tensor::from_vec(&s, d).unwrap()
}

#[track_caller]
fn close(what: &str, got: &[f32], want: &[f32]) {
    close_to(what, got, want, 1e-5)
}

/// As [`close`], with an absolute floor of `floor` times the largest magnitude of `want`
/// (at least `floor`). Winograd's F(4x4, 3x3), which kerust runs for 3x3 convolutions with
/// 16 channels and more, rounds its sums differently: the error is bounded relative to the
/// largest values of the output (its transforms mix every position of a tile), so an
/// element that is a small difference of large terms is off by more than 1e-4 of itself.
#[track_caller]
fn close_to(what: &str, got: &[f32], want: &[f32], floor: f32) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    let scale = want.iter().fold(1.0f32, |m, w| m.max(w.abs()));
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let tol = floor * scale + 1e-4 * w.abs();
        assert!(
            (g - w).abs() <= tol,
            "{what}[{i}]: got {g}, Keras {w} (diff {})",
            (g - w).abs()
        );
    }
}

/// A one-layer model read from the layer's Keras config.
fn model_of(case: &Value) -> Sequential {
    let mut batch_shape = vec![Value::Null];
    batch_shape.extend(case["input_shape"].as_array().unwrap().iter().cloned());
    let j = json!({
        "class_name": "Sequential",
        "config": {"name": "t", "layers": [
            {"class_name": "InputLayer", "config": {"batch_shape": batch_shape, "name": "in"}},
            {"class_name": case["class_name"], "config": case["config"]},
        ]}
    });
    model_from_json(&j.to_string()).unwrap()
}

#[test]
fn every_layer_matches_keras_forward_and_backward() {
    let f = fixture("layers_conv.json");
    for case in f["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let mut m = model_of(case);
        let weights: Vec<ArrayD<f32>> =
            case["weights"].as_array().unwrap().iter().map(nd).collect();
        m.set_weights(&weights).unwrap();
        let want_out: Vec<usize> = case["output_shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(m.output_shape().unwrap(), want_out, "{name}: output shape");
        // The config we write is the one Keras wrote.
        let ours = m.layers()[0].config();
        for (k, v) in case["config"].as_object().unwrap() {
            if k == "dtype" || k == "name" {
                continue;
            }
            if k.ends_with("_initializer") {
                // (Keras 3.15 adds `input_axes`/`output_axes` to some initializer configs.)
                assert_eq!(ours[k]["class_name"], v["class_name"], "{name}: `{k}`");
                continue;
            }
            assert_eq!(&ours[k], v, "{name}: config key `{k}`");
        }
        let mut layer = m.pop().unwrap();
        let names: Vec<&str> = layer.params().iter().map(|p| p.name).collect();
        let want_names: Vec<&str> = case["weight_names"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(names, want_names, "{name}: variables");
        let x = tensor(&case["x"]);
        let floor = if name.contains("winograd") { 1e-5 } else { 0.0 };
        let close = |what: &str, got: &[f32], want: &[f32]| {
            if floor > 0.0 {
                close_to(what, got, want, floor)
            } else {
                close(what, got, want)
            }
        };
        for training in [true, false] {
            let mut y = Tensor::default();
            layer.forward(&x, &mut y, training);
            assert_eq!(y.shape(), arr(&case["y"]).0.as_slice(), "{name}: y shape");
            close(&format!("{name} y"), y.data(), &arr(&case["y"]).1);
            let mut gy = tensor(&case["g"]);
            let mut gx = Tensor::default();
            layer.backward(&x, &y, &mut gy, Some(&mut gx));
            close(&format!("{name} gx"), gx.data(), &arr(&case["gx"]).1);
            for (i, (p, w)) in layer
                .params()
                .iter()
                .zip(case["gw"].as_array().unwrap())
                .enumerate()
            {
                close(&format!("{name} gw[{i}]"), p.grad.data(), &arr(w).1);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Finite differences (the pattern of tests/gradcheck.rs).

fn check_layer(name: &str, make: &dyn Fn() -> Box<dyn Layer>, in_shape: &[usize], batch: usize) {
    let how = Check {
        distinct_inputs: false,
        param_stride: 3,
    };
    finite_diff::check_layer(name, make, in_shape, batch, how)
}

fn check_pool(name: &str, make: &dyn Fn() -> Box<dyn Layer>, in_shape: &[usize], batch: usize) {
    let how = Check {
        distinct_inputs: true,
        param_stride: 3,
    };
    finite_diff::check_layer(name, make, in_shape, batch, how)
}

#[test]
fn conv_backward_passes_agree_with_finite_differences() {
    check_layer(
        "Conv2D",
        &|| Box::new(Conv2D::new(3, (3, 2)).activation("tanh")),
        &[5, 4, 2],
        2,
    );
    check_layer(
        "Conv2D same strided",
        &|| Box::new(Conv2D::new(2, 3).strides((2, 1)).padding("same")),
        &[5, 6, 3],
        2,
    );
    check_layer(
        "Conv2D dilated",
        &|| Box::new(Conv2D::new(2, 2).dilation_rate(2).use_bias(false)),
        &[5, 5, 2],
        2,
    );
    check_layer(
        "Conv2D groups",
        &|| Box::new(Conv2D::new(4, 2).groups(2).activation("sigmoid")),
        &[4, 4, 4],
        2,
    );
    check_layer(
        "Conv2D channels_first softmax",
        &|| {
            Box::new(
                Conv2D::new(3, 2)
                    .data_format("channels_first")
                    .activation("softmax"),
            )
        },
        &[2, 4, 5],
        2,
    );
    // 3x3, stride 1, at least 16 channels and filters: Winograd's F(4x4, 3x3).
    check_layer(
        "Conv2D Winograd same",
        &|| Box::new(Conv2D::new(16, 3).padding("same").activation("tanh")),
        &[5, 6, 16],
        2,
    );
    check_layer(
        "Conv2D Winograd valid",
        &|| Box::new(Conv2D::new(17, 3)),
        &[7, 6, 18],
        2,
    );
    check_layer(
        "Conv1D causal",
        &|| Box::new(Conv1D::new(3, 3).padding("causal").dilation_rate(2)),
        &[7, 2],
        2,
    );
    check_layer(
        "Conv3D",
        &|| Box::new(Conv3D::new(2, (2, 2, 3)).strides(2).padding("same")),
        &[3, 4, 5, 2],
        2,
    );
}

#[test]
fn transposed_depthwise_and_separable_backward_passes_agree_with_finite_differences() {
    check_layer(
        "Conv2DTranspose same",
        &|| {
            Box::new(
                Conv2DTranspose::new(2, 3)
                    .strides(2)
                    .padding("same")
                    .activation("tanh"),
            )
        },
        &[3, 4, 2],
        2,
    );
    check_layer(
        "Conv2DTranspose valid s>k channels_first",
        &|| {
            Box::new(
                Conv2DTranspose::new(2, 2)
                    .strides(3)
                    .data_format("channels_first"),
            )
        },
        &[2, 3, 2],
        2,
    );
    check_layer(
        "Conv1DTranspose dilated",
        &|| Box::new(Conv1DTranspose::new(2, 3).dilation_rate(2)),
        &[5, 3],
        2,
    );
    check_layer(
        "Conv3DTranspose",
        &|| Box::new(Conv3DTranspose::new(2, 2).strides(2).padding("same")),
        &[2, 2, 3, 2],
        1,
    );
    check_layer(
        "DepthwiseConv2D",
        &|| {
            Box::new(
                DepthwiseConv2D::new(3)
                    .depth_multiplier(2)
                    .padding("same")
                    .activation("sigmoid"),
            )
        },
        &[4, 5, 3],
        2,
    );
    check_layer(
        "DepthwiseConv1D strided",
        &|| Box::new(DepthwiseConv1D::new(3).strides(2)),
        &[7, 2],
        2,
    );
    check_layer(
        "SeparableConv2D",
        &|| {
            Box::new(
                SeparableConv2D::new(3, (2, 3))
                    .depth_multiplier(2)
                    .activation("tanh"),
            )
        },
        &[4, 5, 2],
        2,
    );
    check_layer(
        "SeparableConv1D channels_first",
        &|| {
            Box::new(
                SeparableConv1D::new(2, 3)
                    .data_format("channels_first")
                    .padding("same"),
            )
        },
        &[2, 6],
        2,
    );
}

#[test]
fn pooling_backward_passes_agree_with_finite_differences() {
    check_pool(
        "MaxPooling2D",
        &|| Box::new(MaxPooling2D::new(2)),
        &[4, 5, 3],
        2,
    );
    check_pool(
        "MaxPooling2D overlapping same",
        &|| Box::new(MaxPooling2D::new(3).strides(2).padding("same")),
        &[5, 6, 2],
        2,
    );
    check_pool(
        "AveragePooling2D same",
        &|| Box::new(AveragePooling2D::new((3, 2)).strides(1).padding("same")),
        &[4, 5, 2],
        2,
    );
    check_pool(
        "AveragePooling2D channels_first",
        &|| Box::new(AveragePooling2D::new(2).data_format("channels_first")),
        &[2, 4, 5],
        2,
    );
    check_pool(
        "MaxPooling1D",
        &|| Box::new(MaxPooling1D::new(3).strides(2)),
        &[9, 2],
        2,
    );
    check_pool(
        "AveragePooling1D",
        &|| Box::new(AveragePooling1D::new(2).padding("same")),
        &[7, 2],
        2,
    );
    check_pool(
        "MaxPooling3D",
        &|| Box::new(MaxPooling3D::new(2)),
        &[4, 4, 3, 2],
        1,
    );
    check_pool(
        "AveragePooling3D",
        &|| Box::new(AveragePooling3D::new((2, 3, 2)).padding("same")),
        &[3, 4, 3, 2],
        1,
    );
}

// ---------------------------------------------------------------------------------------
// Files, summaries, round trips.

#[test]
fn keras_written_conv_models_predict_as_keras() {
    for (file, name) in [
        ("layers_conv", "conv_model"),
        ("layers_conv_more", "conv_more"),
    ] {
        let p = fixture(&format!("keras_files/{file}_predictions.json"));
        let mut m = load_model(fixtures().join(format!("keras_files/{file}.keras"))).unwrap();
        assert_eq!(m.name(), name);
        let pred = m.predict(&nd(&p["inputs"]), 32).unwrap();
        let (_, want) = arr(&p["predictions"]);
        close(file, pred.as_slice().unwrap(), &want);
        // Saved again by kerust, the file loads back bit for bit.
        let dir = common::temp_dir("conv-resave");
        let path = dir.join("again.keras");
        m.save(&path).unwrap();
        let mut again = load_model(&path).unwrap();
        assert_eq!(again.get_weights(), m.get_weights());
        assert_eq!(again.predict(&nd(&p["inputs"]), 32).unwrap(), pred);
        std::fs::remove_dir_all(&dir).ok();
    }
}

fn small_cnn(seed: u64) -> Sequential {
    let mut m = Sequential::empty();
    m.set_seed(seed);
    m.add(
        Conv2D::new(4, 3)
            .activation("relu")
            .padding("same")
            .input_shape(&[8, 8, 2]),
    )
    .unwrap();
    m.add(MaxPooling2D::new(2)).unwrap();
    m.add(Conv2D::new(6, (2, 2)).groups(2).activation("tanh"))
        .unwrap();
    m.add(AveragePooling2D::new(2).padding("same")).unwrap();
    m.add(Flatten::new()).unwrap();
    m.add(Dense::new(3).activation("softmax")).unwrap();
    m.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
        .unwrap();
    m
}

fn other_cnn(seed: u64) -> Sequential {
    let mut m = Sequential::empty();
    m.set_seed(seed);
    m.add(
        DepthwiseConv2D::new(3)
            .depth_multiplier(2)
            .padding("same")
            .activation("relu")
            .input_shape(&[8, 8, 2]),
    )
    .unwrap();
    m.add(SeparableConv2D::new(3, 3).activation("tanh"))
        .unwrap();
    m.add(Conv2DTranspose::new(2, 2).strides(2)).unwrap();
    m.add(MaxPooling2D::new(3).strides(2)).unwrap();
    m.add(Flatten::new()).unwrap();
    m.add(Dense::new(3).activation("softmax")).unwrap();
    m.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
        .unwrap();
    m
}

fn data(n: usize) -> (ArrayD<f32>, ndarray::Array1<f32>) {
    let mut rng = Rng::new(3);
    let x = ArrayD::from_shape_fn(IxDyn(&[n, 8, 8, 2]), |_| rng.uniform_range(-1.0, 1.0));
    let y = ndarray::Array1::from_shape_fn(n, |i| (i % 3) as f32);
    (x, y)
}

fn quiet(epochs: usize) -> FitOptions<'static> {
    FitOptions {
        epochs,
        batch_size: 8,
        verbose: 0,
        shuffle: false,
        ..Default::default()
    }
}

#[test]
fn save_load_predict_is_bit_identical() {
    for build in [small_cnn, other_cnn] {
        save_load_round_trip(build(1));
    }
}

fn save_load_round_trip(mut a: Sequential) {
    let (x, y) = data(24);
    a.fit(&x, &y, quiet(2)).unwrap();
    let dir = common::temp_dir("conv");
    let path = dir.join("cnn.keras");
    a.save(&path).unwrap();
    let mut b = load_model(&path).unwrap();
    assert_eq!(a.get_weights(), b.get_weights());
    assert_eq!(a.predict(&x, 32).unwrap(), b.predict(&x, 32).unwrap());
    // Continued training stays identical.
    a.fit(&x, &y, quiet(1)).unwrap();
    b.fit(&x, &y, quiet(1)).unwrap();
    assert_eq!(a.get_weights(), b.get_weights());
    let c = model_from_json(&a.to_json().unwrap()).unwrap();
    assert_eq!(c.count_params(), a.count_params());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn training_is_deterministic_across_thread_counts() {
    let (x, y) = data(40);
    let mut runs = Vec::new();
    for threads in [1, 2, 1] {
        kerust::set_num_threads(threads);
        let mut m = small_cnn(9);
        m.fit(&x, &y, quiet(2)).unwrap();
        runs.push(m.get_weights());
    }
    kerust::set_num_threads(0);
    assert_eq!(runs[0], runs[1]);
    assert_eq!(runs[0], runs[2]);
}

/// The tutorials' CNN at batch 32 is large enough for every per-sample split (windows,
/// products, pooling, activations) to engage: the weights after training must be the same
/// bits at 1, 2 and 3 threads (3 cuts 32 samples unevenly).
#[test]
fn split_convolution_and_pooling_keep_the_bits() {
    let n = 64;
    let mut rng = Rng::new(5);
    let x = ArrayD::from_shape_fn(IxDyn(&[n, 28, 28, 1]), |_| rng.uniform_range(0.0, 1.0));
    let y = ndarray::Array1::from_shape_fn(n, |i| (i % 10) as f32);
    let build = || {
        let mut m = Sequential::empty();
        m.set_seed(4);
        m.add(
            Conv2D::new(32, 3)
                .activation("relu")
                .input_shape(&[28, 28, 1]),
        )
        .unwrap();
        m.add(MaxPooling2D::new(2)).unwrap();
        m.add(Conv2D::new(64, 3).activation("relu").padding("same"))
            .unwrap();
        m.add(AveragePooling2D::new(2)).unwrap();
        m.add(Flatten::new()).unwrap();
        m.add(Dense::new(10).activation("softmax")).unwrap();
        m.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
            .unwrap();
        m
    };
    let options = || FitOptions {
        epochs: 1,
        batch_size: 32,
        verbose: 0,
        shuffle: false,
        ..Default::default()
    };
    let mut runs = Vec::new();
    for threads in [1, 2, 3] {
        kerust::set_num_threads(threads);
        let mut m = build();
        m.fit(&x, &y, options()).unwrap();
        runs.push((m.get_weights(), m.predict(&x, 32).unwrap()));
    }
    kerust::set_num_threads(0);
    assert_eq!(runs[0], runs[1]);
    assert_eq!(runs[0], runs[2]);
}

#[test]
fn summaries_print_as_in_keras() {
    let f = fixture("layers_conv_summary.json");
    let text = |name: &str| {
        f["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap()["text"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let cnn = Sequential::new(vec![
        kerust::layers::Input::new(&[28, 28, 1]).into(),
        Conv2D::new(32, (3, 3)).activation("relu").into(),
        MaxPooling2D::new((2, 2)).into(),
        Conv2D::new(64, (3, 3)).activation("relu").into(),
        MaxPooling2D::new((2, 2)).into(),
        Flatten::new().into(),
        Dense::new(128).activation("relu").into(),
        kerust::layers::Dropout::new(0.5).into(),
        Dense::new(10).activation("softmax").into(),
    ])
    .unwrap();
    assert_eq!(cnn.summary_string(), text("fashion_cnn"));
    let nd = Sequential::new(vec![
        kerust::layers::Input::new(&[16, 4]).into(),
        Conv1D::new(8, 3).padding("causal").into(),
        AveragePooling1D::new(2).into(),
        MaxPooling1D::new(2).padding("same").into(),
    ])
    .unwrap()
    .with_name("conv_nd");
    assert_eq!(nd.summary_string(), text("conv_nd"));
}

// ---------------------------------------------------------------------------------------
// Errors name the layer; nothing panics.

#[test]
fn bad_shapes_and_options_are_clear_errors() {
    let e = Sequential::new(vec![Conv2D::new(4, 3).input_shape(&[28, 28]).into()]).unwrap_err();
    let s = e.to_string();
    assert!(s.contains("Conv2D") && s.contains("conv2d"), "{s}");
    let e = Sequential::new(vec![Conv2D::new(4, 5).input_shape(&[3, 3, 1]).into()]).unwrap_err();
    assert!(e.to_string().contains("Conv2D"), "{e}");
    let e = Sequential::new(vec![Conv2D::new(4, 3)
        .groups(3)
        .input_shape(&[8, 8, 2])
        .into()])
    .unwrap_err();
    assert!(e.to_string().contains("groups"), "{e}");
    let e = Sequential::new(vec![Conv2D::new(4, 3)
        .strides(2)
        .dilation_rate(2)
        .input_shape(&[8, 8, 2])
        .into()])
    .unwrap_err();
    assert!(e.to_string().contains("dilation"), "{e}");
    let e = Sequential::new(vec![Conv2D::new(4, 3)
        .padding("full")
        .input_shape(&[8, 8, 1])
        .into()])
    .unwrap_err();
    assert!(e.to_string().contains("full"), "{e}");
    let e = Sequential::new(vec![Conv2D::new(4, 3)
        .padding("causal")
        .input_shape(&[8, 8, 1])
        .into()])
    .unwrap_err();
    assert!(e.to_string().contains("causal"), "{e}");
    let e = Sequential::new(vec![MaxPooling2D::new(3).input_shape(&[2, 8, 1]).into()]).unwrap_err();
    assert!(e.to_string().contains("MaxPooling2D"), "{e}");
    let e = Sequential::new(vec![AveragePooling2D::new(0)
        .input_shape(&[4, 4, 1])
        .into()])
    .unwrap_err();
    assert!(e.to_string().contains("pool_size"), "{e}");
    // Unknown config options are refused.
    let j = json!({"class_name": "Sequential", "config": {"name": "t", "layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [null, 8, 8, 1]}},
        {"class_name": "Conv2D", "config": {"name": "c", "filters": 2, "kernel_size": [3, 3], "frobnicate": 1}},
    ]}});
    let e = model_from_json(&j.to_string()).unwrap_err();
    assert!(e.to_string().contains("frobnicate"), "{e}");
    let j = json!({"class_name": "Sequential", "config": {"name": "t", "layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [null, 8, 8, 1]}},
        {"class_name": "MaxPooling2D", "config": {"name": "p", "pool_size": [2, 2, 2]}},
    ]}});
    assert!(model_from_json(&j.to_string()).is_err());
    // A mis-shaped input at fit/predict time is an error, not a panic.
    let mut m = small_cnn(2);
    let bad = ArrayD::<f32>::zeros(IxDyn(&[2, 8, 7, 2]));
    assert!(m.predict(&bad, 32).is_err());
}

#[test]
fn regularizers_add_their_gradients_and_penalties() {
    use kerust::layers::Regularizer;
    let mut layer = Conv2D::new(2, 2)
        .kernel_regularizer(Regularizer::L2(0.1))
        .bias_regularizer(Regularizer::L1(0.2))
        .bias_initializer("ones");
    layer.build(&[3, 3, 1], &mut Rng::new(1)).unwrap();
    let x = Tensor::from_vec(&[1, 3, 3, 1], vec![0.5; 9]).unwrap();
    let mut y = Tensor::default();
    layer.forward(&x, &mut y, true);
    let mut gy = Tensor::from_vec(y.shape(), vec![0.0; y.len()]).unwrap();
    layer.backward(&x, &y, &mut gy, None);
    let k = &layer.params()[0];
    for (g, w) in k.grad.data().iter().zip(k.value.data()) {
        assert!((g - 0.2 * w).abs() < 1e-7);
    }
    assert_eq!(layer.params()[1].grad.data(), &[0.2, 0.2]);
    assert!(layer.params()[0].regularizer.is_some());
    // Depthwise and separable layers carry theirs on the right variables.
    let mut s = SeparableConv2D::new(2, 2)
        .depthwise_regularizer(Regularizer::L2(0.1))
        .pointwise_regularizer(Regularizer::L1(0.3));
    s.build(&[3, 3, 2], &mut Rng::new(1)).unwrap();
    let regs: Vec<bool> = s.params().iter().map(|p| p.regularizer.is_some()).collect();
    assert_eq!(regs, [true, true, false]);
    let names: Vec<&str> = s.params().iter().map(|p| p.name).collect();
    assert_eq!(names, ["depthwise_kernel", "pointwise_kernel", "bias"]);
    let d = DepthwiseConv2D::new(2).depthwise_regularizer(Regularizer::L1(0.1));
    let m = Sequential::new(vec![d.input_shape(&[4, 4, 3]).into()]).unwrap();
    assert_eq!(
        m.layers()[0].config()["depthwise_regularizer"]["class_name"],
        "L1"
    );
    // Depthwise and separable layers refuse causal padding, as Keras does.
    assert!(Sequential::new(vec![DepthwiseConv1D::new(2)
        .padding("causal")
        .input_shape(&[6, 2])
        .into()])
    .is_err());
}
