//! kerust's side of the benchmark suite: one measurement of one workload at one thread
//! count, printed as one JSON line on stdout. The orchestrator `bench/run.py` starts one
//! process per measurement and interleaves it with the PyTorch and Keras peers
//! (`bench/peers.py`), which print the same fields.
//!
//! ```text
//! kerust-bench WORKLOAD [--threads N] [--size full|tiny]
//! kerust-bench --list
//! ```
//!
//! Workloads are defined in `bench/workloads.json`. Training workloads run a short warm-up
//! `fit` (about ten batches) in the same process, then time one `fit` call with the
//! workload's epochs (Dense models, and the CNN and LSTM of issue 6); predict workloads time `predict` calls for at least `min_seconds`;
//! `SGEMM` times kerust's matrix product (its own kernel, `kerust::kernels`) on large square matrices.

use kerust::layers::{Conv2D, MaxPooling2D, LSTM};
use kerust::prelude::*;
use ndarray::{s, Array1, ArrayD, Axis, IxDyn};
use serde_json::{json, Value};
use std::time::Instant;

/// The workload definitions shared with the Python peers.
const WORKLOADS: &str = include_str!("../workloads.json");

fn main() {
    match run(std::env::args().skip(1).collect()) {
        Ok(line) => println!("{line}"),
        Err(e) => {
            eprintln!("kerust-bench: {e}");
            std::process::exit(2);
        }
    }
}

type AnyResult<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn run(args: Vec<String>) -> AnyResult<Value> {
    let all: Value = serde_json::from_str(WORKLOADS)?;
    let mut workload = None;
    let mut threads = 1usize;
    let mut size = "full".to_string();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--threads" => threads = it.next().ok_or("--threads needs a value")?.parse()?,
            "--size" => size = it.next().ok_or("--size needs a value")?,
            "--list" => {
                let names: Vec<&String> = all
                    .as_object()
                    .ok_or("workloads.json")?
                    .keys()
                    .filter(|k| !k.starts_with('_'))
                    .collect();
                return Ok(json!(names));
            }
            "-h" | "--help" => {
                return Err("usage: kerust-bench WORKLOAD [--threads N] [--size full|tiny]".into())
            }
            w if workload.is_none() && !w.starts_with('-') => workload = Some(w.to_string()),
            other => return Err(format!("unexpected argument {other:?}").into()),
        }
    }
    let name = workload.ok_or("which workload? (kerust-bench --list)")?;
    let spec = all
        .get(&name)
        .filter(|_| !name.starts_with('_'))
        .ok_or_else(|| format!("unknown workload {name:?}"))?;
    if size != "full" && size != "tiny" {
        return Err(format!("--size must be full or tiny, got {size:?}").into());
    }
    if threads == 0 {
        return Err("--threads must be at least 1".into());
    }
    kerust::set_num_threads(threads);

    let mut out = match spec["kind"].as_str() {
        Some("train") => train(spec, &size)?,
        Some("predict") => predict(spec, &size)?,
        Some("sgemm") => sgemm(spec, &size)?,
        k => return Err(format!("{name}: unknown kind {k:?}").into()),
    };
    let o = out.as_object_mut().expect("an object");
    o.insert("system".into(), json!("kerust"));
    o.insert("version".into(), json!(env!("CARGO_PKG_VERSION")));
    o.insert("workload".into(), json!(name));
    o.insert("threads".into(), json!(threads));
    o.insert("threads_seen".into(), json!(kerust::num_threads()));
    o.insert("size".into(), json!(size));
    o.insert("peak_rss_bytes".into(), json!(peak_rss_bytes()));
    Ok(out)
}

fn num(v: &Value, what: &str) -> AnyResult<usize> {
    v.as_u64()
        .map(|n| n as usize)
        .ok_or_else(|| format!("workloads.json: {what} must be a whole number").into())
}

fn sized<'a>(v: &'a Value, size: &str) -> &'a Value {
    v.get(size).unwrap_or(v)
}

/// One layer of a workload (see the note in workloads.json).
#[derive(Debug, Clone)]
enum LayerSpec {
    Dense(usize, String),
    Conv2D(usize, usize, String),
    MaxPool2D(usize),
    Flatten,
    Dropout(f32),
    Lstm(usize),
}

fn text(v: &Value, what: &str) -> AnyResult<String> {
    Ok(v.as_str()
        .ok_or_else(|| format!("workloads.json: {what} must be a string"))?
        .to_string())
}

