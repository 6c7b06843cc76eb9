//! Activation functions with their exact derivatives, named as Keras names them.
//!
//! ```
//! use kerust::activations::Activation;
//! let relu: Activation = "relu".parse().unwrap();
//! let mut y = [0.0f32; 3];
//! relu.forward(&[-1.0, 0.0, 2.0], &mut y, &[3]);
//! assert_eq!(y, [0.0, 0.0, 2.0]);
//! ```
//!
//! Two activations the tutorials list have no Keras counterpart and are kerust's own:
//! `binary_step` (1 for x >= 0, else 0; its derivative is zero everywhere, so nothing below
//! it learns: use it only for the last layer of a model you do not train by gradient) and
//! `arctan` (output in (-pi/2, pi/2)).

use crate::kernels;
use crate::{Error, Result};
use std::str::FromStr;

const SELU_ALPHA: f32 = 1.673_263_2;
const SELU_SCALE: f32 = 1.050_701;

/// An activation function. Parse one from its Keras name with `"relu".parse()`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    /// `x`.
    Linear,
    /// Keras's `relu(x, negative_slope, max_value, threshold)`; plain `relu` is all defaults.
    Relu {
        /// Slope below the threshold (default 0).
        negative_slope: f32,
        /// Saturation value (default none).
        max_value: Option<f32>,
        /// Values at or below it are zeroed (default 0).
        threshold: f32,
    },
    /// `x` for `x >= 0`, else `negative_slope * x` (Keras's function default 0.2).
    LeakyRelu {
        /// The slope for negative inputs.
        negative_slope: f32,
    },
    /// `x` for `x > 0`, else `alpha * (exp(x) - 1)`.
    Elu {
        /// Scale of the negative part (default 1).
        alpha: f32,
    },
    /// Scaled ELU with Keras's fixed constants.
    Selu,
    /// Gaussian error linear unit: exact (erf) form unless `approximate` (tanh form).
    Gelu {
        /// Use the tanh approximation.
        approximate: bool,
    },
    /// `x * sigmoid(x)` (Keras also calls it `swish`).
    Silu,
    /// `1 / (1 + exp(-x))`.
    Sigmoid,
    /// `relu6(x + 3) / 6`, Keras 3's definition.
    HardSigmoid,
    /// `x * hard_sigmoid(x)` (alias `hard_swish`).
    HardSilu,
    /// Hyperbolic tangent.
    Tanh,
    /// Softmax along `axis` (default -1), computed stably.
    Softmax {
        /// The axis to normalise over; negative counts from the end.
        axis: isize,
    },
    /// Log of softmax along `axis`.
    LogSoftmax {
        /// The axis to normalise over; negative counts from the end.
        axis: isize,
    },
    /// `log(1 + exp(x))`, computed stably.
    Softplus,
    /// `x / (1 + |x|)`.
    Softsign,
    /// `exp(x)`.
    Exponential,
    /// `min(max(x, 0), 6)`.
    Relu6,
    /// `x * tanh(softplus(x))`.
    Mish,
    /// 1 for `x >= 0`, else 0 (not in Keras; zero gradient).
    BinaryStep,
    /// `atan(x)` (not in Keras).
    Arctan,
}

/// Every name [`Activation::from_str`] accepts.
pub const NAMES: &[&str] = &[
    "linear",
    "relu",
    "leaky_relu",
    "elu",
    "selu",
    "gelu",
    "silu",
    "swish",
    "sigmoid",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "tanh",
    "softmax",
    "log_softmax",
    "softplus",
    "softsign",
    "exponential",
    "relu6",
    "mish",
    "binary_step",
    "arctan",
];

