//! End-to-end tests of the `kerust` command.

use std::path::PathBuf;

use assert_cmd::Command;
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

/// Checks that stdout ends with `Test accuracy: A` then `Test loss: L` (4 decimals) and
/// returns (A, L).
fn closing_lines(stdout: &[u8]) -> (f64, f64) {
    let text = String::from_utf8_lossy(stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert!(text.ends_with('\n'), "no final newline:\n{text}");
    assert!(lines.len() >= 2, "too little output:\n{text}");
    let (acc_line, loss_line) = (lines[lines.len() - 2], lines[lines.len() - 1]);
    let value = |line: &str, prefix: &str| -> f64 {
        let v = line
            .strip_prefix(prefix)
            .unwrap_or_else(|| panic!("expected `{prefix}...`, got `{line}`\n{text}"));
        assert_eq!(v.split('.').nth(1).map(str::len), Some(4), "{line}");
        v.parse().unwrap_or_else(|e| panic!("{line}: {e}"))
    };
    (
        value(acc_line, "Test accuracy: "),
        value(loss_line, "Test loss: "),
    )
}

/// A fresh, empty folder under the system's temporary folder.
fn fresh_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kerust-cli-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Every file and folder under `dir`.
fn tree(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(tree(&path));
        }
        out.push(path);
    }
    out
}

/// `kerust` with none of the dataset variables, `HOME` an empty folder, and a working
/// directory of its own: no dataset can be found anywhere.
fn kerust_without_data(home: &std::path::Path, cwd: &std::path::Path) -> Command {
    let mut cmd = Command::cargo_bin("kerust").expect("the kerust binary is built");
    for var in ["KERUST_DATA", "KERUST_CACHE", "USERPROFILE"] {
        cmd.env_remove(var);
    }
    // Were anything downloaded, it would be from a closed port on this machine.
    cmd.env("KERUST_DATA_URL", "http://127.0.0.1:9")
        .env("HOME", home)
        .current_dir(cwd);
    cmd
}

