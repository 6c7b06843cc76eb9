//! Normalization, global-pooling and reshaping layers against real Keras 3
//! (`tools/gen_layer_fixtures_norm.py`): each layer is read from Keras's own config, given
//! Keras's weights, and must reproduce Keras's outputs, input gradients and weight
//! gradients (training and inference mode), and moving statistics, within 1e-4.

use kerust::layers::Layer;
use kerust::saving::model_from_json;
use kerust::Tensor;
use serde_json::{json, Value};

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn tensor(v: &Value) -> Tensor {
    let shape: Vec<usize> = v["shape"]
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
    Tensor::from_vec(&shape, data).unwrap()
}

#[track_caller]
fn close(what: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let tol = 1e-5 + 1e-4 * w.abs();
        assert!(
            (g - w).abs() <= tol,
            "{what}[{i}]: got {g}, Keras {w} (diff {})",
            (g - w).abs()
        );
    }
}

/// The layer of a fixture case, read from Keras's config through a one-layer model.
fn model_of(case: &Value) -> kerust::models::Sequential {
    let x = tensor(&case["x"]);
    let mut batch_shape = vec![Value::Null];
    batch_shape.extend(x.shape()[1..].iter().map(|&d| Value::from(d)));
    let model = json!({
        "class_name": "Sequential",
        "config": {
            "name": "m",
            "layers": [
                {"class_name": "InputLayer", "config": {"batch_shape": batch_shape, "name": "input"}},
                {"class_name": case["class"], "config": case["config"]},
            ]
        }
    });
    model_from_json(&model.to_string()).unwrap_or_else(|e| panic!("{}: {e}", case["name"]))
}

fn set_weights(layer: &mut dyn Layer, case: &Value) {
    let ws = case["weights"].as_array().unwrap();
    assert_eq!(
        layer.params().len(),
        ws.len(),
        "{}: variables",
        case["name"]
    );
    let trainable = case["trainable"].as_array().unwrap();
    for ((p, w), t) in layer.params_mut().iter_mut().zip(ws).zip(trainable) {
        let w = tensor(w);
        assert_eq!(p.value.shape(), w.shape(), "{}: {}", case["name"], p.name);
        assert_eq!(
            p.trainable,
            t.as_bool().unwrap(),
            "{}: {}",
            case["name"],
            p.name
        );
        p.value.data_mut().copy_from_slice(w.data());
    }
}

/// Forward + backward of `layer` in one mode, compared with the fixture's keys.
fn check_pass(layer: &mut dyn Layer, case: &Value, training: bool, suffix: &str) {
    let name = format!("{}{suffix}", case["name"].as_str().unwrap());
    let x = tensor(&case["x"]);
    let mut y = Tensor::default();
    layer.forward(&x, &mut y, training);
    let want = tensor(&case[format!("y{suffix}")]);
    assert_eq!(y.shape(), want.shape(), "{name}: output shape");
    close(&format!("{name} y"), y.data(), want.data());
    let Some(gx_want) = case.get(format!("gx{suffix}")) else {
        return;
    };
    let mut gy = tensor(&case["g"]);
    let mut gx = Tensor::default();
    layer.backward(&x, &y, &mut gy, Some(&mut gx));
    close(&format!("{name} dx"), gx.data(), tensor(gx_want).data());
    let gws = case[format!("gw{suffix}")].as_array().unwrap();
    let trainable: Vec<_> = layer.params().iter().filter(|p| p.trainable).collect();
    assert_eq!(trainable.len(), gws.len(), "{name}: trainable variables");
    for (p, gw) in trainable.iter().zip(gws) {
        close(
            &format!("{name} d{}", p.name),
            p.grad.data(),
            tensor(gw).data(),
        );
    }
}

/// Classes this test covers (all cases of the fixture once every layer is implemented).
const CLASSES: &[&str] = &[
    "BatchNormalization",
    "LayerNormalization",
    "GroupNormalization",
    "UnitNormalization",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "GlobalMaxPooling3D",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalAveragePooling3D",
    "Reshape",
    "Permute",
    "RepeatVector",
    "ZeroPadding2D",
    "Cropping2D",
    "UpSampling2D",
    "SpatialDropout2D",
    "GaussianNoise",
    "GaussianDropout",
];

#[test]
fn layers_match_keras_forward_and_backward() {
    let f = fixture("layers_norm.json");
    let mut checked = 0;
    for case in f["cases"].as_array().unwrap() {
        if !CLASSES.contains(&case["class"].as_str().unwrap()) {
            continue;
        }
        let mut model = model_of(case);
        let lname = model.layers()[0].name().to_string();
        let layer = model.get_layer_mut(&lname).unwrap();
        set_weights(layer.as_mut(), case);
        check_pass(layer.as_mut(), case, false, "");
        if case.get("y_train").is_some() {
            set_weights(layer.as_mut(), case);
            check_pass(layer.as_mut(), case, true, "_train");
            for (p, w) in layer
                .params()
                .iter()
                .zip(case["weights_after_train"].as_array().unwrap())
            {
                close(
                    &format!("{} {} after training", case["name"], p.name),
                    p.value.data(),
                    tensor(w).data(),
                );
            }
        }
        checked += 1;
    }
    assert!(
        checked == f["cases"].as_array().unwrap().len(),
        "only {checked} cases checked"
    );
}