impl FromStr for Activation {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "linear" | "None" | "none" | "" => Activation::Linear,
            "relu" => Activation::relu(),
            "leaky_relu" => Activation::LeakyRelu {
                negative_slope: 0.2,
            },
            "elu" => Activation::Elu { alpha: 1.0 },
            "selu" => Activation::Selu,
            "gelu" => Activation::Gelu { approximate: false },
            "silu" | "swish" => Activation::Silu,
            "sigmoid" => Activation::Sigmoid,
            "hard_sigmoid" => Activation::HardSigmoid,
            "hard_silu" | "hard_swish" => Activation::HardSilu,
            "tanh" => Activation::Tanh,
            "softmax" => Activation::Softmax { axis: -1 },
            "log_softmax" => Activation::LogSoftmax { axis: -1 },
            "softplus" => Activation::Softplus,
            "softsign" => Activation::Softsign,
            "exponential" => Activation::Exponential,
            "relu6" => Activation::Relu6,
            "mish" => Activation::Mish,
            "binary_step" => Activation::BinaryStep,
            "arctan" => Activation::Arctan,
            _ => return Err(Error::unknown("activation", s, NAMES)),
        })
    }
}

impl From<&str> for Activation {
    /// Parses a Keras name; panics on an unknown name, so prefer `str::parse` for user input.
    /// This impl exists for literals in code, as in `Dense::new(10).activation("softmax")`.
    fn from(s: &str) -> Self {
        s.parse().unwrap_or_else(|e| panic!("{e}"))
    }
}

#[inline]
fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

#[inline]
fn softplus(x: f32) -> f32 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// Complementary error function, fractional error below 1.2e-7 everywhere (Chebyshev fit).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// Standard normal CDF.
#[inline]
fn phi_cdf(x: f32) -> f32 {
    (0.5 * erfc(-(x as f64) * std::f64::consts::FRAC_1_SQRT_2)) as f32
}

const SQRT_2_OVER_PI: f32 = 0.797_884_6;
const GELU_C: f32 = 0.044_715;

#[inline]
fn hard_sigmoid(x: f32) -> f32 {
    (x + 3.0).clamp(0.0, 6.0) / 6.0
}

/// `(outer, n, inner)` for a reduction along `axis` of `shape`.
fn axis_split(shape: &[usize], axis: isize) -> (usize, usize, usize) {
    if shape.is_empty() {
        return (1, 1, 1);
    }
    let r = shape.len() as isize;
    let a = if axis < 0 { axis + r } else { axis }.clamp(0, r - 1) as usize;
    let outer = shape[..a].iter().product();
    let inner = shape[a + 1..].iter().product();
    (outer, shape[a], inner)
}

impl Activation {
    /// Plain `relu` (all Keras defaults).
    pub const fn relu() -> Self {
        Activation::Relu {
            negative_slope: 0.0,
            max_value: None,
            threshold: 0.0,
        }
    }

