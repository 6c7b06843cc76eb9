//! Normalization layers: `BatchNormalization`, `LayerNormalization`, `GroupNormalization`,
//! `UnitNormalization` (channels last: the normalized / scaled axis is the last one).

use super::activation::{initializer_config, IntoInitializer};
use super::{base_config, Layer, Param, Regularizer};
use crate::error::fmt_shape;
use crate::initializers::Initializer;
use crate::rng::Rng;
use crate::saving::config::{self as cfg, Keys};
use crate::tensor::Tensor;
use crate::{Error, Result};
use serde_json::Value;

/// The options every normalization layer with `gamma`/`beta` shares.
#[derive(Clone, Debug)]
struct Affine {
    center: bool,
    scale: bool,
    beta_initializer: Initializer,
    gamma_initializer: Initializer,
    beta_regularizer: Option<Regularizer>,
    gamma_regularizer: Option<Regularizer>,
}

impl Default for Affine {
    fn default() -> Self {
        Affine {
            center: true,
            scale: true,
            beta_initializer: Initializer::Zeros,
            gamma_initializer: Initializer::Ones,
            beta_regularizer: None,
            gamma_regularizer: None,
        }
    }
}

impl Affine {
    fn from_keys(keys: &mut Keys<'_>, ctx: &str) -> Result<Self> {
        let mut a = Affine {
            center: keys.bool("center", true)?,
            scale: keys.bool("scale", true)?,
            ..Affine::default()
        };
        if let Some(v) = keys.get("beta_initializer") {
            a.beta_initializer = cfg::initializer(v, ctx)?;
        }
        if let Some(v) = keys.get("gamma_initializer") {
            a.gamma_initializer = cfg::initializer(v, ctx)?;
        }
        a.beta_regularizer = cfg::regularizer(keys.get("beta_regularizer"), ctx)?;
        a.gamma_regularizer = cfg::regularizer(keys.get("gamma_regularizer"), ctx)?;
        keys.require("beta_constraint", |_| false, "weight constraints")?;
        keys.require("gamma_constraint", |_| false, "weight constraints")?;
        Ok(a)
    }

    fn write(&self, m: &mut serde_json::Map<String, Value>) {
        m.insert("center".into(), self.center.into());
        m.insert("scale".into(), self.scale.into());
        m.insert(
            "beta_initializer".into(),
            initializer_config(&self.beta_initializer),
        );
        m.insert(
            "gamma_initializer".into(),
            initializer_config(&self.gamma_initializer),
        );
        m.insert(
            "beta_regularizer".into(),
            super::weight_options::regularizer_config(self.beta_regularizer),
        );
        m.insert(
            "gamma_regularizer".into(),
            super::weight_options::regularizer_config(self.gamma_regularizer),
        );
        m.insert("beta_constraint".into(), Value::Null);
        m.insert("gamma_constraint".into(), Value::Null);
    }

    /// `gamma` (when `scale`) then `beta` (when `center`), Keras's order.
    fn build(&self, channels: usize, rng: &mut Rng, scale: bool, center: bool) -> Vec<Param> {
        let mut ps = Vec::new();
        if scale {
            let mut g = Param::new(
                "gamma",
                &[channels],
                self.gamma_initializer.sample(&[channels], rng),
            );
            g.regularizer = self.gamma_regularizer;
            ps.push(g);
        }
        if center {
            let mut b = Param::new(
                "beta",
                &[channels],
                self.beta_initializer.sample(&[channels], rng),
            );
            b.regularizer = self.beta_regularizer;
            ps.push(b);
        }
        ps
    }
}

fn set_init(slot: &mut Initializer, deferred: &mut Option<Error>, init: impl IntoInitializer) {
    match init.into_initializer() {
        Ok(i) => *slot = i,
        Err(e) => *deferred = Some(e),
    }
}

/// Reads Keras's `axis` (an integer or a list of one integer) and checks that it names the
/// last axis for inputs of `rank` sample axes (when known).
fn read_axis(keys: &mut Keys<'_>) -> Result<i64> {
    let v = match keys.get("axis") {
        None => return Ok(-1),
        Some(v) => v,
    };
    let single = match v {
        Value::Array(a) if a.len() == 1 => a[0].as_i64(),
        v => v.as_i64(),
    };
    match single {
        Some(a) if a == -1 || a >= 1 => Ok(a),
        _ => Err(keys.err(format!(
            "`axis` = {} is not supported; kerust normalizes over the last (channels) axis only",
            cfg::brief(v)
        ))),
    }
}

/// The last axis's size, or an error when `axis` is not the last axis or the input has none.
fn last_axis(layer: &str, name: &str, axis: i64, input_shape: &[usize]) -> Result<usize> {
    let rank = input_shape.len() as i64;
    let c = input_shape.last().copied().unwrap_or(0);
    if input_shape.is_empty() || c == 0 {
        return Err(Error::shape(
            format!("{layer} layer '{name}'"),
            "an input with a last axis of size > 0, e.g. (None, 16)",
            fmt_shape(None, input_shape),
        ));
    }
    if axis != -1 && axis != rank {
        return Err(Error::arg(
            "axis",
            format!(
                "{layer} layer '{name}': axis {axis} is not the last axis of inputs {}; kerust normalizes over the last (channels) axis only",
                fmt_shape(None, input_shape)
            ),
        ));
    }
    checked_len(input_shape, layer)?;
    Ok(c)
}

fn checked_len(input_shape: &[usize], layer: &str) -> Result<usize> {
    super::checked_product(input_shape, layer)
}

fn rsqrt(v: f32) -> f32 {
    1.0 / v.sqrt()
}

// ---------------------------------------------------------------------------------------
// BatchNormalization
// ---------------------------------------------------------------------------------------

