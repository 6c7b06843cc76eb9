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

#[test]
fn demo_reaches_95_percent() {
    let out = kerust().arg("demo").assert().success();
    let stdout = &out.get_output().stdout;
    let text = String::from_utf8_lossy(stdout);
    assert!(text.contains("Total params: 4,810"), "{text}");
    assert!(text.contains("val_accuracy"), "{text}");
    assert!(text.contains("Confusion matrix"), "{text}");
    let (acc, loss) = closing_lines(stdout);
    assert!(acc >= 0.95, "demo test accuracy {acc}");
    assert!(loss > 0.0 && loss < 0.5, "demo test loss {loss}");
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
        ])
        .args(["--validation-split", "0.1", "--threads", "1", "--out"])
        .arg(&nested)
        .assert()
        .success()
        .stdout(predicate::str::contains("Epoch 5/5"))
        .stdout(predicate::str::contains("Classification report"));
    let (acc, _) = closing_lines(&out.get_output().stdout);
    assert!(acc > 0.7, "digits after 5 epochs: {acc}");
    let csv = std::fs::read_to_string(nested.join("history.csv")).expect("history.csv written");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "epoch,accuracy,loss,val_accuracy,val_loss");
    assert_eq!(lines.len(), 6, "{csv}");
    assert!(lines[5].starts_with("4,"), "{csv}");
    let model = kerust::models::load_model(nested.join("model.keras")).expect("model.keras loads");
    assert_eq!(model.count_params(), 64 * 64 + 64 + 64 * 10 + 10);
    for picture in ["history.png", "confusion_matrix.png", "samples.png"] {
        let bytes = std::fs::read(nested.join(picture)).expect(picture);
        // A PNG signature and an IHDR chunk with a non-trivial size.
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{picture}");
        let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
        let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
        assert!(width >= 300 && height >= 200, "{picture}: {width}x{height}");
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
