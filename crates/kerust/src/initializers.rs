//! Weight initializers with Keras's names, defaults and fan computations.
//!
//! ```
//! use kerust::initializers::Initializer;
//! let init: Initializer = "glorot_uniform".parse().unwrap();
//! let w = init.sample(&[784, 128], &mut kerust::Rng::new(0));
//! let limit = (6.0f32 / (784.0 + 128.0)).sqrt();
//! assert!(w.iter().all(|v| v.abs() <= limit));
//! ```

use crate::rng::Rng;
use crate::{Error, Result};
use std::str::FromStr;

/// Which fan a [`Initializer::VarianceScaling`] divides by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FanMode {
    /// Number of inputs.
    FanIn,
    /// Number of outputs.
    FanOut,
    /// Their mean.
    FanAvg,
}

/// The distribution of a [`Initializer::VarianceScaling`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Distribution {
    /// Normal truncated at two standard deviations, rescaled to keep the variance.
    TruncatedNormal,
    /// Plain normal.
    UntruncatedNormal,
    /// Uniform in `[-limit, limit]`.
    Uniform,
}

/// A weight initializer. The named ones (`glorot_uniform`, `he_normal`...) are
/// `VarianceScaling` with Keras's parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Initializer {
    /// All zeros.
    Zeros,
    /// All ones.
    Ones,
    /// All `value`.
    Constant(f32),
    /// Normal with `mean` and `stddev` (Keras default 0, 0.05).
    RandomNormal {
        /// Mean.
        mean: f32,
        /// Standard deviation.
        stddev: f32,
    },
    /// Uniform in `[minval, maxval)` (Keras default -0.05, 0.05).
    RandomUniform {
        /// Lower bound.
        minval: f32,
        /// Upper bound.
        maxval: f32,
    },
    /// Normal truncated at two standard deviations (Keras default 0, 0.05).
    TruncatedNormal {
        /// Mean.
        mean: f32,
        /// Standard deviation before truncation.
        stddev: f32,
    },
    /// Variance scaling: `scale / fan` variance with the given distribution.
    VarianceScaling {
        /// Variance multiplier.
        scale: f32,
        /// Which fan to divide by.
        mode: FanMode,
        /// The distribution.
        distribution: Distribution,
    },
    /// A (semi-)orthogonal matrix times `gain`.
    Orthogonal {
        /// Multiplier.
        gain: f32,
    },
}

/// Every name [`Initializer::from_str`] accepts.
pub const NAMES: &[&str] = &[
    "zeros",
    "ones",
    "constant",
    "random_normal",
    "random_uniform",
    "truncated_normal",
    "glorot_uniform",
    "glorot_normal",
    "he_normal",
    "he_uniform",
    "lecun_normal",
    "lecun_uniform",
    "orthogonal",
    "variance_scaling",
];

impl FromStr for Initializer {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        use Distribution::*;
        use FanMode::*;
        let vs = |scale, mode, distribution| Initializer::VarianceScaling {
            scale,
            mode,
            distribution,
        };
        Ok(match s {
            "zeros" | "Zeros" | "zero" => Initializer::Zeros,
            "ones" | "Ones" | "one" => Initializer::Ones,
            "constant" | "Constant" => Initializer::Constant(0.0),
            "random_normal" | "RandomNormal" => Initializer::RandomNormal {
                mean: 0.0,
                stddev: 0.05,
            },
            "random_uniform" | "RandomUniform" => Initializer::RandomUniform {
                minval: -0.05,
                maxval: 0.05,
            },
            "truncated_normal" | "TruncatedNormal" => Initializer::TruncatedNormal {
                mean: 0.0,
                stddev: 0.05,
            },
            "glorot_uniform" | "GlorotUniform" => vs(1.0, FanAvg, Uniform),
            "glorot_normal" | "GlorotNormal" => vs(1.0, FanAvg, TruncatedNormal),
            "he_normal" | "HeNormal" => vs(2.0, FanIn, TruncatedNormal),
            "he_uniform" | "HeUniform" => vs(2.0, FanIn, Uniform),
            "lecun_normal" | "LecunNormal" => vs(1.0, FanIn, TruncatedNormal),
            "lecun_uniform" | "LecunUniform" => vs(1.0, FanIn, Uniform),
            "variance_scaling" | "VarianceScaling" => vs(1.0, FanIn, TruncatedNormal),
            "orthogonal" | "Orthogonal" => Initializer::Orthogonal { gain: 1.0 },
            _ => return Err(Error::unknown("initializer", s, NAMES)),
        })
    }
}

