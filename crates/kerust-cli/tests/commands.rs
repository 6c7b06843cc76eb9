//! End-to-end tests of `kerust train --model/--dataset csv:`, `evaluate`, `predict`, `summary`
//! and `fit`, on small data written by the tests and on the Keras-written fixture files.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use kerust::prelude::*;
use ndarray::{Array1, Array3, ArrayD, IxDyn};
use predicates::prelude::*;

/// The folder holding `fashion-mnist/` and `mnist/`: `$KERUST_DATA` if set, else the shared
/// datasets next to the workspace.
fn data_dir() -> PathBuf {
    match std::env::var_os("KERUST_DATA").filter(|v| !v.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/datasets"
        )),
    }
}

fn kerust() -> Command {
    let mut cmd = Command::cargo_bin("kerust").expect("the kerust binary is built");
    cmd.env("KERUST_DATA", data_dir());
    cmd
}

/// The Keras-written files of the library's tests.
fn keras_files() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../kerust/tests/fixtures/keras_files"
    ))
}

/// This crate's own fixtures.
fn fixtures() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures"))
}

/// A fresh folder under the system's temporary folder, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("kerust-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `cmd`, checks it fails with exit code 1 and exactly one `error: ` line on stderr, and
/// returns that line.
fn one_line_error(cmd: &mut Command) -> String {
    let out = cmd.assert().code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "expected one line on stderr:\n{stderr}");
    assert!(lines[0].starts_with("error: "), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    lines[0].to_string()
}

/// The values of the closing `Test accuracy: A` and `Test loss: L` lines, each checked to
/// have exactly 4 decimals.
fn closing_lines(stdout: &[u8]) -> (f64, f64) {
    let text = String::from_utf8_lossy(stdout);
    let lines: Vec<&str> = text.lines().collect();
    let n = lines.len();
    assert!(n >= 2, "{text}");
    let value = |line: &str, prefix: &str| -> f64 {
        let v = line
            .strip_prefix(prefix)
            .unwrap_or_else(|| panic!("expected `{prefix}...`, got `{line}`\n{text}"));
        let decimals = v.split_once('.').map(|(_, d)| d);
        assert!(
            decimals.is_some_and(|d| d.len() == 4 && d.bytes().all(|b| b.is_ascii_digit())),
            "`{line}`: not 4 decimals"
        );
        v.parse().unwrap_or_else(|e| panic!("`{line}`: {e}"))
    };
    (
        value(lines[n - 2], "Test accuracy: "),
        value(lines[n - 1], "Test loss: "),
    )
}

/// The value of the `Test accuracy: ` line (the last two lines checked by [`closing_lines`]).
fn test_accuracy(stdout: &[u8]) -> f64 {
    closing_lines(stdout).0
}

/// The embedded digits as the CLI feeds them: (n, 8, 8) scaled to [0, 1], and the labels.
fn digits() -> (Array3<f32>, Array1<u8>) {
    let (images, labels) = kerust::datasets::digits::load_data().unwrap();
    let max = f32::from(kerust::datasets::digits::MAX_PIXEL);
    (images.mapv(|v| f32::from(v) / max), labels)
}

/// A small model trained for an epoch on the digits, saved (compiled) to `path`.
fn digits_model(path: &Path) {
    kerust::set_random_seed(3);
    let (x, y) = digits();
    let mut m = Sequential::new(vec![
        Flatten::new().input_shape(&[8, 8]).into(),
        Dense::new(16).activation("relu").into(),
        Dense::new(10).activation("softmax").into(),
    ])
    .unwrap();
    m.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
        .unwrap();
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
    m.save(path).unwrap();
}

/// A CSV of 150 rows, 3 well separated classes, 4 features; the label column is `label`,
/// last unless `label_first`.
fn write_blobs_csv(path: &Path, label_first: bool, header: bool) {
    let mut s = String::new();
    if header {
        s.push_str(if label_first {
            "label,f1,f2,f3,f4\n"
        } else {
            "f1,f2,f3,f4,label\n"
        });
    }
    let mut state = 12345u64;
    let mut noise = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as f64 / (1u64 << 31) as f64 - 0.5) * 0.6
    };
    for i in 0..150 {
        let c = i % 3;
        let f = [
            c as f64 + noise(),
            1.0 - c as f64 + noise(),
            (c as f64) * 0.5 + noise(),
            noise(),
        ];
        let feats: Vec<String> = f.iter().map(|v| format!("{v:.3}")).collect();
        if label_first {
            s.push_str(&format!("{c},{}\n", feats.join(",")));
        } else {
            s.push_str(&format!("{},{c}\n", feats.join(",")));
        }
    }
    std::fs::write(path, s).unwrap();
}

