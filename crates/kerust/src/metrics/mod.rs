//! Metrics, computed as Keras computes them: running (weighted) means over an epoch, or
//! confusion counts for precision, recall and AUC.
//!
//! ```
//! use kerust::metrics::{Metric, SparseCategoricalAccuracy};
//! let mut m = SparseCategoricalAccuracy::new();
//! m.update_state(&[1.0, 0.0], &[0.2, 0.8, 0.4, 0.6], &[2, 2], None);
//! assert_eq!(m.result(), 0.5);
//! ```

mod confusion;
pub use confusion::*;

use crate::{Error, Result};

/// A stateful metric, as Keras's `keras.metrics.Metric`.
pub trait Metric: Send + std::fmt::Debug {
    /// The name shown in logs and History (`accuracy`, `val_accuracy` for validation).
    fn name(&self) -> &str;
    /// Renames the metric (Keras keeps the name the user gave, e.g. `acc`).
    fn set_name(&mut self, name: String);
    /// Accumulates a batch: labels and predictions, predictions shaped `shape`
    /// (the last axis is one row), with optional per-sample weights.
    fn update_state(
        &mut self,
        y_true: &[f32],
        y_pred: &[f32],
        shape: &[usize],
        sample_weight: Option<&[f32]>,
    );
    /// The current value.
    fn result(&self) -> f32;
    /// Clears the state.
    fn reset_state(&mut self);
}

/// Per-row value of a mean metric.
type RowFn = fn(&[f32], &[f32], &Params) -> f32;

#[derive(Clone, Copy, Debug, Default)]
struct Params {
    threshold: f32,
    k: usize,
}

/// A running weighted mean of a per-row value (Keras's `MeanMetricWrapper`).
#[derive(Debug, Clone)]
pub struct MeanMetric {
    name: String,
    f: RowFn,
    sparse: bool,
    sqrt: bool,
    params: Params,
    total: f64,
    count: f64,
}

impl MeanMetric {
    fn new(name: &str, f: RowFn, sparse: bool) -> Self {
        MeanMetric {
            name: name.to_string(),
            f,
            sparse,
            sqrt: false,
            params: Params {
                threshold: 0.5,
                k: 5,
            },
            total: 0.0,
            count: 0.0,
        }
    }
}

impl Metric for MeanMetric {
    fn name(&self) -> &str {
        &self.name
    }
    fn set_name(&mut self, name: String) {
        self.name = name;
    }
    fn update_state(
        &mut self,
        y_true: &[f32],
        y_pred: &[f32],
        shape: &[usize],
        sw: Option<&[f32]>,
    ) {
        let d = shape.last().copied().unwrap_or(1).max(1);
        let rows = y_pred.len() / d;
        let batch = shape.first().copied().unwrap_or(1).max(1);
        let per = (rows / batch).max(1);
        let lt = if self.sparse { 1 } else { d };
        for r in 0..rows {
            let w = sw.map_or(1.0, |s| s[r / per]) as f64;
            let v = (self.f)(
                &y_true[r * lt..(r + 1) * lt],
                &y_pred[r * d..(r + 1) * d],
                &self.params,
            );
            self.total += v as f64 * w;
            self.count += w;
        }
    }
    fn result(&self) -> f32 {
        let m = if self.count > 0.0 {
            self.total / self.count
        } else {
            0.0
        };
        (if self.sqrt { m.sqrt() } else { m }) as f32
    }
    fn reset_state(&mut self) {
        self.total = 0.0;
        self.count = 0.0;
    }
}

/// Index of the first largest value (as `np.argmax`); 0 for an empty row.
pub(crate) fn argmax(p: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in p.iter().enumerate() {
        if v > p[best] {
            best = i;
        }
    }
    best
}

fn binary_acc(t: &[f32], p: &[f32], pr: &Params) -> f32 {
    let hits = t
        .iter()
        .zip(p)
        .filter(|(t, p)| (if **p > pr.threshold { 1.0 } else { 0.0 }) == **t)
        .count();
    hits as f32 / p.len() as f32
}

fn categorical_acc(t: &[f32], p: &[f32], _: &Params) -> f32 {
    (argmax(t) == argmax(p)) as u8 as f32
}

