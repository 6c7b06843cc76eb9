//! Regularization layers active only in training: `SpatialDropout2D`, `GaussianNoise`,
//! `GaussianDropout`. Their random numbers come from the model's generator (or their own
//! `seed`), as `Dropout`'s do, so a seeded model trains identically every time.

use super::Layer;
use crate::error::fmt_shape;
use crate::rng::Rng;
use crate::saving::config::{self as cfg, Keys};
use crate::tensor::Tensor;
use crate::{Error, Result};
use serde_json::Value;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    /// Drops whole channels of each image with probability `rate`.
    Spatial2D,
    /// Adds `N(0, stddev^2)`.
    Noise,
    /// Multiplies by `N(1, rate / (1 - rate))`.
    Dropout,
}

#[derive(Debug)]
struct Core {
    kind: Kind,
    /// `rate` (SpatialDropout2D, GaussianDropout) or `stddev` (GaussianNoise).
    amount: f32,
    seed: Option<u64>,
    rng: Rng,
    name: String,
    input_shape: Option<Vec<usize>>,
    shape: Vec<usize>,
    /// Per-element multiplier of the last training pass (dropout kinds).
    mask: Vec<f32>,
    /// SpatialDropout2D: per (sample, channel) multiplier.
    keep: Vec<f32>,
    active: bool,
}

impl Core {
    fn new(kind: Kind, amount: f32) -> Self {
        Core {
            kind,
            amount,
            seed: None,
            rng: Rng::new(0),
            name: String::new(),
            input_shape: None,
            shape: Vec::new(),
            mask: Vec::new(),
            keep: Vec::new(),
            active: false,
        }
    }