/// `(predictions, classes)` of `--format json` output, each float parsed straight to f32.
fn parse_json_output(stdout: &[u8]) -> (Vec<Vec<f32>>, Vec<usize>) {
    let text = String::from_utf8(stdout.to_vec()).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    // Valid JSON, with exactly the two keys.
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let obj = v.as_object().unwrap();
    assert_eq!(obj.len(), 2, "{text}");
    let classes: Vec<usize> = obj["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_u64().unwrap() as usize)
        .collect();
    // The numbers as written (parsing through f64 could round twice).
    let body = text
        .strip_prefix("{\"predictions\": [[")
        .and_then(|t| t.split("]], \"classes\"").next())
        .unwrap();
    let rows: Vec<Vec<f32>> = body
        .split("], [")
        .map(|r| r.split(", ").map(|x| x.parse::<f32>().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), obj["predictions"].as_array().unwrap().len());
    (rows, classes)
}

/// Checks `--format json` output of a softmax model: one class per row, the index of the
/// row's largest probability (the first of equal ones, as numpy's argmax), and every row
/// summing to 1 within 1e-5.
fn check_softmax_json(rows: &[Vec<f32>], classes: &[usize], num_classes: usize) {
    assert_eq!(classes.len(), rows.len());
    for (i, (row, &class)) in rows.iter().zip(classes).enumerate() {
        assert_eq!(row.len(), num_classes, "row {i}");
        assert!(
            row.iter().all(|&p| (0.0..=1.0).contains(&p)),
            "row {i}: {row:?}"
        );
        let argmax = (0..row.len()).fold(0, |b, k| if row[k] > row[b] { k } else { b });
        assert_eq!(class, argmax, "row {i}: {row:?}");
        let sum: f64 = row.iter().map(|&p| f64::from(p)).sum();
        assert!((sum - 1.0).abs() <= 1e-5, "row {i} sums to {sum}");
    }
}

fn bits(a: &ArrayD<f32>) -> Vec<u32> {
    a.iter().map(|v| v.to_bits()).collect()
}

#[test]
fn train_with_a_model_json_written_by_kerust() {
    let dir = TempDir::new("train-json");
    // Compiled with sgd: the spec's compile config is used.
    let mut spec = Sequential::new(vec![
        Flatten::new().input_shape(&[8, 8]).into(),
        Dense::new(32).activation("tanh").into(),
        Dense::new(10).activation("softmax").into(),
    ])
    .unwrap();
    spec.compile("sgd", "sparse_categorical_crossentropy", ["accuracy"])
        .unwrap();
    std::fs::write(dir.join("compiled.json"), spec.to_json().unwrap()).unwrap();
    let out = kerust()
        .args([
            "train",
            "--dataset",
            "digits",
            "--epochs",
            "2",
            "--verbose",
            "0",
        ])
        .args(["--threads", "1", "--model"])
        .arg(dir.join("compiled.json"))
        .arg("--out")
        .arg(dir.join("run"))
        .assert()
        .success()
        .stdout(predicate::str::contains("Total params: 2,410"));
    assert!(test_accuracy(&out.get_output().stdout) > 0.1);
    let saved = kerust::models::load_model(dir.join("run/model.keras")).unwrap();
    assert_eq!(saved.count_params(), 64 * 32 + 32 + 32 * 10 + 10);
    assert_eq!(saved.optimizer().unwrap().class_name(), "SGD");

    // No compile config, no input shape: built for the digits, compiled with --optimizer.
    let bare = Sequential::new(vec![
        Flatten::new().into(),
        Dense::new(10).activation("softmax").into(),
    ])
    .unwrap();
    std::fs::write(dir.join("bare.json"), bare.to_json().unwrap()).unwrap();
    kerust()
        .args([
            "train",
            "--dataset",
            "digits",
            "--epochs",
            "1",
            "--verbose",
            "0",
        ])
        .args(["--optimizer", "rmsprop", "--model"])
        .arg(dir.join("bare.json"))
        .arg("--out")
        .arg(dir.join("bare"))
        .assert()
        .success()
        .stdout(predicate::str::contains("Total params: 650"));
    let saved = kerust::models::load_model(dir.join("bare/model.keras")).unwrap();
    assert_eq!(saved.optimizer().unwrap().class_name(), "RMSprop");
}

#[test]
fn train_with_a_model_json_written_by_keras() {
    let spec = fixtures().join("keras_seed003_config.json");
    // Keras's seed-003 model takes 28 x 28 images: the digits are refused, clearly.
    let line = one_line_error(
        kerust()
            .args(["train", "--dataset", "digits", "--model"])
            .arg(&spec),
    );
    assert!(
        line.contains("(28, 28)") && line.contains("(8, 8)"),
        "{line}"
    );
    // Fashion-MNIST, one epoch on 20% of the training images.
    let out = kerust()
        .args(["train", "--dataset", "fashion-mnist", "--epochs", "1"])
        .args(["--validation-split", "0.8", "--verbose", "0", "--model"])
        .arg(&spec)
        .assert()
        .success()
        .stdout(predicate::str::contains("Total params: 101,770"))
        .stdout(predicate::str::contains("Ankle boot"));
    assert!(test_accuracy(&out.get_output().stdout) > 0.7);
}

#[test]
fn train_and_evaluate_a_csv_file() {
    let dir = TempDir::new("csv");
    let csv = dir.join("blobs.csv");
    write_blobs_csv(&csv, false, true);
    let dataset = format!("csv:{}", csv.display());
    let out = kerust()
        .args([
            "train",
            "--dataset",
            &dataset,
            "--epochs",
            "30",
            "--verbose",
            "0",
        ])
        .args(["--learning-rate", "0.01", "--threads", "1", "--out"])
        .arg(dir.join("run"))
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "Dataset: blobs.csv, 120 training and 30 test rows of 4 features, 3 classes",
        ))
        // Dense 64 relu -> Dense 3 softmax.
        .stdout(predicate::str::contains("Total params: 515"));
    let trained = test_accuracy(&out.get_output().stdout);
    assert!(trained >= 0.9, "blobs test accuracy {trained}");
    // `evaluate` finds the same test rows (same seed), so the same accuracy.
    let out = kerust()
        .arg("evaluate")
        .arg(dir.join("run/model.keras"))
        .args(["--dataset", &dataset])
        .assert()
        .success()
        .stdout(predicate::str::contains("accuracy: "));
    assert_eq!(test_accuracy(&out.get_output().stdout), trained);

    // The label first, by name; and a file with no header, label by index.
    let first = dir.join("first.csv");
    write_blobs_csv(&first, true, true);
    kerust()
        .args([
            "train",
            "--epochs",
            "2",
            "--verbose",
            "0",
            "--label-column",
            "label",
        ])
        .arg("--dataset")
        .arg(format!("csv:{}", first.display()))
        .assert()
        .success()
        .stdout(predicate::str::contains("rows of 4 features, 3 classes"));
    let bare = dir.join("bare.csv");
    write_blobs_csv(&bare, true, false);
    kerust()
        .args([
            "train",
            "--epochs",
            "2",
            "--verbose",
            "0",
            "--label-column",
            "0",
        ])
        .args(["--no-header", "--dataset"])
        .arg(format!("csv:{}", bare.display()))
        .assert()
        .success()
        .stdout(predicate::str::contains("120 training and 30 test rows"));
}

