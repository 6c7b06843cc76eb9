//! Loss functions with Keras's names, aliases, defaults, reductions and numerics.
//!
//! ```
//! use kerust::losses::Loss;
//! let mse: Loss = "mse".parse().unwrap();
//! let v = mse.value(&[1.0, 2.0], &[1.5, 2.0], &[2, 1], None).unwrap();
//! assert!((v - 0.125).abs() < 1e-7);
//! ```
//!
//! Every loss maps one row of the last axis (one sample, or one timestep) to a number; the
//! [`Reduction`] then combines rows the way Keras does. Crossentropy after a softmax or
//! sigmoid output is fused: the gradient goes straight to the logits as `p - y`, which is
//! exact where Keras's clipped gradient vanishes (a confidently wrong prediction still learns).

use crate::{Error, Result};
use std::str::FromStr;

/// Keras's fuzz factor (`keras.config.epsilon()`).
pub const EPSILON: f32 = 1e-7;

/// How per-row losses are combined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reduction {
    /// Sum of (weighted) losses divided by the number of rows: Keras's default.
    SumOverBatchSize,
    /// Sum of (weighted) losses.
    Sum,
    /// No reduction (only meaningful for [`Loss::per_sample`]; `value` then sums).
    None,
}

/// The loss function itself.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LossKind {
    /// `mean((y - p)^2)`.
    MeanSquaredError,
    /// `mean(|y - p|)`.
    MeanAbsoluteError,
    /// `100 * mean(|y - p| / max(|y|, eps))`.
    MeanAbsolutePercentageError,
    /// `mean((log(p + 1) - log(y + 1))^2)`.
    MeanSquaredLogarithmicError,
    /// `mean(max(1 - y p, 0)^2)`, labels in {-1, 1} (or {0, 1}, converted).
    SquaredHinge,
    /// `mean(max(1 - y p, 0))`, labels in {-1, 1} (or {0, 1}, converted).
    Hinge,
    /// `max(max((1 - y) p) - sum(y p) + 1, 0)`.
    CategoricalHinge,
    /// `mean(log(cosh(p - y)))`.
    LogCosh,
    /// `-sum(y log p)` over one-hot (or soft) labels.
    CategoricalCrossentropy {
        /// Predictions are logits rather than probabilities.
        from_logits: bool,
        /// Mixes the labels with a uniform distribution.
        label_smoothing: f32,
    },
    /// Categorical crossentropy with integer class ids as labels.
    SparseCategoricalCrossentropy {
        /// Predictions are logits rather than probabilities.
        from_logits: bool,
    },
    /// `-mean(y log p + (1 - y) log(1 - p))`.
    BinaryCrossentropy {
        /// Predictions are logits rather than probabilities.
        from_logits: bool,
        /// Pulls labels towards 0.5.
        label_smoothing: f32,
    },
    /// `sum(y log(y / p))`.
    KlDivergence,
    /// `mean(p - y log(p + eps))`.
    Poisson,
    /// `-sum(normalize(y) * normalize(p))`.
    CosineSimilarity,
    /// Quadratic below `delta`, linear above.
    Huber {
        /// The switch point (default 1).
        delta: f32,
    },
}

/// A loss: what to compute and how to reduce it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Loss {
    /// The function.
    pub kind: LossKind,
    /// The reduction (default [`Reduction::SumOverBatchSize`]).
    pub reduction: Reduction,
}

impl From<LossKind> for Loss {
    fn from(kind: LossKind) -> Self {
        Loss {
            kind,
            reduction: Reduction::SumOverBatchSize,
        }
    }
}

/// Every name [`Loss::from_str`] accepts.
pub const NAMES: &[&str] = &[
    "mean_squared_error",
    "mse",
    "mean_absolute_error",
    "mae",
    "mean_absolute_percentage_error",
    "mape",
    "mean_squared_logarithmic_error",
    "msle",
    "squared_hinge",
    "hinge",
    "categorical_hinge",
    "log_cosh",
    "logcosh",
    "categorical_crossentropy",
    "cce",
    "sparse_categorical_crossentropy",
    "scce",
    "binary_crossentropy",
    "bce",
    "kl_divergence",
    "kld",
    "kullback_leibler_divergence",
    "poisson",
    "cosine_similarity",
    "cosine_proximity",
    "huber",
    "huber_loss",
];