/// Keras's `BatchNormalization` over the last (channels) axis.
///
/// In training it normalizes each channel with the batch's mean and (biased) variance and
/// updates `moving_mean`/`moving_variance` (`moving = moving * momentum + batch * (1 -
/// momentum)`); in inference, and when the layer is frozen, it uses the moving statistics.
/// Variables, in Keras's order: `gamma`, `beta` (trainable), `moving_mean`,
/// `moving_variance` (non-trainable).
///
/// ```
/// use kerust::prelude::*;
/// use kerust::layers::BatchNormalization;
/// let model = Sequential::new(vec![
///     Dense::new(16).input_shape(&[8]).into(),
///     BatchNormalization::new().momentum(0.9).epsilon(1e-5).into(),
/// ])?;
/// assert_eq!(model.count_params(), 8 * 16 + 16 + 4 * 16);
/// # Ok::<(), kerust::Error>(())
/// ```
#[derive(Debug)]
pub struct BatchNormalization {
    name: String,
    axis: i64,
    momentum: f32,
    epsilon: f32,
    affine: Affine,
    moving_mean_initializer: Initializer,
    moving_variance_initializer: Initializer,
    input_shape: Option<Vec<usize>>,
    deferred_error: Option<Error>,
    trainable: bool,
    params: Vec<Param>,
    channels: usize,
    out_shape: Vec<usize>,
    /// Whether the last forward pass used the batch's statistics.
    batch_stats: bool,
    /// Mean and 1/sqrt(var + eps) per channel used by the last forward pass.
    mean: Vec<f32>,
    rstd: Vec<f32>,
    acc: Vec<f64>,
    acc2: Vec<f64>,
}

impl Default for BatchNormalization {
    fn default() -> Self {
        Self::new()
    }
}

impl BatchNormalization {
    /// Keras's defaults: `axis=-1`, `momentum=0.99`, `epsilon=1e-3`, `center`, `scale`.
    pub fn new() -> Self {
        BatchNormalization {
            name: String::new(),
            axis: -1,
            momentum: 0.99,
            epsilon: 1e-3,
            affine: Affine::default(),
            moving_mean_initializer: Initializer::Zeros,
            moving_variance_initializer: Initializer::Ones,
            input_shape: None,
            deferred_error: None,
            trainable: true,
            params: Vec::new(),
            channels: 0,
            out_shape: Vec::new(),
            batch_stats: false,
            mean: Vec::new(),
            rstd: Vec::new(),
            acc: Vec::new(),
            acc2: Vec::new(),
        }
    }
    /// The normalized axis: `-1` (default) or the index of the last axis counting the batch.
    pub fn axis(mut self, axis: i64) -> Self {
        self.axis = axis;
        self
    }
    /// Momentum of the moving statistics (0.99).
    pub fn momentum(mut self, m: f32) -> Self {
        self.momentum = m;
        self
    }
    /// Added to the variance (1e-3).
    pub fn epsilon(mut self, e: f32) -> Self {
        self.epsilon = e;
        self
    }
    /// Whether to add `beta` (true).
    pub fn center(mut self, v: bool) -> Self {
        self.affine.center = v;
        self
    }
    /// Whether to multiply by `gamma` (true).
    pub fn scale(mut self, v: bool) -> Self {
        self.affine.scale = v;
        self
    }
    /// `beta`'s initializer (`zeros`).
    pub fn beta_initializer(mut self, init: impl IntoInitializer) -> Self {
        set_init(
            &mut self.affine.beta_initializer,
            &mut self.deferred_error,
            init,
        );
        self
    }
    /// `gamma`'s initializer (`ones`).
    pub fn gamma_initializer(mut self, init: impl IntoInitializer) -> Self {
        set_init(
            &mut self.affine.gamma_initializer,
            &mut self.deferred_error,
            init,
        );
        self
    }
    /// `moving_mean`'s initializer (`zeros`).
    pub fn moving_mean_initializer(mut self, init: impl IntoInitializer) -> Self {
        set_init(
            &mut self.moving_mean_initializer,
            &mut self.deferred_error,
            init,
        );
        self
    }
    /// `moving_variance`'s initializer (`ones`).
    pub fn moving_variance_initializer(mut self, init: impl IntoInitializer) -> Self {
        set_init(
            &mut self.moving_variance_initializer,
            &mut self.deferred_error,
            init,
        );
        self
    }
    /// A penalty on `beta`.
    pub fn beta_regularizer(mut self, r: Regularizer) -> Self {
        self.affine.beta_regularizer = Some(r);
        self
    }
    /// A penalty on `gamma`.
    pub fn gamma_regularizer(mut self, r: Regularizer) -> Self {
        self.affine.gamma_regularizer = Some(r);
        self
    }
    /// The shape of one input sample, when this is the first layer.
    pub fn input_shape(mut self, shape: &[usize]) -> Self {
        self.input_shape = Some(shape.to_vec());
        self
    }
    /// A user-chosen layer name.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// Reads Keras's `BatchNormalization` config options.
    pub(crate) fn from_keys(keys: &mut Keys<'_>, ctx: &str) -> Result<Self> {
        let mut l = BatchNormalization::new();
        l.axis = read_axis(keys)?;
        if let Some(m) = keys.f32("momentum")? {
            l.momentum = m;
        }
        if let Some(e) = keys.f32("epsilon")? {
            l.epsilon = e;
        }
        l.affine = Affine::from_keys(keys, ctx)?;
        if let Some(v) = keys.get("moving_mean_initializer") {
            l.moving_mean_initializer = cfg::initializer(v, ctx)?;
        }
        if let Some(v) = keys.get("moving_variance_initializer") {
            l.moving_variance_initializer = cfg::initializer(v, ctx)?;
        }
        keys.require(
            "synchronized",
            |v| v == &Value::Bool(false),
            "synchronized statistics",
        )?;
        keys.require(
            "renorm",
            |v| v == &Value::Bool(false),
            "batch renormalization",
        )?;
        keys.require("renorm_clipping", cfg::is_empty, "batch renormalization")?;
        keys.ignore(&["renorm_momentum"]);
        l.validate().map_err(|e| keys.err(e.to_string()))?;
        Ok(l)
    }