/// The workload's layers: `[units, activation]` (Dense) or a tagged list.
fn layers(spec: &Value) -> AnyResult<Vec<LayerSpec>> {
    spec["layers"]
        .as_array()
        .ok_or("workloads.json: layers")?
        .iter()
        .map(|l| {
            if l[0].is_u64() {
                return Ok(LayerSpec::Dense(
                    num(&l[0], "layer units")?,
                    text(&l[1], "layer activation")?,
                ));
            }
            Ok(match l[0].as_str() {
                Some("dense") => LayerSpec::Dense(num(&l[1], "units")?, text(&l[2], "activation")?),
                Some("conv2d") => LayerSpec::Conv2D(
                    num(&l[1], "filters")?,
                    num(&l[2], "kernel")?,
                    text(&l[3], "activation")?,
                ),
                Some("maxpool2d") => LayerSpec::MaxPool2D(num(&l[1], "pool")?),
                Some("flatten") => LayerSpec::Flatten,
                Some("dropout") => LayerSpec::Dropout(l[1].as_f64().ok_or("dropout rate")? as f32),
                Some("lstm") => LayerSpec::Lstm(num(&l[1], "units")?),
                other => return Err(format!("workloads.json: unknown layer {other:?}").into()),
            })
        })
        .collect()
}

/// The shape of one sample: `input` is a feature count or a list of dimensions.
fn input_shape(spec: &Value) -> AnyResult<Vec<usize>> {
    match &spec["input"] {
        Value::Array(dims) => dims.iter().map(|d| num(d, "input dimension")).collect(),
        v => Ok(vec![num(v, "input")?]),
    }
}

/// The number of classes: the units of the last Dense layer.
fn classes(layers: &[LayerSpec]) -> AnyResult<usize> {
    match layers.last() {
        Some(LayerSpec::Dense(units, _)) => Ok(*units),
        _ => Err("workloads.json: the last layer must be Dense".into()),
    }
}

/// Multiply-adds x 2 of one sample's forward pass through the matrix products of the model
/// (Dense, the convolutions as im2col products, the LSTM's input and recurrent kernels);
/// pooling, activations and the elementwise gate arithmetic are not counted.
fn forward_flops(input: &[usize], layers: &[LayerSpec]) -> f64 {
    let mut shape = input.to_vec();
    let mut f = 0.0;
    for l in layers {
        match l {
            LayerSpec::Dense(units, _) => {
                let fan_in = *shape.last().unwrap_or(&1);
                let rows: usize = shape[..shape.len().saturating_sub(1)].iter().product();
                f += 2.0 * (rows * fan_in * units) as f64;
                *shape.last_mut().expect("a shape") = *units;
            }
            LayerSpec::Conv2D(filters, k, _) => {
                let (h, w, c) = (shape[0] + 1 - k, shape[1] + 1 - k, shape[2]);
                f += 2.0 * (h * w * filters * k * k * c) as f64;
                shape = vec![h, w, *filters];
            }
            LayerSpec::MaxPool2D(p) => shape = vec![shape[0] / p, shape[1] / p, shape[2]],
            LayerSpec::Flatten => shape = vec![shape.iter().product()],
            LayerSpec::Dropout(_) => {}
            LayerSpec::Lstm(units) => {
                let (steps, features) = (shape[0], shape[1]);
                f += 2.0 * (steps * (features + units) * 4 * units) as f64;
                shape = vec![*units];
            }
        }
    }
    f
}

/// The model as a user writes it: `Sequential::new(vec![Conv2D::new(..).into(), ..])`.
fn model(input: &[usize], layers: &[LayerSpec]) -> kerust::Result<Sequential> {
    let mut list: Vec<Box<dyn Layer>> = vec![Input::new(input).into()];
    for l in layers {
        list.push(match l {
            LayerSpec::Dense(units, act) => Dense::new(*units).activation(act.as_str()).into(),
            LayerSpec::Conv2D(filters, k, act) => Conv2D::new(*filters, (*k, *k))
                .activation(act.as_str())
                .into(),
            LayerSpec::MaxPool2D(p) => MaxPooling2D::new((*p, *p)).into(),
            LayerSpec::Flatten => Flatten::new().into(),
            LayerSpec::Dropout(rate) => Dropout::new(*rate).into(),
            LayerSpec::Lstm(units) => LSTM::new(*units).into(),
        });
    }
    Sequential::new(list)
}

/// Uniform [0, 1) float32 inputs, `n x input...`.
fn random_x(rng: &mut kerust::Rng, n: usize, input: &[usize]) -> ArrayD<f32> {
    let mut shape = vec![n];
    shape.extend_from_slice(input);
    ArrayD::from_shape_fn(IxDyn(&shape), |_| rng.uniform())
}

