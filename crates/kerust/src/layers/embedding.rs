//! `Embedding`: integer indices to dense vectors, with Keras's `mask_zero`.

use super::{base_config, Layer, Param, Regularizer};
use crate::initializers::Initializer;
use crate::rng::Rng;
use crate::saving::config::{self as cfg, Keys};
use crate::tensor::Tensor;
use crate::{Error, Result};
use serde_json::Value;

/// Keras's `Embedding`: maps each index in `[0, input_dim)` of the input to a row of the
/// `(input_dim, output_dim)` table, adding an axis of `output_dim`.
///
/// The indices arrive as the model's `f32` input (whole numbers; Keras casts them to int32,
/// dropping any fraction, and so does kerust). `fit`, `evaluate` and `predict` refuse an
/// index outside `[0, input_dim)` before running any batch, with an error naming the layer,
/// the value and the sample. With `mask_zero(true)` the index 0 marks padding: the layer
/// hands a timestep mask to the next layers, and recurrent layers skip those timesteps.
///
/// ```
/// use kerust::layers::{Dense, Embedding, LSTM};
/// use kerust::models::Sequential;
/// let mut model = Sequential::new(vec![
///     Embedding::new(1000, 16).mask_zero(true).input_shape(&[20]).into(),
///     LSTM::new(8).into(),
///     Dense::new(1).activation("sigmoid").into(),
/// ])?;
/// assert_eq!(model.layers()[0].output_shape(), &[20, 16]);
/// let x = ndarray::Array2::<f32>::from_elem((2, 20), 1000.0);
/// assert!(model.predict(&x, 32).unwrap_err().to_string().contains("embedding"));
/// # Ok::<(), kerust::Error>(())
/// ```
#[derive(Debug)]
pub struct Embedding {
    name: String,
    input_dim: usize,
    output_dim: usize,
    initializer: Initializer,
    regularizer: Option<Regularizer>,
    mask_zero: bool,
    input_shape: Option<Vec<usize>>,
    deferred_error: Option<Error>,
    params: Vec<Param>,
    out_shape: Vec<usize>,
    mask: Vec<f32>,
}

impl Embedding {
    /// A table of `input_dim` rows (the vocabulary size) of `output_dim` values, drawn
    /// uniformly from `[-0.05, 0.05]`.
    pub fn new(input_dim: usize, output_dim: usize) -> Self {
        Embedding {
            name: String::new(),
            input_dim,
            output_dim,
            initializer: Initializer::RandomUniform {
                minval: -0.05,
                maxval: 0.05,
            },
            regularizer: None,
            mask_zero: false,
            input_shape: None,
            deferred_error: None,
            params: Vec::new(),
            out_shape: Vec::new(),
            mask: Vec::new(),
        }
    }

    /// Treat index 0 as padding and pass a mask on (default false).
    pub fn mask_zero(mut self, v: bool) -> Self {
        self.mask_zero = v;
        self
    }

    /// The table's initializer (default `RandomUniform(-0.05, 0.05)`).
    pub fn embeddings_initializer(mut self, init: impl super::activation::IntoInitializer) -> Self {
        match init.into_initializer() {
            Ok(i) => self.initializer = i,
            Err(e) => self.deferred_error = Some(e),
        }
        self
    }

    /// A penalty on the table.
    pub fn embeddings_regularizer(mut self, r: Regularizer) -> Self {
        self.regularizer = Some(r);
        self
    }

    /// The shape of one input sample (e.g. `[sequence_length]`).
    pub fn input_shape(mut self, shape: &[usize]) -> Self {
        self.input_shape = Some(shape.to_vec());
        self
    }

    /// A user-chosen layer name.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// Reads Keras's `Embedding` config options.
    pub(crate) fn from_keys(keys: &mut Keys<'_>, ctx: &str) -> Result<Self> {
        let input_dim = keys
            .usize("input_dim")?
            .filter(|&u| u > 0)
            .ok_or_else(|| keys.err("`input_dim` must be a positive integer"))?;
        let output_dim = keys
            .usize("output_dim")?
            .filter(|&u| u > 0)
            .ok_or_else(|| keys.err("`output_dim` must be a positive integer"))?;
        let mut e = Embedding::new(input_dim, output_dim);
        if let Some(v) = keys.get("embeddings_initializer") {
            e.initializer = cfg::initializer(v, ctx)?;
        }
        e.regularizer = cfg::regularizer(keys.get("embeddings_regularizer"), ctx)?;
        e.mask_zero = keys.bool("mask_zero", false)?;
        keys.require("embeddings_constraint", |_| false, "weight constraints")?;
        keys.require("quantization_config", |_| false, "quantization")?;
        keys.require("lora_rank", |v| v.as_u64() == Some(0), "LoRA")?;
        keys.require("sparse", |v| v == &Value::Bool(false), "sparse gradients")?;
        // Keras 2's `input_length` only restated the input shape.
        keys.ignore(&["lora_alpha", "input_length"]);
        Ok(e)
    }