    fn validate(&self) -> Result<()> {
        if !positive(self.epsilon) {
            return Err(Error::arg(
                "epsilon",
                format!(
                    "BatchNormalization layer '{}' needs epsilon > 0, got {}",
                    self.name, self.epsilon
                ),
            ));
        }
        if !(0.0..=1.0).contains(&self.momentum) {
            return Err(Error::arg(
                "momentum",
                format!(
                    "BatchNormalization layer '{}' needs momentum in [0, 1], got {}",
                    self.name, self.momentum
                ),
            ));
        }
        Ok(())
    }

    fn n_affine(&self) -> usize {
        self.affine.scale as usize + self.affine.center as usize
    }

    /// Whether a training pass uses (and updates) the batch's statistics: Keras's
    /// `training and self.trainable`.
    fn trains(&self) -> bool {
        let affine = &self.params[..self.n_affine().min(self.params.len())];
        self.trainable && (affine.is_empty() || affine.iter().any(|p| p.trainable))
    }
}

impl Layer for BatchNormalization {
    fn class_name(&self) -> &'static str {
        "BatchNormalization"
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn set_name(&mut self, name: String) {
        self.name = name;
    }
    fn declared_input_shape(&self) -> Option<&[usize]> {
        self.input_shape.as_deref()
    }
    fn plan(&self, input_shape: &[usize]) -> Result<(Vec<usize>, usize)> {
        let c = last_axis("BatchNormalization", &self.name, self.axis, input_shape)?;
        let n = c
            .checked_mul(2 + self.n_affine())
            .ok_or_else(|| Error::arg("shape", "the BatchNormalization layer's size overflows"))?;
        Ok((input_shape.to_vec(), n))
    }
    fn build(&mut self, input_shape: &[usize], rng: &mut Rng) -> Result<Vec<usize>> {
        if let Some(e) = self.deferred_error.take() {
            return Err(e);
        }
        self.validate()?;
        let c = self.plan(input_shape)?.0[input_shape.len() - 1];
        self.channels = c;
        let mut ps = self
            .affine
            .build(c, rng, self.affine.scale, self.affine.center);
        for (name, init) in [
            ("moving_mean", &self.moving_mean_initializer),
            ("moving_variance", &self.moving_variance_initializer),
        ] {
            let mut p = Param::new(name, &[c], init.sample(&[c], rng));
            p.trainable = false;
            ps.push(p);
        }
        for p in ps.iter_mut().take(self.n_affine()) {
            p.trainable = self.trainable;
        }
        self.params = ps;
        self.mean = vec![0.0; c];
        self.rstd = vec![0.0; c];
        self.acc = vec![0.0; c];
        self.acc2 = vec![0.0; c];
        self.out_shape = input_shape.to_vec();
        Ok(self.out_shape.clone())
    }
    fn output_shape(&self) -> &[usize] {
        &self.out_shape
    }
    fn forward(&mut self, x: &Tensor, y: &mut Tensor, training: bool) {
        y.resize(x.shape());
        let c = self.channels;
        let na = self.n_affine();
        self.batch_stats = training && self.trains();
        let rows = x.len() / c;
        if self.batch_stats && rows > 0 {
            self.acc.fill(0.0);
            for row in x.data().chunks_exact(c) {
                for (a, &v) in self.acc.iter_mut().zip(row) {
                    *a += v as f64;
                }
            }
            let inv_n = 1.0 / rows as f64;
            for (m, a) in self.mean.iter_mut().zip(&self.acc) {
                *m = (*a * inv_n) as f32;
            }
            self.acc2.fill(0.0);
            for row in x.data().chunks_exact(c) {
                for ((a, &v), &m) in self.acc2.iter_mut().zip(row).zip(&self.mean) {
                    let d = v as f64 - m as f64;
                    *a += d * d;
                }
            }
            let mom = self.momentum;
            let one_minus = (1.0 - mom as f64) as f32;
            for k in 0..c {
                let var = (self.acc2[k] * inv_n) as f32;
                self.rstd[k] = rsqrt(var + self.epsilon);
                let mm = &mut self.params[na].value.data_mut()[k];
                *mm = *mm * mom + self.mean[k] * one_minus;
                let mv = &mut self.params[na + 1].value.data_mut()[k];
                *mv = *mv * mom + var * one_minus;
            }
        } else {
            let (mm, mv) = (&self.params[na].value, &self.params[na + 1].value);
            for k in 0..c {
                self.mean[k] = mm.data()[k];
                self.rstd[k] = rsqrt(mv.data()[k] + self.epsilon);
            }
        }
        // y = x * inv + (beta - mean * inv), inv = rstd * gamma, as Keras computes it.
        let gamma = self.affine.scale.then(|| self.params[0].value.data());
        let beta = self
            .affine
            .center
            .then(|| self.params[self.affine.scale as usize].value.data());
        for k in 0..c {
            let inv = self.rstd[k] * gamma.map_or(1.0, |g| g[k]);
            self.acc[k] = inv as f64;
            self.acc2[k] = (-self.mean[k] * inv + beta.map_or(0.0, |b| b[k])) as f64;
        }
        for (yr, xr) in y
            .data_mut()
            .chunks_exact_mut(c)
            .zip(x.data().chunks_exact(c))
        {
            for k in 0..c {
                yr[k] = xr[k] * self.acc[k] as f32 + self.acc2[k] as f32;
            }
        }
    }
    fn backward(&mut self, x: &Tensor, _y: &Tensor, gy: &mut Tensor, gx: Option<&mut Tensor>) {
        let c = self.channels;
        let rows = x.len() / c;
        // acc = sum(g), acc2 = sum(g * xhat) per channel.
        self.acc.fill(0.0);
        self.acc2.fill(0.0);
        for (gr, xr) in gy.data().chunks_exact(c).zip(x.data().chunks_exact(c)) {
            for k in 0..c {
                let xhat = (xr[k] - self.mean[k]) * self.rstd[k];
                self.acc[k] += gr[k] as f64;
                self.acc2[k] += (gr[k] * xhat) as f64;
            }
        }
        let mut i = 0;
        if self.affine.scale {
            let p = &mut self.params[0];
            for (g, a) in p.grad.data_mut().iter_mut().zip(&self.acc2) {
                *g = *a as f32;
            }
            if let Some(r) = p.regularizer {
                r.add_grad(p.value.data(), p.grad.data_mut());
            }
            i += 1;
        }
        if self.affine.center {
            let p = &mut self.params[i];
            for (g, a) in p.grad.data_mut().iter_mut().zip(&self.acc) {
                *g = *a as f32;
            }
            if let Some(r) = p.regularizer {
                r.add_grad(p.value.data(), p.grad.data_mut());
            }
        }
        let Some(gx) = gx else { return };
        gx.resize(x.shape());
        let gamma = self.affine.scale.then(|| self.params[0].value.data());
        if self.batch_stats {
            let inv_n = 1.0 / rows as f64;
            for (s, s2) in self.acc.iter_mut().zip(self.acc2.iter_mut()) {
                *s *= inv_n;
                *s2 *= inv_n;
            }
            for ((gxr, gr), xr) in gx
                .data_mut()
                .chunks_exact_mut(c)
                .zip(gy.data().chunks_exact(c))
                .zip(x.data().chunks_exact(c))
            {
                for k in 0..c {
                    let xhat = (xr[k] - self.mean[k]) * self.rstd[k];
                    let scale = self.rstd[k] * gamma.map_or(1.0, |g| g[k]);
                    gxr[k] = scale * (gr[k] - self.acc[k] as f32 - xhat * self.acc2[k] as f32);
                }
            }
        } else {
            for (gxr, gr) in gx
                .data_mut()
                .chunks_exact_mut(c)
                .zip(gy.data().chunks_exact(c))
            {
                for k in 0..c {
                    gxr[k] = gr[k] * self.rstd[k] * gamma.map_or(1.0, |g| g[k]);
                }
            }
        }
    }
    fn params(&self) -> &[Param] {
        &self.params
    }
    fn params_mut(&mut self) -> &mut [Param] {
        &mut self.params
    }
    fn trainable(&self) -> bool {
        if self.params.is_empty() {
            self.trainable
        } else {
            self.trains()
        }
    }
    fn set_trainable(&mut self, trainable: bool) {
        self.trainable = trainable;
        let na = self.n_affine().min(self.params.len());
        for p in &mut self.params[..na] {
            p.trainable = trainable;
        }
    }
    fn config(&self) -> Value {
        let mut m = base_config(&self.name, true);
        m.insert("axis".into(), self.axis.into());
        m.insert("momentum".into(), self.momentum.into());
        m.insert("epsilon".into(), self.epsilon.into());
        self.affine.write(&mut m);
        m.insert(
            "moving_mean_initializer".into(),
            initializer_config(&self.moving_mean_initializer),
        );
        m.insert(
            "moving_variance_initializer".into(),
            initializer_config(&self.moving_variance_initializer),
        );
        m.insert("synchronized".into(), false.into());
        m.insert("renorm".into(), false.into());
        m.insert("renorm_clipping".into(), Value::Null);
        m.insert("renorm_momentum".into(), 0.99f32.into());
        Value::Object(m)
    }
}