/// What kerust writes for each layer is what Keras wrote (numbers to float32 precision).
#[test]
fn configs_round_trip_to_what_keras_writes() {
    fn same(a: &Value, b: &Value, path: &str) {
        match (a, b) {
            (Value::Number(x), Value::Number(y)) => {
                let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
                assert!((x - y).abs() <= 1e-7 * y.abs(), "{path}: {x} vs Keras {y}");
            }
            (Value::Object(x), Value::Object(y)) => {
                let mut kx: Vec<_> = x.keys().collect();
                let mut ky: Vec<_> = y.keys().filter(|k| *k != "dtype").collect();
                kx.retain(|k| *k != "dtype");
                kx.sort();
                ky.sort();
                assert_eq!(kx, ky, "{path}: keys");
                for k in kx {
                    same(&x[k], &y[k], &format!("{path}.{k}"));
                }
            }
            (Value::Array(x), Value::Array(y)) => {
                assert_eq!(x.len(), y.len(), "{path}: length");
                for (i, (x, y)) in x.iter().zip(y).enumerate() {
                    same(x, y, &format!("{path}[{i}]"));
                }
            }
            _ => assert_eq!(a, b, "{path}"),
        }
    }
    let f = fixture("layers_norm.json");
    for case in f["cases"].as_array().unwrap() {
        if !CLASSES.contains(&case["class"].as_str().unwrap()) {
            continue;
        }
        let model = model_of(case);
        same(
            &model.layers()[0].config(),
            &case["config"],
            case["name"].as_str().unwrap(),
        );
    }
}

/// A one-layer model JSON of `class` with `config` on inputs of `shape`.
fn one_layer(
    class: &str,
    config: Value,
    shape: &[usize],
) -> kerust::Result<kerust::models::Sequential> {
    let mut batch_shape = vec![Value::Null];
    batch_shape.extend(shape.iter().map(|&d| Value::from(d)));
    let model = json!({
        "class_name": "Sequential",
        "config": {"name": "m", "layers": [
            {"class_name": "InputLayer", "config": {"batch_shape": batch_shape, "name": "input"}},
            {"class_name": class, "config": config},
        ]}
    });
    model_from_json(&model.to_string())
}

#[test]
fn unsupported_options_are_refused_with_the_option_named() {
    let cases = [
        ("BatchNormalization", json!({"renorm": true}), "renorm"),
        (
            "BatchNormalization",
            json!({"synchronized": true}),
            "synchronized",
        ),
        (
            "BatchNormalization",
            json!({"gamma_constraint": {"class_name": "NonNeg", "config": {}}}),
            "gamma_constraint",
        ),
        ("LayerNormalization", json!({"axis": [1, 2]}), "axis"),
        ("GroupNormalization", json!({"groups": 2, "foo": 1}), "foo"),
        ("GroupNormalization", json!({"groups": 0}), "groups"),
        (
            "UpSampling2D",
            json!({"interpolation": "bicubic"}),
            "bicubic",
        ),
        (
            "ZeroPadding2D",
            json!({"padding": 1, "data_format": "channels_first"}),
            "data_format",
        ),
        ("ZeroPadding2D", json!({"padding": [1, 2, 3]}), "padding"),
        (
            "GlobalAveragePooling2D",
            json!({"data_format": "channels_first"}),
            "data_format",
        ),
        ("SpatialDropout2D", json!({"rate": 1.5}), "rate"),
        ("GaussianNoise", json!({"stddev": -1.0}), "stddev"),
        ("Reshape", json!({}), "target_shape"),
    ];
    for (class, config, word) in cases {
        let e = one_layer(class, config.clone(), &[4, 4, 4])
            .unwrap_err()
            .to_string();
        assert!(e.contains(word), "{class} {config}: {e}");
    }
}

#[test]
fn inputs_a_layer_cannot_take_are_errors_naming_the_layer() {
    let cases = [
        (
            "BatchNormalization",
            json!({"name": "bn", "axis": 1}),
            vec![4, 4],
            "axis",
        ),
        (
            "GroupNormalization",
            json!({"name": "gn", "groups": 4}),
            vec![6],
            "groups",
        ),
        (
            "GlobalAveragePooling2D",
            json!({"name": "gap"}),
            vec![6],
            "gap",
        ),
        (
            "GlobalMaxPooling1D",
            json!({"name": "gmp"}),
            vec![2, 2, 6],
            "gmp",
        ),
        (
            "Reshape",
            json!({"name": "r", "target_shape": [5, -1]}),
            vec![2, 6],
            "target_shape",
        ),
        (
            "Reshape",
            json!({"name": "r", "target_shape": [-1, -1]}),
            vec![2, 6],
            "target_shape",
        ),
        (
            "Permute",
            json!({"name": "p", "dims": [1, 1]}),
            vec![2, 6],
            "dims",
        ),
        (
            "RepeatVector",
            json!({"name": "rv", "n": 2}),
            vec![2, 6],
            "rv",
        ),
        (
            "Cropping2D",
            json!({"name": "c", "cropping": [[2, 2], [0, 0]]}),
            vec![4, 4, 1],
            "cropping",
        ),
        ("UpSampling2D", json!({"name": "u"}), vec![4, 4], "u"),
        (
            "SpatialDropout2D",
            json!({"name": "s", "rate": 0.1}),
            vec![4, 4],
            "s",
        ),
    ];
    for (class, config, shape, word) in cases {
        let e = one_layer(class, config.clone(), &shape)
            .unwrap_err()
            .to_string();
        assert!(e.contains(word), "{class} {config} on {shape:?}: {e}");
    }
    // Builders report the same when the model is built.
    use kerust::layers::{GlobalAveragePooling2D, GroupNormalization};
    let mut m = kerust::models::Sequential::empty();
    let e = m
        .add(
            GlobalAveragePooling2D::new()
                .name("pool")
                .input_shape(&[10]),
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("pool") && e.contains("(None, 10)"), "{e}");
    let e = kerust::models::Sequential::new(vec![GroupNormalization::new(4)
        .input_shape(&[3, 6])
        .into()])
    .unwrap_err()
    .to_string();
    assert!(e.contains("groups"), "{e}");
}