fn sparse_categorical_acc(t: &[f32], p: &[f32], _: &Params) -> f32 {
    (t[0] as usize == argmax(p)) as u8 as f32
}

/// True when class `c` is among the `k` largest of `p` (ties count against it, as `in_top_k`).
fn in_top_k(p: &[f32], c: usize, k: usize) -> bool {
    c < p.len() && p.iter().filter(|&&v| v > p[c]).count() < k
}

fn top_k_acc(t: &[f32], p: &[f32], pr: &Params) -> f32 {
    in_top_k(p, argmax(t), pr.k) as u8 as f32
}

fn sparse_top_k_acc(t: &[f32], p: &[f32], pr: &Params) -> f32 {
    in_top_k(p, t[0] as usize, pr.k) as u8 as f32
}

fn mse_row(t: &[f32], p: &[f32], _: &Params) -> f32 {
    t.iter().zip(p).map(|(a, b)| (a - b) * (a - b)).sum::<f32>() / p.len() as f32
}

fn mae_row(t: &[f32], p: &[f32], _: &Params) -> f32 {
    t.iter().zip(p).map(|(a, b)| (a - b).abs()).sum::<f32>() / p.len() as f32
}

macro_rules! mean_metric {
    ($(#[$doc:meta])* $ty:ident, $name:literal, $f:expr, $sparse:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $ty;
        impl $ty {
            /// The metric, with Keras's default name.
            #[allow(clippy::new_ret_no_self)]
            pub fn new() -> MeanMetric {
                MeanMetric::new($name, $f, $sparse)
            }
        }
    };
}

mean_metric!(
    /// Fraction of predictions on the right side of 0.5 (`binary_accuracy`).
    BinaryAccuracy, "binary_accuracy", binary_acc, false);
mean_metric!(
    /// Fraction of rows whose argmax matches the one-hot label's (`categorical_accuracy`).
    CategoricalAccuracy, "categorical_accuracy", categorical_acc, false);
mean_metric!(
    /// Fraction of rows whose argmax equals the class id (`sparse_categorical_accuracy`).
    SparseCategoricalAccuracy, "sparse_categorical_accuracy", sparse_categorical_acc, true);
mean_metric!(
    /// Mean squared error as a metric.
    MeanSquaredError, "mean_squared_error", mse_row, false);
mean_metric!(
    /// Mean absolute error as a metric.
    MeanAbsoluteError, "mean_absolute_error", mae_row, false);

/// `top_k_categorical_accuracy` with `k` (Keras default 5).
pub fn top_k_categorical_accuracy(k: usize) -> MeanMetric {
    let mut m = MeanMetric::new("top_k_categorical_accuracy", top_k_acc, false);
    m.params.k = k;
    m
}

/// `sparse_top_k_categorical_accuracy` with `k` (Keras default 5).
pub fn sparse_top_k_categorical_accuracy(k: usize) -> MeanMetric {
    let mut m = MeanMetric::new("sparse_top_k_categorical_accuracy", sparse_top_k_acc, true);
    m.params.k = k;
    m
}

/// `binary_accuracy` with a custom threshold.
pub fn binary_accuracy(threshold: f32) -> MeanMetric {
    let mut m = BinaryAccuracy::new();
    m.params.threshold = threshold;
    m
}

/// `root_mean_squared_error`: the square root of the running mean of squared errors.
pub fn root_mean_squared_error() -> MeanMetric {
    let mut m = MeanMetric::new("root_mean_squared_error", mse_row, false);
    m.sqrt = true;
    m
}

/// What a confusion-count metric reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CountKind {
    Precision,
    Recall,
}

/// Precision or recall at a threshold over all predicted values (Keras's `Precision`/`Recall`).
#[derive(Debug, Clone)]
pub struct ConfusionMetric {
    name: String,
    kind: CountKind,
    threshold: f32,
    tp: f64,
    fp: f64,
    fn_: f64,
}

