//! `TimeDistributed`: applies one layer to every timestep of a sequence.

use super::{base_config, Layer, Param};
use crate::activations::Activation;
use crate::rng::Rng;
use crate::saving::config::{self as cfg, Keys};
use crate::tensor::Tensor;
use crate::{Error, Result};
use serde_json::Value;

/// Keras's `TimeDistributed` wrapper: the inner layer sees each timestep of a
/// `(batch, timesteps, ...)` input as a sample of its own, with one set of weights for all
/// timesteps.
///
/// ```
/// use kerust::layers::{Dense, TimeDistributed, LSTM};
/// use kerust::models::Sequential;
/// let model = Sequential::new(vec![
///     LSTM::new(8).return_sequences(true).input_shape(&[12, 4]).into(),
///     TimeDistributed::new(Dense::new(3).activation("softmax")).into(),
/// ])?;
/// assert_eq!(model.output_shape(), Some(vec![12, 3]));
/// assert_eq!(model.count_params(), 4 * 8 * (4 + 8 + 1) + 27);
/// # Ok::<(), kerust::Error>(())
/// ```
#[derive(Debug)]
pub struct TimeDistributed {
    name: String,
    inner: Box<dyn Layer>,
    input_shape: Option<Vec<usize>>,
    in_shape: Vec<usize>,
    out_shape: Vec<usize>,
    xin: Tensor,
    yin: Tensor,
    gyin: Tensor,
    gxin: Tensor,
}

impl TimeDistributed {
    /// Wraps `layer` (a `Dense`, say).
    pub fn new(layer: impl Into<Box<dyn Layer>>) -> Self {
        TimeDistributed {
            name: String::new(),
            inner: layer.into(),
            input_shape: None,
            in_shape: Vec::new(),
            out_shape: Vec::new(),
            xin: Tensor::default(),
            yin: Tensor::default(),
            gyin: Tensor::default(),
            gxin: Tensor::default(),
        }
    }

    /// The shape of one input sample `(timesteps, ...)`.
    pub fn input_shape(mut self, shape: &[usize]) -> Self {
        self.input_shape = Some(shape.to_vec());
        self
    }

    /// A user-chosen layer name.
    pub fn name(mut self, name: &str) -> Self {
        self.name = name.to_string();
        self
    }

    /// The wrapped layer.
    pub fn layer(&self) -> &dyn Layer {
        self.inner.as_ref()
    }

    /// Reads Keras's `TimeDistributed` config (`layer`).
    pub(crate) fn from_keys(keys: &mut Keys<'_>, ctx: &str) -> Result<Self> {
        let v = keys
            .get("layer")
            .ok_or_else(|| keys.err("TimeDistributed needs `layer`"))?;
        let ictx = format!("{ctx}, `layer`");
        let spec = cfg::parse_layer(v, ictx)?;
        let mut t = TimeDistributed::new(spec.layer);
        if !spec.trainable {
            return Err(keys.err("a frozen inner layer is not supported; freeze the wrapper"));
        }
        t.input_shape = None;
        Ok(t)
    }

    fn split<'a>(&self, input_shape: &'a [usize]) -> Result<(usize, &'a [usize])> {
        match input_shape {
            [t, rest @ ..] if *t > 0 && !rest.is_empty() => Ok((*t, rest)),
            _ => Err(Error::shape(
                format!("TimeDistributed layer '{}'", self.name),
                "an input of at least 3 axes (batch, timesteps, ...)",
                crate::error::fmt_shape(None, input_shape),
            )),
        }
    }
}

/// A tensor's data seen under another shape of the same size (copied into `dst`).
fn reshape_into(dst: &mut Tensor, src: &Tensor, rows: usize, dims: &[usize]) {
    dst.resize_batch(rows, dims);
    dst.data_mut().copy_from_slice(src.data());
}

impl Layer for TimeDistributed {
    fn class_name(&self) -> &'static str {
        "TimeDistributed"
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
        let (t, rest) = self.split(input_shape)?;
        let (inner, n) = self.inner.plan(rest)?;
        let mut out = vec![t];
        out.extend(inner);
        Ok((out, n))
    }
    fn build(&mut self, input_shape: &[usize], rng: &mut Rng) -> Result<Vec<usize>> {
        let (out, _) = self.plan(input_shape)?;
        if self.inner.name().is_empty() {
            let class = self.inner.class_name();
            let mut s = String::new();
            let mut prev_lower = false;
            for c in class.chars() {
                if c.is_ascii_uppercase() && prev_lower {
                    s.push('_');
                }
                prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
                s.push(c.to_ascii_lowercase());
            }
            self.inner.set_name(s);
        }
        self.inner.build(&input_shape[1..], rng)?;
        self.in_shape = input_shape.to_vec();
        self.out_shape = out.clone();
        Ok(out)
    }
    fn output_shape(&self) -> &[usize] {
        &self.out_shape
    }
    fn forward(&mut self, x: &Tensor, y: &mut Tensor, training: bool) {
        let rows = x.rows() * self.in_shape[0];
        reshape_into(&mut self.xin, x, rows, &self.in_shape[1..]);
        self.inner.forward(&self.xin, &mut self.yin, training);
        reshape_into(y, &self.yin, x.rows(), &self.out_shape);
    }
    fn backward(&mut self, x: &Tensor, _y: &Tensor, gy: &mut Tensor, gx: Option<&mut Tensor>) {
        let rows = x.rows() * self.in_shape[0];
        reshape_into(&mut self.gyin, gy, rows, &self.out_shape[1..]);
        match gx {
            Some(gx) => {
                self.inner
                    .backward(&self.xin, &self.yin, &mut self.gyin, Some(&mut self.gxin));
                reshape_into(gx, &self.gxin, x.rows(), &self.in_shape);
            }
            None => self
                .inner
                .backward(&self.xin, &self.yin, &mut self.gyin, None),
        }
    }
    fn params(&self) -> &[Param] {
        self.inner.params()
    }
    fn params_mut(&mut self) -> &mut [Param] {
        self.inner.params_mut()
    }
    fn output_activation(&self) -> Option<Activation> {
        self.inner.output_activation()
    }
    fn set_fused_output(&mut self, fused: bool) {
        self.inner.set_fused_output(fused);
    }
    fn set_rng(&mut self, rng: Rng) {
        self.inner.set_rng(rng);
    }
    fn weight_groups(&self) -> Vec<(String, usize)> {
        let mut g = vec![("vars".to_string(), 0)];
        g.extend(
            self.inner
                .weight_groups()
                .into_iter()
                .map(|(p, n)| (format!("layer/{p}"), n)),
        );
        g
    }
    fn passes_mask(&self) -> bool {
        true
    }
    fn config(&self) -> Value {
        let mut m = base_config(&self.name, true);
        let mut shape = vec![Value::Null];
        shape.extend(self.in_shape.iter().skip(1).map(|&d| Value::from(d)));
        m.insert(
            "layer".into(),
            serde_json::json!({
                "module": "keras.layers",
                "class_name": self.inner.class_name(),
                "config": self.inner.config(),
                "registered_name": null,
                "build_config": {"input_shape": shape},
            }),
        );
        Value::Object(m)
    }
}
