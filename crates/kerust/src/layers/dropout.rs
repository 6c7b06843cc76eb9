//! `Dropout`: inverted dropout, active only in training.

use super::{base_config, Layer};
use crate::rng::Rng;
use crate::saving::config::{self as cfg, Keys};
use crate::tensor::Tensor;
use crate::{Error, Result};

/// Keras's `Dropout`: in training, zeroes each value with probability `rate` and scales the
/// rest by `1 / (1 - rate)`; in inference it passes values through.
///
/// ```
/// use kerust::layers::Dropout;
/// let layer = Dropout::new(0.2);
/// ```
#[derive(Debug)]
pub struct Dropout {
    name: String,
    rate: f32,
    seed: Option<u64>,
    rng: Rng,
    shape: Vec<usize>,
    /// Per-element scale of the last training pass: 0 or 1 / (1 - rate).
    mask: Vec<f32>,
    training: bool,
}

impl Dropout {
    /// Dropout with the given rate in `[0, 1)`.
    pub fn new(rate: f32) -> Self {
        Dropout {
            name: String::new(),
            rate,
            seed: None,
            rng: Rng::new(0),
            shape: Vec::new(),
            mask: Vec::new(),
            training: false,
        }
    }

    /// A fixed seed for the masks (otherwise drawn from the model's seed).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self.rng = Rng::new(seed);
        self
    }

    /// A user-chosen layer name.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }
}

impl Dropout {
    /// Reads Keras's `Dropout` config options.
    pub(crate) fn from_keys(keys: &mut Keys<'_>, _ctx: &str) -> Result<Self> {
        let rate = keys
            .f32("rate")?
            .ok_or_else(|| keys.err("Dropout needs `rate`"))?;
        if !(0.0..1.0).contains(&rate) {
            return Err(keys.err(format!("`rate` must be in [0, 1), got {rate}")));
        }
        let seed = match keys.get("seed") {
            None => None,
            Some(v) => Some(v.as_u64().ok_or_else(|| {
                keys.err(format!(
                    "`seed` must be a non-negative integer, got {}",
                    cfg::brief(v)
                ))
            })?),
        };
        keys.require("noise_shape", cfg::is_empty, "noise shapes")?;
        let d = Dropout::new(rate);
        Ok(match seed {
            Some(s) => d.seed(s),
            None => d,
        })
    }
}

impl Layer for Dropout {
    fn passes_mask(&self) -> bool {
        true
    }
    fn class_name(&self) -> &'static str {
        "Dropout"
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn set_name(&mut self, name: String) {
        self.name = name;
    }
    fn plan(&self, input_shape: &[usize]) -> Result<(Vec<usize>, usize)> {
        Ok((input_shape.to_vec(), 0))
    }
    fn build(&mut self, input_shape: &[usize], rng: &mut Rng) -> Result<Vec<usize>> {
        if !(0.0..1.0).contains(&self.rate) {
            return Err(Error::arg(
                "rate",
                format!("Dropout rate must be in [0, 1), got {}", self.rate),
            ));
        }
        if self.seed.is_none() {
            self.rng = rng.fork();
        }
        self.shape = input_shape.to_vec();
        Ok(self.shape.clone())
    }
    fn output_shape(&self) -> &[usize] {
        &self.shape
    }
    fn forward(&mut self, x: &Tensor, y: &mut Tensor, training: bool) {
        y.resize(x.shape());
        self.training = training && self.rate > 0.0;
        if !self.training {
            y.data_mut().copy_from_slice(x.data());
            return;
        }
        let keep = 1.0 - self.rate;
        let scale = 1.0 / keep;
        self.mask.resize(x.len(), 0.0);
        for ((m, yv), &xv) in self.mask.iter_mut().zip(y.data_mut()).zip(x.data()) {
            *m = if self.rng.uniform() < keep {
                scale
            } else {
                0.0
            };
            *yv = xv * *m;
        }
    }
    fn backward(&mut self, x: &Tensor, _y: &Tensor, gy: &mut Tensor, gx: Option<&mut Tensor>) {
        if let Some(gx) = gx {
            gx.resize(x.shape());
            if self.training {
                for ((g, &d), &m) in gx.data_mut().iter_mut().zip(gy.data()).zip(&self.mask) {
                    *g = d * m;
                }
            } else {
                gx.data_mut().copy_from_slice(gy.data());
            }
        }
    }
    fn set_rng(&mut self, rng: Rng) {
        if self.seed.is_none() {
            self.rng = rng;
        }
    }
    fn config(&self) -> serde_json::Value {
        let mut m = base_config(&self.name, true);
        m.insert("rate".into(), self.rate.into());
        m.insert("seed".into(), self.seed.into());
        m.insert("noise_shape".into(), serde_json::Value::Null);
        serde_json::Value::Object(m)
    }
}