// ---------------------------------------------------------------------------------------
// Group statistics: LayerNormalization and GroupNormalization
// ---------------------------------------------------------------------------------------

/// Per-group normalization of `x` seen as `[samples, positions, channels]`: each sample's
/// channels fall into `groups` groups, normalized over all positions and the group's
/// channels. Keeps what backward needs.
#[derive(Debug, Default)]
struct GroupStats {
    positions: usize,
    channels: usize,
    groups: usize,
    epsilon: f32,
    /// Keras's deprecated `rms_scaling`: `x * rsqrt(var + eps) * gamma` (no centering).
    rms: bool,
    mean: Vec<f32>,
    rstd: Vec<f32>,
    /// Per-group sums in backward; per-channel parameter gradients.
    dg: Vec<f64>,
    db: Vec<f64>,
}

impl GroupStats {
    fn group_len(&self) -> usize {
        self.positions * (self.channels / self.groups)
    }

    fn forward(&mut self, x: &[f32], y: &mut [f32], gamma: Option<&[f32]>, beta: Option<&[f32]>) {
        let (p, c, g) = (self.positions, self.channels, self.groups);
        let cg = c / g;
        let per_sample = p * c;
        let samples = x.len() / per_sample;
        self.mean.resize(samples * g, 0.0);
        self.rstd.resize(samples * g, 0.0);
        let m = self.group_len() as f64;
        for s in 0..samples {
            let xs = &x[s * per_sample..(s + 1) * per_sample];
            let ys = &mut y[s * per_sample..(s + 1) * per_sample];
            for gi in 0..g {
                let ch = gi * cg..(gi + 1) * cg;
                let mut sum = 0.0f64;
                for row in xs.chunks_exact(c) {
                    sum += row[ch.clone()].iter().map(|&v| v as f64).sum::<f64>();
                }
                let mean = (sum / m) as f32;
                let mut sq = 0.0f64;
                for row in xs.chunks_exact(c) {
                    sq += row[ch.clone()]
                        .iter()
                        .map(|&v| {
                            let d = v as f64 - mean as f64;
                            d * d
                        })
                        .sum::<f64>();
                }
                let var = (sq / m) as f32;
                let rstd = rsqrt(var + self.epsilon);
                self.mean[s * g + gi] = mean;
                self.rstd[s * g + gi] = rstd;
                for (yr, xr) in ys.chunks_exact_mut(c).zip(xs.chunks_exact(c)) {
                    for k in ch.clone() {
                        let inv = rstd * gamma.map_or(1.0, |gm| gm[k]);
                        yr[k] = if self.rms {
                            xr[k] * rstd * gamma.map_or(1.0, |gm| gm[k])
                        } else {
                            xr[k] * inv + (-mean * inv + beta.map_or(0.0, |b| b[k]))
                        };
                    }
                }
            }
        }
    }