    /// The Keras name, as written in a model config.
    pub fn name(&self) -> &'static str {
        match self {
            Activation::Linear => "linear",
            Activation::Relu { .. } => "relu",
            Activation::LeakyRelu { .. } => "leaky_relu",
            Activation::Elu { .. } => "elu",
            Activation::Selu => "selu",
            Activation::Gelu { .. } => "gelu",
            Activation::Silu => "silu",
            Activation::Sigmoid => "sigmoid",
            Activation::HardSigmoid => "hard_sigmoid",
            Activation::HardSilu => "hard_silu",
            Activation::Tanh => "tanh",
            Activation::Softmax { .. } => "softmax",
            Activation::LogSoftmax { .. } => "log_softmax",
            Activation::Softplus => "softplus",
            Activation::Softsign => "softsign",
            Activation::Exponential => "exponential",
            Activation::Relu6 => "relu6",
            Activation::Mish => "mish",
            Activation::BinaryStep => "binary_step",
            Activation::Arctan => "arctan",
        }
    }

    /// True when the backward pass needs the activation's input, not only its output.
    pub fn backward_needs_input(&self) -> bool {
        match self {
            Activation::Relu {
                negative_slope,
                max_value,
                threshold,
            } => *negative_slope != 0.0 || max_value.is_some() || *threshold != 0.0,
            Activation::Linear
            | Activation::Sigmoid
            | Activation::Tanh
            | Activation::Softmax { .. }
            | Activation::LogSoftmax { .. }
            | Activation::Exponential
            | Activation::Relu6
            | Activation::HardSigmoid
            | Activation::BinaryStep => false,
            _ => true,
        }
    }

    /// True for the identity.
    pub fn is_linear(&self) -> bool {
        matches!(self, Activation::Linear)
    }

    /// `y = f(x)`; `shape` matters only for softmax and log_softmax.
    pub fn forward(&self, x: &[f32], y: &mut [f32], shape: &[usize]) {
        y.copy_from_slice(x);
        self.forward_inplace(y, shape);
    }

    /// [`forward_inplace`](Self::forward_inplace) over a batch (`shape[0]` samples), split
    /// by samples over the threads when it is large: every sample's values are computed
    /// alone, so the result is the same at any thread count.
    pub(crate) fn forward_inplace_batch(&self, x: &mut [f32], shape: &[usize]) {
        if shape.len() > MAX_PART_AXES {
            return self.forward_inplace(x, shape);
        }
        let batch = shape.first().copied().unwrap_or(1);
        let len = x.len();
        kernels::split_samples(batch, (0, len), &mut [x], &|s, bufs| {
            let [xp] = bufs else { unreachable!() };
            self.forward_inplace(xp, &part_shape(shape, s.len()));
        });
    }

    /// [`backward`](Self::backward) over a batch, split by samples as
    /// [`forward_inplace_batch`](Self::forward_inplace_batch) is.
    pub(crate) fn backward_batch(&self, x: &[f32], y: &[f32], g: &mut [f32], shape: &[usize]) {
        if shape.len() > MAX_PART_AXES {
            return self.backward(x, y, g, shape);
        }
        let batch = shape.first().copied().unwrap_or(1);
        let (len, per) = (g.len(), g.len() / batch.max(1));
        kernels::split_samples(batch, (0, len), &mut [g], &|s, bufs| {
            let [gp] = bufs else { unreachable!() };
            let r = s.start * per..s.end * per;
            let xp = if x.is_empty() { x } else { &x[r.clone()] };
            self.backward(xp, &y[r], gp, &part_shape(shape, s.len()));
        });
    }

    /// `x = f(x)` in place.
    pub fn forward_inplace(&self, x: &mut [f32], shape: &[usize]) {
        #[inline(always)]
        fn map(x: &mut [f32], f: impl Fn(f32) -> f32) {
            for v in x.iter_mut() {
                *v = f(*v);
            }
        }
        match *self {
            Activation::Linear => {}
            Activation::Relu {
                negative_slope,
                max_value,
                threshold,
            } => {
                if negative_slope == 0.0 && max_value.is_none() && threshold == 0.0 {
                    map(x, |v| v.max(0.0));
                } else {
                    map(x, |v| relu_general(v, negative_slope, max_value, threshold))
                }
            }
            Activation::LeakyRelu { negative_slope } => {
                map(x, |v| if v >= 0.0 { v } else { negative_slope * v })
            }
            Activation::Elu { alpha } => map(x, |v| if v > 0.0 { v } else { alpha * v.exp_m1() }),
            Activation::Selu => map(x, |v| {
                SELU_SCALE * if v > 0.0 { v } else { SELU_ALPHA * v.exp_m1() }
            }),
            Activation::Gelu { approximate: false } => map(x, |v| v * phi_cdf(v)),
            Activation::Gelu { approximate: true } => map(x, |v| {
                0.5 * v * (1.0 + (SQRT_2_OVER_PI * (v + GELU_C * v * v * v)).tanh())
            }),
            Activation::Silu => map(x, |v| v * sigmoid(v)),
            // Vectorized, within 2 ulps of the exact values (kernels::vmath).
            Activation::Sigmoid => crate::kernels::vmath::sigmoid_inplace(x),
            Activation::HardSigmoid => map(x, hard_sigmoid),
            Activation::HardSilu => map(x, |v| v * hard_sigmoid(v)),
            Activation::Tanh => crate::kernels::vmath::tanh_inplace(x),
            Activation::Softmax { axis } => softmax_axis(x, shape, axis, false),
            Activation::LogSoftmax { axis } => softmax_axis(x, shape, axis, true),
            Activation::Softplus => map(x, softplus),
            Activation::Softsign => map(x, |v| v / (1.0 + v.abs())),
            Activation::Exponential => map(x, f32::exp),
            Activation::Relu6 => map(x, |v| v.clamp(0.0, 6.0)),
            Activation::Mish => map(x, |v| v * softplus(v).tanh()),
            Activation::BinaryStep => map(x, |v| if v >= 0.0 { 1.0 } else { 0.0 }),
            Activation::Arctan => map(x, f32::atan),
        }
    }

    /// Turns `g = dL/dy` into `dL/dx` in place, given the output `y` and, when
    /// [`backward_needs_input`](Self::backward_needs_input), the input `x` (else `x` may be empty).
    pub fn backward(&self, x: &[f32], y: &[f32], g: &mut [f32], shape: &[usize]) {
        #[inline(always)]
        fn by_y(g: &mut [f32], y: &[f32], f: impl Fn(f32) -> f32) {
            for (g, &y) in g.iter_mut().zip(y) {
                *g *= f(y);
            }
        }
        #[inline(always)]
        fn by_x(g: &mut [f32], x: &[f32], f: impl Fn(f32) -> f32) {
            for (g, &x) in g.iter_mut().zip(x) {
                *g *= f(x);
            }
        }
        match *self {
            Activation::Linear => {}
            Activation::Relu {
                negative_slope,
                max_value,
                threshold,
            } => {
                if negative_slope == 0.0 && max_value.is_none() && threshold == 0.0 {
                    by_y(g, y, |y| if y > 0.0 { 1.0 } else { 0.0 });
                } else {
                    by_x(g, x, |x| {
                        relu_general_grad(x, negative_slope, max_value, threshold)
                    })
                }
            }
            Activation::LeakyRelu { negative_slope } => {
                by_x(g, x, |x| if x >= 0.0 { 1.0 } else { negative_slope })
            }
            Activation::Elu { alpha } => {
                by_x(g, x, |x| if x > 0.0 { 1.0 } else { alpha * x.exp() })
            }
            Activation::Selu => by_x(g, x, |x| {
                if x > 0.0 {
                    SELU_SCALE
                } else {
                    SELU_SCALE * SELU_ALPHA * x.exp()
                }
            }),
            Activation::Gelu { approximate: false } => by_x(g, x, |x| {
                let pdf = (-0.5 * x * x).exp() * 0.398_942_3;
                phi_cdf(x) + x * pdf
            }),
            // In f64: in f32, 1 + tanh(u) cancels catastrophically for x < -4.
            Activation::Gelu { approximate: true } => by_x(g, x, |x| {
                let (x, k, c) = (x as f64, SQRT_2_OVER_PI as f64, GELU_C as f64);
                let t = (k * (x + c * x * x * x)).tanh();
                (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * k * (1.0 + 3.0 * c * x * x)) as f32
            }),
            Activation::Silu => by_x(g, x, |x| {
                let s = sigmoid(x);
                s * (1.0 + x * (1.0 - s))
            }),
            Activation::Sigmoid => by_y(g, y, |y| y * (1.0 - y)),
            Activation::HardSigmoid => {
                by_y(g, y, |y| if y > 0.0 && y < 1.0 { 1.0 / 6.0 } else { 0.0 })
            }
            Activation::HardSilu => by_x(g, x, |x| {
                let d = if x > -3.0 && x < 3.0 { 1.0 / 6.0 } else { 0.0 };
                hard_sigmoid(x) + x * d
            }),
            Activation::Tanh => by_y(g, y, |y| 1.0 - y * y),
            Activation::Softmax { axis } => softmax_backward(y, g, shape, axis, false),
            Activation::LogSoftmax { axis } => softmax_backward(y, g, shape, axis, true),
            Activation::Softplus => by_x(g, x, sigmoid),
            Activation::Softsign => by_x(g, x, |x| {
                let d = 1.0 + x.abs();
                1.0 / (d * d)
            }),
            Activation::Exponential => by_y(g, y, |y| y),
            Activation::Relu6 => by_y(g, y, |y| if y > 0.0 && y < 6.0 { 1.0 } else { 0.0 }),
            Activation::Mish => by_x(g, x, |x| {
                let t = softplus(x).tanh();
                t + x * (1.0 - t * t) * sigmoid(x)
            }),
            Activation::BinaryStep => g.fill(0.0),
            Activation::Arctan => by_x(g, x, |x| 1.0 / (1.0 + x * x)),
        }
    }
}