#[test]
fn evaluate_keras_written_keras_and_h5_files() {
    // The figures worked out here from the model's probabilities (which match Keras's to 1e-5,
    // see predict_json_is_bit_identical_to_the_library): the argmax accuracy, and the mean
    // sparse categorical cross-entropy with Keras's clipping to [1e-7, 1 - 1e-7], in f64.
    let (_, (x_test, y_test)) =
        kerust::datasets::fashion_mnist::load_data_from(data_dir()).unwrap();
    let x = x_test.mapv(|v| f32::from(v) / 255.0);
    let mut model = kerust::models::load_model(keras_files().join("seed003.keras")).unwrap();
    let p = model.predict(&x, 32).unwrap();
    let (mut right, mut loss) = (0usize, 0f64);
    for (row, &label) in p.outer_iter().zip(&y_test) {
        let guess = (0..row.len()).fold(0, |b, i| if row[i] > row[b] { i } else { b });
        right += usize::from(guess == usize::from(label));
        let q = f64::from(row[usize::from(label)]).clamp(1e-7, 1.0 - 1e-7);
        loss -= q.ln();
    }
    let n = y_test.len() as f64;
    let (want_acc, want_loss) = (right as f64 / n, loss / n);
    // The model had one epoch on the 60,000 training images (tools/gen_keras_files.py):
    // Keras's own evaluate gives 0.8445 (checked below).
    assert!((0.8..0.9).contains(&want_acc), "{want_acc}");
    assert!((0.3..0.6).contains(&want_loss), "{want_loss}");

    let mut printed = Vec::new();
    for file in ["seed003.keras", "seed003.h5"] {
        let out = kerust()
            .arg("evaluate")
            .arg(keras_files().join(file))
            .args(["--dataset", "fashion-mnist"])
            .assert()
            .success()
            .stdout(predicate::str::contains("313/313"));
        let (acc, loss) = closing_lines(&out.get_output().stdout);
        // Rounded to 4 decimals: within half a unit of the last place (and float32 sums).
        assert!(
            (acc - want_acc).abs() <= 5.1e-5,
            "{file}: accuracy {acc} vs {want_acc}"
        );
        assert!(
            (loss - want_loss).abs() <= 6e-5,
            "{file}: loss {loss} vs {want_loss}"
        );
        printed.push((acc, loss));
    }
    // The same model in two formats, and Keras's figure for it on the 10,000 test images
    // (printed with 4 decimals).
    assert_eq!(printed[0], printed[1]);
    let p: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(keras_files().join("seed003_predictions.json")).unwrap(),
    )
    .unwrap();
    let keras = p["test_set_evaluation"]["accuracy"].as_f64().unwrap();
    assert!(
        (printed[0].0 - keras).abs() <= 0.5e-4 + 1e-7,
        "kerust evaluate {}, Keras {keras}",
        printed[0].0
    );
}