/// `(fan_in, fan_out)` as Keras computes them (conv kernels multiply by the receptive field).
pub fn compute_fans(shape: &[usize]) -> (f64, f64) {
    match shape.len() {
        0 => (1.0, 1.0),
        1 => (shape[0] as f64, shape[0] as f64),
        2 => (shape[0] as f64, shape[1] as f64),
        n => {
            let rf: usize = shape[..n - 2].iter().product();
            ((shape[n - 2] * rf) as f64, (shape[n - 1] * rf) as f64)
        }
    }
}

/// Keras divides the truncated normal's stddev by this so the truncated variance is right:
/// the standard deviation of a unit normal truncated to (-2, 2).
const TRUNC_STD: f64 = 0.879_625_661_034_239_8;

fn truncated_normal(rng: &mut Rng) -> f64 {
    loop {
        let z = rng.normal();
        if z.abs() < 2.0 {
            return z;
        }
    }
}

impl Initializer {
    /// An initializer from its Keras name (snake or class case) and config.
    pub fn from_config(name: &str, config: &serde_json::Value) -> Result<Self> {
        let f = |k: &str| config.get(k).and_then(|v| v.as_f64()).map(|v| v as f32);
        let mut init: Initializer = name.parse()?;
        match &mut init {
            Initializer::Constant(v) => *v = f("value").unwrap_or(0.0),
            Initializer::RandomNormal { mean, stddev }
            | Initializer::TruncatedNormal { mean, stddev } => {
                *mean = f("mean").unwrap_or(*mean);
                *stddev = f("stddev").unwrap_or(*stddev);
            }
            Initializer::RandomUniform { minval, maxval } => {
                *minval = f("minval").unwrap_or(*minval);
                *maxval = f("maxval").unwrap_or(*maxval);
            }
            Initializer::Orthogonal { gain } => *gain = f("gain").unwrap_or(1.0),
            Initializer::VarianceScaling {
                scale,
                mode,
                distribution,
            } if name == "variance_scaling" || name == "VarianceScaling" => {
                *scale = f("scale").unwrap_or(1.0);
                *mode = match config
                    .get("mode")
                    .and_then(|v| v.as_str())
                    .unwrap_or("fan_in")
                {
                    "fan_in" => FanMode::FanIn,
                    "fan_out" => FanMode::FanOut,
                    "fan_avg" => FanMode::FanAvg,
                    m => {
                        return Err(Error::unknown(
                            "variance_scaling mode",
                            m,
                            &["fan_in", "fan_out", "fan_avg"],
                        ))
                    }
                };
                *distribution = match config
                    .get("distribution")
                    .and_then(|v| v.as_str())
                    .unwrap_or("truncated_normal")
                {
                    "truncated_normal" => Distribution::TruncatedNormal,
                    "untruncated_normal" | "normal" => Distribution::UntruncatedNormal,
                    "uniform" => Distribution::Uniform,
                    d => {
                        return Err(Error::unknown(
                            "variance_scaling distribution",
                            d,
                            &["truncated_normal", "untruncated_normal", "uniform"],
                        ))
                    }
                };
            }
            _ => {}
        }
        Ok(init)
    }