impl Activation {
    /// An activation from its Keras name and keyword arguments (`{"negative_slope": 0.1}`).
    pub fn from_config(name: &str, kwargs: &serde_json::Value) -> Result<Self> {
        let f = |k: &str| kwargs.get(k).and_then(|v| v.as_f64()).map(|v| v as f32);
        let mut a: Activation = name.parse()?;
        match &mut a {
            Activation::Relu {
                negative_slope,
                max_value,
                threshold,
            } => {
                *negative_slope = f("negative_slope").unwrap_or(0.0);
                *max_value = f("max_value");
                *threshold = f("threshold").unwrap_or(0.0);
            }
            Activation::LeakyRelu { negative_slope } => {
                *negative_slope = f("negative_slope").unwrap_or(*negative_slope)
            }
            Activation::Elu { alpha } => *alpha = f("alpha").unwrap_or(1.0),
            Activation::Gelu { approximate } => {
                *approximate = kwargs
                    .get("approximate")
                    .and_then(|v| v.as_bool())
                    .unwrap_or(false)
            }
            Activation::Softmax { axis } | Activation::LogSoftmax { axis } => {
                *axis = kwargs.get("axis").and_then(|v| v.as_i64()).unwrap_or(-1) as isize
            }
            _ => {}
        }
        Ok(a)
    }
}