impl FromStr for Loss {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        use LossKind::*;
        let kind = match s {
            "mean_squared_error" | "mse" | "MeanSquaredError" => MeanSquaredError,
            "mean_absolute_error" | "mae" | "MeanAbsoluteError" => MeanAbsoluteError,
            "mean_absolute_percentage_error" | "mape" | "MeanAbsolutePercentageError" => {
                MeanAbsolutePercentageError
            }
            "mean_squared_logarithmic_error" | "msle" | "MeanSquaredLogarithmicError" => {
                MeanSquaredLogarithmicError
            }
            "squared_hinge" | "SquaredHinge" => SquaredHinge,
            "hinge" | "Hinge" => Hinge,
            "categorical_hinge" | "CategoricalHinge" => CategoricalHinge,
            "log_cosh" | "logcosh" | "LogCosh" => LogCosh,
            "categorical_crossentropy" | "cce" | "CategoricalCrossentropy" => {
                CategoricalCrossentropy {
                    from_logits: false,
                    label_smoothing: 0.0,
                }
            }
            "sparse_categorical_crossentropy" | "scce" | "SparseCategoricalCrossentropy" => {
                SparseCategoricalCrossentropy { from_logits: false }
            }
            "binary_crossentropy" | "bce" | "BinaryCrossentropy" => BinaryCrossentropy {
                from_logits: false,
                label_smoothing: 0.0,
            },
            "kl_divergence" | "kld" | "kullback_leibler_divergence" | "KLDivergence" => {
                KlDivergence
            }
            "poisson" | "Poisson" => Poisson,
            "cosine_similarity" | "cosine_proximity" | "CosineSimilarity" => CosineSimilarity,
            "huber" | "huber_loss" | "Huber" => Huber { delta: 1.0 },
            _ => return Err(Error::unknown("loss", s, NAMES)),
        };
        Ok(kind.into())
    }
}

impl TryFrom<&str> for Loss {
    type Error = Error;
    fn try_from(s: &str) -> Result<Self> {
        s.parse()
    }
}

impl TryFrom<String> for Loss {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl Loss {
    /// A loss from its Keras name and keyword arguments (`from_logits`, `label_smoothing`,
    /// `delta`, `reduction`).
    pub fn from_config(name: &str, kwargs: &serde_json::Value) -> Result<Self> {
        use LossKind::*;
        let mut l: Loss = name.parse()?;
        let b = |k: &str| kwargs.get(k).and_then(|v| v.as_bool()).unwrap_or(false);
        let f = |k: &str, d: f32| {
            kwargs
                .get(k)
                .and_then(|v| v.as_f64())
                .map_or(d, |v| v as f32)
        };
        match &mut l.kind {
            CategoricalCrossentropy {
                from_logits,
                label_smoothing,
            }
            | BinaryCrossentropy {
                from_logits,
                label_smoothing,
            } => {
                *from_logits = b("from_logits");
                *label_smoothing = f("label_smoothing", 0.0);
            }
            SparseCategoricalCrossentropy { from_logits } => *from_logits = b("from_logits"),
            Huber { delta } => *delta = f("delta", 1.0),
            _ => {}
        }
        if let Some(r) = kwargs.get("axis").and_then(|v| v.as_i64()) {
            if r != -1 {
                return Err(Error::Config {
                    what: format!("loss '{name}'"),
                    reason: format!("axis={r} is not supported; only the last axis (-1)"),
                });
            }
        }
        l.reduction = match kwargs.get("reduction").and_then(|v| v.as_str()) {
            None | Some("sum_over_batch_size") => Reduction::SumOverBatchSize,
            Some("sum") => Reduction::Sum,
            Some("none") => Reduction::None,
            Some(r) => {
                return Err(Error::unknown(
                    "reduction",
                    r,
                    &["sum_over_batch_size", "sum", "none"],
                ))
            }
        };
        Ok(l)
    }
}

#[inline]
fn clip(p: f32) -> f32 {
    p.clamp(EPSILON, 1.0 - EPSILON)
}

/// Derivative of `clip(p)`, with JAX's convention of 0.5 at the boundaries.
#[inline]
fn dclip(p: f32) -> f32 {
    if p > EPSILON && p < 1.0 - EPSILON {
        1.0
    } else if p == EPSILON || p == 1.0 - EPSILON {
        0.5
    } else {
        0.0
    }
}

#[inline]
fn sign(x: f32) -> f32 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

#[inline]
fn log_sigmoid(x: f32) -> f32 {
    -((-x).max(0.0) + (-x.abs()).exp().ln_1p())
}

impl Loss {
    /// Sparse categorical crossentropy on probabilities (the tutorials' classifier loss).
    pub fn sparse_categorical_crossentropy() -> Self {
        LossKind::SparseCategoricalCrossentropy { from_logits: false }.into()
    }