    /// Sets `dgamma`/`dbeta` (per channel, into `dg`/`db`) and writes `gx` when given.
    fn backward(&mut self, x: &[f32], gy: &[f32], gamma: Option<&[f32]>, gx: Option<&mut [f32]>) {
        let (p, c, g) = (self.positions, self.channels, self.groups);
        let cg = c / g;
        let per_sample = p * c;
        let samples = x.len() / per_sample;
        self.dg.clear();
        self.dg.resize(c, 0.0);
        self.db.clear();
        self.db.resize(c, 0.0);
        let m = self.group_len() as f32;
        let mut gx = gx;
        for s in 0..samples {
            let xs = &x[s * per_sample..(s + 1) * per_sample];
            let gs = &gy[s * per_sample..(s + 1) * per_sample];
            for gi in 0..g {
                let ch = gi * cg..(gi + 1) * cg;
                let mean = self.mean[s * g + gi];
                let rstd = self.rstd[s * g + gi];
                // a = sum(dxhat), b = sum(dxhat * xhat) (or sum(dxhat * x) for rms).
                let mut a = 0.0f64;
                let mut b = 0.0f64;
                for (xr, gr) in xs.chunks_exact(c).zip(gs.chunks_exact(c)) {
                    for k in ch.clone() {
                        let gm = gamma.map_or(1.0, |gm| gm[k]);
                        let d = gr[k] * gm;
                        if self.rms {
                            self.dg[k] += (gr[k] * xr[k] * rstd) as f64;
                            b += (d * xr[k]) as f64;
                        } else {
                            let xhat = (xr[k] - mean) * rstd;
                            self.dg[k] += (gr[k] * xhat) as f64;
                            self.db[k] += gr[k] as f64;
                            a += d as f64;
                            b += (d * xhat) as f64;
                        }
                    }
                }
                let Some(gx) = gx.as_deref_mut() else {
                    continue;
                };
                let gxs = &mut gx[s * per_sample..(s + 1) * per_sample];
                let a = a as f32 / m;
                let b = b as f32 / m;
                for ((gxr, xr), gr) in gxs
                    .chunks_exact_mut(c)
                    .zip(xs.chunks_exact(c))
                    .zip(gs.chunks_exact(c))
                {
                    for k in ch.clone() {
                        let d = gr[k] * gamma.map_or(1.0, |gm| gm[k]);
                        gxr[k] = if self.rms {
                            rstd * d - rstd * rstd * rstd * (xr[k] - mean) * b
                        } else {
                            let xhat = (xr[k] - mean) * rstd;
                            rstd * (d - a - xhat * b)
                        };
                    }
                }
            }
        }
    }
}

/// Copies the per-channel gradients into `gamma`/`beta` params (Keras's order).
fn set_affine_grads(params: &mut [Param], scale: bool, center: bool, dg: &[f64], db: &[f64]) {
    let mut i = 0;
    if scale {
        let p = &mut params[0];
        for (g, v) in p.grad.data_mut().iter_mut().zip(dg) {
            *g = *v as f32;
        }
        if let Some(r) = p.regularizer {
            r.add_grad(p.value.data(), p.grad.data_mut());
        }
        i = 1;
    }
    if center {
        let p = &mut params[i];
        for (g, v) in p.grad.data_mut().iter_mut().zip(db) {
            *g = *v as f32;
        }
        if let Some(r) = p.regularizer {
            r.add_grad(p.value.data(), p.grad.data_mut());
        }
    }
}

// ---------------------------------------------------------------------------------------
// LayerNormalization
// ---------------------------------------------------------------------------------------

/// Keras's `LayerNormalization` over the last axis: each position's features are
/// normalized to zero mean and unit variance, then scaled by `gamma` and shifted by `beta`.
///
/// `rms_scaling(true)` reproduces Keras 3.15's (deprecated) option: `x * rsqrt(var + eps) *
/// gamma`, without centering and without `beta`.
///
/// ```
/// use kerust::prelude::*;
/// use kerust::layers::LayerNormalization;
/// let model = Sequential::new(vec![
///     Dense::new(16).input_shape(&[8]).into(),
///     LayerNormalization::new().epsilon(1e-6).into(),
/// ])?;
/// assert_eq!(model.count_params(), 8 * 16 + 16 + 2 * 16);
/// # Ok::<(), kerust::Error>(())
/// ```
#[derive(Debug)]
pub struct LayerNormalization {
    name: String,
    axis: i64,
    epsilon: f32,
    rms_scaling: bool,
    affine: Affine,
    input_shape: Option<Vec<usize>>,
    deferred_error: Option<Error>,
    params: Vec<Param>,
    out_shape: Vec<usize>,
    stats: GroupStats,
}

impl Default for LayerNormalization {
    fn default() -> Self {
        Self::new()
    }
}