fn relu_general(x: f32, slope: f32, max_value: Option<f32>, threshold: f32) -> f32 {
    let mut y = if threshold != 0.0 {
        if x > threshold {
            x
        } else {
            0.0
        }
    } else {
        x.max(0.0)
    };
    if let Some(m) = max_value {
        y = y.clamp(0.0, m);
    }
    if slope != 0.0 {
        y -= slope * (threshold - x).max(0.0);
    }
    y
}

fn relu_general_grad(x: f32, slope: f32, max_value: Option<f32>, threshold: f32) -> f32 {
    // Keras routes two special cases to other primitives, whose derivatives at the kinks
    // differ: leaky_relu (1 at 0) and relu6 (0 at 0 and 6).
    if slope != 0.0 && max_value.is_none() && threshold == 0.0 {
        return if x >= 0.0 { 1.0 } else { slope };
    }
    let mut d = if x > threshold { 1.0 } else { 0.0 };
    match max_value {
        Some(6.0) if threshold == 0.0 && x >= 6.0 => d = 0.0,
        Some(6.0) if threshold == 0.0 => {}
        Some(m) if x >= m => d = if x == m { 0.5 } else { 0.0 },
        _ => {}
    }
    if slope != 0.0 && x < threshold {
        d += slope;
    }
    d
}