/// Keras's `Precision()`: `tp / (tp + fp)` at threshold 0.5.
pub fn precision() -> ConfusionMetric {
    ConfusionMetric {
        name: "precision".into(),
        kind: CountKind::Precision,
        threshold: 0.5,
        tp: 0.0,
        fp: 0.0,
        fn_: 0.0,
    }
}

/// Keras's `Recall()`: `tp / (tp + fn)` at threshold 0.5.
pub fn recall() -> ConfusionMetric {
    ConfusionMetric {
        name: "recall".into(),
        kind: CountKind::Recall,
        threshold: 0.5,
        tp: 0.0,
        fp: 0.0,
        fn_: 0.0,
    }
}

impl Metric for ConfusionMetric {
    fn name(&self) -> &str {
        &self.name
    }
    fn set_name(&mut self, name: String) {
        self.name = name;
    }
    fn update_state(
        &mut self,
        y_true: &[f32],
        y_pred: &[f32],
        shape: &[usize],
        sw: Option<&[f32]>,
    ) {
        let per = y_pred.len() / shape.first().copied().unwrap_or(1).max(1);
        for (i, (&t, &p)) in y_true.iter().zip(y_pred).enumerate() {
            let w = sw.map_or(1.0, |s| s[i / per.max(1)]) as f64;
            let pos = p > self.threshold;
            let truth = t > 0.5;
            match (pos, truth) {
                (true, true) => self.tp += w,
                (true, false) => self.fp += w,
                (false, true) => self.fn_ += w,
                _ => {}
            }
        }
    }
    fn result(&self) -> f32 {
        let den = match self.kind {
            CountKind::Precision => self.tp + self.fp,
            CountKind::Recall => self.tp + self.fn_,
        };
        if den > 0.0 {
            (self.tp / den) as f32
        } else {
            0.0
        }
    }
    fn reset_state(&mut self) {
        self.tp = 0.0;
        self.fp = 0.0;
        self.fn_ = 0.0;
    }
}

/// Keras's `AUC()`: area under the ROC curve from confusion counts at `num_thresholds`
/// thresholds (default 200), trapezoidal rule.
#[derive(Debug, Clone)]
pub struct Auc {
    name: String,
    thresholds: Vec<f32>,
    tp: Vec<f64>,
    fp: Vec<f64>,
    tn: Vec<f64>,
    fn_: Vec<f64>,
}

/// Keras's `AUC()` with 200 thresholds.
pub fn auc() -> Auc {
    Auc::new(200)
}

impl Auc {
    /// AUC with `num_thresholds` (>= 2) evenly spaced thresholds.
    pub fn new(num_thresholds: usize) -> Self {
        let n = num_thresholds.max(2);
        let eps = 1e-7f32;
        let mut thresholds = vec![0.0 - eps];
        thresholds.extend((1..n - 1).map(|i| i as f32 / (n - 1) as f32));
        thresholds.push(1.0 + eps);
        Auc {
            name: "auc".into(),
            thresholds,
            tp: vec![0.0; n],
            fp: vec![0.0; n],
            tn: vec![0.0; n],
            fn_: vec![0.0; n],
        }
    }
}

impl Metric for Auc {
    fn name(&self) -> &str {
        &self.name
    }
    fn set_name(&mut self, name: String) {
        self.name = name;
    }
    fn update_state(
        &mut self,
        y_true: &[f32],
        y_pred: &[f32],
        shape: &[usize],
        sw: Option<&[f32]>,
    ) {
        let per = y_pred.len() / shape.first().copied().unwrap_or(1).max(1);
        for (i, (&t, &p)) in y_true.iter().zip(y_pred).enumerate() {
            let w = sw.map_or(1.0, |s| s[i / per.max(1)]) as f64;
            let truth = t > 0.5;
            for (j, &th) in self.thresholds.iter().enumerate() {
                match (p > th, truth) {
                    (true, true) => self.tp[j] += w,
                    (true, false) => self.fp[j] += w,
                    (false, true) => self.fn_[j] += w,
                    (false, false) => self.tn[j] += w,
                }
            }
        }
    }
    fn result(&self) -> f32 {
        let div = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
        let n = self.thresholds.len();
        let tpr: Vec<f64> = (0..n)
            .map(|i| div(self.tp[i], self.tp[i] + self.fn_[i]))
            .collect();
        let fpr: Vec<f64> = (0..n)
            .map(|i| div(self.fp[i], self.fp[i] + self.tn[i]))
            .collect();
        (0..n - 1)
            .map(|i| (fpr[i] - fpr[i + 1]) * (tpr[i] + tpr[i + 1]) / 2.0)
            .sum::<f64>() as f32
    }
    fn reset_state(&mut self) {
        for v in [&mut self.tp, &mut self.fp, &mut self.tn, &mut self.fn_] {
            v.iter_mut().for_each(|x| *x = 0.0);
        }
    }
}