impl LayerNormalization {
    /// Keras's defaults: `axis=-1`, `epsilon=1e-3`, `center`, `scale`.
    pub fn new() -> Self {
        LayerNormalization {
            name: String::new(),
            axis: -1,
            epsilon: 1e-3,
            rms_scaling: false,
            affine: Affine::default(),
            input_shape: None,
            deferred_error: None,
            params: Vec::new(),
            out_shape: Vec::new(),
            stats: GroupStats::default(),
        }
    }
    /// The normalized axis: `-1` (default) or the index of the last axis counting the batch.
    pub fn axis(mut self, axis: i64) -> Self {
        self.axis = axis;
        self
    }
    /// Added to the variance (1e-3).
    pub fn epsilon(mut self, e: f32) -> Self {
        self.epsilon = e;
        self
    }
    /// Whether to add `beta` (true).
    pub fn center(mut self, v: bool) -> Self {
        self.affine.center = v;
        self
    }
    /// Whether to multiply by `gamma` (true).
    pub fn scale(mut self, v: bool) -> Self {
        self.affine.scale = v;
        self
    }
    /// Keras's deprecated `rms_scaling` (false).
    pub fn rms_scaling(mut self, v: bool) -> Self {
        self.rms_scaling = v;
        self
    }
    /// `beta`'s initializer (`zeros`).
    pub fn beta_initializer(mut self, init: impl IntoInitializer) -> Self {
        set_init(
            &mut self.affine.beta_initializer,
            &mut self.deferred_error,
            init,
        );
        self
    }
    /// `gamma`'s initializer (`ones`).
    pub fn gamma_initializer(mut self, init: impl IntoInitializer) -> Self {
        set_init(
            &mut self.affine.gamma_initializer,
            &mut self.deferred_error,
            init,
        );
        self
    }
    /// A penalty on `beta`.
    pub fn beta_regularizer(mut self, r: Regularizer) -> Self {
        self.affine.beta_regularizer = Some(r);
        self
    }
    /// A penalty on `gamma`.
    pub fn gamma_regularizer(mut self, r: Regularizer) -> Self {
        self.affine.gamma_regularizer = Some(r);
        self
    }
    /// The shape of one input sample, when this is the first layer.
    pub fn input_shape(mut self, shape: &[usize]) -> Self {
        self.input_shape = Some(shape.to_vec());
        self
    }
    /// A user-chosen layer name.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// Reads Keras's `LayerNormalization` config options.
    pub(crate) fn from_keys(keys: &mut Keys<'_>, ctx: &str) -> Result<Self> {
        let mut l = LayerNormalization::new();
        l.axis = read_axis(keys)?;
        if let Some(e) = keys.f32("epsilon")? {
            l.epsilon = e;
        }
        l.rms_scaling = keys.bool("rms_scaling", false)?;
        l.affine = Affine::from_keys(keys, ctx)?;
        if !positive(l.epsilon) {
            return Err(keys.err(format!("`epsilon` must be > 0, got {}", l.epsilon)));
        }
        Ok(l)
    }

    fn has_gamma(&self) -> bool {
        self.affine.scale || self.rms_scaling
    }
    fn has_beta(&self) -> bool {
        self.affine.center && !self.rms_scaling
    }
}

impl Layer for LayerNormalization {
    fn class_name(&self) -> &'static str {
        "LayerNormalization"
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn set_name(&mut self, name: String) {
        self.name = name;
    }
    fn declared_input_shape(&self) -> Option<&[usize]> {
        self.input_shape.as_deref()
    }
    fn plan(&self, input_shape: &[usize]) -> Result<(Vec<usize>, usize)> {
        let c = last_axis("LayerNormalization", &self.name, self.axis, input_shape)?;
        let n = c * (self.has_gamma() as usize + self.has_beta() as usize);
        Ok((input_shape.to_vec(), n))
    }
    fn build(&mut self, input_shape: &[usize], rng: &mut Rng) -> Result<Vec<usize>> {
        if let Some(e) = self.deferred_error.take() {
            return Err(e);
        }
        if !positive(self.epsilon) {
            return Err(Error::arg(
                "epsilon",
                format!("LayerNormalization layer '{}' needs epsilon > 0", self.name),
            ));
        }
        self.plan(input_shape)?;
        let c = input_shape[input_shape.len() - 1];
        self.params = self.affine.build(c, rng, self.has_gamma(), self.has_beta());
        self.stats = GroupStats {
            positions: 1,
            channels: c,
            groups: 1,
            epsilon: self.epsilon,
            rms: self.rms_scaling,
            ..GroupStats::default()
        };
        self.out_shape = input_shape.to_vec();
        Ok(self.out_shape.clone())
    }
    fn output_shape(&self) -> &[usize] {
        &self.out_shape
    }
    fn forward(&mut self, x: &Tensor, y: &mut Tensor, _training: bool) {
        y.resize(x.shape());
        let (hg, hb) = (self.has_gamma(), self.has_beta());
        let gamma = hg.then(|| self.params[0].value.data());
        let beta = hb.then(|| self.params[hg as usize].value.data());
        self.stats.forward(x.data(), y.data_mut(), gamma, beta);
    }
    fn backward(&mut self, x: &Tensor, _y: &Tensor, gy: &mut Tensor, gx: Option<&mut Tensor>) {
        let hg = self.has_gamma();
        let gamma = hg.then(|| self.params[0].value.data());
        let gxd = gx.map(|t| {
            t.resize(x.shape());
            t.data_mut()
        });
        self.stats.backward(x.data(), gy.data(), gamma, gxd);
        let (hg, hb) = (self.has_gamma(), self.has_beta());
        set_affine_grads(&mut self.params, hg, hb, &self.stats.dg, &self.stats.db);
    }
    fn params(&self) -> &[Param] {
        &self.params
    }
    fn params_mut(&mut self) -> &mut [Param] {
        &mut self.params
    }
    fn config(&self) -> Value {
        let mut m = base_config(&self.name, true);
        // Keras writes the axis as a list once the layer is built.
        m.insert("axis".into(), serde_json::json!([self.axis]));
        m.insert("epsilon".into(), self.epsilon.into());
        self.affine.write(&mut m);
        m.insert("rms_scaling".into(), self.rms_scaling.into());
        Value::Object(m)
    }
}

// ---------------------------------------------------------------------------------------
// GroupNormalization
// ---------------------------------------------------------------------------------------