    fn what(&self) -> String {
        format!("Embedding layer '{}'", self.name)
    }

    /// The row of `v`, or `None` outside `[0, input_dim)`.
    fn index(&self, v: f32) -> Option<usize> {
        (v >= 0.0 && v < self.input_dim as f32).then_some(v as usize)
    }
}

impl Layer for Embedding {
    fn class_name(&self) -> &'static str {
        "Embedding"
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
        if self.input_dim == 0 || self.output_dim == 0 {
            return Err(Error::arg(
                "input_dim",
                format!("{} needs input_dim > 0 and output_dim > 0", self.what()),
            ));
        }
        if input_shape.is_empty() {
            return Err(Error::shape(
                self.what(),
                "an input of indices with at least one axis, e.g. (None, 20)",
                crate::error::fmt_shape(None, input_shape),
            ));
        }
        let n = super::checked_product(&[self.input_dim, self.output_dim], "Embedding table")?;
        let mut out = input_shape.to_vec();
        out.push(self.output_dim);
        Ok((out, n))
    }
    fn build(&mut self, input_shape: &[usize], rng: &mut Rng) -> Result<Vec<usize>> {
        if let Some(e) = self.deferred_error.take() {
            return Err(e);
        }
        let (out, _) = self.plan(input_shape)?;
        let shape = [self.input_dim, self.output_dim];
        let mut p = Param::new("embeddings", &shape, self.initializer.sample(&shape, rng));
        p.regularizer = self.regularizer;
        self.params = vec![p];
        self.out_shape = out.clone();
        Ok(out)
    }
    fn output_shape(&self) -> &[usize] {
        &self.out_shape
    }
    /// Indices outside the table give a zero vector (never reached through `fit`/`predict`,
    /// which refuse them first).
    fn forward(&mut self, x: &Tensor, y: &mut Tensor, _training: bool) {
        let od = self.output_dim;
        y.resize_batch(x.rows(), &self.out_shape);
        let table = self.params[0].value.data();
        for (&v, row) in x.data().iter().zip(y.data_mut().chunks_exact_mut(od)) {
            match self.index(v) {
                Some(i) => row.copy_from_slice(&table[i * od..(i + 1) * od]),
                None => row.fill(0.0),
            }
        }
        if self.mask_zero {
            self.mask.clear();
            self.mask
                .extend(x.data().iter().map(|&v| if v == 0.0 { 0.0 } else { 1.0 }));
        }
    }
    fn backward(&mut self, x: &Tensor, _y: &Tensor, gy: &mut Tensor, gx: Option<&mut Tensor>) {
        let od = self.output_dim;
        let (input_dim, p) = (self.input_dim, &mut self.params[0]);
        let g = p.grad.data_mut();
        g.fill(0.0);
        for (&v, row) in x.data().iter().zip(gy.data().chunks_exact(od)) {
            if v >= 0.0 && v < input_dim as f32 {
                let i = v as usize;
                for (a, &b) in g[i * od..(i + 1) * od].iter_mut().zip(row) {
                    *a += b;
                }
            }
        }
        if let Some(r) = p.regularizer {
            r.add_grad(p.value.data(), p.grad.data_mut());
        }
        if let Some(gx) = gx {
            // Indices are not differentiable.
            gx.resize(x.shape());
            gx.fill(0.0);
        }
    }
    fn params(&self) -> &[Param] {
        &self.params
    }
    fn params_mut(&mut self) -> &mut [Param] {
        &mut self.params
    }
    fn output_mask(&self) -> Option<&[f32]> {
        self.mask_zero.then_some(&self.mask[..])
    }
    fn check_input(&self, x: &[f32]) -> Result<()> {
        let row = self.out_shape[..self.out_shape.len().saturating_sub(1)]
            .iter()
            .product::<usize>()
            .max(1);
        match x.iter().position(|&v| self.index(v).is_none()) {
            None => Ok(()),
            Some(i) => Err(Error::data(
                format!("input of {}", self.what()),
                format!(
                    "index {} at sample {} (flat index {i}) is outside the vocabulary [0, {})",
                    x[i],
                    i / row,
                    self.input_dim
                ),
            )),
        }
    }
    fn config(&self) -> Value {
        let mut m = base_config(&self.name, true);
        m.insert("input_dim".into(), self.input_dim.into());
        m.insert("output_dim".into(), self.output_dim.into());
        m.insert(
            "embeddings_initializer".into(),
            super::activation::initializer_config(&self.initializer),
        );
        m.insert(
            "embeddings_regularizer".into(),
            super::weight_options::regularizer_config(self.regularizer),
        );
        m.insert("activity_regularizer".into(), Value::Null);
        m.insert("embeddings_constraint".into(), Value::Null);
        m.insert("mask_zero".into(), self.mask_zero.into());
        m.insert("quantization_config".into(), Value::Null);
        Value::Object(m)
    }
}
