//! The training loop's contract: determinism, Keras's validation split, weights, callbacks.

use kerust::callbacks::{
    CSVLogger, Callback, EarlyStopping, LambdaCallback, LearningRateScheduler, Logs,
    ReduceLROnPlateau, TerminateOnNaN,
};
use kerust::layers::{Dense, Dropout};
use kerust::models::{FitOptions, Sequential};
use kerust::optimizers::{Adam, SGD};
use ndarray::{s, Array1, Array2};
use std::cell::Cell;

/// A separable three-class problem.
fn blobs(n: usize, seed: u64) -> (Array2<f32>, Array1<u8>) {
    let mut rng = kerust::Rng::new(seed);
    let y = Array1::from_shape_fn(n, |i| (i % 3) as u8);
    let x = Array2::from_shape_fn((n, 4), |(i, j)| {
        (if j == (i % 3) { 2.0 } else { 0.0 }) + rng.uniform_range(-0.7, 0.7)
    });
    (x, y)
}

fn model(seed: u64) -> Sequential {
    let mut m = Sequential::empty();
    m.set_seed(seed);
    m.add(Dense::new(16).activation("relu").input_dim(4))
        .unwrap();
    m.add(Dropout::new(0.3)).unwrap();
    m.add(Dense::new(3).activation("softmax")).unwrap();
    m.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
        .unwrap();
    m
}

fn quiet(epochs: usize) -> FitOptions<'static> {
    FitOptions {
        epochs,
        verbose: 0,
        batch_size: 16,
        ..Default::default()
    }
}

#[test]
fn same_seed_same_weights_bit_for_bit() {
    let (x, y) = blobs(120, 1);
    let run = |seed| {
        let mut m = model(seed);
        let h = m.fit(&x, &y, quiet(3)).unwrap();
        (m.get_weights(), h.get("loss").unwrap().to_vec())
    };
    let (w1, l1) = run(7);
    let (w2, l2) = run(7);
    let (w3, _) = run(8);
    assert_eq!(w1, w2);
    assert_eq!(
        l1.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        l2.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
    );
    assert_ne!(w1, w3);
}

#[test]
fn training_learns_and_history_has_keras_keys() {
    let (x, y) = blobs(300, 2);
    let mut m = model(3);
    let h = m
        .fit(
            &x,
            &y,
            FitOptions {
                validation_split: 0.2,
                ..quiet(15)
            },
        )
        .unwrap();
    let keys: Vec<&String> = h.history.keys().collect();
    assert_eq!(keys, ["accuracy", "loss", "val_accuracy", "val_loss"]);
    assert_eq!(h.epoch, (0..15).collect::<Vec<_>>());
    assert_eq!(h.params.steps, 15); // 240 training samples / 16
    let loss = h.get("loss").unwrap();
    assert!(loss[14] < loss[0] * 0.5, "loss should fall: {loss:?}");
    assert!(h.get("val_accuracy").unwrap()[14] > 0.95);
}

#[test]
fn validation_split_holds_out_the_last_samples_before_shuffling() {
    let (x, y) = blobs(100, 4);
    let mut m = model(5);
    // With a learning rate of 0 the weights never move, so val_loss must equal the loss of
    // the last 20 samples evaluated directly.
    m.compile(
        SGD::new(0.0),
        "sparse_categorical_crossentropy",
        ["accuracy"],
    )
    .unwrap();
    let h = m
        .fit(
            &x,
            &y,
            FitOptions {
                validation_split: 0.2,
                ..quiet(1)
            },
        )
        .unwrap();
    let tail = m
        .evaluate(&x.slice(s![80.., ..]), &y.slice(s![80..]), 32, 0)
        .unwrap();
    assert_eq!(h.get("val_loss").unwrap()[0], tail.loss());
    let head = m
        .evaluate(&x.slice(s![..80, ..]), &y.slice(s![..80]), 32, 0)
        .unwrap();
    assert_ne!(h.get("val_loss").unwrap()[0], head.loss());
}

