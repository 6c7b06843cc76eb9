//! Smoke test of the benchmark suite, so that it cannot rot: every workload of
//! `bench/workloads.json` runs in `kerust-bench` at the tiny size, and, where a `python3` is
//! found, the runner `bench/run.py` runs the kerust side end to end (no peers: CI has no
//! bench venv) and writes its report. Benchmarks are not tests: no time is checked here.

use serde_json::Value;
use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_kerust-bench");

fn kerust_bench(args: &[&str]) -> Value {
    let out = Command::new(BIN)
        .args(args)
        .output()
        .expect("run kerust-bench");
    assert!(
        out.status.success(),
        "kerust-bench {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("{e}: {text:?}"))
}

#[test]
fn every_workload_runs_at_the_tiny_size_and_prints_one_json_line() {
    let names = kerust_bench(&["--list"]);
    let names: Vec<&str> = names
        .as_array()
        .expect("a list")
        .iter()
        .map(|v| v.as_str().expect("a name"))
        .collect();
    for w in [
        "W1", "W2", "W3", "W4", "P1", "P1000", "SGEMM", "CNN", "LSTM",
    ] {
        assert!(names.contains(&w), "{w} missing from {names:?}");
    }
    for w in &names {
        for threads in ["1", "2"] {
            let r = kerust_bench(&[w, "--threads", threads, "--size", "tiny"]);
            assert_eq!(r["system"], "kerust");
            assert_eq!(r["workload"], *w);
            assert_eq!(r["threads"].to_string(), threads);
            assert_eq!(r["threads_seen"].to_string(), threads);
            for field in ["seconds", "gflops"] {
                let v = r[field].as_f64().unwrap_or(-1.0);
                assert!(v > 0.0 && v.is_finite(), "{w}: {field} = {}", r[field]);
            }
            assert!(r["peak_rss_bytes"].as_u64().is_some(), "{w}: {r}");
            if r.get("final_loss").is_some() {
                assert!(r["final_loss"].as_f64().is_some_and(f64::is_finite), "{r}");
            }
        }
    }
}

#[test]
fn the_flops_of_the_cnn_and_the_lstm_are_counted_by_hand() {
    // CNN: Conv2D 26*26 outputs x 32 filters x 3*3*1 taps, Conv2D 11*11 x 64 x 3*3*32, Dense
    // 1600 -> 128, Dense 128 -> 10; 2 FLOPs per multiply-add.
    let cnn = 2 * (26 * 26 * 32 * 9 + 11 * 11 * 64 * 9 * 32 + 1600 * 128 + 128 * 10);
    // LSTM: 28 steps of the four gates' kernels, (28 inputs + 128 state) x 4*128, then Dense.
    let lstm = 2 * (28 * (28 + 128) * 4 * 128 + 128 * 10);
    for (w, flops) in [
        ("CNN", cnn),
        ("LSTM", lstm),
        ("W1", 2 * (784 * 128 + 128 * 10)),
    ] {
        let r = kerust_bench(&[w, "--size", "tiny"]);
        assert_eq!(r["forward_flops"].as_f64(), Some(flops as f64), "{w}: {r}");
    }
}

#[test]
fn bad_arguments_are_refused() {
    for args in [
        &["W9"][..],
        &["W1", "--size", "huge"],
        &["W1", "--threads", "0"],
        &[],
    ] {
        let out = Command::new(BIN).args(args).output().expect("run");
        assert!(!out.status.success(), "{args:?} was accepted");
    }
}

#[test]
fn the_runner_writes_its_report_at_the_tiny_size() {
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("no python3 here: the runner's own smoke run is skipped");
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::temp_dir().join(format!("kerust-bench-smoke-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (md, json) = (dir.join("BENCHMARKS.md"), dir.join("results.json"));
    let out = Command::new("python3")
        .arg(root.join("run.py"))
        .args(["--size", "tiny", "--systems", "kerust", "--reps", "1"])
        .args(["--warmup", "0", "--threads", "1,2", "--no-build"])
        .arg("--kerust-bin")
        .arg(BIN)
        .arg("--out")
        .arg(&md)
        .arg("--json")
        .arg(&json)
        .output()
        .expect("run python3 bench/run.py");
    assert!(
        out.status.success(),
        "bench/run.py failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = std::fs::read_to_string(&md).expect("the report");
    for needle in [
        "### Targets",
        "| W1 | 1 |",
        "| SGEMM | 2 |",
        "| CNN | 1 |",
        "| LSTM | 2 |",
        "CNN, 1 thread(s): kerust no slower than PyTorch",
        "LSTM, 2 thread(s): kerust ≤ 1/2 of Keras",
        "### Memory",
    ] {
        assert!(report.contains(needle), "{needle:?} missing:\n{report}");
    }
    let raw: Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("json")).expect("parses");
    let results = raw["results"].as_array().expect("results");
    assert_eq!(results.len(), 9 * 2, "9 workloads x 2 thread counts");
    assert!(results.iter().all(|r| r["seconds"].as_f64().is_some()));
    let _ = std::fs::remove_dir_all(&dir);
}