#[test]
fn predict_json_is_bit_identical_to_the_library() {
    let dir = TempDir::new("predict-json");
    let model_path = dir.join("model.keras");
    digits_model(&model_path);
    let (x, _) = digits();
    let x = x.slice(ndarray::s![..7, .., ..]).to_owned().into_dyn();
    kerust::npy::write_npy(dir.join("x.npy"), &x).unwrap();
    let out = kerust()
        .arg("predict")
        .arg(&model_path)
        .arg(dir.join("x.npy"))
        .args(["--format", "json"])
        .assert()
        .success();
    let (rows, classes) = parse_json_output(&out.get_output().stdout);
    let mut model = kerust::models::load_model(&model_path).unwrap();
    let expected = model.predict(&x, 32).unwrap();
    let got = ArrayD::from_shape_vec(IxDyn(&[7, 10]), rows.concat()).unwrap();
    assert_eq!(bits(&got), bits(&expected));
    assert_eq!(classes.len(), 7);
    check_softmax_json(&rows, &classes, 10);
    // Not all the same guess, so the argmax check above compares something.
    assert!(classes.iter().any(|&c| c != classes[0]), "{classes:?}");

    // Keras's own model on the real test images as uint8 (divided by 255, as Keras's
    // generator did).
    let p: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(keras_files().join("seed003_predictions.json")).unwrap(),
    )
    .unwrap();
    let (inputs, _) = seed003_test_images(&p);
    kerust::npy::write_npy(dir.join("seed003_inputs.npy"), &inputs).unwrap();
    let out = kerust()
        .arg("predict")
        .arg(keras_files().join("seed003.keras"))
        .arg(dir.join("seed003_inputs.npy"))
        .args(["--format", "json"])
        .assert()
        .success();
    let (rows, classes) = parse_json_output(&out.get_output().stdout);
    assert_eq!(rows.len(), 20);
    check_softmax_json(&rows, &classes, 10);
    let keras: Vec<f64> = p["predictions"]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let ours = rows.concat();
    assert_eq!(ours.len(), keras.len());
    let max_diff = ours
        .iter()
        .zip(&keras)
        .map(|(&a, &b)| (f64::from(a) - b).abs())
        .fold(0.0, f64::max);
    assert!(max_diff <= 1e-5, "kerust predict vs Keras: {max_diff}");
    let mut model = kerust::models::load_model(keras_files().join("seed003.keras")).unwrap();
    let expected = model
        .predict(&inputs.mapv(|v| f32::from(v) / 255.0), 32)
        .unwrap();
    let got = ArrayD::from_shape_vec(IxDyn(&[20, 10]), ours).unwrap();
    assert_eq!(bits(&got), bits(&expected));
}