    fn class(&self) -> &'static str {
        match self.kind {
            Kind::Spatial2D => "SpatialDropout2D",
            Kind::Noise => "GaussianNoise",
            Kind::Dropout => "GaussianDropout",
        }
    }

    fn check(&self) -> Result<()> {
        let ok = match self.kind {
            Kind::Noise => self.amount >= 0.0 && self.amount.is_finite(),
            _ => (0.0..1.0).contains(&self.amount),
        };
        if ok {
            return Ok(());
        }
        let (what, range) = match self.kind {
            Kind::Noise => ("stddev", ">= 0"),
            _ => ("rate", "in [0, 1)"),
        };
        Err(Error::arg(
            what,
            format!(
                "{} layer '{}' needs {what} {range}, got {}",
                self.class(),
                self.name,
                self.amount
            ),
        ))
    }

    fn read(keys: &mut Keys<'_>, kind: Kind) -> Result<Self> {
        let key = if kind == Kind::Noise {
            "stddev"
        } else {
            "rate"
        };
        let amount = keys
            .f32(key)?
            .ok_or_else(|| keys.err(format!("`{key}` is required")))?;
        let mut c = Core::new(kind, amount);
        c.check().map_err(|e| keys.err(e.to_string()))?;
        if let Some(v) = keys.get("seed") {
            let s = v.as_u64().ok_or_else(|| {
                keys.err(format!(
                    "`seed` must be a non-negative integer, got {}",
                    cfg::brief(v)
                ))
            })?;
            c.seed = Some(s);
            c.rng = Rng::new(s);
        }
        if kind == Kind::Spatial2D {
            keys.require(
                "data_format",
                |v| v.as_str() == Some("channels_last"),
                "channels_first inputs",
            )?;
        }
        Ok(c)
    }

    fn plan(&self, input_shape: &[usize]) -> Result<(Vec<usize>, usize)> {
        if self.kind == Kind::Spatial2D && input_shape.len() != 3 {
            return Err(Error::shape(
                format!("SpatialDropout2D layer '{}'", self.name),
                "a 4-D input (None, rows, cols, channels)",
                fmt_shape(None, input_shape),
            ));
        }
        super::checked_product(input_shape, self.class())?;
        Ok((input_shape.to_vec(), 0))
    }

    fn build(&mut self, input_shape: &[usize], rng: &mut Rng) -> Result<Vec<usize>> {
        self.check()?;
        self.plan(input_shape)?;
        if self.seed.is_none() {
            self.rng = rng.fork();
        }
        self.shape = input_shape.to_vec();
        Ok(self.shape.clone())
    }

    fn forward(&mut self, x: &Tensor, y: &mut Tensor, training: bool) {
        y.resize(x.shape());
        self.active = training && self.amount > 0.0;
        if !self.active {
            y.data_mut().copy_from_slice(x.data());
            return;
        }
        match self.kind {
            Kind::Noise => {
                let s = self.amount as f64;
                for (a, &b) in y.data_mut().iter_mut().zip(x.data()) {
                    *a = b + (s * self.rng.normal()) as f32;
                }
            }
            Kind::Dropout => {
                let s = (self.amount as f64 / (1.0 - self.amount as f64)).sqrt();
                self.mask.resize(x.len(), 0.0);
                for ((a, &b), m) in y.data_mut().iter_mut().zip(x.data()).zip(&mut self.mask) {
                    *m = (1.0 + s * self.rng.normal()) as f32;
                    *a = b * *m;
                }
            }
            Kind::Spatial2D => {
                let c = self.shape[2];
                let keep_p = 1.0 - self.amount;
                let scale = 1.0 / keep_p;
                self.keep.resize(x.rows() * c, 0.0);
                for k in self.keep.iter_mut() {
                    *k = if self.rng.uniform() < keep_p {
                        scale
                    } else {
                        0.0
                    };
                }
                let per_sample = x.row_len();
                for ((ys, xs), ks) in y
                    .data_mut()
                    .chunks_exact_mut(per_sample.max(1))
                    .zip(x.data().chunks_exact(per_sample.max(1)))
                    .zip(self.keep.chunks_exact(c.max(1)))
                {
                    for (yr, xr) in ys.chunks_exact_mut(c).zip(xs.chunks_exact(c)) {
                        for ((a, &b), &k) in yr.iter_mut().zip(xr).zip(ks) {
                            *a = b * k;
                        }
                    }
                }
            }
        }
    }

    fn backward(&self, x: &Tensor, gy: &Tensor, gx: &mut Tensor) {
        gx.resize(x.shape());
        if !self.active || self.kind == Kind::Noise {
            gx.data_mut().copy_from_slice(gy.data());
            return;
        }
        match self.kind {
            Kind::Dropout => {
                for ((a, &g), &m) in gx.data_mut().iter_mut().zip(gy.data()).zip(&self.mask) {
                    *a = g * m;
                }
            }
            _ => {
                let c = self.shape[2];
                let per_sample = x.row_len().max(1);
                for ((gs, gys), ks) in gx
                    .data_mut()
                    .chunks_exact_mut(per_sample)
                    .zip(gy.data().chunks_exact(per_sample))
                    .zip(self.keep.chunks_exact(c.max(1)))
                {
                    for (gr, gyr) in gs.chunks_exact_mut(c).zip(gys.chunks_exact(c)) {
                        for ((a, &g), &k) in gr.iter_mut().zip(gyr).zip(ks) {
                            *a = g * k;
                        }
                    }
                }
            }
        }
    }

    fn config(&self) -> Value {
        let mut m = serde_json::Map::new();
        if self.kind == Kind::Spatial2D {
            // Keras's SpatialDropout2D writes exactly these keys (its constructor takes no
            // `trainable`).
            m.insert("rate".into(), self.amount.into());
            m.insert("seed".into(), self.seed.into());
            m.insert("name".into(), self.name.clone().into());
            m.insert("dtype".into(), "float32".into());
            m.insert("data_format".into(), "channels_last".into());
            return Value::Object(m);
        }
        let mut m = super::base_config(&self.name, true);
        let key = if self.kind == Kind::Noise {
            "stddev"
        } else {
            "rate"
        };
        m.insert(key.into(), self.amount.into());
        m.insert("seed".into(), self.seed.into());
        Value::Object(m)
    }
}