/// A metric from its Keras name and config (`threshold`, `k`, `num_thresholds`).
pub fn from_config(
    name: &str,
    config: &serde_json::Value,
    label_row_len: usize,
    pred_row_len: usize,
) -> Result<Box<dyn Metric>> {
    let f = |k: &str| config.get(k).and_then(|v| v.as_f64());
    Ok(match name {
        "binary_accuracy" => Box::new(binary_accuracy(f("threshold").unwrap_or(0.5) as f32)),
        "top_k_categorical_accuracy" => {
            Box::new(top_k_categorical_accuracy(f("k").unwrap_or(5.0) as usize))
        }
        "sparse_top_k_categorical_accuracy" => Box::new(sparse_top_k_categorical_accuracy(
            f("k").unwrap_or(5.0) as usize,
        )),
        "auc" => {
            if config
                .get("curve")
                .and_then(|c| c.as_str())
                .is_some_and(|c| c != "ROC")
            {
                return Err(Error::Config {
                    what: "AUC".into(),
                    reason: "only curve='ROC' is supported".into(),
                });
            }
            Box::new(Auc::new(f("num_thresholds").unwrap_or(200.0) as usize))
        }
        _ => get(name, label_row_len, pred_row_len)?,
    })
}

/// Every metric name [`get`] accepts.
pub const NAMES: &[&str] = &[
    "accuracy",
    "acc",
    "binary_accuracy",
    "categorical_accuracy",
    "sparse_categorical_accuracy",
    "top_k_categorical_accuracy",
    "sparse_top_k_categorical_accuracy",
    "mean_squared_error",
    "mse",
    "mean_absolute_error",
    "mae",
    "root_mean_squared_error",
    "rmse",
    "precision",
    "recall",
    "auc",
];

/// A metric by Keras name. `accuracy`/`acc` is resolved as Keras 3 resolves it, from the
/// shapes of labels and predictions: one output unit means binary accuracy; labels with one
/// value per row against several outputs mean sparse categorical; otherwise categorical.
/// The metric keeps the name the user wrote.
pub fn get(name: &str, label_row_len: usize, pred_row_len: usize) -> Result<Box<dyn Metric>> {
    let mut m: Box<dyn Metric> = match name {
        "accuracy" | "acc" => {
            if pred_row_len == 1 {
                Box::new(BinaryAccuracy::new())
            } else if label_row_len == 1 {
                Box::new(SparseCategoricalAccuracy::new())
            } else {
                Box::new(CategoricalAccuracy::new())
            }
        }
        "binary_accuracy" => Box::new(BinaryAccuracy::new()),
        "categorical_accuracy" => Box::new(CategoricalAccuracy::new()),
        "sparse_categorical_accuracy" => Box::new(SparseCategoricalAccuracy::new()),
        "top_k_categorical_accuracy" => Box::new(top_k_categorical_accuracy(5)),
        "sparse_top_k_categorical_accuracy" => Box::new(sparse_top_k_categorical_accuracy(5)),
        "mean_squared_error" | "mse" => Box::new(MeanSquaredError::new()),
        "mean_absolute_error" | "mae" => Box::new(MeanAbsoluteError::new()),
        "root_mean_squared_error" | "rmse" => Box::new(root_mean_squared_error()),
        "precision" => Box::new(precision()),
        "recall" => Box::new(recall()),
        "auc" | "AUC" => Box::new(auc()),
        _ => return Err(Error::unknown("metric", name, NAMES)),
    };
    m.set_name(name.to_string());
    Ok(m)
}