#[test]
fn predict_images_and_csv_rows_with_class_names() {
    let dir = TempDir::new("predict-image");
    let model_path = dir.join("model.keras");
    digits_model(&model_path);
    // One digit as an 8 x 8 PNG, as a uint8 .npy and as a CSV row: the same sample.
    let (images, _) = kerust::datasets::digits::load_data().unwrap();
    let pixels: Vec<u8> = images
        .slice(ndarray::s![0, .., ..])
        .iter()
        .map(|&v| (u32::from(v) * 255 / 16) as u8)
        .collect();
    image::GrayImage::from_raw(8, 8, pixels.clone())
        .unwrap()
        .save(dir.join("digit.png"))
        .unwrap();
    kerust::npy::write_npy(
        dir.join("digit.npy"),
        &ArrayD::from_shape_vec(IxDyn(&[8, 8]), pixels.clone()).unwrap(),
    )
    .unwrap();
    let row: Vec<String> = pixels
        .iter()
        .map(|&v| (f32::from(v) / 255.0).to_string())
        .collect();
    std::fs::write(dir.join("digit.csv"), format!("{}\n", row.join(","))).unwrap();
    let mut lines = Vec::new();
    for input in ["digit.png", "digit.npy", "digit.csv"] {
        let out = kerust()
            .arg("predict")
            .arg(&model_path)
            .arg(dir.join(input))
            .args(["--class-names", "mnist"])
            .assert()
            .success();
        let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
        assert_eq!(text.lines().count(), 1, "{text}");
        let (label, rest) = text.trim_end().split_once(": ").unwrap();
        assert!(
            label.ends_with(input) || label.ends_with(&format!("{input}[0]")),
            "{text}"
        );
        assert!(rest.starts_with("class "), "{text}");
        assert!(rest.contains("probabilities ["), "{text}");
        lines.push(rest.to_string());
    }
    assert_eq!(lines[0], lines[1]);
    assert_eq!(lines[1], lines[2]);

    // A larger picture is resized to 8 x 8; class names from a file.
    image::GrayImage::from_fn(32, 24, |x, y| image::Luma([((x * 7 + y * 3) % 256) as u8]))
        .save(dir.join("big.jpg"))
        .unwrap();
    let names: Vec<String> = (0..10).map(|i| format!("digit {i}")).collect();
    std::fs::write(dir.join("names.txt"), names.join("\n")).unwrap();
    kerust()
        .arg("predict")
        .arg(&model_path)
        .arg(dir.join("big.jpg"))
        .arg(dir.join("digit.png"))
        .arg("--invert")
        .arg("--class-names")
        .arg(dir.join("names.txt"))
        .assert()
        .success()
        .stdout(
            predicate::str::contains("(digit ").and(predicate::str::contains("big.jpg: class")),
        );
}

#[test]
fn summary_prints_keras_table() {
    for file in ["seed003.keras", "seed003.h5"] {
        kerust()
            .arg("summary")
            .arg(keras_files().join(file))
            .assert()
            .success()
            .stdout(predicate::str::starts_with("Model: \"sequential\""))
            .stdout(predicate::str::contains("│ dense_1 (Dense)"))
            .stdout(predicate::str::contains(
                " Trainable params: 101,770 (397.54 KB)",
            ));
    }
    kerust()
        .arg("summary")
        .arg(fixtures().join("keras_seed003_config.json"))
        .assert()
        .success()
        .stdout(predicate::str::contains("Total params: 101,770"));
}