#[test]
fn class_weight_equals_the_matching_sample_weight() {
    let (x, y) = blobs(60, 6);
    let cw: std::collections::HashMap<usize, f32> = [(0, 2.0), (1, 0.5)].into_iter().collect();
    let sw: Vec<f32> = y
        .iter()
        .map(|&c| *cw.get(&(c as usize)).unwrap_or(&1.0))
        .collect();
    let mut a = model(9);
    let mut b = model(9);
    let ha = a
        .fit(
            &x,
            &y,
            FitOptions {
                class_weight: Some(cw),
                shuffle: false,
                ..quiet(2)
            },
        )
        .unwrap();
    let hb = b
        .fit(
            &x,
            &y,
            FitOptions {
                sample_weight: Some(sw),
                shuffle: false,
                ..quiet(2)
            },
        )
        .unwrap();
    assert_eq!(ha.history, hb.history);
    let mut c = model(9);
    let hc = c
        .fit(
            &x,
            &y,
            FitOptions {
                shuffle: false,
                ..quiet(2)
            },
        )
        .unwrap();
    assert_ne!(ha.get("loss"), hc.get("loss"));
}

#[test]
fn early_stopping_stops_and_restores_the_best_weights() {
    let (x, y) = blobs(90, 7);
    let mut m = model(1);
    // A huge learning rate makes the loss bounce, so patience runs out quickly.
    m.compile(SGD::new(50.0), "sparse_categorical_crossentropy", ())
        .unwrap();
    let mut stop = EarlyStopping::new("loss")
        .patience(1)
        .restore_best_weights(true);
    let h = m
        .fit(
            &x,
            &y,
            FitOptions {
                callbacks: vec![&mut stop],
                ..quiet(50)
            },
        )
        .unwrap();
    let losses = h.get("loss").unwrap();
    assert!(losses.len() < 50, "should stop early: {losses:?}");
    let e = stop.stopped_epoch.expect("stopped");
    assert_eq!(e + 1, losses.len());
    let min = losses.iter().cloned().fold(f32::INFINITY, f32::min);
    assert_eq!(losses[stop.best_epoch], min);
}

#[test]
fn learning_rate_callbacks_change_the_optimizer() {
    let (x, y) = blobs(30, 8);
    let mut m = model(2);
    m.compile(Adam::new(0.01), "sparse_categorical_crossentropy", ())
        .unwrap();
    let mut sched = LearningRateScheduler::new(|epoch, lr| if epoch >= 2 { lr * 0.5 } else { lr });
    m.fit(
        &x,
        &y,
        FitOptions {
            callbacks: vec![&mut sched],
            ..quiet(4)
        },
    )
    .unwrap();
    assert!((m.optimizer().unwrap().learning_rate_now() - 0.0025).abs() < 1e-9);

    // With a negligible rate the loss never improves, so the plateau callback must cut it.
    let mut m = model(2);
    let mut plateau = ReduceLROnPlateau::new("loss")
        .patience(1)
        .factor(0.5)
        .min_lr(0.0);
    m.compile(SGD::new(1e-12), "sparse_categorical_crossentropy", ())
        .unwrap();
    m.fit(
        &x,
        &y,
        FitOptions {
            callbacks: vec![&mut plateau],
            shuffle: false,
            ..quiet(4)
        },
    )
    .unwrap();
    let lr = m.optimizer().unwrap().learning_rate_now();
    assert!(
        lr < 1e-12 * 0.6,
        "learning rate should have been reduced, is {lr}"
    );
}

#[test]
fn terminate_on_nan_stops_at_the_first_bad_batch() {
    let (x, y) = blobs(64, 9);
    let mut m = Sequential::new(vec![Dense::new(1).input_dim(4).into()]).unwrap();
    m.compile(SGD::new(1e30), "mse", ()).unwrap();
    let yf = y.mapv(|v| v as f32 * 1e20);
    let batches = Cell::new(0);
    let mut count = LambdaCallback {
        on_batch_end: Some(Box::new(|_, _| batches.set(batches.get() + 1))),
        ..Default::default()
    };
    let mut nan = TerminateOnNaN;
    let h = m
        .fit(
            &x,
            &yf,
            FitOptions {
                callbacks: vec![&mut nan, &mut count],
                batch_size: 4,
                ..quiet(5)
            },
        )
        .unwrap();
    assert_eq!(h.epoch.len(), 1);
    assert!(
        batches.get() < 16,
        "stopped after {} batches",
        batches.get()
    );
    assert!(!h.get("loss").unwrap()[0].is_finite());
}