#[test]
fn demo_reaches_95_percent() {
    // No files needed: no KERUST_DATA, an empty home folder, and nothing written to either.
    let home = fresh_dir("demo-home");
    let cwd = fresh_dir("demo-cwd");
    let out = kerust_without_data(&home, &cwd)
        .arg("demo")
        .assert()
        .success();
    assert!(tree(&home).is_empty(), "demo wrote {:?}", tree(&home));
    assert!(tree(&cwd).is_empty(), "demo wrote {:?}", tree(&cwd));
    // The same environment cannot find MNIST: the demo really ran without dataset files.
    kerust_without_data(&home, &cwd)
        .args(["train", "--dataset", "mnist", "--epochs", "1"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("MNIST dataset files not found"));
    std::fs::remove_dir_all(&home).unwrap();
    std::fs::remove_dir_all(&cwd).unwrap();
    let stdout = &out.get_output().stdout;
    let text = String::from_utf8_lossy(stdout);
    assert!(text.contains("Total params: 4,810"), "{text}");
    assert!(text.contains("val_accuracy"), "{text}");
    assert!(text.contains("Confusion matrix"), "{text}");
    let (acc, loss) = closing_lines(stdout);
    assert!(acc >= 0.95, "demo test accuracy {acc}");
    assert!(loss > 0.0 && loss < 0.5, "demo test loss {loss}");
}

/// The `name: value` pairs of a Keras progress line (`38/38 - 0s - ... - accuracy: 0.26 - ...`).
fn logged_values(line: &str) -> Vec<(String, f64)> {
    line.split(" - ")
        .filter_map(|part| part.split_once(": "))
        .map(|(k, v)| (k.trim().to_string(), v.trim().parse().unwrap()))
        .collect()
}

#[test]
fn train_digits_five_epochs_writes_history() {
    let out_dir = std::env::temp_dir().join(format!("kerust-cli-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out_dir);
    let nested = out_dir.join("run");
    let out = kerust()
        .args([
            "train",
            "--dataset",
            "digits",
            "--epochs",
            "5",
            "--verbose",
            "2",
            "--seed",
            "7",
        ])
        .args(["--validation-split", "0.1", "--threads", "1", "--out"])
        .arg(&nested)
        .assert()
        .success()
        .stdout(predicate::str::contains("Epoch 5/5"))
        .stdout(predicate::str::contains("Classification report"));
    let stdout = out.get_output().stdout.clone();
    let (acc, loss) = closing_lines(&stdout);
    assert!(acc > 0.7, "digits after 5 epochs: {acc}");
    let text = String::from_utf8_lossy(&stdout);

    // history.csv: Keras's CSVLogger columns, one row per epoch holding the logged figures.
    let csv = std::fs::read_to_string(nested.join("history.csv")).expect("history.csv written");
    let lines: Vec<&str> = csv.lines().collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    assert_eq!(
        header,
        ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"],
        "{csv}"
    );
    assert_eq!(lines.len(), 1 + 5, "{csv}");
    // The progress lines of verbose 2, one per epoch, after each `Epoch e/5`.
    let logged: Vec<Vec<(String, f64)>> = text
        .lines()
        .zip(text.lines().skip(1))
        .filter(|(a, _)| a.starts_with("Epoch ") && a.ends_with("/5"))
        .map(|(_, b)| logged_values(b))
        .collect();
    assert_eq!(logged.len(), 5, "{text}");
    for (e, (row, log)) in lines[1..].iter().zip(&logged).enumerate() {
        let cells: Vec<&str> = row.split(',').collect();
        assert_eq!(cells.len(), header.len(), "row {e}: {row}");
        assert_eq!(cells[0], e.to_string(), "row {e}: {row}");
        for (name, cell) in header[1..].iter().zip(&cells[1..]) {
            let v: f64 = cell.parse().unwrap_or_else(|err| panic!("{row}: {err}"));
            assert!(v.is_finite() && v >= 0.0, "{name} = {v} in {row}");
            if name.ends_with("accuracy") {
                assert!(v <= 1.0, "{name} = {v} in {row}");
            }
            // The progress line shows the same figure to 4 decimals.
            let shown = log
                .iter()
                .find(|(k, _)| k == name)
                .unwrap_or_else(|| panic!("epoch {e} logged no {name}: {log:?}"))
                .1;
            assert!((v - shown).abs() <= 5e-5 + 1e-9, "{name}: {v} vs {shown}");
        }
    }

    // model.keras loads and predicts the CLI's own test split (seed 7, 25%, stratified) with
    // the printed test accuracy.
    let mut model =
        kerust::models::load_model(nested.join("model.keras")).expect("model.keras loads");
    assert_eq!(model.count_params(), 64 * 64 + 64 + 64 * 10 + 10);
    let (images, labels) = kerust::datasets::digits::load_data().unwrap();
    let (_, x_test, _, y_test) =
        kerust::preprocessing::train_test_split(&images, &labels, 0.25, 7, true).unwrap();
    let max = f32::from(kerust::datasets::digits::MAX_PIXEL);
    let x_test = x_test.mapv(|v| f32::from(v) / max);
    let p = model.predict(&x_test, 32).expect("model.keras predicts");
    assert_eq!(p.shape(), [450, 10]);
    let mut right = 0;
    for (row, &label) in p.outer_iter().zip(&y_test) {
        let sum: f32 = row.sum();
        assert!((sum - 1.0).abs() < 1e-5, "softmax row sums to {sum}");
        let guess = (0..10).fold(0, |b, i| if row[i] > row[b] { i } else { b });
        right += usize::from(guess == usize::from(label));
    }
    let reloaded = right as f64 / 450.0;
    assert!(
        (reloaded - acc).abs() <= 5e-5,
        "{reloaded} vs printed {acc}"
    );
    let loss_back = model
        .evaluate(&x_test, &y_test.mapv(u32::from), 32, 0)
        .unwrap()
        .loss();
    assert!(
        (f64::from(loss_back) - loss).abs() <= 5e-5,
        "{loss_back} vs {loss}"
    );

    // Each picture decodes, at the size of its layout: two panels of 1000 x 400 side by side
    // (loss and accuracy); 10 classes named 0-9 (the confusion matrix's two-digit tick
    // labels 14 px wide); 24 images in 8 columns of 158 px and 3 rows of 150 px under a 34 px
    // heading, with 16 px margins.
    for (picture, size) in [
        ("history.png", (1000, 400)),
        (
            "confusion_matrix.png",
            (
                16 + 15 + 12 + 8 + 8 + 560 + 22 + 18 + 6 + 14 + 16,
                16 + 19 + 18 + 560 + 8 + 13 + 12 + 15 + 16,
            ),
        ),
        ("samples.png", (8 * 158 + 32, 34 + 3 * 150 + 32)),
    ] {
        let img = image::open(nested.join(picture))
            .unwrap_or_else(|e| panic!("{picture} does not decode: {e}"));
        assert_eq!((img.width(), img.height()), size, "{picture}");
        let rgb = img.to_rgb8();
        let first = rgb.get_pixel(0, 0);
        assert!(
            rgb.pixels().filter(|p| *p != first).count() > 1000,
            "{picture} is (nearly) one flat colour"
        );
    }
    std::fs::remove_dir_all(&out_dir).unwrap();
}

#[test]
fn train_fashion_mnist_one_epoch() {
    let out = kerust()
        .args(["train", "--dataset", "fashion-mnist", "--epochs", "1"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Ankle boot"));
    let (acc, _) = closing_lines(&out.get_output().stdout);
    assert!(acc > 0.80, "Fashion-MNIST after 1 epoch: {acc}");
}

/// The README's main command: the seed-003 tutorial, 10 epochs on Fashion-MNIST.
#[test]
fn default_train_reaches_tutorial_accuracy() {
    let out = kerust().arg("train").assert().success();
    let stdout = &out.get_output().stdout;
    let text = String::from_utf8_lossy(stdout);
    assert!(text.contains("Epoch 10/10"), "{text}");
    assert!(text.contains("Total params: 101,770"), "{text}");
    let (acc, loss) = closing_lines(stdout);
    assert!(acc >= 0.875, "default train test accuracy {acc}");
    assert!(loss < 0.4, "default train test loss {loss}");
}

#[test]
fn unknown_optimizer_is_one_error_line() {
    let out = kerust()
        .args(["train", "--dataset", "digits", "--optimizer", "adamm"])
        .assert()
        .code(1)
        .stdout(predicate::str::is_empty());
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].starts_with("error:"), "{stderr}");
    assert!(
        lines[0].contains("adamm") && lines[0].contains("adam,"),
        "{stderr}"
    );
}

#[test]
fn missing_data_dir_says_where_it_looked() {
    kerust()
        .args(["train", "--data-dir", "/nonexistent"])
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with("error:"))
        .stderr(predicate::str::contains("/nonexistent"))
        .stderr(predicate::str::contains("t10k-images-idx3-ubyte.gz"))
        .stderr(predicate::str::contains("panicked").not());
}

/// Writes MNIST's four files into `dir` as plain (uncompressed) IDX, which the loader also
/// reads: `n_train` training and 2 test images of 28 x 28 pixels.
fn write_fake_mnist(dir: &std::path::Path, n_train: u32) {
    std::fs::create_dir_all(dir).unwrap();
    let header =
        |words: &[u32]| -> Vec<u8> { words.iter().flat_map(|w| w.to_be_bytes()).collect() };
    let images = |n: u32| {
        let mut b = header(&[2051, n, 28, 28]);
        b.extend((0..n * 28 * 28).map(|i| (i % 251) as u8));
        b
    };
    let labels = |n: u32| {
        let mut b = header(&[2049, n]);
        b.extend((0..n).map(|i| (i % 10) as u8));
        b
    };
    let files = [
        ("train-images-idx3-ubyte.gz", images(n_train)),
        ("train-labels-idx1-ubyte.gz", labels(n_train)),
        ("t10k-images-idx3-ubyte.gz", images(2)),
        ("t10k-labels-idx1-ubyte.gz", labels(2)),
    ];
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

#[test]
fn data_dir_wins_over_kerust_data_and_the_cache() {
    let home = fresh_dir("order-home");
    let cwd = fresh_dir("order-cwd");
    let env_data = fresh_dir("order-env");
    let given = fresh_dir("order-given");
    write_fake_mnist(&home.join(".kerust/datasets/mnist"), 30);
    write_fake_mnist(&env_data.join("mnist"), 20);
    write_fake_mnist(&given.join("mnist"), 10);
    let train = |data_dir: Option<&PathBuf>, kerust_data: bool| {
        let mut cmd = kerust_without_data(&home, &cwd);
        cmd.args([
            "train",
            "--dataset",
            "mnist",
            "--epochs",
            "1",
            "--verbose",
            "0",
        ]);
        if let Some(d) = data_dir {
            cmd.arg("--data-dir").arg(d);
        }
        if kerust_data {
            cmd.env("KERUST_DATA", &env_data);
        }
        let out = cmd.assert().success();
        let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
        text.lines()
            .find(|l| l.starts_with("Dataset: "))
            .unwrap_or_else(|| panic!("no Dataset line:\n{text}"))
            .to_string()
    };
    let line = |n| format!("Dataset: MNIST, {n} training and 2 test images of 28 x 28 pixels");
    // --data-dir over KERUST_DATA over the cache (~/.kerust/datasets/mnist).
    assert_eq!(train(Some(&given), true), line(10));
    assert_eq!(train(None, true), line(20));
    assert_eq!(train(None, false), line(30));
    for d in [home, cwd, env_data, given] {
        std::fs::remove_dir_all(d).unwrap();
    }
}

#[test]
fn missing_dataset_names_kerust_data() {
    Command::cargo_bin("kerust")
        .unwrap()
        .args(["train", "--dataset", "mnist"])
        .env("KERUST_DATA", "/nonexistent-kerust-data")
        .env("HOME", "/nonexistent-home")
        .env_remove("KERUST_CACHE")
        // The download is tried against a closed port on this machine, never the internet.
        .env("KERUST_DATA_URL", "http://127.0.0.1:9")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("\nerror: "))
        .stderr(predicate::str::contains("127.0.0.1:9"))
        .stderr(predicate::str::contains("KERUST_DATA"))
        .stderr(predicate::str::contains("/nonexistent-kerust-data/mnist"));
}

#[test]
fn bad_arguments_are_one_error_line() {
    for args in [
        &["train", "--epochs", "abc"][..],
        &["train", "--epochs", "0"],
        &["train", "--verbose", "3"],
        &["train", "--dataset", "cifar"],
        &["train", "--learning-rate", "-1"],
        &["train", "--epoch", "3"],
        &["fly"],
        &[],
    ] {
        let out = kerust().args(args).assert().code(1);
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
    }
    kerust()
        .args(["train", "--epochs", "abc"])
        .assert()
        .stderr(predicate::str::contains("--epochs"));
    kerust()
        .args(["train", "--dataset", "digits", "--validation-split", "1.5"])
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with("error:").and(predicate::str::contains("validation")));
}

#[test]
fn help_works() {
    kerust()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("train").and(predicate::str::contains("demo")));
    kerust()
        .args(["train", "--help"])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("--dataset")
                .and(predicate::str::contains("fashion-mnist"))
                .and(predicate::str::contains("--learning-rate"))
                .and(predicate::str::contains("KERUST_DATA")),
        );
    kerust()
        .args(["demo", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("digits"));
    kerust()
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::contains("kerust"));
}

#[test]
fn a_reader_that_goes_away_ends_the_command_quietly() {
    // `kerust demo | head -1`: once the pipe's reader is gone, printing fails; the command
    // stops with code 141 (as if killed by SIGPIPE) and says nothing on stderr.
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("kerust"))
        .arg("demo")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kerust starts");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("piped"))
        .read_line(&mut first)
        .expect("a first line");
    assert!(!first.is_empty());
    let out = child.wait_with_output().expect("kerust ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(141), "stderr: {stderr}");
    assert!(stderr.is_empty(), "stderr: {stderr}");
}