/// The real Fashion-MNIST test images Keras's seed-003 fixture was checked on (the first
/// 20 of the test set, read from `$KERUST_DATA` by kerust's IDX loader) and their labels,
/// checked against the pixel sum and labels the generator recorded.
fn seed003_test_images(p: &serde_json::Value) -> (ArrayD<u8>, Vec<i64>) {
    let dir = data_dir().join("fashion-mnist");
    let n = p["test_images"]["first"].as_u64().unwrap() as usize;
    let images = kerust::datasets::idx::read_idx_images(dir.join("t10k-images-idx3-ubyte.gz"))
        .expect("the Fashion-MNIST test images ($KERUST_DATA/fashion-mnist)");
    let labels = kerust::datasets::idx::read_idx_labels(dir.join("t10k-labels-idx1-ubyte.gz"))
        .expect("the Fashion-MNIST test labels ($KERUST_DATA/fashion-mnist)");
    let images = images.slice(ndarray::s![..n, .., ..]).to_owned().into_dyn();
    let labels: Vec<i64> = labels.iter().take(n).map(|&v| i64::from(v)).collect();
    let sum: u64 = images.iter().map(|&v| u64::from(v)).sum();
    assert_eq!(sum, p["test_images_u8_sum"].as_u64().unwrap());
    let want: Vec<i64> = p["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    assert_eq!(labels, want);
    (images, labels)
}

/// Keras's seed-003 inputs as uint8 `.npy` and labels as int64 `.npy`, in `dir`.
fn seed003_npy(dir: &TempDir) -> (Vec<f64>, PathBuf, PathBuf) {
    let p: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(keras_files().join("seed003_predictions.json")).unwrap(),
    )
    .unwrap();
    let (images, labels) = seed003_test_images(&p);
    let (x, y) = (dir.join("x.npy"), dir.join("y.npy"));
    kerust::npy::write_npy(&x, &images).unwrap();
    kerust::npy::write_npy(&y, &Array1::from(labels)).unwrap();
    let after: Vec<f64> = p["predictions_after_continue"]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    (after, x, y)
}

#[test]
fn fit_continues_keras_training_deterministically() {
    let dir = TempDir::new("fit");
    let (keras_after, x, y) = seed003_npy(&dir);
    let fit = |model: &str, out: &Path, extra: &[&str]| {
        kerust()
            .arg("fit")
            .arg(keras_files().join(model))
            .arg("--x")
            .arg(&x)
            .arg("--y")
            .arg(&y)
            .args(["--batch-size", "10", "--verbose", "0", "--threads", "1"])
            .args(extra)
            .arg("--out")
            .arg(out)
            .assert()
            .success()
            .stdout(predicate::str::contains("Saved the model to"));
    };
    // As Keras's generator did: one epoch, batches of 10, no shuffling.
    fit("seed003.keras", &dir.join("keras.keras"), &["--no-shuffle"]);
    fit("seed003.h5", &dir.join("h5.keras"), &["--no-shuffle"]);
    let xs = kerust::npy::read_npy(&x)
        .unwrap()
        .into_array::<u8>()
        .unwrap()
        .mapv(|v| f32::from(v) / 255.0);
    for out in ["keras.keras", "h5.keras"] {
        let mut m = kerust::models::load_model(dir.join(out)).unwrap();
        let pred = m.predict(&xs, 32).unwrap();
        let d = pred
            .iter()
            .zip(&keras_after)
            .map(|(&a, &b)| (f64::from(a) - b).abs())
            .fold(0.0, f64::max);
        assert!(
            d <= 1e-5,
            "{out}: predictions after fit differ from Keras's by {d}"
        );
    }
    // Shuffled with a seed: twice the same weights, bit for bit, and not the original ones.
    fit(
        "seed003.keras",
        &dir.join("a.keras"),
        &["--seed", "7", "--epochs", "2"],
    );
    fit(
        "seed003.keras",
        &dir.join("b.keras"),
        &["--seed", "7", "--epochs", "2"],
    );
    let weights = |p: PathBuf| {
        kerust::models::load_model(p)
            .unwrap()
            .get_weights()
            .iter()
            .flat_map(bits)
            .collect::<Vec<u32>>()
    };
    let a = weights(dir.join("a.keras"));
    assert_eq!(a, weights(dir.join("b.keras")));
    assert_ne!(a, weights(keras_files().join("seed003.keras")));
    let optimizer = kerust::models::load_model(dir.join("a.keras")).unwrap();
    assert_eq!(optimizer.optimizer().unwrap().class_name(), "Adam");
}