fn train(spec: &Value, size: &str) -> AnyResult<Value> {
    let input = input_shape(spec)?;
    let layers = layers(spec)?;
    let classes = classes(&layers)?;
    let n = num(sized(&spec["samples"], size), "samples")?;
    let batch = num(&spec["batch"], "batch")?;
    let epochs = num(&spec["epochs"], "epochs")?;
    let lr = spec["lr"].as_f64().ok_or("lr")? as f32;

    let mut rng = kerust::Rng::new(1);
    let x = random_x(&mut rng, n, &input);
    let y = Array1::from_shape_fn(n, |_| rng.below(classes) as u8);

    kerust::set_random_seed(0);
    let mut m = model(&input, &layers)?;
    let optimizer = match spec["optimizer"].as_str() {
        Some("adam") => Adam::new(lr),
        Some("sgd") => SGD::new(lr),
        o => return Err(format!("unknown optimizer {o:?}").into()),
    };
    m.compile(optimizer, "sparse_categorical_crossentropy", ["accuracy"])?;
    let options = |epochs| FitOptions {
        batch_size: batch,
        epochs,
        verbose: 0,
        shuffle: true,
        ..Default::default()
    };

    // Warm-up: about ten batches, with the same last partial batch as the timed run.
    let warm = (10 * batch + n % batch).min(n);
    m.fit(
        &x.slice_axis(Axis(0), (0..warm).into()),
        &y.slice(s![..warm]),
        options(1),
    )?;

    let t = Instant::now();
    let history = m.fit(&x, &y, options(epochs))?;
    let seconds = t.elapsed().as_secs_f64();

    let loss = history
        .get("loss")
        .and_then(|l| l.last().copied())
        .unwrap_or(f32::NAN);
    if !loss.is_finite() {
        return Err(format!("training diverged: loss {loss}").into());
    }
    let samples = (n * epochs) as f64;
    Ok(json!({
        "seconds": seconds,
        "samples": n * epochs,
        "steps": n.div_ceil(batch) * epochs,
        "forward_flops": forward_flops(&input, &layers),
        "gflops": 3.0 * forward_flops(&input, &layers) * samples / seconds / 1e9,
        "final_loss": loss,
    }))
}

fn predict(spec: &Value, size: &str) -> AnyResult<Value> {
    let input = input_shape(spec)?;
    let layers = layers(spec)?;
    let classes = classes(&layers)?;
    let batch = num(&spec["batch"], "batch")?;
    let min_seconds = sized(&spec["min_seconds"], size)
        .as_f64()
        .ok_or("min_seconds")?;

    let mut rng = kerust::Rng::new(1);
    let x = random_x(&mut rng, batch, &input);
    kerust::set_random_seed(0);
    let mut m = model(&input, &layers)?;
    for _ in 0..3 {
        m.predict(&x, batch)?;
    }
    let (calls, seconds) = repeat(min_seconds, || {
        let p = m.predict(&x, batch).expect("predict");
        assert_eq!(p.shape(), [batch, classes]);
    });
    Ok(json!({
        "seconds": seconds,
        "calls": calls,
        "samples": batch,
        "gflops": forward_flops(&input, &layers) * batch as f64 / seconds / 1e9,
    }))
}

fn sgemm(spec: &Value, size: &str) -> AnyResult<Value> {
    let n = num(sized(&spec["n"], size), "n")?;
    let min_seconds = sized(&spec["min_seconds"], size)
        .as_f64()
        .ok_or("min_seconds")?;
    let mut rng = kerust::Rng::new(1);
    let a: Vec<f32> = (0..n * n).map(|_| rng.uniform()).collect();
    let b: Vec<f32> = (0..n * n).map(|_| rng.uniform()).collect();
    let mut c = vec![0.0f32; n * n];
    let (calls, seconds) = kerust::kernels::with_training_env(|| {
        kerust::kernels::matmul(&mut c, &a, &b, n, n, n, false);
        repeat(min_seconds, || {
            kerust::kernels::matmul(&mut c, &a, &b, n, n, n, false)
        })
    });
    Ok(json!({
        "seconds": seconds,
        "calls": calls,
        "n": n,
        "gflops": 2.0 * (n as f64).powi(3) / seconds / 1e9,
    }))
}

/// Calls `f` until `min_seconds` have passed (at least 3 calls); returns the number of calls
/// and the mean seconds per call.
fn repeat(min_seconds: f64, mut f: impl FnMut()) -> (usize, f64) {
    let t = Instant::now();
    let mut calls = 0;
    loop {
        f();
        calls += 1;
        let e = t.elapsed().as_secs_f64();
        if calls >= 3 && e >= min_seconds {
            return (calls, e / calls as f64);
        }
    }
}

/// The process's peak resident set size (VmHWM), in bytes; 0 where /proc is missing.
fn peak_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}