    /// Sets `from_logits` on the crossentropies (ignored by other losses).
    pub fn from_logits(mut self, v: bool) -> Self {
        use LossKind::*;
        match &mut self.kind {
            CategoricalCrossentropy { from_logits, .. }
            | SparseCategoricalCrossentropy { from_logits }
            | BinaryCrossentropy { from_logits, .. } => *from_logits = v,
            _ => {}
        }
        self
    }

    /// Sets the reduction.
    pub fn reduction(mut self, r: Reduction) -> Self {
        self.reduction = r;
        self
    }

    /// The Keras function name, as written in a compile config.
    pub fn name(&self) -> &'static str {
        use LossKind::*;
        match self.kind {
            MeanSquaredError => "mean_squared_error",
            MeanAbsoluteError => "mean_absolute_error",
            MeanAbsolutePercentageError => "mean_absolute_percentage_error",
            MeanSquaredLogarithmicError => "mean_squared_logarithmic_error",
            SquaredHinge => "squared_hinge",
            Hinge => "hinge",
            CategoricalHinge => "categorical_hinge",
            LogCosh => "log_cosh",
            CategoricalCrossentropy { .. } => "categorical_crossentropy",
            SparseCategoricalCrossentropy { .. } => "sparse_categorical_crossentropy",
            BinaryCrossentropy { .. } => "binary_crossentropy",
            KlDivergence => "kl_divergence",
            Poisson => "poisson",
            CosineSimilarity => "cosine_similarity",
            Huber { .. } => "huber",
        }
    }

    /// True for losses whose labels are class ids (one per row).
    pub fn is_sparse(&self) -> bool {
        matches!(self.kind, LossKind::SparseCategoricalCrossentropy { .. })
    }

    /// True when, after an output activation `act`, the gradient can go straight to the
    /// logits (`softmax` + categorical crossentropies, `sigmoid` + binary crossentropy).
    pub fn fuses_with(&self, act: &crate::activations::Activation) -> bool {
        use crate::activations::Activation as A;
        use LossKind::*;
        match self.kind {
            CategoricalCrossentropy {
                from_logits: false, ..
            }
            | SparseCategoricalCrossentropy { from_logits: false } => {
                matches!(act, A::Softmax { axis: -1 })
            }
            BinaryCrossentropy {
                from_logits: false, ..
            } => matches!(act, A::Sigmoid),
            _ => false,
        }
    }

    /// Number of label values per row for predictions with `d` values per row.
    pub fn label_row_len(&self, d: usize) -> usize {
        if self.is_sparse() {
            1
        } else {
            d
        }
    }

    /// The reduced loss of predictions `y_pred` (shape `shape`, last axis = one row) against
    /// `y_true`, with optional per-sample weights (one per sample along axis 0).
    pub fn value(
        &self,
        y_true: &[f32],
        y_pred: &[f32],
        shape: &[usize],
        sample_weight: Option<&[f32]>,
    ) -> Result<f32> {
        self.compute(y_true, y_pred, shape, sample_weight, None, false)
    }

    /// One loss value per row (Keras's `reduction=None`), unweighted.
    pub fn per_sample(&self, y_true: &[f32], y_pred: &[f32], shape: &[usize]) -> Result<Vec<f32>> {
        let d = shape.last().copied().unwrap_or(1).max(1);
        let rows = y_pred.len() / d;
        self.check(y_true, y_pred, shape)?;
        let flip = self.hinge_flip(y_true);
        Ok((0..rows)
            .map(|r| {
                let lt = self.label_row_len(d);
                self.row(
                    &y_true[r * lt..(r + 1) * lt],
                    &y_pred[r * d..(r + 1) * d],
                    None,
                    flip,
                    false,
                )
            })
            .collect())
    }