fn softmax_axis(x: &mut [f32], shape: &[usize], axis: isize, log: bool) {
    let (outer, n, inner) = axis_split(shape, axis);
    if n == 0 {
        return;
    }
    for o in 0..outer {
        for i in 0..inner {
            let base = o * n * inner + i;
            let idx = |j: usize| base + j * inner;
            let mut m = f32::NEG_INFINITY;
            for j in 0..n {
                m = m.max(x[idx(j)]);
            }
            let mut s = 0.0f32;
            for j in 0..n {
                let e = (x[idx(j)] - m).exp();
                s += e;
                if !log {
                    x[idx(j)] = e;
                }
            }
            if log {
                let ls = s.ln();
                for j in 0..n {
                    x[idx(j)] = x[idx(j)] - m - ls;
                }
            } else {
                let inv = 1.0 / s;
                for j in 0..n {
                    x[idx(j)] *= inv;
                }
            }
        }
    }
}

fn softmax_backward(y: &[f32], g: &mut [f32], shape: &[usize], axis: isize, log: bool) {
    let (outer, n, inner) = axis_split(shape, axis);
    for o in 0..outer {
        for i in 0..inner {
            let base = o * n * inner + i;
            if log {
                let s: f32 = (0..n).map(|j| g[base + j * inner]).sum();
                for j in 0..n {
                    let k = base + j * inner;
                    g[k] -= y[k].exp() * s;
                }
            } else {
                let dot: f32 = (0..n)
                    .map(|j| g[base + j * inner] * y[base + j * inner])
                    .sum();
                for j in 0..n {
                    let k = base + j * inner;
                    g[k] = y[k] * (g[k] - dot);
                }
            }
        }
    }
}

/// The most axes a shape split by samples may have (Conv3D's outputs have 5).
const MAX_PART_AXES: usize = 6;

/// `shape` (at most [`MAX_PART_AXES`] axes) with its batch axis set to `batch`, on the
/// stack: a training step allocates nothing.
fn part_shape(shape: &[usize], batch: usize) -> PartShape {
    let mut dims = [0; MAX_PART_AXES];
    let n = shape.len();
    dims[..n].copy_from_slice(&shape[..n]);
    if n > 0 {
        dims[0] = batch;
    }
    PartShape(dims, n)
}

/// A small shape held by value (see [`part_shape`]).
struct PartShape([usize; MAX_PART_AXES], usize);

impl std::ops::Deref for PartShape {
    type Target = [usize];
    fn deref(&self) -> &[usize] {
        &self.0[..self.1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Finite-difference check of every activation's derivative, in f64-accurate central
    /// differences on points away from kinks.
    #[test]
    fn derivatives_match_finite_differences() {
        let xs: Vec<f32> = vec![-2.7, -1.3, -0.4, 0.35, 0.9, 1.7, 2.6, 4.4];
        let gs: Vec<f32> = vec![0.3, -1.1, 0.7, 0.2, -0.5, 0.9, -0.8, 0.4];
        let shape = [2, 4];
        for name in NAMES {
            let act: Activation = name.parse().unwrap();
            let loss = |x: &[f32]| -> f64 {
                let mut y = vec![0.0; x.len()];
                act.forward(x, &mut y, &shape);
                y.iter().zip(&gs).map(|(a, b)| *a as f64 * *b as f64).sum()
            };
            let mut y = vec![0.0; xs.len()];
            act.forward(&xs, &mut y, &shape);
            let mut g = gs.clone();
            act.backward(&xs, &y, &mut g, &shape);
            for i in 0..xs.len() {
                let h = 1e-2f32;
                let mut xp = xs.clone();
                xp[i] += h;
                let mut xm = xs.clone();
                xm[i] -= h;
                let fd = (loss(&xp) - loss(&xm)) / (2.0 * h as f64);
                let tol = 2e-3 * (1.0 + fd.abs());
                assert!(
                    (g[i] as f64 - fd).abs() < tol,
                    "{name}: analytic {} vs numeric {fd} at x={}",
                    g[i],
                    xs[i]
                );
            }
        }
    }

    #[test]
    fn unknown_name_lists_valid_ones() {
        let e = "relux".parse::<Activation>().unwrap_err().to_string();
        assert!(e.contains("relux") && e.contains("softmax"), "{e}");
    }
}