/// Keras's `GroupNormalization`: the channels (last axis) are split into `groups` groups,
/// each normalized per sample over all positions and its channels; `groups = -1` gives one
/// group per channel (instance normalization).
///
/// ```
/// use kerust::prelude::*;
/// use kerust::layers::GroupNormalization;
/// let model = Sequential::new(vec![
///     Dense::new(16).input_shape(&[4, 8]).into(),
///     GroupNormalization::new(4).into(),
/// ])?;
/// assert_eq!(model.count_params(), 8 * 16 + 16 + 2 * 16);
/// # Ok::<(), kerust::Error>(())
/// ```
#[derive(Debug)]
pub struct GroupNormalization {
    name: String,
    groups: i64,
    axis: i64,
    epsilon: f32,
    affine: Affine,
    input_shape: Option<Vec<usize>>,
    deferred_error: Option<Error>,
    params: Vec<Param>,
    out_shape: Vec<usize>,
    stats: GroupStats,
}

impl Default for GroupNormalization {
    fn default() -> Self {
        Self::new(32)
    }
}

impl GroupNormalization {
    /// `groups` groups (Keras's default is 32; `-1` means one per channel), `epsilon=1e-3`.
    pub fn new(groups: i64) -> Self {
        GroupNormalization {
            name: String::new(),
            groups,
            axis: -1,
            epsilon: 1e-3,
            affine: Affine::default(),
            input_shape: None,
            deferred_error: None,
            params: Vec::new(),
            out_shape: Vec::new(),
            stats: GroupStats::default(),
        }
    }
    /// The channels axis: `-1` (default) or the index of the last axis counting the batch.
    pub fn axis(mut self, axis: i64) -> Self {
        self.axis = axis;
        self
    }
    /// Added to the variance (1e-3).
    pub fn epsilon(mut self, e: f32) -> Self {
        self.epsilon = e;
        self
    }
    /// Whether to add `beta` (true).
    pub fn center(mut self, v: bool) -> Self {
        self.affine.center = v;
        self
    }
    /// Whether to multiply by `gamma` (true).
    pub fn scale(mut self, v: bool) -> Self {
        self.affine.scale = v;
        self
    }
    /// `beta`'s initializer (`zeros`).
    pub fn beta_initializer(mut self, init: impl IntoInitializer) -> Self {
        set_init(
            &mut self.affine.beta_initializer,
            &mut self.deferred_error,
            init,
        );
        self
    }
    /// `gamma`'s initializer (`ones`).
    pub fn gamma_initializer(mut self, init: impl IntoInitializer) -> Self {
        set_init(
            &mut self.affine.gamma_initializer,
            &mut self.deferred_error,
            init,
        );
        self
    }
    /// The shape of one input sample, when this is the first layer.
    pub fn input_shape(mut self, shape: &[usize]) -> Self {
        self.input_shape = Some(shape.to_vec());
        self
    }
    /// A user-chosen layer name.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// Reads Keras's `GroupNormalization` config options.
    pub(crate) fn from_keys(keys: &mut Keys<'_>, ctx: &str) -> Result<Self> {
        let groups = match keys.get("groups") {
            None => 32,
            Some(v) => v.as_i64().filter(|&g| g == -1 || g >= 1).ok_or_else(|| {
                keys.err(format!(
                    "`groups` must be a positive integer or -1, got {}",
                    cfg::brief(v)
                ))
            })?,
        };
        let mut l = GroupNormalization::new(groups);
        l.axis = read_axis(keys)?;
        if let Some(e) = keys.f32("epsilon")? {
            l.epsilon = e;
        }
        l.affine = Affine::from_keys(keys, ctx)?;
        if !positive(l.epsilon) {
            return Err(keys.err(format!("`epsilon` must be > 0, got {}", l.epsilon)));
        }
        Ok(l)
    }

    fn resolve_groups(&self, input_shape: &[usize]) -> Result<(usize, usize)> {
        let c = last_axis("GroupNormalization", &self.name, self.axis, input_shape)?;
        let g = if self.groups == -1 {
            c
        } else if self.groups >= 1 {
            usize::try_from(self.groups).unwrap_or(usize::MAX)
        } else {
            0
        };
        if g == 0 || g > c || c % g != 0 {
            return Err(Error::arg(
                "groups",
                format!(
                    "GroupNormalization layer '{}': {} groups must divide the {c} channels of inputs {}",
                    self.name,
                    self.groups,
                    fmt_shape(None, input_shape)
                ),
            ));
        }
        Ok((c, g))
    }
}

impl Layer for GroupNormalization {
    fn class_name(&self) -> &'static str {
        "GroupNormalization"
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn set_name(&mut self, name: String) {
        self.name = name;
    }
    fn declared_input_shape(&self) -> Option<&[usize]> {
        self.input_shape.as_deref()
    }
    fn plan(&self, input_shape: &[usize]) -> Result<(Vec<usize>, usize)> {
        let (c, _) = self.resolve_groups(input_shape)?;
        let n = c * (self.affine.scale as usize + self.affine.center as usize);
        Ok((input_shape.to_vec(), n))
    }
    fn build(&mut self, input_shape: &[usize], rng: &mut Rng) -> Result<Vec<usize>> {
        if let Some(e) = self.deferred_error.take() {
            return Err(e);
        }
        if !positive(self.epsilon) {
            return Err(Error::arg(
                "epsilon",
                format!("GroupNormalization layer '{}' needs epsilon > 0", self.name),
            ));
        }
        let (c, g) = self.resolve_groups(input_shape)?;
        // As Keras, `groups = -1` becomes the channel count once built.
        self.groups = g as i64;
        self.params = self
            .affine
            .build(c, rng, self.affine.scale, self.affine.center);
        self.stats = GroupStats {
            positions: input_shape[..input_shape.len() - 1].iter().product(),
            channels: c,
            groups: g,
            epsilon: self.epsilon,
            rms: false,
            ..GroupStats::default()
        };
        self.out_shape = input_shape.to_vec();
        Ok(self.out_shape.clone())
    }
    fn output_shape(&self) -> &[usize] {
        &self.out_shape
    }
    fn forward(&mut self, x: &Tensor, y: &mut Tensor, _training: bool) {
        y.resize(x.shape());
        let gamma = self.affine.scale.then(|| self.params[0].value.data());
        let beta = self
            .affine
            .center
            .then(|| self.params[self.affine.scale as usize].value.data());
        self.stats.forward(x.data(), y.data_mut(), gamma, beta);
    }
    fn backward(&mut self, x: &Tensor, _y: &Tensor, gy: &mut Tensor, gx: Option<&mut Tensor>) {
        let gamma = self.affine.scale.then(|| self.params[0].value.data());
        let gxd = gx.map(|t| {
            t.resize(x.shape());
            t.data_mut()
        });
        self.stats.backward(x.data(), gy.data(), gamma, gxd);
        let (s, c) = (self.affine.scale, self.affine.center);
        set_affine_grads(&mut self.params, s, c, &self.stats.dg, &self.stats.db);
    }
    fn params(&self) -> &[Param] {
        &self.params
    }
    fn params_mut(&mut self) -> &mut [Param] {
        &mut self.params
    }
    fn config(&self) -> Value {
        let mut m = base_config(&self.name, true);
        m.insert("groups".into(), self.groups.into());
        m.insert("axis".into(), self.axis.into());
        m.insert("epsilon".into(), self.epsilon.into());
        self.affine.write(&mut m);
        Value::Object(m)
    }
}