    /// The Keras class name (for configs).
    pub fn class_name(&self) -> &'static str {
        match self {
            Initializer::Zeros => "Zeros",
            Initializer::Ones => "Ones",
            Initializer::Constant(_) => "Constant",
            Initializer::RandomNormal { .. } => "RandomNormal",
            Initializer::RandomUniform { .. } => "RandomUniform",
            Initializer::TruncatedNormal { .. } => "TruncatedNormal",
            Initializer::VarianceScaling {
                scale,
                mode,
                distribution,
            } => match (*scale, mode, distribution) {
                (1.0, FanMode::FanAvg, Distribution::Uniform) => "GlorotUniform",
                (1.0, FanMode::FanAvg, Distribution::TruncatedNormal) => "GlorotNormal",
                (2.0, FanMode::FanIn, Distribution::TruncatedNormal) => "HeNormal",
                (2.0, FanMode::FanIn, Distribution::Uniform) => "HeUniform",
                (1.0, FanMode::FanIn, Distribution::TruncatedNormal) => "LecunNormal",
                (1.0, FanMode::FanIn, Distribution::Uniform) => "LecunUniform",
                _ => "VarianceScaling",
            },
            Initializer::Orthogonal { .. } => "Orthogonal",
        }
    }

    /// Draws a tensor of `shape` (row-major).
    pub fn sample(&self, shape: &[usize], rng: &mut Rng) -> Vec<f32> {
        let n: usize = shape.iter().product();
        match *self {
            Initializer::Zeros => vec![0.0; n],
            Initializer::Ones => vec![1.0; n],
            Initializer::Constant(v) => vec![v; n],
            Initializer::RandomNormal { mean, stddev } => (0..n)
                .map(|_| (mean as f64 + stddev as f64 * rng.normal()) as f32)
                .collect(),
            Initializer::RandomUniform { minval, maxval } => {
                (0..n).map(|_| rng.uniform_range(minval, maxval)).collect()
            }
            Initializer::TruncatedNormal { mean, stddev } => (0..n)
                .map(|_| (mean as f64 + stddev as f64 * truncated_normal(rng)) as f32)
                .collect(),
            Initializer::VarianceScaling {
                scale,
                mode,
                distribution,
            } => {
                let (fan_in, fan_out) = compute_fans(shape);
                let fan = match mode {
                    FanMode::FanIn => fan_in,
                    FanMode::FanOut => fan_out,
                    FanMode::FanAvg => (fan_in + fan_out) / 2.0,
                }
                .max(1.0);
                let var = scale as f64 / fan;
                match distribution {
                    Distribution::Uniform => {
                        let limit = (3.0 * var).sqrt() as f32;
                        (0..n).map(|_| rng.uniform_range(-limit, limit)).collect()
                    }
                    Distribution::TruncatedNormal => {
                        let sd = var.sqrt() / TRUNC_STD;
                        (0..n)
                            .map(|_| (sd * truncated_normal(rng)) as f32)
                            .collect()
                    }
                    Distribution::UntruncatedNormal => {
                        let sd = var.sqrt();
                        (0..n).map(|_| (sd * rng.normal()) as f32).collect()
                    }
                }
            }
            Initializer::Orthogonal { gain } => orthogonal(shape, gain, rng),
        }
    }
}

/// Keras's recipe: QR of a normal matrix, columns sign-corrected by R's diagonal, transposed
/// when the matrix is wide. Householder-free: modified Gram-Schmidt in f64, twice, which is
/// orthogonal to machine precision at these sizes.
fn orthogonal(shape: &[usize], gain: f32, rng: &mut Rng) -> Vec<f32> {
    let n: usize = shape.iter().product();
    if shape.len() < 2 || n == 0 {
        return (0..n)
            .map(|_| (rng.normal() * gain as f64) as f32)
            .collect();
    }
    let cols = shape[shape.len() - 1];
    let rows = n / cols;
    let (r, c) = (rows.max(cols), rows.min(cols));
    // a: r x c, stored by columns.
    let mut q: Vec<Vec<f64>> = (0..c)
        .map(|_| (0..r).map(|_| rng.normal()).collect())
        .collect();
    for j in 0..c {
        // Two passes of orthogonalisation keep q orthogonal to machine precision.
        for _ in 0..2 {
            let (done, rest) = q.split_at_mut(j);
            let qj = &mut rest[0];
            for qi in done.iter() {
                let d: f64 = qi.iter().zip(qj.iter()).map(|(a, b)| a * b).sum();
                qj.iter_mut().zip(qi).for_each(|(v, a)| *v -= d * a);
            }
            let norm: f64 = q[j].iter().map(|v| v * v).sum::<f64>().sqrt();
            let inv = if norm > 0.0 { 1.0 / norm } else { 0.0 };
            q[j].iter_mut().for_each(|v| *v *= inv);
        }
    }
    let mut out = vec![0.0f32; n];
    for i in 0..rows {
        for j in 0..cols {
            // q is r x c; if rows < cols the result is qᵀ.
            let v = if rows >= cols { q[j][i] } else { q[i][j] };
            out[i * cols + j] = (v * gain as f64) as f32;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orthogonal_is_orthogonal() {
        for (r, c) in [(16, 16), (8, 16), (16, 8)] {
            let w = Initializer::Orthogonal { gain: 1.0 }.sample(&[r, c], &mut Rng::new(3));
            let (small, big) = (r.min(c), r.max(c));
            for a in 0..small {
                for b in 0..small {
                    let d: f32 = (0..big)
                        .map(|k| {
                            if r >= c {
                                w[k * c + a] * w[k * c + b]
                            } else {
                                w[a * c + k] * w[b * c + k]
                            }
                        })
                        .sum();
                    let want = if a == b { 1.0 } else { 0.0 };
                    assert!((d - want).abs() < 1e-5, "{r}x{c} ({a},{b}) = {d}");
                }
            }
        }
    }
}