macro_rules! noise_layer {
    ($(#[$doc:meta])* $ty:ident, $kind:expr, $arg:ident) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $ty {
            core: Core,
        }

        impl $ty {
            /// The layer with the given amount.
            pub fn new($arg: f32) -> Self {
                $ty {
                    core: Core::new($kind, $arg),
                }
            }
            /// A fixed seed (otherwise drawn from the model's generator).
            pub fn seed(mut self, seed: u64) -> Self {
                self.core.seed = Some(seed);
                self.core.rng = Rng::new(seed);
                self
            }
            /// The shape of one input sample, when this is the first layer.
            pub fn input_shape(mut self, shape: &[usize]) -> Self {
                self.core.input_shape = Some(shape.to_vec());
                self
            }
            /// A user-chosen layer name.
            pub fn name(mut self, name: &str) -> Self {
                self.core.name = name.to_string();
                self
            }
            pub(crate) fn from_keys(keys: &mut Keys<'_>, _ctx: &str) -> Result<Self> {
                Ok($ty {
                    core: Core::read(keys, $kind)?,
                })
            }
        }

        impl Layer for $ty {
            fn class_name(&self) -> &'static str {
                self.core.class()
            }
            fn name(&self) -> &str {
                &self.core.name
            }
            fn set_name(&mut self, name: String) {
                self.core.name = name;
            }
            fn declared_input_shape(&self) -> Option<&[usize]> {
                self.core.input_shape.as_deref()
            }
            fn plan(&self, input_shape: &[usize]) -> Result<(Vec<usize>, usize)> {
                self.core.plan(input_shape)
            }
            fn build(&mut self, input_shape: &[usize], rng: &mut Rng) -> Result<Vec<usize>> {
                self.core.build(input_shape, rng)
            }
            fn output_shape(&self) -> &[usize] {
                &self.core.shape
            }
            fn forward(&mut self, x: &Tensor, y: &mut Tensor, training: bool) {
                self.core.forward(x, y, training);
            }
            fn backward(
                &mut self,
                x: &Tensor,
                _y: &Tensor,
                gy: &mut Tensor,
                gx: Option<&mut Tensor>,
            ) {
                if let Some(gx) = gx {
                    self.core.backward(x, gy, gx);
                }
            }
            fn set_rng(&mut self, rng: Rng) {
                if self.core.seed.is_none() {
                    self.core.rng = rng;
                }
            }
            fn config(&self) -> Value {
                self.core.config()
            }
        }
    };
}

noise_layer!(
    /// Keras's `SpatialDropout2D`: in training, drops whole channels of each image with
    /// probability `rate` and scales the kept ones by `1 / (1 - rate)`; inputs
    /// `(None, rows, cols, channels)`.
    ///
    /// ```
    /// use kerust::layers::SpatialDropout2D;
    /// let layer = SpatialDropout2D::new(0.2).seed(7);
    /// ```
    SpatialDropout2D,
    Kind::Spatial2D,
    rate
);
noise_layer!(
    /// Keras's `GaussianNoise`: in training, adds zero-centred Gaussian noise of standard
    /// deviation `stddev`.
    ///
    /// ```
    /// use kerust::layers::GaussianNoise;
    /// let layer = GaussianNoise::new(0.1);
    /// ```
    GaussianNoise,
    Kind::Noise,
    stddev
);
noise_layer!(
    /// Keras's `GaussianDropout`: in training, multiplies by Gaussian noise of mean 1 and
    /// standard deviation `sqrt(rate / (1 - rate))`.
    ///
    /// ```
    /// use kerust::layers::GaussianDropout;
    /// let layer = GaussianDropout::new(0.3);
    /// ```
    GaussianDropout,
    Kind::Dropout,
    rate
);