    fn check(&self, y_true: &[f32], y_pred: &[f32], shape: &[usize]) -> Result<()> {
        let d = shape.last().copied().unwrap_or(1).max(1);
        if y_pred.len() != shape.iter().product::<usize>() {
            return Err(Error::shape(
                "loss y_pred",
                format!("{shape:?}"),
                y_pred.len().to_string(),
            ));
        }
        let want = y_pred.len() / d * self.label_row_len(d);
        if y_true.len() != want {
            return Err(Error::shape(
                format!("loss '{}' y_true", self.name()),
                format!("{want} values for predictions of shape {shape:?}"),
                format!("{} values", y_true.len()),
            ));
        }
        if self.is_sparse() {
            if let Some((i, &v)) = y_true
                .iter()
                .enumerate()
                .find(|(_, &v)| !(v >= 0.0 && v < d as f32 && v.fract() == 0.0))
            {
                return Err(Error::data(
                    "y",
                    format!(
                        "label {v} at index {i} is not a class id in [0, {d}) for sparse_categorical_crossentropy with {d} outputs"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Keras converts {0, 1} labels to {-1, 1} for the hinge losses when the whole batch is binary.
    fn hinge_flip(&self, y_true: &[f32]) -> bool {
        matches!(self.kind, LossKind::Hinge | LossKind::SquaredHinge)
            && y_true.iter().all(|&v| v == 0.0 || v == 1.0)
    }

    /// Reduced loss and, when `grad` is given, its gradient with respect to `y_pred` (or to
    /// the logits before the output activation when `fused`).
    pub fn compute(
        &self,
        y_true: &[f32],
        y_pred: &[f32],
        shape: &[usize],
        sample_weight: Option<&[f32]>,
        mut grad: Option<&mut [f32]>,
        fused: bool,
    ) -> Result<f32> {
        self.check(y_true, y_pred, shape)?;
        let d = shape.last().copied().unwrap_or(1).max(1);
        let rows = y_pred.len() / d;
        let batch = shape.first().copied().unwrap_or(1).max(1);
        let rows_per_sample = (rows / batch).max(1);
        let lt = self.label_row_len(d);
        let flip = self.hinge_flip(y_true);
        let denom = match self.reduction {
            Reduction::SumOverBatchSize => rows.max(1) as f32,
            Reduction::Sum | Reduction::None => 1.0,
        };
        let mut total = 0.0f64;
        for r in 0..rows {
            let w = sample_weight.map_or(1.0, |sw| sw[r / rows_per_sample]);
            let t = &y_true[r * lt..(r + 1) * lt];
            let p = &y_pred[r * d..(r + 1) * d];
            let g = grad.as_deref_mut().map(|g| &mut g[r * d..(r + 1) * d]);
            let has_grad = g.is_some();
            let l = self.row(t, p, g, flip, fused);
            total += (l * w) as f64;
            if has_grad {
                let scale = w / denom;
                if let Some(g) = grad.as_deref_mut() {
                    g[r * d..(r + 1) * d].iter_mut().for_each(|v| *v *= scale);
                }
            }
        }
        Ok((total / denom as f64) as f32)
    }

    /// Loss of one row; writes d(row loss)/d(row prediction) into `g` when given.
    fn row(&self, t: &[f32], p: &[f32], g: Option<&mut [f32]>, flip: bool, fused: bool) -> f32 {
        use LossKind::*;
        let d = p.len() as f32;
        match self.kind {
            MeanSquaredError => elementwise(t, p, g, d, |t, p| {
                let e = p - t;
                (e * e, 2.0 * e)
            }),
            MeanAbsoluteError => elementwise(t, p, g, d, |t, p| ((p - t).abs(), sign(p - t))),
            MeanAbsolutePercentageError => elementwise(t, p, g, d, |t, p| {
                let den = t.abs().max(EPSILON);
                (100.0 * (t - p).abs() / den, 100.0 * sign(p - t) / den)
            }),
            MeanSquaredLogarithmicError => elementwise(t, p, g, d, |t, p| {
                let lp = (p.max(EPSILON) + 1.0).ln();
                let lt = (t.max(EPSILON) + 1.0).ln();
                let dp = if p > EPSILON { 1.0 } else { 0.0 } / (p.max(EPSILON) + 1.0);
                ((lp - lt) * (lp - lt), 2.0 * (lp - lt) * dp)
            }),
            Hinge => elementwise(t, p, g, d, |t, p| {
                let t = if flip { 2.0 * t - 1.0 } else { t };
                let m = 1.0 - t * p;
                (
                    m.max(0.0),
                    if m > 0.0 {
                        -t
                    } else if m == 0.0 {
                        -0.5 * t
                    } else {
                        0.0
                    },
                )
            }),
            SquaredHinge => elementwise(t, p, g, d, |t, p| {
                let t = if flip { 2.0 * t - 1.0 } else { t };
                let m = (1.0 - t * p).max(0.0);
                (m * m, -2.0 * m * t)
            }),
            LogCosh => elementwise(t, p, g, d, |t, p| {
                let x = p - t;
                let sp = (-2.0 * x).max(0.0) + (-(2.0 * x).abs()).exp().ln_1p();
                (x + sp - std::f32::consts::LN_2, x.tanh())
            }),
            Poisson => elementwise(t, p, g, d, |t, p| {
                (p - t * (p + EPSILON).ln(), 1.0 - t / (p + EPSILON))
            }),
            Huber { delta } => elementwise(t, p, g, d, |t, p| {
                let e = p - t;
                if e.abs() <= delta {
                    (0.5 * e * e, e)
                } else {
                    (delta * e.abs() - 0.5 * delta * delta, delta * sign(e))
                }
            }),
            KlDivergence => {
                let mut l = 0.0;
                let mut g = g;
                for i in 0..p.len() {
                    let tc = t[i].clamp(EPSILON, 1.0);
                    let pc = p[i].clamp(EPSILON, 1.0);
                    l += tc * (tc / pc).ln();
                    if let Some(g) = g.as_deref_mut() {
                        let dp = if p[i] > EPSILON && p[i] < 1.0 {
                            1.0
                        } else {
                            0.0
                        };
                        g[i] = -tc / pc * dp;
                    }
                }
                l
            }
            CategoricalHinge => categorical_hinge(t, p, g),
            CosineSimilarity => cosine_similarity(t, p, g),
            CategoricalCrossentropy {
                from_logits,
                label_smoothing,
            } => {
                let c = p.len() as f32;
                crossentropy(p, g, from_logits, fused, |i| {
                    t[i] * (1.0 - label_smoothing) + label_smoothing / c
                })
            }
            SparseCategoricalCrossentropy { from_logits } => {
                let k = t[0] as usize;
                crossentropy(p, g, from_logits, fused, |i| if i == k { 1.0 } else { 0.0 })
            }
            BinaryCrossentropy {
                from_logits,
                label_smoothing,
            } => elementwise(t, p, g, d, |t, p| {
                let t = t * (1.0 - label_smoothing) + 0.5 * label_smoothing;
                if from_logits {
                    let l = -t * log_sigmoid(p) - (1.0 - t) * log_sigmoid(-p);
                    let s = 1.0 / (1.0 + (-p).exp());
                    (l, s - t)
                } else {
                    let pc = clip(p);
                    let l = -(t * pc.ln() + (1.0 - t) * (1.0 - pc).ln());
                    if fused {
                        // Gradient with respect to the sigmoid's input: p - t.
                        (l, p - t)
                    } else {
                        (l, -(t / pc - (1.0 - t) / (1.0 - pc)) * dclip(p))
                    }
                }
            }),
        }
    }
}

/// Mean over the row of an elementwise loss `f(t, p) -> (value, d value / d p)`.
#[inline(always)]
fn elementwise(
    t: &[f32],
    p: &[f32],
    g: Option<&mut [f32]>,
    d: f32,
    f: impl Fn(f32, f32) -> (f32, f32),
) -> f32 {
    let mut sum = 0.0f32;
    match g {
        Some(g) => {
            for i in 0..p.len() {
                let (v, dv) = f(t[i], p[i]);
                sum += v;
                g[i] = dv / d;
            }
        }
        None => {
            for i in 0..p.len() {
                sum += f(t[i], p[i]).0;
            }
        }
    }
    sum / d
}

/// Crossentropy of one row against target distribution `target(i)`, Keras's way: on
/// probabilities, renormalise and clip to [eps, 1-eps]; on logits, log-softmax.
fn crossentropy(
    p: &[f32],
    g: Option<&mut [f32]>,
    from_logits: bool,
    fused: bool,
    target: impl Fn(usize) -> f32,
) -> f32 {
    let n = p.len();
    if from_logits {
        let m = p.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let s: f32 = p.iter().map(|v| (v - m).exp()).sum();
        let lse = m + s.ln();
        let mut l = 0.0;
        let mut tsum = 0.0;
        for (i, &v) in p.iter().enumerate() {
            l -= target(i) * (v - lse);
            tsum += target(i);
        }
        if let Some(g) = g {
            for i in 0..n {
                g[i] = (p[i] - lse).exp() * tsum - target(i);
            }
        }
        return l;
    }
    let s: f32 = p.iter().sum();
    let mut l = 0.0;
    for (i, &v) in p.iter().enumerate() {
        l -= target(i) * clip(v / s).ln();
    }
    if let Some(g) = g {
        if fused {
            // Gradient with respect to the softmax's input: p * sum(t) - t.
            let tsum: f32 = (0..n).map(&target).sum();
            for i in 0..n {
                g[i] = p[i] * tsum - target(i);
            }
        } else {
            // d/dq_i through the clip, then through q = p / sum(p).
            let mut dot = 0.0;
            for i in 0..n {
                let q = p[i] / s;
                g[i] = -target(i) / clip(q) * dclip(q);
                dot += g[i] * q;
            }
            for v in g.iter_mut() {
                *v = (*v - dot) / s;
            }
        }
    }
    l
}

fn categorical_hinge(t: &[f32], p: &[f32], g: Option<&mut [f32]>) -> f32 {
    let pos: f32 = t.iter().zip(p).map(|(t, p)| t * p).sum();
    let (mut arg, mut neg) = (0, f32::NEG_INFINITY);
    for i in 0..p.len() {
        let v = (1.0 - t[i]) * p[i];
        if v > neg {
            neg = v;
            arg = i;
        }
    }
    let m = neg - pos + 1.0;
    if let Some(g) = g {
        let active = if m > 0.0 { 1.0 } else { 0.0 };
        for i in 0..p.len() {
            g[i] = -t[i] * active;
        }
        g[arg] += (1.0 - t[arg]) * active;
    }
    m.max(0.0)
}

fn cosine_similarity(t: &[f32], p: &[f32], g: Option<&mut [f32]>) -> f32 {
    let nt = t.iter().map(|v| v * v).sum::<f32>().max(1e-12).sqrt();
    let sp = p.iter().map(|v| v * v).sum::<f32>();
    let np = sp.max(1e-12).sqrt();
    let dot: f32 = t.iter().zip(p).map(|(a, b)| a * b).sum::<f32>() / (nt * np);
    if let Some(g) = g {
        for i in 0..p.len() {
            let tn = t[i] / nt;
            let u = p[i] / np;
            g[i] = if sp > 1e-12 {
                -(tn - dot * u) / np
            } else {
                -tn / np
            };
        }
    }
    -dot
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_gradient_matches_finite_differences() {
        let shape = [2, 3];
        let probs = [0.2f32, 0.5, 0.3, 0.6, 0.1, 0.3];
        let onehot = [0.0f32, 1.0, 0.0, 1.0, 0.0, 0.0];
        let real_t = [0.5f32, 1.5, 2.0, 0.3, 0.9, 2.5];
        let real_p = [0.7f32, 1.2, 2.6, 0.1, 1.4, 1.1];
        let pm = [1.0f32, -1.0, 1.0, -1.0, 1.0, -1.0];
        for name in NAMES {
            let loss: Loss = name.parse().unwrap();
            let (t, p): (Vec<f32>, Vec<f32>) = match loss.kind {
                LossKind::SparseCategoricalCrossentropy { .. } => (vec![1.0, 0.0], probs.to_vec()),
                LossKind::CategoricalCrossentropy { .. }
                | LossKind::KlDivergence
                | LossKind::BinaryCrossentropy { .. } => (onehot.to_vec(), probs.to_vec()),
                LossKind::Hinge | LossKind::SquaredHinge => (pm.to_vec(), real_p.to_vec()),
                LossKind::CategoricalHinge => (onehot.to_vec(), real_p.to_vec()),
                _ => (real_t.to_vec(), real_p.to_vec()),
            };
            let sw = [0.7f32, 1.3];
            let mut g = vec![0.0; p.len()];
            loss.compute(&t, &p, &shape, Some(&sw), Some(&mut g), false)
                .unwrap();
            for i in 0..p.len() {
                let h = 1e-3;
                let mut pp = p.clone();
                pp[i] += h;
                let mut pm_ = p.clone();
                pm_[i] -= h;
                let f = |x: &[f32]| loss.value(&t, x, &shape, Some(&sw)).unwrap() as f64;
                let fd = (f(&pp) - f(&pm_)) / (2.0 * h as f64);
                assert!(
                    (g[i] as f64 - fd).abs() < 2e-3 * (1.0 + fd.abs()),
                    "{name}[{i}]: analytic {} numeric {fd}",
                    g[i]
                );
            }
        }
    }

    #[test]
    fn sparse_labels_out_of_range_are_an_error() {
        let l = Loss::sparse_categorical_crossentropy();
        let e = l
            .value(&[3.0], &[0.2, 0.3, 0.5], &[1, 3], None)
            .unwrap_err();
        assert!(e.to_string().contains("[0, 3)"), "{e}");
    }
}