#[test]
fn bad_inputs_are_one_error_line() {
    let dir = TempDir::new("errors");
    let model_path = dir.join("model.keras");
    digits_model(&model_path);

    // A missing model file.
    let line = one_line_error(kerust().args(["summary", "/nonexistent/model.keras"]));
    assert!(line.contains("/nonexistent/model.keras"), "{line}");
    one_line_error(kerust().args(["evaluate", "/nonexistent/m.keras", "--dataset", "digits"]));

    // A corrupt model file: random bytes, then a zip that is cut short.
    let mut state = 99u64;
    let junk: Vec<u8> = (0..4096)
        .map(|_| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
            (state >> 56) as u8
        })
        .collect();
    std::fs::write(dir.join("junk.keras"), &junk).unwrap();
    let line = one_line_error(
        kerust()
            .arg("predict")
            .arg(dir.join("junk.keras"))
            .arg(dir.join("x.npy")),
    );
    assert!(line.contains("junk.keras"), "{line}");
    let model_bytes = std::fs::read(&model_path).unwrap();
    std::fs::write(dir.join("cut.keras"), &model_bytes[..model_bytes.len() / 2]).unwrap();
    let line = one_line_error(kerust().arg("summary").arg(dir.join("cut.keras")));
    assert!(line.contains("cut.keras"), "{line}");

    // A .npy of samples of the wrong shape.
    kerust::npy::write_npy(
        dir.join("wrong.npy"),
        &ndarray::Array2::<f32>::zeros((3, 10)),
    )
    .unwrap();
    let line = one_line_error(
        kerust()
            .arg("predict")
            .arg(&model_path)
            .arg(dir.join("wrong.npy")),
    );
    assert!(
        line.contains("(3, 10)") && line.contains("(8, 8)"),
        "{line}"
    );
    let line = one_line_error(
        kerust()
            .arg("fit")
            .arg(&model_path)
            .arg("--x")
            .arg(dir.join("wrong.npy"))
            .arg("--y")
            .arg(dir.join("wrong.npy"))
            .arg("--out")
            .arg(dir.join("o.keras")),
    );
    assert!(line.contains("(n, 8, 8)"), "{line}");

    // An image that is not one.
    std::fs::write(dir.join("broken.png"), b"\x89PNG\r\n\x1a\nnot really").unwrap();
    let line = one_line_error(
        kerust()
            .arg("predict")
            .arg(&model_path)
            .arg(dir.join("broken.png")),
    );
    assert!(line.contains("broken.png"), "{line}");
    let line = one_line_error(
        kerust()
            .arg("predict")
            .arg(&model_path)
            .arg(dir.join("missing.jpg")),
    );
    assert!(line.contains("missing.jpg"), "{line}");

    // A CSV with a non-numeric cell, for train and for predict.
    std::fs::write(dir.join("bad.csv"), "a,b,label\n1,2,0\n3,oops,1\n5,6,0\n").unwrap();
    let line = one_line_error(
        kerust()
            .args(["train", "--dataset"])
            .arg(format!("csv:{}", dir.join("bad.csv").display())),
    );
    assert!(line.contains("line 3") && line.contains("oops"), "{line}");
    std::fs::write(dir.join("bad_rows.csv"), format!("{}x\n", "0,".repeat(63))).unwrap();
    let line = one_line_error(
        kerust()
            .arg("predict")
            .arg(&model_path)
            .arg(dir.join("bad_rows.csv")),
    );
    assert!(line.contains("bad_rows.csv"), "{line}");
    // A label that is not a class id.
    std::fs::write(dir.join("float_label.csv"), "a,label\n1,0\n2,0.5\n").unwrap();
    let line = one_line_error(
        kerust()
            .args(["train", "--dataset"])
            .arg(format!("csv:{}", dir.join("float_label.csv").display())),
    );
    assert!(
        line.contains("0.5") && line.contains("--label-column"),
        "{line}"
    );

    // A model JSON with a layer class kerust does not know.
    let json = std::fs::read_to_string(fixtures().join("keras_seed003_config.json"))
        .unwrap()
        .replacen(
            "\"class_name\": \"Flatten\"",
            "\"class_name\": \"CapsuleLayer\"",
            1,
        );
    std::fs::write(dir.join("capsule.json"), json).unwrap();
    let line = one_line_error(
        kerust()
            .args(["train", "--dataset", "digits", "--model"])
            .arg(dir.join("capsule.json")),
    );
    assert!(
        line.contains("CapsuleLayer")
            && line.contains("unknown layer class")
            && line.contains("capsule.json"),
        "{line}"
    );

    // fit: no compile config; an --out that is not .keras.
    let mut bare = Sequential::new(vec![Dense::new(2)
        .activation("softmax")
        .input_dim(3)
        .into()])
    .unwrap();
    bare.build(&[3]).unwrap();
    bare.save(dir.join("bare.keras")).unwrap();
    kerust::npy::write_npy(dir.join("x3.npy"), &ndarray::Array2::<f32>::zeros((4, 3))).unwrap();
    kerust::npy::write_npy(dir.join("y3.npy"), &ndarray::Array1::<i64>::zeros(4)).unwrap();
    let line = one_line_error(
        kerust()
            .arg("fit")
            .arg(dir.join("bare.keras"))
            .arg("--x")
            .arg(dir.join("x3.npy"))
            .arg("--y")
            .arg(dir.join("y3.npy"))
            .arg("--out")
            .arg(dir.join("o.keras")),
    );
    assert!(line.contains("compile config"), "{line}");
    let line = one_line_error(
        kerust()
            .arg("fit")
            .arg(&model_path)
            .arg("--x")
            .arg(dir.join("x3.npy"))
            .arg("--y")
            .arg(dir.join("y3.npy"))
            .arg("--out")
            .arg(dir.join("o.h5")),
    );
    assert!(line.contains(".keras"), "{line}");
    assert!(!dir.join("o.keras").exists() && !dir.join("o.h5").exists());

    // Unknown class names; an input of an unknown kind.
    one_line_error(
        kerust()
            .arg("predict")
            .arg(&model_path)
            .arg(dir.join("wrong.npy"))
            .args(["--class-names", "cifar"]),
    );
    one_line_error(
        kerust()
            .arg("predict")
            .arg(&model_path)
            .arg(dir.join("x.txt")),
    );
    // Missing arguments.
    one_line_error(kerust().args(["predict"]));
    one_line_error(kerust().args(["fit", "m.keras"]));
}