// ---------------------------------------------------------------------------------------
// UnitNormalization
// ---------------------------------------------------------------------------------------

/// Keras's `UnitNormalization`: each vector along the last axis is scaled to unit L2 norm
/// (`x * min(1 / ||x||, 1e12)`).
///
/// ```
/// use kerust::layers::UnitNormalization;
/// let layer = UnitNormalization::new().input_shape(&[3]);
/// ```
#[derive(Debug)]
pub struct UnitNormalization {
    name: String,
    axis: i64,
    input_shape: Option<Vec<usize>>,
    out_shape: Vec<usize>,
    /// 1/||x|| per row (clamped), from the last forward pass.
    inv: Vec<f32>,
}

impl Default for UnitNormalization {
    fn default() -> Self {
        Self::new()
    }
}

impl UnitNormalization {
    /// Normalizes over the last axis.
    pub fn new() -> Self {
        UnitNormalization {
            name: String::new(),
            axis: -1,
            input_shape: None,
            out_shape: Vec::new(),
            inv: Vec::new(),
        }
    }
    /// The normalized axis: `-1` (default) or the index of the last axis counting the batch.
    pub fn axis(mut self, axis: i64) -> Self {
        self.axis = axis;
        self
    }
    /// The shape of one input sample, when this is the first layer.
    pub fn input_shape(mut self, shape: &[usize]) -> Self {
        self.input_shape = Some(shape.to_vec());
        self
    }
    /// A user-chosen layer name.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }
    /// Reads Keras's `UnitNormalization` config options.
    pub(crate) fn from_keys(keys: &mut Keys<'_>, _ctx: &str) -> Result<Self> {
        Ok(UnitNormalization::new().axis(read_axis(keys)?))
    }
}

const UNIT_MAX_INV: f32 = 1e12;

impl Layer for UnitNormalization {
    fn class_name(&self) -> &'static str {
        "UnitNormalization"
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn set_name(&mut self, name: String) {
        self.name = name;
    }
    fn declared_input_shape(&self) -> Option<&[usize]> {
        self.input_shape.as_deref()
    }
    fn plan(&self, input_shape: &[usize]) -> Result<(Vec<usize>, usize)> {
        last_axis("UnitNormalization", &self.name, self.axis, input_shape)?;
        Ok((input_shape.to_vec(), 0))
    }
    fn build(&mut self, input_shape: &[usize], _rng: &mut Rng) -> Result<Vec<usize>> {
        self.out_shape = self.plan(input_shape)?.0;
        Ok(self.out_shape.clone())
    }
    fn output_shape(&self) -> &[usize] {
        &self.out_shape
    }
    fn forward(&mut self, x: &Tensor, y: &mut Tensor, _training: bool) {
        y.resize(x.shape());
        let c = self.out_shape[self.out_shape.len() - 1];
        self.inv.resize(x.len() / c, 0.0);
        for ((yr, xr), inv) in y
            .data_mut()
            .chunks_exact_mut(c)
            .zip(x.data().chunks_exact(c))
            .zip(self.inv.iter_mut())
        {
            let ss: f32 = xr.iter().map(|&v| v as f64 * v as f64).sum::<f64>() as f32;
            *inv = rsqrt(ss).min(UNIT_MAX_INV);
            for (a, &b) in yr.iter_mut().zip(xr) {
                *a = b * *inv;
            }
        }
    }
    fn backward(&mut self, x: &Tensor, y: &Tensor, gy: &mut Tensor, gx: Option<&mut Tensor>) {
        let Some(gx) = gx else { return };
        gx.resize(x.shape());
        let c = self.out_shape[self.out_shape.len() - 1];
        for (((gxr, gr), yr), &inv) in gx
            .data_mut()
            .chunks_exact_mut(c)
            .zip(gy.data().chunks_exact(c))
            .zip(y.data().chunks_exact(c))
            .zip(&self.inv)
        {
            if inv >= UNIT_MAX_INV {
                for (a, &g) in gxr.iter_mut().zip(gr) {
                    *a = g * inv;
                }
                continue;
            }
            let dot: f32 = gr
                .iter()
                .zip(yr)
                .map(|(&g, &v)| g as f64 * v as f64)
                .sum::<f64>() as f32;
            for ((a, &g), &v) in gxr.iter_mut().zip(gr).zip(yr) {
                *a = inv * (g - v * dot);
            }
        }
    }
    fn config(&self) -> Value {
        let mut m = base_config(&self.name, true);
        m.insert("axis".into(), self.axis.into());
        Value::Object(m)
    }
}

/// A finite number > 0 (an epsilon).
fn positive(e: f32) -> bool {
    e > 0.0 && e.is_finite()
}