#[test]
fn csv_logger_writes_one_row_per_epoch() {
    let (x, y) = blobs(30, 10);
    let dir = std::env::temp_dir().join(format!("kerust-csv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("log.csv");
    let mut log = CSVLogger::new(&path);
    let mut m = model(4);
    m.fit(
        &x,
        &y,
        FitOptions {
            callbacks: vec![&mut log],
            validation_split: 0.2,
            ..quiet(3)
        },
    )
    .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "epoch,accuracy,loss,val_accuracy,val_loss");
    assert_eq!(lines.len(), 4);
    assert!(lines[3].starts_with("2,"));
    assert!(log.error.is_none());
}

#[test]
fn callbacks_see_every_hook_in_order() {
    #[derive(Default)]
    struct Recorder(Vec<String>);
    impl Callback for Recorder {
        fn on_train_begin(&mut self, _: &mut Sequential) {
            self.0.push("train_begin".into());
        }
        fn on_epoch_begin(&mut self, e: usize, _: &mut Sequential) {
            self.0.push(format!("epoch_begin {e}"));
        }
        fn on_train_batch_end(&mut self, b: usize, logs: &Logs, _: &mut Sequential) {
            assert!(logs.get("loss").is_some());
            self.0.push(format!("batch_end {b}"));
        }
        fn on_epoch_end(&mut self, e: usize, logs: &Logs, _: &mut Sequential) {
            assert!(logs.get("val_loss").is_some());
            self.0.push(format!("epoch_end {e}"));
        }
        fn on_train_end(&mut self, _: &mut Sequential, _: &Logs) {
            self.0.push("train_end".into());
        }
    }
    let (x, y) = blobs(20, 11);
    let mut r = Recorder::default();
    let mut m = model(6);
    let vx = x.slice(s![..5, ..]).to_owned();
    let vy = y.slice(s![..5]).to_owned();
    m.fit(
        &x,
        &y,
        FitOptions {
            callbacks: vec![&mut r],
            batch_size: 10,
            initial_epoch: 1,
            ..quiet(3)
        }
        .validation_data(&vx, &vy),
    )
    .unwrap();
    assert_eq!(
        r.0,
        [
            "train_begin",
            "epoch_begin 1",
            "batch_end 0",
            "batch_end 1",
            "epoch_end 1",
            "epoch_begin 2",
            "batch_end 0",
            "batch_end 1",
            "epoch_end 2",
            "train_end"
        ]
    );
}

#[test]
fn predict_and_evaluate_agree_and_accept_integer_labels() {
    let (x, y) = blobs(50, 12);
    let mut m = model(8);
    m.fit(&x, &y, quiet(5)).unwrap();
    let p = m.predict(&x, 7).unwrap();
    assert_eq!(p.shape(), &[50, 3]);
    for row in p.rows() {
        assert!((row.sum() - 1.0).abs() < 1e-5);
    }
    let correct = p
        .rows()
        .into_iter()
        .zip(y.iter())
        .filter(|(r, &c)| {
            let am = r
                .iter()
                .enumerate()
                .fold(0, |b, (i, &v)| if v > r[b] { i } else { b });
            am == c as usize
        })
        .count();
    let e = m.evaluate(&x, &y.mapv(|v| v as i64), 7, 0).unwrap();
    assert_eq!(e.get("accuracy").unwrap(), correct as f32 / 50.0);
    let pb = m.predict_on_batch(&x).unwrap();
    for (a, b) in pb.iter().zip(p.iter()) {
        assert!((a - b).abs() < 1e-6);
    }
}

#[test]
fn validation_split_is_computed_from_the_decimal_the_user_wrote() {
    // Seed 000: 60,000 samples, validation_split=0.01, batch 10. Keras trains on 59,400
    // samples (5,940 steps); the f32 0.01 would give 59,401.
    let x = Array2::<f32>::zeros((60_000, 1));
    let y = Array1::<f32>::zeros(60_000);
    let mut m = Sequential::new(vec![Dense::new(1).input_dim(1).into()]).unwrap();
    m.compile(SGD::new(0.0), "mse", ()).unwrap();
    let h = m
        .fit(
            &x,
            &y,
            FitOptions {
                batch_size: 10,
                validation_split: 0.01,
                ..quiet(1)
            },
        )
        .unwrap();
    assert_eq!(h.params.steps, 5_940);
}