#[test]
fn every_subcommand_has_help_with_examples() {
    for (cmd, words) in [
        (
            "train",
            &["--model", "csv:PATH", "--label-column", "Examples:"][..],
        ),
        (
            "evaluate",
            &["MODEL", "--dataset", "Test accuracy", "Examples:"],
        ),
        (
            "predict",
            &["grayscale", "255", "--format", "--class-names", "Examples:"],
        ),
        ("summary", &["MODEL", "Examples:"]),
        (
            "fit",
            &[
                "--x",
                "--y",
                "--no-shuffle",
                "--out",
                "compile config",
                "Examples:",
            ],
        ),
        (
            "demo",
            &[
                "--seed",
                "--threads",
                "digits",
                "Examples:",
                "kerust demo --seed",
            ],
        ),
    ] {
        let out = kerust().args([cmd, "--help"]).assert().success();
        let text = String::from_utf8_lossy(&out.get_output().stdout);
        for w in words {
            assert!(text.contains(w), "kerust {cmd} --help lacks {w}:\n{text}");
        }
    }
    kerust().arg("--help").assert().success().stdout(
        predicate::str::contains("evaluate")
            .and(predicate::str::contains("predict"))
            .and(predicate::str::contains("summary"))
            .and(predicate::str::contains("fit")),
    );
}
